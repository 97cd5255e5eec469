"""The crash test's timeline (crashtest/harness/timeline.py): well-formed SVG whatever the report
holds, a lane per worker and a marker per event, every text escaped, and small for an hour."""

from __future__ import annotations

import copy
import random
import xml.etree.ElementTree as ET

from crashtest.harness.timeline import DETAIL_LIMIT, MAX_EVENT_BUCKETS, nice_step, render_timeline

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>&"'

# The example of /docs (the report's format), as CrashRun.report holds it.
EXAMPLE = {
    "version": 1,
    "options": {"workers": 3, "minutes": 1.0, "nemeses": ["kill", "pause", "grow-shrink"],
                "workloads": ["datagen", "imports"], "seed": 7, "broker": "orm",
                "database": "sqlite", "lease_seconds": 5, "watchdog_seconds": 60},
    "started_at": "2026-12-07T09:40:00+00:00",
    "duration": 63.2,
    "phases": [{"name": "setup", "start": 0.0, "end": 8.1},
               {"name": "chaos", "start": 8.1, "end": 68.1},
               {"name": "heal", "start": 68.1, "end": 69.0},
               {"name": "drain", "start": 69.0, "end": 80.2},
               {"name": "check", "start": 80.2, "end": 83.0}],
    "stopped_by": "time",
    "ok": True,
    "progress": ",,c1r1,c3r3p2P2,+4,-2",
    "events": [
        {"t": 10.2, "nemesis": "kill", "action": "kill", "target": "w1",
         "detail": "SIGKILL group 1234"},
        {"t": 10.9, "nemesis": "kill", "action": "restart", "target": "w1", "detail": ""},
        {"t": 15.0, "nemesis": "pause", "action": "pause", "target": "w2", "detail": "for 7.0 s"},
        {"t": 22.0, "nemesis": "pause", "action": "resume", "target": "w2", "detail": ""},
        {"t": 30.0, "nemesis": "grow-shrink", "action": "grow", "target": "w4", "detail": ""},
        {"t": 40.0, "nemesis": "grow-shrink", "action": "shrink", "target": "w4",
         "detail": "SIGTERM"},
        {"t": 45.0, "nemesis": "kill", "action": "skip", "target": "", "detail": "stabilizing"},
        {"t": 50.0, "nemesis": "restart-db", "action": "restart-db", "target": "postgresql",
         "detail": ""},
        {"t": 55.0, "nemesis": "watchdog", "action": "pause-the-world", "target": "",
         "detail": "no job finished for 60 s"},
    ],
    "completions": {"datagen": [9.1, 9.3, 12.0], "imports": [8.5, 8.6], "querygen": []},
    "workers": [
        {"name": "w1", "lives": [{"start": 0.5, "end": 10.2, "end_reason": "killed"},
                                 {"start": 10.9, "end": 70.0, "end_reason": "stopped"}],
         "pauses": [{"start": 15.0, "end": 22.0}]},
        {"name": "w2", "lives": [{"start": 0.6, "end": None, "end_reason": None}], "pauses": []},
    ],
    "checks": [],
    "counts": {"kills": 1},
    "folder": "/tmp/x",
}  # fmt: skip


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output; raises unless well-formed
    assert root.tag == f"{SVG}svg"
    return root


def having(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in e.get("class", "").split()]


def title(element: ET.Element) -> str:
    found = element.find(f"{SVG}title")
    return "" if found is None else found.text or ""


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text")]


