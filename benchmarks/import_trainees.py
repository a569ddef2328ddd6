"""Import benchmark (issue 17, item 6): a 5,000-row cp932 CSV into one course.

    python benchmarks/import_trainees.py [--rows 5000] [--known 500] [--backend sqlite postgresql]

The file is what Excel in Japan writes (cp932, CRLF) with what coordinators type: full-width
digits and spaces, hiragana and half-width readings, municipalities by name or with the
prefecture, a workplace on some rows, every attribute. `--known` of its rows are
people the program already holds (enrolled in an earlier course, with the same e-mail or
phone), so the duplicate look-up reuses them; the course's capacity leaves the last 10 % on
the waiting list. Each backend gets a fresh database (a temporary SQLite file, a PostgreSQL
schema dropped afterwards), migrated; the import is timed with its commit (wall clock, and
the CPU time of this process, which includes SQLite's own work but not PostgreSQL's), and
every statement sent is counted (a `before_cursor_execute` listener). Target: under 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestConfig
from supporters import create_app
from supporters.extensions import db

POSTGRES_URL = os.environ.get(
    "SUPPORTERS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"
FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "中村", "小林", "加藤"]
FAMILY_READING = ["やまだ", "サトウ", "ｽｽﾞｷ", "タカハシ", "たなか", "ワタナベ", "イトウ", "ナカムラ"]
GIVEN = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロ"
PLACES = ["高松市", "香川県丸亀市", "さぬき市", "坂出市", "観音寺市", "小豆島町", "宇多津町"]
ATTRIBUTES = ["家族", "当事者", "福祉専門職", "市町村職員", "民間支援団体", "住民", "その他", ""]


def row(i: int) -> str:
    """Row i of the file: a distinct person (name, reading and contact follow from i)."""
    family = FAMILY[i % len(FAMILY)]
    given = GIVEN[i % len(GIVEN)] + GIVEN[i // len(GIVEN) % len(GIVEN)]
    reading = FAMILY_READING[i % len(FAMILY_READING)]
    name = f"{family}{'　' if i % 2 else ' '}{given}{i:05d}"
    reading = f"{reading} {GIVEN[i % 7]}{given}"
    email = f"trainee{i}@example.jp" if i % 3 else ""
    phone = (
        f"０９０－{i // 10000:04d}－{i % 10000:04d}"
        if i % 4 == 0
        else f"090-{9000 + i % 1000}-{i:04d}"
    )
    work = PLACES[(i + 3) % len(PLACES)] if i % 5 == 0 else ""
    return ",".join([name, reading, email, phone, PLACES[i % len(PLACES)], work, ATTRIBUTES[i % 8]])


def excel_csv(numbers: range) -> bytes:
    return ("\r\n".join([HEADER, *(row(i) for i in numbers)]) + "\r\n").encode("cp932")


def _backend_url(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench-import.sqlite3'}", None
    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", schema


def _drop_schema(schema: str) -> None:
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def measure(backend: str, *, rows: int, known: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    from supporters.db import now_utc
    from supporters.training.importer import import_trainees
    from tests import factories

    workdir = Path(tempfile.mkdtemp())
    url, schema = _backend_url(backend, workdir)
    try:
        config = type(
            "BenchConfig",
            (TestConfig,),
            {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}},
        )
        app = create_app(config)
        with app.app_context():
            upgrade()
            earlier = factories.course(db.session, program_code="kagawa", capacity=None)
            course = factories.course(db.session, program_code="kagawa", capacity=rows - rows // 10)
            db.session.commit()
            if known:  # people the program holds already: the earlier course's trainees
                setup = import_trainees(
                    db.session,
                    actor=None,
                    course=earlier,
                    data=excel_csv(range(known)),
                    now=now_utc(),
                )
                assert setup.ok, setup.errors[:3]
                db.session.commit()
            data = excel_csv(range(rows))
            statements = 0

            def count(*_args: object) -> None:
                nonlocal statements
                statements += 1

            sa.event.listen(db.engine, "before_cursor_execute", count)
            started, cpu = time.perf_counter(), time.process_time()
            report = import_trainees(
                db.session, actor=None, course=course, data=data, now=now_utc()
            )
            db.session.commit()
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            sa.event.remove(db.engine, "before_cursor_execute", count)
            assert report.ok, report.errors[:3]
            db.session.remove()
            db.engine.dispose()
        return {
            "backend": backend,
            "rows": rows,
            "bytes": len(data),
            "seconds": seconds,
            "cpu": cpu,
            "statements": statements,
            "created": report.created,
            "reused": report.reused,
            "enrolled": report.enrolled,
            "waitlisted": report.waitlisted,
        }
    finally:
        if schema is not None:
            _drop_schema(schema)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--known", type=int, default=500, help="rows the program holds already")
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    results = [measure(b, rows=args.rows, known=args.known) for b in args.backend]
    load = os.getloadavg()[0]
    print(f"2 CPUs, load average {load:.1f}")
    print(
        "| database | rows | file | seconds | CPU s of this process | statements | new | reused "
        "| enrolled | waiting |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        print(
            f"| {r['backend']} | {r['rows']:,} | {r['bytes'] / 1024:,.0f} KB | {r['seconds']:.2f} "
            f"| {r['cpu']:.2f} | {r['statements']:,} | {r['created']:,} | {r['reused']:,} "
            f"| {r['enrolled']:,} | {r['waitlisted']:,} |"
        )
    if any(r["seconds"] >= 5 for r in results):
        print("WARNING: over the 5 s target", file=sys.stderr)


if __name__ == "__main__":
    main()
