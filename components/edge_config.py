"""Render ``edge_config.json``, the topology baked into the edge function's archive.

This is a pure function of plain values so the component (at deploy time, inside an
``apply``) and the local lab (when it points the function at its own DNS server)
produce byte-identical documents. The schema is the contract in docs/ARCHITECTURE.md section 3.1.
Weights are deliberately absent: they live in the DNS routing table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .locality import locality_section

EDGE_CONFIG_VERSION = 1
FAILOVER_HEADER = "x-asset-failover"
REGION_HEADER = "x-asset-region"
DEFAULT_LOOKUP_TIMEOUT_MS = 300
DEFAULT_MIN_TTL_S = 1
DEFAULT_MAX_TTL_S = 60
DEFAULT_ROUTING_MODE = "weighted"
DEFAULT_TAU_MS = 20


def render_edge_config(
    *,
    primary_region: str,
    region_domains: Mapping[str, str],
    routing_record: str,
    nameservers: Sequence[str],
    replication: str,
    auth: str = "oai",
    timeout_ms: int = DEFAULT_LOOKUP_TIMEOUT_MS,
    min_ttl_s: int = DEFAULT_MIN_TTL_S,
    max_ttl_s: int = DEFAULT_MAX_TTL_S,
    failover_header: str = FAILOVER_HEADER,
    region_header: str = REGION_HEADER,
    locality: Mapping[str, object] | None = None,
) -> str:
    """Return the edge configuration document as deterministic JSON text.

    ``region_domains`` maps each region to its data bucket's *regional* domain
    (``<bucket>.s3.<region>.amazonaws.com``); ``nameservers`` are the routing zone's
    own name servers (``host`` or ``host:port``), queried directly by the function.
    ``locality`` is the latency-routing section (:func:`asset_delivery.locality.
    locality_section`); by default weighted routing, rows included all the same.
    """
    if primary_region not in region_domains:
        raise ValueError(
            f"primary_region {primary_region!r} is not one of the regions {sorted(region_domains)}"
        )
    if not nameservers:
        raise ValueError("nameservers must name at least one name server")
    document = {
        "version": EDGE_CONFIG_VERSION,
        "primary_region": primary_region,
        "regions": {region: {"domain": domain} for region, domain in region_domains.items()},
        "routing": {
            "record": routing_record.rstrip("."),
            "nameservers": [ns.rstrip(".") for ns in nameservers],
            "timeout_ms": timeout_ms,
            "min_ttl_s": min_ttl_s,
            "max_ttl_s": max_ttl_s,
        },
        "replication": replication,
        "auth": auth,
        "failover_header": failover_header,
        "region_header": region_header,
        "locality": dict(
            locality or locality_section(DEFAULT_ROUTING_MODE, DEFAULT_TAU_MS, region_domains)
        ),
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
