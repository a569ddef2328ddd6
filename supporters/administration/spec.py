"""The program as a file: the typed spec (one dataclass per section), read from TOML and
written back to it. Reading checks the shape (keys, types); `checks.validate` checks the
values against the database. docs/programs.md describes the format."""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l

FORMAT_VERSION = 1
# The longest text a file may give where no shorter limit applies (the columns hold 100).
TEXT_LIMIT = 100
# The program's own words a file may set (`[terms]`), where the product reads them.
TERM_KEYS = (
    "eligibility",
    "follow_up.interval",
    "follow_up.sessions",
    "event.outreach_day",
    "event.dispatch_request",
    "event.group_activity",
    "notice.title",
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: the key path (`follow_up.interval_months`) and why."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass
class NamesSpec:
    ja: str = ""
    en: str = ""
    public_ja: str = ""  # printed on cards and shown by the public check
    public_en: str = ""


@dataclass
class RulesSpec:
    eligibility: str = "open"
    registration: str = "on_completion"
    activity_reports_required: bool = False
    dispatch_mode: str = "municipal_request"
    cancellation_cutoff_hours: int = 48
    # Completers who did not register join group activities as participants (Kagawa).
    participation_without_registration: bool = False
    # Municipal staff of a scheme municipality staff their own requests (Chiba).
    staff_own_requests: bool = False


@dataclass
class FollowUpSpec:
    interval_months: int | None = None  # None: registration does not lapse
    mandatory: bool = False
    window_days: int = 180
    sessions_per_year: int | None = None
    renewal_rule: str = "window_or_after_lapse"
    # The four rules above (not sessions_per_year) are in force from this date; None: from
    # the day the file is imported (a new program: from its start).
    effective_from: date | None = None


@dataclass
class NumbersSpec:
    registration_format: str = "{prefix}-{year}-{seq:04d}"
    registration_prefix: str = ""
    completion_format: str = "{prefix}-{year}-C{seq:04d}"


@dataclass
class CardSpec:
    design: str = "default"
    show_holder_name_on_verify: bool = False


@dataclass
class ContactSpec:
    phone: str | None = None
    email: str | None = None


@dataclass
class OrganisationSpec:
    name: str
    kind: str
    name_en: str | None = None
    municipality: str | None = None  # a name in the program's prefecture
    # A PNG next to the file ("seals/nasu.png"); None leaves the seal as it is, "" removes it.
    seal: str | None = None


@dataclass
class SchemeMunicipalitySpec:
    """A municipality in the dispatch scheme from a date, unpaid or paid."""

    municipality: str
    joined_on: date
    left_on: date | None = None
    paid: bool = False
    honorarium_yen: int | None = None
    travel_rule: str | None = None


@dataclass
class CurriculumItemSpec:
    topic: str
    minutes: int = 60
    required: bool = True


CURRICULUM_KINDS = ("initial", "follow_up", "meeting")


@dataclass
class CurriculaSpec:
    initial: list[CurriculumItemSpec] = field(default_factory=list)
    follow_up: list[CurriculumItemSpec] = field(default_factory=list)
    meeting: list[CurriculumItemSpec] = field(default_factory=list)


@dataclass
class ActivityKindSpec:
    """A kind of activity the program offers (`[activity_kinds.CODE]`, in the order the file
    lists them): the mechanic its events use and the program's word for taking part."""

    code: str
    name_ja: str
    name_en: str
    event_kind: str  # outreach_day, dispatch_request, group_activity
    activity: str  # what activity reports count it as (sitting_in, drop_in, ...)
    taking_part_ja: str  # 出張相談会への同席, 派遣, 活動への参加
    taking_part_en: str
    organised_by_supporters: bool = False
    active: bool = True


@dataclass
class AttributeSpec:
    """A trainee attribute as the program words it (`[attributes.CODE]`, in the order the
    file lists them) and the reporting group the figures count it in."""

    code: str
    label_ja: str
    label_en: str
    reporting_group: str  # one of people.models.Attribute's values
    active: bool = True


@dataclass
class ProgramSpec:
    code: str
    prefecture: str
    names: NamesSpec = field(default_factory=NamesSpec)
    rules: RulesSpec = field(default_factory=RulesSpec)
    follow_up: FollowUpSpec = field(default_factory=FollowUpSpec)
    numbers: NumbersSpec = field(default_factory=NumbersSpec)
    card: CardSpec = field(default_factory=CardSpec)
    contact: ContactSpec = field(default_factory=ContactSpec)
    terms: dict[str, str] = field(default_factory=dict)
    organisations: list[OrganisationSpec] = field(default_factory=list)
    scheme: list[SchemeMunicipalitySpec] = field(default_factory=list)
    curricula: CurriculaSpec = field(default_factory=CurriculaSpec)
    activity_kinds: list[ActivityKindSpec] = field(default_factory=list)
    attributes: list[AttributeSpec] = field(default_factory=list)


class FileProblems(Exception):
    """The file was refused; `problems` names every key that is wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


# --- reading -------------------------------------------------------------------------------


class _Reader:
    """Takes keys out of one TOML table, noting wrong types and, at the end, unknown keys."""

    def __init__(self, table: Any, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        if not isinstance(table, dict):
            self._problem("", str(_l("Must be a table.")))
            table = {}
        self.table = dict(table)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _problem(self, name: str, message: str) -> None:
        key = self.key(name) if name else self.path
        self.problems.append(Problem(key or "(file)", message))

    def _take(self, name: str, kinds: tuple[type, ...], what: str, default: Any) -> Any:
        if name not in self.table:
            return default
        value = self.table.pop(name)
        if isinstance(value, bool) and bool not in kinds:
            value = object()  # true/false is not a number
        if isinstance(value, datetime) and datetime not in kinds:
            value = object()  # a date with a time is not a date
        if not isinstance(value, kinds):
            self._problem(name, what)
            return default
        return value

    def text(
        self, name: str, default: Any = "", *, required: bool = False, limit: int = TEXT_LIMIT
    ) -> Any:
        if required and name not in self.table:
            self._problem(name, str(_l("This field is required.")))
        value = self._take(name, (str,), str(_l("Must be text.")), default)
        if not isinstance(value, str):
            return value
        value = value.strip()
        if len(value) > limit:
            self._problem(name, str(_l("At most %(n)d characters.", n=limit)))
            return default
        return value

    def integer(self, name: str, default: Any = None) -> Any:
        """A whole number; digits typed as text (full-width `"３６"`, `"3,000"`) are read as
        the number they are."""
        value = self.table.get(name)
        if isinstance(value, str):
            digits = unicodedata.normalize("NFKC", value).strip().replace(",", "")
            if re.fullmatch(r"-?[0-9]{1,12}", digits):
                self.table[name] = int(digits)
        return self._take(name, (int,), str(_l("Must be a whole number.")), default)

    def flag(self, name: str, default: bool = False) -> bool:
        return bool(self._take(name, (bool,), str(_l("Must be true or false.")), default))

    def day(self, name: str, default: Any = None, *, required: bool = False) -> Any:
        """A TOML date (`2019-04-01`); the same written as text (`"2019-04-01"`, full-width
        digits too) is read as that date. A date with a time is not a date."""
        if required and name not in self.table:
            self._problem(name, str(_l("This field is required.")))
        value = self.table.get(name)
        if isinstance(value, str):
            with suppress(ValueError):
                text = unicodedata.normalize("NFKC", value).strip()
                if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                    self.table[name] = date.fromisoformat(text)
        value = self._take(name, (date,), str(_l("Must be a date (YYYY-MM-DD).")), default)
        return value if isinstance(value, date) else default

    def table_of(self, name: str) -> Any:
        return self._take(name, (dict,), str(_l("Must be a table.")), {})

    def array_of_tables(self, name: str) -> list[Any]:
        value = self._take(name, (list,), str(_l("Must be a list of tables.")), [])
        return list(value)

    def done(self) -> None:
        for name in self.table:
            self._problem(name, str(_l("Unknown key.")))


def _names(table: Any, problems: list[Problem]) -> NamesSpec:
    r = _Reader(table, "names", problems)
    spec = NamesSpec(
        ja=r.text("ja", required=True),
        en=r.text("en", required=True),
        public_ja=r.text("public_ja", required=True),
        public_en=r.text("public_en", required=True),
    )
    r.done()
    return spec


def _rules(table: Any, problems: list[Problem]) -> RulesSpec:
    r = _Reader(table, "rules", problems)
    default = RulesSpec()
    spec = RulesSpec(
        eligibility=r.text("eligibility", default.eligibility),
        registration=r.text("registration", default.registration),
        activity_reports_required=r.flag("activity_reports_required"),
        dispatch_mode=r.text("dispatch_mode", default.dispatch_mode),
        cancellation_cutoff_hours=r.integer(
            "cancellation_cutoff_hours", default.cancellation_cutoff_hours
        ),
        participation_without_registration=r.flag("participation_without_registration"),
        staff_own_requests=r.flag("staff_own_requests"),
    )
    r.done()
    return spec


def _follow_up(table: Any, problems: list[Problem]) -> FollowUpSpec:
    r = _Reader(table, "follow_up", problems)
    default = FollowUpSpec()
    spec = FollowUpSpec(
        interval_months=r.integer("interval_months"),
        mandatory=r.flag("mandatory"),
        window_days=r.integer("window_days", default.window_days),
        sessions_per_year=r.integer("sessions_per_year"),
        renewal_rule=r.text("renewal_rule", default.renewal_rule),
        effective_from=r.day("effective_from"),
    )
    r.done()
    return spec


def _numbers(table: Any, problems: list[Problem]) -> NumbersSpec:
    r = _Reader(table, "numbers", problems)
    default = NumbersSpec()
    spec = NumbersSpec(
        registration_format=r.text("registration_format", default.registration_format, limit=60),
        registration_prefix=r.text("registration_prefix", required=True),
        completion_format=r.text("completion_format", default.completion_format, limit=60),
    )
    r.done()
    return spec


def _card(table: Any, problems: list[Problem]) -> CardSpec:
    r = _Reader(table, "card", problems)
    spec = CardSpec(
        design=r.text("design", "default"),
        show_holder_name_on_verify=r.flag("show_holder_name_on_verify"),
    )
    r.done()
    return spec


def _contact(table: Any, problems: list[Problem]) -> ContactSpec:
    r = _Reader(table, "contact", problems)
    spec = ContactSpec(
        phone=r.text("phone", None) or None, email=r.text("email", None, limit=254) or None
    )
    r.done()
    return spec


def _terms(table: Any, problems: list[Problem]) -> dict[str, str]:
    r = _Reader(table, "terms", problems)
    terms = {}
    for name in list(r.table):
        if name not in TERM_KEYS:
            r.table.pop(name)
            problems.append(
                Problem(
                    f"terms.{_key(name)}",
                    str(_l("Unknown key; the words are: %(k)s.", k=", ".join(TERM_KEYS))),
                )
            )
            continue
        # Named as the file writes it in a refusal: terms."event.outreach_day".
        r.table[_key(name)] = r.table.pop(name)
        value = r.text(_key(name))
        if value:
            terms[name] = value
    r.done()
    return terms


def _organisations(rows: list[Any], problems: list[Problem]) -> list[OrganisationSpec]:
    specs = []
    for index, row in enumerate(rows):
        r = _Reader(row, f"organisations[{index}]", problems)
        specs.append(
            OrganisationSpec(
                name=r.text("name", required=True, limit=120),
                kind=r.text("kind", required=True),
                name_en=r.text("name_en", None, limit=120) or None,
                municipality=r.text("municipality", None) or None,
                seal=r.text("seal", None, limit=255),
            )
        )
        r.done()
    return specs


def _scheme(rows: list[Any], problems: list[Problem]) -> list[SchemeMunicipalitySpec]:
    specs = []
    for index, row in enumerate(rows):
        r = _Reader(row, f"scheme[{index}]", problems)
        specs.append(
            SchemeMunicipalitySpec(
                municipality=r.text("municipality", required=True),
                joined_on=r.day("from", date.min, required=True),
                left_on=r.day("until"),
                paid=r.flag("paid"),
                honorarium_yen=r.integer("honorarium_yen"),
                travel_rule=r.text("travel_rule", None) or None,
            )
        )
        r.done()
    return specs


def _curricula(table: Any, problems: list[Problem]) -> CurriculaSpec:
    r = _Reader(table, "curricula", problems)
    lists: dict[str, list[CurriculumItemSpec]] = {}
    for kind in CURRICULUM_KINDS:
        items = []
        for index, row in enumerate(r.array_of_tables(kind)):
            item = _Reader(row, f"curricula.{kind}[{index}]", problems)
            items.append(
                CurriculumItemSpec(
                    topic=item.text("topic", required=True, limit=200),
                    minutes=item.integer("minutes", 60),
                    required=item.flag("required", True),
                )
            )
            item.done()
        lists[kind] = items
    r.done()
    return CurriculaSpec(**lists)


def _activity_kinds(table: Any, problems: list[Problem]) -> list[ActivityKindSpec]:
    specs = []
    for code, row in dict(table).items():
        r = _Reader(row, f"activity_kinds.{_key(code)}", problems)
        specs.append(
            ActivityKindSpec(
                code=code,
                name_ja=r.text("name_ja", required=True),
                name_en=r.text("name_en", required=True),
                event_kind=r.text("event_kind", required=True),
                activity=r.text("activity", required=True),
                taking_part_ja=r.text("taking_part_ja", required=True),
                taking_part_en=r.text("taking_part_en", required=True),
                organised_by_supporters=r.flag("organised_by_supporters"),
                active=r.flag("active", True),
            )
        )
        r.done()
    return specs


def _attributes(table: Any, problems: list[Problem]) -> list[AttributeSpec]:
    specs = []
    for code, row in dict(table).items():
        r = _Reader(row, f"attributes.{_key(code)}", problems)
        specs.append(
            AttributeSpec(
                code=code,
                label_ja=r.text("label_ja", required=True),
                label_en=r.text("label_en", required=True),
                reporting_group=r.text("reporting_group", required=True),
                active=r.flag("active", True),
            )
        )
        r.done()
    return specs


def decode_program_file(data: bytes) -> str:
    """The text of a program file as saved: UTF-8, as TOML is. A byte order mark (Windows
    Notepad writes one) is dropped, and CRLF line ends are TOML's own. A file in another
    encoding is refused, not guessed: a Shift_JIS (cp932) file, as Excel and older editors
    save it, is told so."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp932")
    except UnicodeDecodeError:
        message = _l("Save the file as UTF-8 (TOML files are UTF-8).")
    else:
        message = _l(
            "Save the file as UTF-8 (TOML files are UTF-8): this one looks like Shift_JIS (cp932)."
        )
    raise FileProblems([Problem("(file)", str(message))])


