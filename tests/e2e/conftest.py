"""Browser fixtures: the real app served over HTTP on loopback, with the demo data loaded,
and one Debian Chromium shared by the whole session (Playwright; never a downloaded browser).

A failing test leaves a screenshot and the HTML of every page it had open in
`test-artifacts/` at the repository root."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from supporters.db import now_utc
from supporters.extensions import db
from tests.conftest import build_migrated_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEMO_PASSWORD = "demo-pass-2026"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true)")
    pytest.skip(reason)


# --- the live server ---------------------------------------------------------------------


class _ErrorRecorder:
    """WSGI middleware: remembers every exception the app let through and every 5xx answer,
    so a test fails on a server error even when the page it shows looks harmless."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app
        self.errors: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

        def recording_start_response(status: str, *args: Any) -> Any:
            if status.startswith("5"):
                self.errors.append(f"{where}: {status}")
            return start_response(status, *args)

        try:
            return self.wsgi_app(environ, recording_start_response)
        except Exception as error:
            self.errors.append(f"{where}: {error!r}")
            raise


@dataclass
class LiveServer:
    app: Flask
    url: str
    recorder: _ErrorRecorder
    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @contextmanager
    def app_context(self) -> Iterator[Any]:
        """An app context for direct service calls; yields the database session."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()


@pytest.fixture(scope="session")
def live_server(schema_factory: Any) -> Iterator[LiveServer]:
    from supporters.demo import load_demo

    app = build_migrated_app(
        schema_factory.url("sqlite", "e2e"),
        # Many logins from one address in a short run; the throttle has its own tests.
        LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
        LOGIN_LIMIT_PER_ACCOUNT="1000 per minute",
    )
    with app.app_context():
        load_demo(db.session, password=DEMO_PASSWORD, now=now_utc())
        db.session.commit()
        db.session.remove()
    recorder = _ErrorRecorder(app.wsgi_app)
    app.wsgi_app = recorder  # type: ignore[method-assign]
    werkzeug_log = logging.getLogger("werkzeug")
    log_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url, recorder=recorder, server=server, thread=thread)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        werkzeug_log.setLevel(log_level)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test in this folder fails if the app raised while serving it."""
    if "live_server" not in request.fixturenames:
        yield
        return
    server: LiveServer = request.getfixturevalue("live_server")
    before = len(server.recorder.errors)
    yield
    errors = server.recorder.errors[before:]
    assert not errors, "the server raised:\n" + "\n".join(errors)


def dispatch_by_service(
    server: LiveServer,
    *,
    supporter_email: str,
    program_code: str,
    place: str,
    venue: str,
    title: str,
    starts_at: datetime,
    hours: int,
    activity: str,
    attended: bool = False,
) -> int:
    """Test data the interface rightly refuses to make: an event the program's demo
    coordinator creates, with the supporter asked to it (pending their answer) or, for a
    past event, signed up a week before and recorded as attending. Returns the assignment id."""
    from sqlalchemy import select

    from supporters.accounts.models import User
    from supporters.dispatch import services
    from supporters.programs.models import Program
    from supporters.programs.services import find_municipality
    from supporters.registry.models import Registration

    with server.app_context() as session:
        program = session.scalar(select(Program).where(Program.code == program_code))
        coordinator = session.scalar(
            select(User).where(User.email == f"coordinator.{program_code}@demo.example")
        )
        supporter = session.scalar(select(User).where(User.email == supporter_email))
        assert program and coordinator and supporter
        registration = session.scalar(
            select(Registration).where(
                Registration.person_id == supporter.person_id,
                Registration.program_id == program.id,
            )
        )
        assert registration is not None, f"{supporter_email} is not registered in {program_code}"
        event = services.create_event(
            session,
            actor=coordinator,
            program=program,
            data=services.EventInput(
                title=title,
                municipality_id=find_municipality(session, place, prefecture=program.prefecture).id,
                venue=venue,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=hours),
                needed=2,
                activity=activity,
            ),
        )
        if attended:
            assignment = services.sign_up(
                session,
                actor=supporter,
                event=event,
                registration=registration,
                now=starts_at - timedelta(days=7),
            )
            services.record_attendance(
                session, actor=coordinator, event=event, attended_ids={assignment.id}, now=now_utc()
            )
        else:
            assignment = services.assign(
                session, actor=coordinator, event=event, registration=registration, now=now_utc()
            )
        session.commit()
        return assignment.id


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        _unavailable("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
        except PlaywrightError as error:
            _unavailable(f"Chromium did not start: {error}")
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:120]


def save_artifacts(name: str, pages: list[Any]) -> list[Path]:
    """A screenshot and the HTML of each page, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    saved = []
    for number, page in enumerate(pages):
        if page.is_closed():
            continue
        stem = f"{_safe(name)}-{number}"
        try:
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            (ARTIFACTS / f"{stem}.html").write_text(
                f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
            )
        except Exception as error:  # the page may be mid-navigation or crashed
            (ARTIFACTS / f"{stem}.txt").write_text(f"{page.url}\n{error!r}\n", encoding="utf-8")
        saved.extend(sorted(ARTIFACTS.glob(f"{stem}.*")))
    return saved


class Browsing:
    """Opens browser contexts (one per user) for one test and keeps their pages, so that a
    failing test's pages can be saved."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[Any] = []

    def new_page(self, viewport: dict[str, int] | None = None, **options: Any) -> Any:
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=viewport or DESKTOP,
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def login(self, email: str, viewport: dict[str, int] | None = None) -> Any:
        page = self.new_page(viewport)
        log_in(page, email)
        return page

    @property
    def pages(self) -> list[Any]:
        return [page for context in self.contexts for page in context.pages]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def log_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert not page.url.endswith("/login"), f"login failed for {email}"


@pytest.fixture
def browsing(
    request: pytest.FixtureRequest, browser: Any, live_server: LiveServer
) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    yield session
    failed = any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )
    try:
        if failed:
            saved = save_artifacts(request.node.name, session.pages)
            print("failure artifacts:", *saved, sep="\n  ")
    finally:
        session.close()
