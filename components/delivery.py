"""``MultiRegionAssetDelivery``: S3 in several regions, one CloudFront, one edge router.

The component only wires the per-concern modules together (buckets, replication,
routing table, edge function, distribution). Its arguments are validated at
construction with the same pure validator as stack config, before any child is
declared, so bad input never leaves a half-created stack.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from .access_logs import AccessLogs, create_access_logs
from .alarms import Alarms, create_alarms
from .buckets import (
    DataBucket,
    create_bucket_policy,
    create_data_bucket,
    create_probe_object,
)
from .cache import Policies, create_policies
from .config import (
    ARGUMENT_NAMES,
    ConfigError,
    DeliveryConfig,
    camel_key,
    parse_config,
    reject_unknown_keys,
    snake_key,
)
from .distribution import (
    Distribution,
    create_distribution,
    create_origin_access_identity,
)
from .domain import AliasRecords, Certificate, create_alias_records, create_certificate
from .edge_function import EdgeFunction, create_edge_function, create_edge_role
from .kms import EncryptionKeys, create_encryption_keys
from .lookups import read_aws_facts, read_existing_zone
from .replication import (
    Replication,
    create_replication,
    create_replication_role,
    replication_pairs,
)
from .routing import RoutingTable, create_routing_table, default_zone_name
from .tags import COMPONENT_TAG, Tags, merged_tags
from .waf import create_web_acl

COMPONENT_TYPE = "asset-delivery:index:MultiRegionAssetDelivery"


class RegionWeightArgs(TypedDict):
    """One region and its share of traffic."""

    region: str
    """An AWS region code, e.g. ``eu-west-1``."""
    weight: int
    """0-255; 0 drains the region (used only when no other region is healthy)."""


class MultiRegionAssetDeliveryArgs(TypedDict):
    """Arguments of :class:`MultiRegionAssetDelivery` (stack config key in brackets).

    Arguments that another resource may produce (zone ids, ARNs, tags) are
    ``pulumi.Input``: they are validated when their value is plain and passed through
    when it is an output. Arguments that shape the resource graph (regions, weights,
    modes, switches) must be plain values.
    """

    regions: list[RegionWeightArgs]
    """2-8 unique regions with weights 0-255, at least one above 0 [``regions``]."""
    primary_region: NotRequired[str]
    """Where publishers write; default: the first region [``primaryRegion``]."""
    replication: NotRequired[str]
    """``from-primary`` (default) or ``bidirectional`` [``replication``]."""
    replication_time_control: NotRequired[bool]
    """S3 Replication Time Control and metrics; default false [``replicationTimeControl``]."""
    health_checks: NotRequired[bool]
    """One Route 53 health check per region; default true [``healthChecks``]."""
    health_check_interval: NotRequired[int]
    """10 (default, fast) or 30 seconds [``healthCheckInterval``]."""
    health_check_failure_threshold: NotRequired[int]
    """1-10 consecutive failures; default 3 [``healthCheckFailureThreshold``]."""
    routing_zone_id: NotRequired[pulumi.Input[str]]
    """An existing public hosted zone for the routing records [``routingZoneId``]."""
    routing_zone_name: NotRequired[str]
    """Name of the dedicated zone created when no zone id is given [``routingZoneName``]."""
    routing_ttl: NotRequired[int]
    """TTL of the routing records in seconds, 1-60; default 10 [``routingTtl``]."""
    domain_names: NotRequired[list[str]]
    """Custom domain names for the distribution [``domainNames``]."""
    certificate_arn: NotRequired[pulumi.Input[str]]
    """ACM certificate (us-east-1) for ``domain_names``; else requested [``certificateArn``]."""
    access_logs: NotRequired[bool]
    """CloudFront and S3 access logs into log buckets; default false [``accessLogs``]."""
    log_retention_days: NotRequired[int]
    """Days access logs are kept, 1-3650; default 90 [``logRetentionDays``]."""
    alarms: NotRequired[bool]
    """CloudWatch alarms: health, 5xx rate, edge errors, replication; default off [``alarms``]."""
    alarm_email: NotRequired[str]
    """E-mail address the alarms notify through an SNS topic [``alarmEmail``]."""
    alarm_topic_arn: NotRequired[pulumi.Input[str]]
    """Existing SNS topic in us-east-1 the alarms notify [``alarmTopicArn``]."""
    domain_zone_id: NotRequired[pulumi.Input[str]]
    """Public zone of ``domain_names``: alias records, certificate validation [``domainZoneId``]."""
    price_class: NotRequired[str]
    """``PriceClass_All`` (default), ``PriceClass_200`` or ``PriceClass_100`` [``priceClass``]."""
    web_acl_arn: NotRequired[pulumi.Input[str]]
    """An existing WAFv2 web ACL (scope CLOUDFRONT) to attach [``webAclArn``]."""
    web_acl: NotRequired[str]
    """``managed``: create a WAFv2 web ACL with AWS managed rules and a rate limit [``webAcl``]."""
    waf_rate_limit: NotRequired[int]
    """Requests per IP per 5 minutes the managed web ACL allows; default 2000 [``wafRateLimit``]."""
    cache_policy: NotRequired[pulumi.Input[str]]
    """``optimized`` (default), ``versioned`` or a cache policy id [``cachePolicy``]."""
    cors_origins: NotRequired[list[str]]
    """Origins allowed by CORS; adds a response headers policy [``corsOrigins``]."""
    default_root_object: NotRequired[str]
    """Object served for ``/``, e.g. ``index.html`` [``defaultRootObject``]."""
    region_header: NotRequired[bool]
    """Set ``x-asset-region`` on responses; false halves edge invocations [``regionHeader``]."""
    noncurrent_version_days: NotRequired[int]
    """Days before noncurrent object versions expire; default 30 [``noncurrentVersionDays``]."""
    origin_connection_timeout: NotRequired[int]
    """Routed origin connection timeout, 1-10 s; default 3 [``originConnectionTimeout``]."""
    origin_connection_attempts: NotRequired[int]
    """Routed origin connection attempts, 1-3; default 1 [``originConnectionAttempts``]."""
    force_destroy: NotRequired[bool]
    """Let ``pulumi destroy`` delete non-empty buckets; default false [``forceDestroy``]."""
    edge_memory_mb: NotRequired[int]
    """The edge function's memory, 128-3008 MB; CPU (and cold start) scale with it;
    default 128 [``edgeMemoryMb``]."""
    routing_mode: NotRequired[str]
    """``weighted`` (default) or ``latency``: weights times nearness [``routingMode``]."""
    locality_tau_ms: NotRequired[int]
    """Latency mode's scale: a region ``tau`` ms further away counts 1/e as much, 1-1000;
    default 20 [``localityTauMs``]."""
    rehearse_outage: NotRequired[list[str]]
    """Regions whose health check is inverted, to rehearse their outage [``rehearseOutage``]."""
    tags: NotRequired[Tags]
    """Tags for every taggable resource, merged with ``asset-delivery:component`` [``tags``]."""
    origin_auth: NotRequired[str]
    """``oai`` (default), ``sigv4`` (the edge function signs with its role), or
    ``oai-to-sigv4`` (the migration step: both admitted, the function signs) [``originAuth``]."""
    encryption: NotRequired[str]
    """``s3`` (SSE-S3, default) or ``kms`` (SSE-KMS with bucket keys; needs ``sigv4``)
    [``encryption``]."""
    kms_key_arns: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Customer managed key ARN by region for ``kms``; regions left out get a key the
    component creates (rotation on) [``kmsKeyArns``]."""


