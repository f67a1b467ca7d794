"""``status``: is every region healthy, in the routing table, weighted and caught up?

Per region: Route 53's health-check verdict (GetHealthCheckStatus: healthy when more
than 18 % of the checkers' latest observations succeed, Route 53's own rule); whether
the region is in the routing table as the function sees it, and its weight there;
the replication backlog, counted as the keys the region lacks or holds in another
version than the primary (listings compared, up to ``max_keys`` keys; null when
unknown). Then the distribution's deployment state and function version.

Verdict: ``healthy`` when every region serves (healthy, in the table, weight above
0) and the distribution is enabled and deployed; ``down`` when no region serves or
the distribution is disabled or unreachable; ``degraded`` otherwise (a region
unhealthy, drained or out of the table, the routing table unreadable, a deployment
in progress).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .cdn import distribution_state
from .objects import describe_error, is_reserved, list_etags
from .routing_table import RoutingLookupError, read_routing_table
from .stack import Target

HEALTHY_FRACTION = 0.18  # Route 53: healthy when > 18 % of checkers report healthy
DEFAULT_MAX_KEYS = 10_000
EXIT_BY_VERDICT = {"healthy": 0, "degraded": 1, "down": 2}


def health_verdict(observations: list[dict[str, Any]]) -> bool | None:
    """Route 53's rule over the checkers' latest reports; None without any."""
    if not observations:
        return None
    passing = sum(
        1
        for item in observations
        if str(item.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    return passing / len(observations) > HEALTHY_FRACTION


def replication_backlog(primary: dict[str, str], replica: dict[str, str]) -> int:
    """Keys of the primary (not the product's own) that the replica lacks or holds differently."""
    return sum(
        1 for key, etag in primary.items() if not is_reserved(key) and replica.get(key) != etag
    )


def region_serves(entry: dict[str, Any]) -> bool:
    """A region takes first attempts: not known unhealthy, not known out of the table,
    weight above 0 (unknowns, such as an unreadable table, do not count against it)."""
    return entry["healthy"] is not False and entry["in_table"] is not False and entry["weight"] > 0


def overall_verdict(regions: dict[str, dict[str, Any]], distribution: dict[str, Any]) -> str:
    """``healthy``, ``degraded`` or ``down`` (rules in the module docstring)."""
    serving = [region for region, entry in regions.items() if region_serves(entry)]
    if not serving or distribution.get("enabled") is False or distribution.get("error"):
        return "down"
    if len(serving) == len(regions) and distribution.get("status") == "Deployed":
        return "healthy"
    return "degraded"


def status(target: Target, *, max_keys: int = DEFAULT_MAX_KEYS) -> tuple[dict[str, Any], int]:
    """Collect everything ``status`` reports; returns the JSON summary and the exit code."""
    outputs = target.outputs
    regions = outputs.regions
    notes: list[str] = []

    def check(region: str) -> bool | None:
        check_id = outputs.health_check_ids.get(region)
        if check_id is None:
            return None
        try:
            answer = target.route53().get_health_check_status(HealthCheckId=check_id)
        except Exception as error:
            notes.append(f"{region}: health check {check_id}: {describe_error(error)}")
            return None
        return health_verdict(answer.get("HealthCheckObservations", []))

    def listing(region: str) -> dict[str, str] | None:
        try:
            found = list_etags(target.s3(region), target.bucket(region))
        except Exception as error:
            notes.append(f"{region}: listing the bucket failed: {describe_error(error)}")
            return None
        return found if len(found) <= max_keys else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        health = dict(zip(regions, pool.map(check, regions), strict=True))
        listings = dict(zip(regions, pool.map(listing, regions), strict=True))
    try:
        table = read_routing_table(
            outputs.routing_record_name, outputs.routing_name_servers, regions
        ).weights
    except RoutingLookupError as error:
        table = None
        notes.append(f"routing table unreadable: {error}")

    primary_listing = listings[outputs.primary_region]
    report: dict[str, dict[str, Any]] = {}
    for region in regions:
        pending: int | None = None
        if region == outputs.primary_region:
            pending = 0 if primary_listing is not None else None
        elif primary_listing is not None and listings[region] is not None:
            pending = replication_backlog(primary_listing, listings[region])
        in_table = None if table is None else region in table
        weight = table[region] if table and region in table else outputs.region_weights.get(region)
        report[region] = {
            "healthy": health[region],
            "in_table": in_table,
            "weight": weight if weight is not None else 0,
            "replication_pending": pending,
        }
    try:
        distribution = distribution_state(target.cloudfront(), outputs.distribution_id)
    except Exception as error:
        distribution = {"status": None, "function_version": None, "error": describe_error(error)}
    verdict = overall_verdict(report, distribution)
    if table is None and verdict == "healthy":
        verdict = "degraded"
    result = {
        "regions": report,
        "distribution": distribution,
        "verdict": verdict,
        "notes": sorted(notes),
    }
    return result, EXIT_BY_VERDICT[verdict]
