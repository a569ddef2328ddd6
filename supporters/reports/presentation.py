"""The report for people and programs: the figures as plain data (JSON-ready, small
numbers already hidden for publication) and as rows, by key or in the report's own words
(reports.terms). The page, the PDF, the CSV, the JSON and the command all start here."""

from __future__ import annotations

from datetime import date
from typing import Any

from supporters.core.eras import fiscal_year_label
from supporters.db import DbSession
from supporters.programs.models import Organisation, Program
from supporters.registry.models import Status
from supporters.reports.figures import (
    VALID_STATUS_VALUES,
    CourseRow,
    DispatchRow,
    FiscalYearReport,
    build_fiscal_year_report,
    check_year,
    parse_as_of,
)
from supporters.reports.suppression import Suppression, attribute_rows


def fiscal_year_figures(
    session: DbSession,
    program: Program,
    year: int,
    *,
    today: date,
    as_of: str | None,
    rule: Suppression,
    include_attributes: bool,
    organisation: Organisation | None = None,
) -> dict[str, Any]:
    """What the page, the downloads and the command show for one program's year (or one of
    its organisations): the year and the optional `as_of` day (as typed) checked
    (ServiceError), the figures counted and passed through `rule`. `include_attributes` and
    `organisation` only as allowed (the caller decides)."""
    check_year(year, today)
    day = parse_as_of(as_of, today)
    report = build_fiscal_year_report(
        session,
        program,
        year,
        today=today,
        as_of=day,
        include_attributes=include_attributes,
        organisation=organisation,
    )
    return report_figures(report, rule)


def report_figures(report: FiscalYearReport, rule: Suppression) -> dict[str, Any]:
    """The report as plain data (JSON-ready): what the page, the PDF, CSV, JSON and the
    command show. Counts of people pass through `rule`; events, courses, capacity and hours
    are not counts of people and are shown as they are."""
    c = rule.count

    def course(row: CourseRow) -> dict[str, Any]:
        return {
            "kind": row.kind,
            "courses": row.courses,
            "capacity": row.capacity,
            "applicants": c(row.applicants),
            "attendees": c(row.attendees),
            "completions": c(row.completions),
        }

    def statuses(counts: dict[str, int], day: date) -> dict[str, Any]:
        return {
            "on": day.isoformat(),
            "valid": c(sum(counts.get(s, 0) for s in VALID_STATUS_VALUES)),
            "statuses": {s.value: c(counts.get(s.value, 0)) for s in Status},
        }

    def dispatch(row: DispatchRow) -> dict[str, Any]:
        return {
            "key": row.key,
            "events": row.events,
            "supporters": c(row.supporters),
            "hours": row.hours,
        }

    total_courses = CourseRow(
        kind="total",
        courses=sum(r.courses for r in report.courses),
        capacity=sum(r.capacity for r in report.courses if r.capacity is not None)
        if any(r.capacity is not None for r in report.courses)
        else None,
        applicants=sum(r.applicants for r in report.courses),
        attendees=sum(r.attendees for r in report.courses),
        completions=sum(r.completions for r in report.courses),
    )
    reg = report.registrations
    attributes = None
    if report.attributes is not None:
        total = sum(report.attributes.values())
        attributes = {
            "total": c(total),
            "attendees": total > 0,
            "rows": attribute_rows(report.attributes, rule),
        }
    follow_up = None
    if report.follow_up is not None:
        f = report.follow_up
        follow_up = {
            "due": c(f.due),
            "done": c(f.done),
            "overdue": c(f.overdue),
            "pending": c(f.pending),
        }
    participation = None
    if report.participation is not None:
        p = report.participation
        participation = {
            "participations": c(p.participations),
            "participants": c(p.participants),
            "by_kind": [
                {
                    "key": row.key,
                    "participations": c(row.participations),
                    "participants": c(row.participants),
                }
                for row in p.by_kind
            ],
        }
    months = report.dispatch_by_month
    return {
        "program": {
            "code": report.program_code,
            "name_ja": report.program_name_ja,
            "name_en": report.program_name_en,
        },
        "organisation": {"id": report.organisation_id, "name": report.organisation_name}
        if report.organisation_id is not None
        else None,
        "fiscal_year": report.year,
        "label": report.label,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "running": report.running,
        "figures_until": report.year_end_day.isoformat(),
        "empty": report.empty,
        "publish": rule.publish,
        "suppress_below": rule.threshold if rule.publish else None,
        "courses": [course(row) for row in report.courses],
        "courses_total": course(total_courses),
        "attributes": attributes,
        "registrations": {
            "new": c(reg.new),
            "renewed": c(reg.renewed),
            "follow_up_attended": c(reg.follow_up_attended),
            "lapsed": c(reg.lapsed),
            "withdrawn": c(reg.withdrawn),
        },
        "register_at_year_end": statuses(report.at_year_end, report.year_end_day),
        "register_as_of": statuses(report.at_as_of, report.as_of)
        if report.at_as_of is not None and report.as_of is not None
        else None,
        "follow_up": follow_up,
        "dispatch": {
            "events": sum(r.events for r in months),
            "supporters": c(sum(r.supporters for r in months)),
            "hours": round(sum(r.hours for r in months), 1),
            "by_month": [dispatch(r) for r in months],
            "by_municipality": [dispatch(r) for r in report.dispatch_by_municipality],
            "by_kind": [dispatch(r) for r in report.dispatch_by_kind],
        },
        "participation": participation,
        "activity_reports": {
            "reports": sum(r.reports for r in report.activity),
            "supporters": c(report.activity_supporters),
            "hours": round(sum(r.hours for r in report.activity), 1),
            "by_kind": [
                {"kind": r.kind, "reports": r.reports, "hours": r.hours} for r in report.activity
            ],
        },
        "history": [
            {
                "fiscal_year": row.year,
                "label": fiscal_year_label(row.year),
                "new": c(row.new),
                "valid_at_year_end": c(row.valid),
            }
            for row in report.history
        ],
    }


