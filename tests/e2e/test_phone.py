"""Phone-first pages (issue 18) in a real Chromium 360 px wide, as a supporter and as
municipal staff: no page scrolls sideways, every target in the header and navigation (and
every checkbox row, tab, pager link and button) is at least 44x44 px, axe-core finds nothing
serious or critical, tables are cards and the month an agenda, and the calendar page
subscribes in one tap (webcal://), copies the address and shows it as a QR code."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from supporters.core.time import today_in_japan
from tests.e2e.conftest import PHONE, Browsing, log_in
from tests.e2e.test_accessibility import axe_problems

pytestmark = pytest.mark.browser

TARGET = 44
# Targets that must be 44x44 px: the header and navigation, and the controls of the page
# itself that are not words inside a sentence.
TARGETS = (
    "header a, header button, nav a, main .button, main summary, main label.checkbox, "
    "main .roll__item, main .agenda__event"
)
SIZES = """(selector) => [...document.querySelectorAll(selector)]
  .filter(e => e.getClientRects().length > 0)
  .map(e => {
    const box = e.getBoundingClientRect();
    return {text: (e.innerText || e.value || '').trim().slice(0, 40), width: box.width,
            height: box.height};
  })"""

INNER_SCROLL = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(w => w.getClientRects().length > 0 && w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector('caption, thead') || w).innerText.trim().slice(0, 60))"""


class PhoneChecker:
    """Visits pages at 360 px and collects every problem, so one run reports them all."""

    def __init__(self, page: Any) -> None:
        assert page.viewport_size == PHONE
        self.page = page
        self.problems: list[str] = []

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        self.check()

    def check(self) -> None:
        page = self.page
        where = page.url
        width = page.evaluate("document.scrollingElement.scrollWidth")
        if width > PHONE["width"]:
            self.problems.append(f"{where}: scrolls sideways ({width}px wide)")
        # Nor does a table hide columns in a box of its own that scrolls sideways.
        for wide in page.evaluate(INNER_SCROLL):
            self.problems.append(f"{where}: a table scrolls sideways inside its box: {wide}")
        for target in page.evaluate(SIZES, TARGETS):
            if target["width"] < TARGET or target["height"] < TARGET:
                self.problems.append(
                    f"{where}: {target['text']!r} is {target['width']:.0f}x"
                    f"{target['height']:.0f}px, under {TARGET}x{TARGET}"
                )
        self.problems.extend(axe_problems(page))

    def dates_carry_weekdays(self, path: str, *, shows_dates: bool = True) -> None:
        """Every date a person reads on the page carries its weekday: 2026年12月14日（月）,
        never 2026/12/14 or 2026-12-14 on its own (date inputs keep ISO, as browsers do)."""
        self.page.goto(path)
        text = self.page.locator("main").inner_text()
        dates = re.findall(r"\d{4}年\d{1,2}月\d{1,2}日(?:（[月火水木金土日]）)?", text)
        bare = [d for d in dates if "（" not in d]
        bare += re.findall(r"\b\d{4}[/-]\d{1,2}[/-]\d{1,2}\b", text)
        if bare:
            self.problems.append(f"{path}: dates without a weekday: {bare[:5]}")
        if shows_dates and not dates:
            self.problems.append(f"{path}: no date shown to check")

    def hrefs(self, path: str, pattern: str) -> list[str]:
        self.page.goto(path)
        return [
            str(href)
            for href in self.page.eval_on_selector_all(
                "main a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            if re.fullmatch(pattern, href)
        ]

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems)


def test_supporter_pages_on_a_phone(browsing: Browsing) -> None:
    checker = PhoneChecker(browsing.login("supporter.chiba@demo.example", PHONE))
    for path in (
        "/",
        "/me",
        "/schedule",
        "/schedule/calendar",
        "/notifications/",
        "/notifications/settings",
        "/account",
        "/account/password",
        "/courses/",
    ):
        checker.visit(path)
    for path in checker.hrefs("/me", r"/register/\d+/reports/new(\?.*)?")[:1]:
        checker.visit(path)
    checker.dates_carry_weekdays("/")
    checker.dates_carry_weekdays("/me", shows_dates=False)  # Chiba's has no expiry
    checker.dates_carry_weekdays("/schedule")
    checker.assert_clean()


