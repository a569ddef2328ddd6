"""Build a national-scale data set for the benchmarks, fast, on SQLite or PostgreSQL.

    python benchmarks/generate.py --database URL [--scale 1.0] [--seed 9] [--force]

``--scale 1.0`` is the national scale: about 100,000 registered supporters (and the trainees
who did not register), 200,000 dispatch events over five years (and two months ahead) and
600,000 assignments, with the courses, enrolments, attendance, renewals, suspensions,
withdrawals (erased after the retention period), activity reports and user accounts that go
with them. They live in the three existing programs (Tochigi 50 %, Chiba 30 %, Kagawa 20 %):
events, courses and each supporter's main municipality lie in the program's prefecture, and
residences are spread over Japan's 1,741 municipalities (Tochigi takes anyone, Chiba people
who live or work there, Kagawa people who can act there).

The rules the application enforces hold: a registration is valid (registered, not lapsed,
suspended or withdrawn) on the day of each of its assignments; no person holds two
assignments on the same day (events are at most one a day per person, so never overlap);
no event has more live assignments than it needs; one live assignment per person and event;
Tochigi's three-year validity is renewed by follow-up courses the supporter completed;
registration and completion numbers follow the program's format and the number sequences
are advanced past them.

The schema is built by the real migrations (``create_app`` + ``flask_migrate.upgrade``).
Rows go in with SQLAlchemy Core ``insert()`` executemany batches on SQLite and ``COPY`` on
PostgreSQL, with ids assigned here; then ``ANALYZE``.

``--database`` takes a SQLite URL (``sqlite:////tmp/bench.sqlite3``) or a PostgreSQL URL
whose ``options=-csearch_path=NAME`` names a schema (created if missing), for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench``.
``--force`` deletes the SQLite file or drops and recreates the schema first; without it a
database that already holds people is refused.

Known accounts for the benchmarks (no password; ``run.py`` opens a session for them):
``bench.coordinator@bench.example`` (Tochigi), ``bench.staff@bench.example`` (宇都宮市,
Tochigi), ``bench.supporter@bench.example`` (a Tochigi supporter with about one dispatch a
week for five years), ``bench.admin@bench.example``. The course with 1,000 enrolments is
titled ``BIG_COURSE_TITLE``.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from config import TestConfig
from supporters import create_app
from supporters.core.dates import add_months, fiscal_year
from supporters.core.progress import TerminalProgress
from supporters.core.time import TOKYO
from supporters.extensions import db
from supporters.registry.status_refresh import refresh_statuses

NATIONAL = {"supporters": 100_000, "events": 200_000, "assignments": 600_000}
SHARES = {"tochigi": 0.5, "chiba": 0.3, "kagawa": 0.2}
BENCH_PROGRAM = "tochigi"
BENCH_MUNICIPALITY = "宇都宮市"
BIG_COURSE_TITLE = "ベンチマーク 大規模養成研修（オンライン）"
EMAILS = {
    "admin": "bench.admin@bench.example",
    "coordinator": "bench.coordinator@bench.example",
    "staff": "bench.staff@bench.example",
    "supporter": "bench.supporter@bench.example",
}
BATCH = 10_000
ERASED_NAME = "（削除済み）"
RETENTION_DAYS = 365

SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"),
    ("石井", "イシイ"), ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
]  # fmt: skip
GIVEN_NAMES = [
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("誠", "マコト"),
    ("桜", "サクラ"), ("大輔", "ダイスケ"), ("美咲", "ミサキ"), ("翔太", "ショウタ"),
    ("陽菜", "ヒナ"), ("健", "ケン"), ("葵", "アオイ"), ("蓮", "レン"), ("結衣", "ユイ"),
    ("大翔", "ヒロト"), ("優子", "ユウコ"), ("浩", "ヒロシ"), ("直樹", "ナオキ"),
    ("恵", "メグミ"), ("隆", "タカシ"), ("裕子", "ユウコ"), ("和也", "カズヤ"),
    ("明美", "アケミ"), ("聡", "サトシ"), ("真由美", "マユミ"), ("修", "オサム"),
    ("久美子", "クミコ"), ("拓也", "タクヤ"), ("愛", "アイ"), ("剛", "ツヨシ"),
    ("智子", "トモコ"),
]  # fmt: skip
ATTRIBUTES = [
    ("welfare_professional", 30),
    ("family", 20),
    ("lived_experience", 5),
    ("municipal_staff", 10),
    ("private_support", 10),
    ("resident", 20),
    ("other", 5),
]
TOPICS = ["going_out", "relating", "family", "school", "work", "health", "other"]
CURRICULUM = [
    ("ひきこもりの理解と支援の基本", clock(10, 0), clock(12, 0)),
    ("家族への支援", clock(13, 0), clock(15, 0)),
    ("傾聴とサポーターの役割", clock(13, 30), clock(16, 30)),
]
# Event times (Japan): disjoint, and a person takes at most one event a day anyway.
SLOTS = [(clock(10, 0), clock(12, 0)), (clock(13, 30), clock(16, 30)), (clock(18, 0), clock(20, 0))]
ACTIVITIES = {
    "outreach_sitting_in": [("sitting_in", "出張相談会", "保健センター")],
    "municipal_request": [
        ("home_visit", "訪問支援への同行", "市役所 福祉課"),
        ("sitting_in", "相談会への同席", "公民館"),
    ],
    "group_activities": [
        ("drop_in", "居場所「ひだまり」", "コミュニティセンター"),
        ("family_meeting", "家族のつどい", "福祉会館"),
    ],
}
KIND_FOR_MODE = {
    "outreach_sitting_in": "outreach_day",
    "municipal_request": "dispatch_request",
    "group_activities": "group_activity",
}
NEEDED = [1, 2, 2, 3, 3, 3, 4, 4, 5, 6]
ORDER = [
    "organisation",
    "person",
    "user_account",
    "role_grant",
    "program_municipality",
    "course",
    "course_session",
    "enrolment",
    "attendance",
    "registration",
    "registration_event",
    "dispatch_event",
    "assignment",
    "activity_report",
    "number_sequence",
]


# --- database preparation ---------------------------------------------------------------


def search_path(url: str) -> str | None:
    """The schema named by ``options=-csearch_path=NAME`` in a PostgreSQL URL, if any."""
    parsed = sa.make_url(url)
    options = parsed.query.get("options")
    for option in [options] if isinstance(options, str) else list(options or []):
        for part in unquote(option).split():
            if part.startswith("-csearch_path="):
                return part.split("=", 1)[1].split(",")[0].strip('"')
    return None


def without_options(url: str) -> str:
    parsed = sa.make_url(url)
    return parsed.set(
        query={k: v for k, v in parsed.query.items() if k != "options"}
    ).render_as_string(hide_password=False)


def prepare_database(url: str, *, force: bool) -> None:
    """Delete the SQLite file or (re)create the PostgreSQL schema, as asked."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise SystemExit("a SQLite database file is needed (sqlite:////path/file.sqlite3)")
        path = Path(parsed.database)
        if force:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    schema = search_path(url)
    if schema is None:
        if force:
            raise SystemExit("--force on PostgreSQL needs options=-csearch_path=SCHEMA in the URL")
        return
    engine = sa.create_engine(without_options(url))
    try:
        with engine.begin() as connection:
            if force:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()


def bench_config(url: str, **overrides: Any) -> type[TestConfig]:
    return type(
        "BenchConfig",
        (TestConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}, **overrides},
    )


