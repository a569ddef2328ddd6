"""Issue 16 item 2: the same on pages. The admin changes the rules, organisations, scheme
municipalities and curricula and creates a program from its file; the program's coordinator
sees them and gets 403 on a change. The pages go through the same apply as the file."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.audit.models import AuditEvent
from supporters.dispatch.models import ProgramMunicipality
from supporters.programs.models import Organisation, rules_on
from tests import factories
from tests.administration.test_program_file import FOURTH
from tests.conftest import post_form

RULES = {
    "name_ja": "栃木県ひきこもりサポーター養成事業",
    "name_en": "Tochigi Hikikomori Supporter Training Program",
    "public_name_ja": "栃木県 サポーター",
    "public_name_en": "Tochigi Prefecture Supporter",
    "eligibility": "open",
    "registration": "on_completion",
    "dispatch_mode": "outreach_sitting_in",
    "activity_reports_required": "y",
    "cancellation_cutoff_hours": "48",
    "interval_months": "36",
    "mandatory": "y",
    "window_days": "180",
    "sessions_per_year": "",
    "renewal_rule": "any_in_cycle",
    "registration_format": "{prefix}-{year}-{seq:04d}",
    "registration_prefix": "TCG",
    "completion_format": "{prefix}-{year}-C{seq:04d}",
    "card_design": "tochigi",
    "contact_phone": "028-000-0000",
    "contact_email": "",
}


def _changes(session: Any) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "program.change")
        )
        or 0
    )


def test_the_coordinator_sees_the_rules_but_cannot_change_them(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session))
    page = client.get("/programs/tochigi/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'value="36"' in text and "<fieldset disabled>" in text
    for path in ("organisations", "scheme", "curricula", "attributes", "program.toml"):
        assert client.get(f"/programs/tochigi/{path}").status_code == 200
    for path, data in (
        ("edit", {**RULES, "interval_months": "24"}),
        ("organisations", {"name": "新しい団体", "kind": "operator"}),
        ("scheme", {"municipality": "足利市", "joined_on": "2026-04-01", "travel_rule": ""}),
        ("curricula", {"initial": "60 基礎"}),
    ):
        response = post_form(client, f"/programs/tochigi/{path}", data)
        assert response.status_code == 403, path
    assert client.get("/programs/kagawa/edit").status_code == 403
    assert client.get("/programs/new").status_code == 403
    assert factories.program(db_session).follow_up_interval_months == 36


def test_the_admin_changes_a_rule_once(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    before = _changes(db_session)
    same = post_form(client, "/programs/tochigi/edit", RULES)
    assert same.status_code == 302
    assert _changes(db_session) == before  # the page as shown changes nothing
    changed = post_form(client, "/programs/tochigi/edit", {**RULES, "interval_months": "24"})
    assert changed.status_code == 302
    db_session.expire_all()
    assert factories.program(db_session).follow_up_interval_months == 24
    assert _changes(db_session) == before + 1


def test_the_admin_changes_a_rule_from_a_date(client: Any, db_session: Any, login_as: Any) -> None:
    """Issue 16 item 3: the page's "in force from" puts the change in a version from that
    date; the days before keep the rules in force then; sent twice it changes nothing more."""
    login_as(factories.admin(db_session))
    data = {**RULES, "interval_months": "24", "rules_from": "2026-04-01"}
    for _ in range(2):
        assert post_form(client, "/programs/tochigi/edit", data).status_code == 302
    db_session.expire_all()
    tochigi = factories.program(db_session)
    assert rules_on(tochigi, date(2026, 3, 31)).follow_up_interval_months == 36
    assert rules_on(tochigi, date(2026, 4, 1)).follow_up_interval_months == 24
    assert tochigi.follow_up_interval_months == 24  # in force today
    assert (
        db_session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "program.rules")
        )
        == 1
    )


def test_a_bad_rule_is_shown_on_its_field(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    response = post_form(
        client, "/programs/tochigi/edit", {**RULES, "interval_months": "", "mandatory": "y"}
    )
    assert response.status_code == 400
    assert "フォローアップ研修を必須にするには" in response.get_data(as_text=True)


def test_the_admin_adds_a_paid_scheme_municipality_and_an_organisation(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        "/programs/tochigi/scheme",
        {
            "municipality": "あしかがし",
            "joined_on": "2026-04-01",
            "paid": "y",
            "honorarium_yen": "3000",
            "travel_rule": "actual_cost",
        },
    )
    assert response.status_code == 302
    ashikaga = factories.municipality(db_session, name="足利市")
    member = db_session.scalar(
        select(ProgramMunicipality).where(ProgramMunicipality.municipality_id == ashikaga.id)
    )
    assert (member.joined_on, member.paid, member.honorarium_yen) == (date(2026, 4, 1), True, 3000)
    unpaid_with_fee = post_form(
        client,
        "/programs/tochigi/scheme",
        {
            "municipality": "足利市",
            "joined_on": "2026-04-01",
            "honorarium_yen": "3000",
            "travel_rule": "",
        },
    )
    assert unpaid_with_fee.status_code == 400
    assert "謝金ありの市町村にだけ" in unpaid_with_fee.get_data(as_text=True)

    response = post_form(
        client,
        "/programs/tochigi/organisations",
        {"name": "足利市役所", "kind": "municipal_office", "municipality": "足利市"},
    )
    assert response.status_code == 302
    assert db_session.scalar(select(Organisation).where(Organisation.name == "足利市役所"))


def test_the_admin_edits_the_curricula(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    page = client.get("/programs/tochigi/curricula").get_data(as_text=True)
    assert "90 ひきこもりの理解" in page
    response = post_form(
        client,
        "/programs/tochigi/curricula",
        {
            "initial": "90 ひきこもりの理解\n90 家族支援と出張相談への同席\n60 グループワーク",
            "follow_up": "120 事例検討 (任意)",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert factories.program(db_session).curriculum_template[-1] == {
        "topic": "事例検討",
        "minutes": 120,
        "required": False,
        "course_kind": "follow_up",
    }
    bad = post_form(client, "/programs/tochigi/curricula", {"initial": "ひきこもりの理解"})
    assert bad.status_code == 400


@pytest.mark.parametrize("twice", [False, True])
def test_the_admin_creates_a_program_from_an_upload(
    client: Any, db_session: Any, login_as: Any, twice: bool
) -> None:
    login_as(factories.admin(db_session))
    upload = {"file": (io.BytesIO(FOURTH.encode()), "north.toml")}
    response = post_form(client, "/programs/new", upload, content_type="multipart/form-data")
    assert response.status_code == 302
    assert factories.program(db_session, code="tochigi-north").registration_mode == "on_request"
    if twice:  # a second upload of a program that exists is refused: it has its own page
        again = post_form(
            client,
            "/programs/new",
            {"file": (io.BytesIO(FOURTH.encode()), "north.toml")},
            content_type="multipart/form-data",
        )
        assert again.status_code == 400
        assert "tochigi-north" in again.get_data(as_text=True)


def test_a_bad_upload_names_the_key(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.admin(db_session))
    bad = FOURTH.replace("interval_months = 24", "interval_months = 0")
    response = post_form(
        client,
        "/programs/new",
        {"file": (io.BytesIO(bad.encode()), "north.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "follow_up.interval_months: 1以上にしてください。" in response.get_data(as_text=True)
