"""The programs' own words on the pages people read: eligibility and follow-up as each program
words them, 事務局 for the people who run a program (not the municipality's 事業担当者),
受講申込 / 受講決定 for training and 未記入 for an attribute nobody recorded."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories


@pytest.mark.parametrize(
    ("code", "present", "absent"),
    [
        ("chiba", ["千葉県内在住・在勤の方"], ["都道府県内に住んでいる方"]),
        ("tochigi", ["3年ごと", "どなたでも"], ["36か月ごと"]),
        ("kagawa", ["県内で活動できる方", "年4～5回"], ["年5回程度", "都道府県内で活動"]),
    ],
)
def test_program_page_uses_the_programs_wording(
    client: Any, db_session: Any, login_as: Any, code: str, present: list[str], absent: list[str]
) -> None:
    login_as(factories.admin(db_session))
    page = client.get(f"/programs/{code}").get_data(as_text=True)
    for words in present:
        assert words in page
    for words in absent:
        assert words not in page


def test_english_program_page_keeps_the_products_wording(
    client: Any, db_session: Any, login_as: Any
) -> None:
    admin = factories.admin(db_session)
    admin.locale = "en"
    db_session.commit()
    login_as(admin)
    page = client.get("/programs/tochigi").get_data(as_text=True)
    assert "Every 36 months" in page and "3年ごと" not in page


def test_roles_are_named_as_the_offices_call_them(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert "<li>事務局 · " in client.get("/account").get_data(as_text=True)
    login_as(factories.municipal_staff(db_session, program_code="tochigi"))
    assert "<li>市町村の事業担当者 · " in client.get("/account").get_data(as_text=True)


def test_enrolment_words_and_an_unrecorded_attribute(
    client: Any, db_session: Any, login_as: Any
) -> None:
    course_id = factories.completed_enrolment(db_session, program_code="kagawa").course_id
    db_session.commit()
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    form = client.get(f"/courses/{course_id}/enrol").get_data(as_text=True)
    assert "（未記入）" in form and "未登録" not in form
    detail = client.get(f"/courses/{course_id}").get_data(as_text=True)
    assert "修了証番号" in detail and "受講者を追加する" in detail
    assert "受講登録" not in detail
