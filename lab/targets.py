"""The issue's targets for each drill, checked the same way by the CLI and the tests."""

from __future__ import annotations

from typing import Any

ZERO_ERROR_SCENARIOS = (
    "region-outage",
    "replication-lag",
    "dns-outage",
    "drain",
    "function-crash",
    "locality",
)
NO_FUNCTION_MIN_ERROR_RATE = 0.40  # at 50/50 weights


def target_failures(report: dict[str, Any]) -> list[str]:
    """Every target the report misses (empty = all met)."""
    failures: list[str] = []
    scenario = report["scenario"]
    if report["requests"] == 0:
        failures.append("no viewer request completed")
    if scenario in ZERO_ERROR_SCENARIOS and report["viewer_errors"]:
        failures.append(f"{report['viewer_errors']} viewer errors (target 0)")
    shift, target = report.get("shift_s"), report.get("shift_target_s")
    if shift is not None and target is not None and shift > target:
        failures.append(f"shift_s {shift:.1f} exceeds the target {target:g} lab s")
    mismatches = report.get("locality_mismatches")
    if scenario == "locality" and mismatches:
        failures.append(
            f"{mismatches} misses went elsewhere than the function's ranking for their "
            "edge region sends them (target 0)"
        )
    if scenario == "no-edge-function":
        expected = report.get("expected_error_rate", 0.5)
        floor = NO_FUNCTION_MIN_ERROR_RATE if expected >= 0.5 else 0.8 * expected
        if report["error_rate"] < floor:
            failures.append(
                f"error rate {100 * report['error_rate']:.1f} % is below {100 * floor:.0f} %: "
                "the failure the product fixes was not reproduced"
            )
    return failures
