"""Demo courses built from individual records, so the figures come out of the data:
Kagawa FY2023 initial course (capacity 50, 30 attended: 12 welfare professionals, 12 family
members, 6 with lived experience); Chiba's course in Chiba City with the six-topic
curriculum; Tochigi courses by Polaris and by Nasu's council (154 completers in all, with the
demo supporter). Follow-up courses need registered supporters: supporters/registry/demo.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from supporters.accounts.models import User
from supporters.core.eras import fiscal_year_label
from supporters.db import DbSession
from supporters.people.models import Attribute, Person
from supporters.people.services import PersonInput, create_person
from supporters.programs.models import Municipality, Organisation, Program
from supporters.training.models import Course, CourseKind, Enrolment
from supporters.training.services.courses import CourseInput, close_course, create_course
from supporters.training.services.enrolments import enrol_person
from supporters.training.services.sessions import SessionInput, add_session, record_roll_call

FAMILY = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("清水", "シミズ"),
    ("森", "モリ"),
]
GIVEN = [
    ("陽子", "ヨウコ"),
    ("健一", "ケンイチ"),
    ("美穂", "ミホ"),
    ("大輔", "ダイスケ"),
    ("恵", "メグミ"),
    ("誠", "マコト"),
    ("由美", "ユミ"),
    ("浩", "ヒロシ"),
    ("直美", "ナオミ"),
    ("翔太", "ショウタ"),
    ("久美子", "クミコ"),
    ("隆", "タカシ"),
    ("真理", "マリ"),
    ("和也", "カズヤ"),
    ("幸子", "サチコ"),
    ("修", "オサム"),
    ("香織", "カオリ"),
    ("拓也", "タクヤ"),
    ("明美", "アケミ"),
    ("勇", "イサム"),
    ("千尋", "チヒロ"),
    ("悠", "ハルカ"),
    ("智子", "トモコ"),
]


@dataclass
class _Sequence:
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def _person(
    session: DbSession,
    seq: _Sequence,
    program: Program,
    places: list[Municipality],
    attribute: Attribute,
) -> Person:
    n = seq.next()
    family, family_kana = FAMILY[n % len(FAMILY)]
    given, given_kana = GIVEN[(n * 7 + n // len(FAMILY)) % len(GIVEN)]
    place = places[n % len(places)]
    data = PersonInput(
        name=f"{family} {given}",
        name_reading=f"{family_kana} {given_kana}",
        email=f"trainee{program.code}{n:04d}@demo.example",
        phone=f"090-{n // 10000:04d}-{n % 10000:04d}",
        residence_municipality_id=place.id,
        attribute=attribute.value,
    )
    return create_person(session, actor=None, data=data)


def _places(session: DbSession, prefecture: str, names: list[str]) -> list[Municipality]:
    rows = session.scalars(
        select(Municipality).where(
            Municipality.prefecture == prefecture, Municipality.name.in_(names)
        )
    ).all()
    return sorted(rows, key=lambda m: names.index(m.name))


def _organiser(session: DbSession, program: Program, name: str) -> Organisation:
    organisation = session.scalar(
        select(Organisation).where(Organisation.program_id == program.id, Organisation.name == name)
    )
    assert organisation is not None, name
    return organisation


def _at(day: date) -> datetime:
    return datetime.combine(day, time(1, 0), tzinfo=UTC)


def _run_course(
    session: DbSession,
    *,
    program: Program,
    organiser: Organisation,
    kind: CourseKind,
    title: str,
    on: date,
    capacity: int | None,
    people: list[Person],
    attending: int,
    venue: str,
    topics: list[str] | None = None,
) -> Course | None:
    """Create a held course: enrol everyone, mark `attending` of them present at every
    session (which completes them), close it. Skipped if it exists (idempotent)."""
    exists = session.scalar(
        select(Course).where(Course.program_id == program.id, Course.title == title)
    )
    if exists is not None:
        return None
    course = create_course(
        session,
        actor=None,
        program=program,
        data=CourseInput(
            kind=kind, organiser_id=organiser.id, title=title, venue=venue, capacity=capacity
        ),
        first_session_on=on,
        use_curriculum=topics is None,
    )
    for topic in topics or []:
        add_session(
            session,
            actor=_system(session),
            course=course,
            data=SessionInput(date=on, start_time=time(13, 30), end_time=time(16, 0), topic=topic),
        )
    enrolments = [
        enrol_person(
            session,
            actor=None,
            course=course,
            person=person,
            now=_at(on),
            override_reason="デモデータ",
        )
        for person in people
    ]
    actor = _system(session)
    present = {e.id for e in enrolments[:attending]}
    session.refresh(course)
    for course_session in course.sessions:
        record_roll_call(
            session,
            actor=actor,
            course_session=course_session,
            present_ids=present,
            now=_at(course_session.date),
        )
    last_day = max(s.date for s in course.sessions)
    close_course(session, actor=actor, course=course, now=_at(last_day + timedelta(days=1)))
    return course


@dataclass
class _Held:
    """A finished initial course of the demo: who held it, when, where, who came."""

    organiser: Organisation
    title: str
    on: date
    capacity: int
    venue: str
    people: list[Person]
    attending: int


def _system(session: DbSession) -> User:
    admin = session.scalar(select(User).where(User.email == "admin@demo.example"))
    assert admin is not None
    return admin


def load_training_demo(session: DbSession, programs: dict[str, Program], *, today: date) -> None:
    seq = _Sequence(session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) or 0)
    seq.value *= 10  # numbers that do not collide with an earlier run's
    for key, plan in (("kagawa", _kagawa), ("chiba", _chiba), ("tochigi", _tochigi)):
        program = programs[key]
        if session.scalar(select(Course).where(Course.program_id == program.id)) is not None:
            continue  # loaded before (idempotent)
        for held in plan(session, program, seq):
            _run_course(session, program=program, kind=CourseKind.INITIAL, **vars(held))
    _kagawa_in_progress(session, programs["kagawa"], seq, today)


def _kagawa_in_progress(session: DbSession, program: Program, seq: _Sequence, today: date) -> None:
    """A course under way, as a coordinator meets one: its first day was last week (roll
    call taken), its second is ahead. Skipped if it exists (idempotent)."""
    title = "香川県ひきこもりサポーター養成研修（開催中）"
    if session.scalar(select(Course).where(Course.program_id == program.id, Course.title == title)):
        return
    places = _places(session, "香川県", ["高松市", "丸亀市", "坂出市", "善通寺市"])
    held, ahead = today - timedelta(days=7), today + timedelta(days=14)
    course = create_course(
        session,
        actor=None,
        program=program,
        data=CourseInput(
            kind=CourseKind.INITIAL,
            organiser_id=_organiser(session, program, "hito.toco").id,
            title=title,
            venue="高松市 サンポートホール",
            capacity=20,
        ),
        first_session_on=held,
        use_curriculum=False,
    )
    actor = _system(session)
    for day, topic in ((held, "ひきこもりの理解と家族支援"), (ahead, "サポーターの役割と実践")):
        add_session(
            session,
            actor=actor,
            course=course,
            data=SessionInput(date=day, start_time=time(13, 30), end_time=time(16, 0), topic=topic),
        )
    attributes = (
        [Attribute.FAMILY] * 3 + [Attribute.WELFARE_PROFESSIONAL] * 3 + [Attribute.LIVED_EXPERIENCE]
    )
    enrolments = [
        enrol_person(
            session,
            actor=None,
            course=course,
            person=_person(session, seq, program, places, attribute),
            now=_at(held - timedelta(days=30)),
        )
        for attribute in attributes
    ]
    session.refresh(course)
    record_roll_call(
        session,
        actor=actor,
        course_session=course.sessions[0],
        present_ids={e.id for e in enrolments[:-1]},
        now=_at(held),
    )


def _demo_person(session: DbSession, email: str, attribute: Attribute) -> list[Person]:
    """The demo login's person, with `attribute`, to enrol with the others (none if absent)."""
    user = session.scalar(select(User).where(User.email == email))
    if user is None or user.person is None:
        return []
    user.person.attribute = attribute
    return [user.person]


