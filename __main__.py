"""The asset-delivery Pulumi program: one MultiRegionAssetDelivery per stack.

Stack config (namespace ``asset-delivery``) is validated in full before any
resource is declared; a bad value stops the program with a message naming the key,
the value and what is allowed.
"""

from __future__ import annotations

import json

import pulumi
from asset_delivery import MultiRegionAssetDelivery
from asset_delivery.config import ConfigError, component_args, parse_config

NAMESPACE = "asset-delivery"


def read_stack_config() -> dict[str, object]:
    """Every key the stack sets in the ``asset-delivery`` namespace, known or not.

    Reading all of them (not only the known ones) is what lets a typo such as
    ``routingTTL`` stop the program instead of being silently ignored.
    """
    prefix = f"{NAMESPACE}:"
    names = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    raw: dict[str, object] = {}
    for name in sorted(n for n in names if n.startswith(prefix)):
        text = pulumi.runtime.get_config(name)
        if text is None:
            continue
        try:  # objects, lists, numbers and booleans arrive as JSON text
            raw[name[len(prefix) :]] = json.loads(text)
        except (TypeError, ValueError):
            raw[name[len(prefix) :]] = text
    return raw


def main() -> None:
    try:
        settings = parse_config(read_stack_config())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    delivery = MultiRegionAssetDelivery("assets", component_args(settings))  # type: ignore[arg-type]

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
    # For the operator's command line (asset-delivery status/verify).
    pulumi.export("region_weights", delivery.region_weights)
    pulumi.export("health_check_ids", delivery.health_check_ids)
    pulumi.export("replication_mode", delivery.replication_mode)
    pulumi.export("certificate_arn", delivery.certificate_arn)
    pulumi.export("domain_zone_id", delivery.domain_zone_id)
    pulumi.export("log_buckets", delivery.log_buckets)
    pulumi.export("alarm_names", delivery.alarm_names)


main()
