"""Declarative base, naming convention, time helpers and engine set-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite loses the zone, so it is put back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ELLIPSIS = "…"


def fit_text(text: str, length: int) -> str:
    """The text shortened to at most `length` characters, ending with … when cut."""
    if length < 1:
        raise ValueError("a text fits in at least 1 character")
    text = str(text)
    if len(text) <= length:
        return text
    return text[: length - 1].rstrip() + ELLIPSIS


class FittedString(TypeDecorator[str]):
    """A column of text derived from other fields (a mail subject made from an event title,
    a notification title, an error message): whatever is stored is fitted to the column's
    length with `fit_text`, so a long field upstream never makes a write fail. Columns of
    what a person typed keep plain `String` and a form limit instead."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)

    @property
    def length(self) -> int:
        return int(getattr(self.impl_instance, "length", 0) or 0)

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else fit_text(value, self.length)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


_log = logging.getLogger(__name__)
_WRITES = {"INSERT", "UPDATE", "DELETE"}


def now_utc() -> datetime:
    return datetime.now(UTC)


class ServiceError(Exception):
    """A business rule refused an operation. `field` names the form field to show it on,
    `message` says why in the user's language, and `code` names the refusal in a stable,
    untranslated word (`course_closed`, `roll_call_before_day`) for tests and callers that
    act on which refusal it was rather than on its wording."""

    def __init__(self, field: str | None, message: str, *, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


F = TypeVar("F", bound=Callable[..., Any])


class _Writes:
    """Mark a view that writes although it answers GET (an audited export, a PDF that
    issues a number, a page that logs who saw sensitive data): its transaction takes the
    write lock at once, like a POST's. On SQLite a read transaction cannot become a write
    one after another writer has committed ("database is locked").

    `@writes` always; `@writes.when(lambda args: ...)` only for some query arguments.
    Put it right below the route decorator."""

    def __call__(self, view: F) -> F:
        view.writes_on_get = True  # type: ignore[attr-defined]
        return view

    def when(self, predicate: Callable[[Any], bool]) -> Callable[[F], F]:
        def mark(view: F) -> F:
            view.writes_on_get = predicate  # type: ignore[attr-defined]
            return view

        return mark


writes = _Writes()


def _may_write() -> bool:
    from flask import current_app, has_request_context, request

    if not has_request_context():
        return True  # commands, jobs and tests
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    marked = getattr(view, "writes_on_get", False)
    return bool(marked(request.args) if callable(marked) else marked)


def configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection.

    pysqlite's own transaction handling breaks SAVEPOINT; we let SQLAlchemy emit BEGIN
    (the documented recipe), which also makes nested transactions work in tests.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that may write takes the write lock at once (IMMEDIATE): one that
        # read first and then wrote could not wait for another writer and would fail with
        # "database is locked". Pages that only read (GET) keep reading concurrently.
        immediate = _may_write()
        conn.info["read_only_begin"] = not immediate
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        # A GET view that writes without @writes: say so, naming the view, so it gets marked.
        if conn.info.get("read_only_begin") and statement.lstrip()[:6].upper() in _WRITES:
            from flask import has_request_context, request

            where = request.endpoint if has_request_context() else None
            _log.warning("a write in a read transaction (GET %s): mark the view @writes", where)
            conn.info["read_only_begin"] = False  # once per transaction


# Services accept a plain Session or Flask-SQLAlchemy's scoped `db.session`.
DbSession = Session | scoped_session[Any]
