"""Drill figures: what happened, on one time axis, readable without the report.

A drill's figure stacks four panels over lab time since the drill started:

1. the share of viewer requests each region served, stacked, with viewer errors
   stacked on top in red (so a gap is visible as red, never as white);
2. one lane per region: its health-check verdict (upper half) and its record in the
   routing table (lower half: in with weight > 0, in with weight 0, left out, or
   unknown while the name servers are silent);
3. failovers (the origin group's second attempts) per lab second, as markers;
4. viewer latency p50 and p99 (real milliseconds).

Fault windows are shaded and labelled on every panel; phase boundaries are thin
lines. Each region keeps one colour in every figure of a stack (its declaration
order). Bins are whole: the last, partial bin is scaled by the time it covers, or
left out when it covers less than half a bin, so the load's end is not a drop to zero.
``plot_all`` puts every drill's first panel in one combined figure.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import LabStack
from .report import DrillOutcome, served_region

ERROR_COLOUR = "#d62728"
FAULT_COLOUR = "#ffb000"
HEALTHY_COLOUR = "#3a9d3a"
# tab10 without red (errors), green (health) and grey (left out); one per declared region.
REGION_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#393b79",
)
NICE_WIDTHS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0)


def region_colours(stack: LabStack) -> dict[str, str]:
    """One fixed colour per declared region, the same in every figure of the stack."""
    colours = {
        region: REGION_COLOURS[index % len(REGION_COLOURS)]
        for index, region in enumerate(stack.regions)
    }
    colours["none"] = "#7f7f7f"
    return colours


@dataclass
class Bins:
    """Whole bins over the drill (lab seconds since its start)."""

    width: float
    starts: list[float]
    spans: list[float]  # the time each bin covers (the last one may be shorter)

    @property
    def centres(self) -> list[float]:
        return [start + span / 2 for start, span in zip(self.starts, self.spans, strict=True)]

    def index(self, t: float) -> int | None:
        if t < 0:
            return None
        slot = int(t // self.width)
        return slot if slot < len(self.starts) else None


def make_bins(duration: float, requests: int, target_bins: int = 60, per_bin: int = 12) -> Bins:
    """Bins of a round width, at most ``target_bins`` and about ``per_bin`` requests each
    (fewer make a share meaningless); a last bin under half a width is dropped."""
    wanted = min(target_bins, max(1, requests // per_bin))
    width = next((w for w in NICE_WIDTHS if duration / w <= wanted), NICE_WIDTHS[-1])
    whole = int(duration // width)
    starts = [i * width for i in range(whole)]
    spans = [width] * whole
    rest = duration - whole * width
    if rest >= width / 2 or not starts:
        starts.append(whole * width)
        spans.append(max(rest, 1e-9))
    return Bins(width, starts, spans)


@dataclass
class Series:
    """Per-bin series of one drill, ready to draw."""

    bins: Bins
    share: dict[str, list[float]]  # region -> % of the bin's requests it served
    error_share: list[float]
    failovers_per_s: list[float]
    p50: list[float]
    p99: list[float]


def drill_series(outcome: DrillOutcome, regions: list[str]) -> Series:
    """Bin the viewer results of a drill by the lab time each request started."""
    results = outcome.results
    times = [r.lab_time - outcome.origin for r in results]
    duration = max(times, default=0.0)
    end = max((p.end for p in outcome.phases if not math.isinf(p.end)), default=outcome.origin)
    duration = max(duration, end - outcome.origin)
    bins = make_bins(max(duration, 1.0), len(results))
    count = len(bins.starts)
    served: list[Counter[str]] = [Counter() for _ in range(count)]
    errors = [0] * count
    failovers = [0] * count
    latencies: list[list[float]] = [[] for _ in range(count)]
    for result, t in zip(results, times, strict=True):
        slot = bins.index(t)
        if slot is None:
            continue
        latencies[slot].append(result.latency_ms)
        record = outcome.records.get(result.request_id)
        if record is not None and record.failover:
            failovers[slot] += 1
        if 200 <= result.status < 300:
            served[slot][served_region(result, outcome.records)] += 1
        else:
            errors[slot] += 1
    totals = [sum(c.values()) + e for c, e in zip(served, errors, strict=True)]
    names = list(regions) + sorted({r for c in served for r in c} - set(regions))
    share = {
        region: [
            100 * counts[region] / total if total else math.nan
            for counts, total in zip(served, totals, strict=True)
        ]
        for region in names
    }
    return Series(
        bins=bins,
        share=share,
        error_share=[100 * e / t if t else math.nan for e, t in zip(errors, totals, strict=True)],
        failovers_per_s=[f / span for f, span in zip(failovers, bins.spans, strict=True)],
        p50=[_quantile(values, 0.5) for values in latencies],
        p99=[_quantile(values, 0.99) for values in latencies],
    )


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def headline(report: dict[str, Any]) -> str:
    """The figure title: what ran and what it measured, with units."""
    parts = [
        f"{report['requests']} requests",
        f"{report['viewer_errors']} viewer errors ({100 * report['error_rate']:.1f} %)",
        f"{report['failovers']} failovers",
    ]
    if report.get("shift_s") is not None:
        target = report.get("shift_target_s")
        budget = f" (target <= {target:g} s)" if target is not None else ""
        parts.append(f"shift {report['shift_s']:.0f} s{budget}")
    return f"{report['scenario']}: " + ", ".join(parts)


def _fault_window(report: dict[str, Any]) -> tuple[float, float, str] | None:
    start = report.get("fault_time_s")
    if start is None:
        return None
    end = report.get("fault_end_s")
    if end is None:
        end = report["phases"][-1]["to_s"] if report["phases"] else start
    label = next(
        (p["phase"] for p in report["phases"] if abs(p["from_s"] - start) < 1.0),
        "fault",
    )
    return start, end, label


def _shade(axis: Any, report: dict[str, Any], *, top_band: bool = False) -> None:
    """Phase boundaries as dotted lines; the fault window shaded behind the data.

    The share panel is filled to 100 %, so there the window is a band along its top.
    """
    for phase in report["phases"][1:]:
        axis.axvline(phase["from_s"], color="#555555", linewidth=0.6, linestyle=":", zorder=3)
    window = _fault_window(report)
    if window is None:
        return
    start, end, _label = window
    axis.axvspan(start, end, color=FAULT_COLOUR, alpha=0.25, linewidth=0, zorder=0)
    for edge in (start, end):
        axis.axvline(edge, color="#8a5a00", linewidth=1.0, linestyle="--", zorder=3)
    if top_band:
        axis.axvspan(
            start,
            end,
            ymin=1.0,
            ymax=1.035,
            color=FAULT_COLOUR,
            alpha=0.9,
            linewidth=0,
            clip_on=False,
        )


def _mark_shift(axis: Any, report: dict[str, Any]) -> None:
    """Where the shift ends: the last new first attempt at the faulty region."""
    start, shift = report.get("fault_time_s"), report.get("shift_s")
    if start is None or shift is None:
        return
    axis.axvline(start + shift, color="#333333", linewidth=1.2, linestyle="-.", zorder=3)
    axis.text(
        start + shift,
        0.95,
        f" last new request to {report['fault_region']}: shift {shift:.0f} s",
        transform=axis.get_xaxis_transform(),
        va="top",
        ha="left",
        fontsize=8,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
    )


def _phase_names(axis: Any, report: dict[str, Any], end: float) -> None:
    """Each phase's name above the top panel, centred on the phase; the fault in amber."""
    window = _fault_window(report)
    top = axis.secondary_xaxis("top")
    centres, names = [], []
    for phase in report["phases"]:
        stop = end if phase["to_s"] is None else min(phase["to_s"], end)
        centres.append((phase["from_s"] + stop) / 2)
        names.append(
            phase["phase"].replace(" ", "\n", 1) if " " in phase["phase"] else phase["phase"]
        )
    top.set_xticks(centres)
    top.set_xticklabels(names, fontsize=8)
    top.tick_params(length=0, pad=8)
    if window is not None:
        for tick, centre in zip(top.get_xticklabels(), centres, strict=True):
            if window[0] <= centre <= window[1]:
                tick.set_color("#8a5a00")
                tick.set_fontweight("bold")


