"""Normalising what people type, where it is not about one feature: full-width letters and
digits folded (Japanese input modes type them), and e-mail addresses (accounts log in with
them, person records keep them)."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from supporters.db import ServiceError


def fold(raw: str | None) -> str:
    """NFKC (full-width ＡＢＣ１２３ and half-width katakana to their usual forms), trimmed."""
    return unicodedata.normalize("NFKC", raw or "").strip()


def normalise_email(raw: str | None) -> str:
    """Trim, fold full-width characters and lower-case; raises ServiceError if malformed."""
    try:
        result = validate_email(fold(raw), check_deliverability=False)
    except EmailNotValidError as error:
        raise ServiceError(
            "email", str(_l("Enter a valid e-mail address.")), code="invalid_email"
        ) from error
    return result.normalized.lower()
