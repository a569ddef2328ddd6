from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from supporters.core.forms import REQUIRED

SHEET_STATUS_LABELS = {
    "active": _l("Valid (including follow-up due)"),
    "lapsed": _l("Lapsed"),
    "suspended": _l("Suspended"),
    "all": _l("All except withdrawn"),
}

# The public check's words: nothing that says what the card is about.
VERIFY_STATUS_LABELS = {
    "valid": _l("Valid"),
    "expired": _l("Expired"),
    "suspended": _l("Suspended"),
    "revoked": _l("No longer valid"),
}


class CardReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=500)])
    submit = SubmitField(_l("Save"))


class SheetForm(FlaskForm):
    program = SelectField(_l("Program"), choices=[], validators=[DataRequired(REQUIRED)])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(key, label) for key, label in SHEET_STATUS_LABELS.items()],
        default="active",
    )
    registered_from = DateField(_l("Registered from"), validators=[Optional()])
    registered_to = DateField(_l("Registered until"), validators=[Optional()])
    margin_top_mm = FloatField(
        _l("Top margin (mm)"),
        validators=[Optional(), NumberRange(min=0, max=60)],
        description=_l("Empty: centred on the page."),
    )
    margin_left_mm = FloatField(
        _l("Left margin (mm)"),
        validators=[Optional(), NumberRange(min=0, max=30)],
        description=_l("Empty: centred on the page."),
    )
    gap_mm = FloatField(
        _l("Gap between cards (mm)"), validators=[Optional(), NumberRange(min=0, max=10)], default=0
    )
    cut_marks = BooleanField(_l("Cut marks"))
    build = SubmitField(_l("Print the cards"))
    calibration = SubmitField(_l("Print a calibration page"))