def _draw_share(axis: Any, series: Series, colours: dict[str, str], report: dict[str, Any]) -> None:
    xs = [*series.bins.starts, series.bins.starts[-1] + series.bins.spans[-1]]
    layers = [series.share[r] for r in series.share] + [series.error_share]
    labels = [f"{r} served" for r in series.share] + ["viewer errors"]
    fills = [colours.get(r, "#7f7f7f") for r in series.share] + [ERROR_COLOUR]
    bottom = [0.0] * len(series.bins.starts)
    for values, name, colour in zip(layers, labels, fills, strict=True):
        clean = [0.0 if math.isnan(v) else v for v in values]
        top = [b + v for b, v in zip(bottom, clean, strict=True)]
        axis.stairs(top, xs, baseline=bottom, fill=True, color=colour, label=name)
        bottom = top
    axis.set_ylim(0, 100)
    axis.set_ylabel("share of requests (%)")
    _shade(axis, report, top_band=True)


def _draw_lanes(
    axis: Any, report: dict[str, Any], regions: list[str], colours: dict[str, str], end: float
) -> None:
    health = report.get("health_at_start") or {}
    events = report.get("health_events") or []
    table = report.get("routing_table") or []
    for lane, region in enumerate(reversed(regions)):
        y = lane
        # Upper half: the health-check verdict over time.
        state, since = bool(health.get(region, True)), 0.0
        for event in [e for e in events if e["region"] == region] + [None]:
            until = end if event is None else event["t"]
            axis.broken_barh(
                [(since, max(0.0, until - since))],
                (y + 0.05, 0.42),
                facecolors=HEALTHY_COLOUR if state else ERROR_COLOUR,
            )
            if event is not None:
                state, since = bool(event["healthy"]), event["t"]
        # Lower half: the record in the routing table (weight > 0, weight 0, out, silent).
        for index, entry in enumerate(table):
            start = entry["t"]
            stop = table[index + 1]["t"] if index + 1 < len(table) else end
            answer = entry["table"]
            style: dict[str, Any]
            if answer is None:
                style = {"facecolors": "white", "edgecolor": "#555555", "hatch": "...."}
            elif region not in answer:
                style = {"facecolors": "#dddddd"}
            elif answer[region] == 0:
                style = {"facecolors": "white", "edgecolor": colours[region], "hatch": "////"}
            else:
                style = {"facecolors": colours[region]}
            axis.broken_barh([(start, max(0.0, stop - start))], (y - 0.47, 0.42), **style)
    axis.set_yticks(range(len(regions)))
    axis.set_yticklabels(list(reversed(regions)))
    for tick, region in zip(axis.get_yticklabels(), reversed(regions), strict=True):
        tick.set_color(colours[region])
    axis.set_ylim(-0.6, len(regions) - 0.4)
    axis.set_ylabel("health / routing")
    _shade(axis, report)


