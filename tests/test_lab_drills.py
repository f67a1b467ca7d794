"""End-to-end: the drills in short form against the stack the Pulumi program declares,
checked against the issue's targets; the demo; the CLI; no process left behind."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from asset_delivery.lab.commands import obtain_stack, run_demo, run_up
from asset_delivery.lab.drills import DrillOptions, drill
from asset_delivery.lab.report import build_report
from asset_delivery.lab.targets import target_failures

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TIME_SCALE = 20.0


@pytest.fixture(scope="module")
def stack():
    return obtain_stack("prod")


@pytest.fixture(scope="module")
def signed_stack():
    """The same stack with ``originAuth: sigv4``: the function signs, no OAI."""
    return obtain_stack("prod", origin_auth="sigv4")


@pytest.fixture(params=["oai", "sigv4"])
def mode_stack(request: pytest.FixtureRequest, stack, signed_stack):
    return stack if request.param == "oai" else signed_stack


def children() -> set[int]:
    """Live child processes of this test process (Linux /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(entry))
    return found


def run_short(stack, scenario: str) -> dict:
    before = children()
    # The shift budget is in lab time, where scheduling jitter counts x time scale:
    # the outage drill runs slower so a loaded machine does not eat its margin.
    scale = TIME_SCALE / 2 if scenario == "region-outage" else TIME_SCALE
    outcome = drill(stack, scenario, DrillOptions(short=True, progress=None), time_scale=scale)
    assert children() <= before, "the lab left processes behind"
    report = build_report(outcome)
    for key in (
        "scenario",
        "duration_s",
        "requests",
        "viewer_errors",
        "failovers",
        "by_region",
        "shift_s",
        "dns_queries",
        "notes",
    ):
        assert key in report
    return report


@pytest.mark.parametrize(
    "scenario", ["region-outage", "replication-lag", "dns-outage", "drain", "function-crash"]
)
def test_drill_meets_its_targets(mode_stack, scenario: str) -> None:
    """Same targets whichever way the origin requests are authenticated."""
    stack = mode_stack
    report = run_short(stack, scenario)
    assert report["requests"] > 50
    assert target_failures(report) == [], json.dumps(report, indent=1)[:4000]
    assert report["viewer_errors"] == 0
    if scenario == "region-outage":
        check = next(iter(stack.regions.values())).health_check
        budget = check.request_interval_s * check.failure_threshold + stack.routing.ttl_s
        assert report["shift_target_s"] == budget
        assert report["shift_s"] is not None and report["shift_s"] <= budget
        down = next(p for p in report["phases"] if p["phase"].endswith("down"))
        assert down["failovers"] > 0  # the dead region was tried before DNS caught up
        assert report["health_events"][0]["healthy"] is False
    if scenario == "replication-lag":
        assert report["failovers"] > 0  # replicas answered 403 before the copy arrived
    if scenario == "drain":
        assert report["shift_s"] is not None and report["shift_s"] <= stack.routing.ttl_s
    if scenario == "function-crash":
        assert report["fell_open"] > 0


def test_locality_drill_splits_per_edge_region_as_the_function_ranks() -> None:
    """Containers run in us-east-1, eu-central-1 and ap-northeast-1 (AWS_REGION); in
    latency mode each sends its misses mostly to its nearest region."""
    stack = obtain_stack("prod", routing_mode="latency")
    outcome = drill(
        stack,
        "locality",
        DrillOptions(short=True, progress=None),
        time_scale=TIME_SCALE,
        edge_regions=["us-east-1", "eu-central-1", "ap-northeast-1"],
    )
    report = build_report(outcome)
    assert target_failures(report) == [], json.dumps(report, indent=1)[:4000]
    assert report["locality_mismatches"] == 0
    by_edge = report["locality"]["by_edge_region"]
    assert set(by_edge) == {"us-east-1", "eu-central-1", "ap-northeast-1"}
    assert by_edge["eu-central-1"]["nearest"] == "eu-west-1"
    assert by_edge["us-east-1"]["nearest"] == "us-east-1"
    for edge in by_edge.values():
        assert edge["split"].get(edge["nearest"], 0) > 0.5


def test_no_edge_function_reproduces_the_weighted_dns_failure(stack) -> None:
    weights = {spec.weight for spec in stack.regions.values()}
    assert weights == {50}, "the target is stated for 50/50 weights"
    report = run_short(stack, "no-edge-function")
    assert report["error_rate"] >= 0.40
    assert set(report["errors_by_status"]) == {"404"}  # NoSuchBucket from the wrong region


def test_demo_exits_0(stack) -> None:
    out = io.StringIO()
    assert run_demo(stack, out=out, time_scale=TIME_SCALE) == 0, out.getvalue()
    assert "demo passed" in out.getvalue()
    # The operator's commands ran against the lab and printed their summaries.
    assert "asset-delivery publish ./site --prefix site:" in out.getvalue()
    assert "uploaded 5, unchanged 0, deleted 0, failed 0" in out.getvalue()
    assert "verdict: ok" in out.getvalue()


def test_up_prints_the_edge_and_how_to_upload(stack) -> None:
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    assert run_up(stack, out=out, stop=stop, time_scale=TIME_SCALE) == 0
    text = out.getvalue()
    assert "edge (the distribution): http://127.0.0.1:" in text
    assert "s3 cp" in text and "--endpoint-url http://127.0.0.1:" in text


def test_cli_drill_writes_report_and_timeline(tmp_path: Path) -> None:
    json_out, plot = tmp_path / "drain.json", tmp_path / "drain.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "drill",
            "drain",
            "--short",
            "--time-scale",
            "20",
            "--json-out",
            str(json_out),
            "--plot",
            str(plot),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(json_out.read_text())
    assert report["scenario"] == "drain" and report["targets_met"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Not a terminal: one progress line per phase, no carriage returns.
    assert "\r" not in result.stderr
    # The first phase opens when the load starts: a fraction of a lab second on a busy machine.
    assert re.search(r"^\[drain\] t= *\d+\.\d lab s  phase 'before' begins", result.stderr, re.M)
    assert len(result.stderr.strip().splitlines()) == len(report["phases"]) + 1
    assert "viewer errors" in result.stdout
