from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from supporters.core.forms import REQUIRED

CONFIRM_FREE_TEXT = _l("I have checked: this identifies no one")

STATUS_LABELS = {
    "active": _l("Valid"),
    "follow_up_due": _l("Follow-up due"),
    "lapsed": _l("Lapsed"),
    "suspended": _l("Suspended"),
    "withdrawn": _l("Registration withdrawn"),
}
ACTIVITY_LABELS = {
    "sitting_in": _l("Sitting in on an outreach consultation"),
    "phone": _l("Phone support"),
    "home_visit": _l("Home visit"),
    "drop_in": _l("Drop-in place"),
    "family_meeting": _l("Family meeting"),
    "supporter_meeting": _l("Supporter meeting"),
    "other": _l("Other"),
}
TOPIC_LABELS = {
    "going_out": _l("Going out"),
    "relating": _l("Relating to others"),
    "family": _l("Family relations"),
    "school": _l("School"),
    "work": _l("Work"),
    "health": _l("Health"),
    "other": _l("Other"),
}
EVENT_LABELS = {
    "registered": _l("Registered as a supporter"),
    "renewed": _l("Renewed by follow-up training"),
    "follow_up": _l("Attended follow-up training"),
    "suspended": _l("Suspended"),
    "reinstated": _l("Reinstated"),
    "withdrawn": _l("Registration withdrawn"),
    "erased": _l("Personal data erased"),
}


class RegisterForm(FlaskForm):
    registered_on = DateField(_l("Registration date"), validators=[DataRequired(REQUIRED)])
    main_municipality = StringField(
        _l("Municipality where the supporter mainly acts"),
        validators=[Optional(), Length(max=40)],
        description=_l("e.g. 佐野市"),
    )
    consent_share_contact = BooleanField(
        _l("Agrees that the dispatching municipality may see their contact details")
    )
    form_received = BooleanField(_l("The registration form has been handed in"))
    submit = SubmitField(_l("Register"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ReportForm(FlaskForm):
    activity_on = DateField(_l("Date"), validators=[DataRequired(REQUIRED)])
    hours = StringField(
        _l("Hours"),
        validators=[DataRequired(REQUIRED), Length(max=5)],
        description=_l("e.g. 1.5"),
        render_kw={"inputmode": "decimal"},
    )
    kind = SelectField(
        _l("Kind of activity"),
        choices=[SelectChoice(k, v) for k, v in ACTIVITY_LABELS.items()],
        validators=[DataRequired(REQUIRED)],
    )
    municipality = StringField(
        _l("Municipality"), validators=[Optional(), Length(max=40)], description=_l("e.g. 佐野市")
    )
    topics = MultiCheckboxField(
        _l("Topics"), choices=[SelectChoice(k, v) for k, v in TOPIC_LABELS.items()]
    )
    note = TextAreaField(
        _l("Short note"),
        validators=[Optional(), Length(max=200)],
        description=_l(
            "Do not write anything that could identify the person or family you supported: "
            "no names, addresses, ages, schools or workplaces."
        ),
    )
    meeting_course_id = SelectField(
        _l("Presented at a supporter meeting"), choices=[], validators=[Optional()]
    )
    # Shown after a warning from people.free_text: the writer confirms the note is safe.
    confirm_free_text = BooleanField(CONFIRM_FREE_TEXT)
    submit = SubmitField(_l("File the report"))
