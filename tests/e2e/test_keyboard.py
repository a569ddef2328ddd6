"""The supporter journey with the keyboard alone (issue 9, item 2): Tab, Shift+Tab, Enter and
Space, never a click; every element that takes the focus shows a visible indicator."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import PHONE, Browsing, LiveServer, dispatch_by_service

pytestmark = pytest.mark.browser

MAX_TABS = 80
TOKYO = ZoneInfo("Asia/Tokyo")

# What has the focus, and whether it is visibly marked (an outline or a box shadow).
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  const box = el.getBoundingClientRect();
  const onscreen = box.width > 0 && box.height > 0 && box.left >= 0
    && box.right <= window.innerWidth + 1;
  const form = el.form || el.closest('form');
  return {
    tag: el.tagName.toLowerCase(),
    type: el.getAttribute('type'),
    name: el.getAttribute('name'),
    href: el.getAttribute('href'),
    text: (el.innerText || el.value || '').trim().slice(0, 60),
    action: form ? form.getAttribute('action') : null,
    answer: form && form.querySelector('input[name=answer]')
      ? form.querySelector('input[name=answer]').value : null,
    visible: (outline || shadow) && onscreen,
    onscreen: onscreen,
    outline: style.outlineStyle + ' ' + style.outlineWidth,
    shadow: style.boxShadow,
  };
}"""


class Keyboard:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.unmarked: list[str] = []
        self.checked = 0

    def focused(self) -> dict[str, Any] | None:
        state = self.page.evaluate(FOCUS_STATE)
        self.checked += bool(state)
        if state and not state["visible"]:
            self.unmarked.append(f"{self.page.url}: {state}")
        return state  # type: ignore[no-any-return]

    def press(self, key: str) -> dict[str, Any] | None:
        self.page.keyboard.press(key)
        return self.focused()

    def tab_to(self, wanted: Any, *, backwards: bool = False) -> dict[str, Any]:
        """Press Tab (or Shift+Tab) until `wanted(state)` holds for the focused element."""
        key = "Shift+Tab" if backwards else "Tab"
        seen = []
        for _ in range(MAX_TABS):
            state = self.press(key)
            if state and wanted(state):
                return state
            seen.append(state and (state["tag"], state["href"] or state["text"]))
        raise AssertionError(f"not reached with {key} on {self.page.url}; passed: {seen}")

    def activate(self, key: str = "Enter") -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)


def test_supporter_journey_by_keyboard(browsing: Browsing, live_server: LiveServer) -> None:
    day = datetime.now(TOKYO).date() + timedelta(days=30)
    assignment = dispatch_by_service(
        live_server,
        supporter_email="supporter.kagawa@demo.example",
        program_code="kagawa",
        place="高松市",
        venue="高松市男女共同参画センター 交流室",
        title=f"居場所 E2Eキーボード {uuid.uuid4().hex[:6]}",
        starts_at=datetime.combine(day, time(10), TOKYO),
        hours=2,
        activity="drop_in",
    )
    answer = f"/schedule/{assignment}/answer"

    page = browsing.new_page(PHONE)
    keys = Keyboard(page)
    page.goto("/login")

    # The e-mail field has the focus on arrival; Tab to the password, Enter sends.
    state = keys.focused()
    assert state and state["name"] == "email", state
    page.keyboard.type("supporter.kagawa@demo.example")
    state = keys.press("Tab")
    assert state and state["name"] == "password", state
    page.keyboard.type("demo-pass-2026")
    keys.activate("Enter")
    assert "/login" not in page.url

    # The skip link is the first stop and leads past the navigation.
    state = keys.press("Tab")
    assert state and state["href"] == "#main", state
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # Shift+Tab back into the header, to the schedule link in the navigation; Enter.
    keys.tab_to(lambda s: s["href"] == "/schedule" and s["text"] == "予定", backwards=True)
    keys.activate("Enter")
    assert page.url.endswith("/schedule")

    # Tab to the confirm button of the coordinator's request; Space presses it.
    keys.tab_to(lambda s: s["action"] == answer and s["answer"] == "confirm")
    keys.activate("Space")
    assert page.url.endswith("/schedule")
    flashes = " ".join(page.locator(".flash--success").all_inner_texts())
    assert "参加が確定しました" in flashes, flashes
    assert page.locator(f"form[action='{answer}']").count() == 0  # answered

    # Back to the start page by keyboard: Shift+Tab from the page to the home link.
    keys.tab_to(lambda s: s["href"] == "/" and s["text"] == "ホーム", backwards=True)
    keys.activate("Enter")
    assert page.url == f"{live_server.url}/"

    assert keys.checked > 10
    assert not keys.unmarked, "focus without a visible indicator:\n" + "\n".join(keys.unmarked)
