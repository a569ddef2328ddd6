"""The staffing invariants under concurrency, with real connections and commits, on both
databases: 50 supporters sign up for a 3-place event at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.accounts.models import User
from supporters.db import ServiceError
from supporters.dispatch import services
from supporters.dispatch.models import Assignment, DispatchEvent
from supporters.extensions import db
from supporters.registry.models import Registration
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app

SIGN_UPS = 50


@pytest.mark.parametrize("backend", BACKENDS)
def test_fifty_concurrent_sign_ups_for_three_places(backend: str, schema_factory: Any) -> None:
    app = build_migrated_app(schema_factory.url(backend, "signup"))
    with app.app_context():
        event = factories.dispatch_event(db.session, needed=3)
        overlapping = factories.dispatch_event(
            db.session, place="那須町", starts_at=event.starts_at + timedelta(hours=1), needed=20
        )
        regs = [factories.valid_registration(db.session, n=i) for i in range(SIGN_UPS)]
        actor = factories.admin_user(db.session)
        db.session.commit()
        ids = (event.id, overlapping.id, actor.id, [r.id for r in regs])
        db.session.remove()
    event_id, other_id, actor_id, reg_ids = ids
    barrier = threading.Barrier(SIGN_UPS)
    outcomes: list[str] = []
    unexpected: list[BaseException] = []

    def sign_up(index: int, reg_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                registration = db.session.get(Registration, reg_id)
                actor = db.session.get(User, actor_id)
                # Half also try the overlapping event at the same time.
                target = event_id if index % 2 == 0 or index < 6 else other_id
                for chosen in dict.fromkeys([target, event_id]):
                    try:
                        services.sign_up(
                            db.session,
                            actor=actor,
                            event=db.session.get(DispatchEvent, chosen),
                            registration=registration,
                            now=datetime(2030, 5, 1, tzinfo=UTC),
                        )
                        db.session.commit()
                        outcomes.append(f"ok:{chosen}")
                    except ServiceError as error:
                        db.session.rollback()
                        outcomes.append(f"refused:{error.message}")
            except BaseException as error:
                unexpected.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_up, args=(i, r)) for i, r in enumerate(reg_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert unexpected == [], unexpected[:3]
    with app.app_context():
        holding = db.session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.event_id == event_id, Assignment.state.in_(("assigned", "confirmed")))
        )
        assert holding == 3
        assert outcomes.count(f"ok:{event_id}") == 3
        # Nobody holds two overlapping places.
        doubles = db.session.execute(
            select(Assignment.person_id, func.count())
            .where(Assignment.state.in_(("assigned", "confirmed")))
            .group_by(Assignment.person_id)
            .having(func.count() > 1)
        ).all()
        assert doubles == []
        db.session.remove()
        db.engine.dispose()
