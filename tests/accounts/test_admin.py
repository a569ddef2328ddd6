from __future__ import annotations

from typing import Any

from sqlalchemy import select

from supporters.accounts.models import RoleGrant, User
from supporters.audit.models import AuditEvent
from tests import factories
from tests.conftest import post_form


def test_supporter_and_coordinator_get_403_on_admin_pages(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.supporter(db_session))
    for url in ("/admin/users", "/admin/users/new", "/audit/", "/mail/"):
        assert client.get(url).status_code == 403, url
    page = client.get("/admin/users").get_data(as_text=True)
    assert "権限" in page


def test_admin_invites_municipal_staff_with_a_municipality(
    client: Any, db_session: Any, login_as: Any
) -> None:
    admin = login_as(factories.admin(db_session))
    tochigi = factories.program(db_session, code="tochigi")
    response = post_form(
        client,
        "/admin/users/new",
        {
            "display_name": "佐野 担当",
            "email": "sano@example.jp",
            "role": "municipal_staff",
            "program": str(tochigi.id),
            "municipality": " 佐野市　",
        },
    )
    assert response.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "sano@example.jp"))
    grant = user.active_grants[0]
    assert grant.role == "municipal_staff" and grant.municipality.name == "佐野市"
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.target_id == user.id)).all()
    assert {"user.create", "role.grant", "user.invite"} <= {e.action for e in events}
    assert all(e.actor_user_id == admin.id for e in events)


def test_municipality_outside_the_program_is_refused(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        "/admin/users/new",
        {
            "display_name": "誤り",
            "email": "wrong@example.jp",
            "role": "municipal_staff",
            "program": str(factories.program(db_session, code="tochigi").id),
            "municipality": "高松市",
        },
    )
    assert response.status_code == 200
    assert "高松市" in response.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.email == "wrong@example.jp")) is None


def test_duplicate_email_regardless_of_case(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    factories.user(db_session, email="taken@example.jp")
    db_session.commit()
    response = post_form(
        client,
        "/admin/users/new",
        {"display_name": "二人目", "email": "TAKEN@example.jp", "role": "admin", "program": ""},
    )
    assert "すでに" in response.get_data(as_text=True)
    assert len(db_session.scalars(select(User).where(User.email == "taken@example.jp")).all()) == 1


def test_revoking_keeps_history_and_removes_access(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    login_as(factories.admin(db_session))
    coordinator = factories.coordinator(db_session, email="c@example.jp")
    db_session.commit()
    grant = coordinator.active_grants[0]
    response = post_form(
        client,
        f"/admin/users/{coordinator.id}/grants/{grant.id}/revoke",
        {},
        form_url=f"/admin/users/{coordinator.id}",
    )
    assert response.status_code == 302
    db_session.expire_all()
    row = db_session.get(RoleGrant, grant.id)
    assert row.revoked_at is not None and row.revoked_by_id is not None
    assert db_session.get(User, coordinator.id).active_grants == []
    page = client.get(f"/admin/users/{coordinator.id}").get_data(as_text=True)
    assert "取り消し" in page or "Revoke" in page


def test_last_admin_cannot_be_revoked(client: Any, db_session: Any, login_as: Any) -> None:
    admin = login_as(factories.admin(db_session))
    from sqlalchemy import update

    from supporters.accounts.models import Role

    # Leave exactly one admin in this transaction.
    others = [
        g.id
        for g in db_session.scalars(
            select(RoleGrant).where(RoleGrant.role == Role.ADMIN, RoleGrant.user_id != admin.id)
        )
    ]
    if others:
        db_session.execute(
            update(RoleGrant).where(RoleGrant.id.in_(others)).values(revoked_at=admin.created_at)
        )
    db_session.commit()
    grant = admin.active_grants[0]
    post_form(
        client,
        f"/admin/users/{admin.id}/grants/{grant.id}/revoke",
        {},
        form_url=f"/admin/users/{admin.id}",
    )
    db_session.expire_all()
    assert db_session.get(RoleGrant, grant.id).revoked_at is None


def test_deactivated_user_is_logged_out(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    login_as(factories.admin(db_session))
    target = factories.coordinator(db_session, email="gone@example.jp")
    db_session.commit()
    their_client = app.test_client()
    post_form(their_client, "/login", {"email": "gone@example.jp", "password": factories.PASSWORD})
    assert their_client.get("/").status_code == 200
    post_form(client, f"/admin/users/{target.id}/active", {}, form_url=f"/admin/users/{target.id}")
    assert their_client.get("/").status_code == 302


def test_user_list_is_paginated_and_searchable(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session, name="管理 者"))
    for i in range(55):
        factories.user(db_session, email=f"bulk{i:02d}@example.jp", name=f"一括 {i:02d}")
    db_session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert page.count("/admin/users/") <= 52  # 50 rows plus the invite link and a pager
    page = client.get("/admin/users?q=bulk07").get_data(as_text=True)
    assert "bulk07@example.jp" in page and "bulk08@example.jp" not in page
