"""The `world` fixture of the security suite (see world.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from supporters.extensions import limiter
from tests.security.world import World, build_world


@pytest.fixture
def world(app: Flask, db_session: Any) -> World:
    limiter.reset()  # the sweeps meet the rate limits of /verify and /login otherwise
    return build_world(db_session)
