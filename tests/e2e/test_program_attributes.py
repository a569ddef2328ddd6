"""The attributes page in the browser (issue 16, items 2 and 8): the admin adds an attribute
with the keyboard alone (Tab, typing, arrow keys in the select, Enter), every focus visibly
marked; the list, a chosen attribute and a refused form pass axe; the coordinator's view
(no form) passes axe too."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import PHONE, Browsing
from tests.e2e.test_accessibility import Checker
from tests.e2e.test_keyboard import Keyboard

pytestmark = pytest.mark.browser

PAGE = "/programs/tochigi/attributes"


def test_the_admin_adds_an_attribute_with_the_keyboard(browsing: Browsing) -> None:
    page = browsing.login("admin@demo.example")
    page.goto(PAGE)
    keys = Keyboard(page)
    code = f"kb_{uuid.uuid4().hex[:8]}"
    label = f"キーボード{code[-4:]}"

    keys.tab_to(lambda s: s["name"] == "code")
    page.keyboard.type(code)
    assert (keys.press("Tab") or {}).get("name") == "label_ja"
    page.keyboard.type(label)
    assert (keys.press("Tab") or {}).get("name") == "label_en"
    page.keyboard.type("Keyboard check")
    assert (keys.press("Tab") or {}).get("name") == "reporting_group"
    page.keyboard.press("ArrowDown")  # the second group: family member
    assert page.eval_on_selector("select[name=reporting_group]", "e => e.value") == "family"
    assert (keys.press("Tab") or {}).get("name") == "order"
    page.keyboard.type("1")
    assert (keys.press("Tab") or {}).get("name") == "retired"
    state = keys.press("Tab")
    assert state and state["tag"] == "button" and state["type"] == "submit", state
    keys.activate("Enter")

    assert page.url.endswith(PAGE), page.url
    first_row = page.locator("main table tbody tr").first.inner_text()
    assert code in first_row and label in first_row and "家族" in first_row, first_row
    assert keys.checked >= 7
    assert not keys.unmarked, "focus without a visible indicator:\n" + "\n".join(keys.unmarked)


def test_the_attributes_pages_pass_axe(browsing: Browsing) -> None:
    for viewport in (None, PHONE):
        checker = Checker(browsing.login("admin@demo.example", viewport))
        checker.visit(PAGE)
        checker.visit(checker.first_href(PAGE, r"/programs/tochigi/attributes\?code=\w+"))
        # A refused form: the error summary and the field errors.
        checker.page.goto(PAGE)
        checker.page.locator("input[name=code]").fill("family")
        checker.page.locator("input[name=label_ja]").fill("　")
        with checker.page.expect_navigation():
            checker.page.locator("main form button[type=submit]").click()
        assert checker.page.locator(".error-summary").count() == 1
        checker.check()
        checker.assert_clean()
    coordinator = Checker(browsing.login("coordinator.tochigi@demo.example"))
    coordinator.visit(PAGE)
    assert coordinator.page.locator("main form").count() == 0
    coordinator.assert_clean()
