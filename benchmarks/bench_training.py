"""Training benchmark: importing a 1,000-row CSV, and the course page with 1,000 enrolments.

    python benchmarks/bench_training.py [--rows 1000] [--database URL]

Prints seconds and the number of queries; the course page's queries must not grow with the
number of enrolments (it is compared with the same page for a 10-trainee course).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestConfig
from supporters import create_app
from supporters.extensions import db

HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def csv_rows(count: int, offset: int = 0) -> bytes:
    rows = [HEADER]
    for i in range(offset, offset + count):
        reading = KANA[i % len(KANA)] + KANA[i // len(KANA) % len(KANA)] + " " + KANA[i % 7]
        rows.append(
            f"受講 {i:05d},{reading},t{i}@example.jp,090-{i // 10000:04d}-{i % 10000:04d},"
            f"高松市,,{['家族', '当事者', '福祉専門職'][i % 3]}"
        )
    return ("\r\n".join(rows) + "\r\n").encode("cp932")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: object) -> None:
        self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench-training.sqlite3"
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        from supporters.accounts import services as accounts
        from supporters.db import now_utc
        from supporters.training.importer import import_trainees
        from tests import factories

        upgrade()
        big = factories.course(db.session, capacity=None, title="大規模研修")
        small = factories.course(db.session, capacity=None, title="小規模研修")
        coordinator = factories.coordinator(
            db.session, program_code="kagawa", email="bench@example.jp"
        )
        db.session.commit()
        started = time.perf_counter()
        report = import_trainees(
            db.session, actor=None, course=big, data=csv_rows(args.rows), now=now_utc()
        )
        db.session.commit()
        import_seconds = time.perf_counter() - started
        assert report.ok, report.errors[:3]
        import_trainees(
            db.session, actor=None, course=small, data=csv_rows(10, 100000), now=now_utc()
        )
        db.session.commit()
        token = accounts.start_session(
            db.session, coordinator, now=now_utc(), lifetime=timedelta(hours=1)
        )
        db.session.commit()
        big_id, small_id = big.id, small.id

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token

    def measure(path: str, repeat: int = 20) -> tuple[float, int]:
        counter = QueryCounter()
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", counter)
        times = []
        for _ in range(repeat):
            counter.count = 0
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", counter)
        return statistics.median(times), counter.count

    big_time, big_queries = measure(f"/courses/{big_id}")
    small_time, small_queries = measure(f"/courses/{small_id}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| import {args.rows} rows (cp932 CSV) | {import_seconds:.2f} s |")
    print(
        f"| course page, {args.rows} enrolments | {big_time * 1000:.1f} ms, {big_queries} queries |"
    )
    print(f"| course page, 10 enrolments | {small_time * 1000:.1f} ms, {small_queries} queries |")
    if big_queries != small_queries:
        print("WARNING: the course page's queries grow with the enrolments", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