def migrated_app(url: str) -> Flask:
    from flask_migrate import upgrade

    app = create_app(bench_config(url))
    with app.app_context():
        upgrade()
    return app


# --- bulk loading ---------------------------------------------------------------------


class Loader:
    """Buffers rows per table and writes every buffer, parents first, when one is full:
    executemany on SQLite, COPY on PostgreSQL. Ids are assigned here (``take``)."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.tables = {name: db.metadata.tables[name] for name in ORDER}
        self.columns: dict[str, list[str]] = {}
        self.required: dict[str, set[str]] = {
            name: {c.name for c in table.columns if not c.nullable and c.server_default is None}
            for name, table in self.tables.items()
        }
        self.json_columns = {
            name: {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
            for name, table in self.tables.items()
        }
        self.buffers: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.converters: dict[str, list[Any]] = {}
        self.counts: Counter[str] = Counter()
        self.next_id: dict[str, int] = {}
        for name in ORDER:
            highest = connection.execute(sa.select(sa.func.max(self.tables[name].c.id))).scalar()
            self.next_id[name] = int(highest or 0) + 1

    def take(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def add(self, table: str, **values: Any) -> int:
        if "id" not in values:
            values["id"] = self.take(table)
        columns = self.columns.get(table)
        if columns is None:
            missing = self.required[table] - values.keys()
            if missing:
                raise ValueError(f"{table}: no value for {sorted(missing)}")
            columns = self.columns[table] = list(values)
        elif len(values) != len(columns):
            raise ValueError(f"{table}: columns {sorted(values)} differ from {columns}")
        buffer = self.buffers[table]
        buffer.append(tuple(values[c] for c in columns))
        if len(buffer) >= BATCH:
            self.flush()
        return int(values["id"])

    def flush(self) -> None:
        for table in ORDER:
            rows = self.buffers.get(table)
            if not rows:
                continue
            self._write(table, self.columns[table], rows)
            self.counts[table] += len(rows)
            rows.clear()

    def _write(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.postgres:
            self._copy(table, columns, rows)
        else:
            self._executemany(table, columns, rows)

    def _copy(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        json_at = [i for i, c in enumerate(columns) if c in self.json_columns[table]]
        names = ", ".join(f'"{c}"' for c in columns)
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    values = list(row)
                    for i in json_at:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    copy.write_row(values)
                else:
                    copy.write_row(row)

    def _executemany(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """The DB-API's executemany with values converted as SQLAlchemy would store them
        (checked against SQLAlchemy's own bind processors on the first row of each table),
        without SQLAlchemy's per-row overhead."""
        converters = self.converters.get(table)
        if converters is None:
            converters = self.converters[table] = self._converters(table, columns, rows[0])
        convert = [(i, f) for i, f in enumerate(converters) if f is not None]
        if convert:
            converted = []
            for row in rows:
                values = list(row)
                for i, function in convert:
                    if values[i] is not None:
                        values[i] = function(values[i])
                converted.append(values)
        else:
            converted = [list(row) for row in rows]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        driver = self.connection.connection.driver_connection
        assert driver is not None
        driver.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", converted)  # noqa: S608

    def _converters(self, table: str, columns: list[str], sample: tuple[Any, ...]) -> list[Any]:
        dialect = self.connection.dialect
        found: list[Any] = []
        for column, value in zip(columns, sample, strict=True):
            sql_type = self.tables[table].c[column].type
            processor = sql_type._cached_bind_processor(dialect)
            fast: Any = processor
            if isinstance(sql_type, sa.DateTime) or isinstance(
                getattr(sql_type, "impl_instance", None), sa.DateTime
            ):
                fast = _sqlite_datetime
            elif isinstance(sql_type, sa.Date):
                fast = date.isoformat
            elif isinstance(sql_type, sa.Time):
                fast = _sqlite_time
            if fast is not processor and value is not None:
                expected = processor(value) if processor else value
                if fast(value) != expected:
                    raise AssertionError(f"{table}.{column}: {fast(value)!r} != {expected!r}")
            found.append(fast)
        return found

    def finish(self) -> None:
        self.flush()
        if self.postgres:
            for table in ORDER:
                self.connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )


