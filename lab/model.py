"""The lab's view of a stack: plain, frozen values extracted from the resources the
Pulumi program declares (see ``lab/stack.py``). Everything the lab runs is built from
one ``LabStack``; nothing about regions, weights, records, health checks, origins,
failover criteria, timeouts or the function is configured a second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .bucket_policy import S3Request, decide


@dataclass(frozen=True)
class HealthCheckSpec:
    """A Route 53 HTTPS health check on one region's data bucket."""

    region: str
    fqdn: str  # the bucket's regional domain, <bucket>.s3.<region>.amazonaws.com
    resource_path: str  # "/_health/<region>", the region's probe object
    search_string: str | None  # content match; None for a plain 2xx/3xx check
    request_interval_s: int  # 10 or 30
    failure_threshold: int  # 1-10
    inverted: bool = False  # rehearseOutage: reported unhealthy whatever the probe says
    check_id: str = ""  # the health check's id (GetHealthCheckStatus answers by it)


@dataclass(frozen=True)
class ProbeSpec:
    """The object a region's health check reads, as declared in its data bucket."""

    key: str  # "_health/<region>": each region's own, so replicas never overwrite it
    body: str  # the content the health check matches


@dataclass(frozen=True)
class RegionSpec:
    """One region: its data bucket and its routing record."""

    region: str
    bucket: str
    domain: str  # regional domain of the bucket (the S3 origin domain)
    weight: int  # from the TXT routing record value "v=1 region=<r> weight=<w>"
    record_value: str  # the TXT value exactly as declared
    health_check: HealthCheckSpec | None
    probe: ProbeSpec | None = None  # declared only when health checks are on
    policy: str | None = None  # the bucket policy JSON exactly as declared


@dataclass(frozen=True)
class ReplicationRule:
    """Objects written to ``source_bucket`` are copied to ``destination_bucket``."""

    rule_id: str
    source_region: str
    source_bucket: str
    destination_region: str
    destination_bucket: str
    prefix: str  # "" for the whole bucket
    delete_markers: bool


@dataclass(frozen=True)
class OriginSpec:
    """One CloudFront origin as declared."""

    origin_id: str
    domain: str
    custom_headers: dict[str, str]  # lower-case names
    connection_timeout_s: int
    connection_attempts: int
    origin_path: str = ""
    origin_access_identity: str = ""  # "" = none: CloudFront does not sign (authMethod none)


@dataclass(frozen=True)
class OriginGroupSpec:
    """An origin group: failover from ``primary`` to ``failover`` on these statuses."""

    group_id: str
    primary_origin_id: str
    failover_origin_id: str
    status_codes: tuple[int, ...]


@dataclass(frozen=True)
class DistributionSpec:
    """The CloudFront distribution's delivery path for the default behaviour."""

    distribution_id: str
    domain_name: str
    origins: dict[str, OriginSpec]
    origin_group: OriginGroupSpec | None
    target_origin_id: str  # an origin id or the origin group's id
    allowed_methods: tuple[str, ...]
    # event type ("origin-request", "origin-response", ...) -> function qualified ARN
    function_associations: dict[str, str]
    error_caching_ttl_s: dict[int, int]  # status code -> error caching min TTL
    viewer_protocol_policy: str


@dataclass(frozen=True)
class FunctionSpec:
    """The Lambda@Edge function as built by the component."""

    name: str
    handler: str  # "edge_handler.handler.handler"
    runtime: str  # "python3.13"
    timeout_s: int
    memory_mb: int
    archive_zip: bytes  # the code archive exactly as the component built it
    qualified_arn: str


@dataclass(frozen=True)
class RoutingSpec:
    """Where the routing table lives in DNS."""

    zone_name: str
    record_name: str  # e.g. "_routes.assets.example.com" (no trailing dot)
    ttl_s: int
    nameservers: tuple[str, ...]  # the zone's own name servers as declared


@dataclass(frozen=True)
class LabStack:
    """Everything the lab needs to run one stack on this machine."""

    stack: str
    primary_region: str
    replication_mode: str  # "from-primary" or "bidirectional"
    regions: dict[str, RegionSpec]  # in declaration order
    routing: RoutingSpec
    replication: tuple[ReplicationRule, ...]
    distribution: DistributionSpec
    function: FunctionSpec | None
    outputs: dict[str, object] = field(default_factory=dict)  # the component's outputs
    # The principals the lab acts as ("oai", "edge-role") -> their declared ARNs; each
    # bucket's declared policy decides what they may do (lab/bucket_policy.py).
    principal_arns: dict[str, str] = field(default_factory=dict)
    # ARN patterns the edge role's IAM policy may s3:GetObject (empty: none).
    edge_role_objects: tuple[str, ...] = ()
    # An address inside the health checkers' ranges the program was given
    # (getIpRanges route53_healthchecks): the source the lab's checkers stand for.
    health_checker_ip: str = ""

    @property
    def origin_readers(self) -> tuple[str, ...]:
        """Which of the lab's principals ("oai", "edge-role") the declared bucket policies
        let read objects: the origin-auth mode the stack was deployed in."""
        readers = set()
        for spec in self.regions.values():
            policy = json.loads(spec.policy) if spec.policy else None
            for name, arn in self.principal_arns.items():
                if decide(policy, S3Request(arn, "s3:GetObject", spec.bucket, "any-object")):
                    readers.add(name)
        return tuple(sorted(readers))
