"""The `svcproc` command: Flask's run and db commands plus svcproc's own."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import FlaskGroup, with_appcontext

from .core.permissions import Role


def register_commands(app) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(audit_group)


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_code", help="Unified social credit code of the user's organization.")
@click.option("--password", help="Initial password; prompted for when omitted.")
@click.option("--full-name", default="")
@with_appcontext
def create_user_command(username, role, org_code, password, full_name):
    """Create a user account (the person must change the password at first login)."""
    from .accounts.services import create_user
    from .core.errors import DomainError
    from .extensions import db
    from .registry.models import Organization

    org = None
    if org_code:
        org = db.session.execute(
            sa.select(Organization).where(Organization.credit_code == org_code.strip().upper())
        ).unique().scalar_one_or_none()
        if org is None:
            raise click.ClickException(f"No organization has the credit code {org_code}.")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(None, username=username, role=Role(role), password=password,
                           full_name=full_name, organization=org)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created user {user.username} ({user.role.value}).")


@click.command("demo")
@click.option("--password", help="Password for every demo user; generated and printed when omitted.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds data.")
@with_appcontext
def demo_command(password, if_empty):
    """Load a realistic demo district, its organizations, social workers and one user per role."""
    from .core.errors import DomainError
    from .demo import demo_is_loaded, load_demo
    from .extensions import db

    if demo_is_loaded():
        if if_empty:
            click.echo("Demo data already loaded; log in with the accounts printed when it was loaded "
                       "(or reset a password with the admin account).")
            return
        raise click.ClickException("The database already holds data; the demo loads into an empty database.")
    try:
        logins = load_demo(password)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo("Demo data loaded. Log in at http://127.0.0.1:5000/login with:")
    width = max(len(u) for u, _r, _p in logins)
    for username, role, pw in logins:
        click.echo(f"  {username.ljust(width)}  {pw}  ({role})")


@click.group("audit")
def audit_group():
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify_command():
    """Check the hash chain; exit 0 when intact, 1 naming the first bad event otherwise."""
    from .audit.services import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"Audit chain intact: {report.checked} events checked.")
        return
    where = f"event #{report.bad_seq}" + (f" (id {report.bad_id})" if report.bad_id else "")
    click.echo(f"Audit chain BROKEN at {where}: {report.reason}. "
               f"{report.checked} events before it are intact.", err=True)
    sys.exit(1)


def _make_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_make_app, help="svcproc: government-purchased social work services.")


def main() -> None:
    cli(prog_name="svcproc")
