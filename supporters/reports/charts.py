"""Charts as inline SVG: no JavaScript, no library, no inline styles (the CSP forbids them).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that name it; the
page shows the same numbers in a table next to it. A value of ``None`` is a hidden (suppressed)
cell: no bar is drawn, only its text (for example "<5"), so the length of a bar never tells
what the figure hides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape

from supporters.training.forms import ATTRIBUTE_LABELS

INK = "#1a1a1c"
MUTED = "#4d4d4d"
GRID = "#cccccc"
# Colours with a contrast of at least 3:1 against white (WCAG 1.4.11 for graphics).
PALETTE = ("#0031d8", "#197a4b", "#8a5300", "#6b21a8")
FONT_SIZE = 14


@dataclass(frozen=True, slots=True)
class Datum:
    label: str
    value: float | None  # None: hidden, no bar
    text: str  # written at the bar


def axis(value: float, ticks: int = 4) -> tuple[float, float]:
    """(top, step) of a value axis: the step is 1, 2 or 5 × 10ⁿ (at least 1, for counts of
    people and events) and the top the first multiple of the step at or above `value`."""
    if value <= 0:
        return float(ticks), 1.0
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power)
    step = max(step, 1)
    return float(step * math.ceil(value / step)), float(step)


def _ticks(top: float, step: float) -> list[float]:
    return [step * k for k in range(round(top / step) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" focusable="false">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT_SIZE, fill: str = INK
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, label: str = "") -> str:
    data = f' data-label="{escape(label)}"' if label else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{fill}"{data}/>'
    )


def _axis(values: Sequence[float | None]) -> tuple[float, float]:
    return axis(max((v for v in values if v is not None), default=0.0))


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    data: Sequence[Datum],
    *,
    width: int = 640,
    label_width: int = 180,
) -> Markup:
    """Horizontal bars, one row per datum, the text after the bar."""
    row_h, top_pad, bottom_pad = 30, 10, 26
    height = top_pad + row_h * max(len(data), 1) + bottom_pad
    left, right = label_width, width - 90
    top, step = _axis([d.value for d in data])
    scale = (right - left) / top
    parts = _open(chart_id, title, description, width, height)
    axis_y = top_pad + row_h * len(data)
    for tick in _ticks(top, step):
        x = left + tick * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(x, axis_y + 18, _number(tick), anchor="middle", size=12, fill=MUTED))
    for index, datum in enumerate(data):
        y = top_pad + index * row_h
        parts.append(_text(left - 8, y + row_h / 2 + 5, datum.label, anchor="end"))
        length = (datum.value or 0) * scale
        if datum.value is not None:
            parts.append(_rect(left, y + 6, length, row_h - 12, PALETTE[0], datum.label))
        parts.append(_text(left + length + 6, y + row_h / 2 + 5, datum.text))
    parts.append(
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{axis_y}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Datum]]],
    *,
    width: int = 640,
    height: int = 280,
) -> Markup:
    """Vertical columns per category; several series stand side by side, with a legend."""
    left, right = 48, width - 12
    legend_h = 26 if len(series) > 1 else 0
    top_pad, bottom = 12 + legend_h, height - 40
    top, step = _axis([d.value for _name, data in series for d in data])
    scale = (bottom - top_pad - 18) / top
    parts = _open(chart_id, title, description, width, height)
    if len(series) > 1:
        legend_x = float(left)
        for number, (name, _data) in enumerate(series):
            parts.append(_rect(legend_x, 6, 14, 14, PALETTE[number % len(PALETTE)]))
            parts.append(_text(legend_x + 20, 18, name, size=13))
            legend_x += 28 + 14 * len(name) + 20
    for tick in _ticks(top, step):
        y = bottom - tick * scale
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, _number(tick), anchor="end", size=12, fill=MUTED))
    slot = (right - left) / max(len(categories), 1)
    bar_w = min(slot * 0.8 / max(len(series), 1), 48.0)
    group_w = bar_w * len(series)
    for index, category in enumerate(categories):
        x0 = left + index * slot + (slot - group_w) / 2
        for number, (_name, data) in enumerate(series):
            datum = data[index]
            x = x0 + number * bar_w
            length = (datum.value or 0) * scale
            if datum.value is not None:
                parts.append(
                    _rect(
                        x,
                        bottom - length,
                        bar_w - 1,
                        length,
                        PALETTE[number % len(PALETTE)],
                        f"{category} {datum.label}".strip(),
                    )
                )
            if datum.text:
                parts.append(
                    _text(x + bar_w / 2, bottom - length - 4, datum.text, anchor="middle", size=11)
                )
        parts.append(_text(x0 + group_w / 2, bottom + 18, category, anchor="middle", size=12))
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


# --- the fiscal-year report's charts ----------------------------------------------------


def _shown(cell: Any, percent: Any = None) -> str:
    text = "—" if cell is None else (f"{cell:g}" if isinstance(cell, float) else str(cell))
    return f"{text} ({percent:g}%)" if percent is not None and text not in ("—",) else text


def _value(cell: Any) -> float | None:
    return float(cell) if isinstance(cell, int | float) else None


def _summary(data: list[Datum]) -> str:
    return "; ".join(f"{d.label}: {d.text}" for d in data)


def report_charts(figures: dict[str, Any]) -> dict[str, Markup]:
    """The report page's charts, from the figures of
    :func:`supporters.reports.presentation.report_figures` (hidden cells draw no bar)."""
    result: dict[str, Markup] = {}
    if figures["attributes"] is not None and figures["attributes"]["attendees"]:
        data = [
            Datum(
                str(ATTRIBUTE_LABELS.get(row["attribute"], row["attribute"])),
                _value(row["count"]),
                _shown(row["count"], row["percent"]),
            )
            for row in figures["attributes"]["rows"]
        ]
        result["attributes"] = bar_chart(
            "chart-attributes",
            _("Attendees of initial training by attribute"),
            _summary(data),
            data,
        )
    months = figures["dispatch"]["by_month"]
    labels = [format_date(date.fromisoformat(m["key"] + "-01"), "MMM") for m in months]
    data = [
        Datum(label, float(m["events"]), str(m["events"]))
        for label, m in zip(labels, months, strict=True)
    ]
    result["months"] = column_chart(
        "chart-dispatch-months",
        _("Dispatch events per month"),
        _summary(data),
        labels,
        [(_("Events"), data)],
    )
    history = figures["history"]
    if history:
        years = [str(row["fiscal_year"]) for row in history]
        new = [
            Datum(year, _value(row["new"]), _shown(row["new"]))
            for year, row in zip(years, history, strict=True)
        ]
        valid = [
            Datum(year, _value(row["valid_at_year_end"]), _shown(row["valid_at_year_end"]))
            for year, row in zip(years, history, strict=True)
        ]
        description = "; ".join(
            f"{year}: {_('New registrations')} {n.text}, {_('Valid at the year end')} {v.text}"
            for year, n, v in zip(years, new, valid, strict=True)
        )
        result["history"] = column_chart(
            "chart-history",
            _("Registrations over the years"),
            description,
            years,
            [(_("New registrations"), new), (_("Valid at the year end"), valid)],
        )
    return result
