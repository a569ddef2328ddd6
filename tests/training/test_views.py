from __future__ import annotations

import io
from datetime import date
from typing import Any

from sqlalchemy import select

from supporters.audit.models import AuditEvent
from supporters.training.models import Course, Enrolment
from tests import factories
from tests.conftest import post_form
from tests.training.test_import import excel_cp932


def test_coordinator_creates_a_course_with_the_curriculum(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    chiba = factories.program(db_session, code="chiba")
    from supporters.programs.models import Organisation

    organiser = Organisation(program_id=chiba.id, kind="operator", name="千葉県センター")
    db_session.add(organiser)
    db_session.commit()
    response = post_form(
        client,
        "/courses/new",
        {
            "program_id": str(chiba.id),
            "kind": "initial",
            "organiser_id": str(organiser.id),
            "title": "千葉県ひきこもりサポーター養成研修",
            "venue": "千葉市",
            "capacity": "60",
            "first_session_on": "2024-07-06",
            "use_curriculum": "y",
        },
    )
    assert response.status_code == 302
    course = db_session.scalar(select(Course).where(Course.title.startswith("千葉県ひきこもり")))
    assert [s.topic for s in course.sessions][:2] == ["基礎講座", "家族支援講座"]
    assert len(course.sessions) == 6 and all(s.date == date(2024, 7, 6) for s in course.sessions)


def test_coordinator_cannot_create_a_course_in_another_program(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    tochigi = factories.program(db_session, code="tochigi")
    response = post_form(
        client,
        "/courses/new",
        {
            "program_id": str(tochigi.id),
            "kind": "initial",
            "organiser_id": "1",
            "title": "x",
        },
    )
    assert response.status_code in (200, 403)
    assert db_session.scalar(select(Course).where(Course.title == "x")) is None


def test_enrol_form_offers_the_existing_person(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session)
    known = factories.person(db_session, email="dup@example.jp", residence="高松市")
    db_session.commit()
    data = {
        "name": "山田　花子",
        "name_reading": "やまだ はなこ",
        "email": "dup@example.jp",
        "residence": "高松市",
        "attribute": "family",
    }
    response = post_form(client, f"/courses/{course.id}/enrol", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'value="{known.id}"' in page
    response = post_form(
        client, f"/courses/{course.id}/enrol", {**data, "duplicate": str(known.id)}
    )
    assert response.status_code == 302
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))
    assert enrolment.person_id == known.id


def test_enrol_form_shows_the_eligibility_refusal_on_the_field(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    course = factories.course(db_session, program_code="chiba")
    db_session.commit()
    data = {"name": "県外 太郎", "name_reading": "ケンガイ タロウ", "residence": "宇都宮市"}
    response = post_form(client, f"/courses/{course.id}/enrol", data)
    assert response.status_code == 200
    assert 'id="override_reason-error"' in response.get_data(as_text=True)
    assert db_session.scalar(select(Enrolment)) is None
    response = post_form(
        client, f"/courses/{course.id}/enrol", {**data, "override_reason": "千葉市で勤務予定"}
    )
    assert response.status_code == 302


def test_import_page_imports_all_or_shows_the_rows(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session)
    db_session.commit()
    bad = excel_cp932("良い 人,ヨイ ヒト,,,高松市,,", "悪い 人,悪い人,,,高松市,,")
    response = post_form(
        client,
        f"/courses/{course.id}/import",
        {"file": (io.BytesIO(bad), "trainees.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<td>3</td>" in page
    assert db_session.scalar(select(Enrolment)) is None
    good = excel_cp932("良い 人,よい ひと,,,高松市,,")
    response = post_form(
        client,
        f"/courses/{course.id}/import",
        {"file": (io.BytesIO(good), "trainees.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db_session.scalar(select(Enrolment)) is not None
    template = client.get(f"/courses/{course.id}/template.csv")
    assert template.data.startswith("\ufeff氏名,フリガナ".encode())


def test_roll_call_page_saves_attendance_and_completes(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session, topics=("基礎",))
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person

    people = [
        factories.person(
            db_session, name=f"出席 {i}", reading=f"シュッセキ {'アイ'[i]}", residence="高松市"
        )
        for i in range(2)
    ]
    enrolments = [
        enrol_person(db_session, actor=None, course=course, person=p, now=datetime.now(UTC))
        for p in people
    ]
    db_session.commit()
    url = f"/courses/{course.id}/sessions/{course.sessions[0].id}/roll"
    page = client.get(url).get_data(as_text=True)
    assert "シュッセキ ア" in page and 'type="checkbox"' in page
    response = post_form(client, url, {"present": [str(enrolments[0].id)]})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Enrolment, enrolments[0].id).state == "completed"
    assert db_session.get(Enrolment, enrolments[1].id).state == "confirmed"
    other_course = factories.course(db_session, title="別")
    stranger = factories.person(db_session, name="他 人", reading="タ ニン", residence="高松市")
    foreign = enrol_person(
        db_session, actor=None, course=other_course, person=stranger, now=datetime.now(UTC)
    )
    db_session.commit()
    post_form(client, url, {"present": [str(foreign.id)]})
    db_session.expire_all()
    assert db_session.get(Enrolment, foreign.id).state == "confirmed"  # refused, nothing saved


def test_waiting_list_moves_on_withdrawal_through_the_page(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session, capacity=1)
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person

    first = enrol_person(
        db_session,
        actor=None,
        course=course,
        now=datetime.now(UTC),
        person=factories.person(db_session, name="一 番", reading="イチ バン", residence="高松市"),
    )
    second = enrol_person(
        db_session,
        actor=None,
        course=course,
        now=datetime.now(UTC),
        person=factories.person(db_session, name="二 番", reading="ニ バン", residence="高松市"),
    )
    db_session.commit()
    assert second.state == "waitlisted"
    response = post_form(
        client,
        f"/courses/{course.id}/enrolments/{first.id}/withdraw",
        {},
        form_url=f"/courses/{course.id}/enrolments/{first.id}",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "二 番" in page
    db_session.expire_all()
    assert db_session.get(Enrolment, second.id).state == "confirmed"


def test_attribute_visibility_by_role(
    client: Any, db_session: Any, login_as: Any, app: Any
) -> None:
    course = factories.course(db_session, program_code="tochigi")
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person
    from supporters.training.services.sessions import record_roll_call

    person = factories.person(
        db_session, residence="佐野市", prefecture="栃木県", attribute="当事者"
    )
    enrolment = enrol_person(
        db_session, actor=None, course=course, person=person, now=datetime.now(UTC)
    )
    record_roll_call(
        db_session,
        actor=factories.admin(db_session),
        course_session=course.sessions[0],
        present_ids={enrolment.id},
        now=datetime.now(UTC),
    )
    coordinator = factories.coordinator(db_session, program_code="tochigi")
    others = [
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市"),
        factories.coordinator(db_session, program_code="kagawa"),
        factories.admin(db_session),
    ]
    db_session.commit()
    detail = f"/courses/{course.id}/enrolments/{enrolment.id}"
    marker = "attribute"  # the attribute row's label id below
    for user in others:
        viewer = app.test_client()
        login_as_client(viewer, db_session, user)
        course_page = viewer.get(f"/courses/{course.id}")
        body = course_page.get_data(as_text=True)
        assert "当事者" not in body and "Lived experience" not in body, user.email
        person_page = viewer.get(detail)
        if person_page.status_code == 200:
            text = person_page.get_data(as_text=True)
            assert "当事者" not in text and "Lived experience" not in text, user.email
    login_as(coordinator)
    assert "当事者" in client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "当事者" in client.get(detail).get_data(as_text=True)
    views = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "person.view_attribute", AuditEvent.target_id == person.id
        )
    ).all()
    assert [v.actor_user_id for v in views] == [coordinator.id]
    assert marker


def login_as_client(client: Any, db_session: Any, user: Any) -> None:
    from datetime import timedelta

    from supporters.accounts import services as accounts
    from supporters.db import now_utc

    token = accounts.start_session(db_session, user, now=now_utc(), lifetime=timedelta(hours=1))
    db_session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token


def test_municipal_staff_see_only_their_trainees(
    client: Any, db_session: Any, login_as: Any
) -> None:
    course = factories.course(db_session, program_code="tochigi")
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person

    sano = factories.person(
        db_session,
        name="佐野 住民",
        reading="サノ ジュウミン",
        residence="佐野市",
        prefecture="栃木県",
    )
    nasu = factories.person(
        db_session,
        name="那須 住民",
        reading="ナス ジュウミン",
        residence="那須町",
        prefecture="栃木県",
    )
    for p in (sano, nasu):
        enrol_person(db_session, actor=None, course=course, person=p, now=datetime.now(UTC))
    login_as(
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
    )
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert "佐野 住民" in page and "那須 住民" not in page
    nasu_enrolment = db_session.scalar(select(Enrolment).where(Enrolment.person_id == nasu.id))
    assert client.get(f"/courses/{course.id}/enrolments/{nasu_enrolment.id}").status_code == 403
    assert client.get(f"/courses/{course.id}/enrol").status_code == 403
    assert client.get(f"/courses/{course.id}/roll").status_code == 404


def test_other_program_and_supporters_are_kept_out(
    client: Any, db_session: Any, login_as: Any
) -> None:
    initial = factories.course(db_session, program_code="tochigi")
    follow_up = factories.course(db_session, program_code="tochigi", kind="follow_up")
    login_as(factories.supporter(db_session, program_code="tochigi"))
    assert client.get(f"/courses/{initial.id}").status_code == 403
    assert client.get(f"/courses/{follow_up.id}").status_code == 200
    listing = client.get("/courses/").get_data(as_text=True)
    assert f'/courses/{follow_up.id}"' in listing and f'/courses/{initial.id}"' not in listing


def test_supporter_applies_through_the_page(client: Any, db_session: Any, login_as: Any) -> None:
    follow_up = factories.course(
        db_session, program_code="kagawa", kind="follow_up", on=date(2099, 5, 1)
    )
    user = factories.supporter(db_session, program_code="kagawa")
    user.person_id = factories.registration(db_session, program_code="kagawa").person_id
    db_session.commit()
    login_as(user)
    response = post_form(
        client, f"/courses/{follow_up.id}/apply", {}, form_url=f"/courses/{follow_up.id}"
    )
    assert response.status_code == 302
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == follow_up.id))
    assert enrolment.state == "applied" and enrolment.source == "self"


def test_export_is_audited_and_formula_safe(client: Any, db_session: Any, login_as: Any) -> None:
    coordinator = login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session)
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person

    sneaky = factories.person(db_session, name='=HYPERLINK("x")', reading="ア", residence="高松市")
    enrol_person(db_session, actor=None, course=course, person=sneaky, now=datetime.now(UTC))
    db_session.commit()
    body = client.get(f"/courses/{course.id}/enrolments.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    exported = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "export.enrolments"))
    assert exported.actor_user_id == coordinator.id


def test_sign_in_sheet_pdf_sorted_by_reading(
    client: Any, db_session: Any, login_as: Any, tmp_path: Any
) -> None:
    import shutil
    import subprocess
    from datetime import UTC, datetime

    from supporters.training.services.enrolments import enrol_person

    if shutil.which("pdftotext") is None:
        import os

        import pytest

        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is missing")
        pytest.skip("pdftotext is not installed")
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    course = factories.course(db_session, topics=("基礎",))
    for name, reading in [
        ("渡辺 久美子", "ワタナベ クミコ"),
        ("青木 誠", "アオキ マコト"),
        ("加藤 修", "カトウ オサム"),
    ]:
        enrol_person(
            db_session,
            actor=None,
            course=course,
            now=datetime.now(UTC),
            person=factories.person(db_session, name=name, reading=reading, residence="高松市"),
        )
    db_session.commit()
    response = client.get(f"/courses/{course.id}/sessions/{course.sessions[0].id}/sign-in.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "sheet.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.index("青木 誠") < text.index("加藤 修") < text.index("渡辺 久美子")
