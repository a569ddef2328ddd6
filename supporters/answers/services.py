"""What a one-tap link answers, and the answer itself: the same dispatch and training services
as the logged-in pages (so the cut-off, full course, withdrawn registration and every other
rule apply, with the same refusals), the link consumed in the same transaction, and audited."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.core.time import local_date
from supporters.db import DbSession, ServiceError
from supporters.dispatch import notify
from supporters.dispatch.models import Assignment
from supporters.mail.links import (
    ANSWER_ASSIGNMENT,
    APPLY_FOR_COURSE,
    AnswerLink,
    consume_link,
    is_expired,
    register_purpose,
)
from supporters.people.models import Person
from supporters.registry.permissions import is_own_current_registration
from supporters.training.models import Course
from supporters.training.permissions import can_apply
from supporters.training.services import enrolments

# The answers each purpose takes (the button's value).
ANSWERS = {ANSWER_ASSIGNMENT: ("confirm", "decline"), APPLY_FOR_COURSE: ("apply",)}

Subject = Assignment | Course


def _user(session: DbSession, user_id: int) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def _own_assignment(session: DbSession, user: User, subject_id: int) -> Assignment | None:
    assignment = session.get(Assignment, subject_id)
    if assignment is None or not is_own_current_registration(user, assignment.registration):
        return None
    return assignment


def _own_course(session: DbSession, user: User, subject_id: int) -> Course | None:
    course = session.get(Course, subject_id)
    if course is None or not can_apply(user, course):
        return None
    return course


def subject_of(session: DbSession, link: AnswerLink) -> tuple[User, Subject] | None:
    """The user and what the link answers, while it is still theirs to answer (access ends
    when the role ends or the registration is withdrawn, as on the logged-in pages)."""
    user = _user(session, link.user_id)
    if user is None:
        return None
    subject: Subject | None
    if link.purpose == ANSWER_ASSIGNMENT:
        subject = _own_assignment(session, user, link.subject_id)
    elif link.purpose == APPLY_FOR_COURSE:
        subject = _own_course(session, user, link.subject_id)
    else:
        subject = None
    return None if subject is None else (user, subject)


def _may_answer_assignment(session: DbSession, user_id: int, subject_id: int) -> bool:
    user = _user(session, user_id)
    return user is not None and _own_assignment(session, user, subject_id) is not None


def _may_apply(session: DbSession, user_id: int, subject_id: int) -> bool:
    user = _user(session, user_id)
    return user is not None and _own_course(session, user, subject_id) is not None


# A link can only be made for the user's own request or a course they may apply to.
register_purpose(ANSWER_ASSIGNMENT, _may_answer_assignment)
register_purpose(APPLY_FOR_COURSE, _may_apply)


def link_used_error() -> ServiceError:
    return ServiceError(None, str(_l("This link has already been used.")), code="link_used")


def link_expired_error() -> ServiceError:
    return ServiceError(None, str(_l("This link has expired.")), code="link_expired")


def answer_by_link(
    session: DbSession,
    *,
    link: AnswerLink,
    answer: str,
    now: datetime,
    ip_address: str | None = None,
) -> object:
    """Answer what the link asks, as its user; the link is consumed in the same transaction
    (so two taps at once answer once, and a refused answer leaves it usable). Returns what
    the service returned (the enrolment of an application). Never commits."""
    if answer not in ANSWERS.get(link.purpose, ()):
        raise ServiceError(None, str(_l("This link is not valid.")), code="link_invalid")
    found = subject_of(session, link)
    if found is None:
        raise ServiceError(None, str(_l("This link is not valid.")), code="link_invalid")
    user, subject = found
    if not consume_link(session, link, answer=answer, now=now):
        session.refresh(link)
        raise link_used_error() if link.used_at is not None else link_expired_error()
    result: object = None
    if isinstance(subject, Assignment):
        notify.answer_and_tell(
            session, actor=user, assignment=subject, accept=answer == "confirm", now=now
        )
    else:
        person = session.get(Person, user.person_id)
        if person is None:
            raise ServiceError(None, str(_l("This link is not valid.")), code="link_invalid")
        result = enrolments.apply_for_course(
            session, actor=user, course=subject, person=person, today=local_date(now), now=now
        )
    record_audit(
        session,
        user,
        "answer_link.answer",
        link,
        ip_address=ip_address,
        detail={"purpose": link.purpose, "subject_id": link.subject_id, "answer": answer},
    )
    return result


def state_of(link: AnswerLink, now: datetime) -> str:
    """ "used", "expired" or "open"."""
    if link.used_at is not None:
        return "used"
    return "expired" if is_expired(link, now) else "open"
