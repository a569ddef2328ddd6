"""The program's pages: each form fills one section of the spec (administration.spec)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from supporters.core.forms import REQUIRED
from supporters.dispatch.models import TravelRule
from supporters.programs.models import (
    DispatchMode,
    EligibilityRule,
    OrganisationKind,
    RegistrationMode,
    RenewalRule,
)

ELIGIBILITY_LABELS = {
    EligibilityRule.OPEN: _l("Open to anyone"),
    EligibilityRule.LIVES_OR_WORKS_IN_PREFECTURE: _l("Lives or works in the prefecture"),
    EligibilityRule.CAN_ACT_IN_PREFECTURE: _l("Able to act in the prefecture"),
}
REGISTRATION_LABELS = {
    RegistrationMode.ON_COMPLETION: _l("Everyone who completes the training"),
    RegistrationMode.ON_REQUEST: _l("Optional, by registration form"),
}
DISPATCH_LABELS = {
    DispatchMode.MUNICIPAL_REQUEST: _l("Municipalities opt in, then request supporters"),
    DispatchMode.OUTREACH_SITTING_IN: _l("Supporters sit in on outreach consultation days"),
    DispatchMode.GROUP_ACTIVITIES: _l("Activities at groups and drop-in places"),
}
RENEWAL_LABELS = {
    RenewalRule.WINDOW_OR_AFTER_LAPSE: _l(
        "Follow-up in the window before the end renews from the end; after the end, from its date"
    ),
    RenewalRule.WINDOW_ONLY: _l(
        "Only follow-up in the window before the end renews, from the end; none after a lapse"
    ),
    RenewalRule.ANY_IN_CYCLE: _l("Any follow-up within the cycle renews from its date"),
}
KIND_LABELS = {
    OrganisationKind.PREFECTURE: _l("Prefecture"),
    OrganisationKind.OPERATOR: _l("Operator"),
    OrganisationKind.SOCIAL_WELFARE_COUNCIL: _l("Social welfare council"),
    OrganisationKind.MUNICIPAL_OFFICE: _l("Municipal office"),
}
TRAVEL_LABELS = {
    TravelRule.NONE: _l("No travel costs"),
    TravelRule.ACTUAL_COST: _l("Actual cost"),
    TravelRule.MUNICIPAL_RULE: _l("The municipality's travel rules"),
}


def _choices(labels: Mapping[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


def _number(label: object, *, least: int, required: bool = True) -> IntegerField:
    # InputRequired, not DataRequired: 0 is a value, not an empty field.
    first = InputRequired(REQUIRED) if required else Optional()
    return IntegerField(label, validators=[first, NumberRange(min=least)])


class RulesForm(FlaskForm):
    name_ja = StringField(
        _l("Name (Japanese)"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    name_en = StringField(
        _l("Name (English)"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    public_name_ja = StringField(
        _l("Name on cards (Japanese)"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    public_name_en = StringField(
        _l("Name on cards (English)"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    eligibility = SelectField(_l("Eligibility"), choices=_choices(ELIGIBILITY_LABELS))
    registration = SelectField(_l("Registration"), choices=_choices(REGISTRATION_LABELS))
    dispatch_mode = SelectField(_l("Dispatch"), choices=_choices(DISPATCH_LABELS))
    activity_reports_required = BooleanField(_l("Activity reports required"))
    participation_without_registration = BooleanField(
        _l("Completers who did not register may join group activities as participants")
    )
    staff_own_requests = BooleanField(_l("Municipal staff staff their own municipality's requests"))
    cancellation_cutoff_hours = _number(_l("Self-cancellation closes (hours before)"), least=0)
    interval_months = _number(_l("Follow-up cycle (months)"), least=1, required=False)
    mandatory = BooleanField(_l("Follow-up is mandatory (otherwise the registration lapses)"))
    window_days = _number(_l("Follow-up window before the end (days)"), least=0)
    sessions_per_year = _number(_l("Follow-up sessions a year"), least=1, required=False)
    renewal_rule = SelectField(_l("Renewal"), choices=_choices(RENEWAL_LABELS))
    rules_from = DateField(_l("Follow-up rules in force from"), validators=[Optional()])
    registration_format = StringField(
        _l("Registration number format"), validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    registration_prefix = StringField(
        _l("Number prefix"), validators=[DataRequired(REQUIRED), Length(max=10)]
    )
    completion_format = StringField(
        _l("Completion number format"), validators=[DataRequired(REQUIRED), Length(max=60)]
    )
    card_design = SelectField(_l("Card design"))
    show_holder_name_on_verify = BooleanField(_l("The public check shows the holder's name"))
    contact_phone = StringField(_l("Coordinator's phone"), validators=[Length(max=20)])
    contact_email = StringField(_l("Coordinator's e-mail"), validators=[Length(max=254)])
    submit = SubmitField(_l("Save"))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=120)])
    kind = SelectField(_l("Kind"), choices=_choices(KIND_LABELS))
    municipality = StringField(_l("Municipality"), validators=[Length(max=40)])
    submit = SubmitField(_l("Save"))


class SchemeForm(FlaskForm):
    municipality = StringField(
        _l("Municipality"), validators=[DataRequired(REQUIRED), Length(max=40)]
    )
    joined_on = DateField(_l("In the scheme from"), validators=[DataRequired(REQUIRED)])
    left_on = DateField(_l("Until"), validators=[Optional()])
    paid = BooleanField(_l("Paid (an honorarium per dispatch)"))
    honorarium_yen = _number(_l("Honorarium (yen)"), least=0, required=False)
    travel_rule = SelectField(
        _l("Travel"), choices=[SelectChoice("", "—"), *_choices(TRAVEL_LABELS)]
    )
    submit = SubmitField(_l("Save"))


class CurriculaForm(FlaskForm):
    initial = TextAreaField(_l("Initial training"), validators=[Length(max=5000)])
    follow_up = TextAreaField(_l("Follow-up training"), validators=[Length(max=5000)])
    meeting = TextAreaField(_l("Supporter meeting"), validators=[Length(max=5000)])
    submit = SubmitField(_l("Save"))


class AttributeForm(FlaskForm):
    """One attribute of the program (`[attributes.CODE]`): added, changed or retired."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        description=_l(
            "2 to 20 lower-case letters, digits, - or _, e.g. peer_staff. Enrolments record "
            "it, so it cannot be changed later."
        ),
    )
    label_ja = StringField(
        _l("Label (Japanese)"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
        description=_l("As the program words it, e.g. 行政の相談担当者. At most 30 characters."),
    )
    label_en = StringField(
        _l("Label (English)"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
        description=_l("At most 60 characters."),
    )
    reporting_group = SelectField(
        _l("Counted as"),
        description=_l("The group the figures count it in."),
    )
    order = IntegerField(
        _l("Position in the list"),
        validators=[Optional(), NumberRange(min=1, max=99)],
        description=_l("1 is the first; empty: at the end (a change: where it is)."),
    )
    retired = BooleanField(
        _l("Retired: no longer offered for new enrolments and imports (past ones keep it)")
    )
    submit = SubmitField(_l("Save"))


class ProgramFileForm(FlaskForm):
    file = FileField(_l("Program file (TOML)"))
    submit = SubmitField(_l("Upload"))
