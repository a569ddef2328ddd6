"""Time the main pages, the reminder pass and the card sheet on a generated data set; print
one markdown table.

    python benchmarks/run.py --database URL [--requests 200] [--seconds-per-case 30]
                             [--throughput-seconds 5] [--no-throughput] [--cards 1000]
                             [--pages-under-load 3]
                             [--reminders-at ISO8601]

The database is one that ``benchmarks/generate.py`` filled (at any ``--scale``). In one run:

* every main page, through the Flask test client in-process (server time, no network):
  median and 95th percentile of ``--requests`` requests (fewer if a case would take longer
  than ``--seconds-per-case``), after two warm-up requests, and the SQL statements each
  request sends (counted with a ``before_cursor_execute`` listener);
* the same for a bare Flask page rendering a 50-row template from the ``assignment`` table
  (about 600,000 rows at the national scale) in the same database: each page's median over
  the bare page's median is the figure ("× bare");
* throughput: gunicorn with 2 sync workers on loopback (``SUPPORTERS_ENV=production``),
  loaded by ``wrk`` (or, without it, a small threaded Python client) for
  ``--throughput-seconds`` per page, for the bare page, a page returning "ok", and three
  main pages;
* one reminder pass (``run_due``) at ``--reminders-at`` (default: now), then the pass of
  the next day (what a day adds); both are undone afterwards, so runs are repeatable;
* a card sheet of ``--cards`` supporters (selection, issue and PDF with QR codes), rolled
  back.

Users log in as ``tests/conftest.py``'s ``login_as`` does: a server-side session row and
its token in the Flask session cookie.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from generate import BENCH_MUNICIPALITY, BENCH_PROGRAM, BIG_COURSE_TITLE, EMAILS, TOKYO
from generate import bench_config as _bench_config

from supporters import create_app
from supporters.extensions import db

ROOT = Path(__file__).resolve().parents[1]
BARE_TEMPLATE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>50 rows</title></head>
<body><main><h1>Assignments</h1>
<table><thead><tr><th>id</th><th>event</th><th>person</th><th>starts</th><th>state</th></tr>
</thead><tbody>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.event_id }}</td>
<td>{{ row.person_id }}</td><td>{{ row.starts_at }}</td><td>{{ row.state }}</td></tr>
{% endfor %}</tbody></table></main></body></html>
"""


# --- the bare page ----------------------------------------------------------------------


def bare_app(url: str | None = None) -> Flask:
    """A minimal Flask app: ``/rows`` renders 50 rows of ``assignment`` from a random place,
    ``/ok`` returns "ok". Under gunicorn it is mounted at ``/bare`` (see `served_app`), its
    database URL from ``BENCH_DATABASE_URL``."""
    url = url or os.environ["BENCH_DATABASE_URL"]
    app = Flask("bare")
    engine = sa.create_engine(url)
    assignment = sa.table(
        "assignment",
        sa.column("id"),
        sa.column("event_id"),
        sa.column("person_id"),
        sa.column("starts_at"),
        sa.column("state"),
    )
    with engine.connect() as connection:
        top = int(connection.execute(sa.select(sa.func.max(assignment.c.id))).scalar() or 0)
    template = app.jinja_env.from_string(BARE_TEMPLATE)
    query = (
        sa.select(assignment)
        .where(assignment.c.id >= sa.bindparam("start"))
        .order_by(assignment.c.id)
        .limit(50)
    )

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    @app.get("/rows")
    def rows() -> str:
        start = random.randint(1, max(top - 60, 1))
        with engine.connect() as connection:
            found = connection.execute(query, {"start": start}).all()
        return template.render(rows=found)

    app.extensions["bench_engine"] = engine
    return app


# --- measuring --------------------------------------------------------------------------


@contextlib.contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