# --- the data set ---------------------------------------------------------------------


@dataclass
class Place:
    id: int
    code: str
    prefecture: str
    name: str


@dataclass
class Supporter:
    """What the dispatch phase needs to know about a registration."""

    registration_id: int
    person_id: int
    user_id: int | None
    registered_on: date
    valid_to: date  # last day on which it may be dispatched (lapse, withdrawal, suspension)
    suspended: tuple[date, date] | None  # days on which it is suspended (from, to)
    main_place: int

    def valid_on(self, day: date) -> bool:
        if day < self.registered_on or day > self.valid_to:
            return False
        return self.suspended is None or not (self.suspended[0] <= day <= self.suspended[1])


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite storage format of an aware datetime, in UTC."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_time(value: clock) -> str:
    return value.isoformat("microseconds")


def at(day: date, moment: clock) -> datetime:
    return datetime.combine(day, moment, TOKYO).astimezone(UTC)


class Generator:
    def __init__(self, loader: Loader, *, scale: float, seed: int, now: datetime) -> None:
        self.load = loader
        self.scale = scale
        self.rng = random.Random(seed)
        self.now = now
        self.today = now.astimezone(TOKYO).date()
        self.sequences: Counter[tuple[int, str, int]] = Counter()
        self.attributes = [a for a, _w in ATTRIBUTES]
        self.attribute_weights = [w for _a, w in ATTRIBUTES]
        self.attribute_of: dict[int, str] = {}

    # reference data -------------------------------------------------------------------

    def read_reference(self) -> None:
        connection = self.load.connection
        self.places = [
            Place(*row)
            for row in connection.execute(
                sa.text("SELECT id, code, prefecture, name FROM municipality ORDER BY code")
            )
        ]
        self.programs = {
            row.code: row
            for row in connection.execute(
                sa.text(
                    "SELECT id, code, prefecture, registration_mode, dispatch_mode, "
                    "follow_up_interval_months, follow_up_mandatory, follow_up_window_days, "
                    "registration_number_format, registration_number_prefix, "
                    "completion_number_format FROM program"
                )
            )
        }
        missing = set(SHARES) - set(self.programs)
        if missing:
            raise SystemExit(f"programs missing from the database: {sorted(missing)}")

    def name(self) -> tuple[str, str]:
        surname, surname_reading = self.rng.choice(SURNAMES)
        given, given_reading = self.rng.choice(GIVEN_NAMES)
        return f"{surname} {given}", f"{surname_reading} {given_reading}"

    def person(
        self,
        *,
        residence: int | None,
        work: int | None = None,
        erased: bool = False,
        fixed_name: tuple[str, str] | None = None,
        created: datetime | None = None,
    ) -> int:
        name, reading = fixed_name or self.name()
        person_id = self.load.take("person")
        created = min(created or self.now - timedelta(days=4000), self.now)
        if erased:
            name, reading = ERASED_NAME, "ー"
        attribute = self.rng.choices(self.attributes, self.attribute_weights)[0]
        self.attribute_of[person_id] = attribute  # recorded on their enrolments as given
        return self.load.add(
            "person",
            id=person_id,
            name=name,
            name_reading=reading,
            name_key="" if erased else name.replace(" ", ""),
            email=None if erased or self.rng.random() < 0.15 else f"p{person_id}@example.jp",
            phone=None
            if erased
            else f"090-{person_id // 10000 % 10000:04d}-{person_id % 10000:04d}",
            residence_municipality_id=residence,
            work_municipality_id=work,
            attribute=attribute,
            created_at=created,
            updated_at=created,
        )

    def user(
        self,
        *,
        email: str,
        name: str,
        person_id: int | None = None,
        created: datetime | None = None,
    ) -> int:
        return self.load.add(
            "user_account",
            email=email,
            display_name=name,
            active=True,
            person_id=person_id,
            created_at=created or self.now - timedelta(days=4000),
            reminder_opt_outs=[],
        )

    def grant(
        self,
        user_id: int,
        role: str,
        program_id: int | None,
        municipality_id: int | None = None,
        *,
        when: datetime | None = None,
    ) -> None:
        self.load.add(
            "role_grant",
            user_id=user_id,
            role=role,
            program_id=program_id,
            municipality_id=municipality_id,
            granted_at=when or self.now - timedelta(days=4000),
        )

    def number(self, program: Any, kind: str, year: int) -> str:
        key = (program.id, kind, year)
        self.sequences[key] += 1
        pattern = (
            program.registration_number_format
            if kind == "registration"
            else program.completion_number_format
        )
        return str(
            pattern.format(
                prefix=program.registration_number_prefix, year=year, seq=self.sequences[key]
            )
        )

    def setup(self) -> None:
        """Organisations, the dispatch scheme, coordinators, municipal staff, the admin."""
        self.read_reference()
        self.operator: dict[str, int] = {}
        self.coordinator: dict[str, int] = {}
        self.staff: dict[int, int] = {}  # municipality id -> a staff user
        self.in_prefecture: dict[str, list[Place]] = {}
        self.scheme: dict[str, list[Place]] = {}
        admin = self.user(email=EMAILS["admin"], name="ベンチ 管理者")
        self.grant(admin, "admin", None)
        for code in SHARES:
            program = self.programs[code]
            places = [p for p in self.places if p.prefecture == program.prefecture]
            self.in_prefecture[code] = places
            capital = places[0].id
            self.operator[code] = self.load.add(
                "organisation",
                program_id=program.id,
                kind="operator",
                name=f"{program.prefecture}ひきこもり地域支援センター（ベンチマーク）",
                municipality_id=capital,
                created_at=self.now - timedelta(days=4000),
            )
            email = (
                EMAILS["coordinator"]
                if code == BENCH_PROGRAM
                else f"bench.coordinator.{code}@bench.example"
            )
            self.coordinator[code] = self.user(
                email=email, name=f"{program.prefecture} コーディネーター"
            )
            self.grant(self.coordinator[code], "coordinator", program.id)
            joined = [p for i, p in enumerate(places) if i % 5 != 4]  # most municipalities
            self.scheme[code] = joined
            if program.dispatch_mode == "municipal_request":
                for place in joined:
                    self.load.add(
                        "program_municipality",
                        program_id=program.id,
                        municipality_id=place.id,
                        joined_on=self.today - timedelta(days=6 * 365),
                        paid=False,
                    )
            for place in places:
                bench = code == BENCH_PROGRAM and place.name == BENCH_MUNICIPALITY
                email = EMAILS["staff"] if bench else f"bench.staff.{place.code}@bench.example"
                user_id = self.user(email=email, name=f"{place.name} 担当者")
                self.grant(user_id, "municipal_staff", program.id, place.id)
                self.staff[place.id] = user_id

    # training and the register --------------------------------------------------------

    def trainees_and_register(self, code: str) -> list[Supporter]:
        """Initial courses over ten fiscal years, their trainees, and the registrations of
        those who completed; follow-up courses and the renewals they bring."""
        rng = self.rng
        program = self.programs[code]
        places = self.in_prefecture[code]
        weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(places))))
        target = max(20, round(NATIONAL["supporters"] * self.scale * SHARES[code]))
        on_request = program.registration_mode == "on_request"
        renewing = bool(program.follow_up_interval_months and program.follow_up_mandatory)
        per_course = 40
        big = max(per_course, min(1000, round(1000 * self.scale))) if code == BENCH_PROGRAM else 0
        register_rate = 0.85 if on_request else 1.0
        trainees = round(target / (0.9 * register_rate * 0.97)) - max(big - per_course, 0)
        first = date(fiscal_year(self.today) - 9, 4, 1)
        last = self.today + timedelta(days=45)
        n_courses = max(2, math.ceil(trainees / per_course))
        span = (last - first).days
        days = sorted(first + timedelta(days=rng.randrange(span)) for _ in range(n_courses))
        big_index = (
            min(range(n_courses), key=lambda i: abs((days[i] - self.today).days + 75))
            if big
            else -1
        )
        supporters: list[Supporter] = []
        follow_ups: dict[date, tuple[int, int]] = {}
        organiser = self.operator[code]
        coordinator = self.coordinator[code]
        anywhere = self.places

        def follow_up_course(day: date) -> tuple[int, int]:
            found = follow_ups.get(day)
            if found is None:
                course_id = self.load.add(
                    "course",
                    program_id=program.id,
                    kind="follow_up",
                    organiser_id=organiser,
                    title=f"フォローアップ研修 {day:%Y年%m月}",
                    venue="県庁 会議室",
                    capacity=None,
                    notes="",
                    version=0,
                    created_at=at(day - timedelta(days=60), clock(9)),
                    application_closes_on=day - timedelta(days=3),
                )
                session_id = self.load.add(
                    "course_session",
                    course_id=course_id,
                    date=day,
                    start_time=clock(13, 30),
                    end_time=clock(16, 30),
                    topic="フォローアップ研修",
                    required=True,
                )
                found = follow_ups[day] = (course_id, session_id)
            return found

        def follow_up_days(start: date, end: date) -> list[date]:
            """The 15th of every month between start and end."""
            found = []
            month = start.replace(day=15)
            while month <= end:
                if month >= start:
                    found.append(month)
                month = add_months(month, 1)
            return found

        def attend_follow_up(person_id: int, day: date) -> int:
            course_id, session_id = follow_up_course(day)
            enrolment_id = self.load.add(
                "enrolment",
                course_id=course_id,
                person_id=person_id,
                state="completed",
                source="self",
                applied_at=at(day - timedelta(days=30), clock(9)),
                state_changed_at=at(day, clock(17)),
                completion_number=self.number(program, "completion", fiscal_year(day)),
                completed_on=day,
                attribute=self.attribute_of.get(person_id),
            )
            self.load.add(
                "attendance",
                enrolment_id=enrolment_id,
                session_id=session_id,
                recorded_at=at(day, clock(17)),
            )
            return enrolment_id

        for index, start in enumerate(days):
            size = big if index == big_index else per_course
            course_id = self.load.add(
                "course",
                program_id=program.id,
                kind="initial",
                organiser_id=organiser,
                title=BIG_COURSE_TITLE
                if index == big_index
                else f"{fiscal_year(start)}年度 養成研修 第{index + 1}期",
                venue="オンライン" if index == big_index else "県総合福祉センター",
                capacity=size + 10,
                notes="",
                version=0,
                created_at=at(start - timedelta(days=70), clock(9)),
                application_closes_on=start - timedelta(days=7),
            )
            sessions = []
            for number, (topic, begins, ends) in enumerate(CURRICULUM):
                day = start + timedelta(days=7 * number)
                session_id = self.load.add(
                    "course_session",
                    course_id=course_id,
                    date=day,
                    start_time=begins,
                    end_time=ends,
                    topic=topic,
                    required=True,
                )
                sessions.append((session_id, day))
            finished = sessions[-1][1]
            done = finished < self.today
            for _ in range(size):
                luck = rng.random()
                if done:
                    state = (
                        "completed"
                        if luck < 0.9
                        else "not_completed"
                        if luck < 0.95
                        else "withdrawn"
                    )
                elif start <= self.today:
                    state = "confirmed" if luck < 0.95 else "withdrawn"
                else:
                    state = "confirmed" if luck < 0.6 else "applied" if luck < 0.9 else "waitlisted"
                home = rng.choices(places, cum_weights=weights)[0]
                residence, work = home.id, None
                if rng.random() < 0.25:  # spread over Japan
                    residence = rng.choice(anywhere).id
                    if program.code == "chiba":
                        work = home.id  # lives elsewhere, works in the prefecture
                registers = state == "completed" and rng.random() < register_rate
                registered_on = finished
                if registers and on_request:
                    registered_on = min(finished + timedelta(days=rng.randrange(60)), self.today)
                withdrawn_on = None
                if registers and rng.random() < 0.03:
                    withdrawn_on = registered_on + timedelta(days=rng.randrange(30, 2000))
                    if withdrawn_on > self.today:
                        withdrawn_on = None
                erased = withdrawn_on is not None and (
                    withdrawn_on < self.today - timedelta(days=RETENTION_DAYS)
                )
                applied_at = at(start - timedelta(days=rng.randrange(10, 60)), clock(9))
                person_id = self.person(
                    residence=residence, work=work, erased=erased, created=applied_at
                )
                completed = state == "completed"
                enrolment_id = self.load.add(
                    "enrolment",
                    course_id=course_id,
                    person_id=person_id,
                    state=state,
                    source="csv" if rng.random() < 0.7 else "form",
                    applied_at=min(applied_at, self.now),
                    state_changed_at=at(finished if done else start - timedelta(days=7), clock(17)),
                    completion_number=self.number(program, "completion", fiscal_year(finished))
                    if completed
                    else None,
                    completed_on=finished if completed else None,
                    attribute=self.attribute_of.get(person_id),
                )
                if completed:
                    attended = sessions
                elif state == "not_completed":
                    attended = sessions[:1]
                elif state == "confirmed":
                    attended = [s for s in sessions if s[1] < self.today]
                else:
                    attended = []
                for session_id, day in attended:
                    self.load.add(
                        "attendance",
                        enrolment_id=enrolment_id,
                        session_id=session_id,
                        recorded_at=at(day, clock(17)),
                    )
                if not registers:
                    continue
                supporters.append(
                    self.register(
                        program,
                        person_id=person_id,
                        enrolment_id=enrolment_id,
                        registered_on=registered_on,
                        withdrawn_on=withdrawn_on,
                        erased=erased,
                        main_place=home.id,
                        renewing=renewing,
                        coordinator=coordinator,
                        attend_follow_up=attend_follow_up,
                        follow_up_days=follow_up_days,
                    )
                )
        if code == BENCH_PROGRAM:
            supporters.append(
                self.bench_supporter(program, places[0], attend_follow_up, follow_up_days)
            )
        # Upcoming follow-up courses, for the supporters' pages and the reminders.
        for day in follow_up_days(self.today + timedelta(days=1), self.today + timedelta(days=75)):
            follow_up_course(day)
        return supporters

    def register(
        self,
        program: Any,
        *,
        person_id: int,
        enrolment_id: int | None,
        registered_on: date,
        withdrawn_on: date | None,
        erased: bool,
        main_place: int,
        renewing: bool,
        coordinator: int,
        attend_follow_up: Any,
        follow_up_days: Any,
        forced: bool = False,
        email: str | None = None,
    ) -> Supporter:
        rng = self.rng
        registration_id = self.load.take("registration")
        interval = program.follow_up_interval_months
        end = add_months(registered_on, interval) if renewing else None
        initial_end = end
        events: list[dict[str, Any]] = [
            {
                "kind": "registered",
                "occurred_on": registered_on,
                "valid_until": end,
                "enrolment_id": enrolment_id,
            }
        ]
        stop = withdrawn_on or self.today
        while renewing and end is not None and end - timedelta(days=150) <= stop:
            if not forced and rng.random() < 0.25:
                break  # does not take a follow-up training: lapses at `end`
            choices = [
                d
                for d in follow_up_days(end - timedelta(days=150), end - timedelta(days=1))
                if d <= stop
            ]
            if not choices:
                break  # the renewal, if any, is still to come
            day = rng.choice(choices)
            new_end = add_months(end, interval)
            events.append(
                {
                    "kind": "renewed",
                    "occurred_on": day,
                    "valid_until": new_end,
                    "enrolment_id": attend_follow_up(person_id, day),
                }
            )
            end = new_end
        if not renewing and not forced and rng.random() < 0.3:
            span = (stop - registered_on).days
            if span > 60:
                day = registered_on + timedelta(days=rng.randrange(30, span))
                candidates = follow_up_days(day, day + timedelta(days=31))
                if candidates and candidates[0] <= stop:
                    events.append(
                        {
                            "kind": "follow_up",
                            "occurred_on": candidates[0],
                            "valid_until": None,
                            "enrolment_id": attend_follow_up(person_id, candidates[0]),
                        }
                    )
        suspended = None
        if not forced and withdrawn_on is None and rng.random() < 0.01:
            span = (self.today - registered_on).days
            if span > 30:
                since = registered_on + timedelta(days=rng.randrange(15, span))
                events.append(
                    {"kind": "suspended", "occurred_on": since, "reason": "本人の申し出による休止"}
                )
                until = date.max
                back = since + timedelta(days=rng.randrange(30, 400))
                if rng.random() < 0.5 and back <= self.today:
                    events.append({"kind": "reinstated", "occurred_on": back})
                    until = back - timedelta(days=1)
                suspended = (since, until)
        if withdrawn_on is not None:
            events.append(
                {"kind": "withdrawn", "occurred_on": withdrawn_on, "reason": "転居のため"}
            )
        erased_at = None
        if erased:
            assert withdrawn_on is not None
            erased_at = at(withdrawn_on + timedelta(days=RETENTION_DAYS + 1), clock(3))
            events.append({"kind": "erased", "occurred_on": erased_at.date()})
        self.load.add(
            "registration",
            id=registration_id,
            program_id=program.id,
            person_id=person_id,
            enrolment_id=enrolment_id,
            number=self.number(program, "registration", registered_on.year),
            registered_on=registered_on,
            issuing_organisation_id=self.operator[program.code],
            main_municipality_id=main_place,
            consent_share_contact=rng.random() < 0.5,
            initial_valid_until=initial_end,
            valid_until=end,
            withdrawn_on=withdrawn_on,
            erased_at=erased_at,
            created_at=at(registered_on, clock(17)),
            created_by_id=coordinator,
        )
        events.sort(key=lambda e: e["occurred_on"])
        for event in events:
            self.load.add(
                "registration_event",
                registration_id=registration_id,
                kind=event["kind"],
                occurred_on=event["occurred_on"],
                valid_until=event.get("valid_until"),
                enrolment_id=event.get("enrolment_id"),
                reason=event.get("reason"),
                actor_id=None if event["kind"] == "erased" else coordinator,
                created_at=at(event["occurred_on"], clock(18)),
            )
        user_id = None
        if email or (withdrawn_on is None and rng.random() < 0.1):
            user_id = self.user(
                email=email or f"supporter{person_id}@bench.example",
                name=f"サポーター {person_id}",
                person_id=person_id,
                created=at(registered_on, clock(18)),
            )
            self.grant(user_id, "supporter", program.id, when=at(registered_on, clock(18)))
        valid_to = self.today + timedelta(days=3650)
        if end is not None:
            valid_to = end
        if withdrawn_on is not None:
            valid_to = min(valid_to, withdrawn_on - timedelta(days=1))
        return Supporter(
            registration_id=registration_id,
            person_id=person_id,
            user_id=user_id,
            registered_on=registered_on,
            valid_to=valid_to,
            suspended=suspended,
            main_place=main_place,
        )

    def bench_supporter(
        self, program: Any, home: Place, attend_follow_up: Any, follow_up_days: Any
    ) -> Supporter:
        """The supporter whose pages are timed: registered six years ago, renewed on time."""
        registered_on = self.today - timedelta(days=6 * 365 + 40)
        person_id = self.person(
            residence=home.id,
            fixed_name=("栃木 花子", "トチギ ハナコ"),
            created=at(registered_on, clock(9)),
        )
        supporter = self.register(
            program,
            person_id=person_id,
            enrolment_id=None,
            registered_on=registered_on,
            withdrawn_on=None,
            erased=False,
            main_place=home.id,
            renewing=bool(program.follow_up_interval_months and program.follow_up_mandatory),
            coordinator=self.coordinator[program.code],
            attend_follow_up=attend_follow_up,
            follow_up_days=follow_up_days,
            forced=True,
            email=EMAILS["supporter"],
        )
        self.bench = supporter
        return supporter

    # dispatch -------------------------------------------------------------------------

    def dispatch(self, code: str, supporters: list[Supporter]) -> None:
        rng = self.rng
        program = self.programs[code]
        mode = program.dispatch_mode
        kind = KIND_FOR_MODE[mode]
        activities = ACTIVITIES[mode]
        places = self.scheme[code] if mode == "municipal_request" else self.in_prefecture[code]
        weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(places))))
        coordinator = self.coordinator[code]
        n_events = max(10, round(NATIONAL["events"] * self.scale * SHARES[code]))
        first = self.today - timedelta(days=5 * 365)
        span = (self.today + timedelta(days=60) - first).days
        days = sorted(first + timedelta(days=rng.randrange(span)) for _ in range(n_events))
        supporters = sorted(supporters, key=lambda s: s.registered_on)
        starts = [s.registered_on for s in supporters]
        active = [s for s in supporters if rng.random() < 0.2]
        active_starts = [s.registered_on for s in active]
        busy: set[int] = set()  # person id * 10**6 + day ordinal
        bench = self.bench if code == BENCH_PROGRAM else None
        next_bench_day = first

        def pick(day: date, taken: set[int]) -> Supporter | None:
            for _attempt in range(15):
                pool, dates = (
                    (active, active_starts) if rng.random() < 0.6 else (supporters, starts)
                )
                limit = bisect.bisect_right(dates, day)
                if limit == 0:
                    continue
                candidate = pool[rng.randrange(limit)]
                key = candidate.person_id * 1_000_000 + day.toordinal()
                if candidate.person_id in taken or key in busy or not candidate.valid_on(day):
                    continue
                return candidate
            return None

        for day in days:
            activity, title, venue = rng.choice(activities)
            place = rng.choices(places, cum_weights=weights)[0]
            begins, ends = rng.choice(SLOTS)
            starts_at, ends_at = at(day, begins), at(day, ends)
            past = starts_at < self.now
            luck = rng.random()
            if past:
                state = (
                    "declined"
                    if mode == "municipal_request" and luck < 0.05
                    else "cancelled"
                    if luck < 0.08
                    else "held"
                    if luck < 0.35
                    else "reported"
                )
            elif mode == "municipal_request" and luck < 0.1:
                state = "requested"
            elif luck < 0.13:
                state = "draft" if mode != "municipal_request" else "declined"
            else:
                state = "open"
            needed = rng.choice(NEEDED)
            # Planned 20 to 60 days ahead; those still ahead were created over the last month.
            created_at = min(
                starts_at - timedelta(days=rng.randrange(20, 60)),
                self.now - timedelta(hours=rng.randrange(24, 30 * 24)),
            )
            requested_by = self.staff.get(place.id) if mode == "municipal_request" else None
            event_id = self.load.take("dispatch_event")
            chosen: list[Supporter] = []
            taken: set[int] = set()
            if state in ("open", "held", "reported", "cancelled"):
                fill = rng.uniform(0.7, 1.0) if past else rng.uniform(0.3, 1.0)
                wanted = max(1, round(needed * fill))
                if bench is not None and day >= next_bench_day and bench.valid_on(day):
                    key = bench.person_id * 1_000_000 + day.toordinal()
                    if key not in busy:
                        chosen.append(bench)
                        taken.add(bench.person_id)
                        next_bench_day = day + timedelta(days=7)
                while len(chosen) < wanted:
                    found = pick(day, taken)
                    if found is None:
                        break
                    chosen.append(found)
                    taken.add(found.person_id)
            if state == "open" and len(chosen) >= needed:
                state = "staffed"
            self.load.add(
                "dispatch_event",
                id=event_id,
                program_id=program.id,
                kind=kind,
                activity=activity,
                title=f"{title}（{place.name}）",
                municipality_id=place.id,
                venue=f"{place.name}{venue}",
                starts_at=starts_at,
                ends_at=ends_at,
                needed=needed,
                lead_consultant="相談員" if mode == "outreach_sitting_in" else "",
                notes="",
                bring="筆記用具" if rng.random() < 0.3 else "",
                state=state,
                reason="日程の都合" if state in ("cancelled", "declined") else None,
                requested_by_id=requested_by,
                created_by_id=requested_by or coordinator,
                created_at=created_at,
                version=len(chosen),
            )
            for supporter in chosen:
                source = (
                    "self" if mode != "municipal_request" and rng.random() < 0.6 else "coordinator"
                )
                made = min(
                    starts_at - timedelta(days=rng.randrange(2, 20)), self.now - timedelta(hours=30)
                )
                made = max(made, created_at)
                if state == "cancelled":
                    a_state = "cancelled"
                elif past:
                    a_state = "attended" if rng.random() < 0.92 else "no_show"
                else:
                    a_state = "confirmed" if source == "self" or rng.random() < 0.6 else "assigned"
                if a_state != "cancelled":
                    busy.add(supporter.person_id * 1_000_000 + day.toordinal())
                self.assignment(
                    event_id, supporter, starts_at, ends_at, a_state, source, made, coordinator
                )
                if a_state == "attended" and (rng.random() < (0.8 if supporter is bench else 0.45)):
                    self.report(supporter, day, activity, place.id, starts_at, ends_at, coordinator)
            if chosen and rng.random() < 0.25:  # history: someone declined or cancelled
                other = pick(day, taken)
                if other is not None:
                    made = max(
                        min(starts_at - timedelta(days=25), self.now - timedelta(days=2)),
                        created_at,
                    )
                    self.assignment(
                        event_id,
                        other,
                        starts_at,
                        ends_at,
                        rng.choice(["declined", "cancelled"]),
                        "coordinator",
                        made,
                        coordinator,
                    )

    def assignment(
        self,
        event_id: int,
        supporter: Supporter,
        starts_at: datetime,
        ends_at: datetime,
        state: str,
        source: str,
        made: datetime,
        coordinator: int,
    ) -> None:
        answered = None if state == "assigned" else min(made + timedelta(hours=20), self.now)
        self.load.add(
            "assignment",
            event_id=event_id,
            registration_id=supporter.registration_id,
            person_id=supporter.person_id,
            starts_at=starts_at,
            ends_at=ends_at,
            state=state,
            source=source,
            created_at=made,
            answered_at=answered,
            cancelled_by_id=coordinator if state == "cancelled" else None,
            created_by_id=supporter.user_id if source == "self" else coordinator,
        )

    def report(
        self,
        supporter: Supporter,
        day: date,
        activity: str,
        place: int,
        starts_at: datetime,
        ends_at: datetime,
        coordinator: int,
    ) -> None:
        hours = Decimal(str(round((ends_at - starts_at).total_seconds() / 3600, 1)))
        self.load.add(
            "activity_report",
            registration_id=supporter.registration_id,
            activity_on=day,
            hours=hours,
            kind=activity,
            municipality_id=place,
            topics=self.rng.sample(TOPICS, self.rng.randint(1, 3)),
            note="",
            filed_by_id=supporter.user_id or coordinator,
            filed_on_behalf=supporter.user_id is None,
            created_at=min(ends_at + timedelta(days=2), self.now),
        )

    def sequences_rows(self) -> None:
        for (program_id, kind, year), value in sorted(self.sequences.items()):
            self.load.add(
                "number_sequence", program_id=program_id, kind=kind, year=year, last_value=value
            )


