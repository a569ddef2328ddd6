from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from supporters.accounts.models import Role
from supporters.accounts.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from supporters.core.forms import REQUIRED


def _email_field(autocomplete: str | None = None) -> EmailField:
    hints = {"autocomplete": autocomplete} if autocomplete else {}
    return EmailField(
        _l("E-mail address"),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={**hints, "inputmode": "email"},
    )


def _current_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


def _repeat_password_field() -> PasswordField:
    return PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    email = _email_field(autocomplete="username")
    password = _current_password_field(_l("Password"))
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field(autocomplete="email")
    submit = SubmitField(_l("Send the link"))


def _new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX_LENGTH,
                message=_l(
                    "Use %(min)d to %(max)d characters.",
                    min=PASSWORD_MIN_LENGTH,
                    max=PASSWORD_MAX_LENGTH,
                ),
            ),
        ],
        description=_l(
            "At least %(n)d characters. A short sentence is easy to remember. Very common "
            "passwords and ones containing the name of your e-mail address are refused.",
            n=PASSWORD_MIN_LENGTH,
        ),
        render_kw={"autocomplete": "new-password"},
    )


class SetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    confirm = _repeat_password_field()
    submit = SubmitField(_l("Set the password"))


class ChangePasswordForm(FlaskForm):
    current_password = _current_password_field(_l("Current password"))
    password = _new_password_field(_l("New password"))
    confirm = _repeat_password_field()
    submit = SubmitField(_l("Change the password"))


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("Program coordinator"),
    Role.MUNICIPAL_STAFF: _l("Municipal program staff"),
    Role.SUPPORTER: _l("Supporter"),
}


class GrantRoleForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        validators=[DataRequired(REQUIRED)],
    )
    program = SelectField(_l("Program"), choices=[], validators=[Optional()])
    municipality = StringField(
        _l("Municipality"),
        validators=[Optional(), Length(max=40)],
        description=_l("Municipal staff only, e.g. 佐野市"),
    )
    organisation = StringField(
        _l("Organisation"),
        validators=[Optional(), Length(max=120)],
        description=_l(
            "Coordinators of one organisation only, e.g. 那須町社会福祉協議会; "
            "empty for the whole program"
        ),
    )
    submit = SubmitField(_l("Grant the role"))


class InviteUserForm(GrantRoleForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    email = _email_field()
    submit = SubmitField(_l("Create and invite"))


class LanguageForm(FlaskForm):
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice("ja", "日本語"), SelectChoice("en", "English")],
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Change"))
