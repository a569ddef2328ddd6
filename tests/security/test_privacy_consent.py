"""Issue 12 item 3: consent is enforced. Anyone who is not the program's coordinator (or the
person themself) sees a supporter's phone and e-mail only where the supporter consented to
share contact with the municipality, on every page that shows contact data."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from supporters.people.models import Person
from supporters.registry.models import Registration
from tests.security.world import World, build_path, client_as

PHONE = "090-5555-0101"
EMAIL = "safe1@example.jp"


def _own(db_session: Any, world: World, *, consent: bool) -> Registration:
    registration = db_session.get(Registration, world.params["own"]["registration_id"])
    registration.consent_share_contact = consent
    person = db_session.get(Person, registration.person_id)
    person.phone = PHONE
    db_session.commit()
    return registration


def _pages(app: Flask, world: World) -> list[str]:
    """Every page on which a trainee's or supporter's contact could appear."""
    params = world.params["own"]
    return [
        build_path(app, "training.enrolment_detail", params),
        build_path(app, "training.detail", params),
        build_path(app, "registry.municipal_supporters", params),
        build_path(app, "dispatch.detail", params),
    ]


def _seen(app: Flask, world: World, role: str) -> str:
    client = client_as(app, world, role)
    bodies = []
    for path in _pages(app, world):
        response = client.get(path)
        if response.status_code == 200:
            bodies.append(response.get_data(as_text=True))
    return "\n".join(bodies)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_without_consent_others_do_not_see_contact(
    app: Flask, db_session: Any, world: World, role: str
) -> None:
    _own(db_session, world, consent=False)
    seen = _seen(app, world, role)
    assert "安全 1郎" in seen or role == "admin"  # the page itself is shown
    assert PHONE not in seen and EMAIL not in seen


def test_with_consent_the_municipality_sees_contact(
    app: Flask, db_session: Any, world: World
) -> None:
    _own(db_session, world, consent=True)
    page = client_as(app, world, "staff").get(
        build_path(app, "training.enrolment_detail", world.params["own"])
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert PHONE in body and EMAIL in body


def test_a_withdrawn_registration_no_longer_shares_contact(
    app: Flask, db_session: Any, world: World
) -> None:
    registration = _own(db_session, world, consent=True)
    registration.withdrawn_on = registration.registered_on
    db_session.commit()
    seen = _seen(app, world, "staff")
    assert PHONE not in seen and EMAIL not in seen


def test_the_coordinator_always_sees_contact(app: Flask, db_session: Any, world: World) -> None:
    _own(db_session, world, consent=False)
    body = (
        client_as(app, world, "coord")
        .get(build_path(app, "training.enrolment_detail", world.params["own"]))
        .get_data(as_text=True)
    )
    assert PHONE in body and EMAIL in body


def test_the_rule_itself(app: Flask, db_session: Any, world: World) -> None:
    from supporters.accounts.permissions import contact_for

    registration = _own(db_session, world, consent=False)
    person = registration.person
    program_id = registration.program_id
    users = world.users
    hidden = {
        role: contact_for(db_session, users[role], person, program_id)
        for role in ("admin", "coordX", "staff", "staffX", "supX")
    }
    assert all(not c.shown and c.email is None and c.phone is None for c in hidden.values())
    assert contact_for(db_session, users["coord"], person, program_id).phone == PHONE
    assert contact_for(db_session, users["sup"], person, program_id).phone == PHONE
    registration.consent_share_contact = True
    db_session.flush()
    assert contact_for(db_session, users["staff"], person, program_id).phone == PHONE
    # Consent given in one program does not open the contact to another program's staff.
    other_program = world.params["foreign"]["code"]
    assert other_program != registration.program.code
    from tests import factories

    foreign_program = factories.program(db_session, code=other_program)
    assert not contact_for(db_session, users["staff"], person, foreign_program.id).shown


def test_every_page_shows_contact_only_to_whom_it_may(
    app: Flask, db_session: Any, world: World
) -> None:
    """A sweep of every GET route, role and object (no consent anywhere): a person's phone
    or e-mail appears only to the coordinators of the person's program and to the person."""
    from tests.security.routes import MATRIX
    from tests.security.world import ROLES, VARIANTS

    phones = {"own": "090-5555-0101", "other": "090-5555-0102", "foreign": "090-5555-0103"}
    allowed = {
        "own": {"coord", "sup"},
        "other": {"coord", "supX"},
        "foreign": {"coordX"},
    }
    contact: dict[str, tuple[str, str]] = {}
    for variant in VARIANTS:
        registration = db_session.get(Registration, world.params[variant]["registration_id"])
        registration.consent_share_contact = False
        person = db_session.get(Person, registration.person_id)
        person.phone = phones[variant]
        contact[variant] = (person.email, person.phone)
    db_session.commit()
    leaks = []
    for role in ROLES:
        client = client_as(app, world, role)
        for (method, endpoint), table in MATRIX.items():
            if method != "GET" or endpoint in ("static", "accounts.logout"):
                continue
            for variant in table:
                params = world.params["-" if variant == "-" else variant]
                if variant == "-":
                    params = {**world.params["own"], **world.params["-"]}
                response = client.get(build_path(app, endpoint, params))
                if response.mimetype == "application/pdf":
                    # PDFs are compressed; none prints contact fields (see the renderers' pdf.py).
                    continue
                body = response.get_data().decode("utf-8", errors="replace")
                for whose, (email, phone) in contact.items():
                    if role in allowed[whose]:
                        continue
                    if email in body or phone in body:
                        leaks.append((role, endpoint, variant, whose))
    assert not leaks
