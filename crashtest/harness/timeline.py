"""A crash test's timeline as one SVG string, drawn from its report (version 1, the format of
CrashRun.report and report.json). Pure: no Django, so a script can draw a report.json too.

Time runs left to right, in seconds since the crash test started. From the top: the phases'
labels; completions per second of each workload (a step line, in bins that widen with the
run's length); a lane of nemesis events (a row per nemesis, a tick per event with its tooltip);
a lane per worker (each life a bar coloured by how it ended, pauses hatched amber over it); the
time axis; the legend. The phases (setup, chaos, heal, drain, check) shade the whole height.

Every text from the report is XML-escaped, so the page may inline the SVG as safe. The size is
bounded whatever the report holds: completions are binned (at most MAX_BINS bins), and beyond
DETAIL_LIMIT events (or lives and pauses) the shapes are merged and the tooltips summarise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WIDTH = 1000
LEFT = 104  # the lanes' labels
RIGHT = 24
PLOT = WIDTH - LEFT - RIGHT
CHART_HEIGHT = 64
ROW = 14  # a nemesis row
LANE = 18  # a worker lane; its bars are BAR high
BAR = 12
LABEL_CHARS = 15
MAX_BINS = 300  # completion bins across the plot: about 3 px each
MAX_EVENT_BUCKETS = 100  # per nemesis row, once events are too many to draw one by one
MAX_TICKS = 10
DETAIL_LIMIT = 400  # up to this many events (or lives and pauses): one shape and tooltip each
MAX_WATCHDOG_LINES = 20
# 1 s bins for a minute's run, wider ones for longer runs; an axis in seconds, then minutes
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)

LIFE_COLOURS = {"killed": "#c62828", "stopped": "#757575", "running": "#2e7d32"}
OTHER_END = "#6a1b9a"  # an end reason the report names but the timeline does not know
PAUSE_COLOUR = "#ffa000"
NEMESIS_COLOURS = {
    "kill": "#c62828",
    "pause": "#ef6c00",
    "grow-shrink": "#1e88e5",
    "restart-db": "#6a1b9a",
    "terminate-backends": "#8d6e63",
    "watchdog": "#212121",
}
PALETTE = ("#1e88e5", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#5d4037")
PHASE_FILLS = {
    "setup": "#eceff1",
    "chaos": "#fff3e0",
    "heal": "#e8f5e9",
    "drain": "#e3f2fd",
    "check": "#f3e5f5",
}

STYLE = (
    ".ct-timeline text{font:11px sans-serif;fill:#37474f}"
    ".ct-timeline .ct-muted{fill:#90a4ae}"
    ".ct-timeline .ct-grid{stroke:#cfd8dc;stroke-width:.5}"
    ".ct-timeline .ct-axis{stroke:#90a4ae}"
    ".ct-timeline .ct-lane-bg{fill:transparent}"
    ".ct-timeline .ct-rate{fill:none;stroke-width:1.5}"
    ".ct-timeline .ct-ev{stroke-width:3}"
    ".ct-timeline .ct-skip{opacity:.35}"
    ".ct-timeline .ct-watchdog{stroke:#212121;stroke-dasharray:4 3}"
    f".ct-timeline .ct-pause{{fill:url(#ct-hatch);stroke:{PAUSE_COLOUR}}}"
)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(value: object) -> str:
    """Text for an SVG text node or attribute: what XML forbids replaced, the rest escaped."""
    text = _NOT_XML.sub("\ufffd", str(value))
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _num(value: Any) -> float | None:
    """A finite number of the report, or None (a report is data: anything may be missing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict]:
    return [v for v in _list(value) if isinstance(v, dict)]


