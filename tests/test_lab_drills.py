"""End-to-end: the drills in short form against the stack the Pulumi program declares,
checked against the issue's targets (`drill all`, in both origin-auth modes); the locality
drill; the demo; the edge and the buckets answering as AWS would; no process left
behind. The CLI: tests/test_lab_consumer.py."""

from __future__ import annotations

import io
import json
import os
import threading
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from asset_delivery.lab.commands import obtain_stack, run_all, run_demo, run_up
from asset_delivery.lab.drills import SCENARIOS, DrillOptions, drill
from asset_delivery.lab.lab import Lab
from asset_delivery.lab.report import build_report
from asset_delivery.lab.targets import target_failures

pytestmark = pytest.mark.slow
TIME_SCALE = 20.0


@pytest.fixture(scope="module")
def stack():
    return obtain_stack("prod")


@pytest.fixture(scope="module")
def signed_stack():
    """The same stack with ``originAuth: sigv4``: the function signs, no OAI."""
    return obtain_stack("prod", origin_auth="sigv4")


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


REPORT_KEYS = (
    "scenario",
    "duration_s",
    "requests",
    "viewer_errors",
    "failovers",
    "by_region",
    "shift_s",
    "dns_queries",
    "notes",
)


@pytest.fixture(scope="module", params=["oai", "sigv4"])
def all_drills(request, stack, signed_stack, tmp_path_factory) -> tuple[dict, Path, object]:
    """``drill all`` as a user runs it (one report, a figure per drill, a combined one),
    once per origin-auth mode: the same targets whichever way requests are authenticated.

    The shift budget is in lab time, where scheduling jitter counts x time scale, so the
    drills run at half the usual scale; a loaded machine does not eat the margin.
    """
    mode_stack = stack if request.param == "oai" else signed_stack
    out_dir = tmp_path_factory.mktemp(f"all-{request.param}")
    before = children()
    combined, _failures = run_all(
        mode_stack,
        options=DrillOptions(short=True, progress=None),
        json_out=out_dir / "all.json",
        plot_dir=out_dir,
        combined_plot=out_dir / "all.png",
        out=io.StringIO(),
        time_scale=TIME_SCALE / 2,
    )
    assert children() <= before, "the lab left processes behind"
    return combined, out_dir, mode_stack


def run_short(all_drills, scenario: str) -> dict:
    report = all_drills[0]["scenarios"][scenario]
    for key in REPORT_KEYS:
        assert key in report
    return report


def test_drill_all_writes_one_report_and_a_combined_figure(all_drills) -> None:
    combined, out_dir, _stack = all_drills
    written = json.loads((out_dir / "all.json").read_text())
    assert written == json.loads(json.dumps(combined))
    assert list(written["scenarios"]) == list(SCENARIOS)
    assert written["targets_met"] == (written["target_failures"] == [])
    assert written["stack"] == "prod"
    for name in (*SCENARIOS, "all"):
        assert (out_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    outage = written["scenarios"]["region-outage"]
    assert outage["routing_table"][0]["table"] == {"us-east-1": 50, "eu-west-1": 50}
    assert any(entry["table"] == {"eu-west-1": 50} for entry in outage["routing_table"]), (
        "the dead region left the routing table"
    )
    assert written["scenarios"]["dns-outage"]["routing_table"][1]["table"] is None


@pytest.mark.parametrize(
    "scenario", ["region-outage", "replication-lag", "dns-outage", "drain", "function-crash"]
)
def test_drill_meets_its_targets(all_drills, scenario: str) -> None:
    """Same targets whichever way the origin requests are authenticated."""
    report = run_short(all_drills, scenario)
    stack = all_drills[2]
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


def test_no_edge_function_reproduces_the_weighted_dns_failure(stack, all_drills) -> None:
    weights = {spec.weight for spec in stack.regions.values()}
    assert weights == {50}, "the target is stated for 50/50 weights"
    report = run_short(all_drills, "no-edge-function")
    assert report["error_rate"] >= 0.40
    if "oai" in all_drills[2].principal_arns:  # sigv4 without the function: unsigned, 403
        assert set(report["errors_by_status"]) == {"404"}  # NoSuchBucket, the wrong region


def test_demo_exits_0(stack) -> None:
    out = io.StringIO()
    assert run_demo(stack, out=out, time_scale=TIME_SCALE) == 0, out.getvalue()
    text = out.getvalue()
    assert "demo passed" in text
    # The operator's commands ran against the lab and printed their summaries.
    assert "asset-delivery publish ./site --prefix site:" in text
    assert "uploaded 5, unchanged 0, deleted 0, failed 0" in text
    assert "verdict: ok" in text
    # Both regions' versions of one key, each through the edge, by draining the other.
    for region in stack.regions:
        assert (
            f"/hello.txt, every region but {region} drained -> 200 'hello from {region}' "
            f"(x-asset-region: {region})"
        ) in text


def test_edge_and_buckets_answer_as_aws_would(stack) -> None:
    with Lab(stack, time_scale=TIME_SCALE) as lab:
        lab.put_object("page.css", b"body{}", content_type="text/css", cache_control="max-age=60")
        lab.wait_replicated(["page.css"])

        def get(url: str, **headers: str) -> tuple[int, bytes, Message]:
            request = urllib.request.Request(url, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return answer.status, answer.read(), answer.headers
            except urllib.error.HTTPError as error:
                return error.code, error.read(), error.headers

        status, body, _ = get(lab.edge_url + "/")
        assert status == 403 and b"ListBucketResult" not in body  # the OAI may not list
        status, body, headers = get(lab.edge_url + "/page.css")
        assert (status, body) == (200, b"body{}")
        assert headers["Cache-Control"] == "max-age=60" and headers["Content-Type"] == "text/css"
        assert get(lab.edge_url + "/missing.css")[0] == 403
        for region, spec in stack.regions.items():  # anonymous readers of a bucket: denied
            status, body, _ = get(f"{lab.endpoint(region)}/page.css", Host=spec.domain)
            assert status == 403 and b"AccessDenied" in body


def test_up_prints_the_edge_and_how_to_upload(stack) -> None:
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    assert run_up(stack, out=out, stop=stop, time_scale=TIME_SCALE) == 0
    text = out.getvalue()
    assert "edge (the distribution): http://127.0.0.1:" in text
    assert "s3 cp" in text and "--endpoint-url http://127.0.0.1:" in text
