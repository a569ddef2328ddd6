"""Trainee import: all rows or none, with a report naming row and column.

Accepts an Excel workbook (.xlsx, its first sheet) and CSV as Excel writes it in Japan
(cp932), UTF-8 and UTF-8 with BOM; Japanese or English headers; full-width digits, hiragana
readings and stray spaces are normalised, not refused. Cells Excel turned into numbers or
dates come back as the text the coordinator typed (a phone number that lost its leading 0
gets it back).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.accounts.models import User
from supporters.core.csv import safe_cell
from supporters.db import DbSession, ServiceError
from supporters.people.models import Person
from supporters.people.services import (
    clean_person_input,
    name_key,
    normalise_name,
    normalise_optional_email,
    normalise_phone,
    normalise_reading,
    parse_attribute,
)
from supporters.programs.models import Municipality, Program
from supporters.programs.services import codes_for_reading, normalise_place_name
from supporters.training.import_batch import (
    ImportRow,
    known_people,
    plan_enrolments,
    registered_people,
    write_enrolments,
)
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState
from supporters.training.services.course_state import lock_course
from supporters.training.services.enrolments import eligibility_problem

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
# Read when present, not part of the template: a register export imported back.
_OPTIONAL_ALIASES = {
    "登録番号": "registration_number",
    "registration number": "registration_number",
}
REQUIRED = ("name", "name_reading")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
_PROGRESS_EVERY = 100  # rows
# progress(done, total): told as the rows are checked, then as they are written.
Progress = Callable[[int, int], None]


@dataclass
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)  # not read: not ours
    created: int = 0
    reused: int = 0
    enrolled: int = 0
    waitlisted: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def template_rows(session: DbSession, program: Program) -> list[list[str]]:
    """Two example rows whose municipalities are the program's own: where its organisations
    sit first, then the prefecture's first municipalities (by code)."""
    places: list[str] = []
    for organisation in program.organisations:
        place = organisation.municipality
        if place is not None and place.prefecture == program.prefecture:
            places.append(place.name)
    places.extend(
        session.scalars(
            select(Municipality.name)
            .where(Municipality.prefecture == program.prefecture)
            .order_by(Municipality.code)
            .limit(3)
        )
    )
    places = list(dict.fromkeys(places)) or [""]
    second = places[1] if len(places) > 1 else places[0]
    return [
        [
            "山田 花子",
            "ヤマダ ハナコ",
            "hanako@example.jp",
            "090-1234-5678",
            places[0],
            second,
            "家族",
        ],
        ["佐藤 一郎", "サトウ イチロウ", "", "", second, "", "福祉専門職"],
    ]


