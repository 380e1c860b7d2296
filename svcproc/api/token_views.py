"""The account's API tokens page: create one (its secret shown once), see when each was last used,
revoke it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput

from ..core import clock, flow
from ..core.errors import DomainError
from ..core.web import field_error, redirect_to
from ..core.widgets import CheckboxListWidget
from ..extensions import db
from . import tokens
from .models import ApiToken

bp = Blueprint("api_tokens", __name__)

SCOPE_LABELS = {"read": _l("Read what I may see"), "services:write": _l("Record service entries")}


class TokenForm(FlaskForm):
    name = StringField(_l("Name (where it will be used)"), validators=[DataRequired(), Length(max=100)])
    scopes = SelectMultipleField(_l("Scopes"), choices=[(k, v) for k, v in SCOPE_LABELS.items()],
                                 widget=CheckboxListWidget(), option_widget=CheckboxInput())
    expires_on = DateField(_l("Expires after (optional)"), validators=[Optional()])


class RevokeForm(FlaskForm):
    """Carries only the CSRF token."""


def _page(form, status: int = 200, secret: str | None = None, created=None):
    return render_template("api/tokens.html", form=form, tokens=tokens.tokens_of(current_user), secret=secret,
                           created=created, revoke_form=RevokeForm(), scope_labels=SCOPE_LABELS,
                           now=clock.now()), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens_page():
    form = TokenForm()
    if form.is_submitted() and not form.validate():
        return _page(form, 422)
    if not form.is_submitted():
        form.scopes.data = ["read"]
        return _page(form)
    try:
        token, secret = tokens.create_token(current_user, form.name.data, form.scopes.data, form.expires_on.data)
    except DomainError as exc:
        flow.rollback()
        field_error(form, exc, "name")
        return _page(form, exc.status_code)
    # Shown on this answer only: it is not stored, flashed or put in an address.
    return _page(TokenForm(formdata=None), 201, secret=secret, created=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def token_revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(current_user, token)
    flash(_("The token was revoked; it no longer opens anything."), "success")
    return redirect_to(url_for("api_tokens.tokens_page"))
