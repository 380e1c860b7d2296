"""Forms for logging in, changing passwords and administering accounts."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Email

from ..core.permissions import Role

ROLE_LABELS = {
    Role.ADMIN: _l("System administrator"),
    Role.PROCUREMENT: _l("Procurement staff"),
    Role.EXPERT: _l("Bid evaluation expert"),
    Role.ORG_MANAGER: _l("Organization manager"),
    Role.SOCIAL_WORKER: _l("Social worker"),
    Role.EVALUATOR: _l("Third-party evaluator"),
    Role.AUDITOR: _l("Auditor"),
}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(min=3, max=64)])
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=100)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[], validators=[DataRequired()])
    organization_id = SelectField(_l("Organization"), choices=[], coerce=str, validators=[Optional()])
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})

    def fill_choices(self, organizations) -> None:
        self.role.choices = [(r.value, str(label)) for r, label in ROLE_LABELS.items()]
        self.organization_id.choices = [("", "—")] + [(str(o.id), o.name) for o in organizations]


class EmptyForm(FlaskForm):
    """Carries only the CSRF token, for button-only posts."""


class ActiveForm(FlaskForm):
    active = BooleanField()
