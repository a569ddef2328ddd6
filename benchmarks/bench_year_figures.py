"""Time the fiscal-year report (issue 17, item 4) statement by statement on a data set made
by generate.py:

    python benchmarks/bench_year_figures.py --database URL [--program tochigi] [--year 2025]
                                            [--as-of 2025-11-30] [--repeat 7] [--explain]

Prints the median of the whole `build_fiscal_year_report` over `--repeat` runs (after one
warm-up), then each statement's median time and its first line; `--explain N` adds PostgreSQL's
EXPLAIN ANALYZE of statement N (0: the slowest)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from generate import bench_config as _bench_config

from supporters import create_app
from supporters.core.time import today_in_japan
from supporters.extensions import db
from supporters.programs.models import Program
from supporters.reports.figures import build_fiscal_year_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--program", default="tochigi")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--explain", type=int, default=None, metavar="N", help="statement N (0: the slowest)"
    )
    args = parser.parse_args()
    app = create_app(_bench_config(args.database, RATELIMIT_ENABLED=False))
    with app.app_context():
        engine = db.engine
        current: list[tuple[str, Any, float]] = []
        started: list[float] = []

        def before(conn: Any, cursor: Any, statement: str, params: Any, *a: Any) -> None:
            started.append(time.perf_counter())

        def after(conn: Any, cursor: Any, statement: str, params: Any, *a: Any) -> None:
            current.append((statement, params, time.perf_counter() - started.pop()))

        program = db.session.scalar(sa.select(Program).where(Program.code == args.program))
        assert program is not None
        today = today_in_japan()
        build_fiscal_year_report(db.session, program, args.year, today=today, as_of=args.as_of)
        sa.event.listen(engine, "before_cursor_execute", before)
        sa.event.listen(engine, "after_cursor_execute", after)
        totals: list[float] = []
        runs: list[list[tuple[str, Any, float]]] = []
        for _ in range(args.repeat):
            current.clear()
            t0 = time.perf_counter()
            build_fiscal_year_report(db.session, program, args.year, today=today, as_of=args.as_of)
            totals.append(time.perf_counter() - t0)
            runs.append(list(current))
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        print(
            f"{engine.dialect.name} {args.program} FY{args.year} as_of={args.as_of}: "
            f"median {statistics.median(totals) * 1000:.0f} ms, {len(runs[0])} statements"
        )
        for i, (statement, _params, _t) in enumerate(runs[0]):
            median = statistics.median(run[i][2] for run in runs) * 1000
            head = " ".join(statement.split())[:110]
            print(f"  {i + 1:2d} {median:8.1f} ms  {head}")
        if args.explain is not None and engine.dialect.name == "postgresql":
            statement, params, _t = (
                runs[0][args.explain - 1] if args.explain else max(runs[0], key=lambda r: r[2])
            )
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                for (line,) in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params):
                    print("   ", line)


if __name__ == "__main__":
    main()
