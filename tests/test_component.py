"""The Pulumi program and the MultiRegionAssetDelivery component, under recording mocks.

Each scenario runs once (module fixtures) and the tests assert on what was declared:
the properties a user relies on, per region and globally.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pulumi
import pytest
from asset_delivery import MultiRegionAssetDelivery
from asset_delivery.buckets import PROBE_MATCH, probe_key
from asset_delivery.lab.stack import archive_bytes, stack_from_registrations
from asset_delivery.locality import EDGE_REGIONS
from asset_delivery.testing import (
    ACCOUNT_ID,
    HEALTH_CHECKER_CIDRS,
    MANAGED_CACHE_POLICIES,
    MANAGED_RESPONSE_HEADERS_POLICIES,
    ZONE_NAME_SERVERS,
    RecordingMocks,
    Registration,
    read_stack_file,
    resource_counts,
    run_program,
    run_with_mocks,
)
from component_checks import rejection_message

ROOT = Path(__file__).resolve().parent.parent
PROD = read_stack_file(ROOT / "Pulumi.prod.yaml")
THREE = [
    {"region": "us-east-1", "weight": 50},
    {"region": "eu-west-1", "weight": 30},
    {"region": "ap-southeast-2", "weight": 20},
]

T = {
    "bucket": "aws:s3/bucket:Bucket",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "bpa": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "ownership": "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "object": "aws:s3/bucketObjectv2:BucketObjectv2",
    "replication": "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "role": "aws:iam/role:Role",
    "role_policy": "aws:iam/rolePolicy:RolePolicy",
    "zone": "aws:route53/zone:Zone",
    "record": "aws:route53/record:Record",
    "health": "aws:route53/healthCheck:HealthCheck",
    "function": "aws:lambda/function:Function",
    "oai": "aws:cloudfront/originAccessIdentity:OriginAccessIdentity",
    "distribution": "aws:cloudfront/distribution:Distribution",
    "cache_policy": "aws:cloudfront/cachePolicy:CachePolicy",
    "headers_policy": "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
    "web_acl": "aws:wafv2/webAcl:WebAcl",
    "certificate": "aws:acm/certificate:Certificate",
    "bucket_logging": "aws:s3/bucketLogging:BucketLogging",
    "log_source": "aws:cloudwatch/logDeliverySource:LogDeliverySource",
    "log_destination": "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
    "log_delivery": "aws:cloudwatch/logDelivery:LogDelivery",
    "alarm": "aws:cloudwatch/metricAlarm:MetricAlarm",
    "topic": "aws:sns/topic:Topic",
    "subscription": "aws:sns/topicSubscription:TopicSubscription",
    "monitoring": "aws:cloudfront/monitoringSubscription:MonitoringSubscription",
    "validation": "aws:acm/certificateValidation:CertificateValidation",
    "component": "asset-delivery:index:MultiRegionAssetDelivery",
}


def component_run(args: dict, name: str = "media") -> RecordingMocks:
    return run_with_mocks(lambda: MultiRegionAssetDelivery(name, args) and None, {})


@pytest.fixture(scope="module")
def prod() -> RecordingMocks:
    return run_program(ROOT, PROD, stack="prod")


@pytest.fixture(scope="module")
def three_bidirectional() -> RecordingMocks:
    return component_run(
        {"regions": THREE, "replication": "bidirectional", "replication_time_control": True}
    )


@pytest.fixture(scope="module")
def three_from_primary() -> RecordingMocks:
    return component_run({"regions": THREE, "primary_region": "eu-west-1"})


@pytest.fixture(scope="module")
def custom_domain() -> RecordingMocks:
    return component_run(
        {
            "regions": THREE[:2],
            "domain_names": ["assets.example.com"],
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/"
            "01234567-89ab-cdef-0123-456789abcdef",
            "web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/"
            "01234567-89ab-cdef-0123-456789abcdef",
            "price_class": "PriceClass_100",
            "routing_zone_id": "Z0123456789ABCDEFGHIJ",
            "health_checks": False,
            "origin_connection_timeout": 2,
            "origin_connection_attempts": 2,
        }
    )


TAGS = {"team": "media-platform", "cost-center": "cc-1234"}
CORS_ORIGINS = ["https://www.example.com", "https://*.example.org"]
DOMAINS = ["assets.example.com", "*.assets.example.com", "cdn.example.com"]
DOMAIN_ZONE = "Z0DOMAINZONE1234567"


EVERYTHING: dict = {
    "regions": THREE,
    "replication_time_control": True,
    "tags": TAGS,
    "web_acl": "managed",
    "waf_rate_limit": 500,
    "cache_policy": "versioned",
    "cors_origins": CORS_ORIGINS,
    "default_root_object": "index.html",
    "region_header": False,
    "domain_names": DOMAINS,
    "domain_zone_id": DOMAIN_ZONE,
    "access_logs": True,
    "log_retention_days": 30,
    "alarms": True,
    "alarm_email": "oncall@example.com",
    "origin_auth": "sigv4",
    "encryption": "kms",
}
"""Every production option on (the stack the README's resource table counts)."""


@pytest.fixture(scope="module")
def everything() -> RecordingMocks:
    return component_run(EVERYTHING)


ALL = ["prod", "three_bidirectional", "three_from_primary"]


@pytest.fixture(params=ALL)
def stack(request: pytest.FixtureRequest) -> RecordingMocks:
    return request.getfixturevalue(request.param)


def regions_of(mocks: RecordingMocks) -> list[str]:
    return [b.inputs["region"] for b in mocks.of_type(T["bucket"])]


def per_region(mocks: RecordingMocks, kind: str) -> dict[str, Registration]:
    found = {r.inputs["region"]: r for r in mocks.of_type(T[kind])}
    assert sorted(found) == sorted(regions_of(mocks)), kind
    return found


def bucket_of(mocks: RecordingMocks, region: str) -> Registration:
    return per_region(mocks, "bucket")[region]


def edge_archive(mocks: RecordingMocks) -> dict[str, bytes]:
    (function,) = mocks.of_type(T["function"])
    return archive_bytes(function.inputs["code"])


def depends(mocks: RecordingMocks, reg: Registration, other: Registration) -> bool:
    return other.urn in reg.dependencies


# -- counts ---------------------------------------------------------------------------


def test_prod_stack_declares_the_expected_resources(prod: RecordingMocks) -> None:
    counts = Counter(r.type for r in prod.registrations)
    per_region_types = [
        "bucket",
        "versioning",
        "bpa",
        "ownership",
        "sse",
        "lifecycle",
        "policy",
        "object",
        "health",
        "record",
    ]
    for kind in per_region_types:
        assert counts[T[kind]] == 2, kind
    for kind in ["zone", "function", "oai", "distribution", "replication", "component"]:
        assert counts[T[kind]] == 1, kind
    assert counts[T["role"]] == 2  # replication and edge function
    assert counts[T["role_policy"]] == 2
    assert sum(counts.values()) == 30  # 29 AWS resources and the component


PROD_EVERY_OPTION = {
    **PROD,
    "asset-delivery:replicationTimeControl": True,
    "asset-delivery:tags": {"team": "media", "cost-center": "cc-1234"},
    "asset-delivery:domainNames": ["assets.example.com"],
    "asset-delivery:domainZoneId": "Z0DOMAINZONE1234567",
    "asset-delivery:accessLogs": True,
    "asset-delivery:alarms": True,
    "asset-delivery:alarmEmail": "oncall@example.com",
    "asset-delivery:webAcl": "managed",
    "asset-delivery:cachePolicy": "versioned",
    "asset-delivery:corsOrigins": ["https://www.example.com"],
    "asset-delivery:defaultRootObject": "index.html",
    "asset-delivery:regionHeader": False,
}
"""The prod stack with every option of issue #8 on (README: What the component creates)."""


def test_prod_with_every_production_option_declares_these_resources() -> None:
    counts = resource_counts(run_program(ROOT, PROD_EVERY_OPTION, stack="prod"))
    prod = {T[kind]: 2 for kind in ("bucket", "versioning", "object", "health", "role")}
    prod |= {T[kind]: 1 for kind in ("zone", "function", "oai", "distribution", "replication")}
    added = {
        # a log bucket per region, hardened like the data buckets, with its S3 logging
        T["bucket"]: 2,
        T["bpa"]: 2,
        T["ownership"]: 2,
        T["sse"]: 2,
        T["lifecycle"]: 2,
        T["policy"]: 2,
        T["bucket_logging"]: 2,
        # CloudFront standard logging v2
        T["log_source"]: 1,
        T["log_destination"]: 1,
        T["log_delivery"]: 1,
        # certificate, one validation record, alias A + AAAA
        T["certificate"]: 1,
        T["validation"]: 1,
        T["record"]: 3,
        # health x2, 5xx rate, edge errors x2, failed replication and latency
        T["alarm"]: 7,
        T["monitoring"]: 1,
        T["topic"]: 1,
        T["subscription"]: 1,
        T["web_acl"]: 1,
        T["cache_policy"]: 1,
        T["headers_policy"]: 1,
    }
    base = {
        T["bpa"]: 2,
        T["ownership"]: 2,
        T["sse"]: 2,
        T["lifecycle"]: 2,
        T["policy"]: 2,
        T["record"]: 2,
        T["role_policy"]: 2,
        T["component"]: 1,
    }
    expected = {key: prod.get(key, 0) + base.get(key, 0) for key in prod | base}
    for key, count in added.items():
        expected[key] = expected.get(key, 0) + count
    assert counts == dict(sorted(expected.items()))
    assert sum(counts.values()) == 65  # 64 AWS resources and the component


def test_every_child_is_parented_by_the_component(stack: RecordingMocks) -> None:
    (component,) = stack.of_type(T["component"])
    for reg in stack.registrations:
        if reg is not component:
            assert reg.parent == component.urn, reg.name


def test_two_instances_in_one_stack_do_not_clash() -> None:
    def body() -> None:
        MultiRegionAssetDelivery("images", {"regions": THREE[:2]})
        MultiRegionAssetDelivery("downloads", {"regions": THREE[1:]})

    mocks = run_with_mocks(body, {})
    names = [(r.type, r.name) for r in mocks.registrations]
    assert len(names) == len(set(names))
    records = {r.inputs["name"] for r in mocks.of_type(T["record"])}
    assert len(records) == 2


# -- tags -----------------------------------------------------------------------------


def takes_tags(type_token: str) -> bool:
    """Whether the pulumi_aws resource class of this type token has a ``tags`` argument."""
    package, module_path, class_name = type_token.split(":")
    if package != "aws":
        return False
    module = module_path.split("/")[0]
    module = module + "_" if module == "lambda" else module
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_tag_walk_knows_which_types_take_tags() -> None:
    assert takes_tags(T["bucket"]) and takes_tags(T["function"]) and takes_tags(T["zone"])
    assert not takes_tags(T["record"]) and not takes_tags(T["oai"])
    assert not takes_tags(T["component"])


@pytest.mark.parametrize("fixture", [*ALL, "custom_domain", "everything"])
def test_every_taggable_resource_carries_the_component_and_user_tags(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    mocks: RecordingMocks = request.getfixturevalue(fixture)
    user_tags = TAGS if fixture == "everything" else {}
    (component,) = mocks.of_type(T["component"])
    name = component.name
    taggable = [r for r in mocks.registrations if takes_tags(r.type)]
    assert len(taggable) >= 6  # buckets, two roles, function, distribution at least
    untagged = [
        (r.type, r.name)
        for r in taggable
        if (r.inputs.get("tags") or {}).get("asset-delivery:component") != name
        or any(r.inputs["tags"].get(k) != v for k, v in user_tags.items())
    ]
    assert untagged == []


def test_tags_may_come_from_another_resource() -> None:
    def body() -> None:
        owner = pulumi.Output.from_input("team-from-output")
        MultiRegionAssetDelivery("media", {"regions": THREE[:2], "tags": {"owner": owner}})

    mocks = run_with_mocks(body, {})
    for bucket in mocks.of_type(T["bucket"]):
        assert bucket.inputs["tags"]["owner"] == "team-from-output"
        assert bucket.inputs["tags"]["asset-delivery:region"] == bucket.inputs["region"]


# -- buckets --------------------------------------------------------------------------


def test_every_data_bucket_is_private_versioned_encrypted_owner_enforced(
    stack: RecordingMocks,
) -> None:
    buckets = per_region(stack, "bucket")
    for region, versioning in per_region(stack, "versioning").items():
        assert versioning.inputs["bucket"] == buckets[region].id
        assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    for region, bpa in per_region(stack, "bpa").items():
        assert bpa.inputs["bucket"] == buckets[region].id
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert bpa.inputs[flag] is True, (region, flag)
    for ownership in per_region(stack, "ownership").values():
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    for sse in per_region(stack, "sse").values():
        (rule,) = sse.inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    for bucket in buckets.values():
        assert not bucket.inputs.get("forceDestroy")


def test_lifecycle_expires_noncurrent_versions_and_aborts_uploads(stack: RecordingMocks) -> None:
    versioning = per_region(stack, "versioning")
    for region, lifecycle in per_region(stack, "lifecycle").items():
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30
        assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7
        assert depends(stack, lifecycle, versioning[region])


def policy_of(mocks: RecordingMocks, region: str) -> dict:
    return json.loads(per_region(mocks, "policy")[region].inputs["policy"])


def test_bucket_policy_grants_oai_read_probe_to_checkers_and_denies_plain_http(
    stack: RecordingMocks,
) -> None:
    (oai,) = stack.of_type(T["oai"])
    for region in regions_of(stack):
        arn = bucket_of(stack, region).state["arn"]
        statements = {s["Sid"]: s for s in policy_of(stack, region)["Statement"]}
        read = statements["OriginReadObjects"]
        assert read["Principal"] == {"AWS": oai.state["iamArn"]}
        assert read["Action"] == "s3:GetObject"  # no ListBucket: no listing of "/"
        assert read["Resource"] == f"{arn}/*"
        probe = statements["Route53HealthCheckersReadProbeOnly"]
        assert probe["Resource"] == f"{arn}/_health/{region}"  # its own probe only
        assert probe["Action"] == "s3:GetObject"
        cidrs = probe["Condition"]["IpAddress"]["aws:SourceIp"]
        assert set(HEALTH_CHECKER_CIDRS) <= set(cidrs)
        assert "0.0.0.0/0" not in cidrs
        deny = statements["DenyInsecureTransport"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert set(deny["Resource"]) == {arn, f"{arn}/*"}
        # Nothing else is granted to everyone.
        public = [
            s for s in statements.values() if s["Effect"] == "Allow" and s["Principal"] == "*"
        ]
        assert public == [probe]


def test_bucket_policy_waits_for_block_public_access(stack: RecordingMocks) -> None:
    bpa = per_region(stack, "bpa")
    for region, policy in per_region(stack, "policy").items():
        assert depends(stack, policy, bpa[region])


def test_probe_object_in_every_bucket(stack: RecordingMocks) -> None:
    buckets = per_region(stack, "bucket")
    for region, probe in per_region(stack, "object").items():
        assert probe.inputs["bucket"] == buckets[region].id
        # Each region's own key: replication never overwrites a probe with a copy.
        assert probe.inputs["key"] == probe_key(region) == f"_health/{region}"
        assert PROBE_MATCH in probe.inputs["content"]


# -- routing table --------------------------------------------------------------------


def test_health_check_reads_the_probe_from_each_data_bucket(stack: RecordingMocks) -> None:
    checks = stack.of_type(T["health"])
    assert len(checks) == len(regions_of(stack))
    by_fqdn = {c.inputs["fqdn"]: c for c in checks}
    objects = per_region(stack, "object")
    policies = per_region(stack, "policy")
    for region in regions_of(stack):
        check = by_fqdn[bucket_of(stack, region).state["bucketRegionalDomainName"]]
        assert check.inputs["type"] == "HTTPS_STR_MATCH"
        assert check.inputs["port"] == 443
        assert check.inputs["enableSni"] is True
        assert check.inputs["resourcePath"] == f"/_health/{region}"
        assert check.inputs["searchString"] == PROBE_MATCH
        assert check.inputs["requestInterval"] == 10
        assert check.inputs["failureThreshold"] == 3
        assert not check.inputs.get("invertHealthcheck")
        assert depends(stack, check, objects[region])
        assert depends(stack, check, policies[region])


def test_routing_records_are_multivalue_txt_per_region_with_health_checks(
    stack: RecordingMocks,
) -> None:
    records = {r.inputs["setIdentifier"]: r for r in stack.of_type(T["record"])}
    assert sorted(records) == sorted(regions_of(stack))
    checks = {c.inputs["fqdn"]: c.id for c in stack.of_type(T["health"])}
    (zone,) = stack.of_type(T["zone"])
    names = {r.inputs["name"] for r in records.values()}
    assert len(names) == 1
    (name,) = names
    assert name.startswith("_routes.") and name.endswith(zone.state["name"])
    weights = {b["region"]: b["weight"] for b in THREE}
    weights.update({"us-east-1": 50, "eu-west-1": 50} if len(records) == 2 else {})
    for region, record in records.items():
        assert record.inputs["type"] == "TXT"
        assert record.inputs["multivalueAnswerRoutingPolicy"] is True
        assert record.inputs["zoneId"] == zone.state["zoneId"]
        assert record.inputs["ttl"] == 10
        assert record.inputs["records"] == [f"v=1 region={region} weight={weights[region]}"]
        domain = bucket_of(stack, region).state["bucketRegionalDomainName"]
        assert record.inputs["healthCheckId"] == checks[domain]


def test_rehearse_outage_inverts_only_that_regions_health_check() -> None:
    mocks = component_run({"regions": THREE, "rehearse_outage": ["eu-west-1"]})
    inverted = {
        c.inputs["fqdn"].split(".s3.")[1].removesuffix(".amazonaws.com"): bool(
            c.inputs.get("invertHealthcheck")
        )
        for c in mocks.of_type(T["health"])
    }
    assert inverted == {"us-east-1": False, "eu-west-1": True, "ap-southeast-2": False}


def test_existing_zone_and_no_health_checks(custom_domain: RecordingMocks) -> None:
    assert custom_domain.of_type(T["zone"]) == []
    assert custom_domain.of_type(T["health"]) == []
    assert custom_domain.of_type(T["object"]) == []  # no probe without a check to read it
    assert not [c for c in custom_domain.calls if c[0] == "aws:index/getIpRanges:getIpRanges"]
    for record in custom_domain.of_type(T["record"]):
        assert record.inputs["zoneId"] == "Z0123456789ABCDEFGHIJ"
        assert record.inputs["name"] == "_routes.media.example.com"
        assert not record.inputs.get("healthCheckId")
    for region in regions_of(custom_domain):
        sids = {s["Sid"] for s in policy_of(custom_domain, region)["Statement"]}
        assert sids == {"OriginReadObjects", "DenyInsecureTransport"}
    config = json.loads(edge_archive(custom_domain)["edge_config.json"])
    assert config["routing"]["nameservers"] == ZONE_NAME_SERVERS
    assert config["routing"]["record"] == "_routes.media.example.com"


# -- replication ----------------------------------------------------------------------


def replication_by_source(mocks: RecordingMocks) -> dict[str, Registration]:
    buckets = {b.id: b.inputs["region"] for b in mocks.of_type(T["bucket"])}
    return {buckets[r.inputs["bucket"]]: r for r in mocks.of_type(T["replication"])}


def arn_region(mocks: RecordingMocks) -> dict[str, str]:
    return {b.state["arn"]: b.inputs["region"] for b in mocks.of_type(T["bucket"])}


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("prod", {"us-east-1": ["eu-west-1"]}),
        ("three_from_primary", {"eu-west-1": ["us-east-1", "ap-southeast-2"]}),
        (
            "three_bidirectional",
            {
                "us-east-1": ["eu-west-1", "ap-southeast-2"],
                "eu-west-1": ["us-east-1", "ap-southeast-2"],
                "ap-southeast-2": ["us-east-1", "eu-west-1"],
            },
        ),
    ],
)
def test_replication_topology_per_mode(
    request: pytest.FixtureRequest, fixture: str, expected: dict[str, list[str]]
) -> None:
    mocks: RecordingMocks = request.getfixturevalue(fixture)
    configs = replication_by_source(mocks)
    regions = arn_region(mocks)
    versioning = per_region(mocks, "versioning")
    assert sorted(configs) == sorted(expected)
    bidirectional = fixture == "three_bidirectional"
    for source, config in configs.items():
        assert config.inputs["region"] == source
        rules = config.inputs["rules"]
        assert [regions[r["destination"]["bucket"]] for r in rules] == expected[source]
        assert len({r["priority"] for r in rules}) == len(rules)
        for rule in rules:
            assert rule["status"] == "Enabled"
            assert rule["deleteMarkerReplication"]["status"] == "Enabled"
            assert rule["filter"] == {"prefix": ""}
            replica_sync = rule.get("sourceSelectionCriteria", {}).get("replicaModifications")
            assert (replica_sync == {"status": "Enabled"}) is bidirectional
            rtc = rule["destination"].get("replicationTime")
            metrics = rule["destination"].get("metrics")
            if bidirectional:  # this fixture asks for RTC
                assert rtc == {"status": "Enabled", "time": {"minutes": 15}}
                assert metrics["status"] == "Enabled"
            else:
                assert rtc is None and metrics is None
        # Depends on the versioning of its source AND of every destination.
        for region in [source, *expected[source]]:
            assert depends(mocks, config, versioning[region]), (source, region)


def test_replication_role_is_least_privilege(stack: RecordingMocks) -> None:
    configs = list(replication_by_source(stack).values())
    role_arns = {c.inputs["role"] for c in configs}
    assert len(role_arns) == 1
    role = next(r for r in stack.of_type(T["role"]) if r.state["arn"] in role_arns)
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    # Only S3 acting for this account's buckets may assume it (confused deputy).
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    policy_reg = next(p for p in stack.of_type(T["role_policy"]) if p.inputs["role"] == role.id)
    policy = json.loads(policy_reg.inputs["policy"])
    bucket_arns = {b.state["arn"] for b in stack.of_type(T["bucket"])}
    for statement in policy["Statement"]:
        actions = statement["Action"]
        assert all(a.startswith("s3:") and "*" not in a for a in actions)
        for resource in statement["Resource"]:
            assert resource.removesuffix("/*") in bucket_arns
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteReplicas")
    assert set(write["Action"]) == {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}


# -- edge function --------------------------------------------------------------------


def test_edge_function_is_a_published_python_313_x86_function_in_us_east_1(
    stack: RecordingMocks,
) -> None:
    (function,) = stack.of_type(T["function"])
    inputs = function.inputs
    assert inputs["region"] == "us-east-1"
    assert inputs["runtime"] == "python3.13"
    assert inputs["architectures"] == ["x86_64"]
    assert inputs["handler"] == "edge_handler.handler.handler"
    assert inputs["publish"] is True
    assert inputs["skipDestroy"] is True
    assert "environment" not in inputs and "layers" not in inputs and "vpcConfig" not in inputs
    assert 1 <= inputs["timeout"] <= 30
    assert inputs["memorySize"] == 128  # edgeMemoryMb's default


def test_latency_routing_and_memory_reach_the_function() -> None:
    mocks = component_run(
        {"regions": THREE, "edge_memory_mb": 512, "routing_mode": "latency", "locality_tau_ms": 35}
    )
    (function,) = mocks.of_type(T["function"])
    assert function.inputs["memorySize"] == 512
    locality = json.loads(edge_archive(mocks)["edge_config.json"])["locality"]
    assert (locality["mode"], locality["tau_ms"]) == ("latency", 35)
    # A row for every region where Lambda@Edge runs, each covering the whole topology.
    assert sorted(locality["rtt_ms"]) == sorted(EDGE_REGIONS)
    for row in locality["rtt_ms"].values():
        assert sorted(row) == sorted(regions_of(mocks))
        assert all(0 < ms < 1000 for ms in row.values())


def test_edge_role_trusts_lambda_and_edgelambda_and_may_only_log(stack: RecordingMocks) -> None:
    (function,) = stack.of_type(T["function"])
    role = next(r for r in stack.of_type(T["role"]) if r.state["arn"] == function.inputs["role"])
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert sorted(trust["Statement"][0]["Principal"]["Service"]) == [
        "edgelambda.amazonaws.com",
        "lambda.amazonaws.com",
    ]
    (policy_reg,) = [p for p in stack.of_type(T["role_policy"]) if p.inputs["role"] == role.id]
    (statement,) = json.loads(policy_reg.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    for resource in statement["Resource"]:
        assert f"/aws/lambda/us-east-1.{function.state['name']}" in resource


def test_edge_archive_holds_the_handler_and_rendered_config_only(
    stack: RecordingMocks,
) -> None:
    contents = edge_archive(stack)
    assert "edge_handler/handler.py" in contents
    assert "edge_handler/__init__.py" in contents
    assert "edge_handler/dns_message.py" in contents
    # Standard library only: no third-party package to compile at cold start.
    assert {name.partition("/")[0] for name in contents} == {"edge_handler", "edge_config.json"}
    assert not [n for n in contents if "__pycache__" in n or n.endswith(".pyc")]
    config = json.loads(contents["edge_config.json"])
    assert config["version"] == 1
    regions = regions_of(stack)
    assert sorted(config["regions"]) == sorted(regions)
    for region in regions:
        domain = bucket_of(stack, region).state["bucketRegionalDomainName"]
        assert config["regions"][region] == {"domain": domain}
    (record_name,) = {r.inputs["name"] for r in stack.of_type(T["record"])}
    assert config["routing"]["record"] == record_name
    assert config["routing"]["nameservers"] == ZONE_NAME_SERVERS
    assert config["failover_header"] == "x-asset-failover"
    assert config["region_header"] == "x-asset-region"
    assert config["auth"] == "oai"
    assert '"weight"' not in contents["edge_config.json"].decode()  # weights live in DNS
    assert config["replication"] in ("from-primary", "bidirectional")
    assert (config["locality"]["mode"], config["locality"]["tau_ms"]) == ("weighted", 20)


def test_edge_archive_zips_and_imports() -> None:
    from asset_delivery.edge_package import edge_archive_contents, zip_archive

    data = zip_archive(edge_archive_contents("{}"))
    assert data == zip_archive(edge_archive_contents("{}"))  # deterministic
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "edge_config.json" in names and "edge_handler/handler.py" in names


def test_primary_region_is_baked(three_from_primary: RecordingMocks) -> None:
    config = json.loads(edge_archive(three_from_primary)["edge_config.json"])
    assert config["primary_region"] == "eu-west-1"
    assert config["replication"] == "from-primary"


# -- distribution ---------------------------------------------------------------------


def test_distribution_routes_through_an_origin_group_with_the_edge_function(
    stack: RecordingMocks,
) -> None:
    (dist,) = stack.of_type(T["distribution"])
    (oai,) = stack.of_type(T["oai"])
    (function,) = stack.of_type(T["function"])
    inputs = dist.inputs
    origins = {o["originId"]: o for o in inputs["origins"]}
    domains = {
        b.inputs["region"]: b.state["bucketRegionalDomainName"] for b in stack.of_type(T["bucket"])
    }
    config = json.loads(edge_archive(stack)["edge_config.json"])
    primary = config["primary_region"]
    assert origins["routed"]["domainName"] == domains[primary]
    assert origins["failover"]["domainName"] in set(domains.values()) - {domains[primary]}
    for origin in origins.values():
        assert (
            origin["s3OriginConfig"]["originAccessIdentity"]
            == (oai.state["cloudfrontAccessIdentityPath"])
        )
    assert origins["failover"]["customHeaders"] == [{"name": "x-asset-failover", "value": "1"}]
    assert not origins["routed"].get("customHeaders")
    assert origins["routed"]["connectionTimeout"] == 3
    assert origins["routed"]["connectionAttempts"] == 1
    (group,) = inputs["originGroups"]
    assert [m["originId"] for m in group["members"]] == ["routed", "failover"]
    assert sorted(group["failoverCriteria"]["statusCodes"]) == [403, 404, 500, 502, 503, 504]

    behaviour = inputs["defaultCacheBehavior"]
    assert behaviour["targetOriginId"] == group["originId"]
    assert behaviour["allowedMethods"] == ["GET", "HEAD", "OPTIONS"]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["compress"] is True
    assert behaviour["cachePolicyId"] == MANAGED_CACHE_POLICIES["Managed-CachingOptimized"]
    assert (
        behaviour["responseHeadersPolicyId"]
        == (MANAGED_RESPONSE_HEADERS_POLICIES["Managed-SecurityHeadersPolicy"])
    )
    associations = {a["eventType"]: a["lambdaArn"] for a in behaviour["lambdaFunctionAssociations"]}
    assert associations == {
        "origin-request": function.state["qualifiedArn"],
        "origin-response": function.state["qualifiedArn"],
    }
    assert not function.state["qualifiedArn"].endswith("$LATEST")

    errors = {int(e["errorCode"]): e["errorCachingMinTtl"] for e in inputs["customErrorResponses"]}
    assert errors[403] <= 10 and errors[404] <= 10
    assert inputs["httpVersion"] == "http2and3"
    assert inputs["isIpv6Enabled"] is True
    assert inputs["enabled"] is True
    assert inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert not inputs.get("aliases") and not inputs.get("webAclId")


def test_custom_domain_tls_waf_price_class(custom_domain: RecordingMocks) -> None:
    (dist,) = custom_domain.of_type(T["distribution"])
    inputs = dist.inputs
    assert inputs["aliases"] == ["assets.example.com"]
    certificate = inputs["viewerCertificate"]
    assert certificate["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert certificate["sslSupportMethod"] == "sni-only"
    assert certificate["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert inputs["webAclId"].startswith("arn:aws:wafv2:us-east-1:")
    assert inputs["priceClass"] == "PriceClass_100"
    routed = next(o for o in inputs["origins"] if o["originId"] == "routed")
    assert routed["connectionTimeout"] == 2 and routed["connectionAttempts"] == 2


def behaviour_of(mocks: RecordingMocks) -> dict:
    (dist,) = mocks.of_type(T["distribution"])
    return dist.inputs["defaultCacheBehavior"]


def test_no_option_keeps_managed_policies_both_associations_and_no_waf(
    prod: RecordingMocks,
) -> None:
    for kind in ("cache_policy", "headers_policy", "web_acl"):
        assert prod.of_type(T[kind]) == []
    (dist,) = prod.of_type(T["distribution"])
    assert "defaultRootObject" not in dist.inputs
    events = [a["eventType"] for a in behaviour_of(prod)["lambdaFunctionAssociations"]]
    assert sorted(events) == ["origin-request", "origin-response"]


def test_versioned_cache_policy_keeps_query_strings_in_the_cache_key(
    everything: RecordingMocks,
) -> None:
    (policy,) = everything.of_type(T["cache_policy"])
    params = policy.inputs["parametersInCacheKeyAndForwardedToOrigin"]
    assert params["queryStringsConfig"] == {"queryStringBehavior": "all"}
    assert params["cookiesConfig"] == {"cookieBehavior": "none"}
    assert params["headersConfig"] == {"headerBehavior": "none"}
    assert params["enableAcceptEncodingGzip"] and params["enableAcceptEncodingBrotli"]
    assert (policy.inputs["minTtl"], policy.inputs["defaultTtl"]) == (1, 86400)
    assert policy.inputs["name"] == "asset-delivery-test-media-versioned"
    assert behaviour_of(everything)["cachePolicyId"] == policy.id


def test_a_cache_policy_id_is_used_as_given() -> None:
    policy_id = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    mocks = component_run({"regions": THREE[:2], "cache_policy": policy_id})
    assert mocks.of_type(T["cache_policy"]) == []
    assert behaviour_of(mocks)["cachePolicyId"] == policy_id


def test_cors_origins_get_a_headers_policy_with_cors_and_security_headers(
    everything: RecordingMocks,
) -> None:
    (policy,) = everything.of_type(T["headers_policy"])
    cors = policy.inputs["corsConfig"]
    assert cors["accessControlAllowOrigins"] == {"items": CORS_ORIGINS}
    assert cors["accessControlAllowMethods"] == {"items": ["GET", "HEAD", "OPTIONS"]}
    assert cors["accessControlAllowCredentials"] is False
    assert cors["originOverride"] is True
    security = policy.inputs["securityHeadersConfig"]
    assert security["contentTypeOptions"] == {"override": True}
    assert security["frameOptions"]["frameOption"] == "SAMEORIGIN"
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31536000
    assert security["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert security["xssProtection"]["protection"] is True
    assert behaviour_of(everything)["responseHeadersPolicyId"] == policy.id


def test_default_root_object_and_region_header_off(everything: RecordingMocks) -> None:
    (dist,) = everything.of_type(T["distribution"])
    (function,) = everything.of_type(T["function"])
    assert dist.inputs["defaultRootObject"] == "index.html"
    # regionHeader false: origin-request only, one Lambda@Edge invocation per miss.
    associations = behaviour_of(everything)["lambdaFunctionAssociations"]
    assert [(a["eventType"], a["lambdaArn"]) for a in associations] == [
        ("origin-request", function.state["qualifiedArn"])
    ]


def test_managed_web_acl_is_cloudfront_scoped_with_rate_limit_and_aws_rules(
    everything: RecordingMocks,
) -> None:
    (acl,) = everything.of_type(T["web_acl"])
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert acl.inputs["region"] == "us-east-1"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rules = {r["name"]: r for r in acl.inputs["rules"]}
    rate = rules["rate-limit-per-ip"]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"] == {
        "limit": 500,
        "aggregateKeyType": "IP",
        "evaluationWindowSec": 300,
    }
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        statement = rules[group]["statement"]["managedRuleGroupStatement"]
        assert statement == {"vendorName": "AWS", "name": group}
        assert rules[group]["overrideAction"] == {"none": {}}
    assert len({r["priority"] for r in rules.values()}) == 3
    for rule in rules.values():
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
    (dist,) = everything.of_type(T["distribution"])
    assert dist.inputs["webAclId"] == acl.state["arn"]
    assert ":global/webacl/" in acl.state["arn"]


def test_custom_domain_gets_a_dns_validated_certificate_in_us_east_1(
    everything: RecordingMocks,
) -> None:
    (certificate,) = everything.of_type(T["certificate"])
    assert certificate.inputs["region"] == "us-east-1"
    assert certificate.inputs["domainName"] == DOMAINS[0]
    assert certificate.inputs["subjectAlternativeNames"] == DOMAINS[1:]
    assert certificate.inputs["validationMethod"] == "DNS"
    options = {o["domainName"]: o for o in certificate.state["domainValidationOptions"]}
    validation_records = [r for r in everything.of_type(T["record"]) if r.inputs["type"] == "CNAME"]
    # One record per distinct name: *.assets.example.com shares assets.example.com's.
    assert sorted(r.inputs["name"] for r in validation_records) == sorted(
        options[d]["resourceRecordName"] for d in ("assets.example.com", "cdn.example.com")
    )
    for record in validation_records:
        assert record.inputs["zoneId"] == DOMAIN_ZONE
        assert record.inputs["allowOverwrite"] is True
        (value,) = record.inputs["records"]
        assert value.endswith(".acm-validations.aws.")
    (validation,) = everything.of_type(T["validation"])
    assert validation.inputs["region"] == "us-east-1"
    assert validation.inputs["certificateArn"] == certificate.state["arn"]
    assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(
        r.state["fqdn"] for r in validation_records
    )
    # The distribution takes the ARN from the validation: it waits for issuance.
    (dist,) = everything.of_type(T["distribution"])
    assert dist.inputs["aliases"] == DOMAINS
    viewer = dist.inputs["viewerCertificate"]
    assert viewer["acmCertificateArn"] == certificate.state["arn"]
    assert viewer["sslSupportMethod"] == "sni-only"
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert depends(everything, dist, validation)


def alias_records(mocks: RecordingMocks) -> list[Registration]:
    return [r for r in mocks.of_type(T["record"]) if r.inputs.get("aliases")]


def test_custom_domain_names_get_alias_a_and_aaaa_records(everything: RecordingMocks) -> None:
    (dist,) = everything.of_type(T["distribution"])
    records = alias_records(everything)
    assert sorted((r.inputs["name"], r.inputs["type"]) for r in records) == sorted(
        (name, kind) for name in DOMAINS for kind in ("A", "AAAA")
    )
    for record in records:
        assert record.inputs["zoneId"] == DOMAIN_ZONE
        assert record.inputs["aliases"] == [
            {
                "name": dist.state["domainName"],
                "zoneId": dist.state["hostedZoneId"],
                "evaluateTargetHealth": False,
            }
        ]


def test_a_given_certificate_is_used_and_the_zone_still_gets_aliases() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery(
            "media",
            {
                "regions": THREE[:2],
                "domain_names": ["assets.example.com"],
                "certificate_arn": arn,
                "domain_zone_id": DOMAIN_ZONE,
            },
        )
        return pulumi.Output.all(delivery.certificate_arn, delivery.domain_zone_id).apply(
            lambda values: seen.update(outputs=values)
        )

    mocks = run_with_mocks(body, {})
    assert mocks.of_type(T["certificate"]) == mocks.of_type(T["validation"]) == []
    assert len(alias_records(mocks)) == 2
    (dist,) = mocks.of_type(T["distribution"])
    assert dist.inputs["viewerCertificate"]["acmCertificateArn"] == arn
    assert seen["outputs"] == [arn, DOMAIN_ZONE]


def test_custom_domain_outputs_are_unset_without_custom_domains() -> None:
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery("media", {"regions": THREE[:2]})
        return pulumi.Output.all(delivery.certificate_arn, delivery.domain_zone_id).apply(
            lambda values: seen.update(outputs=values)
        )

    run_with_mocks(body, {})
    assert seen["outputs"] == [None, None]


def log_buckets_of(mocks: RecordingMocks) -> dict[str, Registration]:
    return {
        b.inputs["region"]: b for b in mocks.of_type(T["bucket"]) if b.name.endswith("-logs-bucket")
    }


def settings_of(mocks: RecordingMocks, kind: str, bucket: Registration) -> Registration:
    (found,) = [r for r in mocks.of_type(T[kind]) if r.inputs["bucket"] == bucket.id]
    return found


def test_access_logs_go_to_a_hardened_log_bucket_in_each_region(everything: RecordingMocks) -> None:
    logs = log_buckets_of(everything)
    assert sorted(logs) == sorted(b["region"] for b in THREE)
    data = {
        b.inputs["region"]: b
        for b in everything.of_type(T["bucket"])
        if b.inputs["region"] in logs and b.name.endswith(f"{b.inputs['region']}-bucket")
    }
    for region, log_bucket in logs.items():
        bpa = settings_of(everything, "bpa", log_bucket)
        assert all(
            bpa.inputs[flag] is True
            for flag in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
        ownership = settings_of(everything, "ownership", log_bucket)
        assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        (sse,) = settings_of(everything, "sse", log_bucket).inputs["rules"]
        assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        (rule,) = settings_of(everything, "lifecycle", log_bucket).inputs["rules"]
        assert rule["status"] == "Enabled" and rule["expiration"] == {"days": 30}
        policy_reg = settings_of(everything, "policy", log_bucket)
        statements = {s["Sid"]: s for s in json.loads(policy_reg.inputs["policy"])["Statement"]}
        arn = log_bucket.state["arn"]
        assert statements["DenyInsecureTransport"]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
        s3_logs = statements["S3ServerAccessLogs"]
        assert s3_logs["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert s3_logs["Action"] == "s3:PutObject"
        assert s3_logs["Resource"] == f"{arn}/s3-access/*"
        assert s3_logs["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": [data[region].state["arn"]]},
        }
        cloudfront = statements.get("CloudFrontLogDelivery")
        assert (cloudfront is not None) is (region == "us-east-1")
        if cloudfront:
            assert cloudfront["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
            assert cloudfront["Resource"] == f"{arn}/AWSLogs/{ACCOUNT_ID}/*"
            assert cloudfront["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID
        allowed = [s for s in statements.values() if s["Effect"] == "Allow"]
        assert all("Service" in s["Principal"] for s in allowed)  # nobody else may write
        # S3 server access logging of the region's data bucket, into this bucket.
        logging = settings_of(everything, "bucket_logging", data[region])
        assert logging.inputs["region"] == region
        assert logging.inputs["targetBucket"] == log_bucket.id
        assert logging.inputs["targetPrefix"] == "s3-access/"
        assert depends(everything, logging, policy_reg)


def test_cloudfront_standard_logging_v2_delivers_to_the_us_east_1_log_bucket(
    everything: RecordingMocks,
) -> None:
    (dist,) = everything.of_type(T["distribution"])
    (source,) = everything.of_type(T["log_source"])
    (destination,) = everything.of_type(T["log_destination"])
    (delivery,) = everything.of_type(T["log_delivery"])
    assert source.inputs["region"] == destination.inputs["region"] == "us-east-1"
    assert delivery.inputs["region"] == "us-east-1"
    assert source.inputs["logType"] == "ACCESS_LOGS"
    assert source.inputs["resourceArn"] == dist.state["arn"]
    target = log_buckets_of(everything)["us-east-1"]
    config = destination.inputs["deliveryDestinationConfiguration"]
    assert config["destinationResourceArn"] == target.state["arn"]
    assert delivery.inputs["deliverySourceName"] == source.inputs["name"]
    assert delivery.inputs["deliveryDestinationArn"] == destination.state["arn"]
    assert depends(everything, delivery, settings_of(everything, "policy", target))
    assert len(source.inputs["name"]) <= 60 and len(destination.inputs["name"]) <= 60


def test_cloudfront_logs_get_a_us_east_1_bucket_when_no_data_bucket_is_there() -> None:
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery("media", {"regions": THREE[1:], "access_logs": True})
        return delivery.log_buckets.apply(lambda names: seen.update(names=names))

    mocks = run_with_mocks(body, {})
    logs = log_buckets_of(mocks)
    assert sorted(logs) == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    (rule,) = settings_of(mocks, "lifecycle", logs["us-east-1"]).inputs["rules"]
    assert rule["expiration"] == {"days": 90}  # the default retention
    policy = json.loads(settings_of(mocks, "policy", logs["us-east-1"]).inputs["policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {
        "CloudFrontLogDelivery",
        "DenyInsecureTransport",
    }
    assert len(mocks.of_type(T["bucket_logging"])) == 2
    assert seen["names"] == {r: b.state["bucket"] for r, b in logs.items()}


def alarms_by_metric(mocks: RecordingMocks) -> dict[str, list[Registration]]:
    found: dict[str, list[Registration]] = {}
    for alarm in mocks.of_type(T["alarm"]):
        found.setdefault(alarm.inputs["metricName"], []).append(alarm)
    return found


def test_alarms_watch_health_checks_5xx_rate_edge_errors_and_replication(
    everything: RecordingMocks,
) -> None:
    by_metric = alarms_by_metric(everything)
    (dist,) = everything.of_type(T["distribution"])
    checks = {c.id for c in everything.of_type(T["health"])}
    health = by_metric["HealthCheckStatus"]
    assert {a.inputs["dimensions"]["HealthCheckId"] for a in health} == checks
    for alarm in health:
        assert alarm.inputs["namespace"] == "AWS/Route53"
        assert alarm.inputs["region"] == "us-east-1"
        assert alarm.inputs["comparisonOperator"] == "LessThanThreshold"
        assert alarm.inputs["threshold"] == 1
    cloudfront = {"DistributionId": dist.id, "Region": "Global"}
    (rate,) = by_metric["5xxErrorRate"]
    assert rate.inputs["namespace"] == "AWS/CloudFront"
    assert rate.inputs["dimensions"] == cloudfront
    assert rate.inputs["statistic"] == "Average"
    assert rate.inputs["region"] == "us-east-1"
    for metric in ("LambdaExecutionError", "LambdaValidationError"):
        (alarm,) = by_metric[metric]
        assert alarm.inputs["dimensions"] == cloudfront
        assert (alarm.inputs["statistic"], alarm.inputs["threshold"]) == ("Sum", 0)
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    # Those two metrics exist only with the distribution's additional metrics.
    (monitoring,) = everything.of_type(T["monitoring"])
    assert monitoring.inputs["distributionId"] == dist.id
    config = monitoring.inputs["monitoringSubscription"]["realtimeMetricsSubscriptionConfig"]
    assert config == {"realtimeMetricsSubscriptionStatus": "Enabled"}
    # RTC on, from-primary: one failed-replication and one latency alarm per destination.
    names = {
        b.inputs["region"]: b.state["bucket"]
        for b in everything.of_type(T["bucket"])
        if not b.name.endswith("-logs-bucket")
    }
    for metric in ("OperationsFailedReplication", "ReplicationLatency"):
        found = {
            (a.inputs["dimensions"]["SourceBucket"], a.inputs["dimensions"]["DestinationBucket"])
            for a in by_metric[metric]
        }
        assert found == {
            (names["us-east-1"], names["eu-west-1"]),
            (names["us-east-1"], names["ap-southeast-2"]),
        }
        for alarm in by_metric[metric]:
            assert alarm.inputs["namespace"] == "AWS/S3"
            assert alarm.inputs["region"] == "us-east-1"  # the source bucket's region
            assert alarm.inputs["dimensions"]["RuleId"].startswith("to-")
    (latency,) = [a for a in by_metric["ReplicationLatency"] if "eu-west-1" in a.inputs["name"]]
    assert latency.inputs["threshold"] == 900


def test_alarms_notify_an_sns_topic_with_the_email_subscription(
    everything: RecordingMocks,
) -> None:
    (topic,) = everything.of_type(T["topic"])
    assert topic.inputs["region"] == "us-east-1"
    (subscription,) = everything.of_type(T["subscription"])
    assert subscription.inputs["topic"] == topic.state["arn"]
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "oncall@example.com"
    alarms = everything.of_type(T["alarm"])
    assert len(alarms) == 3 + 1 + 2 + 4  # health x3, 5xx, edge x2, replication 2 x 2
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]]
        assert alarm.inputs["okActions"] == [topic.state["arn"]]


def test_alarm_topic_arn_and_replication_alarms_in_other_regions() -> None:
    topic_arn = "arn:aws:sns:us-east-1:123456789012:oncall"
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery(
            "media",
            {
                "regions": THREE[:2],
                "replication": "bidirectional",
                "replication_time_control": True,
                "alarms": True,
                "alarm_topic_arn": topic_arn,
            },
        )
        return delivery.alarm_names.apply(lambda names: seen.update(names=names))

    mocks = run_with_mocks(body, {})
    # A CloudWatch alarm notifies topics in its own region only: eu-west-1 gets one.
    (topic,) = mocks.of_type(T["topic"])
    assert topic.inputs["region"] == "eu-west-1"
    assert mocks.of_type(T["subscription"]) == []
    alarms = mocks.of_type(T["alarm"])
    for alarm in alarms:
        expected = topic_arn if alarm.inputs["region"] == "us-east-1" else topic.state["arn"]
        assert alarm.inputs["alarmActions"] == [expected]
    regions = sorted(
        a.inputs["region"] for a in alarms if a.inputs["metricName"] == "ReplicationLatency"
    )
    assert regions == ["eu-west-1", "us-east-1"]
    assert seen["names"] == sorted(a.inputs["name"] for a in alarms)


def test_without_replication_time_control_there_are_no_replication_alarms() -> None:
    mocks = component_run(
        {"regions": THREE[:2], "alarms": True, "alarm_email": "oncall@example.com"}
    )
    assert sorted(alarms_by_metric(mocks)) == [
        "5xxErrorRate",
        "HealthCheckStatus",
        "LambdaExecutionError",
        "LambdaValidationError",
    ]


# -- outputs and errors ---------------------------------------------------------------


def test_component_outputs() -> None:
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery("media", {"regions": THREE})
        return pulumi.Output.all(
            delivery.distribution_id,
            delivery.url,
            delivery.bucket_names,
            delivery.bucket_arns,
            delivery.routing_record_name,
            delivery.function_qualified_arn,
            delivery.primary_region,
            delivery.domain_name,
            delivery.region_weights,
            delivery.health_check_ids,
            delivery.replication_mode,
        ).apply(lambda values: seen.update(values=values))

    mocks = run_with_mocks(body, {})
    (dist_id, url, names, arns, record, qualified, primary, domain, weights, checks, mode) = seen[
        "values"
    ]
    assert dist_id.startswith("E")
    assert url == f"https://{domain}" and domain.endswith(".cloudfront.net")
    assert sorted(names) == sorted(arns) == sorted(b["region"] for b in THREE)
    assert all(arns[r] == f"arn:aws:s3:::{names[r]}" for r in names)
    assert record.startswith("_routes.media.")
    assert qualified.endswith(":1")
    assert primary == "us-east-1"
    assert weights == {b["region"]: b["weight"] for b in THREE}
    declared_checks = {
        r.inputs["fqdn"].split(".s3.")[1].split(".")[0]: r.id for r in mocks.of_type(T["health"])
    }
    assert checks == declared_checks and len(checks) == 3
    assert mode == "from-primary"


def test_no_health_checks_is_an_empty_mapping_of_ids() -> None:
    seen: dict[str, object] = {}

    def body() -> pulumi.Output:
        delivery = MultiRegionAssetDelivery("media", {"regions": THREE, "health_checks": False})
        return delivery.health_check_ids.apply(lambda ids: seen.update(ids=ids))

    run_with_mocks(body, {})
    assert seen["ids"] == {}


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        ({"regions": THREE[:1]}, "regions", "from 2 to 8 regions"),
        ({"regions": THREE, "primary_region": "us-west-2"}, "primary_region", "configured regions"),
        ({"regions": THREE, "routing_ttl": 120}, "routing_ttl", "1 to 60"),
        (
            {"regions": THREE, "origin_connection_attempts": 0},
            "origin_connection_attempts",
            "1 to 3",
        ),
        ({"regions": THREE, "cache_policy": "fast"}, "cache_policy", "'versioned'"),
        ({"regions": THREE, "cors_origins": ["example.com"]}, "cors_origins[0]", "https://"),
        ({"regions": THREE, "default_root_object": "/index.html"}, "default_root_object", "'/'"),
        ({"regions": THREE, "region_header": "no"}, "region_header", "true or false"),
        ({"regions": THREE, "web_acl": "custom"}, "web_acl", "'managed'"),
        ({"regions": THREE, "waf_rate_limit": 500}, "waf_rate_limit", "unset unless webAcl"),
        ({"regions": THREE, "tags": {"aws:x": "y"}}, "tags['aws:x']", "reserved"),
        ({"regions": THREE, "domain_zone_id": DOMAIN_ZONE}, "domain_names", "domainZoneId"),
        ({"regions": THREE, "log_retention_days": 30}, "log_retention_days", "accessLogs"),
        ({"regions": THREE, "alarms": True}, "alarm_email", "when alarms is true"),
        ({"regions": THREE, "alarm_email": "a@example.com"}, "alarm_email", "unless alarms"),
        ({"regions": THREE, "alarms": True, "alarm_email": "oncall"}, "alarm_email", "e-mail"),
        (
            {"regions": THREE, "access_logs": True, "log_retention_days": 0},
            "log_retention_days",
            "1 to 3650",
        ),
        ({"regions": THREE, "domain_names": ["a.example.com"]}, "certificate_arn", "domainZoneId"),
        (
            {"regions": THREE, "domain_names": ["a.example.com"], "domain_zone_id": "zone"},
            "domain_zone_id",
            "hosted zone id",
        ),
    ],
)
def test_component_rejects_bad_args_before_declaring_anything(
    args: dict, field: str, words: str
) -> None:
    message = rejection_message(args)
    assert message.startswith(f"MultiRegionAssetDeliveryArgs.{field} = ")
    assert words in message


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        (
            "asset-delivery:regions",
            [{"region": "us-east-1", "weight": 300}, {"region": "eu-west-1", "weight": 1}],
            "regions[0].weight",
        ),
        ("asset-delivery:replication", "sideways", "'from-primary', 'bidirectional'"),
        ("asset-delivery:routingTtl", "0", "routingTtl = 0"),
    ],
)
def test_program_stops_on_bad_stack_config_before_declaring_anything(
    key: str, value: object, words: str
) -> None:
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError, match="is not allowed") as caught:
        run_program(ROOT, {**PROD, key: value}, stack="prod", mocks=mocks)
    assert words in str(caught.value)
    assert mocks.registrations == []


def test_program_requires_regions() -> None:
    config = {k: v for k, v in PROD.items() if k != "asset-delivery:regions"}
    with pytest.raises(pulumi.RunError, match="asset-delivery:regions = None"):
        run_program(ROOT, config, stack="prod")


def test_program_reads_the_production_options_from_stack_config() -> None:
    config = {
        **PROD_EVERY_OPTION,
        "asset-delivery:wafRateLimit": 1000,
        "asset-delivery:logRetentionDays": 14,
    }
    mocks = run_program(ROOT, config, stack="prod")
    assert sorted(log_buckets_of(mocks)) == ["eu-west-1", "us-east-1"]
    (rule,) = settings_of(mocks, "lifecycle", log_buckets_of(mocks)["eu-west-1"]).inputs["rules"]
    assert rule["expiration"] == {"days": 14}
    # The lab still finds the data buckets among the log buckets.
    lab = stack_from_registrations(mocks)
    assert {spec.bucket for spec in lab.regions.values()} == {
        b.state["bucket"] for b in mocks.of_type(T["bucket"]) if not b.name.endswith("logs-bucket")
    }
    assert len(mocks.of_type(T["certificate"])) == 1
    assert len(alias_records(mocks)) == 2
    (acl,) = mocks.of_type(T["web_acl"])
    rate = next(r for r in acl.inputs["rules"] if "rateBasedStatement" in r["statement"])
    assert rate["statement"]["rateBasedStatement"]["limit"] == 1000
    assert len(mocks.of_type(T["cache_policy"])) == 1
    (headers,) = mocks.of_type(T["headers_policy"])
    assert headers.inputs["corsConfig"]["accessControlAllowOrigins"] == {
        "items": ["https://www.example.com"]
    }
    (dist,) = mocks.of_type(T["distribution"])
    assert dist.inputs["defaultRootObject"] == "index.html"
    assert len(dist.inputs["defaultCacheBehavior"]["lambdaFunctionAssociations"]) == 1
    assert dist.inputs["tags"]["team"] == "media"


def test_zone_topic_and_web_acl_may_come_from_other_resources() -> None:
    acl = (
        "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/"
        "01234567-89ab-cdef-0123-456789abcdef"
    )
    topic = "arn:aws:sns:us-east-1:123456789012:oncall"

    def body() -> None:
        MultiRegionAssetDelivery(
            "media",
            {
                "regions": THREE[:2],
                "domain_names": ["assets.example.com"],
                "domain_zone_id": pulumi.Output.from_input(DOMAIN_ZONE),
                "alarms": True,
                "alarm_topic_arn": pulumi.Output.from_input(topic),
                "web_acl_arn": pulumi.Output.from_input(acl),
            },
        )

    mocks = run_with_mocks(body, {})
    assert {r.inputs["zoneId"] for r in alias_records(mocks)} == {DOMAIN_ZONE}
    assert {a.inputs["alarmActions"][0] for a in mocks.of_type(T["alarm"])} == {topic}
    (dist,) = mocks.of_type(T["distribution"])
    assert dist.inputs["webAclId"] == acl
