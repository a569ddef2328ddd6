"""Who is told when a dispatch changes, and the operations that tell them. The one module of
dispatch that queues mail (through the outbox, sent after the view's commit); the views call
these instead of the bare services when someone must hear about the change. Like the
services, they never commit; unlike them, they build links with url_for, so they run inside
a request (the views) or an app context with SERVER_NAME set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.accounts.models import User
from supporters.core.display import lazy
from supporters.db import DbSession
from supporters.dispatch import services
from supporters.dispatch.forms import event_when
from supporters.dispatch.models import Assignment, DispatchEvent
from supporters.dispatch.words import lazy_event_word
from supporters.mail.services import queue_user_mail
from supporters.registry.models import Registration
from supporters.reminders.rules import coordinators_of


def _link(endpoint: str, **values: Any) -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/") + url_for(endpoint, **values)


def tell_coordinators(session: DbSession, event: DispatchEvent, supporter: str) -> None:
    """The program's coordinators: a supporter gave up their place (declined or cancelled)."""
    link = _link("dispatch.detail", event_id=event.id)
    for user in coordinators_of(session, event.program_id):
        queue_user_mail(
            session,
            user=user,
            kind="assignment_cancelled",
            template="assignment_cancelled",
            event=event,
            supporter=supporter,
            when=lazy(event_when, event),
            link=link,
        )


def tell_supporter(session: DbSession, assignment: Assignment, message: Any) -> None:
    """The supporter holding `assignment`, if they have an account; `message` lazy, so the
    mail says it in the recipient's language and the program's words."""
    user = session.scalar(select(User).where(User.person_id == assignment.person_id))
    if user is None:
        return
    queue_user_mail(
        session,
        user=user,
        kind="dispatch_changed",
        template="dispatch_changed",
        event=assignment.event,
        message=message,
        when=lazy(event_when, assignment.event),
        link=_link("dispatch.my_schedule"),
    )


def ask_supporter(
    session: DbSession,
    *,
    actor: User,
    event: DispatchEvent,
    registration: Registration,
    now: datetime,
) -> Assignment:
    """The coordinator asks a supporter, who is told to answer on their schedule page."""
    assignment = services.assign(
        session, actor=actor, event=event, registration=registration, now=now
    )
    tell_supporter(
        session,
        assignment,
        _l(
            "The coordinator asks you to take part. Please confirm "
            "or decline on your schedule page."
        ),
    )
    return assignment


def cancel_event_and_tell(
    session: DbSession, *, actor: User, event: DispatchEvent, reason: str
) -> None:
    """Cancel the event; every supporter who held a place is told."""
    for assignment in services.cancel_event(session, actor=actor, event=event, reason=reason):
        tell_supporter(
            session,
            assignment,
            _l("This %(event)s has been cancelled.", event=lazy_event_word(event)),
        )


def cancel_assignment_and_tell(
    session: DbSession, *, actor: User, assignment: Assignment, now: datetime, by_supporter: bool
) -> None:
    """Cancel a place; the other side is told: the coordinators when the supporter cancels,
    the supporter when the coordinator does."""
    services.cancel_assignment(
        session, actor=actor, assignment=assignment, now=now, by_supporter=by_supporter
    )
    if by_supporter:
        tell_coordinators(session, assignment.event, assignment.registration.person.name)
    else:
        tell_supporter(
            session,
            assignment,
            _l(
                "Your place at this %(event)s has been cancelled by the coordinator.",
                event=lazy_event_word(assignment.event),
            ),
        )


def answer_and_tell(
    session: DbSession, *, actor: User, assignment: Assignment, accept: bool, now: datetime
) -> None:
    """The supporter answers the coordinator's request; a refusal is told to the
    coordinators, who must find someone else."""
    services.answer_assignment(session, actor=actor, assignment=assignment, accept=accept, now=now)
    if not accept:
        tell_coordinators(session, assignment.event, assignment.registration.person.name)
