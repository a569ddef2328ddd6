"""`flask --app wsgi restore FILE`: a safe restore on both databases. On SQLite it goes
through the backup API into the live file, so a WAL beside it cannot corrupt the result
(copying the backup over the file did, while /healthz said 200); an unusable backup changes
nothing; a running scheduler (its lock held) makes it refuse unless --force."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from supporters.extensions import db
from supporters.scheduler import make_lock
from tests.conftest import BACKENDS, build_migrated_app


def _emails(app: Flask) -> set[str]:
    with app.app_context():
        found = set(db.session.scalars(sa.text("SELECT email FROM user_account")))
        db.session.remove()
        db.engine.dispose()
        return found


def _create_user(app: Flask, email: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", email, "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def backed_up(
    request: pytest.FixtureRequest, schema_factory: Any, tmp_path: Path
) -> Iterator[tuple[Flask, Path]]:
    """An app with `kept@` in its backup and `later@` added after the backup."""
    if request.param == "postgresql" and shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is not installed")
    app = build_migrated_app(schema_factory.url(request.param, "restore"))
    _create_user(app, "kept@example.jp")
    target = tmp_path / "backup.dump"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    _create_user(app, "later@example.jp")
    yield app, target
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_restore_brings_back_the_backup_and_the_app_is_healthy(
    backed_up: tuple[Flask, Path],
) -> None:
    app, backup = backed_up
    assert _emails(app) == {"kept@example.jp", "later@example.jp"}
    result = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output
    assert _emails(app) == {"kept@example.jp"}
    assert app.test_client().get("/healthz").status_code == 200


def test_restore_into_an_empty_database(backed_up: tuple[Flask, Path]) -> None:
    """pg_restore --clean used to exit 1 when there was nothing to drop."""
    from supporters.cli import drop_everything

    app, backup = backed_up
    with app.app_context():
        drop_everything()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert _emails(app) == {"kept@example.jp"}
    assert app.test_client().get("/healthz").status_code == 200


def test_restore_refuses_while_a_scheduler_holds_its_lock(backed_up: tuple[Flask, Path]) -> None:
    app, backup = backed_up
    lock = make_lock(app)
    assert lock.try_acquire()
    try:
        result = app.test_cli_runner().invoke(args=["restore", str(backup)])
        assert result.exit_code == 1
        assert "A scheduler is running" in result.output and "--force" in result.output
        assert _emails(app) == {"kept@example.jp", "later@example.jp"}  # nothing changed
        forced = app.test_cli_runner().invoke(args=["restore", str(backup), "--force"])
        assert forced.exit_code == 0, forced.output
        assert _emails(app) == {"kept@example.jp"}
    finally:
        lock.release()


def test_an_unusable_backup_changes_nothing(backed_up: tuple[Flask, Path], tmp_path: Path) -> None:
    app, backup = backed_up
    broken = tmp_path / "broken.dump"
    data = bytearray(backup.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = b"\xff" * 4096
    broken.write_bytes(bytes(data[: len(data) * 3 // 4]))
    result = app.test_cli_runner().invoke(args=["restore", str(broken)])
    assert result.exit_code == 1, result.output
    assert "nothing was changed" in result.output or "not a usable" in result.output
    assert _emails(app) == {"kept@example.jp", "later@example.jp"}


def test_restore_over_a_database_with_a_stale_wal(schema_factory: Any, tmp_path: Path) -> None:
    """The live file has WAL frames not yet checkpointed (a writer still open, or killed):
    copying a backup over the file would let SQLite replay them onto it; restore does not."""
    url = schema_factory.url("sqlite", "wal")
    app = build_migrated_app(url)
    _create_user(app, "kept@example.jp")
    backup = tmp_path / "backup.sqlite3"
    assert app.test_cli_runner().invoke(args=["backup", str(backup)]).exit_code == 0
    database = url.removeprefix("sqlite:///")

    writer = sqlite3.connect(database)  # e.g. a web worker: its writes sit in the WAL
    writer.execute("PRAGMA wal_autocheckpoint=0")
    for number in range(200):
        writer.execute(
            "INSERT INTO audit_event (occurred_at, action, detail) VALUES "
            "('2026-11-30 00:00:00', 'test.wal', :d)",
            {"d": f'{{"n": {number}, "pad": "{"x" * 400}"}}'},
        )
    writer.execute("UPDATE user_account SET display_name = 'changed after the backup'")
    writer.commit()
    wal = Path(database + "-wal")
    assert wal.exists() and wal.stat().st_size > 100_000

    result = app.test_cli_runner().invoke(args=["restore", str(backup)])
    assert result.exit_code == 0, result.output
    # The worker that stayed open sees the restored data, and the file is sound.
    assert (
        writer.execute("SELECT count(*) FROM audit_event WHERE action='test.wal'").fetchone()[0]
        == 0
    )
    writer.close()
    with sqlite3.connect(database) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {row[0] for row in check.execute("SELECT display_name FROM user_account")}
        assert "changed after the backup" not in names
    assert _emails(app) == {"kept@example.jp"}
    assert app.test_client().get("/healthz").status_code == 200
