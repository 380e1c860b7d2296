"""Login, logout, password change, and the administrators' user pages."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _nl
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload

from ..core import flow, nav
from ..core.errors import ValidationError
from ..core.permissions import Role, require
from ..core.web import is_htmx, is_local_url, like_pattern, paginate, redirect_to
from ..extensions import db
from ..registry.models import Organization
from ..registry.permissions import visible_organizations
from . import permissions as perms
from . import services
from .forms import ROLE_LABELS, ChangePasswordForm, EmptyForm, LoginForm, UserForm
from .models import User
from .permissions import can_manage_users, visible_users

bp = Blueprint("accounts", __name__)
nav.menu("accounts.users", _nl("Users"), order=60, visible=perms.can_manage_users)
nav.predicates(perms)
nav.template_global("role_label", lambda role: ROLE_LABELS.get(Role(role), role))


EXEMPT_FROM_PASSWORD_CHANGE = {"accounts.change_password", "accounts.logout", "static", "main.set_language",
                               "main.healthz"}


@bp.before_app_request
def _force_password_change():
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in EXEMPT_FROM_PASSWORD_CHANGE):
        if request.method == "GET":
            flash(_("Please choose a new password before you go on."), "info")
        return redirect(url_for("accounts.change_password"))
    return None


def _safe_next(target: str | None) -> str:
    if not is_local_url(target):
        return url_for("main.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, request.remote_addr or "")
        except services.LoginRefused as exc:
            flow.keep()  # keep the failure count and its audit event
            error = exc.message
        else:
            session.clear()
            session.permanent = True
            session["sid"] = services.open_session(user, request.remote_addr or "")
            login_user(user)
            return redirect_to(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.record_logout(current_user)
    services.end_session(session.get("sid"))  # the cookie, kept or copied, opens nothing any more
    logout_user()
    session.clear()
    flash(_("You have logged out."), "success")
    return redirect_to(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()

    def save():
        services.change_password(current_user, form.current_password.data, form.new_password.data)
        services.end_all_sessions(current_user, keep=session.get("sid"))
        # The session token changed; keep this session alive. Pass the user itself: given the
        # current_user proxy, Flask-Login would store the proxy as the user and resolve it
        # into itself forever.
        login_user(current_user._get_current_object())
        return url_for("main.home")

    # The password rules name the field "password"; this form calls it new_password.
    return flow.submit(form, save, lambda **extra: render_template("accounts/password.html", form=form, **extra),
                       field="new_password", message=_("Your password has been changed."))


# --- administration -------------------------------------------------------------------------


def _organizations():
    return db.session.execute(visible_organizations(current_user).order_by(Organization.name)
                              ).unique().scalars().all()


@bp.route("/admin/users")
@login_required
def users():
    require(can_manage_users(current_user))
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    stmt = visible_users(current_user).order_by(User.username).options(joinedload(User.organization))
    if q:
        pattern = like_pattern(q)
        stmt = stmt.where(sa.or_(User.username.ilike(pattern, escape="\\"),
                                 User.full_name.ilike(pattern, escape="\\")))
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.role == Role(role))
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    page = paginate(stmt)
    template = "accounts/_user_table.html" if is_htmx() else "accounts/users.html"
    return render_template(template, page=page, q=q, role=role, status=status,
                           role_options=[(r.value, str(label)) for r, label in ROLE_LABELS.items()])


def _org_from_form(form: UserForm) -> Organization | None:
    value = form.organization_id.data
    if not value:
        return None
    org = db.session.get(Organization, int(value)) if str(value).isdigit() else None
    if org is None:
        raise ValidationError(_("Choose an organization from the list."), "organization_id")
    return org


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    require(can_manage_users(current_user))
    form = UserForm()
    form.fill_choices(_organizations())

    def save():
        if not form.password.data:
            raise ValidationError(_("Give the new account an initial password."), "password")
        services.create_user(
            current_user, username=form.username.data, role=Role(form.role.data),
            password=form.password.data, full_name=form.full_name.data or "",
            email=form.email.data or "", organization=_org_from_form(form),
        )
        return url_for("accounts.users")

    message = _("User %(u)s created. They must change the password at first login.",
                u=(form.username.data or "").strip())
    return flow.submit(form, save, lambda **extra: render_template("accounts/user_form.html", form=form, user=None,
                                                                   **extra),
                       field="username", message=message)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    require(can_manage_users(current_user, user))
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.fill_choices(_organizations())
    del form.password
    if request.method == "GET":
        form.role.data = user.role.value
        form.organization_id.data = str(user.organization_id or "")
    form.username.data = user.username  # the user name is permanent

    def save():
        services.update_user(current_user, user, full_name=form.full_name.data or "",
                             email=form.email.data or "", role=Role(form.role.data),
                             organization=_org_from_form(form))
        return url_for("accounts.users")

    return flow.submit(form, save, lambda **extra: render_template("accounts/user_form.html", form=form, user=user,
                                                                   action_form=EmptyForm(), **extra),
                       field="role", message=_("User %(u)s saved.", u=user.username))


@bp.route("/admin/users/<int:user_id>/active", methods=["POST"])
@login_required
def user_set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    require(can_manage_users(current_user, user))
    active = request.form.get("active") == "1"
    services.set_user_active(current_user, user, active)
    flash(_("User %(u)s activated.", u=user.username) if active
          else _("User %(u)s deactivated.", u=user.username), "success")
    return redirect_to(url_for("accounts.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["POST"])
@login_required
def user_reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    require(can_manage_users(current_user, user))
    password = services.reset_password(current_user, user)
    response = render_template("accounts/password_reset_done.html", user=user, password=password)
    return response, 200, {"Cache-Control": "no-store"}