def _trainees(
    session: DbSession,
    seq: _Sequence,
    program: Program,
    places: list[Municipality],
    counts: list[tuple[Attribute, int]],
) -> list[Person]:
    """New people for a course: `count` of each attribute, in that order."""
    return [
        _person(session, seq, program, places, attribute)
        for attribute, count in counts
        for _ in range(count)
    ]


def _kagawa(session: DbSession, program: Program, seq: _Sequence) -> list[_Held]:
    places = _places(
        session,
        "香川県",
        ["高松市", "丸亀市", "坂出市", "善通寺市", "観音寺市", "さぬき市", "三豊市", "宇多津町"],
    )
    hito = _organiser(session, program, "hito.toco")
    # FY2022: the demo supporter's own course.
    earlier = _trainees(
        session,
        seq,
        program,
        places,
        [
            (Attribute.FAMILY, 8),
            (Attribute.WELFARE_PROFESSIONAL, 8),
            (Attribute.LIVED_EXPERIENCE, 4),
        ],
    ) + _demo_person(session, "supporter.kagawa@demo.example", Attribute.FAMILY)
    courses = [
        _Held(
            hito,
            "令和4年度 香川県ひきこもりサポーター養成研修",
            date(2022, 10, 15),
            40,
            "高松市 サンポートホール",
            earlier,
            len(earlier),
        )
    ]
    # FY2023: capacity 50, 32 applied, 30 attended and completed: 12 / 12 / 6.
    # The last two applied and did not come.
    trainees = _trainees(
        session,
        seq,
        program,
        places,
        [
            (Attribute.WELFARE_PROFESSIONAL, 12),
            (Attribute.FAMILY, 12),
            (Attribute.LIVED_EXPERIENCE, 6),
            (Attribute.RESIDENT, 1),
            (Attribute.FAMILY, 1),
        ],
    )
    courses.append(
        _Held(
            hito,
            "令和5年度 香川県ひきこもりサポーター養成研修",
            date(2023, 9, 9),
            50,
            "高松市 香川県社会福祉総合センター",
            trainees,
            30,
        )
    )
    # Follow-up training needs registered supporters: see supporters/registry/demo.py.
    return courses