@dataclass
class Row:
    area: str
    case: str
    times: list[float] = field(default_factory=list)  # seconds
    queries: int | None = None
    throughput: float | None = None  # requests per second under gunicorn
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def repeat(
    run: Callable[[], Any], engine: sa.Engine, *, requests: int, budget: float, warm: int = 2
) -> tuple[list[float], int]:
    """Times of up to `requests` runs (stopping once `budget` seconds are spent) and the
    largest number of statements one run sent."""
    for _ in range(warm):
        run()
    times: list[float] = []
    most = 0
    spent = time.perf_counter()
    while len(times) < requests and (len(times) < 5 or time.perf_counter() - spent < budget):
        with counting(engine) as statements:
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        most = max(most, len(statements))
    return times, most


def get(client: Any, path: str) -> Callable[[], None]:
    def run() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.location or ''}")
        response.get_data()

    return run


# --- the subjects -----------------------------------------------------------------------


@dataclass
class Subjects:
    tokens: dict[str, str]  # role -> session token
    feed_token: str
    big_course: int
    big_course_enrolments: int
    event: int
    month: str
    year: int
    program_id: int
    search: str
    counts: dict[str, int]


def open_sessions(app: Flask) -> Subjects:
    from sqlalchemy import func, select

    from supporters.accounts import services as accounts
    from supporters.accounts.models import User
    from supporters.core.dates import fiscal_year
    from supporters.db import now_utc
    from supporters.dispatch import calendar as feeds
    from supporters.dispatch.models import DispatchEvent
    from supporters.programs.models import Program
    from supporters.training.models import Course, Enrolment

    with app.app_context():
        session = db.session
        now = now_utc()
        tokens = {}
        users = {}
        for role, email in EMAILS.items():
            user = session.scalar(select(User).where(User.email == email))
            if user is None:
                raise SystemExit(f"{email} not found: fill the database with generate.py first")
            users[role] = user
            tokens[role] = accounts.start_session(
                session, user, now=now, lifetime=timedelta(hours=6)
            )
        feed_token = feeds.reset_feed_token(session, users["supporter"], now=now)
        program = session.scalar(select(Program).where(Program.code == BENCH_PROGRAM))
        assert program is not None
        big = session.scalar(select(Course).where(Course.title == BIG_COURSE_TITLE))
        assert big is not None, "the big course is missing"
        enrolments = session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.course_id == big.id)
        )
        event = session.scalar(
            select(DispatchEvent)
            .where(
                DispatchEvent.program_id == program.id,
                DispatchEvent.state.in_(("open", "staffed")),
                DispatchEvent.starts_at > now + timedelta(days=3),
            )
            .order_by(DispatchEvent.starts_at)
            .limit(1)
        )
        assert event is not None, "no upcoming open event"
        counts = {
            table: int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
            for table in (
                "person",
                "registration",
                "municipality",
                "course",
                "enrolment",
                "dispatch_event",
                "assignment",
                "activity_report",
                "user_account",
            )
        }
        today = now.astimezone(TOKYO).date()
        subjects = Subjects(
            tokens=tokens,
            feed_token=feed_token,
            big_course=big.id,
            big_course_enrolments=int(enrolments or 0),
            event=event.id,
            month=f"{today:%Y-%m}",
            year=fiscal_year(today) - 1,
            program_id=program.id,
            search="サトウ",
            counts=counts,
        )
        session.commit()
    return subjects


def client_for(app: Flask, token: str | None) -> Any:
    client = app.test_client()
    if token is not None:
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = token
            flask_session["_fresh"] = True
    return client


