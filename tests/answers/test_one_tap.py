"""One-tap answers from mail: the reminder mail carries the link, opening it changes nothing,
the page's form answers once, a used or expired link says so and offers the login."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.answers import services as answers
from supporters.audit.models import AuditEvent
from supporters.dispatch import services as dispatch
from supporters.dispatch.jobs import unconfirmed_assignment, upcoming_dispatch
from supporters.dispatch.models import Assignment
from supporters.mail import links
from supporters.mail.models import OutboxMessage
from supporters.registry.jobs import follow_up_course
from supporters.training.models import Enrolment
from tests import factories
from tests.conftest import CSRF_RE

LINK_RE = re.compile(r"http://localhost/a/([A-Za-z0-9_-]+)")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _supporter(db_session: Any, n: int = 0) -> Any:
    reg = factories.valid_registration(db_session, n=n)
    user = factories.supporter(
        db_session, program_code=reg.program.code, email=f"sup{n}@example.jp"
    )
    user.person_id = reg.person_id
    db_session.flush()
    return user, reg


def _asked(db_session: Any, reg: Any, *, days: int = 5) -> Assignment:
    """A request to the supporter, made two days ago, for an event `days` ahead."""
    start = (_now() + timedelta(days=days)).replace(minute=0, second=0)
    event = factories.dispatch_event(db_session, starts_at=start)
    assignment: Assignment = dispatch.assign(
        db_session,
        actor=factories.admin_user(db_session),
        event=event,
        registration=reg,
        now=_now() - timedelta(days=2),
    )
    return assignment


def _mailed_token(db_session: Any, user: Any) -> str:
    mail = db_session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient_user_id == user.id)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert mail is not None
    found = LINK_RE.search(mail.body_text)
    assert found, mail.body_text
    assert found.group(0) in (mail.body_html or "")
    return found.group(1)


def _post(client: Any, token: str, answer: str) -> Any:
    page = client.get(f"/a/{token}").get_data(as_text=True)
    csrf = CSRF_RE.search(page)
    assert csrf, page
    return client.post(f"/a/{token}", data={"csrf_token": csrf.group(1), "answer": answer})


def _answers(db_session: Any) -> int:
    return db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "answer_link.answer")
    )


def test_the_reminder_carries_a_link_that_shows_then_confirms_once(
    client: Any, db_session: Any
) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg)
    assert unconfirmed_assignment(db_session, _now()) == 1
    db_session.commit()
    token = _mailed_token(db_session, user)
    # Only the hash is stored.
    stored = db_session.scalar(select(links.AnswerLink))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored.__dict__)
    assert stored.expires_at == assignment.event.starts_at

    # Opening the link (as a mail scanner would) shows the event and changes nothing.
    for _ in range(2):
        shown = client.get(f"/a/{token}")
        assert shown.status_code == 200
        page = shown.get_data(as_text=True)
        assert "出張相談会" in page and "保健センター" in page
        assert "確定" in page and "辞退する" in page
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "assigned"
    assert db_session.get(links.AnswerLink, stored.id).used_at is None
    assert _answers(db_session) == 0

    # Without logging in, the page's form confirms.
    answered = _post(client, token, "confirm")
    assert answered.status_code == 302
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "confirmed"
    assert db_session.get(links.AnswerLink, stored.id).answer == "confirm"
    assert _answers(db_session) == 1
    after = client.get(answered.headers["Location"]).get_data(as_text=True)
    assert "ありがとうございます。参加が確定しました。" in after

    # The same link again: already used, with the login offered; nothing more happens.
    again = client.get(f"/a/{token}")
    text = again.get_data(as_text=True)
    assert "このリンクは、すでに使われています。" in text
    assert re.search(r"/login\?next=(%2F|/)schedule", text)
    assert "出張相談会" not in text  # a used link shows nothing of the request
    # A second POST (a form sent twice, or kept open) answers nothing either.
    csrf = CSRF_RE.search(text)
    assert csrf
    client.post(f"/a/{token}", data={"csrf_token": csrf.group(1), "answer": "decline"})
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "confirmed"
    assert _answers(db_session) == 1


def test_decline_tells_the_coordinators(client: Any, db_session: Any) -> None:
    _user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg, days=1)
    coordinator = factories.coordinator(db_session, email="coord@example.jp")
    # The morning/d2 reminder of an unanswered request carries the link too.
    assert upcoming_dispatch(db_session, _now()) == 1
    db_session.commit()
    token = _mailed_token(db_session, _user)
    assert _post(client, token, "decline").status_code == 302
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "declined"
    told = db_session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.recipient_user_id == coordinator.id)
    )
    assert told == 1


def test_a_confirmed_place_gets_no_link(db_session: Any) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg, days=1)
    dispatch.answer_assignment(
        db_session, actor=user, assignment=assignment, accept=True, now=_now()
    )
    assert upcoming_dispatch(db_session, _now()) == 1
    mail = db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
    )
    assert "/a/" not in mail.body_text
    assert db_session.scalar(select(links.AnswerLink)) is None


def test_the_services_refusal_is_shown_and_the_link_stays_usable(
    client: Any, db_session: Any
) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg)
    token = links.issue_link(
        db_session,
        purpose=links.ANSWER_ASSIGNMENT,
        subject_id=assignment.id,
        user_id=user.id,
        expires_at=assignment.event.starts_at,
        now=_now(),
    )
    # Answered meanwhile on the schedule page.
    dispatch.answer_assignment(
        db_session, actor=user, assignment=assignment, accept=False, now=_now()
    )
    db_session.commit()
    page = client.get(f"/a/{token}").get_data(as_text=True)
    assert "この依頼には、すでに回答しています。" in page
    response = _post(client, token, "confirm")
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "この依頼には、すでに回答しています。" in shown  # the same refusal as the schedule
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "declined"
    assert db_session.scalar(select(links.AnswerLink.used_at)) is None
    assert _answers(db_session) == 0


def test_the_link_expires_at_the_events_start(db_session: Any) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg)
    start = assignment.event.starts_at
    issued = start - timedelta(days=3)
    links.issue_link(
        db_session,
        purpose=links.ANSWER_ASSIGNMENT,
        subject_id=assignment.id,
        user_id=user.id,
        expires_at=start,
        now=issued,
    )
    link = db_session.scalar(select(links.AnswerLink))
    assert link.expires_at == start
    assert answers.state_of(link, start - timedelta(days=1)) == "open"
    assert answers.state_of(link, start - timedelta(seconds=1)) == "open"
    assert answers.state_of(link, start) == "expired"
    assert answers.state_of(link, start + timedelta(days=1)) == "expired"
    assert not links.consume_link(db_session, link, answer="confirm", now=start)
    assert not links.consume_link(db_session, link, answer="confirm", now=start + timedelta(days=1))
    assert links.consume_link(db_session, link, answer="confirm", now=start - timedelta(days=1))


def test_a_far_event_link_lasts_at_most_the_limit(db_session: Any) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg, days=60)
    now = _now()
    links.issue_link(
        db_session,
        purpose=links.ANSWER_ASSIGNMENT,
        subject_id=assignment.id,
        user_id=user.id,
        expires_at=assignment.event.starts_at,
        now=now,
    )
    link = db_session.scalar(select(links.AnswerLink))
    assert link.expires_at == now + timedelta(days=links.MAX_DAYS)


def test_an_expired_link_says_so_and_offers_the_login(client: Any, db_session: Any) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg)
    # Issued 20 days ago: its limit passed six days ago (the day after and later).
    token = links.issue_link(
        db_session,
        purpose=links.ANSWER_ASSIGNMENT,
        subject_id=assignment.id,
        user_id=user.id,
        expires_at=assignment.event.starts_at,
        now=_now() - timedelta(days=links.MAX_DAYS + 1),
    )
    db_session.commit()
    response = client.get(f"/a/{token}")
    text = response.get_data(as_text=True)
    assert "このリンクは有効期限が切れています。" in text
    assert re.search(r"/login\?next=(%2F|/)schedule", text)
    assert "出張相談会" not in text
    csrf = CSRF_RE.search(text)
    assert csrf
    client.post(f"/a/{token}", data={"csrf_token": csrf.group(1), "answer": "confirm"})
    db_session.expire_all()
    assert db_session.get(Assignment, assignment.id).state == "assigned"


def test_no_link_for_another_users_assignment(db_session: Any) -> None:
    _mine, reg = _supporter(db_session, n=0)
    other, _other_reg = _supporter(db_session, n=1)
    assignment = _asked(db_session, reg)
    with pytest.raises(links.NotOwnSubject):
        links.issue_link(
            db_session,
            purpose=links.ANSWER_ASSIGNMENT,
            subject_id=assignment.id,
            user_id=other.id,
            expires_at=assignment.event.starts_at,
            now=_now(),
        )
    with pytest.raises(links.NotOwnSubject):
        links.issue_link(
            db_session,
            purpose="unknown",
            subject_id=assignment.id,
            user_id=_mine.id,
            expires_at=assignment.event.starts_at,
            now=_now(),
        )
    assert db_session.scalar(select(links.AnswerLink)) is None


def test_unknown_and_withdrawn_links_are_not_found(client: Any, db_session: Any) -> None:
    user, reg = _supporter(db_session)
    assignment = _asked(db_session, reg)
    token = links.issue_link(
        db_session,
        purpose=links.ANSWER_ASSIGNMENT,
        subject_id=assignment.id,
        user_id=user.id,
        expires_at=assignment.event.starts_at,
        now=_now(),
    )
    db_session.commit()
    assert client.get("/a/not-a-token").status_code == 404
    assert client.get("/a/" + "x" * 200).status_code == 404
    # Access ends when the registration ends, as on the logged-in pages.
    reg.withdrawn_on = _now().date()
    db_session.commit()
    assert client.get(f"/a/{token}").status_code == 404


def test_a_follow_up_invitation_carries_an_apply_link(client: Any, db_session: Any) -> None:
    user, reg = _supporter(db_session)
    first_day = (_now() + timedelta(days=30)).date()
    course = factories.course(db_session, program_code="tochigi", kind="follow_up", on=first_day)
    assert follow_up_course(db_session, _now()) >= 1
    db_session.commit()
    token = _mailed_token(db_session, user)
    link = db_session.scalar(select(links.AnswerLink))
    assert link.purpose == links.APPLY_FOR_COURSE and link.subject_id == course.id
    page = client.get(f"/a/{token}").get_data(as_text=True)
    assert course.title in page and "この研修に申し込む" in page
    assert db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id)) is None
    response = _post(client, token, "apply")
    assert "申込を受け付けました。" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))
    assert enrolment is not None and enrolment.person_id == reg.person_id
    assert _post(client, token, "apply").status_code == 302
    assert (
        db_session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.course_id == course.id)
        )
        == 1
    )


def test_the_page_is_rate_limited_per_client(client: Any, app: Any, db_session: Any) -> None:
    before = app.config["ANSWER_LINK_LIMIT"]
    app.config["ANSWER_LINK_LIMIT"] = "3 per minute"
    try:
        codes = [client.get(f"/a/guess-{i}").status_code for i in range(5)]
    finally:
        app.config["ANSWER_LINK_LIMIT"] = before
    assert codes[:3] == [404, 404, 404]
    assert codes[3:] == [429, 429]


def test_no_link_once_the_request_is_no_longer_theirs_but_the_mail_still_goes(
    db_session: Any,
) -> None:
    user, reg = _supporter(db_session)
    _asked(db_session, reg)
    reg.withdrawn_on = _now().date()
    db_session.flush()
    assert unconfirmed_assignment(db_session, _now()) == 1
    mail = db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient_user_id == user.id)
    )
    assert mail is not None and "/a/" not in mail.body_text
    assert db_session.scalar(select(links.AnswerLink)) is None
