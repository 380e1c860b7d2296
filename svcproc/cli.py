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
    app.cli.add_command(remind_command)
    app.cli.add_command(import_logs_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(report_group)


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
@click.option("--resume", is_flag=True,
              help="Check only the events after the latest checkpoint (whose event must be unchanged).")
@with_appcontext
def audit_verify_command(resume):
    """Check the hash chain (the whole chain unless --resume); exit 0 when intact, 1 naming the first bad event."""
    from flask_babel import force_locale

    from .audit.verification import verify_chain

    report = verify_chain(resume=resume)
    start = f" from checkpoint #{report.from_seq}" if not report.full else ""
    if report.ok:
        click.echo(f"Audit chain intact{start}: {report.checked} events checked, up to #{report.last_seq}.")
        return
    with force_locale("en"):
        reason = report.message
    where = f"event #{report.bad_seq}" + (f" (id {report.bad_id})" if report.bad_id else "")
    click.echo(f"Audit chain BROKEN at {where}: {reason}. "
               f"{report.checked} events{start} before it are intact.", err=True)
    sys.exit(1)


@click.command("import-logs")
@click.argument("contract_number")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check the file and print what would be created.")
@with_appcontext
def import_logs_command(contract_number, path, dry_run):
    """Import a service ledger (.xlsx or .csv) into a contract; prints every row error."""
    from pathlib import Path

    from werkzeug.datastructures import FileStorage

    from .contracts.models import Contract
    from .delivery import ledger
    from .extensions import db

    contract = db.session.execute(sa.select(Contract).where(Contract.number == contract_number)).unique().scalar_one_or_none()
    if contract is None:
        raise click.ClickException(f"No contract has the number {contract_number}.")
    file = Path(path)
    with open(file, "rb") as fh:
        try:
            batch = ledger.create_batch(None, contract, FileStorage(stream=fh, filename=file.name))
            result = ledger.run_check(None, batch)
        except ledger.DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
    for error in batch.errors:
        click.echo(f"row {error['row']}, {error['column']}: {error['message']}", err=True)
    if result.error_count > len(batch.errors):
        click.echo(f"... {result.error_count - len(batch.errors)} more errors", err=True)
    click.echo(f"{result.rows_total} rows: {result.rows_new} new, {result.rows_duplicate} already recorded, "
               f"{result.error_count} errors.")
    if result.error_count:
        db.session.rollback()
        sys.exit(1)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
        return
    try:
        ledger.run_import(None, batch)
    except ledger.DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Imported {batch.rows_new} entries into {contract.number}.")


@click.group("report")
def report_group():
    """Assessment reports: write one, or verify a PDF."""


@report_group.command("assessment")
@click.argument("contract_number")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the PDF.")
@click.option("--locale", default=None, help="zh_CN (default) or en.")
@with_appcontext
def report_assessment_command(contract_number, output, locale):
    """Write the assessment report of a contract (the stored copy when the data is unchanged)."""
    from pathlib import Path

    from flask import current_app

    from .contracts.models import Contract
    from .core import files
    from .core.errors import DomainError
    from .extensions import db
    from .reports import services
    from .reports.models import ReportKind

    contract = db.session.execute(sa.select(Contract).where(Contract.number == contract_number)
                                  ).unique().scalar_one_or_none()
    if contract is None:
        raise click.ClickException(f"No contract has the number {contract_number}.")
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    if locale not in current_app.config["LANGUAGES"]:
        raise click.ClickException(f"Unknown language {locale}.")
    try:
        report = services.generate(None, ReportKind.ASSESSMENT, contract.id, locale)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    Path(output).write_bytes(files.read(report.file))
    click.echo(f"Wrote {output}: verification code {report.code}.")


@report_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def report_verify_command(path):
    """Check a report PDF: exit 0 when genuine, 1 when not (altered, or not from this system)."""
    from pathlib import Path

    from .core.formatting import local_datetime
    from .reports import services

    result = services.verify_pdf(Path(path).read_bytes())
    if not result.genuine:
        click.echo(f"NOT GENUINE: {result.reason}", err=True)
        sys.exit(1)
    report = result.report
    click.echo(f"Genuine: {report.title}")
    click.echo(f"Verification code {report.code}, generated {local_datetime(report.generated_at)}.")
    click.echo("The record has changed since." if result.changed else "The record is unchanged since.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst):
    """Run background jobs from Redis (REDIS_URL); without Redis, jobs run inside the web process."""
    from flask import current_app

    from .core.jobs import run_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inside the web process, no worker is needed.")
    run_worker(burst=burst)


@click.command("remind")
@click.option("--days", default=7, show_default=True, help="How far ahead a milestone counts as due soon.")
@click.option("--send", is_flag=True, help="Also e-mail each person their list (needs MAIL_SERVER).")
@with_appcontext
def remind_command(days, send):
    """List, per person, milestones overdue, due soon or awaiting acceptance (for a daily cron job)."""
    from flask import current_app

    from .accounts.models import User
    from .contracts.reminders import reminders_for
    from .contracts.workflow import today
    from .extensions import db

    if send and not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException("--send needs MAIL_SERVER (and MAIL_FROM) in the environment.")
    on = today()
    users = db.session.execute(sa.select(User).where(User.active.is_(True)).order_by(User.username)).unique().scalars()
    total = 0
    for user in users:
        items = reminders_for(user, on, days)
        if not items:
            continue
        total += len(items)
        lines = [f"{r.milestone.contract.number} {r.milestone.contract.title} | {r.milestone.title} | "
                 f"due {r.milestone.due_date.isoformat()} | {r.kind}" for r in items]
        click.echo(f"{user.username} ({user.role.value}): {len(items)}")
        for line in lines:
            click.echo(f"  {line}")
        if send and user.email:
            _send_mail(user.email, f"svcproc: {len(items)} milestone reminder(s)", "\n".join(lines))
    if total == 0:
        click.echo(f"Nothing overdue or due within {days} days.")


def _send_mail(to: str, subject: str, body: str) -> None:
    import smtplib
    from email.message import EmailMessage

    from flask import current_app

    cfg = current_app.config
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = cfg["MAIL_FROM"], to, subject
    message.set_content(body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or 25), timeout=30) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def _make_app():
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_make_app, help="svcproc: government-purchased social work services.")


def main() -> None:
    cli(prog_name="svcproc")
