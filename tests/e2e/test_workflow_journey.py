"""The workflow keeps to dates and states (issue 13), one journey in Chromium: a course still
ahead, enrolment by the form and by an Excel workbook, a roll call refused before the session's
day, completion dated on the session's day, サポーター登録 from the enrolment page, and one
activity report per dispatch ('filed', and a second filing refused with a link to the first).

The conftest has no way to move the app's clock. Where the journey needs time to pass, the
test moves the data instead, by the smallest step, and says so where it does."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from supporters.core.display import human_date
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    PHONE,
    Browsing,
    LiveServer,
    dispatch_by_service,
    log_in,
)
from tests.e2e.test_journeys import TOKYO, expect_flash, hrefs, path_of, submit, today

pytestmark = pytest.mark.browser

POLARIS = "ポラリスとちぎ(一般社団法人栃木県若年者支援機構)"
# Surnames the demo data never uses, so no "same name already in the program" question.
BY_FORM = ("東雲 晴臣", "シノノメ ハルオミ")
BY_WORKBOOK = [
    ("百目鬼 紗季", "ドウメキ サキ", "佐野市", "家族"),
    ("雲母 創", "キララ ハジメ", "那須町", "当事者"),
]


def slash(day: date) -> str:
    """A date as the pages show it: 2026年12月14日（月）."""
    return human_date(day, "ja")


def write_workbook(folder: Path, tag: str) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["氏名", "フリガナ", "メールアドレス", "電話番号", "居住市町村", "勤務先市町村", "属性"]
    )
    for number, (name, reading, place, attribute) in enumerate(BY_WORKBOOK):
        sheet.append([name, reading, f"wb{number}.{tag}@example.jp", "", place, "", attribute])
    path = folder / "受講者.xlsx"
    book.save(path)
    return path


def trainee_rows(page: Any) -> Any:
    return page.locator("main table tbody tr").filter(has=page.locator("a[href*='/enrolments/']"))


def move_sessions_back(server: LiveServer, course_id: int, days: int) -> None:
    """Time passing, without a clock to move: the course's sessions move `days` earlier, so
    the days that were ahead are now behind us, as if the app's today had moved on."""
    from sqlalchemy import select

    from supporters.training.models import CourseSession

    with server.app_context() as session:
        rows = session.scalars(select(CourseSession).where(CourseSession.course_id == course_id))
        for row in rows:
            row.date -= timedelta(days=days)
        session.commit()


def give_login(server: LiveServer, email: str) -> None:
    """The registered trainee's own login. No page makes an account for a person already in
    the register (the demo does it by services too), so the test does the same: an account
    with the trainee's e-mail, tied to their person record, with the supporter role."""
    from sqlalchemy import select

    from supporters.accounts import services as accounts
    from supporters.accounts.models import Role
    from supporters.db import now_utc
    from supporters.people.models import Person
    from supporters.programs.models import Program

    with server.app_context() as session:
        person = session.scalar(select(Person).where(Person.email == email))
        program = session.scalar(select(Program).where(Program.code == "tochigi"))
        assert person is not None and program is not None
        user = accounts.create_user(session, actor=None, email=email, display_name=person.name)
        accounts.set_password(
            user, DEMO_PASSWORD, hash_params=server.app.config["PASSWORD_HASH"], now=now_utc()
        )
        user.person_id = person.id
        accounts.grant_role(
            session, actor=None, user=user, role=Role.SUPPORTER, program=program, now=now_utc()
        )
        session.commit()


def past_item(page: Any, title: str) -> Any:
    item = page.locator("main .past li").filter(has_text=title)
    assert item.count() == 1, f"{item.count()} past dispatches titled {title!r} on {page.url}"
    return item


