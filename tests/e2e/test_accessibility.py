"""axe-core on every main page, for each role: no violation of serious or critical impact.

Pages that need an id (a course, a person, an event) take the first one the role's own
list links to, so the check follows what the user can reach."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from tests.e2e.conftest import PHONE, Browsing, LiveServer

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
_axe = Axe()


def axe_problems(page: Any) -> list[str]:
    """The serious and critical violations on the page, one line per node."""
    results = _axe.run(page)
    problems = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING:
            continue
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            problems.append(
                f"{page.url}: [{violation['impact']}] {violation['id']} "
                f"({violation['help']}) at {node['target']}: {summary} | {node['html'][:200]}"
            )
    return problems


class Checker:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        self.visited: list[str] = []

    def visit(self, path: str, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None
        assert response.status == status, f"{path}: HTTP {response.status}"
        self.check()

    def check(self) -> None:
        self.visited.append(self.page.url)
        self.problems.extend(axe_problems(self.page))

    def hrefs(self, path: str, pattern: str) -> list[str]:
        """The links on `path` whose href matches `pattern` (a regular expression)."""
        self.page.goto(path)
        return [
            str(href)
            for href in self.page.eval_on_selector_all(
                "main a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            if re.fullmatch(pattern, href)
        ]

    def first_href(self, path: str, pattern: str) -> str:
        """The first link on `path` whose href matches `pattern` (a regular expression)."""
        found = self.hrefs(path, pattern)
        if not found:
            raise AssertionError(f"no link matching {pattern} on {path}")
        return found[0]

    def assert_clean(self) -> None:
        assert not self.problems, (
            f"{len(self.problems)} serious/critical axe violations:\n" + "\n".join(self.problems)
        )


def test_public_pages(browsing: Browsing, live_server: LiveServer) -> None:
    coordinator = browsing.login("coordinator.tochigi@demo.example")
    registration = Checker(coordinator).first_href("/register/", r"/register/\d+")
    card = coordinator.request.get(f"{registration}/card.pdf")
    assert card.ok, card.status
    with live_server.app_context() as session:
        from supporters.certificates.models import CardIssue

        code = session.scalar(select(CardIssue.code).order_by(CardIssue.id.desc()).limit(1))
    assert code

    for viewport in (None, PHONE):
        checker = Checker(browsing.new_page(viewport))
        checker.visit("/login")
        checker.visit("/password/forgot")
        checker.visit(f"/verify/{code}")
        checker.visit("/verify/no-such-code", status=404)
        # A failed login shows the error summary and the error message.
        checker.page.goto("/login")
        checker.page.locator("input[name=email]").fill("nobody@demo.example")
        checker.page.locator("main form button[type=submit]").click()
        checker.page.wait_for_load_state()
        checker.check()
        checker.assert_clean()


def test_admin_pages(browsing: Browsing) -> None:
    checker = Checker(browsing.login("admin@demo.example"))
    for path in (
        "/",
        "/admin/users",
        "/admin/users/new",
        "/audit/",
        "/mail/",
        "/notifications/",
        "/notifications/settings",
        "/account",
        "/account/password",
        "/programs/",
        "/reports/",
        "/courses/",
    ):
        checker.visit(path)
    checker.visit(checker.first_href("/programs/", r"/programs/\w+"))
    # Inviting a user leads to their page and leaves an invitation in the mail view.
    page = checker.page
    page.goto("/admin/users/new")
    page.fill("input[name=display_name]", "アクセシビリティ 確認")
    page.fill("input[name=email]", "a11y.invite@demo.example")
    page.select_option("select[name=role]", "coordinator")
    page.select_option("select[name=program]", label="香川県ひきこもりサポーター養成事業")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert re.search(r"/admin/users/\d+$", page.url), page.url
    checker.check()
    checker.visit("/mail/")
    checker.visit(checker.first_href("/mail/", r"/mail/\d+"))
    checker.assert_clean()


def test_coordinator_pages(browsing: Browsing) -> None:
    checker = Checker(browsing.login("coordinator.kagawa@demo.example"))
    for path in (
        "/",
        "/courses/",
        "/courses/new",
        "/register/",
        "/certificates/sheet",
        "/dispatch/",
        "/dispatch/new",
        "/notifications/",
        "/account",
        "/reports/",
        "/programs/kagawa",
    ):
        checker.visit(path)
    course = checker.first_href("/courses/?kind=initial", r"/courses/\d+")
    checker.visit(course)
    checker.visit(f"{course}/enrol")
    checker.visit(f"{course}/import")
    # A roll call is offered only once its session has begun: the first course that has one.
    roll = next(
        link
        for held in checker.hrefs("/courses/?kind=initial", r"/courses/\d+")
        for link in checker.hrefs(held, r"/courses/\d+/sessions/\d+/roll")[:1]
    )
    checker.visit(roll)
    checker.visit(checker.first_href(course, r"/courses/\d+/enrolments/\d+"))
    person = checker.first_href("/register/", r"/register/\d+")
    checker.visit(person)
    checker.visit(f"{person}/cards")
    checker.visit(f"{person}/reports/new")
    checker.visit(checker.first_href("/reports/", r"/reports/kagawa/\d+"))
    checker.visit("/reports/kagawa/2023")  # the seed's figures: capacity 50, 30 attended
    # An event of last month (held: the attendance form) and of next month (suggestions).
    this_month = datetime.now(ZoneInfo("Asia/Tokyo")).date().replace(day=1)
    for month in (this_month - timedelta(days=1), this_month + timedelta(days=32)):
        month_view = f"/dispatch/?month={month:%Y-%m}"
        checker.visit(month_view)
        checker.visit(checker.first_href(month_view, r"/dispatch/\d+"))
    # An empty form sent back: the error summary and the field errors.
    checker.page.goto("/courses/new")
    checker.page.locator("input[name=title]").fill("")
    checker.page.locator("main form button[type=submit]").click()
    checker.page.wait_for_load_state()
    checker.check()
    checker.assert_clean()


def test_coordinator_dispatch_request_pages(browsing: Browsing) -> None:
    """Chiba: a municipality's request waiting for the coordinator (accept / decline)."""
    checker = Checker(browsing.login("coordinator.chiba@demo.example"))
    checker.visit("/dispatch/")
    checker.visit(checker.first_href("/dispatch/", r"/dispatch/\d+"))
    checker.assert_clean()


def test_municipal_staff_pages(browsing: Browsing) -> None:
    checker = Checker(browsing.login("staff.narashino@demo.example"))
    for path in (
        "/",
        "/dispatch/",
        "/dispatch/request",
        "/municipality/supporters",
        "/notifications/",
        "/account",
        "/reports/",
        "/courses/",
    ):
        checker.visit(path)
    checker.visit(checker.first_href("/", r"/dispatch/\d+"))
    checker.assert_clean()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_supporter_pages(browsing: Browsing, viewport: dict[str, int] | None) -> None:
    checker = Checker(browsing.login("supporter.tochigi@demo.example", viewport))
    for path in (
        "/",
        "/me",
        "/schedule",
        "/schedule/calendar",
        "/notifications/",
        "/notifications/settings",
        "/account",
        "/courses/",
    ):
        checker.visit(path)
    checker.visit(checker.first_href("/me", r"/register/\d+/reports/new"))
    # The calendar page once the private address is shown.
    checker.page.goto("/schedule/calendar")
    if checker.page.locator("main details.replace-feed").count():  # an address made earlier
        checker.page.locator("main details.replace-feed summary").click()
    checker.page.locator("main form button[type=submit]").click()
    checker.page.wait_for_selector("#feed-link")
    checker.check()
    checker.assert_clean()
