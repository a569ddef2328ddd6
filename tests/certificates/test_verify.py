"""The public check /verify/<code>: what it says, what it never says, and its limits."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from supporters.audit.models import AuditCounter
from supporters.certificates import services, verification
from supporters.certificates.models import CardIssue
from supporters.core.eras import japanese_era
from supporters.db import now_utc
from supporters.registry import services as registry
from tests import factories
from tests.certificates.test_issue import KANA, register

FORBIDDEN = re.compile(r"ひきこもり|引きこもり|ヒキコモリ|hikikomori", re.IGNORECASE)


def _card(db_session: Any, **kwargs: Any) -> CardIssue:
    registration = register(db_session, **kwargs)
    card = services.issue_card(db_session, actor=None, registration=registration, now=now_utc())
    db_session.commit()
    return card


def _status(page: str) -> str:
    match = re.search(r'data-status="([a-z]+)"', page)
    assert match is not None, page
    return match.group(1)


def test_valid_card_shows_the_program_number_and_validity_and_nothing_more(
    client: Any, db_session: Any
) -> None:
    card = _card(db_session, name="秘密 花子", reading="ヒミツ ハナコ", attribute="当事者")
    registration = card.registration
    for language in ("ja", "en"):
        response = client.get(f"/verify/{card.code}", headers={"Accept-Language": language})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert _status(page) == "valid"
        assert card.number in page
        expected = "栃木県 サポーター" if language == "ja" else "Tochigi Prefecture Supporter"
        assert expected in page
        assert not FORBIDDEN.search(page), FORBIDDEN.search(page)
        for secret in ("秘密", "ヒミツ", "当事者", "lived_experience", "Lived experience"):
            assert secret not in page
        assert "サポーター管理システム" not in page and "Supporter Desk" not in page
        assert "<nav" not in page and "/login" not in page
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "session=ey" not in response.headers.get("Set-Cookie", "")
        assert registration.valid_until is not None
        assert japanese_era(registration.valid_until) in page


def test_the_holder_name_only_where_the_program_shows_it(client: Any, db_session: Any) -> None:
    card = _card(db_session, name="表示 太郎", reading="ヒョウジ タロウ")
    assert "表示 太郎" not in client.get(f"/verify/{card.code}").get_data(as_text=True)
    card.registration.program.show_holder_name_on_verify = True
    db_session.commit()
    page = client.get(f"/verify/{card.code}").get_data(as_text=True)
    assert "表示 太郎" in page and "ヒョウジ" not in page


def test_expired_suspended_and_revoked(client: Any, db_session: Any) -> None:
    lapsed = _card(db_session, on=date(2020, 7, 20))  # valid until 2023-07-20
    assert _status(client.get(f"/verify/{lapsed.code}").get_data(as_text=True)) == "expired"

    suspended = _card(db_session, name="停止 者", reading="テイシ シャ")
    registry.suspend(
        db_session,
        actor=factories.admin_user(db_session),
        registration=suspended.registration,
        on=date.today(),
        reason="確認中",
    )
    db_session.commit()
    assert _status(client.get(f"/verify/{suspended.code}").get_data(as_text=True)) == "suspended"

    old = _card(db_session, name="再発行 者", reading="サイハッコウ シャ")
    new = services.reissue_card(
        db_session, actor=None, registration=old.registration, now=now_utc(), reason="紛失"
    )
    db_session.commit()
    assert _status(client.get(f"/verify/{old.code}").get_data(as_text=True)) == "revoked"
    assert _status(client.get(f"/verify/{new.code}").get_data(as_text=True)) == "valid"


def test_unknown_code_says_only_that_it_could_not_be_confirmed(
    client: Any, db_session: Any
) -> None:
    _card(db_session)
    for code in ("AAAAAAAAAAAAAAAAAAAAAA", "1", "x" * 200):
        response = client.get(f"/verify/{code}")
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert _status(page) == "unknown"
        assert not FORBIDDEN.search(page) and "<nav" not in page
        assert "栃木" not in page


def test_codes_are_random_and_not_sequential(db_session: Any) -> None:
    cards = [
        _card(db_session, name=f"符号 {KANA[i]}", reading=f"フゴウ {KANA[i]}") for i in range(5)
    ]
    codes = [card.code for card in cards]
    assert len(set(codes)) == 5
    assert all(len(code) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", code) for code in codes)
    assert len({code[:4] for code in codes}) > 1


def test_every_check_is_counted_without_the_visitors_address(client: Any, db_session: Any) -> None:
    card = _card(db_session)
    client.get(f"/verify/{card.code}")
    client.get("/verify/not-a-real-code-at-all")
    counters = db_session.scalars(
        select(AuditCounter)
        .where(AuditCounter.action == "certificate.verify")
        .order_by(AuditCounter.id)
    ).all()
    assert [(c.outcome, c.count) for c in counters] == [("valid", 1), ("unknown", 1)]
    assert counters[0].target_type == "card_issue" and counters[0].target_id == card.id
    assert counters[1].target_type == "" and counters[1].target_id == 0
    assert verification.verify_counts(db_session, [card]) == {card.id: 1}


def test_checks_are_rate_limited(client: Any, db_session: Any) -> None:
    card = _card(db_session)
    for _ in range(30):
        assert client.get(f"/verify/{card.code}").status_code == 200
    response = client.get(f"/verify/{card.code}")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert _status(page) == "throttled"
    assert not FORBIDDEN.search(page) and "<nav" not in page


def test_a_logged_in_coordinator_stays_logged_in_after_a_check(
    client: Any, db_session: Any, login_as: Any
) -> None:
    card = _card(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get(f"/verify/{card.code}").status_code == 200
    assert client.get("/register/").status_code == 200
