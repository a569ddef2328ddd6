"""Issue 16 items 2 and 8: the attributes page. The admin adds an attribute in the program's
own words, changes one (chosen by `?code=`) or retires it; the form builds the same spec as
the program file and goes through the same validation, audit and all-or-nothing apply.
The program's coordinator sees the page without the form; a change is 403. The enrol form
and the import offer the current words; past figures keep the group given then."""

from __future__ import annotations

import re
import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from supporters.administration.services import apply_program_spec
from supporters.administration.spec import parse_program_file
from supporters.audit.models import AuditEvent
from supporters.extensions import db
from supporters.programs.models import ProgramAttribute
from supporters.training.importer import import_trainees
from supporters.training.models import Enrolment
from tests import factories
from tests.conftest import BACKENDS, build_migrated_app, post_form
from tests.training.test_program_attributes import (
    NOW,
    _attributes,
    _csv,
    _kagawa_course_attended,
)

PAGE = "/programs/kagawa/attributes"
PEER = {
    "code": "peer_staff",
    "label_ja": "ピアスタッフ",
    "label_en": "Peer staff",
    "reporting_group": "lived_experience",
    "order": "",
}


def _rows(session: Any, code: str = "kagawa") -> list[ProgramAttribute]:
    session.expire_all()
    return list(
        session.scalars(
            select(ProgramAttribute)
            .where(ProgramAttribute.program_id == factories.program(session, code=code).id)
            .order_by(ProgramAttribute.sort_order)
        )
    )


def _attribute(session: Any, code: str) -> ProgramAttribute | None:
    return next((a for a in _rows(session) if a.code == code), None)


