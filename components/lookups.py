"""The AWS data sources the component reads, each checked where it is read.

A data source that answers without a field the component needs (typically a test's
``pulumi.runtime.set_mocks`` whose ``call`` answers nothing) would otherwise surface
much later as an obscure error inside some apply, or worse as a bucket policy with no
address in it. Each lookup here names the data source's token and the missing field in
one :class:`DataSourceError`. The lookups whose inputs are constants run synchronously,
right after the component registers and before any child is declared, so a missing
answer stops the component with that one message and nothing half-declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .distribution import CACHE_POLICY as MANAGED_CACHE_POLICY
from .distribution import RESPONSE_HEADERS_POLICY as MANAGED_RESPONSE_HEADERS_POLICY

IP_RANGES = "aws:index/getIpRanges:getIpRanges"
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
CACHE_POLICY = "aws:cloudfront/getCachePolicy:getCachePolicy"
RESPONSE_HEADERS_POLICY = "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy"
ZONE = "aws:route53/getZone:getZone"

HEALTH_CHECKER_SERVICE = "route53_healthchecks"


class DataSourceError(RuntimeError):
    """A data source answered without a field the component needs."""

    def __init__(self, token: str, field: str, purpose: str) -> None:
        self.token = token
        self.field = field
        super().__init__(
            f"data source {token} answered without '{field}', which the component needs "
            f"for {purpose}. Under pulumi.runtime.set_mocks, answer {token} in your "
            f"Mocks.call (asset_delivery.testing.RecordingMocks answers every data source "
            f"the component reads)."
        )


def _required(token: str, result: Any, attribute: str, field: str, purpose: str) -> Any:
    value = getattr(result, attribute, None)
    if not value:
        raise DataSourceError(token, field, purpose)
    return value


@dataclass(frozen=True)
class AwsFacts:
    """What the component reads from AWS at deploy time (constants of the account)."""

    account_id: str
    """The deploying account (the edge role's log-group ARNs)."""
    health_checker_cidrs: tuple[str, ...] | None
    """Route 53 health checkers' IPv4 and IPv6 ranges; None without health checks."""
    cache_policy_id: str
    """Id of the managed cache policy the distribution uses."""
    response_headers_policy_id: str
    """Id of the managed response-headers policy the distribution uses."""


def read_aws_facts(parent: pulumi.Resource, *, health_checks: bool) -> AwsFacts:
    """Read every constant-input data source now; raise DataSourceError on a gap."""
    opts = pulumi.InvokeOptions(parent=parent)
    cidrs: tuple[str, ...] | None = None
    if health_checks:
        ranges = aws.get_ip_ranges(services=[HEALTH_CHECKER_SERVICE], opts=opts)
        purpose = "the bucket policy that lets only Route 53 health checkers read the probe"
        ipv4 = _required(IP_RANGES, ranges, "cidr_blocks", "cidrBlocks", purpose)
        cidrs = tuple(sorted(set(ipv4) | set(ranges.ipv6_cidr_blocks or [])))
    identity = aws.get_caller_identity(opts=opts)
    cache = aws.cloudfront.get_cache_policy(name=MANAGED_CACHE_POLICY, opts=opts)
    headers = aws.cloudfront.get_response_headers_policy(
        name=MANAGED_RESPONSE_HEADERS_POLICY, opts=opts
    )
    return AwsFacts(
        account_id=_required(
            CALLER_IDENTITY,
            identity,
            "account_id",
            "accountId",
            "the edge function role's log-group ARNs",
        ),
        health_checker_cidrs=cidrs,
        cache_policy_id=_required(
            CACHE_POLICY,
            cache,
            "id",
            "id",
            f"the distribution's cache policy ({MANAGED_CACHE_POLICY})",
        ),
        response_headers_policy_id=_required(
            RESPONSE_HEADERS_POLICY,
            headers,
            "id",
            "id",
            f"the distribution's response headers policy ({MANAGED_RESPONSE_HEADERS_POLICY})",
        ),
    )


@dataclass(frozen=True)
class ExistingZone:
    """The hosted zone the routing records go into, when the caller gives one."""

    zone_id: pulumi.Output[str]
    name: pulumi.Output[str]
    name_servers: pulumi.Output[list[str]]


def read_existing_zone(zone_id: pulumi.Input[str], parent: pulumi.Resource) -> ExistingZone:
    """The zone's name and name servers.

    A plain zone id is looked up now, so a gap stops the component with one message; an
    id that is another resource's output can only be looked up once it is known.
    """
    purpose = "the routing record's name and the name servers baked into the function"

    def checked(zone: Any) -> tuple[str, list[str]]:
        name = _required(ZONE, zone, "name", "name", purpose)
        return name, list(_required(ZONE, zone, "name_servers", "nameServers", purpose))

    opts = pulumi.InvokeOptions(parent=parent)
    if isinstance(zone_id, str):
        name, name_servers = checked(aws.route53.get_zone(zone_id=zone_id, opts=opts))
        return ExistingZone(
            zone_id=pulumi.Output.from_input(zone_id),
            name=pulumi.Output.from_input(name),
            name_servers=pulumi.Output.from_input(name_servers),
        )
    answer = aws.route53.get_zone_output(zone_id=zone_id, opts=opts).apply(checked)
    return ExistingZone(
        zone_id=pulumi.Output.from_input(zone_id),
        name=answer.apply(lambda a: a[0]),
        name_servers=answer.apply(lambda a: a[1]),
    )
