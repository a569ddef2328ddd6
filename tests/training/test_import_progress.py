"""Issue 17, item 6: long commands show a progress bar on a terminal, and nothing of it in
output that is not a terminal (tests and cron read that)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from supporters.core.progress import TerminalProgress
from supporters.training.importer import import_trainees
from tests import factories

NOW = datetime(2024, 4, 10, 1, 0, tzinfo=UTC)
HEADER = "氏名,フリガナ,メールアドレス,電話番号,居住市町村,勤務先市町村,属性"


def _csv(count: int) -> bytes:
    kana = "アイウエオカキクケコ"
    rows = [
        f"受講 {i:03d},ジュコウ {kana[i % 10]}{kana[i // 10 % 10]}{kana[i // 100]},"
        f"p{i}@example.jp,,高松市,,"
        for i in range(count)
    ]
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp932")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_import_tells_its_progress_up_to_the_end(db_session: Any) -> None:
    course = factories.course(db_session)
    told: list[tuple[int, int]] = []
    report = import_trainees(
        db_session,
        actor=None,
        course=course,
        data=_csv(250),
        now=NOW,
        progress=lambda done, total: told.append((done, total)),
    )
    assert report.ok and report.created == 250
    assert told[-1] == (500, 500)  # each row checked, then written
    done = [d for d, _ in told]
    assert done == sorted(done) and len(told) >= 3


def test_a_bar_on_a_terminal_and_nothing_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    with TerminalProgress("Importing") as progress:
        for done in range(0, 101, 10):
            progress(done, 100)
    assert "Importing" in terminal.getvalue() and "100%" in terminal.getvalue()

    piped = io.StringIO()
    monkeypatch.setattr("sys.stdout", piped)
    with TerminalProgress("Importing") as progress:
        for done in range(0, 101, 10):
            progress(done, 100)
    assert piped.getvalue() == ""


def test_the_import_command_prints_no_progress_when_not_on_a_terminal(
    app: Any, db_session: Any, tmp_path: Path
) -> None:
    course = factories.course(db_session)
    db_session.commit()
    path = tmp_path / "受講者.csv"
    path.write_bytes(_csv(150))
    result = app.test_cli_runner().invoke(
        args=["trainees", "import", str(path), "--course", str(course.id)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Imported 150 trainee(s): 150 enrolled, 0 waiting list; 150 new, 0 already known.\n"
    )
