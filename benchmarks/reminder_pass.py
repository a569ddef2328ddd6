"""Time and profile the reminder pass on a generated data set; optionally dump what it wrote.

    python benchmarks/reminder_pass.py --database URL --at ISO8601
                                       [--profile FILE] [--dump FILE] [--keep]

Runs a first pass at ``--at`` and the next day's pass (as ``run.py``'s ``measure_reminders``
does), prints per pass the seconds, the statements, the reminders decided and the mails
handled, and per rule its seconds and statements. ``--profile`` writes a cProfile of both
passes (``python -m pstats FILE``). ``--dump`` writes every ledger row, notification and
outbox message the passes wrote, in a stable order and with what is random by design (the
Message-ID, the one-tap token) blanked, so two dumps of the same data at the same ``--at``
(code before and after a change) can be compared byte for byte. Everything the passes wrote
is deleted afterwards (unless ``--keep``), so runs are repeatable.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import re
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from generate import bench_config

from supporters import create_app
from supporters.extensions import db

TABLES = ("reminder_ledger", "notification", "outbox_message", "audit_event", "answer_link")
TOKEN = re.compile(r"/a/[A-Za-z0-9_\-]+")


def _dump(top: dict[str, int]) -> dict[str, Any]:
    session = db.session
    ledger = session.execute(
        sa.text(
            "SELECT l.rule, l.subject_type, l.subject_id, l.recipient, l.occurrence, l.note, "
            "l.decided_at, o.kind, o.recipient, o.recipient_user_id, o.subject, o.body_text, "
            "o.body_html, o.status, o.expires_at "
            "FROM reminder_ledger l LEFT JOIN outbox_message o ON o.id = l.outbox_message_id "
            "WHERE l.id > :top ORDER BY l.rule, l.subject_type, l.subject_id, l.recipient, "
            "l.occurrence"
        ),
        {"top": top["reminder_ledger"]},
    ).all()
    notes = session.execute(
        sa.text(
            "SELECT user_id, created_at, title, body, link FROM notification WHERE id > :top "
            "ORDER BY user_id, title, body, link"
        ),
        {"top": top["notification"]},
    ).all()
    outbox = session.execute(
        sa.text(
            "SELECT kind, recipient, subject, body_text, body_html, status, expires_at "
            "FROM outbox_message WHERE id > :top"
        ),
        {"top": top["outbox_message"]},
    ).all()

    def clean(row: Sequence[Any]) -> list[Any]:
        return [TOKEN.sub("/a/TOKEN", v) if isinstance(v, str) else str(v) for v in row]

    return {
        "ledger": [clean(r) for r in ledger],
        "notifications": [clean(r) for r in notes],
        "outbox": sorted(clean(r) for r in outbox),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--at", type=datetime.fromisoformat, required=True)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--keep", action="store_true", help="do not delete what was written")
    args = parser.parse_args(argv)
    from supporters.reminders import jobs

    app = create_app(bench_config(args.database, SECRET_KEY=secrets.token_urlsafe(48)))
    per_rule: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    current = ["outbox"]

    def timed(rule: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(rule)
        def wrapper(*a: Any, **k: Any) -> int:
            current[0] = rule.__name__
            started = time.perf_counter()
            try:
                return rule(*a, **k)
            finally:
                per_rule[rule.__name__][0] += time.perf_counter() - started
                current[0] = "outbox"

        return wrapper

    jobs.RULES = [timed(rule) for rule in jobs.registered_rules()]
    results = []
    with app.app_context():
        engine = db.engine
        statements: list[str] = []

        def listener(*_a: Any) -> None:
            statements.append(current[0])
            per_rule[current[0]][1] += 1

        top = {
            t: int(db.session.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {t}")) or 0)  # noqa: S608
            for t in TABLES
        }
        states = db.session.execute(sa.text("SELECT name, updated_at FROM service_state")).all()
        db.session.rollback()
        profile = cProfile.Profile() if args.profile else None
        try:
            for label, moment in (("first", args.at), ("next day", args.at + timedelta(days=1))):
                per_rule.clear()
                statements.clear()
                sa.event.listen(engine, "before_cursor_execute", listener)
                started, cpu = time.perf_counter(), time.process_time()
                if profile:
                    profile.enable()
                report = jobs.run_due(db.session, now=moment, app_config=app.config)
                if profile:
                    profile.disable()
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
                sa.event.remove(engine, "before_cursor_execute", listener)
                outbox = per_rule.pop("outbox", [0.0, 0])
                outbox[0] = elapsed - sum(t for t, _n in per_rule.values())
                result = {
                    "pass": label,
                    "seconds": round(elapsed, 2),
                    "cpu": round(cpu, 2),  # this process's CPU: less moved by a loaded machine
                    "statements": len(statements),
                    "decided": sum(report.decided.values()),
                    "mails": report.outbox.done,
                    "errors": report.errors,
                    "rules": {k: [round(t, 3), int(n)] for k, (t, n) in per_rule.items()},
                    "outbox": [round(outbox[0], 3), int(outbox[1])],
                }
                results.append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
            if args.dump:
                args.dump.write_text(json.dumps(_dump(top), ensure_ascii=False, indent=0))
        finally:
            db.session.rollback()
            if profile and args.profile:
                profile.dump_stats(str(args.profile))
            if not args.keep:
                for table in TABLES:
                    db.session.execute(
                        sa.text(f"DELETE FROM {table} WHERE id > :top"),  # noqa: S608
                        {"top": top[table]},
                    )
                db.session.execute(sa.text("DELETE FROM service_state WHERE name LIKE 'rule:%'"))
                for name, updated_at in states:
                    if name.startswith("rule:"):
                        db.session.execute(
                            sa.text(
                                "INSERT INTO service_state (name, updated_at, failures) "
                                "VALUES (:name, :at, 0)"
                            ),
                            {"name": name, "at": updated_at},
                        )
                db.session.commit()
            db.session.remove()


if __name__ == "__main__":
    main()
