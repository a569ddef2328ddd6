"""Two taps on the same link at the same moment (two devices, or a double tap that sent the
form twice) answer once, with real connections and commits, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.answers import services as answers
from supporters.audit.models import AuditEvent
from supporters.db import ServiceError
from supporters.dispatch import services as dispatch
from supporters.dispatch.models import Assignment
from supporters.extensions import db
from supporters.mail import links
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app

TAPS = 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_taps_at_the_same_moment_answer_once(backend: str, schema_factory: Any) -> None:
    app = build_migrated_app(schema_factory.url(backend, "onetap"))
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        reg = factories.valid_registration(db.session)
        user = factories.supporter(db.session, email="sup@example.jp")
        user.person_id = reg.person_id
        event = factories.dispatch_event(db.session, starts_at=now + timedelta(days=5))
        assignment = dispatch.assign(
            db.session,
            actor=factories.admin_user(db.session),
            event=event,
            registration=reg,
            now=now,
        )
        token = links.issue_link(
            db.session,
            purpose=links.ANSWER_ASSIGNMENT,
            subject_id=assignment.id,
            user_id=user.id,
            expires_at=event.starts_at,
            now=now,
        )
        db.session.commit()
        assignment_id = assignment.id
        db.session.remove()
    barrier = threading.Barrier(TAPS, timeout=60)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []

    def tap(index: int) -> None:
        # Half confirm, half decline: whichever comes first is the answer.
        choice = "confirm" if index % 2 == 0 else "decline"
        with app.test_request_context(f"/a/{token}", method="POST"):
            try:
                barrier.wait()
                link = links.find_link(db.session, token)
                assert link is not None
                answers.answer_by_link(db.session, link=link, answer=choice, now=now)
                db.session.commit()
                outcomes.append(f"ok:{choice}")
            except ServiceError as error:
                db.session.rollback()
                outcomes.append(f"refused:{error.code}")
            except BaseException as error:
                db.session.rollback()
                unexpected.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(TAPS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert unexpected == [], unexpected[:3]
    assert len([o for o in outcomes if o.startswith("ok:")]) == 1, outcomes
    assert outcomes.count("refused:link_used") == TAPS - 1, outcomes
    with app.app_context():
        answered = db.session.get(Assignment, assignment_id)
        link = db.session.scalar(select(links.AnswerLink))
        assert answered is not None and link is not None
        won = next(o for o in outcomes if o.startswith("ok:")).split(":")[1]
        assert link.answer == won
        assert answered.state == ("confirmed" if won == "confirm" else "declined")
        audited = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "answer_link.answer")
        )
        assert audited == 1
        db.session.remove()
        db.engine.dispose()
