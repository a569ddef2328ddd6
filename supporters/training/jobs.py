"""Reminder rules of training, registered with and run by each reminder pass (see
reminders/jobs.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from supporters.core.display import human_date, lazy
from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.reminders.jobs import register_rule
from supporters.reminders.rules import Message, Reminder, decide_many, users_by_person
from supporters.training.models import ON_ROLL, CourseSession, Enrolment


@register_rule(order=80)
def training_session(session: DbSession, now: datetime) -> int:
    """7 days and 1 day before a session, to each enrolled trainee."""
    today = local_date(now)
    rows = session.execute(
        select(CourseSession, Enrolment, Person)
        .join(Enrolment, Enrolment.course_id == CourseSession.course_id)
        .join(Person, Person.id == Enrolment.person_id)
        .options(joinedload(CourseSession.course))
        .where(
            CourseSession.date > today,
            CourseSession.date <= today + timedelta(days=7),
            Enrolment.state.in_(ON_ROLL),
        )
    ).all()
    users = users_by_person(session, {e.person_id for _s, e, _p in rows})
    due = []
    for course_session, enrolment, person in rows:
        occurrence = "d1" if (course_session.date - today).days <= 1 else "d7"
        start = course_session.start_time.strftime("%H:%M") if course_session.start_time else ""
        due.append(
            Reminder(
                "training_session",
                ("session", course_session.id),
                occurrence,
                Message(
                    _l(
                        "Training on %(d)s: %(t)s",
                        d=lazy(human_date, course_session.date),
                        t=course_session.course.title,
                    ),
                    [
                        lazy(
                            lambda day, start, topic: f"{human_date(day)} {start} {topic}",
                            course_session.date,
                            start,
                            course_session.topic,
                        ),
                        course_session.course.venue,
                    ],
                    f"/courses/{course_session.course_id}",
                    useful_until=datetime.combine(
                        course_session.date, course_session.start_time or time(0), TOKYO
                    ),
                ),
                user=users.get(enrolment.person_id),
                person=person,
            )
        )
    return len(decide_many(session, due, now=now))
