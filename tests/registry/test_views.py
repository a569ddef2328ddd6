from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import select

from supporters.audit.models import AuditEvent
from supporters.registry.models import ActivityReport, Registration
from tests import factories
from tests.conftest import post_form


def _register(db_session: Any, **kwargs: Any) -> Registration:
    return factories.registration(db_session, on=date(2024, 7, 20), **kwargs)


def test_register_search_by_any_kana_form(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    _register(db_session, name="佐藤 花子", reading="サトウ ハナコ", email="s@example.jp")
    _register(db_session, name="鈴木 一郎", reading="スズキ イチロウ", email="t@example.jp")
    db_session.commit()
    for query in ("さとう", "ｻﾄｳ", "サトウ ハナ", "佐藤", "TCG-2024-0001"):
        page = client.get("/register/", query_string={"q": query}).get_data(as_text=True)
        assert "佐藤 花子" in page and "鈴木 一郎" not in page, query
    page = client.get("/register/").get_data(as_text=True)
    assert page.index("サトウ ハナコ") < page.index("スズキ イチロウ")  # gojūon order


def test_register_filters_by_status_on_a_date(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    _register(db_session, name="期限 者", reading="キゲン シャ")
    db_session.commit()
    lapsed = client.get("/register/", query_string={"status": "lapsed", "as_of": "2027-08-01"})
    assert "期限 者" in lapsed.get_data(as_text=True)
    active = client.get("/register/", query_string={"status": "lapsed", "as_of": "2025-01-01"})
    assert "期限 者" not in active.get_data(as_text=True)
    due = client.get("/register/", query_string={"due": "200", "as_of": "2027-02-01"})
    assert "期限 者" in due.get_data(as_text=True)
    bad = client.get("/register/", query_string={"as_of": "2023-13-45"})
    assert bad.status_code == 200


def test_export_opens_in_excel_without_formulas_and_is_audited(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator = login_as(factories.coordinator(db_session, program_code="tochigi"))
    _register(db_session, name="=cmd|' /C calc'!A0", reading="ア", phone="+81-3-1234-5678")
    db_session.commit()
    response = client.get("/register/export.csv")
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["登録番号", "氏名"]
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r", cell
    assert rows[1][1].startswith("'=")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "export.register"))
    assert event.actor_user_id == coordinator.id


def test_person_page_shows_a_timeline_and_audits_the_attribute(
    client: Any, db_session: Any, login_as: Any
) -> None:
    coordinator = login_as(factories.coordinator(db_session, program_code="tochigi"))
    registration = _register(db_session, attribute="当事者")
    db_session.commit()
    page = client.get(f"/register/{registration.id}").get_data(as_text=True)
    assert registration.number in page and "令和6年7月20日" in page
    assert db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "person.view_attribute", AuditEvent.actor_user_id == coordinator.id
        )
    )