def figure_rows(figures: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """The figures flattened to (section, item, value, percent) rows for CSV and text."""
    rows: list[tuple[str, str, Any, Any]] = [
        ("report", "program", figures["program"]["code"], ""),
        ("report", "program_name", figures["program"]["name_ja"], ""),
    ]
    if figures["organisation"] is not None:
        rows.append(("report", "organisation", figures["organisation"]["name"], ""))
    rows += [
        ("report", "fiscal_year", figures["fiscal_year"], ""),
        ("report", "label", figures["label"], ""),
        ("report", "start", figures["start"], ""),
        ("report", "end", figures["end"], ""),
        ("report", "figures_until", figures["figures_until"], ""),
        ("report", "empty", str(figures["empty"]).lower(), ""),
        ("report", "publish", str(figures["publish"]).lower(), ""),
    ]
    if figures["suppress_below"] is not None:
        rows.append(("report", "suppress_below", figures["suppress_below"], ""))
    for row in [*figures["courses"], figures["courses_total"]]:
        for item in ("courses", "capacity", "applicants", "attendees", "completions"):
            rows.append((f"courses.{row['kind']}", item, row[item], ""))
    if figures["attributes"] is not None:
        rows.append(("attributes", "total", figures["attributes"]["total"], ""))
        for row in figures["attributes"]["rows"]:
            rows.append(("attributes", row["attribute"], row["count"], row["percent"]))
    for item, value in figures["registrations"].items():
        rows.append(("registrations", item, value, ""))
    for section in ("register_at_year_end", "register_as_of"):
        block = figures[section]
        if block is None:
            continue
        rows.append((section, "on", block["on"], ""))
        rows.append((section, "valid", block["valid"], ""))
        for status, value in block["statuses"].items():
            rows.append((section, status, value, ""))
    if figures["follow_up"] is not None:
        for item, value in figures["follow_up"].items():
            rows.append(("follow_up", item, value, ""))
    dispatch = figures["dispatch"]
    for item in ("events", "supporters", "hours"):
        rows.append(("dispatch", item, dispatch[item], ""))
    for group in ("by_month", "by_municipality", "by_kind"):
        for row in dispatch[group]:
            for item in ("events", "supporters", "hours"):
                rows.append((f"dispatch.{group}.{row['key']}", item, row[item], ""))
    participation = figures["participation"]
    if participation is not None:
        for item in ("participations", "participants"):
            rows.append(("participation", item, participation[item], ""))
        for row in participation["by_kind"]:
            for item in ("participations", "participants"):
                rows.append((f"participation.by_kind.{row['key']}", item, row[item], ""))
    activity = figures["activity_reports"]
    for item in ("reports", "supporters", "hours"):
        rows.append(("activity_reports", item, activity[item], ""))
    for row in activity["by_kind"]:
        rows.append((f"activity_reports.{row['kind']}", "reports", row["reports"], ""))
        rows.append((f"activity_reports.{row['kind']}", "hours", row["hours"], ""))
    for row in figures["history"]:
        rows.append((f"history.{row['fiscal_year']}", "new", row["new"], ""))
        rows.append(
            (f"history.{row['fiscal_year']}", "valid_at_year_end", row["valid_at_year_end"], "")
        )
    return [(s, i, "" if v is None else v, "" if p is None else p) for s, i, v, p in rows]


def kind_label(key: str, terms: dict[str, str]) -> str:
    """A "kind/activity" key in the report's words."""
    kind, _, activity = key.partition("/")
    return f"{terms.get(f'event_kind.{kind}', kind)}・{terms.get(f'activity.{activity}', activity)}"


def organisation_label(figures: dict[str, Any], terms: dict[str, str]) -> str:
    """Whom the figures are for: the organisation's name, or the whole program."""
    organisation = figures["organisation"]
    return organisation["name"] if organisation is not None else terms["report.whole_program"]


def labelled_figure_rows(
    figures: dict[str, Any], terms: dict[str, str]
) -> list[tuple[str, str, Any, Any]]:
    """The figures as (section, item, value, percent) rows in the report's own words."""
    T = terms

    def label(group: str, code: str) -> str:
        return T.get(f"{group}.{code}", code)

    def yes_no(value: Any) -> str:
        return T["yes"] if value else T["no"]

    report = T["report"]
    rows: list[tuple[str, str, Any, Any]] = [
        (report, T["report.program"], figures["program"]["name_ja"], ""),
        (report, T["report.organisation"], organisation_label(figures, T), ""),
        (report, T["report.fiscal_year"], figures["label"], ""),
        (report, T["report.start"], figures["start"], ""),
        (report, T["report.end"], figures["end"], ""),
        (report, T["report.figures_until"], figures["figures_until"], ""),
        (report, T["report.publish"], yes_no(figures["publish"]), ""),
    ]
    if figures["suppress_below"] is not None:
        rows.append((report, T["report.suppress_below"], figures["suppress_below"], ""))
    for row in [*figures["courses"], figures["courses_total"]]:
        kind = T["total"] if row["kind"] == "total" else label("course_kind", row["kind"])
        for item in ("courses", "capacity", "applicants", "attendees", "completions"):
            rows.append((f"{T['courses']}・{kind}", T[f"courses.{item}"], row[item], ""))
    if figures["attributes"] is not None:
        section = T["attributes"]
        for row in figures["attributes"]["rows"]:
            rows.append(
                (section, label("attribute", row["attribute"]), row["count"], row["percent"])
            )
        rows.append((section, T["total"], figures["attributes"]["total"], ""))
    for item, value in figures["registrations"].items():
        rows.append((T["register"], T.get(f"registrations.{item}", item), value, ""))
    for section_key, caption in (
        (
            "register_at_year_end",
            T["register.today" if figures["running"] else "register.year_end"],
        ),
        ("register_as_of", T["register.as_of"]),
    ):
        block = figures[section_key]
        if block is None:
            continue
        section = f"{T['register']}・{caption} {block['on']}"
        rows.append((section, T["register.valid"], block["valid"], ""))
        for status, value in block["statuses"].items():
            rows.append((section, label("status", status), value, ""))
    if figures["follow_up"] is not None:
        for item, value in figures["follow_up"].items():
            rows.append((T["follow_up"], T.get(f"follow_up.{item}", item), value, ""))
    dispatch = figures["dispatch"]
    for item in ("events", "supporters", "hours"):
        rows.append((T["dispatch"], T[f"dispatch.{item}"], dispatch[item], ""))
    for group in ("by_month", "by_municipality", "by_kind"):
        for row in dispatch[group]:
            key = row["key"]
            if group == "by_kind":
                key = kind_label(key, T)
            section = f"{T['dispatch']}・{T[f'dispatch.{group}']}: {key}"
            for item in ("events", "supporters", "hours"):
                rows.append((section, T[f"dispatch.{item}"], row[item], ""))
    participation = figures["participation"]
    if participation is not None:
        for item in ("participations", "participants"):
            rows.append((T["participation"], T[f"participation.{item}"], participation[item], ""))
        for row in participation["by_kind"]:
            section = f"{T['participation']}・{T['dispatch.by_kind']}: {kind_label(row['key'], T)}"
            for item in ("participations", "participants"):
                rows.append((section, T[f"participation.{item}"], row[item], ""))
    activity = figures["activity_reports"]
    for item in ("reports", "supporters", "hours"):
        rows.append((T["activity_reports"], T[f"activity_reports.{item}"], activity[item], ""))
    for row in activity["by_kind"]:
        section = f"{T['activity_reports.by_kind']}: {label('activity', row['kind'])}"
        rows.append((section, T["activity_reports.reports"], row["reports"], ""))
        rows.append((section, T["activity_reports.hours"], row["hours"], ""))
    for row in figures["history"]:
        section = f"{T['history']}: {row['label']}"
        rows.append((section, T["history.new"], row["new"], ""))
        rows.append((section, T["history.valid_at_year_end"], row["valid_at_year_end"], ""))
    return [(s, i, "" if v is None else v, "" if p is None else p) for s, i, v, p in rows]
