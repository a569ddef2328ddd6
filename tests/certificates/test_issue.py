"""Issuing cards and completion certificates: the records, the downloads, the card sheets and
the commands, with the PDFs read back by the tools a person's computer has."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.audit.models import AuditEvent
from supporters.certificates import services
from supporters.certificates.models import CardIssue, CertificateIssue
from supporters.db import ServiceError, now_utc
from supporters.registry import services as registry
from supporters.registry.models import Registration
from tests import factories
from tests.conftest import post_form

KANA = "アイウエオカキクケコサシスセソ"
RECENT = date.today() - timedelta(days=30)  # a Tochigi registration valid for three years


# --- helpers (also used by test_verify.py) ----------------------------------------------


def tool(name: str) -> str:
    """The path of a command-line tool; skipped if missing, except under CI=true."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI=true)")
        pytest.skip(f"{name} is not installed")
    return path


def run(*args: str | Path) -> str:
    result = subprocess.run(
        [tool(str(args[0])), *map(str, args[1:])], capture_output=True, text=True, check=True
    )
    return result.stdout


def pdf_text(path: Path) -> str:
    return run("pdftotext", "-layout", "-enc", "UTF-8", path, "-")


def page_count(path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", path), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def check_pdf(path: Path) -> None:
    """qpdf finds no error and the font is embedded."""
    run("qpdf", "--check", path)
    fonts = run("pdffonts", path).splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts


def decode_qr(path: Path, resolution: int = 600) -> list[str]:
    prefix = path.with_suffix("")
    run(
        "pdftoppm", "-r", str(resolution), "-png", "-f", "1", "-l", "1", "-singlefile", path, prefix
    )
    result = subprocess.run(
        [tool("zbarimg"), "--raw", "-q", f"{prefix}.png"], capture_output=True, text=True
    )
    return result.stdout.splitlines()


def save(tmp_path: Path, name: str, body: bytes) -> Path:
    assert body.startswith(b"%PDF-"), body[:200]
    path = tmp_path / name
    path.write_bytes(body)
    return path


def supporter_of(db_session: Any, registration: Registration) -> Any:
    user = factories.supporter(db_session, program_code=registration.program.code)
    user.person_id = registration.person_id
    db_session.flush()
    return user


def register(db_session: Any, **kwargs: Any) -> Registration:
    kwargs.setdefault("on", RECENT)
    return factories.registration(db_session, **kwargs)


def flashed(client: Any, response: Any) -> str:
    """The page a redirect leads to (where the flash message is shown)."""
    assert response.status_code == 302, response.status_code
    return str(client.get(response.headers["Location"]).get_data(as_text=True))


# --- the supporter's own card -----------------------------------------------------------


def test_supporter_downloads_their_card_and_its_qr_code_checks_it(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    registration = register(db_session, name="栃木 花子", reading="トチギ ハナコ")
    login_as(supporter_of(db_session, registration))
    page = client.get("/me").get_data(as_text=True)
    assert f"/me/card/{registration.id}.pdf" in page

    response = client.get(f"/me/card/{registration.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = save(tmp_path, "card.pdf", response.data)
    text = pdf_text(path)
    assert "栃木 花子" in text and "トチギ ハナコ" in text
    assert f"{registration.number}-1" in text
    assert "栃木県 サポーター" in text  # the program's public name
    check_pdf(path)

    card = db_session.scalar(select(CardIssue))
    assert card.version == 1 and card.number == f"{registration.number}-1"
    assert card.issued_at is not None and card.revoked_at is None
    assert decode_qr(path) == [f"http://localhost/verify/{card.code}"]
    check = client.get(f"/verify/{card.code}")
    assert check.status_code == 200
    assert 'data-status="valid"' in check.get_data(as_text=True)

    # downloading again gives the same card, not a new version
    again = client.get(f"/me/card/{registration.id}.pdf")
    assert again.status_code == 200
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 1
    downloads = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.download")
    ).all()
    assert len(downloads) == 2 and downloads[0].target_id == card.id
    assert downloads[0].detail["kind"] == "card"


def test_supporter_cannot_download_another_supporters_card(
    client: Any, db_session: Any, login_as: Any
) -> None:
    mine = register(db_session)
    other = register(db_session, name="他 人", reading="タ ニン")
    login_as(supporter_of(db_session, mine))
    assert client.get(f"/me/card/{other.id}.pdf").status_code == 403
    assert client.get(f"/register/{mine.id}/card.pdf").status_code == 403
    assert client.get(f"/register/{mine.id}/cards").status_code == 403
    assert client.get("/certificates/sheet").status_code == 403
    assert client.get("/me/card/999999.pdf").status_code == 404
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 0


def test_coordinators_print_cards_of_their_program_only(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = register(db_session)
    login_as(factories.coordinator(db_session, program_code="chiba"))
    for url in (
        f"/register/{registration.id}/card.pdf",
        f"/me/card/{registration.id}.pdf",
        f"/register/{registration.id}/cards",
    ):
        assert client.get(url).status_code == 403, url
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    person_page = client.get(f"/register/{registration.id}").get_data(as_text=True)
    assert f"/register/{registration.id}/cards" in person_page
    assert client.get(f"/register/{registration.id}/cards").status_code == 200
    response = client.get(f"/register/{registration.id}/card.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert 'href="/certificates/sheet"' in client.get("/register/").get_data(as_text=True)


# --- reissue, revocation, lapse, suspension, withdrawal ---------------------------------


def test_reissue_makes_a_new_version_and_revokes_the_old_card(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = register(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    cards_url = f"/register/{registration.id}/cards"
    assert client.get(f"/register/{registration.id}/card.pdf").status_code == 200
    first = db_session.scalar(select(CardIssue))

    no_reason = post_form(
        client, f"{cards_url}/reissue", {"reissue-reason": " "}, form_url=cards_url
    )
    assert no_reason.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 1
    no_csrf = client.post(f"{cards_url}/reissue", data={"reissue-reason": "紛失"})
    assert no_csrf.status_code == 400

    response = post_form(
        client, f"{cards_url}/reissue", {"reissue-reason": "紛失"}, form_url=cards_url
    )
    assert response.status_code == 302
    db_session.expire_all()
    first, second = db_session.scalars(select(CardIssue).order_by(CardIssue.version)).all()
    assert second.version == 2 and second.number == f"{registration.number}-2"
    assert second.code != first.code
    assert first.revoked_at is not None and first.revocation_reason == "紛失"
    assert first.superseded_by_id == second.id and second.revoked_at is None
    page = client.get(cards_url).get_data(as_text=True)
    assert 'data-revoked="yes"' in page and 'data-revoked="no"' in page

    assert 'data-status="revoked"' in client.get(f"/verify/{first.code}").get_data(as_text=True)
    assert 'data-status="valid"' in client.get(f"/verify/{second.code}").get_data(as_text=True)

    # revoking the current card: nobody can print it again until a reissue
    response = post_form(
        client,
        f"{cards_url}/{second.id}/revoke",
        {"revoke-reason": "不正使用の疑い"},
        form_url=cards_url,
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(CardIssue, second.id).revoked_at is not None
    refused = client.get(f"/register/{registration.id}/card.pdf")
    assert refused.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 2
    assert 'data-status="revoked"' in client.get(f"/verify/{second.code}").get_data(as_text=True)
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {"certificate.card_issue", "certificate.card_reissue", "certificate.card_revoke"} <= (
        actions
    )


def test_a_lapsed_card_is_marked_and_a_suspended_one_too(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    lapsed = register(db_session, on=date(2020, 7, 20))  # Tochigi: valid until 2023-07-20
    suspended = register(db_session, name="停止 者", reading="テイシ シャ")
    registry.suspend(
        db_session,
        actor=factories.admin_user(db_session),
        registration=suspended,
        on=date.today(),
        reason="確認中",
    )
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    body = client.get(f"/register/{lapsed.id}/card.pdf").data
    text = pdf_text(save(tmp_path, "lapsed.pdf", body))
    assert "失効" in text and "令和5年7月20日" in text
    body = client.get(f"/register/{suspended.id}/card.pdf").data
    assert "停止中" in pdf_text(save(tmp_path, "suspended.pdf", body))
    codes = {c.registration_id: c.code for c in db_session.scalars(select(CardIssue))}
    lapsed_page = client.get(f"/verify/{codes[lapsed.id]}").get_data(as_text=True)
    assert 'data-status="expired"' in lapsed_page
    suspended_page = client.get(f"/verify/{codes[suspended.id]}").get_data(as_text=True)
    assert 'data-status="suspended"' in suspended_page


def test_a_withdrawn_supporters_card_is_refused(
    client: Any, db_session: Any, login_as: Any
) -> None:
    registration = register(db_session)
    user = supporter_of(db_session, registration)
    card = services.issue_card(db_session, actor=None, registration=registration, now=now_utc())
    registry.withdraw(db_session, actor=None, registration=registration, on=date.today())
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get(f"/register/{registration.id}/card.pdf").status_code == 302
    login_as(user)
    assert client.get(f"/me/card/{registration.id}.pdf").status_code in (302, 403)
    with pytest.raises(ServiceError, match="取り消されているため、サポーター証は印刷できません"):
        services.issue_card(db_session, actor=None, registration=registration, now=now_utc())
    page = client.get(f"/verify/{card.code}").get_data(as_text=True)
    assert 'data-status="revoked"' in page


def test_an_unprintable_name_asks_for_the_print_name(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    registration = register(db_session, name="𠮷田 太郎", reading="ヨシダ タロウ")
    login_as(supporter_of(db_session, registration))
    response = client.get(f"/me/card/{registration.id}.pdf")
    assert "印字用氏名" in flashed(client, response)
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 0
    registration.person.print_name = "吉田 太郎"
    db_session.commit()
    response = client.get(f"/me/card/{registration.id}.pdf")
    assert response.status_code == 200
    assert "吉田 太郎" in pdf_text(save(tmp_path, "card.pdf", response.data))


# --- completion certificates ------------------------------------------------------------


def test_completion_certificate_for_coordinators_of_the_program(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    enrolment = factories.completed_enrolment(
        db_session, on=date(2024, 7, 20), name="修了 花子", reading="シュウリョウ ハナコ"
    )
    url = f"/enrolments/{enrolment.id}/certificate.pdf"
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    assert client.get(url).status_code == 403
    login_as(supporter_of(db_session, factories.registration(db_session, on=RECENT)))
    assert client.get(url).status_code == 403
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get(f"/courses/{enrolment.course_id}/enrolments/{enrolment.id}").get_data(
        as_text=True
    )
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    path = save(tmp_path, "certificate.pdf", response.data)
    text = pdf_text(path)
    assert "修了 花子" in text and enrolment.completion_number in text
    check_pdf(path)
    certificate = db_session.scalar(select(CertificateIssue))
    assert certificate.number == enrolment.completion_number and certificate.version == 1
    assert 'data-status="valid"' in client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    client.get(url)
    assert db_session.scalar(select(func.count()).select_from(CertificateIssue)) == 1

    reissued = services.reissue_certificate(
        db_session, actor=None, enrolment=enrolment, now=now_utc(), reason="汚損"
    )
    assert reissued.version == 2 and certificate.revoked_at is not None
    assert certificate.superseded_by_id == reissued.id


def test_no_certificate_for_an_enrolment_not_completed(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from supporters.training.services.enrolments import enrol_person

    course = factories.course(db_session, program_code="tochigi")
    person = factories.person(db_session, residence="佐野市", prefecture="栃木県")
    enrolment = enrol_person(db_session, actor=None, course=course, person=person, now=now_utc())
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get(f"/enrolments/{enrolment.id}/certificate.pdf").status_code == 302
    assert db_session.scalar(select(func.count()).select_from(CertificateIssue)) == 0


# --- card sheets ------------------------------------------------------------------------


def test_card_sheet_for_the_active_supporters_and_the_calibration_page(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    for index in range(11):
        register(db_session, name=f"名簿 {KANA[index]}", reading=f"メイボ {KANA[index]}")
    lapsed = register(db_session, name="失効 者", reading="シッコウ シャ", on=date(2020, 7, 20))
    withdrawn = register(db_session, name="退会 者", reading="タイカイ シャ")
    registry.withdraw(db_session, actor=None, registration=withdrawn, on=date.today())
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get("/certificates/sheet").status_code == 200
    response = post_form(
        client,
        "/certificates/sheet",
        {"program": "tochigi", "status": "active", "gap_mm": "0", "cut_marks": "y", "build": "1"},
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = save(tmp_path, "sheet.pdf", response.data)
    assert page_count(path) == 2
    text = pdf_text(path)
    assert "名簿 ア" in text and "名簿 サ" in text
    assert "失効 者" not in text and "退会 者" not in text
    check_pdf(path)
    assert len(decode_qr(path, 300)) == 10
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 11
    # printing the sheet again reuses the same cards
    post_form(
        client, "/certificates/sheet", {"program": "tochigi", "status": "active", "build": "1"}
    )
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 11
    event = db_session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "certificate.download")
        .order_by(AuditEvent.id)
        .limit(1)
    )
    assert event.detail["kind"] == "sheet" and event.detail["cards"] == 11

    only_lapsed = post_form(
        client, "/certificates/sheet", {"program": "tochigi", "status": "lapsed", "build": "1"}
    )
    lapsed_text = pdf_text(save(tmp_path, "lapsed.pdf", only_lapsed.data))
    assert "失効 者" in lapsed_text and "失効" in lapsed_text
    assert lapsed.id in {c.registration_id for c in db_session.scalars(select(CardIssue))}

    period = post_form(
        client,
        "/certificates/sheet",
        {
            "program": "tochigi",
            "status": "all",
            "registered_from": "2020-07-01",
            "registered_to": "2020-07-31",
            "build": "1",
        },
    )
    assert page_count(save(tmp_path, "period.pdf", period.data)) == 1

    calibration = post_form(
        client,
        "/certificates/sheet",
        {"program": "tochigi", "margin_top_mm": "12", "margin_left_mm": "15", "calibration": "1"},
    )
    assert calibration.status_code == 200
    assert "印刷位置の確認" in pdf_text(save(tmp_path, "calibration.pdf", calibration.data))


def test_card_sheet_refuses_an_empty_selection_and_bad_margins(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="chiba"))
    empty = post_form(
        client, "/certificates/sheet", {"program": "chiba", "status": "active", "build": "1"}
    )
    assert empty.status_code == 200 and empty.mimetype == "text/html"
    assert 'class="flash flash--error"' in empty.get_data(as_text=True)
    other = post_form(
        client, "/certificates/sheet", {"program": "tochigi", "status": "active", "build": "1"}
    )
    assert other.status_code == 200 and other.mimetype == "text/html"  # not a choice
    register(db_session, program_code="chiba")
    db_session.commit()
    margins = post_form(
        client,
        "/certificates/sheet",
        {"program": "chiba", "margin_left_mm": "29", "gap_mm": "9", "build": "1"},
    )
    assert margins.mimetype == "text/html"
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 0


def test_issue_sheet_names_the_registration_with_an_unprintable_name(db_session: Any) -> None:
    register(db_session, name="普通 名", reading="フツウ メイ")
    bad = register(db_session, name="𠮷川 次郎", reading="ヨシカワ ジロウ")
    selection = services.SheetSelection(program=bad.program, day=date.today())
    registrations = services.select_for_sheet(db_session, selection)
    with pytest.raises(
        ServiceError, match=f"^{re.escape(bad.number)}: 氏名の「𠮷」は印刷できません"
    ) as error:
        services.issue_sheet(
            db_session,
            actor=None,
            registrations=registrations,
            now=now_utc(),
            base_url="http://localhost",
        )
    assert "印字用氏名" in error.value.message
    assert db_session.scalar(select(func.count()).select_from(CardIssue)) == 0


# --- commands ---------------------------------------------------------------------------


def _invoke(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["certificates", *args])


def _left_over(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_card_command_writes_a_card_and_refuses_bad_input(
    app: Any, db_session: Any, tmp_path: Path
) -> None:
    registration = register(db_session, name="コマンド 花子", reading="コマンド ハナコ")
    db_session.commit()
    target = tmp_path / "out" / "card.pdf"
    target.parent.mkdir()
    result = _invoke(app, "card", registration.number, "-o", str(target))
    assert result.exit_code == 0, result.output
    text = pdf_text(target)
    assert "コマンド 花子" in text and registration.number in text
    check_pdf(target)

    missing = tmp_path / "out" / "missing.pdf"
    result = _invoke(app, "card", "TCG-1999-9999", "-o", str(missing))
    assert result.exit_code == 1 and "TCG-1999-9999" in result.output
    assert not missing.exists()

    withdrawn = register(db_session, name="退会 者", reading="タイカイ シャ")
    registry.withdraw(db_session, actor=None, registration=withdrawn, on=date.today())
    db_session.commit()
    result = _invoke(app, "card", withdrawn.number, "-o", str(tmp_path / "out" / "w.pdf"))
    assert result.exit_code == 1 and withdrawn.number in result.output

    unprintable = register(db_session, name="𠮷野 三郎", reading="ヨシノ サブロウ")
    db_session.commit()
    target_bad = tmp_path / "out" / "yoshino.pdf"
    result = _invoke(app, "card", unprintable.number, "-o", str(target_bad))
    assert result.exit_code == 1 and "印字用氏名" in result.output
    assert _left_over(tmp_path / "out") == ["card.pdf"]  # nothing half-written, no temp file
    unprintable.person.print_name = "吉野 三郎"
    db_session.commit()
    result = _invoke(app, "card", unprintable.number, "-o", str(target_bad))
    assert result.exit_code == 0, result.output
    assert "吉野 三郎" in pdf_text(target_bad)

    result = _invoke(app, "card", registration.number, "-o", str(tmp_path / "nowhere" / "x.pdf"))
    assert result.exit_code == 1


def test_sheet_and_completion_commands(app: Any, db_session: Any, tmp_path: Path) -> None:
    for index in range(3):
        register(db_session, name=f"一覧 {KANA[index]}", reading=f"イチラン {KANA[index]}")
    enrolment = factories.completed_enrolment(
        db_session,
        program_code="kagawa",
        on=date(2023, 9, 9),
        name="香川 次郎",
        reading="カガワ ジロウ",
    )
    db_session.commit()

    sheet = tmp_path / "sheet.pdf"
    result = _invoke(app, "sheet", "--program", "tochigi", "-o", str(sheet), "--cut-marks")
    assert result.exit_code == 0, result.output
    assert "3 cards" in result.output
    assert page_count(sheet) == 1 and "一覧 ウ" in pdf_text(sheet)

    empty = tmp_path / "empty.pdf"
    result = _invoke(app, "sheet", "--program", "chiba", "-o", str(empty))
    assert result.exit_code == 1 and not empty.exists()
    result = _invoke(app, "sheet", "--program", "nowhere", "-o", str(empty))
    assert result.exit_code == 1 and not empty.exists()
    result = _invoke(
        app,
        "sheet",
        "--program",
        "tochigi",
        "-o",
        str(empty),
        "--registered-from",
        "2001-01-01",
        "--registered-to",
        "2001-12-31",
    )
    assert result.exit_code == 1 and not empty.exists()
    result = _invoke(app, "sheet", "--program", "tochigi", "-o", str(empty), "--margin-left", "40")
    assert result.exit_code == 1 and not empty.exists()

    certificate = tmp_path / "certificate.pdf"
    result = _invoke(app, "completion", str(enrolment.id), "-o", str(certificate))
    assert result.exit_code == 0, result.output
    text = pdf_text(certificate)
    assert "香川 次郎" in text and enrolment.completion_number in text
    missing = tmp_path / "missing.pdf"
    result = _invoke(app, "completion", "999999", "-o", str(missing))
    assert result.exit_code == 1 and not missing.exists()

    calibration = tmp_path / "calibration.pdf"
    result = _invoke(app, "calibration", "-o", str(calibration), "--margin-top", "12")
    assert result.exit_code == 0 and page_count(calibration) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
