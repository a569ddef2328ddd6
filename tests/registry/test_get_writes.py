"""GET requests that write start their transaction as a write one (BEGIN IMMEDIATE on
SQLite): a read transaction cannot turn into a write after another writer committed."""

from __future__ import annotations

import sqlite3

import pytest
from flask import Flask, request

from supporters.db import _may_write
from supporters.extensions import db

# Pages and files that answer GET and write (audit rows, issue records, read marks).
WRITING_GETS = [
    "/register/1",
    "/register/export.csv",
    "/register/?attribute=family",
    "/courses/1/enrolments.csv",
    "/courses/1/enrolments/1",
    "/courses/1/sessions/1/sign-in.pdf",
    "/verify/ABC",
    "/me/card/1.pdf",
    "/register/1/card.pdf",
    "/enrolments/1/certificate.pdf",
    "/assignments/1/notice.pdf",
    "/reports/tochigi/2024/report.csv",
    "/mail/1",
]
READING_GETS = ["/register/", "/courses/", "/courses/1", "/me", "/schedule"]


def _endpoint_exists(app: Flask, path: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?")[0], method="GET")
    except Exception:
        return False
    return True


@pytest.mark.parametrize("path", WRITING_GETS)
def test_writing_gets_take_the_write_lock(app: Flask, path: str) -> None:
    with app.test_request_context(path, method="GET"):
        assert request.endpoint is not None, path
        assert _may_write(), path


@pytest.mark.parametrize("path", READING_GETS)
def test_reading_gets_stay_concurrent(app: Flask, path: str) -> None:
    with app.test_request_context(path, method="GET"):
        assert request.endpoint is not None, path
        assert not _may_write(), path


def test_a_writing_get_holds_the_sqlite_write_lock_from_its_first_read(app: Flask) -> None:
    """While the person page's transaction is open, another writer cannot start: so no
    writer can commit between its first read and its audit row."""
    with app.test_request_context("/register/1", method="GET"):
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's transaction modes")
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")  # the transaction begins here
            other = sqlite3.connect(str(db.engine.url.database), timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
            connection.rollback()


@pytest.mark.parametrize(("path", "warned"), [("/courses/", True), ("/register/1", False)])
def test_a_write_in_an_unmarked_get_is_logged(
    app: Flask, caplog: pytest.LogCaptureFixture, path: str, warned: bool
) -> None:
    """A view that forgets @writes is named in the log, so it gets marked."""
    with app.test_request_context(path, method="GET"):
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's transaction modes")
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            with caplog.at_level("WARNING", logger="supporters.db"):
                connection.exec_driver_sql("UPDATE program SET code = code WHERE 1 = 0")
            connection.rollback()
    logged = [r.getMessage() for r in caplog.records if r.name == "supporters.db"]
    assert bool(logged) is warned
    if warned:
        assert "training.index" in logged[0]