def test_the_example_draws_lanes_events_completions_phases_and_a_legend():
    root = parse(render_timeline(EXAMPLE))

    lanes = having(root, "ct-lane")
    assert [lane.get("data-worker") for lane in lanes] == ["w1", "w2"]
    lives = [(e.get("data-end"), e.get("fill")) for e in having(root, "ct-life")]
    assert lives == [("killed", "#c62828"), ("stopped", "#757575"), ("running", "#2e7d32")]
    (pause,) = [e for e in having(root, "ct-pause") if title(e)]
    assert title(pause) == "w1 paused: 15.0 s to 22.0 s"

    rows = [row.get("data-nemesis") for row in having(root, "ct-nemrow")]
    assert rows == ["kill", "pause", "grow-shrink", "restart-db", "watchdog"]
    markers = [e for e in having(root, "ct-ev") if title(e)]
    assert len(markers) == len(EXAMPLE["events"])
    assert "10.2 s · kill: kill w1 (SIGKILL group 1234)" in [title(m) for m in markers]
    assert len(having(root, "ct-skip")) == 1
    assert len(having(root, "ct-watchdog")) == 1  # the world paused: a line across it all

    rates = {e.get("data-workload"): title(e) for e in having(root, "ct-rate") if title(e)}
    assert list(rates) == ["datagen", "imports", "querygen"]
    assert rates["datagen"] == "datagen: 3 completions, at most 2 per second"
    assert [title(p).split(":")[0] for p in having(root, "ct-phase")] == [
        "setup", "chaos", "heal", "drain", "check"]  # fmt: skip
    shown = texts(root)
    assert {"setup", "chaos", "drain"} <= set(shown)  # heal and check are too narrow to label
    assert {"life ended: killed", "paused", "datagen (3)", "kill", "watchdog"} <= set(shown)
    assert "80 s" in shown  # the axis runs to the check phase's end, past the duration


def test_every_text_of_the_report_is_escaped():
    report = copy.deepcopy(EXAMPLE)
    report["events"][0].update(target=NASTY, detail=NASTY, action=NASTY)
    report["events"][1]["nemesis"] = NASTY
    report["workers"][0]["name"] = NASTY
    report["workers"][0]["lives"][0]["end_reason"] = NASTY
    report["completions"][NASTY] = [1.0]
    report["phases"][1]["name"] = NASTY + " chaos, longer"
    report["events"][2]["detail"] = "bell \x07 and nul \x00 are not XML"
    svg = render_timeline(report)
    assert "<script>" not in svg and '&"' not in svg
    root = parse(svg)
    assert any(NASTY in title(e) for e in having(root, "ct-ev"))
    assert [lane.get("data-worker") for lane in having(root, "ct-lane")][0] == NASTY
    assert NASTY in [e.get("data-workload") for e in having(root, "ct-rate")]
    assert NASTY + " chaos, longer" in texts(root)
    assert f"life ended: {NASTY}" in texts(root)  # an end reason it does not know, in the legend
    assert NASTY in texts(root)  # the lane's label


def test_an_empty_or_broken_report_still_draws():
    for report in ({}, {"version": 1}, None, {"events": "no", "workers": [None, 3],
                   "completions": {"x": ["a", None, float("nan")]}, "phases": [{}],
                   "duration": "long"}):  # fmt: skip
        svg = render_timeline(report)
        root = parse(svg)
        assert "nan" not in svg and "inf" not in svg
        assert not having(root, "ct-ev") and not having(root, "ct-life")
        shown = texts(root)
        assert "no completions" in shown and "no workers" in shown
        assert "no nemesis events" in shown


def test_a_duration_of_zero():
    report = {"duration": 0, "phases": [{"name": "setup", "start": 0, "end": 0}],
              "events": [{"t": 0, "nemesis": "kill", "action": "kill", "target": "w1"}],
              "completions": {"datagen": [0, 0, 0]},
              "workers": [{"name": "w1", "lives": [{"start": 0, "end": 0,
                                                    "end_reason": "killed"}]}]}  # fmt: skip
    svg = render_timeline(report)
    root = parse(svg)
    assert "nan" not in svg and "inf" not in svg
    assert len(having(root, "ct-ev")) == 2  # the marker and its legend swatch
    (life,) = having(root, "ct-life")
    assert float(life.get("width")) >= 1  # drawn, however short
    assert "0 s" in texts(root)


def test_thousands_of_completions_are_binned_per_second():
    rnd = random.Random(3)
    stamps = sorted(rnd.uniform(0, 60) for _ in range(5000))
    root = parse(render_timeline({"duration": 60, "completions": {"datagen": stamps}}))
    (rate,) = [e for e in having(root, "ct-rate") if title(e)]
    assert title(rate).startswith("datagen: 5,000 completions, at most ")
    assert title(rate).endswith(" per second")  # 1 s bins
    assert rate.get("d").count("H") == 60


