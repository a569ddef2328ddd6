from __future__ import annotations

import io
import zlib
from typing import Any

from sqlalchemy import select

from supporters.programs.models import Organisation
from tests import factories
from tests.conftest import post_form


def tiny_png() -> bytes:
    """A valid 1×1 red PNG, built here so the test needs no file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = chunk(b"IHDR", (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def _organisation(db_session: Any) -> Organisation:
    program = factories.program(db_session, code="tochigi")
    organisation = Organisation(program_id=program.id, kind="operator", name="ポラリスとちぎ")
    db_session.add(organisation)
    db_session.flush()
    return organisation


def test_coordinator_uploads_a_png_seal_and_only_a_png(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    organisation = _organisation(db_session)
    db_session.commit()
    url = f"/programs/tochigi/organisations/{organisation.id}/seal"
    post_form(
        client,
        url,
        {"seal": (io.BytesIO(b"GIF89a not a png"), "seal.gif")},
        form_url="/programs/tochigi",
        content_type="multipart/form-data",
    )
    db_session.expire_all()
    assert db_session.get(Organisation, organisation.id).seal_png is None
    post_form(
        client,
        url,
        {"seal": (io.BytesIO(tiny_png()), "seal.png")},
        form_url="/programs/tochigi",
        content_type="multipart/form-data",
    )
    db_session.expire_all()
    assert db_session.get(Organisation, organisation.id).seal_png == tiny_png()
    post_form(
        client,
        url,
        {"remove": "1"},
        form_url="/programs/tochigi",
        content_type="multipart/form-data",
    )
    db_session.expire_all()
    assert (
        db_session.scalar(select(Organisation.seal_png).where(Organisation.id == organisation.id))
        is None
    )


def test_other_programs_cannot_change_the_seal(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    organisation = _organisation(db_session)
    db_session.commit()
    response = post_form(
        client,
        f"/programs/tochigi/organisations/{organisation.id}/seal",
        {"remove": "1"},
        form_url="/programs/kagawa",
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_card_design_is_program_data(db_session: Any) -> None:
    from supporters.certificates.services import card_design

    assert card_design(factories.program(db_session, code="tochigi")) == "tochigi"
    chiba = factories.program(db_session, code="chiba")
    assert card_design(chiba) == "default"
    chiba.card_design = "tochigi"
    assert card_design(chiba) == "tochigi"
    chiba.card_design = "no-such-design"
    assert card_design(chiba) == "default"
