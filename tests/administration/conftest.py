"""The program-file tests run against the demo data set (the three programs with their
organisations, scheme municipalities and Tochigi's register), loaded once per backend; each
test still runs in a transaction that is rolled back (tests/conftest.py: db_session)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from supporters.extensions import db
from tests.conftest import BACKENDS, build_migrated_app


@pytest.fixture(scope="session", params=BACKENDS)
def app(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Flask]:
    application = build_migrated_app(schema_factory.url(request.param, "progfile"))
    result = application.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    yield application
    with application.app_context():
        db.engine.dispose()
