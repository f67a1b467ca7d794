"""The routing table in Route 53: one health-checked TXT record per region.

All records share one name with multivalue-answer routing, so one DNS query returns
every healthy region with its weight (``v=1 region=<r> weight=<w>``). Draining a
region is a change of one record's value, live within the record's TTL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .buckets import PROBE_MATCH, DataBucket, probe_key
from .lookups import ExistingZone
from .tags import REGION_TAG, Tags, merged_tags


def routing_record_value(region: str, weight: int) -> str:
    """The TXT value for one region (the format the edge function parses)."""
    return f"v=1 region={region} weight={weight}"


def routing_record_name(component_name: str, zone_name: str) -> str:
    """``_routes.<component>.<zone>``: unique per component instance within a zone."""
    label = re.sub(r"[^a-z0-9-]+", "-", component_name.lower()).strip("-")[:63] or "assets"
    return f"_routes.{label}.{zone_name.rstrip('.')}"


def default_zone_name(component_name: str, stack: str) -> str:
    """A dedicated zone's name when none is configured (queried directly, no delegation)."""
    label = re.sub(r"[^a-z0-9-]+", "-", f"{component_name}-{stack}".lower()).strip("-")[:63]
    return f"{label}.asset-routing.internal"


@dataclass
class RoutingTable:
    """Typed handles on the zone, the health checks and the records."""

    zone_id: pulumi.Output[str]
    zone_name: pulumi.Output[str]
    name_servers: pulumi.Output[list[str]]
    record_name: pulumi.Output[str]
    zone: aws.route53.Zone | None
    health_checks: dict[str, aws.route53.HealthCheck]
    records: dict[str, aws.route53.Record]


def create_routing_table(
    name: str,
    buckets: Mapping[str, DataBucket],
    weights: Mapping[str, int],
    *,
    existing_zone: ExistingZone | None,
    zone_name: str,
    ttl: int,
    health_checks: bool,
    health_check_interval: int,
    health_check_failure_threshold: int,
    inverted_regions: Sequence[str],
    probes_ready: Mapping[str, list[pulumi.Resource]],
    tags: Tags,
    parent: pulumi.Resource,
) -> RoutingTable:
    """Declare the zone (unless one exists), one health check and one TXT record per region."""
    opts = pulumi.ResourceOptions(parent=parent)
    zone: aws.route53.Zone | None = None
    if existing_zone is None:
        zone = aws.route53.Zone(
            f"{name}-routing-zone",
            name=zone_name,
            comment=f"Routing table of {name}: queried directly by the edge function",
            force_destroy=True,
            tags=tags,
            opts=opts,
        )
        resolved_zone_id: pulumi.Output[str] = zone.zone_id
        resolved_zone_name: pulumi.Output[str] = zone.name
        name_servers: pulumi.Output[list[str]] = zone.name_servers
    else:
        resolved_zone_id = existing_zone.zone_id
        resolved_zone_name = existing_zone.name
        name_servers = existing_zone.name_servers
    record_name = resolved_zone_name.apply(lambda zn: routing_record_name(name, zn))

    checks: dict[str, aws.route53.HealthCheck] = {}
    records: dict[str, aws.route53.Record] = {}
    for region, data_bucket in buckets.items():
        health_check_id: pulumi.Input[str] | None = None
        if health_checks:
            check = aws.route53.HealthCheck(
                f"{name}-{region}-health",
                type="HTTPS_STR_MATCH",
                fqdn=data_bucket.regional_domain,
                port=443,
                enable_sni=True,
                resource_path=f"/{probe_key(region)}",
                search_string=PROBE_MATCH,
                request_interval=health_check_interval,
                failure_threshold=health_check_failure_threshold,
                # Inverted = reported unhealthy while the bucket is fine: an outage
                # rehearsal that touches nothing but this region's routing record.
                invert_healthcheck=region in inverted_regions,
                tags=merged_tags(
                    tags, {"Name": f"{name} {region} data bucket", REGION_TAG: region}
                ),
                # The probe object and the policy that lets the checkers read it must
                # exist first, or a new region starts life unhealthy.
                opts=pulumi.ResourceOptions(parent=parent, depends_on=probes_ready[region]),
            )
            checks[region] = check
            health_check_id = check.id
        records[region] = aws.route53.Record(
            f"{name}-{region}-route",
            zone_id=resolved_zone_id,
            name=record_name,
            type="TXT",
            ttl=ttl,
            records=[routing_record_value(region, weights[region])],
            set_identifier=region,
            multivalue_answer_routing_policy=True,
            health_check_id=health_check_id,
            opts=opts,
        )
    return RoutingTable(
        zone_id=resolved_zone_id,
        zone_name=resolved_zone_name,
        name_servers=name_servers,
        record_name=record_name,
        zone=zone,
        health_checks=checks,
        records=records,
    )
