"""A hand-built ``LabStack`` shaped like the one the component declares.

Tests use it to run the lab with any region set, weights or timings without going
through the Pulumi program, and the CLI falls back to it while ``lab/stack.py`` is
not importable. The values mirror the component's defaults (``components/``): two
origins in one origin group, failover on 403/404/5xx, the marker header on the
failover origin, the probe object and its match string, a 10 s routing TTL.
The function archive is real: the repository's ``edge_handler`` plus a rendered
``edge_config.json``, zipped exactly as the component does.
"""

from __future__ import annotations

from collections.abc import Mapping

from components.edge_config import FAILOVER_HEADER, render_edge_config
from components.edge_package import HANDLER, edge_archive_contents, zip_archive
from lab.model import (
    DistributionSpec,
    FunctionSpec,
    HealthCheckSpec,
    LabStack,
    OriginGroupSpec,
    OriginSpec,
    RegionSpec,
    ReplicationRule,
    RoutingSpec,
)

PROBE_KEY = "_health/probe"
PROBE_BODY = "asset-delivery health probe: ok\n"
PROBE_MATCH = "asset-delivery health probe: ok"
FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
ERROR_CACHING_TTL_S = {403: 5, 404: 5, 500: 0, 502: 0, 503: 0, 504: 0}
NAMESERVERS = ("ns-101.awsdns-12.com", "ns-2002.awsdns-58.co.uk")


def sample_stack(
    regions: Mapping[str, int] | None = None,
    *,
    primary_region: str | None = None,
    replication_mode: str = "from-primary",
    health_interval_s: int = 10,
    failure_threshold: int = 3,
    health_checks: bool = True,
    routing_ttl_s: int = 10,
    connection_timeout_s: int = 3,
    connection_attempts: int = 1,
    with_function: bool = True,
    stack: str = "sample",
) -> LabStack:
    """Build a stack from plain values; ``regions`` maps region to weight, in order."""
    weights = dict(regions or {"us-east-1": 50, "eu-west-1": 50})
    if len(weights) < 2:
        raise ValueError(f"regions must name at least two regions, got {sorted(weights)}")
    primary = primary_region or next(iter(weights))
    if primary not in weights:
        raise ValueError(f"primary_region {primary!r} is not one of {sorted(weights)}")
    zone = f"assets-{stack}.asset-routing.internal"
    record = f"_routes.assets.{zone}"

    specs: dict[str, RegionSpec] = {}
    for region, weight in weights.items():
        bucket = f"assets-{stack}-{region}-data"
        domain = f"{bucket}.s3.{region}.amazonaws.com"
        check = (
            HealthCheckSpec(
                region=region,
                fqdn=domain,
                resource_path=f"/{PROBE_KEY}",
                search_string=PROBE_MATCH,
                request_interval_s=health_interval_s,
                failure_threshold=failure_threshold,
            )
            if health_checks
            else None
        )
        specs[region] = RegionSpec(
            region=region,
            bucket=bucket,
            domain=domain,
            weight=weight,
            record_value=f"v=1 region={region} weight={weight}",
            health_check=check,
        )

    others = [r for r in weights if r != primary]
    if replication_mode == "from-primary":
        pairs = [(primary, other) for other in others]
    elif replication_mode == "bidirectional":
        pairs = [(a, b) for a in weights for b in weights if a != b]
    else:
        raise ValueError(
            f"replication_mode {replication_mode!r} is not 'from-primary' or 'bidirectional'"
        )
    rules = tuple(
        ReplicationRule(
            rule_id=f"{src}-to-{dst}",
            source_region=src,
            source_bucket=specs[src].bucket,
            destination_region=dst,
            destination_bucket=specs[dst].bucket,
            prefix="",
            delete_markers=True,
        )
        for src, dst in pairs
    )

    qualified_arn = f"arn:aws:lambda:us-east-1:123456789012:function:assets-{stack}-edge:1"
    function = None
    associations: dict[str, str] = {}
    if with_function:
        config_json = render_edge_config(
            primary_region=primary,
            region_domains={r: s.domain for r, s in specs.items()},
            routing_record=record,
            nameservers=NAMESERVERS,
            replication=replication_mode,
        )
        function = FunctionSpec(
            name=f"assets-{stack}-edge",
            handler=HANDLER,
            runtime="python3.13",
            timeout_s=5,
            memory_mb=128,
            archive_zip=zip_archive(edge_archive_contents(config_json)),
            qualified_arn=qualified_arn,
        )
        associations = {"origin-request": qualified_arn, "origin-response": qualified_arn}

    origins = {
        "routed": OriginSpec(
            origin_id="routed",
            domain=specs[primary].domain,
            custom_headers={},
            connection_timeout_s=connection_timeout_s,
            connection_attempts=connection_attempts,
        ),
        "failover": OriginSpec(
            origin_id="failover",
            domain=specs[others[0]].domain,
            custom_headers={FAILOVER_HEADER: "1"},
            connection_timeout_s=3,
            connection_attempts=1,
        ),
    }
    distribution = DistributionSpec(
        distribution_id="E2LABSAMPLE0001",
        domain_name="d111111abcdef8.cloudfront.net",
        origins=origins,
        origin_group=OriginGroupSpec(
            group_id="routed-group",
            primary_origin_id="routed",
            failover_origin_id="failover",
            status_codes=FAILOVER_STATUS_CODES,
        ),
        target_origin_id="routed-group",
        allowed_methods=("GET", "HEAD", "OPTIONS"),
        function_associations=associations,
        error_caching_ttl_s=dict(ERROR_CACHING_TTL_S),
        viewer_protocol_policy="redirect-to-https",
    )
    return LabStack(
        stack=stack,
        primary_region=primary,
        replication_mode=replication_mode,
        regions=specs,
        routing=RoutingSpec(
            zone_name=zone, record_name=record, ttl_s=routing_ttl_s, nameservers=NAMESERVERS
        ),
        replication=rules,
        distribution=distribution,
        function=function,
        probe_key=PROBE_KEY,
        probe_body=PROBE_BODY,
    )