def _chiba(session: DbSession, program: Program, seq: _Sequence) -> list[_Held]:
    places = _places(
        session,
        "千葉県",
        ["千葉市", "習志野市", "佐倉市", "船橋市", "市川市", "八千代市", "四街道市"],
    )
    centre = _organiser(session, program, "千葉県ひきこもり地域支援センター")
    people = _trainees(
        session,
        seq,
        program,
        places,
        [
            (Attribute.MUNICIPAL_STAFF, 6),
            (Attribute.PRIVATE_SUPPORT, 5),
            (Attribute.RESIDENT, 6),
            (Attribute.FAMILY, 5),
        ],
    )
    people = _demo_person(session, "supporter.chiba@demo.example", Attribute.RESIDENT) + people
    return [
        _Held(
            centre,
            "令和6年度 千葉県ひきこもりサポーター養成研修",
            date(2024, 7, 6),
            60,
            "千葉市 千葉県教育会館",
            people,
            len(people) - 2,
        )
    ]


def _tochigi(session: DbSession, program: Program, seq: _Sequence) -> list[_Held]:
    places = _places(
        session,
        "栃木県",
        ["宇都宮市", "佐野市", "那須塩原市", "小山市", "栃木市", "足利市", "鹿沼市", "大田原市"],
    )
    nasu_places = _places(session, "栃木県", ["那須町", "那須塩原市"])
    polaris = _organiser(session, program, "ポラリスとちぎ(一般社団法人栃木県若年者支援機構)")
    nasu = _organiser(session, program, "那須町社会福祉協議会")
    mix = [
        Attribute.WELFARE_PROFESSIONAL,
        Attribute.FAMILY,
        Attribute.RESIDENT,
        Attribute.MUNICIPAL_STAFF,
        Attribute.LIVED_EXPERIENCE,
        Attribute.FAMILY,
    ]
    courses: list[_Held] = []
    # Polaris's courses over five fiscal years: 140 completers plus the demo supporter.
    for year, size in [(2019, 28), (2020, 27), (2021, 29), (2022, 28), (2023, 28)]:
        people = [_person(session, seq, program, places, mix[k % len(mix)]) for k in range(size)]
        if year == 2022:
            people += _demo_person(session, "supporter.tochigi@demo.example", Attribute.FAMILY)
        courses.append(
            _Held(
                polaris,
                f"{fiscal_year_label(year)} ひきこもりサポーター養成研修（ポラリスとちぎ）",
                date(year, 7, 20),
                40,
                "宇都宮市 とちぎ福祉プラザ",
                people,
                len(people),
            )
        )
    # Nasu town council's own course with Polaris's material: 13 completers.
    people = [_person(session, seq, program, nasu_places, mix[k % len(mix)]) for k in range(13)]
    courses.append(
        _Held(
            nasu,
            "那須町ひきこもりサポーター養成講座（那須町社会福祉協議会）",
            date(2022, 11, 12),
            20,
            "那須町 ゆめプラザ・那須",
            people,
            13,
        )
    )
    return courses


__all__ = ["Enrolment", "load_training_demo"]
