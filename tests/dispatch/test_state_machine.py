"""A Hypothesis state machine over sign-up, assignment, answers, cancellation and changes of
the number needed: the invariants hold after every step."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from supporters.db import ServiceError
from supporters.dispatch import services
from supporters.dispatch.models import Assignment
from tests import factories

NOW = datetime(2030, 5, 1, tzinfo=UTC)
PEOPLE = 6


def test_staffing_state_machine(db_session: Any) -> None:
    admin = factories.admin_user(db_session)
    first = factories.dispatch_event(db_session, needed=2)
    second = factories.dispatch_event(
        db_session, place="那須町", needed=2, starts_at=first.starts_at + timedelta(hours=1)
    )
    separate = factories.dispatch_event(
        db_session, needed=1, starts_at=first.starts_at + timedelta(days=1)
    )
    regs = [factories.valid_registration(db_session, n=i) for i in range(PEOPLE)]
    events = [first, second, separate]

    class Staffing(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = db_session.begin_nested()

        def teardown(self) -> None:
            self.savepoint.rollback()
            db_session.expire_all()

        @rule(
            event=st.sampled_from(range(3)),
            person=st.integers(0, PEOPLE - 1),
            by_coordinator=st.booleans(),
        )
        def take(self, event: int, person: int, by_coordinator: bool) -> None:
            action = services.assign if by_coordinator else services.sign_up
            with suppress(ServiceError):
                action(
                    db_session, actor=admin, event=events[event], registration=regs[person], now=NOW
                )

        @rule(data=st.data())
        def answer(self, data: st.DataObject) -> None:
            waiting = db_session.scalars(
                select(Assignment).where(Assignment.state == "assigned")
            ).all()
            if waiting:
                chosen = data.draw(st.sampled_from(waiting))
                services.answer_assignment(
                    db_session,
                    actor=admin,
                    assignment=chosen,
                    accept=data.draw(st.booleans()),
                    now=NOW,
                )

        @rule(data=st.data(), by_supporter=st.booleans())
        def cancel(self, data: st.DataObject, by_supporter: bool) -> None:
            live = db_session.scalars(
                select(Assignment).where(Assignment.state.in_(("assigned", "confirmed")))
            ).all()
            if live:
                services.cancel_assignment(
                    db_session,
                    actor=admin,
                    assignment=data.draw(st.sampled_from(live)),
                    now=NOW,
                    by_supporter=by_supporter,
                )

        @rule(event=st.sampled_from(range(3)), needed=st.integers(0, 22))
        def change_needed(self, event: int, needed: int) -> None:
            with suppress(ServiceError):
                services.change_needed(db_session, actor=admin, event=events[event], needed=needed)

        @invariant()
        def never_overbooked(self) -> None:
            for event in events:
                holding = db_session.scalar(
                    select(func.count())
                    .select_from(Assignment)
                    .where(
                        Assignment.event_id == event.id,
                        Assignment.state.in_(("assigned", "confirmed")),
                    )
                )
                confirmed = db_session.scalar(
                    select(func.count())
                    .select_from(Assignment)
                    .where(Assignment.event_id == event.id, Assignment.state == "confirmed")
                )
                assert holding <= event.needed
                assert 1 <= event.needed <= 20
                # 充足 only when every place is confirmed, not merely held by a request.
                assert event.state == ("staffed" if confirmed >= event.needed else "open")

        @invariant()
        def never_in_two_overlapping_events(self) -> None:
            rows = db_session.execute(
                select(Assignment.person_id, Assignment.starts_at, Assignment.ends_at).where(
                    Assignment.state.in_(("assigned", "confirmed"))
                )
            ).all()
            for i, a in enumerate(rows):
                for b in rows[i + 1 :]:
                    if a.person_id == b.person_id:
                        assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at

    run_state_machine_as_test(
        Staffing,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
