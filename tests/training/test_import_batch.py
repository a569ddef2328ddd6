"""Issue 17, item 6: the import checks and writes a file in batches, with the rules of the
row-by-row import it replaced: the statements it sends do not grow with the rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from supporters.audit.models import AuditEvent
from supporters.extensions import db
from supporters.people.models import Person
from supporters.people.services import find_duplicates
from supporters.training.import_batch import known_people
from supporters.training.import_files import read_table
from supporters.training.importer import ImportReport, import_trainees, parse_rows
from supporters.training.models import Enrolment, EnrolmentState
from supporters.training.services import enrolments as services
from tests import factories

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモ"


def _csv(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


def _row(i: int) -> str:
    reading = f"ジュコウ {KANA[i % len(KANA)]}{KANA[i // len(KANA) % len(KANA)]}"
    phone = f"０９０－１２３４－{i:04d}" if i % 2 else ""
    return f"受講 {i:04d},{reading},t{i}@example.jp,{phone},高松市,,家族"


@contextmanager
def _statements() -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _import_counting(db_session: Any, rows: int, known: int) -> tuple[ImportReport, int]:
    """Import `rows` rows into a course with room for all but 10 of them; the first `known`
    are people the program holds already (trainees of an earlier course)."""
    if known:
        earlier = factories.course(db_session)
        data = _csv(*(_row(i) for i in range(known)))
        assert import_trainees(db_session, actor=None, course=earlier, data=data, now=NOW).ok
    course = factories.course(db_session, capacity=rows - 10)
    data = _csv(*(_row(i) for i in range(rows)))
    with _statements() as sent:
        report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert report.ok, report.errors[:3]
    assert (report.created, report.reused) == (rows - known, known)
    assert (report.enrolled, report.waitlisted) == (rows - 10, 10)
    return report, len(sent)


def test_the_statements_of_an_import_do_not_grow_with_its_rows(db_session: Any) -> None:
    _, few = _import_counting(db_session, rows=20, known=5)
    _, many = _import_counting(db_session, rows=200, known=50)
    # municipalities, program, lock, enrolments, the duplicate look-up, places taken, ids
    # (3), people, enrolments, audit rows: one row at a time would be over 1,000
    assert many == few
    assert many <= 20


def test_a_batch_import_writes_what_enrolling_row_by_row_wrote(db_session: Any) -> None:
    course = factories.course(db_session, capacity=2)
    known = factories.person(
        db_session,
        name="受講 0001",
        reading="ジュコウ イア",
        email="t1@example.jp",
        residence="高松市",
    )
    report = import_trainees(
        db_session, actor=None, course=course, data=_csv(*(_row(i) for i in range(4))), now=NOW
    )
    assert report.ok and (report.created, report.reused) == (3, 1)
    enrolments = list(
        db_session.scalars(
            select(Enrolment).where(Enrolment.course_id == course.id).order_by(Enrolment.id)
        )
    )
    people = [db_session.get(Person, e.person_id) for e in enrolments]
    assert [p.name for p in people] == [f"受講 {i:04d}" for i in range(4)]  # in row order
    assert people[1].id == known.id
    assert [e.state for e in enrolments] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert {(e.source, e.applied_at, e.state_changed_at) for e in enrolments} == {("csv", NOW, NOW)}
    assert all(p.name_key == p.name.replace(" ", "") for p in people)
    events = list(
        db_session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["person.create", "enrolment.create"]))
            .where(AuditEvent.id > 0)
            .order_by(AuditEvent.id)
        )
    )[-7:]
    # As row by row: each new person's record, then their enrolment; the known one only enrolled.
    assert [(e.action, e.target_id) for e in events] == [
        ("person.create", people[0].id),
        ("enrolment.create", enrolments[0].id),
        ("enrolment.create", enrolments[1].id),
        ("person.create", people[2].id),
        ("enrolment.create", enrolments[2].id),
        ("person.create", people[3].id),
        ("enrolment.create", enrolments[3].id),
    ]
    assert events[-1].detail == {"state": "waitlisted", "override": False}
    assert events[-1].program_id == course.program_id


def test_a_withdrawn_trainee_imported_again_gets_their_enrolment_back(db_session: Any) -> None:
    course = factories.course(db_session)
    person = factories.person(
        db_session,
        name="受講 0001",
        reading="ジュコウ イア",
        email="t1@example.jp",
        residence="高松市",
    )
    earlier = services.enrol_person(
        db_session, actor=None, course=course, person=person, now=NOW, source="form"
    )
    services.withdraw_enrolment(db_session, actor=None, enrolment=earlier, now=NOW)
    later = datetime(2024, 4, 20, tzinfo=UTC)
    report = import_trainees(
        db_session, actor=None, course=course, data=_csv(_row(1), _row(2)), now=later
    )
    assert report.ok and (report.reused, report.created) == (1, 1)
    db_session.refresh(earlier)
    assert earlier.state == EnrolmentState.CONFIRMED and earlier.source == "form"
    assert earlier.applied_at == later and earlier.state_changed_at == later
    count = select(func.count()).select_from(Enrolment).where(Enrolment.course_id == course.id)
    assert db_session.scalar(count) == 2


def test_two_rows_naming_one_known_person_refuse_the_second(db_session: Any) -> None:
    course = factories.course(db_session)
    factories.person(
        db_session,
        name="受講 0001",
        reading="ジュコウ イア",
        email="t1@example.jp",
        phone="090-1234-0001",
        residence="高松市",
    )
    # The same person by e-mail, then by phone: not the same row twice, so only the course
    # can tell.
    data = _csv(
        "受講 0001,ジュコウ イア,t1@example.jp,,高松市,,",
        "受講 0002,ジュコウ ウア,,,高松市,,",
        "受講 0001,ジュコウ イア,,090-1234-0001,高松市,,",
    )
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert [(e.row, e.column) for e in report.errors] == [(4, "氏名")]
    assert "すでに" in report.errors[0].message
    assert db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id)) is None


@pytest.mark.parametrize(
    ("email", "phone"),
    [
        ("same@example.jp", None),
        (None, "087-812-3456"),
        (None, "0878123456"),  # stored as digits, typed with hyphens
        ("other@example.jp", "087-812-3456"),
        ("other@example.jp", None),
        (None, None),
    ],
)
def test_the_batch_look_up_matches_as_find_duplicates(
    db_session: Any, email: str | None, phone: str | None
) -> None:
    course = factories.course(db_session)
    other_program = factories.course(db_session, program_code="chiba")
    for reading in ("ヤマダ ハナコ", "ヤマダ ハナ"):
        factories.person(db_session, reading=reading, email=email, phone=phone)
    # The same, but a record only another program holds: never matched.
    theirs = factories.person(db_session, email=email, phone=phone)
    services.enrol_person(
        db_session,
        actor=None,
        course=other_program,
        person=theirs,
        now=NOW,
        override_reason="テスト",
    )
    table = read_table(
        _csv(
            "山田 花子,やまだ はなこ,same@example.jp,087-812-3456,高松市,,",
            "山田　花子,ヤマダ ハナコ,,087-812-3456,,,",
            "山田花子,ヤマダ ハナコ,same@example.jp,,,,",
            "山田 花子,ヤマダ ハナ,,,,,",
            "山田 太郎,ヤマダ ハナコ,same@example.jp,,,,",
        )
    )
    rows, _ = parse_rows(db_session, course, table, ImportReport())
    found = known_people(db_session, course, rows)
    for row in rows:
        expected = find_duplicates(db_session, row.data, program_id=course.program_id)
        assert found[row.number] == (expected[0] if expected else None), row.number


def test_a_follow_up_import_looks_supporters_up_in_a_few_statements(db_session: Any) -> None:
    course = factories.course(
        db_session, program_code="tochigi", kind="follow_up", topics=("更新",), on=date(2026, 9, 1)
    )
    supporters = [factories.valid_registration(db_session, n=n) for n in range(12)]

    def rows(registrations: list[Any]) -> bytes:
        lines = ["氏名,フリガナ,メールアドレス,居住市町村"]
        for r in registrations:
            lines.append(f"{r.person.name},{r.person.name_reading},{r.person.email},佐野市")
        return ("\n".join(lines) + "\n").encode()

    counts = []
    for part in (supporters[:2], supporters[2:]):
        data = rows(part)
        with _statements() as sent:
            report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
        assert report.ok and report.reused == len(part), report.errors
        counts.append(len(sent))
    assert counts[1] <= counts[0] <= 20  # the first one also reads the course's program
