"""Small numbers hidden for publication: a count of people under the threshold reads "<N",
and a lone hidden cell takes its neighbour with it, so no hidden count follows from a total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supporters.people.models import Attribute

DEFAULT_SUPPRESS_BELOW = 5
SECONDARY_MARK = "x"

Cell = int | str | None


@dataclass(frozen=True)
class Suppression:
    """For publication, counts of people under `threshold` are shown as "<threshold"."""

    publish: bool = False
    threshold: int = DEFAULT_SUPPRESS_BELOW

    @property
    def mark(self) -> str:
        return f"<{self.threshold}"

    def hides(self, value: int) -> bool:
        return self.publish and value < self.threshold

    def count(self, value: int) -> Cell:
        return self.mark if self.hides(value) else value


def _percent(part: int, total: int) -> float:
    return round(100 * part / total, 1) if total else 0.0


def attribute_rows(attributes: dict[str, int], rule: Suppression) -> list[dict[str, Any]]:
    """Every attribute in a fixed order (and "unknown" when there are any), with counts and
    percentages. Published: cells under the threshold read "<N"; when only one cell is hidden,
    the next smallest is hidden too ("x"), so that no hidden cell follows from the total."""
    keys = [a.value for a in Attribute] + (["unknown"] if attributes.get("unknown") else [])
    total = sum(attributes.values())
    counts = {key: attributes.get(key, 0) for key in keys}
    hidden = {key for key, value in counts.items() if rule.hides(value)}
    secondary: set[str] = set()
    if len(hidden) == 1:
        shown = sorted(
            (value, keys.index(key), key) for key, value in counts.items() if key not in hidden
        )
        if shown:
            secondary.add(shown[0][2])
    rows = []
    for key in keys:
        if key in hidden:
            count: Cell = rule.mark
            percent: float | None = None
        elif key in secondary:
            count, percent = SECONDARY_MARK, None
        else:
            count, percent = counts[key], _percent(counts[key], total)
        rows.append({"attribute": key, "count": count, "percent": percent})
    return rows
