"""Drill figures: whole bins, one colour per region, the report's story on one axis."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from asset_delivery.lab.edge import Attempt, EdgeRecord
from asset_delivery.lab.load import ViewerResult
from asset_delivery.lab.plots import (
    ERROR_COLOUR,
    HEALTHY_COLOUR,
    drill_series,
    headline,
    make_bins,
    plot_all,
    plot_drill,
    region_colours,
)
from asset_delivery.lab.report import DrillOutcome, Phase, build_report
from asset_delivery.lab.stack import declared_stack

STACK = declared_stack({"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20})
PNG = b"\x89PNG\r\n\x1a\n"


def outage_outcome(end: float = 60.3, rate: float = 10.0) -> DrillOutcome:
    """A synthetic region outage: us-east-1 dies at 20 s, failovers until 30 s, one 502."""
    results, records = [], {}
    count = int(end * rate)
    for index in range(count):
        t = index / rate
        first = ("us-east-1", "eu-west-1", "ap-southeast-2")[index % 3]
        if 20 <= t < 40 and first == "us-east-1":
            first = "eu-west-1" if t >= 30 else "us-east-1"
        failover = 20 <= t < 30 and first == "us-east-1"
        served = "eu-west-1" if failover else first
        status = 502 if index == 250 else 200
        request_id = f"r{index}"
        attempts = [Attempt("routed", first, t, 0 if failover else 200)]
        if failover:
            attempts.append(Attempt("failover", "eu-west-1", t, 200))
        records[request_id] = EdgeRecord(
            request_id, t, "GET", "/k", status, served, attempts=attempts
        )
        results.append(ViewerResult(t, "k", status, served, request_id, 5.0 + (index % 7)))
    return DrillOutcome(
        scenario="region-outage",
        time_scale=10.0,
        results=results,
        records=records,
        phases=[
            Phase("before", 0.0, 20.0),
            Phase("us-east-1 down", 20.0, 40.0),
            Phase("us-east-1 back", 40.0, end),
        ],
        events=[(20.0, "us-east-1 down"), (40.0, "us-east-1 back")],
        fault_region="us-east-1",
        fault_time=20.0,
        fault_end=40.0,
        shift_target_s=40.0,
        extra={
            "health_at_start": dict.fromkeys(STACK.regions, True),
            "health_events": [
                {"t": 28.0, "region": "us-east-1", "healthy": False},
                {"t": 45.0, "region": "us-east-1", "healthy": True},
            ],
            "routing_table": [
                {"t": 0.0, "table": {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20}},
                {"t": 28.0, "table": {"eu-west-1": 30, "ap-southeast-2": 20}},
                {"t": 45.0, "table": {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20}},
            ],
        },
    )


def test_bins_are_whole_and_a_short_tail_is_dropped() -> None:
    bins = make_bins(59.3, requests=6000)
    assert bins.width == 1.0
    assert len(bins.starts) == 59  # 0.3 s left over: dropped, not drawn as a dip
    assert set(bins.spans) == {1.0}
    tail = make_bins(59.7, requests=6000)
    assert len(tail.starts) == 60 and tail.spans[-1] == pytest.approx(0.7)


def test_bins_hold_enough_requests_for_a_share() -> None:
    assert make_bins(50.0, requests=200).width == 5.0  # 200 requests: about 12 per bin
    assert make_bins(50.0, requests=100_000).width == 1.0  # never more than 60 bins


def test_series_end_at_full_height_with_a_partial_last_bin() -> None:
    outcome = outage_outcome(end=59.8, rate=10.0)  # 598 requests: bins of 2 s
    series = drill_series(outcome, list(STACK.regions))
    for index in range(len(series.bins.starts)):
        total = sum(share[index] for share in series.share.values()) + series.error_share[index]
        assert total == pytest.approx(100.0)
    # The last bin covers 1.8 s: its rates are per lab second of what it covers.
    assert series.bins.width == 2.0 and series.bins.spans[-1] == pytest.approx(1.8)
    assert not any(math.isnan(v) for v in series.p50)


def test_series_show_the_outage() -> None:
    series = drill_series(outage_outcome(), list(STACK.regions))
    slot = series.bins.index(35.0)
    assert slot is not None
    assert series.share["us-east-1"][slot] == 0.0
    assert series.failovers_per_s[series.bins.index(25.0)] > 0
    assert max(series.error_share) > 0


def test_one_fixed_colour_per_region() -> None:
    colours = region_colours(STACK)
    again = region_colours(declared_stack({"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20}))
    assert colours == again
    picked = [colours[r] for r in STACK.regions]
    assert len(set(picked)) == len(picked)
    assert ERROR_COLOUR not in picked and HEALTHY_COLOUR not in picked


def test_headline_has_units() -> None:
    report = build_report(outage_outcome())
    report["shift_s"] = 33.257
    title = headline(report)
    assert "shift 33 s (target <= 40 s)" in title
    assert "1 viewer errors" in title and "shift_s=" not in title


def test_figures_are_written(tmp_path: Path) -> None:
    outcome = outage_outcome()
    report = build_report(outcome)
    plot_drill(report, outcome, tmp_path / "outage.png", STACK)
    plot_all([(report, outcome), (report, outcome)], tmp_path / "all.png", STACK)
    assert (tmp_path / "outage.png").read_bytes()[:8] == PNG
    assert (tmp_path / "all.png").read_bytes()[:8] == PNG