def _f(value: float) -> str:
    """A coordinate: one decimal is enough, and '12' is shorter than '12.0'."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _seconds(t: float) -> str:
    return f"{t:.1f} s"


def nice_step(span: float, most: int) -> int:
    """The smallest step of NICE_STEPS (else whole hours) cutting `span` seconds in at most
    `most` pieces."""
    for step in NICE_STEPS:
        if span / step <= most:
            return step
    return math.ceil(span / most / 3600) * 3600


@dataclass
class _Span:
    start: float
    end: float
    kind: str = ""  # a life's end reason


@dataclass
class _Worker:
    name: str
    lives: list[_Span] = field(default_factory=list)
    pauses: list[_Span] = field(default_factory=list)


@dataclass
class _Event:
    t: float
    nemesis: str
    action: str
    target: str
    detail: str


def _length(report: Mapping[str, Any]) -> float:
    """The seconds the x axis spans: the report's duration, or further if anything in the
    report happened later (the check phase ends after the chaos). At least one second."""
    times = [_num(report.get("duration"))]
    for phase in _dicts(report.get("phases")):
        times += [_num(phase.get("start")), _num(phase.get("end"))]
    times += [_num(e.get("t")) for e in _dicts(report.get("events"))]
    completions = report.get("completions")
    if isinstance(completions, dict):
        for stamps in completions.values():
            times += map(_num, _list(stamps))
    for worker in _dicts(report.get("workers")):
        for span in _dicts(worker.get("lives")) + _dicts(worker.get("pauses")):
            times += [_num(span.get("start")), _num(span.get("end"))]
    found = [t for t in times if t is not None]
    return max([1.0, *found])


def _spans(items: Iterable[dict], length: float, *, reason: bool) -> list[_Span]:
    spans = []
    for item in items:
        start = _num(item.get("start"))
        if start is None:
            continue
        end = _num(item.get("end"))
        kind = str(item.get("end_reason") or "") if reason else ""
        if end is None:  # still going when the report was written
            end, kind = length, "running" if reason else kind
        if reason and not kind:
            kind = "running"
        spans.append(_Span(max(0.0, start), max(start, end), kind))
    return spans


def _workers(report: Mapping[str, Any], length: float) -> list[_Worker]:
    return [
        _Worker(
            name=str(w.get("name", "?")),
            lives=_spans(_dicts(w.get("lives")), length, reason=True),
            pauses=_spans(_dicts(w.get("pauses")), length, reason=False),
        )
        for w in _dicts(report.get("workers"))
    ]


def _events(report: Mapping[str, Any]) -> list[_Event]:
    events = []
    for e in _dicts(report.get("events")):
        t = _num(e.get("t"))
        if t is None:
            continue
        events.append(
            _Event(
                t=max(0.0, t),
                nemesis=str(e.get("nemesis") or "other"),
                action=str(e.get("action") or ""),
                target=str(e.get("target") or ""),
                detail=str(e.get("detail") or ""),
            )
        )
    return events


def _completions(report: Mapping[str, Any]) -> dict[str, list[float]]:
    completions = report.get("completions")
    if not isinstance(completions, dict):
        return {}
    return {
        str(name): [t for t in map(_num, _list(stamps)) if t is not None]
        for name, stamps in completions.items()
    }


def _nemesis_names(report: Mapping[str, Any], events: list[_Event]) -> list[str]:
    """A row per nemesis: those the options name, in their order, then any other an event
    names (the watchdog's)."""
    options = report.get("options")
    named = _list(options.get("nemeses")) if isinstance(options, dict) else []
    names = list(dict.fromkeys([*map(str, named), *(e.nemesis for e in events)]))
    return names


def _colour(table: Mapping[str, str], name: str, index: int) -> str:
    return table.get(name) or PALETTE[index % len(PALETTE)]


class _Svg:
    """The SVG's parts in order and the x scale."""

    def __init__(self, length: float) -> None:
        self.length = length
        self.parts: list[str] = []

    def x(self, t: float) -> float:
        return LEFT + min(max(t, 0.0), self.length) / self.length * PLOT

    def add(self, part: str) -> None:
        self.parts.append(part)

    def text(self, x: float, y: float, text: str, *, anchor: str = "", cls: str = "") -> None:
        attrs = f' text-anchor="{anchor}"' if anchor else ""
        attrs += f' class="{cls}"' if cls else ""
        self.add(f'<text x="{_f(x)}" y="{_f(y)}"{attrs}>{esc(text)}</text>')


def _phases(svg: _Svg, report: Mapping[str, Any], top: float, bottom: float) -> None:
    """Bands behind everything, their labels in the row above `top`."""
    for phase in _dicts(report.get("phases")):
        start, end = _num(phase.get("start")), _num(phase.get("end"))
        if start is None or end is None:
            continue
        name = str(phase.get("name") or "")
        x0, x1 = svg.x(start), svg.x(max(start, end))
        fill = PHASE_FILLS.get(name, "#f5f5f5")
        svg.add(
            f'<rect class="ct-phase" x="{_f(x0)}" y="{_f(top - 16)}" width="{_f(max(x1 - x0, 1))}"'
            f' height="{_f(bottom - top + 16)}" fill="{fill}"><title>{esc(name)}: '
            f"{_seconds(start)} to {_seconds(end)}</title></rect>"
        )
        if x1 - x0 >= 7 * len(name) + 4:  # room for the label
            svg.text(x0 + 3, top - 4, name)


def _axis(svg: _Svg, top: float, bottom: float) -> None:
    step = nice_step(svg.length, MAX_TICKS)
    minutes = step >= 60
    svg.add(f'<path class="ct-axis" d="M{LEFT} {_f(bottom)}H{LEFT + PLOT}"/>')
    for i in range(int(svg.length // step) + 1):
        t = i * step
        x = svg.x(t)
        svg.add(f'<path class="ct-grid" d="M{_f(x)} {_f(top)}V{_f(bottom + 4)}"/>')
        label = f"{t // 60:g} min" if minutes else f"{t:g} s"
        svg.text(x, bottom + 15, label, anchor="middle")


def _rates(svg: _Svg, completions: dict[str, list[float]], top: float) -> list[tuple]:
    """Completions per second of each workload, a step line per workload over bins of
    `bin_seconds` (1 s for a short run). Returns the legend's entries."""
    base = top + CHART_HEIGHT
    svg.add(f'<path class="ct-axis" d="M{LEFT} {_f(base)}H{LEFT + PLOT}"/>')
    bin_seconds = nice_step(svg.length, MAX_BINS)
    bins = max(1, math.ceil(svg.length / bin_seconds))
    counted = {}
    for name, stamps in completions.items():
        counts = [0] * bins
        for t in stamps:
            counts[min(bins - 1, max(0, int(t // bin_seconds)))] += 1
        counted[name] = counts
    peak = max([c for counts in counted.values() for c in counts] or [0]) / bin_seconds
    per = "per second" if bin_seconds == 1 else f"per second, in {bin_seconds} s bins"
    if peak:
        svg.text(LEFT - 6, top + 9, f"{peak:.3g}/s", anchor="end")
    svg.text(LEFT - 6, base, "0", anchor="end")
    svg.text(LEFT - 6, top + CHART_HEIGHT / 2 + 4, "completions", anchor="end", cls="ct-muted")
    if not any(stamps for stamps in completions.values()):
        svg.text(LEFT + PLOT / 2, top + CHART_HEIGHT / 2, "no completions", anchor="middle",
                 cls="ct-muted")  # fmt: skip
    legend = []
    for index, (name, counts) in enumerate(counted.items()):
        colour = PALETTE[index % len(PALETTE)]
        d = [f"M{_f(svg.x(0))} {_f(base)}"]
        for i, count in enumerate(counts):
            y = base - (count / bin_seconds / peak * (CHART_HEIGHT - 4) if peak else 0)
            d.append(f"V{_f(y)}H{_f(svg.x(min((i + 1) * bin_seconds, svg.length)))}")
        d.append(f"V{_f(base)}")
        total = sum(counts)
        best = max(counts, default=0) / bin_seconds
        svg.add(
            f'<path class="ct-rate" data-workload="{esc(name)}" stroke="{colour}" d="{"".join(d)}">'
            f"<title>{esc(name)}: {total:,} completions, at most {best:.3g} {per}</title></path>"
        )
        legend.append(("line", colour, f"{name} ({total:,})"))
    return legend


def _event_title(e: _Event) -> str:
    words = " ".join(w for w in (e.action, e.target) if w)
    return f"{_seconds(e.t)} · {e.nemesis}: {words}" + (f" ({e.detail})" if e.detail else "")


def _nemeses(svg: _Svg, events: list[_Event], names: list[str], top: float) -> list[tuple]:
    """A row per nemesis; a tick per event, or past DETAIL_LIMIT events a block per bucket of
    time with a tooltip counting its actions."""
    legend = []
    svg.text(LEFT - 6, top - 5, "nemeses", anchor="end", cls="ct-muted")
    if not names:
        svg.add(f'<path class="ct-grid" d="M{LEFT} {_f(top + ROW)}H{LEFT + PLOT}"/>')
        svg.text(LEFT + PLOT / 2, top + 10, "no nemesis events", anchor="middle", cls="ct-muted")
        return legend
    detailed = len(events) <= DETAIL_LIMIT
    bucket = nice_step(svg.length, MAX_EVENT_BUCKETS)
    for row, name in enumerate(names):
        y = top + row * ROW
        colour = _colour(NEMESIS_COLOURS, name, row)
        mine = [e for e in events if e.nemesis == name]
        parts = [f'<g class="ct-nemrow" data-nemesis="{esc(name)}"><title>{esc(name)}: '
                 f"{len(mine)} events</title>"]  # fmt: skip
        parts.append(f'<path class="ct-grid" d="M{LEFT} {_f(y + ROW)}H{LEFT + PLOT}"/>')
        if detailed:
            for e in mine:
                skip = " ct-skip" if e.action == "skip" else ""
                parts.append(
                    f'<path class="ct-ev{skip}" stroke="{colour}" d="M{_f(svg.x(e.t))} '
                    f'{_f(y + 2)}v10"><title>{esc(_event_title(e))}</title></path>'
                )
        else:
            buckets: dict[int, Counter] = {}
            for e in mine:
                buckets.setdefault(int(e.t // bucket), Counter())[e.action] += 1
            most = max((sum(c.values()) for c in buckets.values()), default=1)
            for i, actions in sorted(buckets.items()):
                n = sum(actions.values())
                x0, x1 = svg.x(i * bucket), svg.x((i + 1) * bucket)
                what = ", ".join(f"{a or '?'} ×{k}" for a, k in actions.most_common())
                parts.append(
                    f'<rect class="ct-ev ct-evs" fill="{colour}" x="{_f(x0)}" y="{_f(y + 2)}" '
                    f'width="{_f(max(x1 - x0 - 0.5, 1))}" height="10" '
                    f'opacity="{0.3 + 0.7 * n / most:.2f}"><title>{esc(name)}: {n} events, '
                    f"{i * bucket}–{(i + 1) * bucket} s: {esc(what)}</title></rect>"
                )
        parts.append("</g>")
        svg.add("".join(parts))
        svg.text(LEFT - 6, y + 11, _short(name), anchor="end")
        legend.append(("tick", colour, name))
    return legend


def _life_title(worker: _Worker, n: int, life: _Span) -> str:
    return f"{worker.name} life {n}: {_seconds(life.start)} to {_seconds(life.end)}, {life.kind}"


def _rect(x0: float, x1: float, y: float, height: float) -> str:
    return f'x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 1))}" height="{height}"'


def _box(x0: float, x1: float, y: float, height: float) -> str:
    """The same rectangle as a subpath, for merged shapes."""
    return f"M{_f(x0)} {_f(y)}h{_f(max(x1 - x0, 1))}v{height}H{_f(x0)}z"


def _lanes(svg: _Svg, workers: list[_Worker], top: float) -> set[str]:
    """A lane per worker: lives coloured by their end, pauses hatched over them. Returns the
    end reasons drawn."""
    shapes = sum(len(w.lives) + len(w.pauses) for w in workers)
    detailed = shapes <= DETAIL_LIMIT
    reasons: set[str] = set()
    svg.text(LEFT - 6, top - 5, "workers", anchor="end", cls="ct-muted")
    if not workers:
        svg.text(LEFT + PLOT / 2, top + 12, "no workers", anchor="middle", cls="ct-muted")
    for lane, worker in enumerate(workers):
        y = top + lane * LANE
        bar_y = y + (LANE - BAR) / 2
        ends = Counter(life.kind for life in worker.lives)
        summary = ", ".join(f"{n} {kind}" for kind, n in ends.most_common())
        parts = [
            f'<g class="ct-lane" data-worker="{esc(worker.name)}">'
            f'<rect class="ct-lane-bg" {_rect(LEFT, LEFT + PLOT, y, LANE)}><title>'
            f"{esc(worker.name)}: {len(worker.lives)} lives ({esc(summary or 'none')}), "
            f"{len(worker.pauses)} pauses</title></rect>"
        ]
        by_kind: dict[str, list[str]] = {}
        for n, life in enumerate(worker.lives, 1):
            reasons.add(life.kind)
            fill = LIFE_COLOURS.get(life.kind, OTHER_END)
            x0, x1 = svg.x(life.start), svg.x(life.end)
            if detailed:
                parts.append(
                    f'<rect class="ct-life" data-end="{esc(life.kind)}" fill="{fill}" '
                    f"{_rect(x0, x1, bar_y, BAR)}><title>{esc(_life_title(worker, n, life))}"
                    "</title></rect>"
                )
            else:
                by_kind.setdefault(life.kind, []).append(_box(x0, x1, bar_y, BAR))
        for kind, boxes in by_kind.items():
            fill = LIFE_COLOURS.get(kind, OTHER_END)
            parts.append(f'<path class="ct-life" data-end="{esc(kind)}" fill="{fill}" '
                         f'd="{"".join(boxes)}"/>')  # fmt: skip
        pauses = []
        for pause in worker.pauses:
            x0, x1 = svg.x(pause.start), svg.x(pause.end)
            if detailed:
                parts.append(
                    f'<rect class="ct-pause" {_rect(x0, x1, bar_y - 1, BAR + 2)}><title>'
                    f"{esc(worker.name)} paused: {_seconds(pause.start)} to "
                    f"{_seconds(pause.end)}</title></rect>"
                )
            else:
                pauses.append(_box(x0, x1, bar_y - 1, BAR + 2))
        if pauses:
            parts.append(f'<path class="ct-pause" d="{"".join(pauses)}"/>')
        parts.append("</g>")
        svg.add("".join(parts))
        svg.text(LEFT - 6, y + LANE / 2 + 4, _short(worker.name), anchor="end")
    return reasons


def _watchdog(svg: _Svg, events: list[_Event], top: float, bottom: float) -> None:
    """The world paused: a dashed line across everything, the moment a reader looks for."""
    paused = [e for e in events if e.action == "pause-the-world"][:MAX_WATCHDOG_LINES]
    for e in paused:
        x = _f(svg.x(e.t))
        svg.add(f'<path class="ct-watchdog" d="M{x} {_f(top)}V{_f(bottom)}">'
                f"<title>{esc(_event_title(e))}</title></path>")  # fmt: skip


def _legend(svg: _Svg, entries: list[tuple], top: float) -> float:
    """Swatches left to right, wrapped; returns the bottom."""
    x, y = float(LEFT), top
    for kind, colour, label in entries:
        width = 22 + 6.5 * len(label) + 14
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = float(LEFT), y + 16
        if kind == "tick":
            swatch = f'<path class="ct-ev" stroke="{colour}" d="M{_f(x + 6)} {_f(y + 1)}v10"/>'
        elif kind == "line":
            swatch = (f'<path class="ct-rate" stroke="{colour}" '
                      f'd="M{_f(x)} {_f(y + 9)}h5V{_f(y + 3)}h6V{_f(y + 7)}h5"/>')  # fmt: skip
        elif kind == "pause":
            swatch = f'<rect class="ct-pause" x="{_f(x)}" y="{_f(y + 1)}" width="16" height="10"/>'
        else:
            swatch = f'<rect fill="{colour}" x="{_f(x)}" y="{_f(y + 1)}" width="16" height="10"/>'
        svg.add(f'<g class="ct-legend">{swatch}</g>')
        svg.text(x + 20, y + 10, label)
        x += width
    return y + 16


def render_timeline(report: Mapping[str, Any]) -> str:
    """The report's timeline as an SVG element (no XML declaration: it goes inline in a page,
    or alone in a .svg file)."""
    report = report if isinstance(report, Mapping) else {}
    length = _length(report)
    svg = _Svg(length)
    workers = _workers(report, length)
    events = _events(report)
    names = _nemesis_names(report, events)
    completions = _completions(report)

    chart_top = 22.0
    nemesis_top = chart_top + CHART_HEIGHT + 20
    lanes_top = nemesis_top + max(1, len(names)) * ROW + 18
    bottom = lanes_top + max(1, len(workers)) * LANE
    _phases(svg, report, chart_top, bottom)
    _axis(svg, chart_top, bottom)
    legend = _rates(svg, completions, chart_top)
    legend += _nemeses(svg, events, names, nemesis_top)
    reasons = _lanes(svg, workers, lanes_top)
    _watchdog(svg, events, chart_top, bottom)
    ends = [("box", LIFE_COLOURS[k], f"life ended: {k}") for k in ("killed", "stopped")]
    ends.append(("box", LIFE_COLOURS["running"], "running at the end"))
    ends += [("box", OTHER_END, f"life ended: {k}") for k in sorted(reasons - set(LIFE_COLOURS))]
    ends.append(("pause", PAUSE_COLOUR, "paused"))
    height = _legend(svg, ends + legend, bottom + 26) + 4

    label = (f"Crash test timeline: {length:.0f} s, {len(events)} nemesis events, "
             f"{len(workers)} workers")  # fmt: skip
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ct-timeline" width="{WIDTH}" '
        f'height="{_f(height)}" viewBox="0 0 {WIDTH} {_f(height)}" role="img" '
        f'aria-label="{esc(label)}"><style>{STYLE}</style><defs>'
        '<pattern id="ct-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#ffe082" fill-opacity=".6"/>'
        f'<path d="M0 0V6" stroke="{PAUSE_COLOUR}" stroke-width="3"/></pattern></defs>'
    )
    return head + "".join(svg.parts) + "</svg>"
