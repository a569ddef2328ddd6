"""Rules in force on a date and renewal as the programs do it (issue 16, items 3-4): a rule
change from a date leaves the status on an earlier day as it was and re-derives, in the same
transaction, the validity of the registrations it affects; each renewal rule walked through
the days before, on and after its boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.audit.models import AuditEvent
from supporters.db import ServiceError
from supporters.programs.models import Program, ProgramRule, rules_on
from supporters.registry import services
from supporters.registry.models import EventKind, Registration, Status
from supporters.registry.rule_changes import change_program_rules
from tests import factories
from tests.registry.test_status_stored import _attend_follow_up

EARLY = date(2000, 1, 1)  # a version from here holds until Tochigi's 2026-11-30 version
REGISTERED = date(2023, 4, 1)  # valid until 2026-04-01; the 180-day window opens 2025-10-03
END = date(2026, 4, 1)
WINDOW_OPENS = date(2025, 10, 3)


def _status(session: Any, registration: Registration, day: date) -> Status | None:
    events = services.events_for(session, registration)
    return services.status_on(registration, registration.program, events, day)


def _with_rule(session: Any, renewal_rule: str) -> Program:
    program = factories.program(session)
    change_program_rules(session, None, program, EARLY, renewal_rule=renewal_rule)
    return program


def _registered(session: Any, on: date = REGISTERED) -> Registration:
    registration = factories.registration(session, on=on)
    assert registration.valid_until == date(on.year + 3, on.month, on.day)
    return registration


def test_tochigi_has_a_version_from_its_start_and_any_in_cycle_from_2026_11_30(
    db_session: Any,
) -> None:
    tochigi = factories.program(db_session)
    assert [(v.effective_from, v.renewal_rule) for v in tochigi.rule_versions] == [
        (date(1900, 1, 1), "window_or_after_lapse"),
        (date(2026, 11, 30), "any_in_cycle"),
    ]
    assert rules_on(tochigi, date(2026, 11, 29)).renewal_rule == "window_or_after_lapse"
    assert rules_on(tochigi, date(2026, 11, 30)).renewal_rule == "any_in_cycle"
    assert tochigi.renewal_rule == "any_in_cycle"  # the column: the rule in force today


def test_any_in_cycle_attended_2024_and_2025_is_still_active_in_2026(db_session: Any) -> None:
    _with_rule(db_session, "any_in_cycle")
    registration = _registered(db_session)
    _attend_follow_up(db_session, registration, date(2024, 6, 1))
    _attend_follow_up(db_session, registration, date(2025, 6, 1))
    assert registration.valid_until == date(2028, 6, 1)  # from the last day attended
    assert _status(db_session, registration, END) == Status.ACTIVE
    assert _status(db_session, registration, date(2026, 4, 2)) == Status.ACTIVE
    assert _status(db_session, registration, date(2027, 12, 3)) == Status.ACTIVE
    assert _status(db_session, registration, date(2027, 12, 4)) == Status.FOLLOW_UP_DUE
    assert _status(db_session, registration, date(2028, 6, 1)) == Status.FOLLOW_UP_DUE
    assert _status(db_session, registration, date(2028, 6, 2)) == Status.LAPSED


def test_window_only_attended_2024_and_2025_lapses_in_2026_and_stays_lapsed(
    db_session: Any,
) -> None:
    _with_rule(db_session, "window_only")
    registration = _registered(db_session)
    _attend_follow_up(db_session, registration, date(2024, 6, 1))
    _attend_follow_up(db_session, registration, date(2025, 6, 1))
    assert registration.valid_until == END  # too early: training only
    assert _status(db_session, registration, date(2025, 10, 2)) == Status.ACTIVE
    assert _status(db_session, registration, WINDOW_OPENS) == Status.FOLLOW_UP_DUE
    assert _status(db_session, registration, END) == Status.FOLLOW_UP_DUE
    assert _status(db_session, registration, date(2026, 4, 2)) == Status.LAPSED
    _attend_follow_up(db_session, registration, date(2026, 5, 1))  # after the lapse
    assert registration.valid_until == END
    assert _status(db_session, registration, date(2026, 5, 1)) == Status.LAPSED
    kinds = [e.kind for e in services.events_for(db_session, registration)]
    assert kinds.count(EventKind.FOLLOW_UP) == 3 and EventKind.RENEWED not in kinds


@pytest.mark.parametrize(
    ("attended", "renewed_until"),
    [(date(2025, 10, 2), None), (WINDOW_OPENS, date(2029, 4, 1)), (END, date(2029, 4, 1))],
)
def test_window_only_renews_from_the_end_inside_the_window(
    db_session: Any, attended: date, renewed_until: date | None
) -> None:
    _with_rule(db_session, "window_only")
    registration = _registered(db_session)
    _attend_follow_up(db_session, registration, attended)
    assert registration.valid_until == (renewed_until or END)


@pytest.mark.parametrize(
    ("rule", "after_lapse"),
    [("window_or_after_lapse", date(2029, 4, 2)), ("window_only", END)],
)
def test_renewal_after_a_lapse_counts_from_the_day_attended(
    db_session: Any, rule: str, after_lapse: date
) -> None:
    _with_rule(db_session, rule)
    registration = _registered(db_session)
    _attend_follow_up(db_session, registration, date(2026, 4, 2))  # the day after the end
    assert registration.valid_until == after_lapse


def test_a_rule_change_from_a_date_leaves_earlier_days_as_they_were(db_session: Any) -> None:
    program = _with_rule(db_session, "window_or_after_lapse")
    registration = _registered(db_session)
    _attend_follow_up(db_session, registration, date(2025, 6, 1))  # too early: training only
    days = [date(2024, 1, 1), date(2025, 5, 31), date(2025, 9, 1), WINDOW_OPENS, END]
    before = {day: _status(db_session, registration, day) for day in days}
    assert _status(db_session, registration, date(2026, 4, 2)) == Status.LAPSED

    # From the day after the attendance: nothing it derived changes.
    assert (
        change_program_rules(
            db_session, None, program, date(2025, 6, 2), renewal_rule="any_in_cycle"
        )
        == 0
    )
    assert registration.valid_until == END

    # From the day attended: that attendance renews from its date; earlier days unchanged.
    count = change_program_rules(
        db_session, None, program, date(2025, 6, 1), renewal_rule="any_in_cycle"
    )
    assert count == 1
    assert registration.valid_until == date(2028, 6, 1)
    assert _status(db_session, registration, date(2025, 5, 31)) == before[date(2025, 5, 31)]
    assert _status(db_session, registration, date(2024, 1, 1)) == before[date(2024, 1, 1)]
    assert _status(db_session, registration, date(2026, 4, 2)) == Status.ACTIVE
    assert registration.status == Status.ACTIVE  # stored, as of today

    # A wider window from 2026-01-01 does not reach back to 2025-09-01.
    change_program_rules(db_session, None, program, date(2026, 1, 1), follow_up_window_days=365)
    assert _status(db_session, registration, date(2025, 9, 1)) == before[date(2025, 9, 1)]
    assert _status(db_session, registration, date(2025, 9, 1)) == Status.ACTIVE


def test_past_figures_do_not_move_when_this_years_rule_changes(db_session: Any) -> None:
    program = factories.program(db_session)
    for on in (date(2020, 4, 1), date(2020, 11, 30), date(2021, 6, 1), date(2023, 11, 1)):
        _registered(db_session, on)
    past = date(2023, 11, 30)
    before = services.status_counts(db_session, program, past)
    assert before["lapsed"] == 1 and before["follow_up_due"] == 1 and before["active"] == 2
    change_program_rules(
        db_session,
        None,
        program,
        date(2026, 4, 1),
        follow_up_interval_months=24,
        follow_up_window_days=365,
        renewal_rule="window_only",
    )
    assert services.status_counts(db_session, program, past) == before


@pytest.mark.parametrize(
    ("registered", "valid_until"),
    [
        (date(2026, 3, 31), date(2029, 3, 31)),  # the day before: the old interval
        (date(2026, 4, 1), date(2028, 4, 1)),  # on the day: the new one
        (date(2026, 4, 2), date(2028, 4, 2)),
    ],
)
def test_an_interval_change_re_derives_validity_in_the_same_transaction(
    db_session: Any, registered: date, valid_until: date
) -> None:
    program = factories.program(db_session)
    registration = _registered(db_session, registered)
    old_end = registration.valid_until
    audits = db_session.scalar(select(func.count()).select_from(AuditEvent))
    savepoint = db_session.begin_nested()
    change_program_rules(db_session, None, program, date(2026, 4, 1), follow_up_interval_months=24)
    assert registration.valid_until == valid_until
    assert registration.initial_valid_until == valid_until
    assert registration.follow_up_due == services.window_opens(
        program, valid_until, date(2026, 11, 30)
    )
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "program.rules")).one()
    assert audit.detail["before"]["follow_up_interval_months"] == 36
    assert audit.detail["after"]["follow_up_interval_months"] == 24
    assert audit.detail["effective_from"] == "2026-04-01"
    # The same change again changes nothing.
    assert (
        change_program_rules(
            db_session, None, program, date(2026, 4, 1), follow_up_interval_months=24
        )
        == 0
    )
    savepoint.rollback()  # it lands or fails with the transaction
    db_session.expire_all()
    assert registration.valid_until == old_end
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audits
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(ProgramRule)
            .where(ProgramRule.program_id == program.id)
        )
        == 2
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"follow_up_interval_months": 0}, "interval_not_positive"),
        ({"follow_up_window_days": -1}, "window_negative"),
        ({"renewal_rule": "never"}, "unknown_renewal_rule"),
        ({"colour": "red"}, "unknown_rule_field"),
    ],
)
def test_a_bad_rule_is_refused_with_a_japanese_message(
    app: Any, db_session: Any, fields: dict[str, Any], code: str
) -> None:
    with (
        app.test_request_context(headers={"Accept-Language": "ja"}),
        pytest.raises(ServiceError) as refused,
    ):
        change_program_rules(db_session, None, factories.program(db_session), EARLY, **fields)
    assert refused.value.code == code
    assert any(
        "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in refused.value.message
    )
