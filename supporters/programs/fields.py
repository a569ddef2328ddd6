"""Form fields for what people type everywhere: a time of day and a municipality."""

from __future__ import annotations

from datetime import time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField

from supporters.core.dates import NoSuchTime, parse_time
from supporters.db import DbSession
from supporters.programs.models import Municipality, Program


class TimeOfDayField(StringField):
    """A time typed as people type it (1330, 13:30, １３：３０, 13時30分, 905); `data` is a
    datetime.time or None. Use InputRequired (not DataRequired) to keep its message.

    A text input with a number pad (inputmode="numeric"): on a phone 1330 is four taps, and
    what a pad cannot type (13:30, 13時30分) is still accepted from a keyboard or a paste."""

    data: time | None

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        render_kw = {
            "inputmode": "numeric",
            "autocomplete": "off",
            **kwargs.pop("render_kw", {}),
        }
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0] or "")
        self.data = None
        if not raw.strip():
            return
        try:
            self.data = parse_time(raw)
        except NoSuchTime as error:
            raise ValueError(
                _l(
                    "%(t)s is not a time of day: hours go from 0 to 23 and minutes from 00 to 59.",
                    t=raw.strip(),
                )
            ) from error
        except ValueError as error:
            raise ValueError(_l("Enter a time like 13:30 (1330 and 13時30分 work too).")) from error

    def process_data(self, value: Any) -> None:
        self.data = value if isinstance(value, time) else None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.data.strftime("%H:%M") if self.data else ""


def municipality_names(session: DbSession, prefecture: str) -> list[str]:
    """The prefecture's municipalities, in the official order, for a <datalist>."""
    return list(
        session.scalars(
            select(Municipality.name)
            .where(Municipality.prefecture == prefecture)
            .order_by(Municipality.code)
        )
    )


def offer_municipalities(field: Any, program: Program) -> str:
    """Point a text field at the program's municipality list; returns the datalist's id."""
    list_id = f"municipalities-{program.code}"
    field.render_kw = {**(field.render_kw or {}), "list": list_id, "autocomplete": "off"}
    return list_id


def example_place(session: DbSession, program: Program) -> str:
    """A municipality of the program's own prefecture for examples and placeholders: where
    its organisations sit, else the prefecture's first."""
    for organisation in program.organisations:
        place = organisation.municipality
        if place is not None and place.prefecture == program.prefecture:
            return place.name
    names = municipality_names(session, program.prefecture)
    return names[0] if names else ""