def test_course_to_report_keeps_to_dates_and_states(
    browsing: Browsing, live_server: LiveServer, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    first_day = today() + timedelta(days=14)
    second_day = today() + timedelta(days=21)
    page = browsing.login("coordinator.tochigi@demo.example")

    # A course still ahead: the program's curriculum on its first day, the group work a
    # week later (moved there on the session's own form).
    page.goto("/courses/")
    submit(page.locator("main a[href='/courses/new']"))
    page.select_option("select[name=kind]", "initial")
    page.select_option("select[name=organiser_id]", label=POLARIS)
    title = f"E2E 養成研修 日付と状態 {tag}"
    page.fill("input[name=title]", title)
    page.fill("input[name=venue]", "とちぎ青少年センター")
    page.fill("input[name=capacity]", "20")
    page.fill("input[name=first_session_on]", first_day.isoformat())
    page.check("input[name=use_curriculum]")
    submit(page.locator("main form button[type=submit]"))
    expect_flash(page, "研修を作成しました")
    course = path_of(page)
    assert re.fullmatch(r"/courses/\d+", course), course
    course_id = int(course.rsplit("/", 1)[1])
    edits = hrefs(page, rf"{course}/sessions/\d+/edit")
    assert len(edits) == 3, edits  # Tochigi's curriculum: three required sessions
    assert hrefs(page, rf"{course}/sessions/\d+/roll") == [], "a roll call offered ahead of time"

    page.goto(edits[2])
    assert page.locator("input[name=topic]").input_value() == "グループワーク"
    page.fill("input[name=date]", second_day.isoformat())
    submit(page.locator("main form:not([action]) button[type=submit]"))
    expect_flash(page, "日程を保存しました")
    page.goto(course)
    sessions = page.locator("main table").first.locator("tbody").inner_text()
    assert slash(first_day) in sessions and slash(second_day) in sessions, sessions

    # Enrol one trainee by the form ...
    form_email = f"shinonome.{tag}@example.jp"
    submit(page.locator(f"main a[href='{course}/enrol']"))
    page.fill("input[name=name]", BY_FORM[0])
    page.fill("input[name=name_reading]", BY_FORM[1])
    page.fill("input[name=email]", form_email)
    page.fill("input[name=residence]", "宇都宮市")
    page.select_option("select[name=attribute]", "welfare_professional")
    submit(page.locator("main form button[type=submit]"))
    expect_flash(page, f"{BY_FORM[0]}さんの受講を決定しました")

    # ... and two by an Excel workbook, on the import page.
    page.goto(course)
    submit(page.locator(f"main a[href='{course}/import']"))
    page.set_input_files("input[name=file]", str(write_workbook(tmp_path, tag)))
    submit(page.locator("main form button[type=submit]"))
    assert path_of(page) == course, page.locator(".error-summary").all_inner_texts()
    expect_flash(page, "受講決定2人")
    rows = trainee_rows(page)
    assert rows.count() == 3
    names = {BY_FORM[0]} | {row[0] for row in BY_WORKBOOK}
    for index in range(3):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[0] in names and cells[2] == "受講決定", cells

    # Today is before the first session: the roll call (a bookmarked tablet page) refuses
    # to record anyone, and nothing is kept.
    roll = edits[0].replace("/edit", "/roll")
    page.goto(roll)
    boxes = page.locator("input[name=present]")
    assert boxes.count() == 3
    for index in range(3):
        boxes.nth(index).check()
    submit(page.locator("main form.roll button[type=submit]"))
    expect_flash(page, f"{human_date(first_day, 'ja')} の日程はまだ開催されていません", "error")
    page.goto(roll)
    assert page.locator("input[name=present]:checked").count() == 0
    page.goto(course)
    figures = page.locator("main dl.figures > div")
    assert figures.nth(4).inner_text().split() == ["出席", "0"], figures.all_inner_texts()
    assert figures.nth(5).inner_text().split() == ["修了", "0"], figures.all_inner_texts()

    # Time passes (no clock to move: see move_sessions_back): both days are now behind us,
    # the group work eight days ago.
    shift = (second_day - today()).days + 8
    first_day -= timedelta(days=shift)
    second_day -= timedelta(days=shift)
    move_sessions_back(live_server, course_id, shift)

    # The roll, session by session, everyone present: the course is completed on the day of
    # its last session, not on the day the roll was saved.
    page.goto(course)
    rolls = hrefs(page, rf"{course}/sessions/\d+/roll")
    assert len(rolls) == 3, rolls
    said = []
    for link in rolls:
        page.goto(link)
        boxes = page.locator("input[name=present]")
        for index in range(boxes.count()):
            boxes.nth(index).check()
        submit(page.locator("main form.roll button[type=submit]"))
        expect_flash(page, "出席は3人")
        said.append(" ".join(page.locator(".flash--success").all_inner_texts()))
    assert ["3人の受講者が修了しました" in text for text in said] == [False, False, True], said

    page.goto(course)
    rows = trainee_rows(page)
    for index in range(3):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[2] == "修了" and cells[3], cells  # a completion number
    row = rows.filter(has_text=BY_FORM[0])
    submit(row.locator("a[href*='/enrolments/']"))
    enrolment = path_of(page)
    facts = page.locator("main dl.facts").inner_text()
    assert "修了" in facts and f"({slash(second_day)})" in facts, facts

    # サポーター登録 from the enrolment page, dated the completion day.
    register = page.locator("main a[href^='/register/new/']")
    assert register.inner_text() == "サポーター登録"
    submit(register)
    assert page.locator("input[name=registered_on]").input_value() == second_day.isoformat()
    assert page.locator("input[name=main_municipality]").input_value() == "宇都宮市"
    submit(page.locator("main form button[type=submit]"))
    expect_flash(page, "で登録しました")
    person_page = path_of(page)
    assert re.fullmatch(r"/register/\d+", person_page), page.locator(
        ".error-summary"
    ).all_inner_texts()
    flashed = " ".join(page.locator(".flash--success").all_inner_texts())
    number = re.search(r"登録番号(\S+)で登録しました", flashed)
    assert number, flashed
    assert number[1] in page.locator("main").inner_text()
    page.goto(enrolment)
    assert f"登録済み（登録番号{number[1]}）" in page.locator("main .actions").inner_text()

    # Two dispatches the new supporter attended after registering. The interface rightly
    # refuses to make events in the past, so these are made by services (conftest), and the
    # supporter's login too (see give_login).
    give_login(live_server, form_email)
    titles = [f"出張相談会 E2E 報告{n} {tag}" for n in (1, 2)]
    days = [today() - timedelta(days=5), today() - timedelta(days=3)]
    for dispatch_title, day in zip(titles, days, strict=True):
        dispatch_by_service(
            live_server,
            supporter_email=form_email,
            program_code="tochigi",
            place="佐野市",
            venue="佐野市保健センター 相談室",
            title=dispatch_title,
            starts_at=datetime.combine(day, time(13), TOKYO),
            hours=3,
            activity="sitting_in",
            attended=True,
        )

    # The supporter, on a phone: one report per dispatch.
    supporter = browsing.new_page(PHONE)
    log_in(supporter, form_email)
    supporter.goto("/schedule")
    first_form = past_item(supporter, titles[0]).locator("a[href*='/reports/new']")
    assert first_form.inner_text() == "活動報告をする"
    form_link = first_form.get_attribute("href")
    assert form_link
    # The same form open in a second tab, to be sent after the first one.
    second_tab = supporter.context.new_page()
    second_tab.goto(form_link)

    submit(first_form)
    assert supporter.locator("input[name=activity_on]").input_value() == days[0].isoformat()
    supporter.locator("input[name=topics]").first.check()
    submit(supporter.locator("main form button[type=submit]"))
    assert path_of(supporter) == "/me", supporter.locator(".error-summary").all_inner_texts()
    expect_flash(supporter, "活動報告を受け付けました")

    supporter.goto("/schedule")
    filed = past_item(supporter, titles[0]).locator("a")
    assert filed.count() == 1 and filed.inner_text() == "活動報告は提出済み"
    first_report = filed.get_attribute("href")
    assert first_report and re.fullmatch(r"/me#report-\d+", first_report), first_report
    # The other dispatch still waits for its own report.
    assert past_item(supporter, titles[1]).locator("a[href*='/reports/new']").count() == 1
    submit(filed)
    report = supporter.locator(first_report.removeprefix("/me"))
    assert slash(days[0]) in report.inner_text()

    # A second filing for the same dispatch is refused, with the way to the first report:
    # from the tab opened before ...
    second_tab.locator("input[name=topics]").first.check()
    submit(second_tab.locator("main form button[type=submit]"))
    refusal = f"この派遣の活動報告は {today().isoformat()} に提出済みです"
    expect_flash(second_tab, refusal, "info")
    assert path_of(second_tab) == first_report
    # ... and from the form's address, opened again.
    second_tab.goto(form_link)
    expect_flash(second_tab, refusal, "info")
    assert path_of(second_tab) == first_report
    assert second_tab.locator("main li[id^='report-']").count() == 1

    # The second dispatch takes its own report.
    supporter.goto("/schedule")
    submit(past_item(supporter, titles[1]).locator("a[href*='/reports/new']"))
    assert supporter.locator("input[name=activity_on]").input_value() == days[1].isoformat()
    supporter.locator("input[name=topics]").first.check()
    submit(supporter.locator("main form button[type=submit]"))
    expect_flash(supporter, "活動報告を受け付けました")
    assert supporter.locator("main li[id^='report-']").count() == 2
    supporter.goto("/schedule")
    for dispatch_title in titles:
        assert (
            past_item(supporter, dispatch_title).locator("a").inner_text() == "活動報告は提出済み"
        )

    # The coordinator sees both on the supporter's page.
    page.goto(person_page)
    assert page.locator("main li[id^='report-']").count() == 2
