"""The dispatch blueprint and what its pages share: the labels every template shows, and
loading an event of the URL that the user may see."""

from __future__ import annotations

from flask import (
    Blueprint,
)
from flask_login import current_user

from supporters.core.web import require
from supporters.dispatch import kinds
from supporters.dispatch.forms import (
    ASSIGNMENT_STATE_LABELS,
    EVENT_STATE_LABELS,
    KIND_LABELS,
)
from supporters.dispatch.models import DispatchEvent
from supporters.dispatch.permissions import (
    can_view_event,
)
from supporters.dispatch.words import event_word
from supporters.extensions import db
from supporters.registry.forms import ACTIVITY_LABELS

bp = Blueprint("dispatch", __name__)
# Pages and mails name an event in the program's words ("この{{ event_word(e) }}は…").
bp.add_app_template_global(event_word, "event_word")


def labels() -> dict[str, object]:
    return {
        "kind_labels": KIND_LABELS,
        "event_state_labels": EVENT_STATE_LABELS,
        "assignment_state_labels": ASSIGNMENT_STATE_LABELS,
        "activity_labels": ACTIVITY_LABELS,
        "kind_name": kinds.kind_name,
        "taking_part": kinds.taking_part,
    }


def load_event(event_id: int) -> DispatchEvent:
    event = db.get_or_404(DispatchEvent, event_id)
    require(can_view_event(current_user, event))
    return event
