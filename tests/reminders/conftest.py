"""A database per backend that the reminder tests (and their subprocesses) commit to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from supporters.extensions import db
from supporters.mail.models import OutboxMessage
from tests.conftest import BACKENDS, build_migrated_app


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Flask]:
    app = build_migrated_app(schema_factory.url(request.param, "reminders"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def committed(shared_app: Flask) -> Iterator[Flask]:
    """`shared_app` with an empty outbox before and after the test."""

    def empty() -> None:
        with shared_app.app_context():
            db.session.execute(sa.delete(OutboxMessage))
            db.session.commit()

    empty()
    yield shared_app
    empty()