def hour_long(seed: int = 1) -> dict:
    """An hour of chaos: 2,000 events (kills and restarts, pauses and resumes, the others),
    50,000 completions over three workloads, eight workers with hundreds of lives."""
    rnd = random.Random(seed)
    nemeses = ["kill", "pause", "grow-shrink", "restart-db", "terminate-backends"]
    names = [f"w{i}" for i in range(1, 9)]
    lives = {name: [{"start": 0.5}] for name in names}
    pauses: dict[str, list] = {name: [] for name in names}
    events: list[dict] = []
    t = 10.0
    while len(events) < 2000:
        t += rnd.uniform(0.5, 3.0)
        nemesis, worker = rnd.choice(nemeses), rnd.choice(names)
        if nemesis == "kill":
            lives[worker][-1].update(end=t, end_reason="killed")
            lives[worker].append({"start": t + 0.6})
            events += [{"t": t, "nemesis": nemesis, "action": "kill", "target": worker},
                       {"t": t + 0.6, "nemesis": nemesis, "action": "restart",
                        "target": worker}]  # fmt: skip
        elif nemesis == "pause":
            pauses[worker].append({"start": t, "end": t + 2})
            events += [
                {"t": t, "nemesis": nemesis, "action": "pause", "target": worker},
                {"t": t + 2, "nemesis": nemesis, "action": "resume", "target": worker},
            ]
        else:
            events.append({"t": t, "nemesis": nemesis, "action": nemesis, "target": "db",
                           "detail": "a detail of some length " * 2})  # fmt: skip
    for name in names:
        lives[name][-1].update(end=3590.0, end_reason="stopped")
    workloads = ("datagen", "imports", "querygen")
    return {
        "version": 1,
        "options": {"nemeses": nemeses, "workloads": list(workloads)},
        "duration": 3600.0,
        "phases": [
            {"name": "setup", "start": 0, "end": 10},
            {"name": "chaos", "start": 10, "end": 3500},
            {"name": "check", "start": 3500, "end": 3600},
        ],  # fmt: skip
        "events": events,
        "completions": {
            w: [rnd.uniform(5, 3590) for _ in range(50_000 // 3 + 1)] for w in workloads
        },  # fmt: skip
        "workers": [{"name": n, "lives": lives[n], "pauses": pauses[n]} for n in names],
    }


def test_an_hour_long_report_stays_under_200_kb():
    report = hour_long()
    assert len(report["events"]) >= 2000
    assert sum(len(c) for c in report["completions"].values()) >= 50_000
    svg = render_timeline(report)
    assert len(svg.encode()) < 200_000, len(svg)
    root = parse(svg)
    assert len(having(root, "ct-lane")) == 8
    assert len(having(root, "ct-nemrow")) == 5
    blocks = having(root, "ct-evs")  # events merged by time, their tooltips counting them
    assert 0 < len(blocks) <= 5 * MAX_EVENT_BUCKETS
    assert sum(int(title(b).split(": ")[1].split()[0]) for b in blocks) == len(report["events"])
    rates = [e for e in having(root, "ct-rate") if title(e)]
    assert all(title(r).endswith("per second, in 15 s bins") for r in rates)
    assert "60 min" in texts(root)


def test_a_few_events_each_get_a_marker_many_are_merged():
    report = hour_long()
    report["events"] = report["events"][:DETAIL_LIMIT]
    root = parse(render_timeline(report))
    assert not having(root, "ct-evs")
    assert len([e for e in having(root, "ct-ev") if title(e)]) == DETAIL_LIMIT


def test_nice_steps():
    assert nice_step(1, 300) == 1
    assert nice_step(63.2, 300) == 1
    assert nice_step(3600, 300) == 15
    assert nice_step(3600, 10) == 600
    assert nice_step(100 * 3600, 10) == 36_000
