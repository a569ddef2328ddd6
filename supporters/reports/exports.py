"""What leaves the system: the figures as CSV (for Excel), JSON and a plain-text listing
for the terminal, and the audit row every export writes."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

from supporters.audit.services import record_audit
from supporters.core.csv import safe_cell
from supporters.db import DbSession
from supporters.programs.models import Program
from supporters.reports.presentation import labelled_figure_rows
from supporters.reports.terms import terms as report_terms


def figures_csv(figures: dict[str, Any], terms: dict[str, str] | None = None) -> str:
    """UTF-8 CSV with a byte order mark (for Excel), for people: Japanese headers, sections,
    items and values in the words of the web report and its PDF (reports.terms); cells that
    a spreadsheet would run as a formula are neutralised. JSON keeps the English keys."""
    if terms is None:
        terms = report_terms("ja")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([terms[k] for k in ("csv.section", "csv.item", "csv.value", "csv.percent")])
    for row in labelled_figure_rows(figures, terms):
        writer.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return "\ufeff" + buffer.getvalue()


def figures_json(figures: dict[str, Any]) -> str:
    """The figures with their English keys, as the JSON download and the command print them."""
    return json.dumps(figures, ensure_ascii=False, indent=2)


def record_export(
    session: DbSession,
    actor: Any,
    program: Program,
    *,
    year: int,
    output: str,
    publish: bool,
    as_of: str | None,
    attributes: bool,
    ip_address: str | None = None,
    command: bool = False,
    organisation_id: int | None = None,
) -> None:
    """Audit one export of a fiscal-year report (page download or command), in the caller's
    transaction: who, which program (and organisation, if one) and year, in which format,
    published or not, and whether the sensitive attribute breakdown was in it."""
    detail: dict[str, Any] = {
        "fiscal_year": year,
        "organisation_id": organisation_id,
        "format": output,
        "publish": publish,
        "as_of": as_of,
        "attributes": attributes,
    }
    if command:
        detail["command"] = True
    record_audit(
        session,
        actor,
        "export.report",
        None,
        program_id=program.id,
        ip_address=ip_address,
        detail=detail,
    )


def _display_width(text: str) -> int:
    """Columns a terminal gives the text: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    space = " " * max(width - _display_width(text), 0)
    return text + space if left else space + text


def _text_table(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[("—" if v is None or v == "" else str(v)) for v in row] for row in rows]
    widths = [
        max([_display_width(h)] + [_display_width(row[i]) for row in cells])
        for i, h in enumerate(headers)
    ]

    def line(values: list[str]) -> str:
        return "  " + "  ".join(
            _pad(v, w, left=i == 0) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return ["", title, line(headers), *(line(row) for row in cells)]


def figures_text(figures: dict[str, Any]) -> str:
    """A plain-text listing for the terminal: the same figures as the page, as tables."""
    lines = [
        f"{figures['label']} (FY{figures['fiscal_year']}: {figures['start']} – {figures['end']}) "
        f"{figures['program']['name_ja']} [{figures['program']['code']}]"
    ]
    if figures["organisation"] is not None:
        lines.append(f"Organisation: {figures['organisation']['name']}")
    if figures["empty"]:
        lines.append("No data recorded for this fiscal year.")
    if figures["running"]:
        lines.append(f"The year is still running: figures up to {figures['figures_until']}.")
    if figures["publish"]:
        n = figures["suppress_below"]
        lines.append(f"For publication: counts of people under {n} read '<{n}'.")
    columns = ["courses", "capacity", "applicants", "attendees", "completions"]
    lines += _text_table(
        "Training",
        ["kind", *columns],
        [
            [row["kind"], *(row[c] for c in columns)]
            for row in [*figures["courses"], figures["courses_total"]]
        ],
    )
    if figures["attributes"] is not None:
        lines += _text_table(
            "Attendees of initial training by attribute",
            ["attribute", "people", "percent"],
            [[r["attribute"], r["count"], r["percent"]] for r in figures["attributes"]["rows"]]
            + [["total", figures["attributes"]["total"], ""]],
        )
    lines += _text_table(
        "Register changes in the year",
        ["change", "people"],
        [[key, value] for key, value in figures["registrations"].items()],
    )
    for key, title in (
        ("register_at_year_end", "Register at the year end"),
        ("register_as_of", "Register on the chosen day"),
    ):
        block = figures[key]
        if block is not None:
            lines += _text_table(
                f"{title} ({block['on']})",
                ["status", "people"],
                [
                    ["registered and valid", block["valid"]],
                    *([s, v] for s, v in block["statuses"].items()),
                ],
            )
    if figures["follow_up"] is not None:
        lines += _text_table(
            "Follow-up training (mandatory)",
            ["", "people"],
            [[key, value] for key, value in figures["follow_up"].items()],
        )
    dispatch = figures["dispatch"]
    metrics = ["events", "supporters", "hours"]
    lines += _text_table(
        "Dispatch",
        ["", *metrics],
        [["total", *(dispatch[m] for m in metrics)]]
        + [[row["key"], *(row[m] for m in metrics)] for row in dispatch["by_month"]],
    )
    for group, title in (("by_municipality", "municipality"), ("by_kind", "kind/activity")):
        if dispatch[group]:
            lines += _text_table(
                f"Dispatch by {title}",
                [title, *metrics],
                [[row["key"], *(row[m] for m in metrics)] for row in dispatch[group]],
            )
    participation = figures["participation"]
    if participation is not None:
        people = ["participations", "participants"]
        lines += _text_table(
            "Participants (taking part without registering; not supporters)",
            ["kind/activity", *people],
            [["total", *(participation[m] for m in people)]]
            + [[row["key"], *(row[m] for m in people)] for row in participation["by_kind"]],
        )
    activity = figures["activity_reports"]
    lines += _text_table(
        "Activity reports",
        ["kind", "reports", "hours"],
        [["total", activity["reports"], activity["hours"]]]
        + [[row["kind"], row["reports"], row["hours"]] for row in activity["by_kind"]]
        + [["supporters who reported", activity["supporters"], ""]],
    )
    lines += _text_table(
        "Registrations over the years",
        ["fiscal year", "new", "valid at year end"],
        [
            [f"{r['label']} ({r['fiscal_year']})", r["new"], r["valid_at_year_end"]]
            for r in figures["history"]
        ],
    )
    return "\n".join(lines)
