"""Taking part without registering: where a program allows it (Kagawa: "研修の修了後に、
hito.toco等民間団体や自治体主催の家族会・当事者会・居場所等の活動に参加することができる"), a
person who completed the program's initial training and chose not to register joins its group
activities as a participant. A participant is not a supporter: no registration, no assignment,
never counted in the staffing of the event (`needed`). Plain functions; they never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Exists, Select, exists, func, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.db import DbSession, ServiceError
from supporters.dispatch.models import DispatchEvent, EventKind, EventState, Participation
from supporters.dispatch.places import lock_event
from supporters.dispatch.words import event_word
from supporters.people.models import Person
from supporters.registry.models import Registration
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState

CANDIDATES_SHOWN = 200


def takes_participants(event: DispatchEvent) -> bool:
    """A group activity of a program that lets completers take part without registering."""
    return (
        event.kind == EventKind.GROUP_ACTIVITY and event.program.participation_without_registration
    )


def _completed_initial(program_id: int) -> Select[Any]:
    return (
        select(Enrolment.id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Course.program_id == program_id,
            Course.kind == CourseKind.INITIAL,
            Enrolment.state == EnrolmentState.COMPLETED,
        )
    )


def _registered(program_id: int, person_id: int) -> Exists:
    return exists().where(
        Registration.program_id == program_id,
        Registration.person_id == person_id,
        Registration.withdrawn_on.is_(None),
        Registration.erased_at.is_(None),
    )


def qualifying_enrolment(session: DbSession, program_id: int, person_id: int) -> Enrolment | None:
    """The person's first completed initial course of the program, if any."""
    return session.scalar(
        select(Enrolment)
        .where(Enrolment.id.in_(_completed_initial(program_id)), Enrolment.person_id == person_id)
        .order_by(Enrolment.completed_on, Enrolment.id)
        .limit(1)
    )


def join(
    session: DbSession, *, actor: User, event: DispatchEvent, person: Person, now: datetime
) -> Participation:
    """The person joins the group activity as a participant. Joining twice changes nothing."""
    lock_event(session, event)
    session.refresh(event)
    if not event.program.participation_without_registration:
        raise ServiceError(
            None,
            str(_l("In this program only registered supporters take part in activities.")),
            code="participation_not_allowed",
        )
    if event.kind != EventKind.GROUP_ACTIVITY:
        raise ServiceError(
            None,
            str(_l("Only group activities take participants who are not supporters.")),
            code="not_a_group_activity",
        )
    if event.state not in (EventState.OPEN, EventState.STAFFED):
        raise ServiceError(None, str(_l("This event is not open.")), code="event_not_open")
    if event.starts_at <= now:
        raise ServiceError(
            None,
            str(_l("This %(event)s has already started.", event=event_word(event))),
            code="event_started",
        )
    live = session.scalar(
        select(Participation).where(
            Participation.event_id == event.id,
            Participation.person_id == person.id,
            Participation.cancelled_at.is_(None),
        )
    )
    if live is not None:
        return live
    if session.scalar(select(_registered(event.program_id, person.id))):
        raise ServiceError(
            None,
            str(
                _l(
                    "%(name)s is a registered supporter: add them as a supporter.",
                    name=person.name,
                )
            ),
            code="registered_supporter",
        )
    enrolment = qualifying_enrolment(session, event.program_id, person.id)
    if enrolment is None:
        raise ServiceError(
            None,
            str(
                _l(
                    "%(name)s has not completed this program's initial training.",
                    name=person.name,
                )
            ),
            code="training_not_completed",
        )
    participation = Participation(
        event_id=event.id,
        person_id=person.id,
        enrolment_id=enrolment.id,
        joined_at=now,
        created_by_id=actor.id,
    )
    session.add(participation)
    session.flush()
    record_audit(session, actor, "participation.join", participation, program_id=event.program_id)
    return participation


def leave(session: DbSession, *, actor: User, participation: Participation, now: datetime) -> None:
    """The participant no longer takes part. Leaving twice changes nothing."""
    if participation.cancelled_at is not None:
        return
    participation.cancelled_at = now
    participation.cancelled_by_id = actor.id
    record_audit(
        session,
        actor,
        "participation.leave",
        participation,
        program_id=participation.event.program_id,
    )


def participants(session: DbSession, event: DispatchEvent) -> list[Participation]:
    """The event's participants (not its supporters), by reading."""
    return list(
        session.scalars(
            select(Participation)
            .join(Person, Person.id == Participation.person_id)
            .where(Participation.event_id == event.id, Participation.cancelled_at.is_(None))
            .order_by(Person.name_reading, Person.id)
        )
    )


def participant_count(session: DbSession, event: DispatchEvent) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Participation)
            .where(Participation.event_id == event.id, Participation.cancelled_at.is_(None))
        )
        or 0
    )


def candidates(session: DbSession, event: DispatchEvent) -> list[Person]:
    """Completers of the program's initial training who are not registered and not taking
    part yet: those a coordinator may add."""
    taking_part = select(Participation.person_id).where(
        Participation.event_id == event.id, Participation.cancelled_at.is_(None)
    )
    registered = select(Registration.person_id).where(
        Registration.program_id == event.program_id,
        Registration.withdrawn_on.is_(None),
        Registration.erased_at.is_(None),
    )
    completed = select(Enrolment.person_id).where(
        Enrolment.id.in_(_completed_initial(event.program_id))
    )
    return list(
        session.scalars(
            select(Person)
            .where(
                Person.id.in_(completed),
                Person.id.not_in(registered),
                Person.id.not_in(taking_part),
            )
            .order_by(Person.name_reading, Person.id)
            .limit(CANDIDATES_SHOWN)
        )
    )
