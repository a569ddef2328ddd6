from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.people.models import Person
from supporters.training.importer import import_trainees, template_csv
from supporters.training.models import Enrolment
from tests import factories

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"


def excel_cp932(*rows: str) -> bytes:
    """What Excel in Japan writes for 'CSV (comma delimited)': cp932 and CRLF."""
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


def _count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_cp932_with_full_width_digits_and_hiragana(db_session: Any) -> None:
    course = factories.course(db_session)
    data = excel_cp932(
        "山田　花子,やまだ　はなこ,hanako@example.jp,０９０－１２３４－５６７８,高松市,,家族",
        "鈴木 一郎,ｽｽﾞｷ ｲﾁﾛｳ,,087-812-3456,香川県丸亀市,高松市,福祉専門職",
        "髙橋 﨑子,たかはし さきこ,,,さぬき市,,当事者",
    )
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert report.ok, report.errors
    assert (report.created, report.enrolled) == (3, 3)
    people = {p.name: p for p in db_session.scalars(select(Person))}
    hanako = people["山田 花子"]
    assert hanako.name_reading == "ヤマダ ハナコ" and hanako.phone == "090-1234-5678"
    assert hanako.attribute == "family" and hanako.residence_municipality.name == "高松市"
    assert people["鈴木 一郎"].name_reading == "スズキ イチロウ"
    assert people["鈴木 一郎"].work_municipality.name == "高松市"
    assert "髙橋 﨑子" in people  # variant kanji survive cp932 and normalisation


def test_utf8_with_bom_and_english_headers(db_session: Any) -> None:
    course = factories.course(db_session)
    data = (
        "\ufeffname,reading,email,phone,residence,workplace,attribute\n"
        "佐藤 健,サトウ ケン,ken@example.jp,,高松市,,resident\n"
    ).encode()
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert report.ok and report.created == 1


def test_the_template_imports_as_it_is(db_session: Any) -> None:
    course = factories.course(db_session)
    data = template_csv(db_session, course.program)
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert report.ok, report.errors


@pytest.mark.parametrize(
    ("rows", "row", "column", "text"),
    [
        (["山田 花子,山田 花子,,,高松市,,家族"], 2, "フリガナ", "カタカナ"),
        (["山田 花子,ヤマダ ハナコ,,,高松氏,,家族"], 2, "居住市町村", "高松市"),
        (["山田 花子,ヤマダ ハナコ,,,,,ボランティア"], 2, "属性", "福祉専門職"),
        (["山田 花子,ヤマダ ハナコ,not-an-email,,高松市,,"], 2, "メールアドレス", "メールアドレス"),
        (["山田 花子,ヤマダ ハナコ,,123,高松市,,"], 2, "電話番号", "10"),
        (
            [
                "山田 花子,ヤマダ ハナコ,a@example.jp,,高松市,,",
                "山田　花子,やまだ はなこ,a@example.jp,,高松市,,",
            ],
            3,
            "氏名",
            "3",
        ),
        ([",ヤマダ ハナコ,,,高松市,,"], 2, "氏名", "氏名"),
    ],
)
def test_bad_rows_name_row_and_column_and_import_nothing(
    db_session: Any, rows: list[str], row: int, column: str, text: str
) -> None:
    course = factories.course(db_session)
    good = "良い 行,ヨイ ギョウ,good@example.jp,,高松市,,住民"
    report = import_trainees(
        db_session, actor=None, course=course, data=excel_cp932(good, *rows), now=NOW
    )
    assert not report.ok
    matching = [e for e in report.errors if e.row == row + 1 and e.column == column]
    assert matching, report.errors
    assert text in matching[0].message
    assert _count(db_session, Person) == 0 and _count(db_session, Enrolment) == 0


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"PK\x03\x04rest-of-a-zip", "Excel"),
        ("氏名,フリガナ\n山田,ヤマダ\n".encode("utf-16"), "UTF-16"),
        ("氏名,フリガナ\n山田,ヤマダ\n".encode("euc_jp") + b"\xff\xfe\xfd", "Shift_JIS"),
        (b"", "empty"),
        # Other columns are left out (see test_follow_up_workflow); a misspelt one is not.
        ("氏名,ふりがな,居住市町\n山田,やまだ,高松市\n".encode(), "居住市町"),
        ("氏名,メールアドレス\n山田,a@example.jp\n".encode(), "フリガナ"),
        (f"{HEADER}\n".encode(), "no trainees"),
    ],
)
def test_bad_files_get_a_clear_message(db_session: Any, data: bytes, text: str) -> None:
    course = factories.course(db_session)
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert not report.ok
    messages = " ".join(f"{e.column} {e.message}" for e in report.errors)
    translated = {"empty": "空", "no trainees": "受講者"}.get(text, text)
    assert translated in messages, messages
    assert _count(db_session, Person) == 0


