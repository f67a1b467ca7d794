"""Smoke test: the edge benchmark runs and reports every key (targets not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_edge_bench_reports_every_key() -> None:
    child = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "edge_bench.py"),
            "--json",
            "--iterations",
            "50",
            "--cold-runs",
            "1",
            "--requests",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    result = json.loads(child.stdout)
    for key in (
        "warm_us",
        "json_roundtrip_us",
        "ratio",
        "warm_us_sigv4",
        "ratio_sigv4",
        "cold_init_ms",
        "first_request_ms",
        "cold_total_ms",
        "cold_total_cpu_ms",
        "cold_estimate_ms",
        "cold_total_cpu_ms_bytecode",
        "cold_estimate_ms_bytecode",
        "package_kb",
        "package_kb_bytecode",
        "lookups_per_10k",
        "targets",
        "verdicts",
        "verdict",
    ):
        assert key in result, key
    assert result["cold_checks_ok"] is True
    assert result["lookups_per_10k"] == 1  # 100 requests within one TTL: one query
    assert set(result["verdicts"]) == {
        "ratio",
        "ratio_sigv4",
        "cold_init_ms",
        "cold_total_cpu_ms",
        "cold_total_cpu_ms_bytecode",
        "package_kb",
        "lookups_per_10k",
    }
    # The function imports nothing from the archive but itself (standard library only).
    assert result["packages_from_archive"] == ["edge_handler"]
    assert result["cold_estimate_ms"] == result["cold_total_cpu_ms"] * 1769 / 128
    # The bytecode archive's children compile none of the function's modules; the
    # source-only archive's children compile every one of them.
    assert result["modules_compiled"] == 0
    assert result["modules_from_bytecode"] == result["modules_compiled_source_only"] > 0


def test_edge_bench_refuses_a_memory_size_lambda_does_not_offer() -> None:
    child = subprocess.run(
        [sys.executable, str(REPO / "bench" / "edge_bench.py"), "--memory-mb", "64"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 2
    assert child.stderr.strip().splitlines() == [
        "edge_bench: --memory-mb 64 is not allowed: a whole number from 128 to 3008"
    ]
