"""The audit log page: admins only, newest first, filtered by the start of the action, paged;
who did it by email (the page joins accounts, which is why it lives in main/)."""

from __future__ import annotations

from typing import Any

from supporters.audit.services import record_audit
from supporters.main.services import audit_log_page
from tests import factories


def test_audit_log_page_filters_pages_and_names_the_actor(db_session: Any) -> None:
    admin = factories.admin(db_session)
    for n in range(5):
        record_audit(db_session, admin, "test.alpha", detail={"n": n})
    record_audit(db_session, None, "test.beta")
    db_session.flush()

    rows, total = audit_log_page(db_session, action="test.alpha", page=1, page_size=2)
    assert total == 5
    assert [event.detail["n"] for event, _email in rows] == [4, 3]
    assert {email for _event, email in rows} == {admin.email}
    rows, _total = audit_log_page(db_session, action="test.alpha", page=3, page_size=2)
    assert [event.detail["n"] for event, _email in rows] == [0]

    rows, total = audit_log_page(db_session, action="test.beta", page=1)
    assert total == 1 and rows[0][1] is None  # the system


def test_audit_log_view(client: Any, db_session: Any, login_as: Any) -> None:
    admin = login_as(factories.admin(db_session))
    record_audit(db_session, admin, "test.gamma")
    db_session.commit()
    page = client.get("/audit/?action=test.gamma").get_data(as_text=True)
    assert "test.gamma" in page and admin.email in page
    assert client.get("/audit/?action=test.nothing").status_code == 200
