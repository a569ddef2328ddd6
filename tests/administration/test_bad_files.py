"""Bad program files (issue 16): each of the five files (the three programs' and two written
from docs/programs.md alone), every key of it turned into wrong shapes (wrong type, empty,
negative, absurdly large, absurdly long, an unknown value), each key left out and an unknown
key added to each table. A bad file is refused with its key named and a Japanese message,
never with a traceback, and writes nothing; a value that only needs normalising (full-width
digits where a number goes, a date written as text) is accepted as the value it means.
The command (`programs import`) and the upload page are checked with a few of them, and the
file's encoding (BOM, CRLF, cp932)."""

from __future__ import annotations

import io
import json
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from supporters.administration.services import apply_program_spec
from supporters.administration.spec import FileProblems, parse_program_file
from tests import factories
from tests.conftest import post_form
from tests.faults.test_dry_run import snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "programs"
FILES = ["chiba", "tochigi", "kagawa", "gunma", "nasushiobara"]

# Keys whose value is one of a list (docs/programs.md): any other word is refused.
CHOICES = {
    "rules.eligibility",
    "rules.registration",
    "rules.dispatch_mode",
    "follow_up.renewal_rule",
    "card.design",
    "organisations[].kind",
    "scheme[].travel_rule",
    "activity_kinds.*.event_kind",
    "activity_kinds.*.activity",
    "attributes.*.reporting_group",
}
# Keys a file must give (docs/programs.md: required); leaving one out is refused.
REQUIRED = {
    "code",
    "prefecture",
    "names.ja",
    "names.en",
    "names.public_ja",
    "names.public_en",
    "numbers.registration_prefix",
    "organisations[].name",
    "organisations[].kind",
    "scheme[].municipality",
    "scheme[].from",
    "curricula.initial[].topic",
    "curricula.follow_up[].topic",
    "curricula.meeting[].topic",
    *(
        f"activity_kinds.*.{name}"
        for name in (
            "name_ja",
            "name_en",
            "event_kind",
            "activity",
            "taking_part_ja",
            "taking_part_en",
        )
    ),
    "attributes.*.label_ja",
    "attributes.*.label_en",
    "attributes.*.reporting_group",
}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
LONG = "あ" * 5000

# --- a TOML writer for the mutated data ------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _k(name: str) -> str:
    return name if _BARE.match(name) else json.dumps(name, ensure_ascii=False)