def _audited(session: Any) -> list[dict[str, Any]]:
    return [
        e.detail
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "program.change").order_by(AuditEvent.id)
        )
    ]


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field__error" id="{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no error on {field}"
    return match.group(1)


def test_the_admin_adds_an_attribute_typed_with_full_width_and_spaces(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    before = len(_rows(db_session))
    response = post_form(
        client,
        PAGE,
        {
            "code": " ＰＥＥＲ_staff ",
            "label_ja": "　ﾋﾟｱ　　スタッフ ",
            "label_en": "  Peer   staff ",
            "reporting_group": "lived_experience",
            "order": "２",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    rows = _rows(db_session)
    assert len(rows) == before + 1
    added = rows[1]  # position 2
    assert (added.code, added.label_ja, added.label_en, added.reporting_group, added.active) == (
        "peer_staff",
        "ピア スタッフ",
        "Peer staff",
        "lived_experience",
        True,
    )
    changes = {d["key"]: (d["before"], d["after"]) for d in _audited(db_session)}
    assert changes["attributes[peer_staff].label_ja"] == (None, "ピア スタッフ")
    assert changes["attributes[peer_staff].reporting_group"] == (None, "lived_experience")
    page = client.get(PAGE).get_data(as_text=True)
    assert "ピア スタッフ" in page and "?code=peer_staff" in page


def test_the_same_add_sent_again_changes_nothing(
    client: Any, db_session: Any, login_as: Any
) -> None:
    """The same form twice (one token): "already sent"; a fresh copy of the same add: the
    attribute is there as it says, so nothing changes; nothing is written twice."""
    login_as(factories.admin(db_session))
    page = client.get(PAGE).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    once = re.search(r'name="form_once" value="([^"]+)"', page)
    assert csrf and once
    data = {**PEER, "csrf_token": csrf.group(1), "form_once": once.group(1)}
    first = client.post(PAGE, data=data)
    assert first.status_code == 302
    audited = len(_audited(db_session))
    second = client.post(PAGE, data=data)
    assert second.status_code == 303
    again = post_form(client, PAGE, PEER)  # a new copy of the form
    assert again.status_code == 302
    assert "変更はありません" in client.get(PAGE).get_data(as_text=True)
    assert len(_audited(db_session)) == audited
    assert [a.code for a in _rows(db_session)].count("peer_staff") == 1


def test_the_admin_changes_and_retires_one_chosen_by_code(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    shown = client.get(f"{PAGE}?code=municipal_consultant").get_data(as_text=True)
    assert 'value="行政の相談担当者"' in shown and "readonly" in shown
    response = post_form(
        client,
        f"{PAGE}?code=municipal_consultant",
        {
            "code": "someone_else",  # ignored: the code cannot change
            "label_ja": "市町村の相談担当者",
            "label_en": "Municipal consultation staff",
            "reporting_group": "municipal_staff",
            "order": "",
        },
    )
    assert response.status_code == 302
    changed = _attribute(db_session, "municipal_consultant")
    assert changed is not None and _attribute(db_session, "someone_else") is None
    assert (changed.label_ja, changed.reporting_group, changed.sort_order) == (
        "市町村の相談担当者",
        "municipal_staff",
        3,  # where it was
    )
    changes = {d["key"]: (d["before"], d["after"]) for d in _audited(db_session)}
    assert changes["attributes[municipal_consultant].reporting_group"] == (
        "welfare_professional",
        "municipal_staff",
    )
    retired = post_form(
        client,
        f"{PAGE}?code=municipal_consultant",
        {
            "label_ja": "市町村の相談担当者",
            "label_en": "Municipal consultation staff",
            "reporting_group": "municipal_staff",
            "retired": "y",
        },
    )
    assert retired.status_code == 302
    row = _attribute(db_session, "municipal_consultant")
    assert row is not None and row.active is False  # retired, not removed
    assert "使用終了" in client.get(PAGE).get_data(as_text=True)
    # the program file says so, and gives the same program back
    text = client.get("/programs/kagawa/program.toml").get_data(as_text=True)
    assert '[attributes.municipal_consultant]\nlabel_ja = "市町村の相談担当者"' in text
    assert 'reporting_group = "municipal_staff"\nactive = false' in text
    spec = parse_program_file(text)
    assert not apply_program_spec(db_session, spec, actor=None, dry_run=True)
    assert post_form(client, f"{PAGE}?code=nothing_here", PEER).status_code == 404


@pytest.mark.usefixtures("japanese")
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"label_ja": "　"}, "label_ja", "入力してください"),
        ({"label_ja": "ひきこもり当事者の家族 "}, "label_ja", "取り込みで区別できません"),
        ({"label_en": "FAMILY  member"}, "label_en", "取り込みで区別できません"),
        ({"code": "family"}, "code", "すでに使われています"),
        ({"code": "ピア"}, "code", "英小文字"),
        ({"reporting_group": "citizen"}, "reporting_group", ""),
        ({"label_ja": "あ" * 31}, "label_ja", "30文字以内"),
        ({"label_en": "a" * 61}, "label_en", "60文字以内"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_written(
    client: Any,
    db_session: Any,
    login_as: Any,
    change: dict[str, str],
    field: str,
    message: str,
) -> None:
    login_as(factories.admin(db_session))
    before = [(a.code, a.label_ja, a.reporting_group) for a in _rows(db_session)]
    audited = len(_audited(db_session))
    response = post_form(client, PAGE, {**PEER, **change})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in _field_error(page, field)
    assert [(a.code, a.label_ja, a.reporting_group) for a in _rows(db_session)] == before
    assert len(_audited(db_session)) == audited


def test_a_retired_attributes_own_label_may_be_used_again(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    retire = {
        "label_ja": "その他",
        "label_en": "Other",
        "reporting_group": "other",
        "retired": "y",
    }
    assert post_form(client, f"{PAGE}?code=other", retire).status_code == 302
    again = {**PEER, "code": "other_kind", "label_ja": "その他", "reporting_group": "other"}
    assert post_form(client, PAGE, {**again, "label_en": "Other kind"}).status_code == 302


def test_the_coordinator_sees_the_page_without_the_form(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "行政の相談担当者" in text and 'name="label_ja"' not in text
    assert "?code=" not in text
    assert post_form(client, PAGE, PEER, form_url="/programs/kagawa/edit").status_code == 403
    assert _attribute(db_session, "peer_staff") is None


def test_the_enrol_form_and_the_import_offer_the_current_words(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    course = factories.course(db_session, program_code="kagawa", topics=("基礎",))
    db_session.commit()
    assert post_form(client, PAGE, PEER).status_code == 302
    retire = {
        "label_ja": "ひきこもり当事者の家族",
        "label_en": "Family member",
        "reporting_group": "family",
        "retired": "y",
    }
    assert post_form(client, f"{PAGE}?code=family", retire).status_code == 302
    login_as(factories.coordinator(db_session, program_code="kagawa"))  # who enrols
    form = client.get(f"/courses/{course.id}/enrol").get_data(as_text=True)
    assert '<option value="peer_staff">ピアスタッフ</option>' in form
    assert 'value="family"' not in form and "ひきこもり当事者の家族" not in form
    db_session.expire_all()
    imported = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=_csv("香川 六郎,カガワ ロクロウ,roku@example.jp,,高松市,,ピアスタッフ"),
        now=NOW,
    )
    assert imported.ok, imported.errors
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == course.id))
    assert (enrolment.attribute, enrolment.attribute_group) == ("peer_staff", "lived_experience")
    for word in ("ひきこもり当事者の家族", "家族", "family"):  # retired: its label and code
        refused = import_trainees(
            db_session,
            actor=None,
            course=course,
            data=_csv(f"香川 七郎,カガワ シチロウ,nana@example.jp,,高松市,,{word}"),
            now=NOW,
        )
        assert not refused.ok, word
        (error,) = refused.errors
        assert "ピアスタッフ" in error.message and word in error.message


def test_rewording_or_regrouping_leaves_last_years_figures(
    client: Any, db_session: Any, login_as: Any
) -> None:
    """Kagawa's 行政の相談担当者 counted as 福祉専門職 in FY2024; the admin then counts it as
    市町村職員 and rewords it: FY2024 stays as it was; a new enrolment counts the new way."""
    _kagawa_course_attended(db_session)  # FY2024: 1 welfare professional, 1 family
    db_session.commit()
    before = _attributes(db_session, "kagawa")
    assert before == {"welfare_professional": 1, "family": 1}
    login_as(factories.admin(db_session))
    response = post_form(
        client,
        f"{PAGE}?code=municipal_consultant",
        {
            "label_ja": "市町村の相談担当者",
            "label_en": "Municipal consultation staff",
            "reporting_group": "municipal_staff",
        },
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert _attributes(db_session, "kagawa") == before
    later = factories.course(
        db_session, program_code="kagawa", title="次年度", topics=("基礎",), on=date(2025, 6, 1)
    )
    imported = import_trainees(
        db_session,
        actor=None,
        course=later,
        data=_csv("香川 八郎,カガワ ハチロウ,hachi@example.jp,,高松市,,市町村の相談担当者"),
        now=NOW,
    )
    assert imported.ok, imported.errors
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.course_id == later.id))
    assert (enrolment.attribute, enrolment.attribute_group) == (
        "municipal_consultant",
        "municipal_staff",
    )
    assert _attributes(db_session, "kagawa") == before  # FY2024 still


# --- the same form at the same moment ---------------------------------------------------

SUBMITS = 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_form_at_the_same_moment_changes_once(backend: str, schema_factory: Any) -> None:
    """Four posts of one rendered form, then four separate copies of the same add, at the
    same moment, to a real threaded server: one attribute, one set of audit rows, no 500."""
    from datetime import timedelta

    from supporters.accounts import services as account_services
    from supporters.db import now_utc
    from tests.security.live import Browser, live_server, post_forms, session_cookie

    app = build_migrated_app(schema_factory.url(backend, "attrs"))
    with app.app_context():
        admin = factories.admin(db.session, email="admin@attrs.example")
        token = account_services.start_session(
            db.session, admin, now=now_utc(), lifetime=timedelta(hours=1)
        )
        db.session.commit()
        db.session.remove()

    def count(*where: Any) -> int:
        with app.app_context():
            try:
                return int(
                    db.session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
                    or 0
                )
            finally:
                db.session.remove()

    def together(browser: Browser, copies: list[list[tuple[str, str]]]) -> list[int]:
        barrier = threading.Barrier(len(copies))
        statuses: list[int] = []
        errors: list[BaseException] = []

        def send(fields: list[tuple[str, str]]) -> None:
            try:
                answer = browser.post(PAGE, fields, referrer=PAGE, ready=barrier)
                statuses.append(answer.status)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(c,)) for c in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert errors == [], errors[:2]
        return sorted(statuses)

    def copy(browser: Browser, **values: str) -> list[tuple[str, str]]:
        shown = browser.get(PAGE)
        assert shown.status == 200
        (form,) = [f for f in post_forms(shown.text, PAGE) if f.action == PAGE]
        return form.filled(**values)

    try:
        with live_server(app) as address:
            browser = Browser(address)
            browser.set_cookie(session_cookie(app, token))
            one = copy(browser, **PEER)
            statuses = together(browser, [one] * SUBMITS)
            assert 500 not in statuses and all(s in (302, 303) for s in statuses), statuses
            added = AuditEvent.action == "program.change"
            after_first = count(added)
            assert after_first > 0
            other = {**PEER, "code": "peer_two", "label_ja": "ピア2", "label_en": "Peer 2"}
            copies = [copy(browser, **other) for _ in range(SUBMITS)]
            statuses = together(browser, copies)
            # one adds it; the others find it there as they say (nothing changed), or on
            # SQLite may meet the other's write lock (the normal "saved by another request")
            assert 500 not in statuses, statuses
            if backend == "postgresql":
                assert statuses == [302] * SUBMITS, statuses
        with app.app_context():
            codes = list(db.session.scalars(select(ProgramAttribute.code)))
            db.session.remove()
        assert codes.count("peer_staff") == 1 and codes.count("peer_two") == 1
        # each add audited once (its label_ja, label_en, reporting_group, active, order)
        assert after_first == 5
        assert count(added) == 2 * after_first
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_page_takes_a_few_statements_however_many_attributes(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from tests.reports.conftest import counting_queries

    login_as(factories.admin(db_session))
    counts = []
    for n in range(3):
        extra = {**PEER, "code": f"more_{n}", "label_ja": f"追加{n}", "label_en": f"More {n}"}
        assert post_form(client, PAGE, extra).status_code == 302
        with counting_queries() as shown:
            page = client.get(PAGE).get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert csrf
        added = {**PEER, "code": f"new_{n}", "label_ja": f"新{n}", "label_en": f"New {n}"}
        with counting_queries() as changed:
            response = client.post(PAGE, data={**added, "csrf_token": csrf.group(1)})
        assert response.status_code == 302
        counts.append((len(shown), len(changed)))
    # the list: at most 15 statements; a change: the same number with 1, 2 or 3 more
    # attributes (validating and applying the whole program, as a file: about 40)
    assert all(shown <= 15 for shown, _ in counts), counts
    assert len(set(counts)) == 1, counts
