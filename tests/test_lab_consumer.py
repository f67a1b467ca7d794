"""A consumer rehearses an outage of its own stack, exactly as the README tells it to:
its own project (other regions, two components), ``python -m asset_delivery.lab``,
run from a directory outside this repository, output to a log (not a terminal)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from consumer_project import write_consumer_project

pytestmark = pytest.mark.slow


def test_region_outage_drill_on_a_consumer_project(tmp_path: Path) -> None:
    project = write_consumer_project(tmp_path / "shop")
    work = tmp_path / "work"  # outside the repository: nothing of it on the path
    work.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "asset_delivery.lab",
            "drill",
            "region-outage",
            "--project",
            str(project),
            "--stack",
            "staging",
            "--component",
            "media",
            "--short",
            "--time-scale",
            "10",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((work / "lab-out" / "region-outage.json").read_text())
    assert report["fault_region"] == "us-west-2"  # the consumer's primary
    assert report["viewer_errors"] == 0 and report["targets_met"]
    assert set(report["by_region"]) == {"us-west-2", "eu-central-1", "ap-northeast-1"}
    assert report["routing_table"][0]["table"] == {
        "us-west-2": 40,
        "eu-central-1": 30,
        "ap-northeast-1": 30,
    }
    assert (work / "lab-out" / "region-outage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "by ap-northeast-1" in result.stdout and "targets         met" in result.stdout
    # Not a terminal: one progress line per phase and one at the end, no carriage returns.
    assert "\r" not in result.stderr
    # The first phase opens when the load starts: a fraction of a lab second on a busy machine.
    first = r"^\[region-outage\] t= *\d+\.\d lab s  phase 'before' begins"
    assert re.search(first, result.stderr, re.M)
    assert len(result.stderr.strip().splitlines()) == len(report["phases"]) + 1
