"""Smoke test: the operator benchmark runs against a lab and reports every key (timings
are not asserted; the request count and outcomes are what its verdict checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_ops_bench_reports_every_key() -> None:
    child = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "ops_bench.py"),
            "--json",
            "--files",
            "20",
            "--big-mib",
            "9",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = json.loads(child.stdout)
    for key in ("publish_s", "republish_s", "status_s", "verify_s", "backfill_s"):
        assert isinstance(result[key], float)
    assert result["targets_met"] is True, result
    assert child.returncode == 0
