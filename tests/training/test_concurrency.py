"""Capacity holds when many coordinators enrol at the same moment (real connections,
real commits, on both databases)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from supporters.extensions import db
from supporters.people.models import Person
from supporters.training.models import Course, Enrolment
from supporters.training.services.enrolments import enrol_person
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_enrolments_at_once_never_overrun_the_capacity(
    backend: str, schema_factory: Any
) -> None:
    app = build_migrated_app(schema_factory.url(backend, "conc"))
    with app.app_context():
        course = factories.course(db.session, capacity=3)
        people = [
            factories.person(
                db.session,
                name=f"同時 {i}",
                reading="ドウジ",
                email=f"c{i}@example.jp",
                residence="高松市",
            )
            for i in range(20)
        ]
        db.session.commit()
        course_id, person_ids = course.id, [p.id for p in people]
    barrier = threading.Barrier(len(person_ids))
    errors: list[BaseException] = []

    def enrol(person_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                course_row = db.session.get(Course, course_id)
                person_row = db.session.get(Person, person_id)
                enrol_person(
                    db.session,
                    actor=None,
                    course=course_row,
                    person=person_row,
                    now=datetime.now(UTC),
                )
                db.session.commit()
            except BaseException as error:
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=enrol, args=(pid,)) for pid in person_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        states = list(db.session.scalars(select(Enrolment.state)))
        db.session.remove()
        db.engine.dispose()
    assert sorted(states).count("confirmed") == 3
    assert states.count("waitlisted") == 17
