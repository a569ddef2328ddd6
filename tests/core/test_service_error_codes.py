"""Every refusal names itself: each ServiceError raised in supporters/ carries a stable code,
so tests and callers act on which refusal it was, not on its (translated) wording."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from supporters.db import ServiceError

PACKAGE = Path(__file__).resolve().parents[2] / "supporters"
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _service_error_calls() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ServiceError"
            ):
                found.append((str(path.relative_to(PACKAGE)), node.lineno, node))
    return found


def test_every_service_error_is_raised_with_a_stable_code() -> None:
    calls = _service_error_calls()
    assert len(calls) > 50  # the scan sees the package
    missing = [
        f"{path}:{line}"
        for path, line, call in calls
        if not any(k.arg == "code" for k in call.keywords)
    ]
    assert missing == []
    bad = [
        f"{path}:{line}"
        for path, line, call in calls
        for k in call.keywords
        if k.arg == "code"
        and isinstance(k.value, ast.Constant)
        and not CODE.match(str(k.value.value))
    ]
    assert bad == []


def test_a_service_error_keeps_field_message_and_code() -> None:
    error = ServiceError("email", "使われています", code="email_taken")
    assert (error.field, error.message, error.code) == ("email", "使われています", "email_taken")
    with pytest.raises(ServiceError, match="使われています"):
        raise error