# --- entry points ---------------------------------------------------------------------


def generate(url: str, *, scale: float, seed: int = 9, force: bool = False) -> dict[str, Any]:
    """Migrate, then load the data set; returns row counts and timings."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    prepare_database(url, force=force)
    app = migrated_app(url)
    timings["migrations"] = time.perf_counter() - started
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT count(*) FROM person")).scalar():
                raise SystemExit(
                    "the database already holds people; use --force to start from scratch"
                )
        started = time.perf_counter()
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                driver = connection.connection.driver_connection
                assert driver is not None
                driver.execute("PRAGMA cache_size=-400000")  # 400 MB while loading
                driver.execute("PRAGMA synchronous=OFF")
            connection.begin()
            loader = Loader(connection)
            generator = Generator(loader, scale=scale, seed=seed, now=datetime.now(UTC))
            generator.setup()
            with TerminalProgress("Loading") as progress:
                for index, code in enumerate(SHARES):
                    phase = time.perf_counter()
                    supporters = generator.trainees_and_register(code)
                    progress(2 * index + 1, 2 * len(SHARES))
                    generator.dispatch(code, supporters)
                    progress(2 * index + 2, 2 * len(SHARES))
                    timings[f"load {code}"] = time.perf_counter() - phase
            generator.sequences_rows()
            loader.finish()
            # The places taken the staffing services keep on each event (migration 0015).
            connection.execute(
                sa.text(
                    "UPDATE dispatch_event SET places_taken = (SELECT count(*) FROM assignment"
                    " WHERE assignment.event_id = dispatch_event.id"
                    " AND assignment.state IN ('assigned', 'confirmed'))"
                )
            )
            connection.commit()
        timings["load"] = time.perf_counter() - started
        # The rows went in without today's stored status (registration.status): the daily
        # refresh writes it from their history, as it would have on the day.
        started = time.perf_counter()
        with Session(engine) as session:
            refresh_statuses(session, today=generator.today)
            session.commit()
        timings["statuses"] = time.perf_counter() - started
        started = time.perf_counter()
        analyze(engine)
        timings["analyze"] = time.perf_counter() - started
        engine.dispose()
    return {"counts": dict(loader.counts), "timings": timings}


def analyze(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def describe(counts: dict[str, int], tables: Iterable[str] = ORDER) -> str:
    return ", ".join(f"{t} {counts.get(t, 0):,}" for t in tables if counts.get(t))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL (see above)")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = national (default)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--force", action="store_true", help="start from an empty database")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = generate(args.database, scale=args.scale, seed=args.seed, force=args.force)
    total = time.perf_counter() - started
    print(f"scale {args.scale:g} on {sa.make_url(args.database).get_backend_name()}")
    print("rows: " + describe(result["counts"]))
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result["timings"].items()))
    print(f"generation took {total:.1f} s")


if __name__ == "__main__":
    main()
