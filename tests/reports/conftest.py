"""Helpers for the report tests: a query counter and a small fiscal year of records."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from supporters.dispatch import services as dispatch
from supporters.extensions import db
from supporters.registry import activity_reports
from supporters.registry import services as registry
from supporters.registry.models import Registration
from supporters.training.services.enrolments import enrol_person
from supporters.training.services.sessions import record_roll_call
from tests import factories

_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK")


@contextmanager
def counting_queries(engine: Engine | None = None) -> Iterator[list[str]]:
    """Every statement sent to the database inside the block (savepoints aside)."""
    target = engine if engine is not None else db.engine
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(_BOOKKEEPING):
            statements.append(statement)

    event.listen(target, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", listener)


def figure(page: str, key: str) -> str:
    """The text of the element marked data-figure="key" on a report page."""
    match = re.search(rf'data-figure="{re.escape(key)}">([^<]*)<', page)
    assert match, f"no figure {key}"
    return match.group(1)


def at(day: date, hour: int = 1) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour)


def follow_up(session: Any, registration: Registration, day: date) -> None:
    """The supporter attends a follow-up course on `day` (renews inside the window)."""
    course = factories.course(
        session,
        program_code=registration.program.code,
        kind="follow_up",
        topics=("近況報告",),
        on=day,
    )
    enrolment = enrol_person(
        session, actor=None, course=course, person=registration.person, now=at(day)
    )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=at(day),
    )


def held_event(
    session: Any,
    registrations: list[Registration],
    *,
    day: date,
    place: str,
    hours: int = 3,
    attended: int | None = None,
) -> Any:
    """A dispatch event in the past with these supporters assigned, confirmed and (the first
    `attended` of them) present."""
    admin = factories.admin_user(session)
    event = factories.dispatch_event(
        session, place=place, starts_at=at(day), hours=hours, needed=max(len(registrations), 1)
    )
    before = at(day) - timedelta(days=7)
    assignments = [
        dispatch.assign(session, actor=admin, event=event, registration=r, now=before)
        for r in registrations
    ]
    for assignment in assignments:
        dispatch.answer_assignment(
            session, actor=admin, assignment=assignment, accept=True, now=before
        )
    present = assignments if attended is None else assignments[:attended]
    dispatch.record_attendance(
        session,
        actor=admin,
        event=event,
        attended_ids={a.id for a in present},
        now=at(day) + timedelta(days=1),
    )
    return event


def report_filed(
    session: Any, registration: Registration, day: date, hours: str, kind: str
) -> None:
    activity_reports.file_report(
        session,
        actor=factories.admin_user(session),
        registration=registration,
        data=activity_reports.ReportInput(
            activity_on=day,
            hours=Decimal(hours),
            kind=kind,
            municipality_id=registration.main_municipality_id,
            topics=["going_out"],
        ),
        today=date(2026, 1, 1),
        on_behalf=True,
    )


@dataclass
class Year:
    """FY2024 (令和6年度) of Tochigi, record by record (see build_fy2024)."""

    lapsed: Registration
    renewed: Registration
    new: Registration
    withdrawn: Registration


_serial = iter(range(1, 10_000))


def build_fy2024(session: Any, *, extra: int = 0) -> Year:
    """Tochigi in FY2024 (2024-04-01 to 2025-03-31):
    - an initial course on 2024-06-01, capacity 10: four enrolled, three present (family,
      lived experience, family), who complete;
    - registrations: one lapsing on 2024-05-11 (registered 2021-05-10, no follow-up), one
      renewed inside its window on 2024-05-01 (a follow-up course), one new on 2024-07-20,
      one withdrawn on 2024-09-01;
    - dispatch: 2024-06-10 in 佐野市 (3 hours, the renewed supporter present), 2024-11-05 in
      那須町 (2 hours, the new one present), and a cancelled event that does not count;
    - two activity reports (3.0 h sitting in, 2.0 h phone).
    `extra` adds that many more of each kind of record (for query counts)."""
    n = next(_serial)

    readings = {
        "lapsed": "シッコウ",
        "renewed": "コウシン",
        "new": "シンキ",
        "withdrawn": "トリケシ",
    }

    def reg(on: date, label: str) -> Registration:
        return factories.registration(
            session,
            program_code="tochigi",
            on=on,
            name=f"報告 {label}{n}",
            reading=f"ホウコク {readings[label]}",
            email=f"{label}{n}@example.jp",
        )

    course = factories.course(
        session,
        program_code="tochigi",
        kind="initial",
        capacity=10,
        topics=("基礎",),
        on=date(2024, 6, 1),
    )
    enrolments = []
    for index, attribute in enumerate(["family", "lived_experience", "family", "resident"]):
        person = factories.person(
            session,
            name=f"受講 {n}{index}",
            reading="ジュコウ",
            email=f"t{n}{index}@example.jp",
            residence="佐野市",
            prefecture="栃木県",
            attribute=attribute,
        )
        enrolments.append(
            enrol_person(
                session, actor=None, course=course, person=person, now=at(date(2024, 5, 1))
            )
        )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={e.id for e in enrolments[:3]},
        now=at(date(2024, 6, 1)),
    )
    year = Year(
        lapsed=reg(date(2021, 5, 10), "lapsed"),
        renewed=reg(date(2021, 6, 1), "renewed"),
        new=reg(date(2024, 7, 20), "new"),
        withdrawn=reg(date(2023, 5, 1), "withdrawn"),
    )
    follow_up(session, year.renewed, date(2024, 5, 1))
    registry.withdraw(session, actor=None, registration=year.withdrawn, on=date(2024, 9, 1))
    held_event(session, [year.renewed], day=date(2024, 6, 10), place="佐野市", hours=3)
    held_event(session, [year.new], day=date(2024, 11, 5), place="那須町", hours=2)
    cancelled = factories.dispatch_event(session, place="佐野市", starts_at=at(date(2030, 7, 1)))
    dispatch.cancel_event(
        session, actor=factories.admin_user(session), event=cancelled, reason="中止"
    )
    cancelled.starts_at = at(date(2024, 7, 1))
    cancelled.ends_at = at(date(2024, 7, 1), 4)
    report_filed(session, year.renewed, date(2024, 6, 10), "3.0", "sitting_in")
    report_filed(session, year.new, date(2024, 11, 5), "2.0", "phone")
    for _ in range(extra):
        build_fy2024(session)
    session.flush()
    return year


@pytest.fixture
def fy2024(db_session: Any) -> Callable[..., Year]:
    return lambda **kwargs: build_fy2024(db_session, **kwargs)