def test_municipal_staff_pages_on_a_phone(browsing: Browsing) -> None:
    checker = PhoneChecker(browsing.login("staff.narashino@demo.example", PHONE))
    month = today_in_japan().replace(day=1)
    for path in (
        "/",
        "/dispatch/",
        f"/dispatch/?month={month - timedelta(days=1):%Y-%m}",
        f"/dispatch/?month={month + timedelta(days=32):%Y-%m}",
        "/dispatch/?show=upcoming",
        "/dispatch/?show=requested",
        "/dispatch/request",
        "/municipality/supporters",
        "/notifications/",
        "/notifications/settings",
        "/account",
        "/account/password",
        "/reports/",
        "/courses/",
    ):
        checker.visit(path)
    events = checker.hrefs("/", r"/dispatch/\d+")
    assert events, "the demo's Narashino staff see coming events on their start page"
    checker.visit(events[0])
    for path in checker.hrefs("/courses/", r"/courses/\d+")[:1]:
        checker.visit(path)
    for path in ("/", "/dispatch/?show=upcoming", events[0]):
        checker.dates_carry_weekdays(path)
    checker.assert_clean()

    # The coming events are cards (one block per row, each value labelled), not a table.
    page = checker.page
    page.goto("/")
    row = page.locator("#start-staff-events tbody tr").first
    assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
    assert row.locator("td[data-label]").count() >= 4
    # The month is an agenda on a phone: the grid is not shown, the days with events are.
    with_events = next(
        path
        for path in (
            f"/dispatch/?month={month:%Y-%m}",
            f"/dispatch/?month={month + timedelta(days=32):%Y-%m}",
        )
        if page.goto(path) and page.locator(".agenda__event").count()
    )
    assert not page.locator("table.month").is_visible(), with_events
    assert page.locator(".agenda__event").first.is_visible()


def test_calendar_in_one_tap(browsing: Browsing, tmp_path: Path) -> None:
    page = browsing.login("supporter.kagawa@demo.example", PHONE)
    page.goto("/schedule/calendar")
    if page.locator("main details.replace-feed").count():  # an address made earlier
        page.locator("main details.replace-feed summary").click()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    address = page.locator("#feed-link").input_value()
    assert re.fullmatch(r"https?://[^/]+/calendar/[^/]+\.ics", address), address
    subscribe = page.locator("main a#subscribe-link")
    assert subscribe.get_attribute("href") == re.sub(r"^https?://", "webcal://", address)
    assert "button--secondary" not in (subscribe.get_attribute("class") or "")
    assert page.locator("main img.subscribe__qr").evaluate(
        "img => img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/svg+xml')"
    )
    if shutil.which("zbarimg"):  # the code scans as the subscription address
        shot = tmp_path / "qr.png"
        page.locator("main img.subscribe__qr").screenshot(path=str(shot))
        scanned = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(shot)], capture_output=True, text=True, check=True
        )
        assert scanned.stdout.strip() == subscribe.get_attribute("href")
    # Making yet another address is secondary: closed behind a confirmation.
    assert not page.locator("main form button[type=submit]").is_visible()
    assert page.locator("main details.replace-feed summary").is_visible()

    # The copy button (static js) copies the address and says so.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("button[data-copy='feed-link']").click()
    expect(page.locator("#feed-link-status")).not_to_be_empty()
    assert page.evaluate("navigator.clipboard.readText()") == address

    checker = PhoneChecker(page)
    checker.check()
    checker.assert_clean()


def test_calendar_copy_field_without_javascript(browsing: Browsing) -> None:
    """Progressive: without js there is no dead button, the address is a read-only field."""
    page = browsing.new_page(PHONE, java_script_enabled=False)
    log_in(page, "supporter.tochigi@demo.example")
    page.goto("/schedule/calendar")
    if page.locator("main details.replace-feed").count():
        page.locator("main details.replace-feed summary").click()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("#feed-link").get_attribute("readonly") is not None
    assert not page.locator("button[data-copy]").is_visible()
    assert page.locator("main a#subscribe-link").get_attribute("href").startswith("webcal://")
