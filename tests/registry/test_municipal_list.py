"""The municipal staff's supporters list, one page at a time (issue 17, item 2): those in
force first, by reading; the counts of each part are the whole list's; the statements of a
request are the same whatever the length of the list."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event

from supporters.registry import queries
from tests import factories


def _sano(db_session: Any) -> Any:
    from supporters.programs.services import find_municipality

    return find_municipality(db_session, "佐野市", prefecture="栃木県")


def _supporters(db_session: Any, in_force: list[str], lapsed: list[str]) -> None:
    """Registrations in Sano: valid ones (registered 2024) and lapsed ones (2020); readings
    given as katakana, names after them."""
    sano = _sano(db_session)
    for reading in in_force:
        r = factories.registration(
            db_session, on=date(2024, 7, 20), name=f"有効 {reading}", reading=f"サノ {reading}"
        )
        r.main_municipality_id = sano.id
    for reading in lapsed:
        r = factories.registration(
            db_session, on=date(2020, 1, 10), name=f"期限 {reading}", reading=f"サノ {reading}"
        )
        r.main_municipality_id = sano.id
    db_session.commit()


def _staff(db_session: Any) -> Any:
    return factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")


def test_one_page_at_a_time_in_force_first_by_reading(db_session: Any) -> None:
    _supporters(db_session, in_force=["ウ", "ア", "イ"], lapsed=["カ", "オ"])
    program = factories.program(db_session)
    places = {_sano(db_session).id}

    def names(page: int) -> list[tuple[str, bool]]:
        found = queries.municipal_page(db_session, {program.id}, places, page=page, page_size=2)
        assert found.total == 5
        (section,) = found.sections
        assert (section.in_force, section.not_in_force) == (3, 2)  # the whole list's
        return [(r.Person.name, bool(r.in_force)) for r in section.rows]

    assert names(1) == [("有効 ア", True), ("有効 イ", True)]
    assert names(2) == [("有効 ウ", True), ("期限 オ", False)]
    assert names(3) == [("期限 カ", False)]
    assert names(4) == []


def test_the_page_links_to_the_next_and_shows_each_part_where_its_rows_are(
    client: Any, db_session: Any, login_as: Any, monkeypatch: Any
) -> None:
    from supporters.registry import views

    _supporters(db_session, in_force=["ア", "イ", "ウ"], lapsed=["オ"])
    login_as(_staff(db_session))
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = client.get("/municipality/supporters").get_data(as_text=True)
    assert "活動できるサポーター：3人" in first and "期限切れ・休止中" not in first
    assert first.index("有効 ア") < first.index("有効 イ") and "有効 ウ" not in first
    assert 'href="/municipality/supporters?page=2"' in first and "1 / 2" in first
    second = client.get("/municipality/supporters?page=2").get_data(as_text=True)
    assert "有効 ア" not in second
    assert second.index("有効 ウ") < second.index("期限切れ・休止中：1人") < second.index("期限 オ")


def test_statements_do_not_grow_with_the_list(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    login_as(_staff(db_session))

    def statements() -> int:
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        engine = db_session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/municipality/supporters").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    _supporters(db_session, in_force=["ア"], lapsed=[])
    few = statements()
    _supporters(db_session, in_force=["イ", "ウ", "エ"], lapsed=["オ", "カ"])
    assert statements() == few <= 15