def parse_program_file(text: str) -> ProgramSpec:
    """The spec a TOML text describes; FileProblems naming every key of a wrong shape."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileProblems(
            [Problem("(file)", str(_l("Not a valid TOML file: %(e)s", e=str(error))))]
        ) from error
    problems: list[Problem] = []
    r = _Reader(data, "", problems)
    version = r.integer("format", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        problems.append(
            Problem("format", str(_l("Unknown format %(v)s; expected 1.", v=str(version))))
        )
    spec = ProgramSpec(
        code=r.text("code", required=True).lower(),
        prefecture=r.text("prefecture", required=True),
        names=_names(r.table_of("names"), problems),
        rules=_rules(r.table_of("rules"), problems),
        follow_up=_follow_up(r.table_of("follow_up"), problems),
        numbers=_numbers(r.table_of("numbers"), problems),
        card=_card(r.table_of("card"), problems),
        contact=_contact(r.table_of("contact"), problems),
        terms=_terms(r.table_of("terms"), problems),
        organisations=_organisations(r.array_of_tables("organisations"), problems),
        scheme=_scheme(r.array_of_tables("scheme"), problems),
        curricula=_curricula(r.table_of("curricula"), problems),
        activity_kinds=_activity_kinds(r.table_of("activity_kinds"), problems),
        attributes=_attributes(r.table_of("attributes"), problems),
    )
    r.done()
    if problems:
        raise FileProblems(problems)
    return spec


# --- writing -------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is a JSON string


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _value(name)


def _lines(pairs: list[tuple[str, Any]]) -> list[str]:
    return [f"{_key(k)} = {_value(v)}" for k, v in pairs if v is not None]


def write_program_file(spec: ProgramSpec, *, seals: dict[str, str] | None = None) -> str:
    """The TOML text of a spec; `parse_program_file` of it gives the spec back."""
    out = [
        f"# {spec.names.ja}: the program file (docs/programs.md).",
        f"format = {FORMAT_VERSION}",
        f"code = {_value(spec.code)}",
        f"prefecture = {_value(spec.prefecture)}",
        "",
        "[names]",
        *_lines(
            [
                ("ja", spec.names.ja),
                ("en", spec.names.en),
                ("public_ja", spec.names.public_ja),
                ("public_en", spec.names.public_en),
            ]
        ),
        "",
        "[rules]",
        *_lines(
            [
                ("eligibility", spec.rules.eligibility),
                ("registration", spec.rules.registration),
                ("activity_reports_required", spec.rules.activity_reports_required),
                ("dispatch_mode", spec.rules.dispatch_mode),
                ("cancellation_cutoff_hours", spec.rules.cancellation_cutoff_hours),
                (
                    "participation_without_registration",
                    spec.rules.participation_without_registration,
                ),
                ("staff_own_requests", spec.rules.staff_own_requests),
            ]
        ),
        "",
        "[follow_up]",
        *_lines(
            [
                ("interval_months", spec.follow_up.interval_months),
                ("mandatory", spec.follow_up.mandatory),
                ("window_days", spec.follow_up.window_days),
                ("sessions_per_year", spec.follow_up.sessions_per_year),
                ("renewal_rule", spec.follow_up.renewal_rule),
                ("effective_from", spec.follow_up.effective_from),
            ]
        ),
        "",
        "[numbers]",
        *_lines(
            [
                ("registration_format", spec.numbers.registration_format),
                ("registration_prefix", spec.numbers.registration_prefix),
                ("completion_format", spec.numbers.completion_format),
            ]
        ),
        "",
        "[card]",
        *_lines(
            [
                ("design", spec.card.design),
                ("show_holder_name_on_verify", spec.card.show_holder_name_on_verify),
            ]
        ),
        "",
        "[contact]",
        *_lines([("phone", spec.contact.phone), ("email", spec.contact.email)]),
        "",
        "[terms]",
        *_lines(sorted(spec.terms.items())),
    ]
    for organisation in spec.organisations:
        out += [
            "",
            "[[organisations]]",
            *_lines(
                [
                    ("name", organisation.name),
                    ("name_en", organisation.name_en),
                    ("kind", organisation.kind),
                    ("municipality", organisation.municipality),
                    ("seal", (seals or {}).get(organisation.name, organisation.seal)),
                ]
            ),
        ]
    for member in spec.scheme:
        out += [
            "",
            "[[scheme]]",
            *_lines(
                [
                    ("municipality", member.municipality),
                    ("from", member.joined_on),
                    ("until", member.left_on),
                    ("paid", member.paid),
                    ("honorarium_yen", member.honorarium_yen),
                    ("travel_rule", member.travel_rule),
                ]
            ),
        ]
    for kind in CURRICULUM_KINDS:
        for item in getattr(spec.curricula, kind):
            out += [
                "",
                f"[[curricula.{kind}]]",
                *_lines(
                    [("topic", item.topic), ("minutes", item.minutes), ("required", item.required)]
                ),
            ]
    out += ["", "[activity_kinds]"]
    for activity_kind in spec.activity_kinds:
        out += [
            "",
            f"[activity_kinds.{_key(activity_kind.code)}]",
            *_lines(
                [
                    ("name_ja", activity_kind.name_ja),
                    ("name_en", activity_kind.name_en),
                    ("event_kind", activity_kind.event_kind),
                    ("activity", activity_kind.activity),
                    ("taking_part_ja", activity_kind.taking_part_ja),
                    ("taking_part_en", activity_kind.taking_part_en),
                    ("organised_by_supporters", activity_kind.organised_by_supporters),
                    ("active", activity_kind.active),
                ]
            ),
        ]
    out += ["", "[attributes]"]
    for attribute in spec.attributes:
        out += [
            "",
            f"[attributes.{_key(attribute.code)}]",
            *_lines(
                [
                    ("label_ja", attribute.label_ja),
                    ("label_en", attribute.label_en),
                    ("reporting_group", attribute.reporting_group),
                    ("active", attribute.active),
                ]
            ),
        ]
    out.append("")
    return "\n".join(out)
