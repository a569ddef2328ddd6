"""The security suite's world and helpers.

The world: two programs, one user per role, and of each kind of object one that is the
supporter's own (in the staff member's municipality), one that belongs to another supporter
of the same program (in another municipality), and one of another program."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from supporters.accounts import services as account_services
from supporters.accounts.models import RoleGrant, User
from supporters.certificates import services as certificates
from supporters.core.dates import fiscal_year
from supporters.db import now_utc
from supporters.dispatch import calendar as feeds
from supporters.dispatch import services as dispatch
from supporters.dispatch.models import Participation
from supporters.mail.services import queue_user_mail
from supporters.registry import activity_reports
from supporters.reminders.models import Notification
from supporters.training.models import CourseSession, Enrolment
from supporters.training.services.completion import complete_by_hand
from supporters.training.services.enrolments import enrol_person
from tests import factories

TOKYO = ZoneInfo("Asia/Tokyo")

# The columns of every table in this suite, relative to the objects of the "own" variant:
# anonymous visitor, admin, coordinator of the object's program (tochigi), coordinator of
# another program (kagawa), municipal staff of the object's municipality (佐野市), staff of
# another municipality of the same program (那須塩原市), the supporter who owns the object,
# and another supporter of the same program.
ROLES = ("anon", "admin", "coord", "coordX", "staff", "staffX", "sup", "supX")
VARIANTS = ("own", "other", "foreign")

# Referrer policies that keep URLs (which carry ids and tokens) on this site.
SAFE_REFERRER_POLICIES = {"same-origin", "no-referrer"}


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]  # role -> server-side session token (what login_as stores)
    params: dict[str, dict[str, Any]]  # variant -> URL values


def _today() -> Any:
    return now_utc().astimezone(TOKYO).date()


def _registration(db_session: Any, program_code: str, place: str, n: int) -> Any:
    registration = factories.registration(
        db_session,
        program_code=program_code,
        on=_today() - timedelta(days=60),
        name=f"安全 {n}郎",
        reading="アンゼン " + ("イチロウ", "ジロウ", "サブロウ")[n - 1],
        email=f"safe{n}@example.jp",
        residence=place,
    )
    registration.main_municipality_id = factories.municipality(
        db_session, name=place, prefecture=registration.program.prefecture
    ).id
    db_session.flush()
    return registration


def _first_session(db_session: Any, course_id: int) -> CourseSession:
    row = db_session.scalar(
        select(CourseSession).where(CourseSession.course_id == course_id).order_by(CourseSession.id)
    )
    assert row is not None
    return row


def build_world(db_session: Any) -> World:
    now = now_utc()
    today = _today()
    admin_actor = factories.admin_user(db_session)
    own = _registration(db_session, "tochigi", "佐野市", 1)
    other = _registration(db_session, "tochigi", "那須塩原市", 2)
    foreign = _registration(db_session, "kagawa", "高松市", 3)

    users = {
        "admin": factories.admin(db_session, email="admin@security.example"),
        "coord": factories.coordinator(
            db_session, program_code="tochigi", email="coord@security.example"
        ),
        "coordX": factories.coordinator(
            db_session, program_code="kagawa", email="coordx@security.example"
        ),
        "staff": factories.municipal_staff(
            db_session,
            program_code="tochigi",
            municipality_name="佐野市",
            email="staff@security.example",
        ),
        "staffX": factories.municipal_staff(
            db_session,
            program_code="tochigi",
            municipality_name="那須塩原市",
            email="staffx@security.example",
        ),
        "sup": factories.supporter(
            db_session, program_code="tochigi", email="sup@security.example"
        ),
        "supX": factories.supporter(
            db_session, program_code="tochigi", email="supx@security.example"
        ),
    }
    users["sup"].person_id = own.person_id
    users["supX"].person_id = other.person_id
    db_session.flush()

    # Own: a follow-up course of the supporter's program that the supporter completed.
    own_course = factories.course(
        db_session, program_code="tochigi", kind="follow_up", on=today - timedelta(days=10)
    )
    own_enrolment = enrol_person(
        db_session, actor=None, course=own_course, person=own.person, now=now
    )
    complete_by_hand(
        db_session, actor=admin_actor, enrolment=own_enrolment, reason="テスト", on=today
    )
    other_enrolment = db_session.get(Enrolment, other.enrolment_id)
    foreign_enrolment = db_session.get(Enrolment, foreign.enrolment_id)
    courses = {
        "own": (own_course, own_enrolment),
        "other": (other_enrolment.course, other_enrolment),
        "foreign": (foreign_enrolment.course, foreign_enrolment),
    }

    registrations = {"own": own, "other": other, "foreign": foreign}
    enrolment_ids = {variant: r.enrolment_id for variant, r in registrations.items()}
    places = {"own": "佐野市", "other": "那須塩原市", "foreign": "高松市"}
    start = (now + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    params: dict[str, dict[str, Any]] = {}
    for offset, variant in enumerate(VARIANTS):
        registration = registrations[variant]
        code = registration.program.code
        event = factories.dispatch_event(
            db_session,
            program_code=code,
            place=places[variant],
            starts_at=start + timedelta(days=offset),
        )
        event.series_id = f"world{offset}"  # a series of one: its cancel-from form is shown
        assignment = dispatch.assign(
            db_session, actor=admin_actor, event=event, registration=registration, now=now
        )
        card = certificates.issue_card(
            db_session, actor=admin_actor, registration=registration, now=now
        )
        participation = Participation(
            event_id=event.id, person_id=registration.person_id, enrolment_id=enrolment_ids[variant]
        )
        db_session.add(participation)
        db_session.flush()
        activity_reports.file_report(
            db_session,
            actor=admin_actor,
            registration=registration,
            data=activity_reports.ReportInput(
                activity_on=today - timedelta(days=5),
                hours="2",
                kind="phone",
                municipality_id=registration.main_municipality_id,
                topics=["going_out"],
            ),
            today=today,
            on_behalf=True,
        )
        course, enrolment = courses[variant]
        params[variant] = {
            "course_id": course.id,
            "session_id": _first_session(db_session, course.id).id,
            "enrolment_id": enrolment.id,
            "registration_id": registration.id,
            "card_id": card.id,
            "event_id": event.id,
            "assignment_id": assignment.id,
            "participation_id": participation.id,
            "code": code,
            "organisation_id": registration.issuing_organisation_id,
            "year": fiscal_year(today),
            "fmt": "csv",
            "verify_code": card.code,
        }

    message = queue_user_mail(
        db_session,
        user=users["sup"],
        kind="password_reset",
        template="password_reset",
        link="http://localhost/password/reset/example",
    )
    notification = Notification(user_id=users["sup"].id, title="お知らせ", link="/schedule")
    db_session.add(notification)
    db_session.flush()
    feed_token = feeds.reset_feed_token(db_session, users["sup"], now=now)
    grant = db_session.scalar(select(RoleGrant).where(RoleGrant.user_id == users["sup"].id))
    other_grant = db_session.scalar(select(RoleGrant).where(RoleGrant.user_id == users["coord"].id))
    params["-"] = {
        "user_id": users["sup"].id,
        "grant_id": grant.id,
        "other_grant_id": other_grant.id,  # a grant of another user
        "message_id": message.id,
        "notification_id": notification.id,  # sup's
        "token": "not-a-valid-token",
        "feed_token": feed_token,
        "verify_code": params["own"]["verify_code"],
        "filename": "css/app.css",
    }
    tokens = {
        role: account_services.start_session(db_session, user, now=now, lifetime=timedelta(hours=1))
        for role, user in users.items()
    }
    db_session.commit()
    return World(users=users, tokens=tokens, params=params)


def csrf_pair(app: Flask) -> tuple[str, str]:
    """(raw token for the session, signed token for the form), through Flask-WTF itself, in
    a context of its own (Flask-WTF keeps the token of a context in `g`)."""

    def make() -> tuple[str, str]:
        with app.test_request_context():
            signed = generate_csrf()
            return session[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")], signed

    return contextvars.Context().run(make)


def client_as(app: Flask, world: World, role: str, *, csrf_raw: str | None = None) -> FlaskClient:
    """A browser of the given role: a real server-side session, as after logging in."""
    client = app.test_client()
    with client.session_transaction() as flask_session:
        if role != "anon":
            flask_session["_user_id"] = world.tokens[role]
            flask_session["_fresh"] = True
        if csrf_raw is not None:
            flask_session[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")] = csrf_raw
    return client


@contextmanager
def rolled_back(db_session: Any) -> Iterator[None]:
    """Whatever a request does inside the block is undone afterwards (a savepoint on the
    test's connection, around the request's own savepoint)."""
    db_session.commit()
    connection = db_session.get_bind()
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        db_session.expire_all()


def assert_security_headers(response: Any, what: object) -> None:
    """The headers every HTML page must carry (error pages included)."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    if response.mimetype != "text/html":
        return
    csp = headers.get("Content-Security-Policy", "")
    directives = {
        part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";") if part.strip()
    }
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (what, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (what, csp)
    assert "script-src" in directives or "default-src" in directives, (what, csp)
    assert headers.get("Referrer-Policy") in SAFE_REFERRER_POLICIES, (what, headers)


def url_values(app: Flask, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    """The values a rule needs, from a variant's parameters (`code` and `token` mean
    different things on different routes)."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = dict(params)
    if endpoint == "verify.verify":
        values["code"] = params["verify_code"]
    if endpoint == "dispatch.calendar_feed":
        values["token"] = params["feed_token"]
    missing = set(rule.arguments) - set(values)
    assert not missing, (endpoint, missing)
    return {name: values[name] for name in rule.arguments}


def build_path(app: Flask, endpoint: str, params: dict[str, Any]) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **url_values(app, endpoint, params))
