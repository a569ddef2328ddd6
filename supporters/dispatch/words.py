"""The word for an event in the program's own terms, where a message names one: Tochigi's
supporters sit in on outreach days (出張相談会への同席), Chiba's are sent on a
municipality's request (派遣), Kagawa's take part in groups and drop-in places (活動への
参加). The words are program data (Program.terms, "event.<kind>"); in English, and where a
program has none, the product's word."""

from __future__ import annotations

from typing import Any

from flask_babel import pgettext
from flask_babel.speaklater import LazyString

from supporters.dispatch.models import DispatchEvent
from supporters.programs.terms import program_term


def event_word(event: DispatchEvent) -> str:
    """'この%(event)sは満員です' → この出張相談会への同席は満員です (Tochigi's outreach day)."""
    default = str(pgettext("the word for an event", "event"))
    return program_term(event.program, f"event.{event.kind}", default)


def lazy_event_word(event: DispatchEvent) -> Any:
    """`event_word` in the language current when it is shown (a mail's recipient's)."""
    return LazyString(event_word, event)
