"""Small bar charts drawn on the server as inline SVG: no script, no style attribute (the console's
Content-Security-Policy allows neither inline), colours from console.css classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 600
HEIGHT = 140
TOP = 12
BOTTOM = 20
LEFT = 36
PLOT_H = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    css: str  # the class colouring the bars: "bar-main", "bar-error", "bar-warn", "bar-ok"


@dataclass(frozen=True)
class Chart:
    title: str
    series: Sequence[Series]  # drawn over each other, first at the back
    x_labels: tuple[str, str]  # at the left and right end
    limit: float | None = None  # a dashed line (e.g. the rate limit)
    limit_label: str = ""
    description: str = ""  # what a screen reader hears


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def render(chart: Chart) -> Markup:
    """The chart as a ``<figure>``: its caption and an ``<svg role="img">`` with a title and a text description."""
    points = max((len(s.values) for s in chart.series), default=0)
    peak = max([max(s.values, default=0.0) for s in chart.series] + [chart.limit or 0.0, 1.0])
    scale = PLOT_H / peak
    slot = (WIDTH - LEFT) / max(points, 1)
    bar = max(slot * 0.8, 0.5)
    out = [f'<figure class="chart-box"><figcaption>{escape(chart.title)}</figcaption>'
           f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(chart.title)}"><title>{escape(chart.title)}</title>'
           f'<desc>{escape(chart.description)}</desc>',
           f'<line class="axis" x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{WIDTH}" y2="{TOP + PLOT_H}"/>',
           f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_fmt(peak)}</text>',
           f'<text class="tick" x="{LEFT - 4}" y="{TOP + PLOT_H}" text-anchor="end">0</text>']
    for series in chart.series:
        for i, value in enumerate(series.values):
            if value <= 0:
                continue
            h = max(value * scale, 1.0)
            x = LEFT + i * slot + (slot - bar) / 2
            out.append(f'<rect class="{series.css}" x="{x:.1f}" y="{TOP + PLOT_H - h:.1f}" width="{bar:.1f}" '
                       f'height="{h:.1f}"><title>{escape(series.label)}: {_fmt(value)}</title></rect>')
    if chart.limit:
        y = TOP + PLOT_H - chart.limit * scale
        out.append(f'<line class="limit" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{WIDTH - 2}" y="{y - 3:.1f}" text-anchor="end">'
                   f'{escape(chart.limit_label)}</text>')
    out.append(f'<text class="tick" x="{LEFT}" y="{HEIGHT - 4}">{escape(chart.x_labels[0])}</text>')
    out.append(f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">{escape(chart.x_labels[1])}</text>')
    out.append("</svg></figure>")
    return Markup("".join(out))