ARGS_PREFIX = "MultiRegionAssetDeliveryArgs."


def config_from_args(args: MultiRegionAssetDeliveryArgs | Mapping[str, Any]) -> DeliveryConfig:
    """Validate component arguments; errors name the argument as the caller spelled it."""
    given = {key: value for key, value in dict(args).items() if value is not None}
    reject_unknown_keys(given, ARGUMENT_NAMES, prefix=ARGS_PREFIX, noun="argument")
    try:
        return parse_config({camel_key(key): value for key, value in given.items()})
    except ConfigError as error:
        raise error.renamed(snake_key(error.key), ARGS_PREFIX) from None


class MultiRegionAssetDelivery(pulumi.ComponentResource):
    """Public files served by CloudFront from S3 buckets in several regions at once."""

    # The class docstring and the class-level annotations below become the component's
    # schema (its description and outputs; keep the docstring one line, so the schema is
    # the same on every Python version). The Python-only typed handles on the children
    # (config, buckets, replication, routing, edge, cdn, encryption_keys) are annotated
    # in __init__.
    distribution_id: pulumi.Output[str]
    """CloudFront distribution id (for invalidations)."""
    domain_name: pulumi.Output[str]
    """The distribution's ``*.cloudfront.net`` domain name."""
    url: pulumi.Output[str]
    """``https://`` URL viewers use (the first custom domain when configured)."""
    bucket_names: pulumi.Output[dict[str, str]]
    """Data bucket name by region."""
    bucket_arns: pulumi.Output[dict[str, str]]
    """Data bucket ARN by region."""
    routing_record_name: pulumi.Output[str]
    """The TXT name holding the routing table (one record per region)."""
    routing_zone_id: pulumi.Output[str]
    """The hosted zone holding the routing table."""
    routing_name_servers: pulumi.Output[list[str]]
    """The zone's own name servers, baked into the function."""
    function_qualified_arn: pulumi.Output[str]
    """The published function version associated with the distribution."""
    primary_region: pulumi.Output[str]
    """Where publishers write."""
    region_weights: pulumi.Output[dict[str, int]]
    """Configured routing weight by region (the routing table's value when healthy)."""
    health_check_ids: pulumi.Output[dict[str, str]]
    """Route 53 health check id by region (empty with health checks off)."""
    replication_mode: pulumi.Output[str]
    """``from-primary`` or ``bidirectional``."""
    certificate_arn: pulumi.Output[Optional[str]]  # noqa: UP045 (the schema analyzer reads Optional)
    """The viewer certificate's ARN (requested or given); unset without custom domains."""
    domain_zone_id: pulumi.Output[Optional[str]]  # noqa: UP045
    """The hosted zone holding the custom domains' alias records; unset without one."""
    log_buckets: pulumi.Output[dict[str, str]]
    """Access-log bucket name by region (empty without access logs)."""
    alarm_names: pulumi.Output[list[str]]
    """Names of the CloudWatch alarms (empty without alarms)."""

    def __init__(
        self,
        name: str,
        args: MultiRegionAssetDeliveryArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        config = config_from_args(args)  # before anything is registered
        super().__init__(COMPONENT_TYPE, name, {}, opts)
        self.config: DeliveryConfig = config  # the validated configuration
        regions = config.region_names
        tags = merged_tags(config.tags, {COMPONENT_TAG: name})
        # Data sources first: a missing answer stops here, before any child exists.
        facts = read_aws_facts(self, health_checks=config.health_checks)
        account_id = facts.account_id
        existing_zone = (
            read_existing_zone(config.routing_zone_id, self)
            if config.routing_zone_id is not None
            else None
        )

        pairs = replication_pairs(list(regions), config.primary_region, config.replication)
        edge_role = create_edge_role(name, signs=config.function_signs, tags=tags, parent=self)
        replication_role = create_replication_role(
            name, account_id=account_id, tags=tags, parent=self
        )
        self.encryption_keys: EncryptionKeys | None = (
            create_encryption_keys(
                name,
                regions,
                given=config.kms_key_arns,
                account_id=account_id,
                edge_role_arn=edge_role.arn,
                replication_role_arn=replication_role.arn,
                replication_sources=[source for source, _ in pairs],
                replication_destinations=[d for _, dests in pairs for d in dests],
                tags=tags,
                parent=self,
            )
            if config.encryption == "kms"
            else None
        )
        key_arns = self.encryption_keys.key_arns if self.encryption_keys else None

        self.buckets: dict[str, DataBucket] = {
            region: create_data_bucket(
                name,
                region,
                noncurrent_version_days=config.noncurrent_version_days,
                force_destroy=config.force_destroy,
                tags=tags,
                kms_key_arn=key_arns[region] if key_arns else None,
                parent=self,
            )
            for region in regions
        }
        oai = create_origin_access_identity(name, parent=self) if config.uses_oai else None
        # Who reads the buckets for CloudFront (README "Security model"); while
        # migrating (oai-to-sigv4) both, so no edge location ever meets a 403.
        readers: list[pulumi.Input[str]] = []
        if oai is not None:
            readers.append(oai.iam_arn)
        if config.function_signs:
            readers.append(edge_role.arn)
        checker_cidrs = (
            list(facts.health_checker_cidrs) if facts.health_checker_cidrs is not None else None
        )
        policies = {
            region: create_bucket_policy(name, bucket, readers, checker_cidrs, parent=self)
            for region, bucket in self.buckets.items()
        }
        # Probes exist only for the health checks that read them.
        probes = (
            {
                region: create_probe_object(name, bucket, tags=tags, parent=self)
                for region, bucket in self.buckets.items()
            }
            if config.health_checks
            else {}
        )
        self.replication: Replication = create_replication(
            name,
            self.buckets,
            primary_region=config.primary_region,
            mode=config.replication,
            replication_time_control=config.replication_time_control,
            role=replication_role,
            kms_key_arns=key_arns,
            parent=self,
        )
        self.routing: RoutingTable = create_routing_table(
            name,
            self.buckets,
            config.weights,
            existing_zone=existing_zone,
            zone_name=config.routing_zone_name or default_zone_name(name, pulumi.get_stack()),
            ttl=config.routing_ttl,
            health_checks=config.health_checks,
            health_check_interval=config.health_check_interval,
            health_check_failure_threshold=config.health_check_failure_threshold,
            inverted_regions=config.rehearse_outage,
            probes_ready={r: [probes[r], policies[r]] for r in probes},
            tags=tags,
            parent=self,
        )
        self.edge: EdgeFunction = create_edge_function(
            name,
            role=edge_role,
            primary_region=config.primary_region,
            region_domains={r: b.regional_domain for r, b in self.buckets.items()},
            routing_record=self.routing.record_name,
            name_servers=self.routing.name_servers,
            replication=config.replication,
            auth="sigv4" if config.function_signs else "oai",
            read_bucket_arns=[b.bucket.arn for b in self.buckets.values()],
            kms_key_arns=key_arns,
            memory_mb=config.edge_memory_mb,
            routing_mode=config.routing_mode,
            locality_tau_ms=config.locality_tau_ms,
            tags=tags,
            account_id=account_id,
            parent=self,
        )
        # The distribution associates the function only once its role may read.
        ready: list[pulumi.Resource] = list(policies.values())
        if self.edge.origin_read_policy is not None:
            ready.append(self.edge.origin_read_policy)
        self.policies: Policies = create_policies(  # cache and response headers policies
            name,
            cache_policy=config.cache_policy,
            cors_origins=config.cors_origins,
            managed_cache_policy_id=facts.cache_policy_id,
            managed_headers_policy_id=facts.response_headers_policy_id,
            parent=self,
        )
        self.web_acl: aws.wafv2.WebAcl | None = (  # with web_acl='managed'
            create_web_acl(name, rate_limit=config.waf_rate_limit, tags=tags, parent=self)
            if config.web_acl == "managed"
            else None
        )
        # With the names' zone and no certificate given: request one and validate it.
        self.certificate: Certificate | None = (
            create_certificate(
                name,
                config.domain_names,
                zone_id=config.domain_zone_id,
                tags=tags,
                parent=self,
            )
            if config.domain_zone_id is not None and config.certificate_arn is None
            else None
        )
        certificate_arn = self.certificate.arn if self.certificate else config.certificate_arn
        failover_region = config.secondary_regions[0]
        self.cdn: Distribution = create_distribution(
            name,
            oai=oai,
            routed_domain=self.buckets[config.primary_region].regional_domain,
            failover_domain=self.buckets[failover_region].regional_domain,
            function_qualified_arn=self.edge.qualified_arn,
            connection_timeout=config.origin_connection_timeout,
            connection_attempts=config.origin_connection_attempts,
            domain_names=config.domain_names,
            certificate_arn=certificate_arn,
            price_class=config.price_class,
            web_acl_arn=self.web_acl.arn if self.web_acl else config.web_acl_arn,
            cache_policy_id=self.policies.cache_policy_id,
            response_headers_policy_id=self.policies.response_headers_policy_id,
            default_root_object=config.default_root_object,
            region_header=config.region_header,
            depends_on=ready,
            tags=tags,
            parent=self,
        )

        distribution = self.cdn.distribution
        self.access_logs: AccessLogs | None = (
            create_access_logs(
                name,
                self.buckets,
                distribution,
                retention_days=config.log_retention_days,
                force_destroy=config.force_destroy,
                account_id=account_id,
                tags=tags,
                parent=self,
            )
            if config.access_logs
            else None
        )
        self.alarms: Alarms | None = (
            create_alarms(
                name,
                distribution=distribution,
                health_checks=self.routing.health_checks,
                buckets=self.buckets,
                replication_pairs=pairs,
                replication_time_control=config.replication_time_control,
                email=config.alarm_email,
                topic_arn=config.alarm_topic_arn,
                tags=tags,
                parent=self,
            )
            if config.alarms
            else None
        )
        self.aliases: AliasRecords | None = (
            create_alias_records(
                name,
                config.domain_names,
                zone_id=config.domain_zone_id,
                distribution=distribution,
                parent=self,
            )
            if config.domain_zone_id is not None
            else None
        )
        self.distribution_id = distribution.id
        self.domain_name = distribution.domain_name
        self.url = (
            pulumi.Output.from_input(f"https://{config.domain_names[0]}")
            if config.domain_names
            else distribution.domain_name.apply(lambda d: f"https://{d}")
        )
        self.bucket_names = pulumi.Output.all(
            **{r: b.bucket.bucket for r, b in self.buckets.items()}
        )
        self.bucket_arns = pulumi.Output.all(**{r: b.bucket.arn for r, b in self.buckets.items()})
        self.routing_record_name = self.routing.record_name
        self.routing_zone_id = self.routing.zone_id
        self.routing_name_servers = self.routing.name_servers
        self.function_qualified_arn = self.edge.qualified_arn
        self.primary_region = pulumi.Output.from_input(config.primary_region)
        self.region_weights = pulumi.Output.from_input(dict(config.weights))
        # Output.all() of nothing is a list: dict() makes "no checks" an empty mapping.
        self.health_check_ids = pulumi.Output.all(
            **{r: check.id for r, check in self.routing.health_checks.items()}
        ).apply(dict)
        self.replication_mode = pulumi.Output.from_input(config.replication)
        self.certificate_arn = pulumi.Output.from_input(certificate_arn)
        self.domain_zone_id = pulumi.Output.from_input(config.domain_zone_id)
        self.log_buckets = pulumi.Output.all(
            **{
                r: b.bucket.bucket
                for r, b in (self.access_logs.buckets if self.access_logs else {}).items()
            }
        ).apply(dict)
        self.alarm_names = pulumi.Output.from_input(
            sorted(self.alarms.alarms) if self.alarms else []
        )
        self.register_outputs(
            {
                "distribution_id": self.distribution_id,
                "domain_name": self.domain_name,
                "url": self.url,
                "bucket_names": self.bucket_names,
                "bucket_arns": self.bucket_arns,
                "routing_record_name": self.routing_record_name,
                "routing_zone_id": self.routing_zone_id,
                "routing_name_servers": self.routing_name_servers,
                "function_qualified_arn": self.function_qualified_arn,
                "primary_region": self.primary_region,
                "region_weights": self.region_weights,
                "health_check_ids": self.health_check_ids,
                "replication_mode": self.replication_mode,
                "certificate_arn": self.certificate_arn,
                "domain_zone_id": self.domain_zone_id,
                "log_buckets": self.log_buckets,
                "alarm_names": self.alarm_names,
            }
        )
