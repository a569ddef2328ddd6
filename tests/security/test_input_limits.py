"""Issue 12, item 7: the one mechanism behind "no 500 from input", at its boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from supporters.core.dates import LATEST_DAY, parse_day, parse_month
from supporters.inputs import INT_MAX, bounded_int, has_control_characters
from tests import factories


def test_bounded_int_at_the_integer_range() -> None:
    assert bounded_int(str(INT_MAX - 1)) == INT_MAX - 1
    assert bounded_int(str(INT_MAX)) == INT_MAX
    with pytest.raises(ValueError, match="outside the integer range"):
        bounded_int(str(INT_MAX + 1))
    with pytest.raises(ValueError, match="outside the integer range"):
        bounded_int("-99999999999999999999")


def test_parse_day_at_the_ends_of_its_range() -> None:
    assert parse_day("2200-12-30") == date(2200, 12, 30)
    assert parse_day("2200-12-31") == LATEST_DAY
    with pytest.raises(ValueError, match="2201-01-01 is outside 1900-01-01 to 2200-12-31"):
        parse_day("2201-01-01")
    assert parse_day("1900-01-01") == date(1900, 1, 1)
    with pytest.raises(ValueError, match="1899-12-31 is outside 1900-01-01 to 2200-12-31"):
        parse_day("1899-12-31")
    with pytest.raises(ValueError, match=r"^not a date: "):
        parse_day("2023-11-30\x00")
    with pytest.raises(ValueError, match="day is out of range for month"):
        parse_day("2023-02-30")


def test_parse_month_at_the_ends_of_its_range() -> None:
    assert parse_month("2200-12") == date(2200, 12, 1)
    with pytest.raises(ValueError, match="year 2201 is outside the range"):
        parse_month("2201-01")
    with pytest.raises(ValueError, match="year 1899 is outside the range"):
        parse_month("1899-12")
    with pytest.raises(ValueError, match=r"must be in 1\.\.12"):
        parse_month("2023-13")


def test_control_characters_but_line_breaks_in_text() -> None:
    assert has_control_characters("a\x00b")
    assert has_control_characters("a\nb")
    assert not has_control_characters("一行目\r\n二行目\tタブ", multiline=True)
    assert has_control_characters("a\x1bb", multiline=True)
    assert has_control_characters("a\x85b", multiline=True)  # C1 "next line"
    assert not has_control_characters("全角　スペースと「かぎ括弧」")


def test_nul_in_a_public_address_is_a_clear_400(client: Any) -> None:
    response = client.get("/verify/%00abc")
    assert response.status_code == 400
    assert "受け付けられません" in response.get_data(as_text=True)
    assert client.get("/login?next=%2F%00").status_code == 400


def test_nul_in_a_form_is_a_400_before_the_login_is_checked(client: Any) -> None:
    from tests.conftest import csrf_token

    token = csrf_token(client)
    response = client.post(
        "/login", data={"email": "a\x00@example.jp", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400


def test_ids_beyond_the_integer_range_are_not_found(
    client: Any, login_as: Any, db_session: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get(f"/courses/{INT_MAX}").status_code == 404  # looked up, not there
    assert client.get(f"/courses/{INT_MAX + 1}").status_code == 404  # not even a route
    assert client.get("/courses/999999999999999999999").status_code == 404


def test_numbers_and_dates_beyond_the_range_in_the_query(
    client: Any, login_as: Any, db_session: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get("/courses/?page=99999999999999999999").status_code == 200
    assert client.get("/register/?as_of=2200-12-31").status_code == 200
    assert client.get("/register/?as_of=2201-01-01").status_code == 400
    assert client.get("/register/?as_of=9999-12-31").status_code == 400
    assert client.get("/dispatch/?month=2200-12").status_code == 200
    assert client.get("/dispatch/?month=9999-12").status_code == 400
