"""A progress bar for the long commands, on a terminal only.

When standard output is not a terminal (tests, cron, a pipe: what reads it expects the
command's own lines and nothing else) nothing at all is written, not even a label."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import click


class TerminalProgress:
    """`progress(done, total)` as the services call it, drawn with click's progress bar when
    standard output is a terminal; the total may change as the work goes."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = sys.stdout.isatty()
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.shown or total <= 0:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stdout)
        self._bar.length = total
        self._bar.update(max(0, min(done, total) - self._bar.pos))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
