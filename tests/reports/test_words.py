"""Issue 13 item 11: words. One msgid per meaning, Japanese units, and no advice to
contact oneself."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from flask_login import login_user

from tests import factories


def _legend(page: str) -> list[str]:
    return re.findall(r"<legend>([^<]*)</legend>", page)


def test_card_sheet_legend_is_not_the_audit_pages_actor(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session, email="a@example.jp"))
    audit = client.get("/audit/").get_data(as_text=True)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    sheet = client.get("/certificates/sheet").get_data(as_text=True)
    assert "操作者" in audit
    assert "操作者" not in sheet
    assert "対象のサポーター" in _legend(sheet)


def test_history_shows_hours_in_japanese(client: Any, db_session: Any, login_as: Any) -> None:
    from supporters.registry import activity_reports

    registration = factories.registration(db_session, on=date(2024, 5, 1))
    coordinator = factories.coordinator(db_session, program_code="tochigi")
    activity_reports.file_report(
        db_session,
        actor=coordinator,
        registration=registration,
        data=activity_reports.ReportInput(
            activity_on=date(2024, 6, 1),
            hours=Decimal("3.5"),
            kind="phone",
            municipality_id=None,
            topics=[],
        ),
        today=date(2024, 6, 2),
        on_behalf=True,
    )
    db_session.commit()
    login_as(coordinator)
    page = client.get(f"/register/{registration.id}").get_data(as_text=True)
    assert "3.5時間" in page
    assert not re.search(r"3\.50*h\b", page)


def test_error_page_does_not_send_a_coordinator_to_themselves(app: Any, db_session: Any) -> None:
    handler = next(iter(app.error_handler_spec[None][500].values()))
    coordinator = factories.coordinator(db_session, program_code="tochigi", email="c500@example.jp")
    supporter = factories.supporter(db_session, program_code="tochigi", email="s500@example.jp")
    admin = factories.admin(db_session, email="a500@example.jp")
    db_session.commit()  # the handler rolls back what the failed request left
    seen = {}
    for user in (coordinator, supporter, admin):
        with app.test_request_context("/"):
            login_user(user)
            body, code = handler(Exception("boom"))
            assert code == 500
            seen[user.email] = body
    assert "事務局にお知らせ" in seen["s500@example.jp"]
    for email in ("c500@example.jp", "a500@example.jp"):
        assert "事務局" not in seen[email], seen[email]
        assert "システム管理者" in seen[email]
