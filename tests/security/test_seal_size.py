"""Issue 12, item 10: a seal image is limited in bytes and in pixels before anything is
decoded. An 86 KB PNG can hold 89 megapixels (250 MB once decoded): its size is read from
the header (Pillow's lazy open) and refused."""

from __future__ import annotations

import io
import time
import zlib
from typing import Any

import pytest

from supporters.db import ServiceError
from supporters.programs.models import Organisation
from supporters.programs.services import SEAL_MAX_SIDE, set_seal
from tests import factories
from tests.conftest import post_form


def blank_png(width: int, height: int) -> bytes:
    """A valid 8-bit greyscale PNG of zeros, compressed row by row (never held whole)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the pixels
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    pixels = b"".join(parts)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _organisation(db_session: Any) -> Organisation:
    program = factories.program(db_session, code="tochigi")
    organisation = Organisation(program_id=program.id, kind="operator", name="印影 事務局")
    db_session.add(organisation)
    db_session.flush()
    return organisation


def test_a_small_file_of_89_megapixels_is_refused_from_its_header(db_session: Any) -> None:
    bomb = blank_png(9500, 9400)  # 89.3 megapixels
    assert len(bomb) < 300 * 1024
    organisation = _organisation(db_session)
    started = time.perf_counter()
    with pytest.raises(ServiceError, match="印影の画像は2000 × 2000ピクセル以内にしてください"):
        set_seal(db_session, actor=None, organisation=organisation, data=bomb)
    assert time.perf_counter() - started < 0.5  # nothing was decoded
    assert organisation.seal_png is None


def test_the_pixel_limit_at_its_boundary(db_session: Any) -> None:
    organisation = _organisation(db_session)
    set_seal(
        db_session,
        actor=None,
        organisation=organisation,
        data=blank_png(SEAL_MAX_SIDE - 1, SEAL_MAX_SIDE - 1),
    )
    edge = blank_png(SEAL_MAX_SIDE, SEAL_MAX_SIDE)
    set_seal(db_session, actor=None, organisation=organisation, data=edge)
    assert organisation.seal_png == edge
    for width, height in ((SEAL_MAX_SIDE + 1, 10), (10, SEAL_MAX_SIDE + 1)):
        with pytest.raises(ServiceError, match="印影の画像は2000 × 2000ピクセル以内にしてください"):
            set_seal(
                db_session, actor=None, organisation=organisation, data=blank_png(width, height)
            )
    assert organisation.seal_png == edge


def test_a_png_that_is_not_an_image_is_refused(db_session: Any) -> None:
    organisation = _organisation(db_session)
    with pytest.raises(ServiceError, match="公印はPNG形式の画像にしてください"):
        set_seal(db_session, actor=None, organisation=organisation, data=b"\x89PNG\r\n\x1a\nbroken")


def test_the_upload_page_says_why_in_japanese(client: Any, login_as: Any, db_session: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    organisation = _organisation(db_session)
    db_session.commit()
    response = post_form(
        client,
        f"/programs/tochigi/organisations/{organisation.id}/seal",
        {"seal": (io.BytesIO(blank_png(SEAL_MAX_SIDE + 1, 10)), "seal.png")},
        form_url="/programs/tochigi",
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "ピクセル" in response.get_data(as_text=True)


def test_a_seal_stored_before_the_limit_is_not_decoded_for_a_certificate() -> None:
    from supporters.pdf.canvas import seal_image
    from supporters.pdf.errors import PdfInputError

    bomb = blank_png(9500, 9400)
    started = time.perf_counter()
    with pytest.raises(PdfInputError, match="大きすぎます"):
        seal_image(bomb, max_side=SEAL_MAX_SIDE)
    assert time.perf_counter() - started < 0.5