def _lane_legend(axis: Any) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=HEALTHY_COLOUR, label="upper: health check passing"),
        Patch(facecolor=ERROR_COLOUR, label="upper: failing"),
        Patch(facecolor="#1f77b4", label="lower: in routing table (region colour)"),
        Patch(facecolor="white", edgecolor="#1f77b4", hatch="////", label="lower: weight 0"),
        Patch(facecolor="#dddddd", label="lower: left out"),
        Patch(facecolor="white", edgecolor="#555555", hatch="....", label="lower: DNS silent"),
    ]
    axis.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)


def plot_drill(report: dict[str, Any], outcome: DrillOutcome, path: Path, stack: LabStack) -> None:
    """One drill's figure: share and errors, lanes, failovers, latency, on one time axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = list(stack.regions)
    colours = region_colours(stack)
    series = drill_series(outcome, regions)
    end = series.bins.starts[-1] + series.bins.spans[-1]
    figure, axes = plt.subplots(
        4,
        1,
        sharex=True,
        figsize=(12, 9.5),
        gridspec_kw={"height_ratios": [3, 0.45 * len(regions) + 0.6, 1.2, 1.6]},
    )
    share, lanes, failovers, latency = axes
    _draw_share(share, series, colours, report)
    _phase_names(share, report, end)
    share.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _draw_lanes(lanes, report, regions, colours, end)
    _lane_legend(lanes)
    centres = series.bins.centres
    points = [(x, v) for x, v in zip(centres, series.failovers_per_s, strict=True) if v > 0]
    if points:
        failovers.vlines([x for x, _ in points], 0, [v for _, v in points], color="#333333", lw=0.8)
        failovers.plot([x for x, _ in points], [v for _, v in points], "v", color="#333333")
    failovers.set_ylim(bottom=0, top=max([v for _, v in points], default=1.0) * 1.5)
    failovers.set_ylabel("failovers\nper lab s")
    _shade(failovers, report)
    _mark_shift(failovers, report)
    latency.plot(centres, series.p50, color="#333333", label="p50")
    latency.plot(centres, series.p99, color=ERROR_COLOUR, linestyle="--", label="p99")
    latency.set_ylabel("latency (real ms)")
    highest = max((v for v in series.p99 if not math.isnan(v)), default=1.0)
    latency.set_ylim(0, highest * 1.15)
    latency.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _shade(latency, report)
    latency.set_xlabel(
        f"lab time since the drill started (s); bins of {series.bins.width:g} s; "
        f"time scale x{report['time_scale']:g}"
    )
    latency.set_xlim(0, end)
    figure.suptitle(headline(report), fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_all(
    panels: list[tuple[dict[str, Any], DrillOutcome]], path: Path, stack: LabStack
) -> None:
    """``drill all``: every drill's share-and-errors panel in one figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = list(stack.regions)
    colours = region_colours(stack)
    rows = len(panels)
    figure, axes = plt.subplots(rows, 1, figsize=(12, 2.6 * rows + 0.6), squeeze=False)
    for axis, (report, outcome) in zip(axes[:, 0], panels, strict=True):
        series = drill_series(outcome, regions)
        _draw_share(axis, series, colours, report)
        axis.set_xlim(0, series.bins.starts[-1] + series.bins.spans[-1])
        axis.set_title(headline(report), fontsize=10, loc="left")
        window = _fault_window(report)
        if window is not None:
            start, end, label = window
            axis.set_title(
                f"fault: {label}, {start:.0f}-{end:.0f} s", fontsize=9, loc="right", color="#8a5a00"
            )
        axis.set_xlabel("lab time since the drill started (s)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    inch = 1 / figure.get_figheight()
    figure.suptitle(f"every drill on stack {stack.stack}", y=1 - 0.08 * inch, fontsize=12)
    figure.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.35 * inch), ncol=len(labels)
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.75 * inch))
    figure.savefig(path, dpi=90)
    plt.close(figure)
