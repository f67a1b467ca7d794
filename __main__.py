"""The asset-delivery Pulumi program: one MultiRegionAssetDelivery per stack.

Stack config (namespace ``asset-delivery``) is validated in full before any
resource is declared; a bad value stops the program with a message naming the key,
the value and what is allowed.
"""

from __future__ import annotations

import json

import pulumi
from asset_delivery import MultiRegionAssetDelivery, MultiRegionAssetDeliveryArgs
from asset_delivery.config import KNOWN_KEYS, ConfigError, parse_config


def read_stack_config() -> dict[str, object]:
    """Every known key of the ``asset-delivery`` namespace that the stack sets."""
    config = pulumi.Config("asset-delivery")
    raw: dict[str, object] = {}
    for key in KNOWN_KEYS:
        text = config.get(key)
        if text is None:
            continue
        try:  # objects, lists, numbers and booleans arrive as JSON text
            raw[key] = json.loads(text)
        except ValueError:
            raw[key] = text
    return raw


def main() -> None:
    raw = read_stack_config()
    try:
        settings = parse_config(raw)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    args: MultiRegionAssetDeliveryArgs = {
        "regions": [{"region": r.region, "weight": r.weight} for r in settings.regions],
        "primary_region": settings.primary_region,
        "replication": settings.replication,
        "replication_time_control": settings.replication_time_control,
        "health_checks": settings.health_checks,
        "health_check_interval": settings.health_check_interval,
        "health_check_failure_threshold": settings.health_check_failure_threshold,
        "routing_ttl": settings.routing_ttl,
        "price_class": settings.price_class,
        "noncurrent_version_days": settings.noncurrent_version_days,
        "origin_connection_timeout": settings.origin_connection_timeout,
        "origin_connection_attempts": settings.origin_connection_attempts,
        "force_destroy": settings.force_destroy,
    }
    optional = {
        "routing_zone_id": settings.routing_zone_id,
        "routing_zone_name": settings.routing_zone_name,
        "certificate_arn": settings.certificate_arn,
        "web_acl_arn": settings.web_acl_arn,
        "domain_names": list(settings.domain_names) or None,
        "rehearse_outage": list(settings.rehearse_outage) or None,
        "tags": settings.tags or None,
    }
    args.update({k: v for k, v in optional.items() if v is not None})  # type: ignore[typeddict-item]
    delivery = MultiRegionAssetDelivery("assets", args)

    pulumi.export("distribution_id", delivery.distribution_id)
    pulumi.export("domain_name", delivery.domain_name)
    pulumi.export("url", delivery.url)
    pulumi.export("bucket_names", delivery.bucket_names)
    pulumi.export("bucket_arns", delivery.bucket_arns)
    pulumi.export("routing_record_name", delivery.routing_record_name)
    pulumi.export("routing_zone_id", delivery.routing_zone_id)
    pulumi.export("routing_name_servers", delivery.routing_name_servers)
    pulumi.export("function_qualified_arn", delivery.function_qualified_arn)
    pulumi.export("primary_region", delivery.primary_region)


main()
