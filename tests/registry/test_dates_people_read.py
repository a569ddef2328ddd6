"""Issue 18 item 1: a supporter's own page gives the expiry as the era date with its weekday
(Tochigi renews every 3 years) and says 有効期限なし where the program has none (Chiba)."""

from __future__ import annotations

from typing import Any

from tests import factories


def _me(client: Any, db_session: Any, login_as: Any, program_code: str) -> str:
    registration = factories.valid_registration(db_session, program_code=program_code)
    user = factories.supporter(db_session, program_code=program_code, email="me@example.jp")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    return client.get("/me").get_data(as_text=True)


def test_tochigi_shows_the_expiry_with_its_weekday(
    client: Any, db_session: Any, login_as: Any
) -> None:
    page = _me(client, db_session, login_as, "tochigi")
    assert "有効期限" in page
    assert "令和17年3月31日（土）" in page  # 2035-03-31, a Saturday
    assert "有効期限なし" not in page


def test_chiba_says_there_is_no_expiry(client: Any, db_session: Any, login_as: Any) -> None:
    page = _me(client, db_session, login_as, "chiba")
    assert "有効期限なし" in page


def test_in_english_the_expiry_is_western_with_the_era_date_beside_it(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = factories.valid_registration(db_session, program_code="tochigi")
    user = factories.supporter(db_session, program_code="tochigi", email="en@example.jp")
    user.person_id = registration.person_id
    user.locale = "en"
    db_session.commit()
    login_as(user)
    page = client.get("/me").get_data(as_text=True)
    assert "Sat 31 Mar 2035 (令和17年3月31日)" in page
