"""Trainee CSV import: all rows or none, with a report naming row and column.

Accepts what Excel writes in Japan (cp932), UTF-8 and UTF-8 with BOM; Japanese or English
headers; full-width digits, hiragana readings and stray spaces are normalised, not refused.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.accounts.models import User
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.people.services import (
    PersonInput,
    clean_person_input,
    create_person,
    find_duplicates,
    name_key,
)
from supporters.programs.models import Municipality
from supporters.programs.services import normalise_place_name
from supporters.training.models import Course, Enrolment, EnrolmentState
from supporters.training.services import eligibility_problem, enrol_person, lock_course

COLUMNS = ["name", "name_reading", "email", "phone", "residence", "workplace", "attribute"]
HEADERS_JA = [
    "氏名",
    "フリガナ",
    "メールアドレス",
    "電話番号",
    "居住市町村",
    "勤務先市町村",
    "属性",
]
_HEADER_ALIASES = {
    **dict(zip(HEADERS_JA, COLUMNS, strict=True)),
    "name": "name",
    "reading": "name_reading",
    "furigana": "name_reading",
    "email": "email",
    "e-mail": "email",
    "phone": "phone",
    "residence": "residence",
    "workplace": "workplace",
    "attribute": "attribute",
    "ふりがな": "name_reading",
    "電話": "phone",
    "メール": "email",
    "住所市町村": "residence",
    "勤務市町村": "workplace",
    "お名前": "name",
    "名前": "name",
}
REQUIRED = ("name", "name_reading")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    reused: int = 0
    enrolled: int = 0
    waitlisted: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def template_csv() -> bytes:
    """The downloadable template: UTF-8 with BOM so that Excel opens it correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS_JA)
    writer.writerow(
        [
            "山田 花子",
            "ヤマダ ハナコ",
            "hanako@example.jp",
            "090-1234-5678",
            "高松市",
            "丸亀市",
            "家族",
        ]
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def decode_csv(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ServiceError("file", str(_l("The file is larger than 5 MB.")))
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ServiceError(
            "file",
            str(
                _l(
                    "This is an Excel workbook. In Excel, choose "
                    "“Save as” and the type “CSV (comma delimited)”."
                )
            ),
        )
    if b"\x00" in data:
        raise ServiceError(
            "file",
            str(
                _l(
                    "This file is not a CSV text file (it may be UTF-16). "
                    "Save it as CSV (UTF-8 or Shift_JIS)."
                )
            ),
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ServiceError(
        "file",
        str(
            _l(
                "The file's character encoding is not UTF-8 or Shift_JIS "
                "(cp932). Save it as CSV from Excel and try again."
            )
        ),
    )


def _header_map(header: list[str], report: ImportReport) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, raw in enumerate(header):
        key = normalise_place_name(raw).lower()
        if not key:
            continue
        column = _HEADER_ALIASES.get(key)
        if column is None:
            report.errors.append(
                RowError(
                    1,
                    raw,
                    str(_l("Unknown column. The columns are: %(c)s", c="、".join(HEADERS_JA))),
                )
            )
        elif column in mapping.values():
            report.errors.append(RowError(1, raw, str(_l("This column appears twice."))))
        else:
            mapping[index] = column
    for column in REQUIRED:
        if column not in mapping.values():
            label = HEADERS_JA[COLUMNS.index(column)]
            report.errors.append(RowError(1, label, str(_l("This column is missing."))))
    return mapping


class _Places:
    """All municipalities in memory (1,741 rows, one query), for lookups and suggestions."""

    def __init__(self, session: DbSession, prefecture: str) -> None:
        self.prefecture = prefecture
        self.rows = list(session.scalars(select(Municipality)))
        self.by_full = {m.prefecture + m.name: m for m in self.rows}
        self.by_name: dict[str, list[Municipality]] = {}
        for m in self.rows:
            self.by_name.setdefault(m.name, []).append(m)

    def find(self, raw: str) -> Municipality:
        name = normalise_place_name(raw)
        if name in self.by_full:
            return self.by_full[name]
        candidates = self.by_name.get(name, [])
        local = [m for m in candidates if m.prefecture == self.prefecture]
        if len(local) == 1:
            return local[0]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise ServiceError(
                None, str(_l("Several municipalities are called %(n)s: add the prefecture.", n=raw))
            )
        pool = [m.name for m in self.rows if m.prefecture == self.prefecture]
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.5) or difflib.get_close_matches(
            name, list(self.by_full), n=1, cutoff=0.6
        )
        if close:
            raise ServiceError(
                None,
                str(_l("No municipality called %(n)s. Did you mean %(s)s?", n=raw, s=close[0])),
            )
        raise ServiceError(None, str(_l("No municipality called %(n)s.", n=raw)))


@dataclass
class _Row:
    number: int
    data: PersonInput
    residence: Municipality | None
    work: Municipality | None


def parse_rows(session: DbSession, course: Course, text: str, report: ImportReport) -> list[_Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        report.errors.append(RowError(1, "", str(_l("The file is empty."))))
        return []
    except csv.Error as error:
        report.errors.append(RowError(1, "", str(_l("Not a CSV file: %(e)s", e=str(error)))))
        return []
    mapping = _header_map(header, report)
    if report.errors:
        return []
    places = _Places(session, course.program.prefecture)
    labels = {c: HEADERS_JA[i] for i, c in enumerate(COLUMNS)}
    rows: list[_Row] = []
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                report.errors.append(
                    RowError(
                        number,
                        "",
                        str(_l("At most %(n)d rows can be imported at once.", n=MAX_ROWS)),
                    )
                )
                break
            values = {column: (cells[i] if i < len(cells) else "") for i, column in mapping.items()}
            row = _parse_row(number, values, places, labels, report)
            if row is None:
                continue
            for contact in (row.data.email, row.data.phone):
                if contact:
                    key = (name_key(row.data.name), row.data.name_reading, contact)
                    if key in seen:
                        report.errors.append(
                            RowError(
                                number,
                                labels["name"],
                                str(_l("The same person as in row %(r)d.", r=seen[key])),
                            )
                        )
                        break
                    seen[key] = number
            rows.append(row)
    except csv.Error as error:
        report.errors.append(
            RowError(reader.line_num, "", str(_l("Not a CSV file: %(e)s", e=str(error))))
        )
    if not rows and not report.errors:
        report.errors.append(RowError(2, "", str(_l("The file has no trainees."))))
    return rows


def _parse_row(
    number: int,
    values: dict[str, str],
    places: _Places,
    labels: dict[str, str],
    report: ImportReport,
) -> _Row | None:
    found: dict[str, Municipality | None] = {"residence": None, "workplace": None}
    failed = False
    for column in ("residence", "workplace"):
        if values.get(column, "").strip():
            try:
                found[column] = places.find(values[column])
            except ServiceError as error:
                report.errors.append(RowError(number, labels[column], error.message))
                failed = True
    try:
        data = clean_person_input(
            name=values.get("name"),
            name_reading=values.get("name_reading"),
            email=values.get("email"),
            phone=values.get("phone"),
            residence=found["residence"],
            work=found["workplace"],
            attribute=values.get("attribute"),
        )
    except ServiceError as error:
        column = {
            "name": "name",
            "name_reading": "name_reading",
            "email": "email",
            "phone": "phone",
            "attribute": "attribute",
        }.get(error.field or "", "name")
        report.errors.append(RowError(number, labels[column], error.message))
        return None
    if failed:
        return None
    return _Row(number, data, found["residence"], found["workplace"])


def import_trainees(
    session: DbSession, *, actor: User | None, course: Course, data: bytes, now: datetime
) -> ImportReport:
    """Check every row first; write only if all are good. The caller commits or rolls back."""
    report = ImportReport()
    try:
        text = decode_csv(data)
    except ServiceError as error:
        report.errors.append(RowError(0, "", error.message))
        return report
    rows = parse_rows(session, course, text, report)
    if report.errors:
        return report
    lock_course(session, course)
    enrolled_people = set(
        session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.course_id == course.id, Enrolment.state != EnrolmentState.WITHDRAWN
            )
        )
    )
    people: list[tuple[_Row, Person | None]] = []
    labels = dict(zip(COLUMNS, HEADERS_JA, strict=True))
    for row in rows:
        problem = eligibility_problem(course.program, row.residence, row.work)
        if problem:
            report.errors.append(RowError(row.number, labels["residence"], problem))
            continue
        existing = find_duplicates(session, row.data)
        person = existing[0] if existing else None
        if person is not None and eligibility_problem(
            course.program, person.residence_municipality, person.work_municipality
        ):
            # The row matches a person already recorded, whose recorded places the rule
            # refuses (e.g. a record kept by another prefecture's program).
            report.errors.append(
                RowError(
                    row.number,
                    labels["name"],
                    str(
                        _l(
                            "%(name)s is already recorded with a residence and workplace "
                            "outside %(p)s. Check the record, or enrol them with the form "
                            "and give a reason.",
                            name=person.name,
                            p=course.program.prefecture,
                        )
                    ),
                )
            )
            continue
        if person is not None and person.id in enrolled_people:
            report.errors.append(
                RowError(
                    row.number,
                    labels["name"],
                    str(_l("%(name)s is already enrolled in this course.", name=person.name)),
                )
            )
            continue
        people.append((row, person))
    if report.errors:
        return report
    for row, person in people:
        if person is None:
            person = create_person(session, actor=actor, data=row.data)
            report.created += 1
        else:
            report.reused += 1
        try:
            enrolment = enrol_person(
                session,
                actor=actor,
                course=course,
                person=person,
                now=now,
                source="csv",
                lock=False,
            )
        except ServiceError as error:  # any rule of enrolment: a row error, nothing kept
            report.errors.append(RowError(row.number, labels["name"], error.message))
            continue
        if enrolment.state == EnrolmentState.WAITLISTED:
            report.waitlisted += 1
        else:
            report.enrolled += 1
    return report


def enrolments_csv(session: DbSession, course: Course) -> str:
    """`trainees list`: the course's enrolments with normalised fields and state."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["enrolment_id", *HEADERS_JA[:6], "状態", "修了番号"])
    query = (
        select(Enrolment, Person)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.course_id == course.id)
        .order_by(Person.name_reading, Person.id)
    )
    names: dict[int | None, str] = {
        place_id: name
        for place_id, name in session.execute(select(Municipality.id, Municipality.name))
    }
    for enrolment, person in session.execute(query):
        writer.writerow(
            [
                enrolment.id,
                safe_cell(person.name),
                safe_cell(person.name_reading),
                safe_cell(person.email or ""),
                safe_cell(person.phone or ""),
                names.get(person.residence_municipality_id, ""),
                names.get(person.work_municipality_id, ""),
                enrolment.state,
                enrolment.completion_number or "",
            ]
        )
    return buffer.getvalue()


def safe_cell(value: str) -> str:
    """Spreadsheets run a cell starting with = + - @ (or tab, CR) as a formula.

    A CR inside the value becomes a line feed: a csv writer whose lines end in "\\n" leaves a
    CR unquoted, a reader starts a new row there, and what follows would begin a cell."""
    if value and value[0] in "=+-@\t\r":
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")
