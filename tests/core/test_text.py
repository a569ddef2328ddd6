from __future__ import annotations

import pytest

from supporters.core.text import fold, normalise_email
from supporters.db import ServiceError


def test_fold_full_width_and_spaces() -> None:
    assert fold("　ＡＢＣ１２３ ") == "ABC123"
    assert fold(None) == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Hanako@Example.JP ", "hanako@example.jp"),
        ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", "hanako@example.jp"),
    ],
)
def test_normalise_email(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "hanako", "hanako@", "@example.jp"])
def test_malformed_email_is_refused_on_the_email_field(japanese: None, raw: str) -> None:
    with pytest.raises(ServiceError) as caught:
        normalise_email(raw)
    assert (caught.value.field, caught.value.code) == ("email", "invalid_email")