def test_other_program_and_municipal_staff_cannot_open_the_person_page(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    registration = _register(db_session)
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    assert client.get(f"/register/{registration.id}").status_code == 403
    page = client.get("/register/").get_data(as_text=True)
    assert registration.number not in page


def test_municipal_staff_see_name_status_validity_only(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from supporters.programs.services import find_municipality

    sano = find_municipality(db_session, "佐野市", prefecture="栃木県")
    mine = _register(
        db_session,
        name="佐野 活動",
        reading="サノ カツドウ",
        email="x@example.jp",
        phone="090-0000-1111",
        attribute="家族",
    )
    mine.main_municipality_id = sano.id
    other = _register(db_session, name="那須 活動", reading="ナス カツドウ")
    other.main_municipality_id = find_municipality(db_session, "那須町", prefecture="栃木県").id
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    page = client.get("/municipality/supporters").get_data(as_text=True)
    assert "佐野 活動" in page and "那須 活動" not in page
    assert "x@example.jp" not in page and "090-0000-1111" not in page and "家族" not in page
    assert client.get("/register/").status_code == 403
    assert client.get(f"/register/{mine.id}").status_code == 403


def test_supporter_page_and_own_report(client: Any, db_session: Any, login_as: Any) -> None:
    registration = _register(db_session)
    user = factories.supporter(db_session, program_code="tochigi")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    page = client.get("/me").get_data(as_text=True)
    assert registration.number in page and "令和9年7月20日" in page  # valid until 2027-07-20
    response = post_form(
        client,
        f"/register/{registration.id}/reports/new",
        {
            "activity_on": "2024-08-01",
            "hours": "１.５",
            "kind": "sitting_in",
            "municipality": "佐野市",
            "topics": ["going_out", "family"],
            "note": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = db_session.scalar(select(ActivityReport))
    assert report.filed_on_behalf is False and str(report.hours) == "1.5"
    assert report.topics == ["family", "going_out"]
    future = post_form(
        client,
        f"/register/{registration.id}/reports/new",
        {"activity_on": "2099-01-01", "hours": "1", "kind": "phone"},
    )
    assert future.status_code == 200
    assert client.get("/register/").status_code == 403
    other = _register(db_session, name="他 人", reading="タ ニン")
    db_session.commit()
    assert client.get(f"/register/{other.id}").status_code == 403
    assert client.get(f"/register/{other.id}/reports/new").status_code == 403


def test_coordinator_files_on_behalf_and_registers_in_one_step(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    enrolment = factories.completed_enrolment(db_session, on=date(2024, 7, 20))
    db_session.commit()
    response = post_form(
        client,
        f"/courses/{enrolment.course_id}/register-completed",
        {},
        form_url=f"/courses/{enrolment.course_id}",
    )
    assert response.status_code == 302
    registration = db_session.scalar(select(Registration))
    assert registration.number.startswith("TCG-2024-")
    response = post_form(
        client,
        f"/register/{registration.id}/reports/new",
        {"activity_on": "2024-08-01", "hours": "2", "kind": "phone"},
    )
    assert response.status_code == 302
    assert db_session.scalar(select(ActivityReport)).filed_on_behalf is True


def test_kagawa_registers_only_with_the_form(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    enrolment = factories.completed_enrolment(
        db_session, program_code="kagawa", on=date(2023, 9, 9)
    )
    db_session.commit()
    url = f"/register/new/{enrolment.id}"
    response = post_form(client, url, {"registered_on": "2023-09-09"})
    assert response.status_code == 200 and db_session.scalar(select(Registration)) is None
    response = post_form(
        client,
        url,
        {"registered_on": "2023-09-09", "form_received": "y", "main_municipality": "高松市"},
    )
    assert response.status_code == 302
    assert db_session.scalar(select(Registration)).number == "KGW-2023-0001"


def test_municipal_staff_home_counts_the_supporters_in_force_their_list_shows_first(
    client: Any, db_session: Any, login_as: Any
) -> None:
    """The start page's number is the list's "in force" section; the lapsed are listed apart
    and said not to be counted (Sano's home said 16 while its list showed 19)."""
    from supporters.programs.services import find_municipality

    sano = find_municipality(db_session, "佐野市", prefecture="栃木県")
    in_force = _register(db_session, name="佐野 有効", reading="サノ ユウコウ")
    lapsed = factories.registration(
        db_session, on=date(2020, 1, 10), name="佐野 期限", reading="サノ キゲン"
    )
    for registration in (in_force, lapsed):
        registration.main_municipality_id = sano.id
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    home = client.get("/").get_data(as_text=True)
    assert 'data-action="supporters" data-count="1"' in home
    page = client.get("/municipality/supporters").get_data(as_text=True)
    assert "活動できるサポーター：1人" in page and "期限切れ・休止中：1人" in page
    assert page.index("佐野 有効") < page.index("期限切れ・休止中") < page.index("佐野 期限")
