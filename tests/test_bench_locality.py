"""Smoke tests: bench/locality.py runs, prints the documented JSON, and refuses bad input
with one line (its targets are the bench's verdict, not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "locality.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=180
    )


def test_json_has_exactly_the_documented_shape_and_a_drained_region_gets_nothing() -> None:
    child = run(
        "--regions", "us-east-1:50,eu-west-1:0,ap-southeast-1:20", "--uris", "200", "--json"
    )
    assert child.returncode in (0, 1), child.stderr
    result = json.loads(child.stdout)
    assert list(result) == ["modes"]
    assert list(result["modes"]) == ["weighted", "latency", "nearest"]
    for figures in result["modes"].values():
        assert set(figures) == {"mean_rtt_ms", "p95_rtt_ms", "share"}
        assert set(figures["share"]) == {"us-east-1", "eu-west-1", "ap-southeast-1"}
        assert abs(sum(figures["share"].values()) - 1) < 1e-3
        assert figures["share"]["eu-west-1"] == 0
        assert 0 < figures["mean_rtt_ms"] <= figures["p95_rtt_ms"]
    assert "verdict:" in child.stderr  # the verdict is for people: stderr beside --json


def test_a_mix_of_one_edge_region_sends_nothing_far_in_nearest_mode() -> None:
    child = run("--regions", "us-east-1:50,eu-west-1:50", "--mix", "eu-west-2:1", "--json")
    nearest = json.loads(child.stdout)["modes"]["nearest"]
    assert nearest["share"] == {"us-east-1": 0.0, "eu-west-1": 1.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regions", "us-east-1:50"], "from 2 to 8 regions"),
        (["--regions", "us-east-1:50,eu-west-1:x"], "is not <region>:<whole number>"),
        (["--regions", "us-east-1:50,mars-1:3"], "an AWS region code"),
        (["--regions", "us-east-1:0,eu-west-1:0"], "at least one weight above 0"),
        (["--regions", "us-east-1:5,eu-west-1:5", "--mix", "eu-north-1:1"], "Lambda@Edge runs"),
        (["--regions", "us-east-1:5,eu-west-1:5", "--tau-ms", "0"], "--tau-ms 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    child = run(*args)
    assert child.returncode == 2
    [line] = child.stderr.strip().splitlines()
    assert line.startswith("locality: ") and message in line
    assert child.stdout == ""
