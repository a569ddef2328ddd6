"""Issue 12, item 7: a CSV import that would reuse a person the course's rules refuse (a
record kept from another prefecture's program) answers with a row error in Japanese and
imports nothing; never a 500."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from supporters.training.importer import import_trainees
from supporters.training.models import Enrolment
from tests import factories
from tests.conftest import csrf_token

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"


def _csv(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


def _kagawa_person(db_session: Any) -> Any:
    return factories.person(
        db_session,
        name="香川 太郎",
        reading="カガワ タロウ",
        email="taro@example.jp",
        residence="高松市",
        prefecture="香川県",
    )


def test_reusing_a_person_outside_the_prefecture_is_a_row_error(db_session: Any) -> None:
    _kagawa_person(db_session)
    course = factories.course(db_session, program_code="chiba")  # lives or works in Chiba
    data = _csv(
        "千葉 花子,チバ ハナコ,hanako@example.jp,,習志野市,,住民",
        "香川 太郎,カガワ タロウ,taro@example.jp,,習志野市,,住民",
    )
    report = import_trainees(db_session, actor=None, course=course, data=data, now=NOW)
    assert not report.ok
    assert [e.row for e in report.errors] == [3]
    assert "千葉県" in report.errors[0].message
    assert "登録済み" in report.errors[0].message or "記録" in report.errors[0].message
    enrolled = db_session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.course_id == course.id)
    )
    assert enrolled == 0


def test_the_import_page_shows_the_row_error(client: Any, login_as: Any, db_session: Any) -> None:
    _kagawa_person(db_session)
    course = factories.course(db_session, program_code="chiba")
    login_as(factories.coordinator(db_session, program_code="chiba"))
    page = f"/courses/{course.id}/import"
    data = _csv("香川 太郎,カガワ タロウ,taro@example.jp,,習志野市,,住民")
    response = client.post(
        page,
        data={"csrf_token": csrf_token(client, page), "file": (io.BytesIO(data), "t.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "取り込んでいません" in text or "取り込みませんでした" in text, text[:2000]
    assert "千葉県" in text
