"""What a drill measured: the JSON report, the text table and the PNG timeline."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .edge import EdgeRecord
from .load import ViewerResult


@dataclass
class Phase:
    """A stretch of the drill's timeline (lab seconds), named for the table."""

    name: str
    start: float
    end: float = math.inf


@dataclass
class DrillOutcome:
    """Everything a drill run leaves behind, before it becomes a report."""

    scenario: str
    time_scale: float
    results: list[ViewerResult]
    records: dict[str, EdgeRecord]
    phases: list[Phase]
    events: list[tuple[float, str]]
    fault_region: str | None = None
    fault_time: float | None = None
    fault_end: float | None = None
    shift_target_s: float | None = None
    dns_queries: int = 0
    real_duration_s: float = 0.0
    origin: float = 0.0  # lab time of the drill's start; reports count from here
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def shift_seconds(outcome: DrillOutcome) -> float | None:
    """Lab seconds from the fault until the last new first attempt at the faulty region."""
    if outcome.fault_region is None or outcome.fault_time is None:
        return None
    end = outcome.fault_end if outcome.fault_end is not None else math.inf
    late = [
        record.attempts[0].lab_time
        for record in outcome.records.values()
        if record.attempts
        and record.attempts[0].region == outcome.fault_region
        and outcome.fault_time <= record.attempts[0].lab_time < end
    ]
    return round(max(late) - outcome.fault_time, 3) if late else 0.0


def build_report(outcome: DrillOutcome) -> dict[str, Any]:
    """The drill's JSON report (the keys the issue names, plus detail)."""
    results = outcome.results
    errors = [r for r in results if not 200 <= r.status < 300]
    by_region = Counter(served_region(r, outcome.records) for r in results)
    records = [outcome.records[r.request_id] for r in results if r.request_id in outcome.records]
    failovers = sum(1 for record in records if record.failover)
    times = [r.lab_time for r in results]
    latencies = sorted(r.latency_ms for r in results)
    report: dict[str, Any] = {
        "scenario": outcome.scenario,
        "duration_s": round(max(times) - min(times), 3) if times else 0.0,
        "requests": len(results),
        "viewer_errors": len(errors),
        "failovers": failovers,
        "by_region": dict(sorted(by_region.items())),
        "shift_s": shift_seconds(outcome),
        "dns_queries": outcome.dns_queries,
        "notes": list(outcome.notes),
        "time_scale": outcome.time_scale,
        "real_duration_s": round(outcome.real_duration_s, 3),
        "error_rate": round(len(errors) / len(results), 4) if results else 0.0,
        "errors_by_status": dict(sorted(Counter(str(r.status) for r in errors).items())),
        "fault_region": outcome.fault_region,
        "fault_time_s": _relative(outcome.fault_time, outcome.origin),
        "fault_end_s": _relative(outcome.fault_end, outcome.origin),
        "shift_target_s": outcome.shift_target_s,
        "latency_ms": {
            "p50": _percentile(latencies, 0.5),
            "p99": _percentile(latencies, 0.99),
            "max": round(latencies[-1], 1) if latencies else None,
        },
        "phases": [_phase_row(p, results, outcome.records, outcome.origin) for p in outcome.phases],
        "events": [
            {"t": round(t - outcome.origin, 3), "event": text} for t, text in outcome.events
        ],
    }
    report.update(outcome.extra)
    return report


def served_region(result: ViewerResult, records: dict[str, EdgeRecord]) -> str:
    """The region that answered: the function's header, else where the edge connected."""
    if result.region:
        return result.region
    record = records.get(result.request_id)
    return (record.served_region if record else None) or "none"


def _relative(value: float | None, origin: float) -> float | None:
    return None if value is None else round(value - origin, 3)


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _phase_row(
    phase: Phase, results: list[ViewerResult], records: dict[str, EdgeRecord], origin: float
) -> dict[str, Any]:
    inside = [r for r in results if phase.start <= r.lab_time < phase.end]
    firsts = Counter(
        records[r.request_id].first_region or "none" for r in inside if r.request_id in records
    )
    return {
        "phase": phase.name,
        "from_s": round(phase.start - origin, 1),
        "to_s": None if math.isinf(phase.end) else round(phase.end - origin, 1),
        "requests": len(inside),
        "errors": sum(1 for r in inside if not 200 <= r.status < 300),
        "failovers": sum(
            1 for r in inside if r.request_id in records and records[r.request_id].failover
        ),
        "served_by": dict(sorted(Counter(served_region(r, records) for r in inside).items())),
        "first_attempts": dict(sorted(firsts.items())),
    }


def format_table(report: dict[str, Any]) -> str:
    """A fixed-width table: one row per phase, then the totals and the verdict lines."""
    regions = sorted({region for row in report["phases"] for region in row["served_by"]})
    head = ["phase", "lab s", "requests", "errors", "failovers"] + [f"by {r}" for r in regions]
    rows = [head]
    for row in report["phases"]:
        span = f"{row['from_s']:.0f}-" + ("end" if row["to_s"] is None else f"{row['to_s']:.0f}")
        rows.append(
            [row["phase"], span, str(row["requests"]), str(row["errors"]), str(row["failovers"])]
            + [str(row["served_by"].get(region, 0)) for region in regions]
        )
    rows.append(
        [
            "total",
            f"{report['duration_s']:.0f}",
            str(report["requests"]),
            str(report["viewer_errors"]),
            str(report["failovers"]),
        ]
        + [str(report["by_region"].get(region, 0)) for region in regions]
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)) for r in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.insert(len(lines) - 1, lines[1])
    shift = report["shift_s"]
    target = report["shift_target_s"]
    lines.append("")
    lines.append(
        f"scenario        {report['scenario']} (time scale x{report['time_scale']:g}, "
        f"{report['real_duration_s']:.1f} real s)"
    )
    lines.append(
        f"viewer errors   {report['viewer_errors']} of {report['requests']} "
        f"({100 * report['error_rate']:.1f} %)"
    )
    if shift is not None:
        budget = f" (target <= {target:g})" if target is not None else ""
        lines.append(f"shift_s         {shift:.1f} lab s{budget}")
    lines.append(f"dns queries     {report['dns_queries']}")
    latency = report["latency_ms"]
    lines.append(f"latency         p50 {latency['p50']} ms, p99 {latency['p99']} ms (real)")
    for note in report["notes"]:
        lines.append(f"note            {note}")
    return "\n".join(lines)
