"""Suggestions narrowed before ranking (issue 17, item 3) rank exactly as the whole-program
query did: the old function is kept here as the reference, over a random world."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import exists, func, literal, select

from supporters.core.time import local_date
from supporters.dispatch import finding
from supporters.dispatch.models import HOLDING, Assignment, AssignmentState
from supporters.people.models import Person
from supporters.programs.models import Municipality
from supporters.registry.models import VALID_STATUSES, Registration
from supporters.registry.services import status_sql
from tests import factories

NOW = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)


def _reference(db_session: Any, event: Any, *, now: datetime, limit: int) -> list[int]:
    """The ranking before issue 17: one query over every registration of the program."""
    program = event.program
    day = local_date(event.starts_at)
    place = event.municipality
    home = Municipality.__table__.alias("home")
    recent = (
        select(func.count())
        .select_from(Assignment)
        .where(
            Assignment.person_id == Registration.person_id,
            Assignment.state.in_((AssignmentState.CONFIRMED, AssignmentState.ATTENDED)),
            Assignment.starts_at >= now - timedelta(days=365),
        )
        .scalar_subquery()
    )
    distance = finding._distance_sql(place.latitude, place.longitude, home.c)
    busy = exists().where(
        Assignment.person_id == Registration.person_id,
        Assignment.state.in_(HOLDING),
        Assignment.starts_at < event.ends_at,
        Assignment.ends_at > event.starts_at,
    )
    return list(
        db_session.scalars(
            select(Registration.id)
            .join(Person, Person.id == Registration.person_id)
            .outerjoin(home, home.c.id == Registration.main_municipality_id)
            .where(
                Registration.program_id == program.id,
                Registration.registered_on <= day,
                status_sql(program, day).in_([s.value for s in VALID_STATUSES]),
                ~busy,
            )
            .order_by(func.coalesce(distance, literal(9e9)), recent, Person.name_reading)
            .limit(limit)
        )
    )


def _random_world(db_session: Any, seed: int, size: int) -> Any:
    rng = random.Random(seed)
    program = factories.program(db_session, code="tochigi")
    names = list(
        db_session.scalars(
            select(Municipality.name)
            .where(Municipality.prefecture == program.prefecture)
            .order_by(Municipality.id)
        )
    )
    event = factories.dispatch_event(db_session, place=rng.choice(names))
    clash = factories.dispatch_event(
        db_session, place=rng.choice(names), starts_at=event.starts_at, needed=20
    )
    past = factories.dispatch_event(
        db_session, place=rng.choice(names), starts_at=NOW - timedelta(days=30), needed=20
    )
    for n in range(size):
        place = rng.choice(names[:8])  # a few places, so that distances tie
        if rng.random() < 0.15:  # lapsed: not valid on the day
            registration = factories.registration(
                db_session,
                on=date(2020, 7, 20),
                name=f"失効 {n}",
                reading="シッコウ "
                + "アイウエオカキクケコ"[n % 10]
                + "サシスセソタチツテト"[n // 10 % 10],
                email=f"lapsed{n}@example.jp",
            )
            registration.main_municipality_id = factories.municipality(
                db_session, name=place, prefecture=program.prefecture
            ).id
        else:
            registration = factories.valid_registration(db_session, n=n, place=place)
        if rng.random() < 0.1:
            registration.main_municipality_id = None
        for other, state in ((clash, "confirmed"), (past, "attended")):
            if rng.random() < 0.2:
                db_session.add(
                    Assignment(
                        event_id=other.id,
                        registration_id=registration.id,
                        person_id=registration.person_id,
                        starts_at=other.starts_at,
                        ends_at=other.ends_at,
                        state=state,
                        source="coordinator",
                    )
                )
    db_session.flush()
    return event


@pytest.mark.parametrize("seed", [1, 2])
def test_narrowed_suggestions_rank_as_the_whole_program_query(
    db_session: Any, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = _random_world(db_session, seed, size=70)
    calls: list[Any] = []
    original = finding._candidates

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["municipality_ids"])
        return original(*args, **kwargs)

    monkeypatch.setattr(finding, "_candidates", spy)
    # A factor of 1 narrows so tightly that some rankings must widen to everyone.
    for factor, limit in [(f, n) for f in (4, 1) for n in (1, 3, 5, 20, 100)]:
        monkeypatch.setattr(finding, "NEAR_FACTOR", factor)
        expected = _reference(db_session, event, now=NOW, limit=limit)
        found = [
            s.registration.id for s in finding.suggestions(db_session, event, now=NOW, limit=limit)
        ]
        # Equal keys (same place, dispatches and reading) do not occur: readings differ.
        assert found == expected, (seed, factor, limit)
    # Both paths were taken: narrowed, and narrowed then widened (two calls for one ranking).
    assert any(ids is not None for ids in calls) and len(calls) > 10