def cookie_for(app: Flask, token: str) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    value = serializer.dumps({"_user_id": token, "_fresh": True, "_permanent": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


# --- pages ------------------------------------------------------------------------------


@dataclass
class Page:
    area: str
    case: str
    role: str | None
    path: str
    load: bool = False  # also measured under gunicorn


def pages(s: Subjects) -> list[Page]:
    month = f"month={s.month}"
    return [
        Page("coordinator", "start page", "coordinator", "/"),
        Page("coordinator", "courses list", "coordinator", "/courses/"),
        Page(
            "coordinator",
            f"course detail ({s.big_course_enrolments:,} enrolments)",
            "coordinator",
            f"/courses/{s.big_course}",
        ),
        Page("coordinator", "register list, page 1", "coordinator", "/register/", load=True),
        Page(
            "coordinator",
            f"register search “{s.search}”",
            "coordinator",
            f"/register/?q={s.search}",
        ),
        Page("coordinator", "dispatch month view", "coordinator", f"/dispatch/?{month}", load=True),
        Page("coordinator", "event detail with suggestions", "coordinator", f"/dispatch/{s.event}"),
        Page(
            "coordinator",
            f"fiscal-year report FY{s.year}",
            "coordinator",
            f"/reports/{BENCH_PROGRAM}/{s.year}",
        ),
        Page("supporter", "my page", "supporter", "/me"),
        Page("supporter", "schedule", "supporter", "/schedule", load=True),
        Page(
            "supporter",
            "calendar feed (five years)",
            None,
            f"/calendar/{s.feed_token}.ics",
        ),
        Page(
            "municipal staff",
            f"supporters list ({BENCH_MUNICIPALITY})",
            "staff",
            "/municipality/supporters",
        ),
        Page("municipal staff", "dispatch month view", "staff", f"/dispatch/?{month}"),
    ]


def measure_pages(
    app: Flask, subjects: Subjects, *, requests: int, budget: float
) -> tuple[Row, list[tuple[Page, Row]]]:
    bare = bare_app(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    bare_engine = bare.extensions["bench_engine"]
    bare_client = bare.test_client()
    times, queries = repeat(
        get(bare_client, "/rows"), bare_engine, requests=requests, budget=budget
    )
    baseline = Row("baseline", "bare Flask page, 50-row template", times, queries)
    with app.app_context():
        engine = db.engine
    clients = {role: client_for(app, token) for role, token in subjects.tokens.items()}
    clients[None] = client_for(app, None)  # type: ignore[index]
    results = []
    for page in pages(subjects):
        times, queries = repeat(
            get(clients[page.role], page.path),  # type: ignore[index]
            engine,
            requests=requests,
            budget=budget,
        )
        results.append((page, Row(page.area, page.case, times, queries)))
        print(f"  {page.case}: {statistics.median(times) * 1000:.1f} ms", file=sys.stderr)
    bare_engine.dispose()
    return baseline, results


def measure_status_counts(app: Flask, subjects: Subjects, *, requests: int, budget: float) -> Row:
    from supporters.programs.models import Program
    from supporters.registry.services import status_counts

    with app.app_context():
        engine = db.engine
        program = db.session.get(Program, subjects.program_id)
        assert program is not None
        today = datetime.now(TOKYO).date()

        def run() -> None:
            status_counts(db.session, program, today)
            db.session.rollback()

        times, queries = repeat(run, engine, requests=requests, budget=budget)
        db.session.remove()
    return Row("coordinator", "register status counts (service)", times, queries)


# --- jobs -------------------------------------------------------------------------------


def measure_reminders(app: Flask, at: datetime) -> list[Row]:
    """Two passes (at `at` and a day later), then everything they wrote is deleted."""
    from supporters.reminders.jobs import run_due

    # answer_link: the one-tap links of the mails; service_state: each rule's last pass,
    # which the next run's first pass must not see.
    tables = ("reminder_ledger", "notification", "outbox_message", "answer_link", "audit_event")
    rows = []
    with app.app_context():
        engine = db.engine
        before = {
            t: int(db.session.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}")) or 0)  # noqa: S608
            for t in tables
        }
        states = {name for (name,) in db.session.execute(sa.text("SELECT name FROM service_state"))}
        db.session.rollback()
        try:
            for label, moment in (("first pass", at), ("next day's pass", at + timedelta(days=1))):
                with counting(engine) as statements:
                    started = time.perf_counter()
                    report = run_due(db.session, now=moment, app_config=app.config)
                    elapsed = time.perf_counter() - started
                decided = sum(report.decided.values())
                errors = f"; errors: {report.errors}" if report.errors else ""
                rows.append(
                    Row(
                        "jobs",
                        f"reminder pass, {label} ({moment.astimezone(TOKYO):%Y-%m-%d %H:%M})",
                        [elapsed],
                        len(statements),
                        note=f"{decided:,} reminders decided, {report.outbox.done:,} mails "
                        f"handled (no SMTP: kept){errors}",
                    )
                )
        finally:
            db.session.rollback()
            for table in tables:
                db.session.execute(
                    sa.text(f"DELETE FROM {table} WHERE id > :top"),  # noqa: S608
                    {"top": before[table]},
                )
            db.session.execute(
                sa.text("DELETE FROM service_state WHERE name NOT IN :kept").bindparams(
                    sa.bindparam("kept", expanding=True)
                ),
                {"kept": sorted(states) or [""]},
            )
            db.session.commit()
            db.session.remove()
    return rows


def measure_card_sheet(app: Flask, cards: int) -> Row:
    from sqlalchemy import select

    from supporters.accounts.models import User
    from supporters.certificates import services
    from supporters.certificates.pdf import render_card_sheet
    from supporters.db import now_utc
    from supporters.programs.models import Program
    from supporters.registry.models import Registration

    with app.app_context():
        engine = db.engine
        session = db.session
        program = session.scalar(select(Program).where(Program.code == BENCH_PROGRAM))
        actor = session.scalar(select(User).where(User.email == EMAILS["coordinator"]))
        assert program is not None and actor is not None
        today = now_utc().astimezone(TOKYO).date()
        # The most recent registrations: a period that holds about `cards` supporters.
        since = session.scalar(
            select(Registration.registered_on)
            .where(Registration.program_id == program.id, Registration.withdrawn_on.is_(None))
            .order_by(Registration.registered_on.desc())
            .offset(max(cards - 1, 0))
            .limit(1)
        )
        font = app.config.get("PDF_FONT")
        with counting(engine) as statements:
            started = time.perf_counter()
            selection = services.SheetSelection(
                program=program, day=today, status="active", registered_from=since
            )
            registrations = services.select_for_sheet(session, selection)[:cards]
            issued = services.issue_sheet(
                session,
                actor=actor,
                registrations=registrations,
                now=now_utc(),
                base_url=str(app.config["BASE_URL"]),
                font_path=str(font) if font else None,
            )
            drawing = time.perf_counter()
            pdf = render_card_sheet(issued.cards, font_path=str(font) if font else None)
            finished = time.perf_counter()
        session.rollback()
        session.remove()
    return Row(
        "jobs",
        f"card sheet, {len(issued.cards):,} cards with QR codes",
        [finished - started],
        len(statements),
        note=f"PDF {len(pdf) / 1e6:.2f} MB; drawing {finished - drawing:.2f} s, "
        f"selection and issue {drawing - started:.2f} s (rolled back)",
    )


# --- throughput -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(target: str, env: dict[str, str], chdir: Path) -> Iterator[int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(chdir),
        "--log-level",
        "warning",
        target,
    ]
    process = subprocess.Popen(  # noqa: S603
        command,
        env={**os.environ, **env, "SUPPORTERS_BASE_URL": f"http://127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"gunicorn {target} exited: {error[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {target} did not start")
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def check_page(port: int, path: str, cookie: str | None) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"gunicorn GET {path}: {response.status}")


def load(port: int, path: str, cookie: str | None, seconds: float) -> tuple[float, int]:
    """Requests per second and the number of requests, with wrk if it is installed."""
    check_page(port, path, cookie)
    check_page(port, path, cookie)  # both workers warm, most likely
    wrk = shutil.which("wrk")
    if wrk:
        command = [wrk, "-t1", "-c4", f"-d{max(1, round(seconds))}s"]
        if cookie:
            command += ["-H", f"Cookie: {cookie}"]
        output = subprocess.run(  # noqa: S603
            [*command, f"http://127.0.0.1:{port}{path}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 120,
        ).stdout
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if bad:
            raise RuntimeError(f"wrk {path}: {bad.group(1)} responses were not 2xx/3xx")
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        total = re.search(r"(\d+) requests in", output)
        assert rate and total, output
        return float(rate.group(1)), int(total.group(1))
    return python_load(port, path, cookie, seconds)


def python_load(
    port: int, path: str, cookie: str | None, seconds: float, clients: int = 4
) -> tuple[float, int]:
    """A threaded load generator on loopback, bounded in time and in count."""
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    limit = 100_000
    failures: list[str] = []

    def worker() -> None:
        while time.monotonic() < stop and done[0] < limit:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failures.append(str(response.status))
                return
            with lock:
                done[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"load {path}: status {failures[0]}")
    return done[0] / (time.monotonic() - started), done[0]


def served_app() -> Any:
    """What gunicorn serves (``run:served_app()``): the application exactly as ``wsgi.py``
    builds it (settings from ``SUPPORTERS_*``), with the bare app mounted at ``/bare`` in the
    same workers."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from config import config_from_env

    application = create_app(config_from_env())
    return DispatcherMiddleware(application.wsgi_app, {"/bare": bare_app()})


def measure_throughput(
    app: Flask,
    subjects: Subjects,
    page_rows: list[tuple[Page, Row]],
    seconds: float,
    pages_under_load: int,
) -> tuple[float, float]:
    """Fills `throughput` of the pages marked `load` (the first `pages_under_load` of them);
    returns the bare pages' rates."""
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    env = {
        "BENCH_DATABASE_URL": url,
        "SUPPORTERS_ENV": "production",
        "SUPPORTERS_DATABASE_URL": url,
        "SUPPORTERS_SECRET_KEY": str(app.config["SECRET_KEY"]),
    }
    with gunicorn("run:served_app()", env, ROOT / "benchmarks") as port:
        ok_rate, _n = load(port, "/bare/ok", None, seconds)
        rows_rate, _n = load(port, "/bare/rows", None, seconds)
        loaded = [(page, row) for page, row in page_rows if page.load][:pages_under_load]
        for page, row in loaded:
            token = subjects.tokens[page.role] if page.role else None
            cookie = cookie_for(app, token) if token else None
            row.throughput, _n = load(port, page.path, cookie, seconds)
    return ok_rate, rows_rate


# --- output -----------------------------------------------------------------------------


class Phases:
    """Prints how long each phase of the run took (on stderr)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        print(f"{name}: {now - self.last:.1f} s", file=sys.stderr)
        self.last = now


def table(rows: Sequence[Row], baseline: Row, bare_rate: float | None) -> str:
    def ms(value: float) -> str:
        return f"{value * 1000:,.1f}"

    lines = [
        "| area | case | n | median ms | p95 ms | × bare | queries | req/s | × bare req/s "
        "| notes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in [baseline, *rows]:
        single = len(row.times) == 1
        ratio = "" if row.area == "jobs" else f"{row.median / baseline.median:.1f}"
        rate = f"{row.throughput:,.0f}" if row.throughput is not None else ""
        rate_ratio = (
            f"{row.throughput / bare_rate:.2f}" if row.throughput is not None and bare_rate else ""
        )
        lines.append(
            f"| {row.area} | {row.case} | {len(row.times)} | {ms(row.median)} | "
            f"{'' if single else ms(row.p95)} | {ratio} | "
            f"{'' if row.queries is None else row.queries} | {rate} | {rate_ratio} | "
            f"{row.note} |"
        )
    return "\n".join(lines)


def records(rows: Sequence[Row], baseline: Row, bare_rate: float | None) -> list[dict[str, Any]]:
    """The table as data, for machines: the same figures as `table`, times in milliseconds."""

    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    out = []
    for row in [baseline, *rows]:
        single = len(row.times) == 1
        out.append(
            {
                "area": row.area,
                "case": row.case,
                "median_ms": rounded(row.median * 1000, 2),
                "p95_ms": None if single else rounded(row.p95 * 1000, 2),
                "x_bare": None if row.area == "jobs" else rounded(row.median / baseline.median, 2),
                "queries": row.queries,
                "req_s": rounded(row.throughput, 1),
                "x_bare_req_s": (
                    rounded(row.throughput / bare_rate, 3)
                    if row.throughput is not None and bare_rate
                    else None
                ),
                "notes": row.note,
            }
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database filled by generate.py")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument(
        "--seconds-per-case", type=float, default=30, help="stop a case after this long"
    )
    parser.add_argument("--throughput-seconds", type=float, default=5)
    parser.add_argument("--no-throughput", action="store_true", help="skip gunicorn")
    parser.add_argument(
        "--pages-under-load", type=int, default=3, help="main pages loaded (at most 3)"
    )
    parser.add_argument("--cards", type=int, default=1000, help="cards on the sheet")
    parser.add_argument(
        "--reminders-at",
        type=datetime.fromisoformat,
        default=None,
        help="time of the reminder pass (ISO 8601 with offset; default: now)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="also write the table as JSON"
    )
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="time the pages (and throughput) only: no reminder pass, no card sheet",
    )
    args = parser.parse_args(argv)
    url = args.database
    app = create_app(
        _bench_config(url, RATELIMIT_ENABLED=False, SECRET_KEY=secrets.token_urlsafe(48))
    )
    with app.app_context():
        upgrade()  # a data set generated before the latest migrations gets them
    started = time.perf_counter()
    subjects = open_sessions(app)
    backend = sa.make_url(url).get_backend_name()
    print(
        f"{backend}: "
        + ", ".join(f"{table} {count:,}" for table, count in subjects.counts.items()),
        file=sys.stderr,
    )
    phase = Phases()
    baseline, page_rows = measure_pages(
        app, subjects, requests=args.requests, budget=args.seconds_per_case
    )
    counts_row = measure_status_counts(
        app, subjects, requests=args.requests, budget=args.seconds_per_case
    )
    phase.done("pages")
    bare_rate = None
    if not args.no_throughput:
        ok_rate, bare_rate = measure_throughput(
            app, subjects, page_rows, args.throughput_seconds, args.pages_under_load
        )
        baseline.throughput = bare_rate
        baseline.note = f"a page returning “ok”: {ok_rate:,.0f} req/s"
        phase.done("throughput")
    jobs: list[Row] = []
    if not args.pages_only:
        at = args.reminders_at or datetime.now(UTC)
        if at.tzinfo is None:
            raise SystemExit("--reminders-at needs a UTC offset, e.g. 2026-02-02T07:30:00+09:00")
        jobs = measure_reminders(app, at)
        phase.done("reminders")
        jobs.append(measure_card_sheet(app, args.cards))
        phase.done("card sheet")
    rows = [row for _page, row in page_rows]
    rows.insert(5, counts_row)
    client = "wrk -t1 -c4" if shutil.which("wrk") else "a Python client with 4 threads"
    load_note = (
        ""
        if args.no_throughput
        else f"; req/s: gunicorn with 2 sync workers, {client}, "
        f"{args.throughput_seconds:g} s per page"
    )
    print()
    print(
        f"**{backend}**, {subjects.counts['registration']:,} registrations, "
        f"{subjects.counts['municipality']:,} municipalities, "
        f"{subjects.counts['dispatch_event']:,} events, "
        f"{subjects.counts['assignment']:,} assignments, "
        f"{subjects.counts['enrolment']:,} enrolments, "
        f"{subjects.counts['activity_report']:,} activity reports; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}{load_note}; "
        f"run took {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table([*rows, *jobs], baseline, bare_rate))
    if args.json is not None:
        args.json.write_text(
            json.dumps(records([*rows, *jobs], baseline, bare_rate), ensure_ascii=False, indent=2)
            + "\n",
            encoding="utf-8",
        )
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
