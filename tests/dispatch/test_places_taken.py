"""The places-taken count kept on each event (issue 17, item 3) equals the live count of
assignments holding a place, after concurrent staffing on both databases, and open places
read it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.accounts.models import User
from supporters.db import ServiceError
from supporters.dispatch import finding, services
from supporters.dispatch.models import HOLDING, Assignment, DispatchEvent
from supporters.extensions import db
from supporters.registry.models import Registration
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app

NOW = datetime(2030, 5, 1, tzinfo=UTC)
WORKERS = 16


def _live(event_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.event_id == event_id, Assignment.state.in_(HOLDING))
        )
        or 0
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_places_taken_equals_the_live_count_after_concurrent_staffing(
    backend: str, schema_factory: Any
) -> None:
    app = build_migrated_app(schema_factory.url(backend, "taken"))
    with app.app_context():
        event = factories.dispatch_event(db.session, needed=5)
        regs = [factories.valid_registration(db.session, n=i) for i in range(WORKERS)]
        actor = factories.admin_user(db.session)
        db.session.commit()
        event_id, actor_id, reg_ids = event.id, actor.id, [r.id for r in regs]
        db.session.remove()
    barrier = threading.Barrier(WORKERS)
    unexpected: list[BaseException] = []

    def staff(index: int, reg_id: int) -> None:
        """Sign up (or be asked), then half of those who got a place give it up again."""
        with app.app_context():
            try:
                barrier.wait()
                registration = db.session.get(Registration, reg_id)
                user = db.session.get(User, actor_id)
                chosen = db.session.get(DispatchEvent, event_id)
                try:
                    take = services.sign_up if index % 2 else services.assign
                    assignment = take(
                        db.session, actor=user, event=chosen, registration=registration, now=NOW
                    )
                    db.session.commit()
                except ServiceError:
                    db.session.rollback()
                    return
                if index % 4 < 2:
                    services.cancel_assignment(
                        db.session, actor=user, assignment=assignment, now=NOW, by_supporter=False
                    )
                    db.session.commit()
            except BaseException as error:
                unexpected.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=staff, args=(i, r)) for i, r in enumerate(reg_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert unexpected == [], unexpected[:3]
    with app.app_context():
        stored = db.session.get(DispatchEvent, event_id)
        assert stored is not None
        assert 0 < _live(event_id) <= 5
        assert stored.places_taken == _live(event_id)
        # Open places read the stored count.
        other = db.session.scalar(
            select(Registration).where(
                Registration.id.not_in(
                    select(Assignment.registration_id).where(Assignment.state.in_(HOLDING))
                )
            )
        )
        assert other is not None
        offered = {e.id: left for e, left, _km in finding.open_places(db.session, other, now=NOW)}
        if stored.places_taken < stored.needed and stored.state == "open":
            assert offered[event_id] == stored.needed - stored.places_taken
        services.cancel_event(
            db.session, actor=db.session.get(User, actor_id), event=stored, reason="雨天のため"
        )
        db.session.commit()
        assert db.session.get(DispatchEvent, event_id).places_taken == 0 == _live(event_id)
        db.session.remove()
        db.engine.dispose()
