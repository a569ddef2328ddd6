"""Issue 16 item 8: attributes as each program words them, counted in the reporting group
each maps to; the enrolment records the attribute as given, so editing the person later
leaves past figures as they were; the program file holds the attributes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from supporters.administration.services import apply_program_spec, spec_from_program
from supporters.administration.spec import (
    FileProblems,
    parse_program_file,
    write_program_file,
)
from supporters.people.models import Person
from supporters.programs.models import ProgramAttribute
from supporters.reports.figures import build_fiscal_year_report
from supporters.training.importer import HEADERS_JA, import_trainees, template_csv
from supporters.training.models import Enrolment
from supporters.training.services.sessions import record_roll_call
from tests import factories

NOW = datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
HEADER = ",".join(HEADERS_JA)


def _csv(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


def _import(session: Any, course: Any, data: bytes) -> list[Enrolment]:
    report = import_trainees(session, actor=None, course=course, data=data, now=NOW)
    assert report.ok, report.errors
    return list(session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)))


def _kagawa_course_attended(session: Any) -> tuple[Any, list[Enrolment]]:
    course = factories.course(session, program_code="kagawa", topics=("基礎",), on=date(2024, 6, 1))
    enrolments = _import(
        session,
        course,
        _csv(
            "香川 一郎,カガワ イチロウ,ichiro@example.jp,,高松市,,行政の相談担当者",
            "香川 花子,カガワ ハナコ,hanako@example.jp,,高松市,,ひきこもり当事者の家族",
        ),
    )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={e.id for e in enrolments},
        now=datetime(2024, 6, 1, 3, 0, tzinfo=UTC),
    )
    return course, enrolments


def _attributes(session: Any, code: str, year: int = 2024) -> Any:
    report = build_fiscal_year_report(
        session,
        factories.program(session, code=code),
        year,
        today=date(2025, 6, 1),
        include_attributes=True,
    )
    return report.attributes


def test_kagawas_municipal_consultant_counts_as_a_welfare_professional(db_session: Any) -> None:
    _, enrolments = _kagawa_course_attended(db_session)
    ichiro = next(e for e in enrolments if e.person.name == "香川 一郎")
    # Recorded as given, in Kagawa's words; the person holds the reporting group.
    assert ichiro.attribute == "municipal_consultant"
    assert ichiro.person.attribute == "welfare_professional"
    assert _attributes(db_session, "kagawa") == {"welfare_professional": 1, "family": 1}


def test_editing_the_person_leaves_last_years_report(db_session: Any) -> None:
    _, enrolments = _kagawa_course_attended(db_session)
    before = _attributes(db_session, "kagawa")
    for enrolment in enrolments:
        enrolment.person.attribute = "other"
    db_session.flush()
    assert _attributes(db_session, "kagawa") == before == {"welfare_professional": 1, "family": 1}


def test_a_form_enrolment_records_the_persons_attribute_then(db_session: Any) -> None:
    enrolment = factories.completed_enrolment(db_session, attribute="family")
    assert enrolment.attribute == "family"


def test_a_chiba_csv_with_its_own_words_imports(db_session: Any) -> None:
    course = factories.course(db_session, program_code="chiba", topics=("基礎",))
    enrolments = _import(
        db_session,
        course,
        _csv(
            "千葉 一郎,チバ イチロウ,c1@example.jp,,習志野市,,一般県民",
            "千葉 二郎,チバ ジロウ,c2@example.jp,,習志野市,,民間企業・団体の支援者",
            "千葉 三郎,チバ サブロウ,c3@example.jp,,習志野市,,市町村職員",
            "千葉 四郎,チバ シロウ,c4@example.jp,,習志野市,,住民",  # the product's word too
        ),
    )
    given = {e.person.name: (e.attribute, e.person.attribute) for e in enrolments}
    assert given == {
        "千葉 一郎": ("resident", "resident"),
        "千葉 二郎": ("private_support", "private_support"),
        "千葉 三郎": ("municipal_staff", "municipal_staff"),
        "千葉 四郎": ("resident", "resident"),
    }


def test_an_xlsx_with_kagawas_words_imports(db_session: Any) -> None:
    course = factories.course(db_session, program_code="kagawa", topics=("基礎",))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS_JA)
    sheet.append(
        [
            "香川 三郎",
            "カガワ サブロウ",
            "s@example.jp",
            None,
            "高松市",
            None,
            "社会福祉協議会の職員",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    (enrolment,) = _import(db_session, course, buffer.getvalue())
    assert (enrolment.attribute, enrolment.person.attribute) == (
        "council_staff",
        "welfare_professional",
    )


@pytest.mark.usefixtures("japanese")
def test_an_unknown_word_is_refused_listing_the_programs_words(db_session: Any) -> None:
    course = factories.course(db_session, program_code="chiba", topics=("基礎",))
    report = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=_csv("千葉 一郎,チバ イチロウ,c1@example.jp,,習志野市,,ボランティア"),
        now=NOW,
    )
    assert not report.ok
    (error,) = report.errors
    assert (
        error.column == "属性" and "一般県民" in error.message and "ボランティア" in error.message
    )
    assert db_session.scalar(select(Person).where(Person.name == "千葉 一郎")) is None


def test_a_program_file_with_attributes_round_trips(db_session: Any) -> None:
    program = factories.program(db_session, code="kagawa")
    text = write_program_file(spec_from_program(db_session, program))
    assert '[attributes.municipal_consultant]\nlabel_ja = "行政の相談担当者"' in text
    spec = parse_program_file(text)
    assert spec == spec_from_program(db_session, program)
    assert not apply_program_spec(db_session, spec, actor=None, dry_run=True)  # nothing to do
    changed = text.replace(
        "[attributes]\n",
        '[attributes]\n\n[attributes.peer_staff]\nlabel_ja = "ピアスタッフ"\n'
        'label_en = "Peer staff"\nreporting_group = "lived_experience"\nactive = true\n',
    )
    apply_program_spec(db_session, parse_program_file(changed), actor=None)
    rows = db_session.scalars(
        select(ProgramAttribute)
        .where(ProgramAttribute.program_id == program.id)
        .order_by(ProgramAttribute.sort_order)
    ).all()
    assert (rows[0].code, rows[0].label_ja, rows[0].reporting_group) == (
        "peer_staff",
        "ピアスタッフ",
        "lived_experience",
    )
    assert write_program_file(spec_from_program(db_session, program)) == changed


@pytest.mark.parametrize(
    ("bad", "keys"),
    [
        ('reporting_group = "citizen"', ["attributes.peer_staff.reporting_group"]),
        # both are named: the page shows it on the one being added, whatever the order
        ('label_ja = "その他"', ["attributes.peer_staff.label_ja", "attributes.other.label_ja"]),
    ],
)
def test_a_bad_attribute_is_named(db_session: Any, bad: str, keys: list[str]) -> None:
    program = factories.program(db_session, code="kagawa")
    text = write_program_file(spec_from_program(db_session, program))
    entry = 'label_ja = "ピアスタッフ"\nlabel_en = "Peer staff"\nreporting_group = "family"\n'
    name = bad.split(" = ")[0]
    entry = "\n".join(bad if line.startswith(name) else line for line in entry.splitlines())
    changed = text.replace("[attributes]\n", f"[attributes]\n\n[attributes.peer_staff]\n{entry}\n")
    with pytest.raises(FileProblems) as refused:
        apply_program_spec(db_session, parse_program_file(changed), actor=None)
    assert [p.key for p in refused.value.problems] == keys


def test_an_attribute_cannot_be_removed(db_session: Any) -> None:
    program = factories.program(db_session, code="chiba")
    text = write_program_file(spec_from_program(db_session, program))
    start = text.index("[attributes.resident]")
    end = text.index("[attributes.", start + 1)
    with pytest.raises(FileProblems) as refused:
        apply_program_spec(db_session, parse_program_file(text[:start] + text[end:]), actor=None)
    assert [p.key for p in refused.value.problems] == ["attributes"]


def test_the_template_gives_examples_in_the_programs_words(db_session: Any) -> None:
    course = factories.course(db_session, program_code="kagawa", topics=("基礎",))
    rows = template_csv(db_session, course.program).decode("utf-8-sig").splitlines()
    assert [row.split(",")[-1] for row in rows[1:]] == ["ひきこもり当事者の家族", "福祉専門職"]
    enrolments = _import(db_session, course, template_csv(db_session, course.program))
    assert sorted(e.attribute or "" for e in enrolments) == ["family", "welfare_professional"]


def test_the_form_offers_and_records_the_programs_words(db_session: Any) -> None:
    from supporters.people.services import program_attributes
    from supporters.training.forms import attribute_choices
    from supporters.training.services.enrolments import enrol_match, match_person

    course = factories.course(db_session, program_code="kagawa", topics=("基礎",))
    choices = attribute_choices(program_attributes(db_session, course.program_id))
    assert ("municipal_consultant", "行政の相談担当者") in [(c.value, c.label) for c in choices]
    fields = dict(
        name="香川 五郎",
        name_reading="カガワ ゴロウ",
        email="goro@example.jp",
        phone=None,
        residence="高松市",
        workplace=None,
    )
    match = match_person(db_session, course=course, attribute="municipal_consultant", **fields)
    enrolment = enrol_match(
        db_session,
        actor=factories.admin_user(db_session),
        course=course,
        match=match,
        choice=None,
        override_reason=None,
        now=NOW,
    )
    assert (enrolment.attribute, enrolment.person.attribute) == (
        "municipal_consultant",
        "welfare_professional",
    )
    # The same person in a second course, now given as a family member: the person keeps
    # their record, the new enrolment records what was given this time.
    second = factories.course(db_session, program_code="kagawa", title="二回目", topics=("基礎",))
    again = match_person(db_session, course=second, attribute="family", **fields)
    (known,) = again.duplicates
    enrolment = enrol_match(
        db_session,
        actor=factories.admin_user(db_session),
        course=second,
        match=again,
        choice=str(known.id),
        override_reason=None,
        now=NOW,
    )
    assert (enrolment.attribute, enrolment.person.attribute) == ("family", "welfare_professional")
