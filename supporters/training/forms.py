from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from supporters.core.forms import REQUIRED
from supporters.people.services import ATTRIBUTE_LABELS_JA
from supporters.programs.fields import TimeOfDayField
from supporters.programs.models import ProgramAttribute

KIND_LABELS = {
    "initial": _l("Initial training"),
    "follow_up": _l("Follow-up training"),
    "meeting": _l("Supporter meeting"),
}
STATE_LABELS = {
    "applied": _l("Applied"),
    "confirmed": _l("Confirmed"),
    "waitlisted": _l("Waiting list"),
    "withdrawn": _l("Withdrawn"),
    "completed": _l("Completed"),
    "not_completed": _l("Not completed"),
}
ATTRIBUTE_LABELS = {
    "welfare_professional": _l("Welfare professional"),
    "family": _l("Family member"),
    "lived_experience": _l("Lived experience"),
    "municipal_staff": _l("Municipal staff"),
    "private_support": _l("Private support organisation"),
    "resident": _l("Resident"),
    "other": _l("Other"),
    "unknown": _l("Not recorded"),
}


class CourseForm(FlaskForm):
    program_id = SelectField(_l("Program"), choices=[], validators=[DataRequired(REQUIRED)])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
        validators=[DataRequired(REQUIRED)],
    )
    organiser_id = SelectField(_l("Organiser"), choices=[], validators=[DataRequired(REQUIRED)])
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=10000)],
        description=_l("Leave empty for no limit. Beyond it, trainees go on a waiting list."),
    )
    application_opens_on = DateField(_l("Applications open"), validators=[Optional()])
    application_closes_on = DateField(_l("Applications close"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    first_session_on = DateField(
        _l("Date of the first session"),
        validators=[Optional()],
        description=_l("With the curriculum option, the program's sessions are set on this day."),
    )
    use_curriculum = BooleanField(_l("Start with the program's curriculum"), default=True)
    submit = SubmitField(_l("Save"))


class SessionForm(FlaskForm):
    date = DateField(_l("Date"), validators=[DataRequired(REQUIRED)])
    start_time = TimeOfDayField(
        _l("Start time"), validators=[Optional()], render_kw={"placeholder": "13:30"}
    )
    end_time = TimeOfDayField(
        _l("End time"), validators=[Optional()], render_kw={"placeholder": "16:00"}
    )
    topic = StringField(_l("Topic"), validators=[DataRequired(REQUIRED), Length(max=200)])
    required = BooleanField(_l("Required for completion"), default=True)
    submit = SubmitField(_l("Save"))


def attribute_choices(
    program_attributes: Sequence[ProgramAttribute] = (), locale: str = "ja"
) -> list[SelectChoice]:
    """The program's attributes in its own words (value: the code the enrolment records);
    the product's list for a program without any."""
    if program_attributes:
        return [SelectChoice("", _l("(not recorded)"))] + [
            SelectChoice(a.code, a.label(locale)) for a in program_attributes
        ]
    return [SelectChoice("", _l("(not recorded)"))] + [
        SelectChoice(attribute.value, ATTRIBUTE_LABELS[attribute.value])
        for attribute in ATTRIBUTE_LABELS_JA
    ]


class EnrolForm(FlaskForm):
    name = StringField(_l("Name (氏名)"), validators=[DataRequired(REQUIRED), Length(max=100)])
    name_reading = StringField(
        _l("Reading (フリガナ)"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
        description=_l("Katakana or hiragana, e.g. ヤマダ ハナコ"),
    )
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)])
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=30)], render_kw={"inputmode": "tel"}
    )
    residence = StringField(
        _l("Municipality of residence"),
        validators=[Optional(), Length(max=40)],
        description=_l("e.g. 高松市"),
    )
    workplace = StringField(_l("Municipality of work"), validators=[Optional(), Length(max=40)])
    attribute = SelectField(_l("Attribute"), choices=[], validators=[Optional()])
    override_reason = StringField(
        _l("Reason to accept despite the eligibility rule"),
        validators=[Optional(), Length(max=500)],
        description=_l("Only if the program's rule refuses this person; the reason is recorded."),
    )
    # Rendered as radio buttons listing the possible duplicates found on the first submit.
    duplicate = StringField(_l("Possible duplicate"), validators=[Optional(), Length(max=20)])
    submit = SubmitField(_l("Enrol"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("Excel (.xlsx) or CSV file"),
        validators=[FileRequired(REQUIRED)],
        render_kw={"accept": ".xlsx,.csv,text/csv"},
    )
    submit = SubmitField(_l("Import"))


class MakeUpForm(FlaskForm):
    session_id = SelectField(_l("Make-up session"), choices=[], validators=[DataRequired(REQUIRED)])
    submit = SubmitField(_l("Record attendance"))
