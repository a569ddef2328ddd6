from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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

from supporters.core.display import human_span
from supporters.core.forms import REQUIRED
from supporters.programs.fields import TimeOfDayField
from supporters.registry.forms import ACTIVITY_LABELS, CONFIRM_FREE_TEXT

if TYPE_CHECKING:
    from supporters.dispatch.models import DispatchEvent


KIND_LABELS = {
    "outreach_day": _l("Outreach consultation day"),
    "dispatch_request": _l("Dispatch request"),
    "group_activity": _l("Group activity"),
}
EVENT_STATE_LABELS = {
    "requested": _l("Requested"),
    "declined": _l("Request declined"),
    "draft": _l("Draft"),
    "open": _l("Open"),
    "staffed": _l("Staffed"),
    "held": _l("Held"),
    "cancelled": _l("Event cancelled"),
    "reported": _l("Reported"),
}
ASSIGNMENT_STATE_LABELS = {
    "assigned": _l("Waiting for your answer"),
    "confirmed": _l("Place confirmed"),
    "declined": _l("Declined"),
    "cancelled": _l("Cancelled"),
    "attended": _l("Attended"),
    "no_show": _l("Did not come"),
}


def event_when(event: DispatchEvent) -> str:
    """When an event takes place, as pages and mails show it: 2030年5月10日（金） 13:00–16:00
    (Fri 10 May 2030 13:00–16:00 in English)."""
    return human_span(event.starts_at, event.ends_at)


class EventForm(FlaskForm):
    title = StringField(
        _l("Name of the event"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    activity = SelectField(
        _l("Kind of activity"),
        choices=[SelectChoice(k, v) for k, v in ACTIVITY_LABELS.items()],
        validators=[DataRequired(REQUIRED)],
    )
    # The program's own kinds (dispatch/kinds.py), set by the view.
    activity_kind = SelectField(_l("Kind"), choices=[], validators=[Optional()])
    municipality = StringField(
        _l("Municipality"), validators=[DataRequired(REQUIRED), Length(max=40)]
    )
    venue = StringField(
        _l("Venue"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        # The example is the program's own: see venue_hint().
        description=_l(
            "A public place, such as a health centre's consultation room. Never a private home."
        ),
    )
    date = DateField(_l("Date"), validators=[DataRequired(REQUIRED)])
    start = TimeOfDayField(
        _l("Start time"),
        validators=[InputRequired(REQUIRED)],
        render_kw={"placeholder": "13:30"},
    )
    end = TimeOfDayField(
        _l("End time"),
        validators=[InputRequired(REQUIRED)],
        render_kw={"placeholder": "16:00"},
    )
    needed = IntegerField(
        _l("Supporters needed"),
        validators=[DataRequired(REQUIRED), NumberRange(min=1, max=20)],
        default=2,
    )
    repeat = SelectField(
        _l("Repeat"),
        choices=[
            SelectChoice("", _l("Does not repeat")),
            SelectChoice("weekly", _l("Every week")),
            SelectChoice(
                "monthly_nth_weekday", _l("Every month on the same weekday (e.g. 2nd Saturday)")
            ),
        ],
        validators=[Optional()],
    )
    repeat_until = DateField(
        _l("Repeat until"),
        validators=[Optional()],
        description=_l("At most 24 dates."),
    )
    lead_consultant = StringField(_l("Lead consultant"), validators=[Optional(), Length(max=100)])
    bring = StringField(_l("What to bring"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(
        _l("Notes for supporters"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Never the name, address or story of the person or family."),
    )
    # Shown after a warning from people.free_text: the writer confirms the text is safe.
    confirm_free_text = BooleanField(CONFIRM_FREE_TEXT)
    submit = SubmitField(_l("Save"))


def venue_hint(place: str) -> str:
    """The venue's hint with an example from the program's own prefecture."""
    return str(
        _l(
            "A public place, e.g. %(example)s. Never a private home.",
            example=f"{place}保健センター 2階 相談室" if place else "保健センター 2階 相談室",
        )
    )


class NeededForm(FlaskForm):
    needed = IntegerField(
        _l("Supporters needed"), validators=[DataRequired(REQUIRED), NumberRange(min=1, max=20)]
    )
    submit = SubmitField(_l("Change"))
