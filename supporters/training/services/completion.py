"""Completion: a trainee completes when every required topic is attended (dated on the
day the last of them was), or by the coordinator's decision; attending a follow-up course is
recorded by the register (through training.follow_up)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.dates import fiscal_year
from supporters.db import DbSession, ServiceError
from supporters.programs.services import next_number
from supporters.training.follow_up import follow_up_hooks
from supporters.training.models import (
    ON_ROLL,
    Attendance,
    CourseKind,
    CourseSession,
    Enrolment,
    EnrolmentState,
)
from supporters.training.services.course_state import first_session_on


def attended_topics(session: DbSession, enrolment: Enrolment) -> set[str]:
    return set(
        session.scalars(
            select(CourseSession.topic)
            .join(Attendance, Attendance.session_id == CourseSession.id)
            .where(Attendance.enrolment_id == enrolment.id)
        )
    )


def last_attended_on(session: DbSession, enrolment: Enrolment) -> date | None:
    return session.scalar(
        select(func.max(CourseSession.date))
        .join(Attendance, Attendance.session_id == CourseSession.id)
        .where(Attendance.enrolment_id == enrolment.id)
    )


def _all_required_attended_on(session: DbSession, enrolment: Enrolment, required: set[str]) -> date:
    """The day the last required topic was first attended: when the course was completed."""
    firsts = dict(
        session.execute(
            select(CourseSession.topic, func.min(CourseSession.date))
            .join(Attendance, Attendance.session_id == CourseSession.id)
            .where(Attendance.enrolment_id == enrolment.id, CourseSession.topic.in_(required))
            .group_by(CourseSession.topic)
        ).all()
    )
    return max(firsts[topic] for topic in required)


def update_completion(session: DbSession, *, actor: User | None, enrolment: Enrolment) -> bool:
    """Complete when every required topic is attended, on the day the last of them was
    attended (not the day it was ticked); undo an automatic completion when an attendance
    is taken back. Completions by hand stay as they are. True if newly completed."""
    if enrolment.completion_reason:  # decided by hand
        return False
    required = {s.topic for s in enrolment.course.sessions if s.required}
    done = bool(required) and required <= attended_topics(session, enrolment)
    if done and enrolment.state in (EnrolmentState.CONFIRMED, EnrolmentState.NOT_COMPLETED):
        on = _all_required_attended_on(session, enrolment, required)
        _complete(session, actor=actor, enrolment=enrolment, on=on)
        return True
    if not done and enrolment.state == EnrolmentState.COMPLETED:
        # The number stays reserved for this enrolment.
        _uncomplete(session, actor, enrolment, EnrolmentState.CONFIRMED, {"automatic": True})
    return False


def _complete(session: DbSession, *, actor: User | None, enrolment: Enrolment, on: date) -> None:
    enrolment.state = EnrolmentState.COMPLETED
    enrolment.completed_on = on
    if enrolment.completion_number is None:
        program = enrolment.course.program
        year = fiscal_year(on)
        enrolment.completion_number = program.format_completion_number(
            year, next_number(session, program, "completion", year)
        )
    record_audit(
        session,
        actor,
        "enrolment.complete",
        enrolment,
        program_id=enrolment.course.program_id,
        detail={"number": enrolment.completion_number},
    )


def _uncomplete(
    session: DbSession,
    actor: User | None,
    enrolment: Enrolment,
    state: EnrolmentState,
    detail: dict[str, object],
) -> None:
    """Take the completion back: the enrolment goes to `state`, audited with `detail`."""
    enrolment.state = state
    enrolment.completed_on = None
    record_audit(
        session,
        actor,
        "enrolment.uncomplete",
        enrolment,
        program_id=enrolment.course.program_id,
        detail=detail,
    )


def complete_by_hand(
    session: DbSession, *, actor: User, enrolment: Enrolment, reason: str, on: date
) -> None:
    """Completion decided by the coordinator. It is dated on the last session the trainee
    attended; `on` (today) only when none was recorded. Not before the course has begun."""
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")), code="reason_missing")
    if enrolment.state not in ON_ROLL or enrolment.state == EnrolmentState.COMPLETED:
        raise ServiceError(
            None, str(_l("This enrolment cannot be completed.")), code="cannot_complete"
        )
    first = first_session_on(enrolment.course)
    if first is not None and first > on:
        raise ServiceError(
            None,
            str(
                _l("The course has not taken place yet; it cannot be completed before it is held.")
            ),
            code="course_not_held",
        )
    enrolment.completion_reason = reason[:500]
    _complete(
        session, actor=actor, enrolment=enrolment, on=last_attended_on(session, enrolment) or on
    )


def uncomplete_by_hand(
    session: DbSession, *, actor: User, enrolment: Enrolment, reason: str
) -> None:
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason", str(_l("Give a reason.")), code="reason_missing")
    if enrolment.state != EnrolmentState.COMPLETED:
        raise ServiceError(None, str(_l("This enrolment is not completed.")), code="not_completed")
    enrolment.completion_reason = reason[:500]
    _uncomplete(session, actor, enrolment, EnrolmentState.NOT_COMPLETED, {"reason": reason[:500]})


def count_follow_up(session: DbSession, actor: User | None, enrolment: Enrolment, on: date) -> None:
    """Attending follow-up training renews the registration where the program says so."""
    if enrolment.course.kind == CourseKind.FOLLOW_UP:
        follow_up_hooks().follow_up_attended(session, actor, enrolment, on)