def template_csv(session: DbSession, program: Program) -> bytes:
    """The downloadable template: UTF-8 with BOM so that Excel opens it correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS_JA)
    writer.writerows(template_rows(session, program))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(session: DbSession, program: Program) -> bytes:
    """The same template as an Excel workbook; every column is text, so that Excel keeps
    the leading 0 of a phone number."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "受講者"
    sheet.append(HEADERS_JA)
    for row in template_rows(session, program):
        sheet.append(row)
    for index, width in enumerate((16, 18, 26, 16, 14, 14, 14), start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = "@"
        for row_number in range(1, 200):
            sheet.cell(row=row_number, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person typed: 9011112222.0 is 9011112222, a date is
    2024-04-01 and a time 13:30."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value))
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return str(value)


_NUMBER_CELL = re.compile(r"^(\d+)(?:\.0+)?$")


def phone_cell(raw: str) -> str:
    """A phone number that went through Excel as a number: 9011112222 (or 9011112222.0) was
    090-1111-2222 and 878123456 was 087-812-3456. Japanese numbers start with 0 and have 10 or
    11 digits, so 9 or 10 digits without the 0 get it back; anything else is left as it is
    for the phone check to judge."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    match = _NUMBER_CELL.match(text)
    if match is None:
        return raw
    digits = match.group(1)
    if len(digits) in (9, 10) and not digits.startswith("0"):
        return "0" + digits
    return digits


def read_xlsx(data: bytes) -> list[list[str]]:
    """The first sheet of a workbook as rows of text cells (values, not formulas)."""
    from openpyxl import load_workbook

    unreadable = ServiceError(
        "file",
        str(
            _l(
                "This Excel workbook cannot be read. Save it again in Excel as "
                "“Excel Workbook (.xlsx)” or as “CSV (comma delimited)”."
            )
        ),
        code="workbook_unreadable",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on styles it does not know
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                rows: list[list[str]] = []
                for values in sheet.iter_rows(values_only=True):
                    rows.append([cell_text(v) for v in values])
                    if len(rows) > MAX_ROWS + 1:
                        break
            finally:
                book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError) as error:
        raise unreadable from error
    except Exception as error:  # openpyxl raises its own InvalidFileException and others
        if type(error).__module__.startswith(("openpyxl", "xml", "zipfile")):
            raise unreadable from error
        raise
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return rows


def read_table(data: bytes) -> list[list[str]]:
    """The file's rows as text cells: an .xlsx workbook or a CSV text file."""
    if len(data) > MAX_BYTES:
        raise ServiceError("file", str(_l("The file is larger than 5 MB.")), code="file_too_large")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ServiceError(
            "file",
            str(
                _l(
                    "This is an old Excel workbook (.xls). In Excel, choose “Save as” and "
                    "the type “Excel Workbook (.xlsx)” or “CSV (comma delimited)”."
                )
            ),
            code="old_excel_format",
        )
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as error:
        raise ServiceError(
            "file", str(_l("Not a CSV file: %(e)s", e=str(error))), code="not_a_csv"
        ) from error
    return rows


def decode_csv(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ServiceError("file", str(_l("The file is larger than 5 MB.")), code="file_too_large")
    if b"\x00" in data:
        raise ServiceError(
            "file",
            str(
                _l(
                    "This file is not a CSV text file (it may be UTF-16). "
                    "Save it as CSV (UTF-8 or Shift_JIS)."
                )
            ),
            code="not_a_text_file",
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
        code="unknown_encoding",
    )


def _header_map(header: list[str], report: ImportReport) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, raw in enumerate(header):
        key = normalise_place_name(raw).lower()
        if not key:
            continue
        column = _HEADER_ALIASES.get(key) or _OPTIONAL_ALIASES.get(key)
        if column is None:
            # Other columns (a register export's 状態, 登録日, a 備考 ...) are left out; one
            # that looks like a misspelt known column is refused, lest its data be lost.
            report.ignored_columns.append(raw.strip())
            if difflib.get_close_matches(key, _HEADER_ALIASES, n=1, cutoff=0.75):
                report.errors.append(
                    RowError(
                        1,
                        raw,
                        str(
                            _l(
                                "Unknown column. The columns are: %(c)s",
                                c="、".join(HEADERS_JA),
                            )
                        ),
                    )
                )
            continue
        if column in mapping.values():
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
        self.by_id = {m.id: m for m in self.rows}
        self.by_full = {m.prefecture + m.name: m for m in self.rows}
        self.by_name: dict[str, list[Municipality]] = {}
        for m in self.rows:
            self.by_name.setdefault(m.name, []).append(m)

    def find(self, raw: str) -> Municipality:
        name = normalise_place_name(raw)
        if name in self.by_full:
            return self.by_full[name]
        candidates = self.by_name.get(name, [])
        if not candidates:  # the reading (さのし) or a ward of a designated city (千葉市中央区)
            ward = re.match(r"^(?:.+?[都道府県])?(?P<city>.+?市).+区$", name)
            codes = set(codes_for_reading(name))
            candidates = [m for m in self.rows if m.code in codes] if codes else []
            if ward and not candidates:
                candidates = self.by_name.get(ward.group("city"), [])
        local = [m for m in candidates if m.prefecture == self.prefecture]
        if len(local) == 1:
            return local[0]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise ServiceError(
                None,
                str(_l("Several municipalities are called %(n)s: add the prefecture.", n=raw)),
                code="ambiguous_municipality",
            )
        pool = [m.name for m in self.rows if m.prefecture == self.prefecture]
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.5) or difflib.get_close_matches(
            name, list(self.by_full), n=1, cutoff=0.6
        )
        if close:
            raise ServiceError(
                None,
                str(_l("No municipality called %(n)s. Did you mean %(s)s?", n=raw, s=close[0])),
                code="unknown_municipality",
            )
        raise ServiceError(
            None, str(_l("No municipality called %(n)s.", n=raw)), code="unknown_municipality"
        )


def parse_rows(
    session: DbSession,
    course: Course,
    table: list[list[str]],
    report: ImportReport,
    *,
    progress: Progress | None = None,
) -> tuple[list[ImportRow], _Places | None]:
    """The rows, checked and normalised in memory (one query: the municipalities, returned
    so that the people read later find theirs without a query each)."""
    if not table:
        report.errors.append(RowError(1, "", str(_l("The file is empty."))))
        return [], None
    header, body = table[0], table[1:]
    mapping = _header_map(header, report)
    if report.errors:
        return [], None
    places = _Places(session, course.program.prefecture)
    labels = {c: HEADERS_JA[i] for i, c in enumerate(COLUMNS)}
    rows: list[ImportRow] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, cells in enumerate(body, start=2):
        if progress is not None and number % _PROGRESS_EVERY == 0:
            progress(number - 1, 2 * len(body))
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
        row.registration_number = values.get("registration_number", "").strip()
        for contact in (row.data.email, row.data.phone):
            if contact:
                key = (row.key, row.data.name_reading, contact)
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
    if not rows and not report.errors:
        report.errors.append(RowError(2, "", str(_l("The file has no trainees."))))
    return rows, places


def _parse_row(
    number: int,
    values: dict[str, str],
    places: _Places,
    labels: dict[str, str],
    report: ImportReport,
) -> ImportRow | None:
    found: dict[str, Municipality | None] = {"residence": None, "workplace": None}
    values = {**values, "phone": phone_cell(values.get("phone", ""))}
    place_errors: list[RowError] = []
    for column in ("residence", "workplace"):
        if values.get(column, "").strip():
            try:
                found[column] = places.find(values[column])
            except ServiceError as error:
                place_errors.append(RowError(number, labels[column], error.message))
    refused: ServiceError | None = None
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
        refused = error
    else:
        if not place_errors:  # clean_person_input ran every check below: all passed
            return ImportRow(
                number, data, found["residence"], found["workplace"], key=name_key(data.name)
            )
    failed = bool(place_errors)
    # Every problem of the row, one per column, not only the first.
    checks: list[tuple[str, Callable[[str | None], object]]] = [
        ("name", _check_name),
        ("name_reading", normalise_reading),
        ("email", normalise_optional_email),
        ("phone", normalise_phone),
    ]
    for column, check in checks:
        try:
            check(values.get(column))
        except ServiceError as error:
            report.errors.append(RowError(number, labels[column], error.message))
            failed = True
    report.errors.extend(place_errors)
    try:
        parse_attribute(values.get("attribute"))
    except ServiceError as error:
        report.errors.append(RowError(number, labels["attribute"], error.message))
        failed = True
    if failed or refused is None:
        return None
    column = {
        "name": "name",
        "name_reading": "name_reading",
        "email": "email",
        "phone": "phone",
        "attribute": "attribute",
    }.get(refused.field or "", "name")
    report.errors.append(RowError(number, labels[column], refused.message))
    return None


def _check_name(raw: str | None) -> None:
    name = normalise_name(raw)
    if not name:
        raise ServiceError("name", str(_l("Enter the name.")), code="name_missing")
    if len(name) > 100:
        raise ServiceError(
            "name", str(_l("Use at most %(n)d characters.", n=100)), code="name_too_long"
        )


def import_trainees(
    session: DbSession,
    *,
    actor: User | None,
    course: Course,
    data: bytes,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row first; write only if all are good. The caller commits or rolls back.

    The statements sent do not grow with the rows (a few per 1,000): the rows are checked in
    memory, the people they name are looked up for the whole file at once, the course's
    enrolments and places are read once, and the new rows are inserted in batches (see
    `import_batch`).
    `progress(done, total)`, if given, is told as the rows are checked, then written."""
    report = ImportReport()
    if course.closed_at is not None:
        report.errors.append(RowError(0, "", str(_l("This course is closed."))))
        return report
    try:
        table = read_table(data)
    except ServiceError as error:
        report.errors.append(RowError(0, "", error.message))
        return report
    rows, places = parse_rows(session, course, table, report, progress=progress)
    if report.errors or places is None:
        return report
    lock_course(session, course)
    states: dict[int, str] = {
        person_id: state
        for person_id, state in session.execute(
            select(Enrolment.person_id, Enrolment.state).where(Enrolment.course_id == course.id)
        )
    }
    enrolled_people = {p for p, state in states.items() if state != EnrolmentState.WITHDRAWN}
    people: list[tuple[ImportRow, Person | None]] = []
    labels = dict(zip(COLUMNS, HEADERS_JA, strict=True))
    follow_up = course.kind == CourseKind.FOLLOW_UP
    if follow_up:
        found = registered_people(session, course, rows)
    else:
        found = known_people(session, course, rows)
    for row in rows:
        person = found[row.number]
        if follow_up:
            # Registered supporters only; they were found eligible when they registered.
            if person is None:
                report.errors.append(
                    RowError(
                        row.number,
                        labels["name"],
                        str(
                            _l(
                                "%(name)s is not a registered supporter of this program; "
                                "follow-up training is for registered supporters.",
                                name=row.data.name,
                            )
                        ),
                    )
                )
                continue
        else:
            problem = eligibility_problem(course.program, row.residence, row.work)
            if problem:
                report.errors.append(RowError(row.number, labels["residence"], problem))
                continue
            if person is not None and eligibility_problem(
                course.program,
                places.by_id.get(person.residence_municipality_id or 0),
                places.by_id.get(person.work_municipality_id or 0),
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
            report.errors.append(_already_enrolled(row, person))
            continue
        people.append((row, person))
    if report.errors:
        return report
    plan, repeated = plan_enrolments(session, course, people)
    report.created = sum(1 for _, person in people if person is None)
    report.reused = len(people) - report.created
    report.enrolled = sum(1 for p in plan if p.state == EnrolmentState.CONFIRMED)
    report.waitlisted = len(plan) - report.enrolled
    report.errors.extend(_already_enrolled(row, person) for row, person in repeated)
    if report.errors:
        return report
    total = len(table) - 1

    def written(count: int) -> None:
        if progress is not None:
            progress(total + total * count // len(plan), 2 * total)

    write_enrolments(
        session, actor=actor, course=course, plan=plan, states=states, now=now, written=written
    )
    return report


def _already_enrolled(row: ImportRow, person: Person) -> RowError:
    return RowError(
        row.number,
        HEADERS_JA[COLUMNS.index("name")],
        str(_l("%(name)s is already enrolled in this course.", name=person.name)),
    )


def enrolments_csv(session: DbSession, course: Course) -> str:
    """`trainees list`: the course's enrolments with normalised fields and state, for people:
    Japanese headers and values (the id is the one `certificates completion` takes)."""
    from supporters.training.forms import STATE_LABELS

    with force_locale("ja"):
        states = {state: str(label) for state, label in STATE_LABELS.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["受講ID", *HEADERS_JA[:6], "状態", "修了番号"])
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
                states.get(enrolment.state, enrolment.state),
                enrolment.completion_number or "",
            ]
        )
    return buffer.getvalue()
