"""Percentiles and the printed table."""

from __future__ import annotations

from dataclasses import dataclass


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


@dataclass
class Row:
    scenario: str
    metric: str
    goal: str
    measured: str
    met: bool | None = None  # None: informational, no goal

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "-"}[self.met]


def table(rows: list[Row]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    header = ("Scenario", "Metric", "Goal", "Measured", "Verdict")
    cells = [header] + [(r.scenario, r.metric, r.goal, r.measured, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
