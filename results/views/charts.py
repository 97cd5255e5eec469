"""A series' trend as SVG geometry for templates/results/_chart.html: no script, no library.

Each run is one point (a dot for a line, a stack of rects for the counts) that links to the
run's page and says its figures in a <title> (a tooltip, and what a screen reader reads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from results.models import STATUS_LABELS, STATUS_ORDER
from results.selectors.trends import TrendPoint

WIDTH, HEIGHT = 720, 220
PAD_L, PAD_R, PAD_T, PAD_B = 56, 12, 10, 46
X_LABELS = 6  # run labels under the axis at most
SPARK_W, SPARK_H = 100, 20


@dataclass
class Chart:
    kind: str  # "line" or "stack"
    title: str
    y_label: str
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_L
    right: int = WIDTH - PAD_R
    top: int = PAD_T
    bottom: int = HEIGHT - PAD_B
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    line: str = ""  # polyline points
    dots: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, href, tip
    bars: list[dict[str, Any]] = field(default_factory=list)  # href, tip, rects
    legend: list[tuple[str, str]] = field(default_factory=list)  # status, label

    @property
    def x_mid(self) -> float:
        return (self.left + self.right) / 2

    @property
    def y_mid(self) -> float:
        return (self.top + self.bottom) / 2


def _nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least value (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def seconds(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.3g} s"


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _frame(chart: Chart, points: list[TrendPoint]) -> tuple[float, Any]:
    """The x step of a run, and x(i): the middle of run i's slot."""
    step = (chart.right - chart.left) / max(1, len(points))
    every = max(1, math.ceil(len(points) / X_LABELS))
    shown = set(range(0, len(points), every)) | {len(points) - 1}

    def x(i: int) -> float:
        return round(chart.left + step * (i + 0.5), 1)

    chart.x_ticks = [
        (x(i), f"{p.run.started_at:%m-%d}") for i, p in enumerate(points) if i in shown
    ]
    return step, x


def _y_axis(chart: Chart, top: float, fmt) -> Any:
    inner = chart.bottom - chart.top

    def y(value: float) -> float:
        return round(chart.top + inner * (1 - value / top), 1)

    chart.y_ticks = [(y(top * k / 4), fmt(top * k / 4)) for k in range(5)]
    return y


def _run_url(point: TrendPoint) -> str:
    return reverse("results:run-detail", args=[point.run.name])


def line_chart(points: list[TrendPoint], what: str) -> Chart | None:
    """`pass_rate` (0..100 %) or `duration` (seconds) of each run, oldest first; runs without
    the figure (nothing ran, no durations) have no dot."""
    if not points:
        return None
    if what == "pass_rate":
        chart = Chart("line", f"Pass rate of the last {len(points)} runs", "passed (%)", "")
        values = [None if p.pass_rate is None else 100 * p.pass_rate for p in points]
        top, fmt = 100.0, lambda v: f"{v:.0f}%"
        tip = "{run}: {value:.1f}% passed ({passed:,} of {ran:,} that ran)"
    else:
        chart = Chart("line", f"Total duration of the last {len(points)} runs", "duration", "")
        values = [p.duration for p in points]
        top = _nice_ceiling(max((v for v in values if v is not None), default=0))
        fmt, tip = seconds, "{run}: {value_text} in all"
    _, x = _frame(chart, points)
    y = _y_axis(chart, top, fmt)
    for i, (point, value) in enumerate(zip(points, values, strict=True)):
        if value is None:
            continue
        counts = point.counts
        text = tip.format(
            run=point.run.name,
            value=value,
            value_text=seconds(value),
            passed=counts.get("P", 0),
            ran=point.total - counts.get("D", 0),
        )
        chart.dots.append((x(i), y(value), _run_url(point), text))
    chart.line = " ".join(f"{px},{py}" for px, py, _, _ in chart.dots)
    latest = next((t for *_, t in reversed(chart.dots)), "no figure yet")
    chart.summary = f"{len(chart.dots)} runs; latest: {latest}."
    return chart


def stack_chart(points: list[TrendPoint]) -> Chart | None:
    """Counts per status of each run as a stacked bar: P at the bottom, then F E D M and a
    site's own letters."""
    if not points:
        return None
    chart = Chart("stack", f"Results per status of the last {len(points)} runs", "results", "")
    letters = sorted({s for p in points for s in p.counts}, key=_status_key)
    step, x = _frame(chart, points)
    y = _y_axis(chart, _nice_ceiling(max(p.total for p in points)), _count)
    width = round(max(1.0, step * 0.7), 1)
    for i, point in enumerate(points):
        rects, base = [], 0
        for status in letters:
            n = point.counts.get(status, 0)
            if n:
                top_y, bottom_y = y(base + n), y(base)
                rects.append((status, round(bottom_y - top_y, 1), top_y))
                base += n
        parts = ", ".join(
            f"{point.counts[s]:,} {_label(s)}" for s in letters if point.counts.get(s)
        )
        chart.bars.append(
            {
                "x": round(x(i) - width / 2, 1),
                "width": width,
                "href": _run_url(point),
                "tip": f"{point.run.name}: {parts or 'no results'}",
                "rects": rects,
            }
        )
    chart.legend = [(s, _label(s)) for s in letters]
    chart.summary = chart.bars[-1]["tip"] + "."
    return chart


def _status_key(status: str) -> tuple[int, str]:
    return (
        (STATUS_ORDER.index(status), "") if status in STATUS_ORDER else (len(STATUS_ORDER), status)
    )


def _label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def sparkline(rates: list[float | None]) -> dict[str, Any] | None:
    """A small line of pass rates (0..1, oldest first) for the series list."""
    if not rates or all(r is None for r in rates):
        return None
    step = SPARK_W / max(1, len(rates) - 1) if len(rates) > 1 else 0
    points = [
        (
            round(i * step if len(rates) > 1 else SPARK_W / 2, 1),
            round(SPARK_H - 1 - r * (SPARK_H - 2), 1),
        )
        for i, r in enumerate(rates)
        if r is not None
    ]
    shown = [r for r in rates if r is not None]
    return {
        "width": SPARK_W,
        "height": SPARK_H,
        "points": " ".join(f"{px},{py}" for px, py in points),
        "last": points[-1],
        "summary": f"Pass rate of the last {len(shown)} runs: from {100 * shown[0]:.0f}% "
        f"to {100 * shown[-1]:.0f}%",
    }


def series_charts(points: list[TrendPoint]) -> list[Chart]:
    """The three charts of a series, in the order pages show them."""
    charts = [line_chart(points, "pass_rate"), stack_chart(points), line_chart(points, "duration")]
    return [c for c in charts if c is not None]
