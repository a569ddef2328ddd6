from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jaconv
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from supporters.audit.services import record_audit
from supporters.core.text import fold
from supporters.db import DbSession, ServiceError
from supporters.programs.models import Municipality, NumberSequence, Organisation, Program


def municipality_rows() -> Iterator[dict[str, str]]:
    """The package's municipality file (derived from JpGeocode; see data/NOTICE.md)."""
    text = resources.files("supporters.programs").joinpath("data/municipalities.csv")
    with text.open("r", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def normalise_place_name(raw: str) -> str:
    return "".join(fold(raw).split())


@functools.cache
def _reading_index() -> dict[str, list[str]]:
    """Katakana reading (サノシ), its stem (サノ) and the other way to read a town or village
    suffix (マチ/チョウ, ムラ/ソン) → municipality codes. From data/municipality_readings.csv
    (built from Japan Post's postal data, see scripts/build_readings.py)."""
    text = resources.files("supporters.programs").joinpath("data/municipality_readings.csv")
    index: dict[str, list[str]] = {}
    with text.open("r", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            reading = row["reading"]
            keys = {reading}
            for suffix, other in (
                ("シ", None),
                ("ク", None),
                ("マチ", "チョウ"),
                ("チョウ", "マチ"),
                ("ムラ", "ソン"),
                ("ソン", "ムラ"),
            ):
                if reading.endswith(suffix) and len(reading) > len(suffix):
                    stem = reading[: -len(suffix)]
                    keys.add(stem)
                    if other:
                        keys.add(stem + other)
                    break
            for key in keys:
                index.setdefault(key, []).append(row["code"])
    return index


_KATAKANA = re.compile(r"^[\u30A1-\u30F6\u30FC]+$")


def codes_for_reading(raw: str) -> list[str]:
    """Municipality codes whose reading is what was typed (さのし, サノシ, ｻﾉｼ, さの);
    an exact reading is preferred to a stem. Empty when the text is not kana."""
    text = jaconv.hira2kata(normalise_place_name(raw))
    if not _KATAKANA.match(text):
        return []
    return list(_reading_index().get(text, []))


_WARD = re.compile(r"^(?P<city>.+?市)(?P<ward>.+区)$")


def find_municipality(
    session: DbSession, raw: str, *, prefecture: str | None = None
) -> Municipality:
    """Find a municipality by name, with or without its prefecture ("栃木県佐野市" or "佐野市")."""
    name = normalise_place_name(raw)
    if not name:
        raise ServiceError(
            "municipality", str(_l("Enter a municipality.")), code="municipality_missing"
        )
    query = select(Municipality)
    if prefecture and name.startswith(prefecture):
        name = name[len(prefecture) :]
    if prefecture:
        query = query.where(Municipality.prefecture == prefecture)
    candidates = session.scalars(query.where(Municipality.name == name)).all()
    ward = _WARD.match(name)
    if not candidates and ward:  # 千葉市中央区: the designated city is the municipality
        city = ward.group("city")
        if prefecture and city.startswith(prefecture):
            city = city[len(prefecture) :]
        candidates = session.scalars(query.where(Municipality.name == city)).all()
        if not candidates and not prefecture:
            name = city
    if not candidates:  # the reading: さのし, サノシ
        codes = codes_for_reading(name)
        if codes:
            candidates = session.scalars(query.where(Municipality.code.in_(codes))).all()
            if len(candidates) > 1:
                names = "、".join(sorted(m.full_name for m in candidates))
                raise ServiceError(
                    "municipality",
                    str(_l("%(n)s could be %(c)s: enter the name.", n=raw, c=names)),
                    code="municipality_ambiguous",
                )
    if not candidates and not prefecture:
        for length in (3, 4):  # 東京都, 神奈川県 ...
            head, tail = name[:length], name[length:]
            candidates = session.scalars(
                select(Municipality).where(
                    Municipality.prefecture == head, Municipality.name == tail
                )
            ).all()
            if candidates:
                break
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise ServiceError(
            "municipality",
            str(_l("Several municipalities are called %(n)s: add the prefecture.", n=raw)),
            code="municipality_ambiguous",
        )
    if prefecture:
        raise ServiceError(
            "municipality",
            str(_l("No municipality %(n)s in %(p)s.", n=raw, p=prefecture)),
            code="municipality_unknown",
        )
    raise ServiceError(
        "municipality", str(_l("No municipality called %(n)s.", n=raw)), code="municipality_unknown"
    )


def find_organisation(session: DbSession, program: Program, raw: str) -> Organisation:
    """An organisation of the program by its Japanese or English name."""
    name = " ".join(raw.split())
    found = session.scalar(
        select(Organisation).where(
            Organisation.program_id == program.id,
            (Organisation.name == name) | (func.lower(Organisation.name_en) == name.lower()),
        )
    )
    if found is None:
        raise ServiceError(
            "organisation",
            str(_l("%(p)s has no organisation called %(n)s.", p=program.name_ja, n=raw)),
            code="organisation_unknown",
        )
    return found


def get_program_by_code(session: DbSession, code: str) -> Program | None:
    return session.scalar(select(Program).where(Program.code == code.strip().lower()))


def list_programs(session: DbSession, program_ids: set[int] | None) -> list[Program]:
    query = select(Program).order_by(Program.id)
    if program_ids is not None:
        query = query.where(Program.id.in_(program_ids or {-1}))
    return list(session.scalars(query))


def next_number(session: DbSession, program: Program, kind: str, year: int) -> int:
    """The next value of a per-program counter, safe under concurrent transactions: the
    UPDATE takes a row lock (PostgreSQL) or the write lock (SQLite) until commit."""
    for _attempt in range(2):
        value = session.execute(
            update(NumberSequence)
            .where(
                NumberSequence.program_id == program.id,
                NumberSequence.kind == kind,
                NumberSequence.year == year,
            )
            .values(last_value=NumberSequence.last_value + 1)
            .returning(NumberSequence.last_value)
        ).scalar()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(NumberSequence(program_id=program.id, kind=kind, year=year))
        except IntegrityError:
            pass  # another transaction created it first: update again
    raise RuntimeError("number sequence could not be advanced")


SEAL_MAX_BYTES = 300 * 1024
# A seal prints 24 mm wide: 2000 pixels is over 2000 dpi. 2000 × 2000 decodes to at most
# 16 MB (RGBA), where a 300 KB PNG could otherwise hold a picture of hundreds of megapixels.
SEAL_MAX_SIDE = 2000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the image's header, decoding no pixel (Pillow opens lazily);
    None when it is not an image Pillow can read."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS or 0) * 2, 1  # larger than any limit here
    except Exception:  # Pillow raises many kinds of errors for broken files
        return None


def check_seal_image(data: bytes) -> None:
    """A PNG within the byte and pixel limits, judged before anything is decoded."""
    if not data.startswith(PNG_SIGNATURE):
        raise ServiceError("seal", str(_l("The seal must be a PNG image.")), code="seal_not_png")
    if len(data) > SEAL_MAX_BYTES:
        raise ServiceError(
            "seal", str(_l("The seal image must be at most 300 KB.")), code="seal_too_large"
        )
    size = image_size(data)
    if size is None:
        raise ServiceError("seal", str(_l("The seal must be a PNG image.")), code="seal_not_png")
    if max(size) > SEAL_MAX_SIDE:
        raise ServiceError(
            "seal",
            str(
                _l(
                    "The seal image must be at most %(n)d × %(n)d pixels; this one is "
                    "%(w)d × %(h)d.",
                    n=SEAL_MAX_SIDE,
                    w=size[0],
                    h=size[1],
                )
            ),
            code="seal_too_large",
        )


def set_seal(
    session: DbSession, *, actor: Any, organisation: Organisation, data: bytes | None
) -> None:
    """Store (or with None remove) the organisation's seal image for completion certificates."""
    if data is not None:
        check_seal_image(data)
    organisation.seal_png = data
    record_audit(
        session,
        actor,
        "organisation.seal",
        organisation,
        program_id=organisation.program_id,
        detail={"removed": data is None},
    )