def test_chiba_refuses_outsiders_row_by_row(db_session: Any) -> None:
    course = factories.course(db_session, program_code="chiba")
    report = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=excel_cp932(
            "千葉 太郎,チバ タロウ,,,習志野市,,住民",
            "栃木 花子,トチギ ハナコ,,,宇都宮市,,住民",
            "勤務 者,キンム シャ,,,宇都宮市,佐倉市,住民",
        ),
        now=NOW,
    )
    assert [e.row for e in report.errors] == [3]
    assert "千葉県" in report.errors[0].message
    assert _count(db_session, Enrolment) == 0


def test_known_people_are_reused_not_duplicated(db_session: Any) -> None:
    known = factories.person(db_session, email="known@example.jp", residence="高松市")
    course = factories.course(db_session)
    report = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=excel_cp932("山田 花子,やまだ はなこ,KNOWN@example.jp,,高松市,,家族"),
        now=NOW,
    )
    assert report.ok and (report.created, report.reused) == (0, 1)
    enrolment = db_session.scalar(select(Enrolment))
    assert enrolment.person_id == known.id
    again = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=excel_cp932("山田 花子,ヤマダ ハナコ,known@example.jp,,高松市,,家族"),
        now=NOW,
    )
    assert not again.ok and "すでに" in again.errors[0].message


def test_capacity_applies_to_imports(db_session: Any) -> None:
    course = factories.course(db_session, capacity=2)
    rows = [f"受講 {i},ジュコウ {'アイウエ'[i]},t{i}@example.jp,,高松市,," for i in range(4)]
    report = import_trainees(
        db_session, actor=None, course=course, data=excel_cp932(*rows), now=NOW
    )
    assert (report.enrolled, report.waitlisted) == (2, 2)


def test_trainees_import_command_with_an_excel_file(
    app: Any, db_session: Any, tmp_path: Path
) -> None:
    course = factories.course(db_session, title="コマンド研修")
    db_session.commit()
    path = tmp_path / "受講者.csv"
    path.write_bytes(
        excel_cp932("山田　花子,やまだ　はなこ,,０９０－１１１１－２２２２,高松市,,家族")
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["trainees", "import", str(path), "--course", str(course.id)])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["trainees", "list", "--course", str(course.id)])
    assert listing.exit_code == 0, repr(listing.exception)
    assert "山田 花子,ヤマダ ハナコ,,090-1111-2222,高松市,,受講決定" in listing.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(excel_cp932("山田 次郎,山田,,,高松市,,"))
    result = runner.invoke(args=["trainees", "import", str(bad), "--course", str(course.id)])
    assert result.exit_code == 1
    assert "row 2, フリガナ" in result.output
    import json

    listed = runner.invoke(args=["courses", "list", "--program", "kagawa", "--format", "json"])
    courses = json.loads(listed.output)
    entry = next(c for c in courses if c["id"] == course.id)
    assert entry["title"] == "コマンド研修" and entry["enrolments"] == {"confirmed": 1}
    unknown = runner.invoke(args=["courses", "list", "--program", "osaka"])
    assert unknown.exit_code != 0
