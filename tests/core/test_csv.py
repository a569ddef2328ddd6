from __future__ import annotations

import pytest

from supporters.core.csv import safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+81 90", "'+81 90"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\nx"),
        ("山田 太郎", "山田 太郎"),
        ("a=b", "a=b"),
        ("", ""),
        ("line\r\nnext\rlast", "line\nnext\nlast"),
    ],
)
def test_safe_cell(value: str, expected: str) -> None:
    assert safe_cell(value) == expected