def _v(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_v(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_k(k)} = {_v(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump(data: dict[str, Any], prefix: str = "") -> str:
    lines: list[str] = []
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if (isinstance(value, dict) and (value or prefix == "")) or _is_tables(value):
            nested.append((key, value))
        else:
            lines.append(f"{_k(key)} = {_v(value)}")
    out = "\n".join(lines) + "\n"
    for key, value in nested:
        path = f"{prefix}.{_k(key)}" if prefix else _k(key)
        if isinstance(value, dict):
            out += f"\n[{path}]\n" + dump(value, path)
        else:
            for row in value:
                out += f"\n[[{path}]]\n" + dump(row, path)
    return out


# --- mutations -------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def key_of(path: Path_) -> str:
    """The key path as refusals name it: `scheme[1].from`, `activity_kinds.visit.name_ja`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _k(part)
    return out


def pattern_of(path: Path_) -> str:
    """The key with indexes and codes taken out (`scheme[].from`, `activity_kinds.*.name_ja`),
    as CHOICES and REQUIRED list them."""
    out = ""
    for index, part in enumerate(path):
        if isinstance(part, int):
            out += "[]"
        elif index == 1 and path[0] in ("activity_kinds", "attributes", "terms"):
            out += ".*"
        else:
            out += ("." if out else "") + part
    return out


def leaves(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif _is_tables(data):
        for index, row in enumerate(data):
            yield from leaves(row, (*path, index))
    else:
        yield path, data


def tables(data: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(data, dict):
        yield path
        for key, value in data.items():
            yield from tables(value, (*path, key))
    elif _is_tables(data):
        for index, row in enumerate(data):
            yield from tables(row, (*path, index))


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _set(data: dict[str, Any], path: Path_, value: Any, *, drop: bool = False) -> dict[str, Any]:
    copy = _copy(data)
    target = copy
    for part in path[:-1]:
        target = target[part]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copy


@dataclass
class Case:
    what: str
    key: str  # the key that must be named when it is refused
    text: str
    outcome: str  # "refused", "same" (accepted as the original), "either"


def cases(original: dict[str, Any]) -> Iterator[Case]:
    for path, value in leaves(original):
        key = key_of(path)
        pattern = pattern_of(path)
        choice = pattern in CHOICES

        def case(what: str, new: Any, outcome: str, *, key: str = key, path: Path_ = path) -> Case:
            return Case(f"{key} {what}", key, dump(_set(original, path, new)), outcome)

        if isinstance(value, bool):
            yield case("as text", "yes", "refused")
            yield case("as a number", 1, "refused")
            yield case("empty", "", "refused")
        elif isinstance(value, int):
            yield case("as a word", "abc", "refused")
            yield case("as true", True, "refused")
            yield case("as a fraction", 1.5, "refused")
            yield case("empty", "", "refused")
            yield case("negative", -1, "refused")
            yield case("absurdly large", 10**12, "refused")
            yield case("in full-width digits", str(value).translate(FULL_WIDTH), "same")
        elif isinstance(value, date):
            yield case("as a number", 5, "refused")
            yield case("as a word", "someday", "refused")
            yield case("empty", "", "refused")
            yield case("with a time", datetime.combine(value, datetime.min.time()), "refused")
            yield case("as text", value.isoformat(), "same")
            yield case("as full-width text", value.isoformat().translate(FULL_WIDTH), "same")
        elif isinstance(value, str):
            yield case("as a number", 1, "refused")
            yield case("as true", True, "refused")
            yield case("as a list", ["a"], "refused")
            yield case("absurdly long", LONG, "refused")
            required = pattern in REQUIRED or choice
            yield case("empty", "", "refused" if required else "either")
            yield case("unknown value", "no_such_value", "refused" if choice else "either")
        if pattern in REQUIRED:
            yield Case(
                f"{key} left out", key, dump(_set(original, path, None, drop=True)), "refused"
            )
        else:
            yield Case(
                f"{key} left out", key, dump(_set(original, path, None, drop=True)), "either"
            )
    for path in tables(original):
        if path[:1] in (("activity_kinds",), ("attributes",)) and len(path) == 1:
            continue  # a new key there is a new code, not an unknown key
        key = key_of((*path, "colour"))
        target = _copy(original)
        table = target
        for part in path:
            table = table[part]
        table["colour"] = "red"
        yield Case(f"{key} added", key, dump(target), "refused")


# --- running them ----------------------------------------------------------------------------


@contextmanager
def writes(session: Any) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.connection().engine

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _japanese(message: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in message)


def _names(problems: list[Any], key: str) -> bool:
    """A problem names the key, or the table or list it is in."""
    return any(
        p.key == key or key.startswith(p.key + ".") or key.startswith(p.key + "[") for p in problems
    )


def _changes(session: Any, text: str) -> list[str]:
    return [
        str(c)
        for c in apply_program_spec(session, parse_program_file(text), actor=None, dry_run=True)
    ]


def run_case(session: Any, case: Case, baseline: list[str]) -> str | None:
    """What is wrong with how the case was handled; None when it was right."""
    savepoint = session.begin_nested()
    try:
        with writes(session) as written:
            try:
                spec = parse_program_file(case.text)
                changes = apply_program_spec(session, spec, actor=None)
            except FileProblems as refused:
                problems = refused.problems
                if written:
                    return f"refused after writing: {written[0][:80]}"
                # A value that is wrong in itself is named; one that is only unusual (another
                # code, a key left out) may show as a problem of the key that depends on it.
                if case.outcome != "either" and not _names(problems, case.key):
                    return f"refused without naming {case.key}: {problems}"
                if not all(_japanese(p.message) for p in problems):
                    return f"a message not in Japanese: {problems}"
                if case.outcome == "same":
                    return f"refused, should be normalised: {problems}"
                return None
            except Exception as error:  # what the user would get as a 500
                return f"{type(error).__name__}: {str(error)[:200]}"
        if case.outcome == "refused":
            return f"accepted: {[str(c) for c in changes][:3]}"
        if case.outcome == "same":
            savepoint.rollback()
            savepoint = session.begin_nested()
            now = _changes(session, case.text)
            if now != baseline:
                return f"accepted as another value: {sorted(set(now) ^ set(baseline))[:3]}"
        return None
    finally:
        savepoint.rollback()
        session.expire_all()


@pytest.mark.parametrize("name", FILES)
def test_every_key_of_every_file_in_every_wrong_shape(
    app: Flask, db_session: Any, name: str
) -> None:
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    original = tomllib.loads(text)
    assert tomllib.loads(dump(original)) == original  # the writer round-trips
    baseline = _changes(db_session, text)
    db_session.rollback()
    failures = []
    total = 0
    for case in cases(original):
        total += 1
        wrong = run_case(db_session, case, baseline)
        if wrong:
            failures.append(f"{case.what}: {wrong}")
    assert total > 300
    assert not failures, f"{len(failures)} of {total}:\n" + "\n".join(failures)


# --- the command and the page ----------------------------------------------------------------


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


GUNMA = (EXAMPLES / "gunma.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("interval_months = 24", "interval_months = -24", "follow_up.interval_months: "),
        ('renewal_rule = "window_only"', 'renewal_rule = "never"', "follow_up.renewal_rule: "),
        ('municipality = "桐生市"', 'municipality = "存在しない町"', "scheme[1].municipality: "),
        ("[rules]", "[rules]\nsticky = true", "rules.sticky: "),
        ('name_ja = "訪問"', 'name_ja = ""', "activity_kinds.visit.name_ja: "),
    ],
)
def test_the_command_refuses_a_bad_file_naming_the_key_and_writes_nothing(
    app: Flask, db_session: Any, tmp_path: Path, before: str, after: str, expected: str
) -> None:
    assert before in GUNMA
    source = tmp_path / "gunma.toml"
    source.write_text(GUNMA.replace(before, after, 1), encoding="utf-8")
    everything = snapshot(db_session)
    for args in (["--dry-run"], []):
        result = _run(app, "programs", "import", str(source), *args)
        assert result.exit_code == 1, result.output
        assert expected in result.stderr
        line = next(x for x in result.stderr.splitlines() if x.startswith(expected))
        assert _japanese(line), line
        assert "Traceback" not in result.output + result.stderr
    db_session.expire_all()
    assert snapshot(db_session) == everything


@pytest.mark.parametrize(
    ("encoded", "accepted"),
    [
        (b"\xef\xbb\xbf" + GUNMA.encode("utf-8"), True),  # UTF-8 with a BOM (Windows Notepad)
        (GUNMA.replace("\n", "\r\n").encode("utf-8"), True),  # CRLF line ends
        (b"\xef\xbb\xbf" + GUNMA.replace("\n", "\r\n").encode("utf-8"), True),
        (GUNMA.encode("cp932"), False),  # saved by Excel or an old editor as Shift_JIS
    ],
)
def test_a_bom_or_crlf_is_read_and_cp932_is_refused_with_a_clear_message(
    app: Flask, db_session: Any, tmp_path: Path, encoded: bytes, accepted: bool
) -> None:
    source = tmp_path / "gunma.toml"
    source.write_bytes(encoded)
    result = _run(app, "programs", "import", str(source), "--dry-run")
    assert "Traceback" not in result.output + result.stderr
    if accepted:
        assert result.exit_code == 0, result.output + result.stderr
        assert "gunma: 87 change(s) (dry run: nothing written)" in result.output
    else:
        assert result.exit_code == 1
        assert "(file): " in result.stderr and "UTF-8" in result.stderr
        assert "Shift_JIS" in result.stderr and _japanese(result.stderr)


def test_the_upload_page_refuses_bad_files_with_the_key_and_accepts_a_bom(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session))
    everything = snapshot(db_session)
    for body, expected in (
        (
            GUNMA.replace("window_days = 120", "window_days = -1").encode(),
            "follow_up.window_days: ",
        ),
        (
            GUNMA.replace('name = "高崎市社会福祉協議会"', f'name = "{LONG}"').encode(),
            "organisations[1].name: ",
        ),
        (GUNMA.replace("[card]", "[card]\ncolour = 1").encode(), "card.colour: "),
        (GUNMA.encode("cp932"), "Shift_JIS"),
    ):
        response = post_form(
            client,
            "/programs/new",
            {"file": (io.BytesIO(body), "gunma.toml")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert expected in page, expected
    db_session.expire_all()
    assert snapshot(db_session) == everything
    with_bom = b"\xef\xbb\xbf" + GUNMA.encode()
    response = post_form(
        client,
        "/programs/new",
        {"file": (io.BytesIO(with_bom), "gunma.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert factories.program(db_session, code="gunma").follow_up_interval_months == 24
