"""Round trips between AWS regions, baked into the edge function for latency routing.

In ``routingMode: latency`` the function, running in region ``e``, weighs each region
``r`` of the routing table by ``exp(-rtt(e, r) / tau_ms)`` (docs/ARCHITECTURE.md,
"Locality"). It has no way to measure ``rtt`` itself, so the component bakes one row
per region where Lambda@Edge may run into ``edge_config.json``:
``{"<execution region>": {"<topology region>": ms}}``.

The numbers are the one-year medians in ``data/aws-inter-region-rtt-p50-ms.json``
(source and attribution in ``data/README.md``). A pair the table lacks (a region
newer than the snapshot) is estimated: the great-circle distance there and back at
two thirds of the speed of light (light in fibre), times :func:`fibre_path_factor`,
the median ratio of measured to that ideal over every pair the table has: real
routes are longer than great circles and routers add delay.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

RTT_DATA = "aws-inter-region-rtt-p50-ms.json"

# Lambda@Edge runs origin-facing functions in the AWS region of the regional edge
# cache (REC) that serves the edge location: these 13 regions host CloudFront's RECs.
EDGE_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
    "eu-central-1", "eu-west-1", "eu-west-2",
    "sa-east-1",
)  # fmt: skip

# Approximate location (latitude, longitude) of each region's metro area.
REGION_COORDINATES: dict[str, tuple[float, float]] = {
    "us-east-1": (39.04, -77.49), "us-east-2": (39.96, -83.00),
    "us-west-1": (37.34, -121.89), "us-west-2": (45.84, -119.70),
    "af-south-1": (-33.92, 18.42),
    "ap-east-1": (22.32, 114.17), "ap-east-2": (25.03, 121.56),
    "ap-south-1": (19.08, 72.88), "ap-south-2": (17.39, 78.49),
    "ap-northeast-1": (35.68, 139.69), "ap-northeast-2": (37.57, 126.98),
    "ap-northeast-3": (34.69, 135.50),
    "ap-southeast-1": (1.35, 103.82), "ap-southeast-2": (-33.87, 151.21),
    "ap-southeast-3": (-6.21, 106.85), "ap-southeast-4": (-37.81, 144.96),
    "ap-southeast-5": (3.14, 101.69), "ap-southeast-6": (-36.85, 174.76),
    "ap-southeast-7": (13.76, 100.50),
    "ca-central-1": (45.50, -73.57), "ca-west-1": (51.05, -114.07),
    "eu-central-1": (50.11, 8.68), "eu-central-2": (47.38, 8.54),
    "eu-west-1": (53.35, -6.26), "eu-west-2": (51.51, -0.13), "eu-west-3": (48.86, 2.35),
    "eu-north-1": (59.33, 18.07), "eu-south-1": (45.46, 9.19), "eu-south-2": (41.65, -0.88),
    "il-central-1": (32.09, 34.78), "me-central-1": (25.20, 55.27),
    "me-south-1": (26.07, 50.56), "mx-central-1": (20.59, -100.39),
    "sa-east-1": (-23.55, -46.63),
}  # fmt: skip

EARTH_RADIUS_KM = 6371.0
FIBRE_KM_PER_MS = 299_792.458 * 2 / 3 / 1000  # two thirds of c
MIN_PAIR_KM = 500.0  # nearer pairs are dominated by fixed delays, not distance


@cache
def measured_rtt() -> dict[str, dict[str, float]]:
    """The shipped table: ``{from: {to: median ms}}``."""
    text = resources.files("asset_delivery").joinpath("data", RTT_DATA).read_text("utf-8")
    return json.loads(text)["data"]


def great_circle_km(a: str, b: str) -> float:
    """Distance between two regions' metro areas (haversine)."""
    (lat1, lon1), (lat2, lon2) = REGION_COORDINATES[a], REGION_COORDINATES[b]
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def ideal_rtt_ms(a: str, b: str) -> float:
    """There and back along the great circle at two thirds of c."""
    return 2 * great_circle_km(a, b) / FIBRE_KM_PER_MS


@cache
def fibre_path_factor() -> float:
    """Median of measured / ideal round trip over the table's pairs at least 500 km apart."""
    ratios = [
        ms / ideal_rtt_ms(a, b)
        for a, row in measured_rtt().items()
        for b, ms in row.items()
        if a in REGION_COORDINATES
        and b in REGION_COORDINATES
        and great_circle_km(a, b) >= MIN_PAIR_KM
    ]
    return statistics.median(ratios)


@cache
def _same_region_ms() -> float:
    """Median round trip within one region, for a region the table does not list."""
    return statistics.median(row[a] for a, row in measured_rtt().items() if a in row)


def rtt_ms(a: str, b: str) -> float:
    """Median round trip between two regions: measured when known, else estimated."""
    table = measured_rtt()
    if b in table.get(a, {}):
        return table[a][b]
    if a in table.get(b, {}):
        return table[b][a]
    if a == b:
        return _same_region_ms()
    return ideal_rtt_ms(a, b) * fibre_path_factor()


def rtt_rows(
    topology_regions: Iterable[str], edge_regions: Iterable[str] = EDGE_REGIONS
) -> dict[str, dict[str, float]]:
    """``{execution region: {topology region: ms}}`` for ``edge_config.json``."""
    topology = list(topology_regions)
    return {e: {r: round(rtt_ms(e, r), 1) for r in topology} for e in edge_regions}


def locality_section(mode: str, tau_ms: float, topology_regions: Iterable[str]) -> dict:
    """The ``locality`` object of ``edge_config.json`` (docs/ARCHITECTURE.md 3.1, 7.3)."""
    return {"mode": mode, "tau_ms": tau_ms, "rtt_ms": rtt_rows(topology_regions)}


def nearest_region(edge_region: str, candidates: Mapping[str, object]) -> str:
    """The candidate with the smallest round trip from ``edge_region`` (name breaks ties)."""
    return min(candidates, key=lambda region: (rtt_ms(edge_region, region), region))
