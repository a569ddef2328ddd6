"""Helpers for the reminder tests: `flask --app wsgi ...` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]


def flask_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a development-config process on `database_url` (no other
    SUPPORTERS_* setting leaks in from the test run)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUPPORTERS_")}
    env.update(
        SUPPORTERS_ENV="development",
        SUPPORTERS_DATABASE_URL=database_url,
        SUPPORTERS_SECRET_KEY="subprocess-secret-key-for-tests-0123456789abcdef",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"SUPPORTERS_{key}": value for key, value in settings.items()})
    return env


class FlaskProcess:
    """`flask --app wsgi ARGS` in a subprocess; its output lines are collected by a thread.
    As a context manager it always ends the process (SIGTERM, then SIGKILL)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 45.0) -> bool:
        """True once a line containing `text` was printed; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(text in line for line in self.lines):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    return False
                self._changed.wait(min(remaining, 0.1))

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait; SIGKILL if it does not end. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        return self.process.returncode

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self._reader.join(5)

    def __enter__(self) -> FlaskProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        if self.process.stdout is not None:
            self.process.stdout.close()
