"""The register's words in mail and forms: a lapse told with the last valid day, no rule
codes in the coordinators' digest, 相談内容 and 電話での支援 on the report form, 登録辞退."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from supporters.mail.models import OutboxMessage
from supporters.registry import jobs as registry_jobs
from tests import factories


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 0, tzinfo=UTC)  # 09:00 in Japan


def _bodies(db_session: Any, recipient: str) -> list[str]:
    return list(
        db_session.scalars(
            select(OutboxMessage.body_text)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id)
        )
    )


def test_lapse_mail_gives_the_last_valid_day_and_the_digest_no_codes(db_session: Any) -> None:
    registration = factories.registration(db_session, on=date(2021, 7, 20))
    assert registration.valid_until == date(2024, 7, 20)  # the last valid day
    user = factories.supporter(db_session, program_code="tochigi", email="lapse@example.jp")
    user.person_id = registration.person_id
    factories.coordinator(db_session, program_code="tochigi", email="digest@example.jp")
    db_session.flush()
    for day in (date(2024, 7, 19), date(2024, 7, 20)):  # before and on: still valid
        registry_jobs.follow_up_due(db_session, _at(day))
        assert not any("有効期限が切れました" in b for b in _bodies(db_session, "lapse@example.jp"))
    registry_jobs.follow_up_due(db_session, _at(date(2024, 7, 21)))  # the day after
    lapse = _bodies(db_session, "lapse@example.jp")[-1]
    # The date as mails write dates (format_date: era, then any weekday or western form).
    day = r"令和6年7月20日(（.）)?( \(2024-07-20\))?"
    assert re.search(day + "で有効期限が切れました", lapse), lapse
    assert "20日に失効" not in lapse
    digests = _bodies(db_session, "digest@example.jp")
    assert digests
    for body in digests:
        assert not re.search(r"\b(window|d7|d30|d90|lapse)\b", body), body
        assert registration.number in body
    assert re.search(day + "で有効期限が切れました（失効）", digests[-1]), digests[-1]
    assert re.search("有効期限は" + day + "です", digests[0]), digests[0]


def test_report_form_and_register_words(client: Any, db_session: Any, login_as: Any) -> None:
    registration = factories.valid_registration(db_session, n=901)
    user = factories.supporter(db_session, program_code="tochigi", email="words@example.jp")
    user.person_id = registration.person_id
    db_session.commit()
    login_as(user)
    form = client.get(f"/register/{registration.id}/reports/new").get_data(as_text=True)
    assert "相談内容" in form and "電話での支援" in form
    assert "内容（テーマ）" not in form and "電話相談" not in form
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    register = client.get("/register/").get_data(as_text=True)
    assert "登録辞退" in register and "登録取消" not in register
