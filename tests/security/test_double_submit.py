"""Issue 12, item 6: every state-changing form is safe to submit twice, also at the same
moment. Six threads post the same rendered form (or fetch the same first download) at the
same moment to a real threaded server, on SQLite (a file) and on PostgreSQL: the change is
made once, nobody gets a 500, and the others get the normal "already done" answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from supporters.certificates.models import CardIssue, CertificateIssue
from supporters.db import now_utc
from supporters.extensions import db
from supporters.people.models import Person
from supporters.registry.models import ActivityReport, Registration
from supporters.training.models import Enrolment
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app
from tests.security.live import Answer, Browser, live_server, post_forms, session_cookie
from tests.security.world import World, build_world

SUBMITS = 6


@dataclass
class Live:
    app: Flask
    address: str
    world: World
    ids: dict[str, int]

    def browser(self, role: str) -> Browser:
        browser = Browser(self.address)
        browser.set_cookie(session_cookie(self.app, self.world.tokens[role]))
        return browser

    def count(self, model: Any, *where: Any) -> int:
        with self.app.app_context():
            try:
                return int(db.session.scalar(select(func.count()).select_from(model).where(*where)))
            finally:
                db.session.remove()


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Live]:
    app = build_migrated_app(schema_factory.url(request.param, "twice"))
    with app.app_context():
        session = db.session
        world = build_world(session)
        course = factories.course(
            session, program_code="tochigi", on=now_utc().date() + timedelta(days=30)
        )
        completed = [factories.completed_enrolment(session, name=f"二重 {n}") for n in range(4)]
        together = factories.course(session, program_code="tochigi", topics=("基礎",))
        from supporters.training.services.completion import complete_by_hand
        from supporters.training.services.enrolments import enrol_person

        for n in range(3):
            person = factories.person(session, name=f"一括 {n}", reading=f"イッカツ {'アイウ'[n]}")
            enrolment = enrol_person(
                session, actor=None, course=together, person=person, now=now_utc()
            )
            complete_by_hand(
                session,
                actor=factories.admin_user(session),
                enrolment=enrolment,
                reason="テスト",
                on=together.sessions[0].date,
            )
        no_card = factories.registration(session, name="札無 太郎", reading="フダナシ タロウ")
        session.commit()
        ids = {
            "course": course.id,
            "register": completed[0].id,
            "certificate": completed[1].id,
            "register_tabs": completed[2].id,
            "together": together.id,
            "no_card": no_card.id,
        }
        session.remove()
    with live_server(app) as address:
        yield Live(app, address, world, ids)
    with app.app_context():
        db.engine.dispose()


def at_once(send: Callable[[threading.Barrier], Answer], n: int = SUBMITS) -> list[Answer]:
    barrier = threading.Barrier(n)
    answers: list[Answer] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            answers.append(send(barrier))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == [], errors[:2]
    assert len(answers) == n
    return answers


def submit_together(browser: Browser, page: str, action: str, **values: Any) -> list[Answer]:
    """Load the page once, then post its form SUBMITS times at the same moment."""
    shown = browser.get(page)
    assert shown.status == 200, (page, shown.status)
    forms = [f for f in post_forms(shown.text, page) if f.action == action]
    assert forms, f"no form posting to {action} on {page}"
    fields = forms[0].filled(**values)
    return at_once(lambda ready: browser.post(action, fields, referrer=page, ready=ready))


def assert_once(answers: list[Answer]) -> None:
    statuses = sorted(a.status for a in answers)
    assert 500 not in statuses, [a.text[:300] for a in answers if a.status == 500][:1]
    assert all(s in (302, 303) for s in statuses), statuses


def test_enrol_creates_one_person_and_one_enrolment(live: Live) -> None:
    course_id = live.ids["course"]
    answers = submit_together(
        live.browser("coord"),
        f"/courses/{course_id}/enrol",
        f"/courses/{course_id}/enrol",
        name="同時 申込",
        name_reading="ドウジ モウシコミ",
        email="twice@example.jp",
        residence="佐野市",
    )
    assert_once(answers)
    assert live.count(Person, Person.name == "同時 申込") == 1
    assert live.count(Enrolment, Enrolment.course_id == course_id) == 1


def test_register_makes_one_registration(live: Live) -> None:
    enrolment_id = live.ids["register"]
    page = f"/register/new/{enrolment_id}"
    answers = submit_together(live.browser("coord"), page, page)
    assert_once(answers)
    assert live.count(Registration, Registration.enrolment_id == enrolment_id) == 1


def test_register_completed_registers_each_completer_once(live: Live) -> None:
    course_id = live.ids["together"]
    answers = submit_together(
        live.browser("coord"),
        f"/courses/{course_id}",
        f"/courses/{course_id}/register-completed",
    )
    assert_once(answers)
    registered = live.count(
        Registration,
        Registration.enrolment_id.in_(select(Enrolment.id).where(Enrolment.course_id == course_id)),
    )
    assert registered == 3


def test_activity_report_is_filed_once(live: Live) -> None:
    registration_id = live.world.params["own"]["registration_id"]
    before = live.count(ActivityReport, ActivityReport.registration_id == registration_id)
    page = f"/register/{registration_id}/reports/new"
    answers = submit_together(
        live.browser("sup"), page, page, hours="1.5", kind="phone", topics=["going_out"]
    )
    assert_once(answers)
    after = live.count(ActivityReport, ActivityReport.registration_id == registration_id)
    assert after == before + 1


def test_card_reissue_makes_one_new_version(live: Live) -> None:
    registration_id = live.world.params["own"]["registration_id"]
    before = live.count(CardIssue, CardIssue.registration_id == registration_id)
    page = f"/register/{registration_id}/cards"
    answers = submit_together(
        live.browser("coord"),
        page,
        f"/register/{registration_id}/cards/reissue",
        **{"reissue-reason": "紛失"},
    )
    assert_once(answers)
    assert live.count(CardIssue, CardIssue.registration_id == registration_id) == before + 1


def _download_together(live: Live, role: str, path: str) -> list[Answer]:
    browser = live.browser(role)
    answers = at_once(lambda ready: browser.request("GET", path, ready=ready, keep_cookies=False))
    statuses = [a.status for a in answers]
    assert statuses == [200] * SUBMITS, (statuses, [a.text[:300] for a in answers])
    assert all(a.body.startswith(b"%PDF") for a in answers)
    return answers


def test_first_card_is_issued_once(live: Live) -> None:
    registration_id = live.ids["no_card"]
    _download_together(live, "coord", f"/register/{registration_id}/card.pdf")
    assert live.count(CardIssue, CardIssue.registration_id == registration_id) == 1


def test_first_certificate_is_issued_once(live: Live) -> None:
    enrolment_id = live.ids["certificate"]
    _download_together(live, "coord", f"/enrolments/{enrolment_id}/certificate.pdf")
    assert live.count(CertificateIssue, CertificateIssue.enrolment_id == enrolment_id) == 1


def test_the_same_change_from_separate_pages_is_made_once(live: Live) -> None:
    """Six tabs, each with its own copy of the form (so six different form tokens): the
    unique keys let one through, the others get the normal answer, never a 500."""
    enrolment_id = live.ids["register_tabs"]
    page = f"/register/new/{enrolment_id}"
    browser = live.browser("coord")
    copies = []
    for _ in range(SUBMITS):
        shown = browser.get(page)
        copies.append(next(f for f in post_forms(shown.text, page) if f.action == page).filled())
    assert len({dict(c)["form_once"] for c in copies}) == SUBMITS
    pending = iter(copies)
    lock = threading.Lock()

    def send(ready: threading.Barrier) -> Answer:
        with lock:
            fields = next(pending)
        return browser.post(page, fields, referrer=page, ready=ready)

    answers = at_once(send)
    assert 500 not in [a.status for a in answers], [a.text[:300] for a in answers]
    assert live.count(Registration, Registration.enrolment_id == enrolment_id) == 1


def test_the_same_trainee_from_separate_pages_is_one_person(live: Live) -> None:
    """Six tabs enrol the same person (same name, reading and e-mail) at the same moment:
    one person and one enrolment; the others are shown the existing record."""
    course_id = live.ids["course"]
    page = f"/courses/{course_id}/enrol"
    browser = live.browser("coord")
    values = {
        "name": "別窓 申込",
        "name_reading": "ベツマド モウシコミ",
        "email": "tabs@example.jp",
        "residence": "佐野市",
    }
    copies = []
    for _ in range(SUBMITS):
        shown = browser.get(page)
        form = next(f for f in post_forms(shown.text, page) if f.action == page)
        copies.append(form.filled(**values))
    pending = iter(copies)
    lock = threading.Lock()

    def send(ready: threading.Barrier) -> Answer:
        with lock:
            fields = next(pending)
        return browser.post(page, fields, referrer=page, ready=ready)

    answers = at_once(send)
    assert 500 not in [a.status for a in answers], [a.text[:300] for a in answers]
    assert live.count(Person, Person.email == "tabs@example.jp") == 1
