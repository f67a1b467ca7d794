"""AWS contract tests: the declared stack, translated to AWS API requests, must pass
botocore's service models and the documented AWS rules (tests/aws_contract.py,
tests/aws_rules.py); planted defects must be caught, each with one clear message.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asset_delivery import MultiRegionAssetDelivery
from asset_delivery.testing import RecordingMocks, Registration, read_stack_file, run_program
from asset_delivery.testing import run_with_mocks as run_mocked
from aws_contract import TRANSLATORS, UNTRANSLATED
from aws_rules import RULES, check_stack, model_constraints, model_pattern
from botocore.model import ShapeResolver

ROOT = Path(__file__).resolve().parent.parent
THREE = [
    {"region": "us-east-1", "weight": 50},
    {"region": "eu-west-1", "weight": 30},
    {"region": "ap-southeast-2", "weight": 20},
]
SCENARIOS: dict[str, Callable[[], RecordingMocks]] = {
    "prod-2-regions-from-primary": lambda: run_program(
        ROOT, read_stack_file(ROOT / "Pulumi.prod.yaml"), stack="prod"
    ),
    "3-regions-bidirectional-rtc": lambda: _component(
        {"regions": THREE, "replication": "bidirectional", "replication_time_control": True}
    ),
    "3-regions-from-primary": lambda: _component({"regions": THREE}),
    "2-regions-custom-domain-no-health-checks": lambda: _component(
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
            "origin_connection_timeout": 10,
            "origin_connection_attempts": 3,
        }
    ),
    "3-regions-bidirectional-no-health-checks": lambda: _component(
        {"regions": THREE, "replication": "bidirectional", "health_checks": False}
    ),
    "3-regions-sigv4-kms-bidirectional": lambda: _component(
        {
            "regions": THREE,
            "replication": "bidirectional",
            "origin_auth": "sigv4",
            "encryption": "kms",
        }
    ),
    "3-regions-sigv4-kms-ap-southeast-5": lambda: _component(
        {
            "regions": [*THREE[:2], {"region": "ap-southeast-5", "weight": 20}],
            "origin_auth": "sigv4",
            "encryption": "kms",
        }
    ),
    "2-regions-oai-to-sigv4": lambda: _component(
        {"regions": THREE[:2], "origin_auth": "oai-to-sigv4"}
    ),
    "2-regions-custom-domains-own-certificate": lambda: _component(
        {
            "regions": THREE[:2],
            "domain_names": ["assets.example.com", "cdn.example.com"],
            "domain_zone_id": "Z0123456789ABCDEFGHIJ",
        }
    ),
    "2-regions-access-logs": lambda: _component(
        {"regions": THREE[:2], "access_logs": True, "log_retention_days": 30}
    ),
    "2-regions-alarms-email-rtc": lambda: _component(
        {
            "regions": THREE[:2],
            "alarms": True,
            "alarm_email": "ops@example.com",
            "replication_time_control": True,
        }
    ),
    "2-regions-managed-waf-cors-versioned-cache": lambda: _component(
        {
            "regions": THREE[:2],
            "web_acl": "managed",
            "cors_origins": ["https://app.example.com"],
            "cache_policy": "versioned",
            "default_root_object": "index.html",
            "region_header": False,
            "routing_mode": "latency",
        }
    ),
}


def _component(args: dict[str, Any]) -> RecordingMocks:
    return run_mocked(lambda: MultiRegionAssetDelivery("media", args) and None, {})


_RUNS: dict[str, RecordingMocks] = {}


def declared(scenario: str) -> RecordingMocks:
    """Each scenario runs once per test session (a run takes about a second)."""
    if scenario not in _RUNS:
        _RUNS[scenario] = SCENARIOS[scenario]()
    return _RUNS[scenario]


def planted(
    mocks: RecordingMocks, type_token: str, name: str, plant: Callable[[dict[str, Any]], None]
) -> list[Registration]:
    """The declared registrations with one resource's inputs altered (on a copy)."""
    registrations = []
    hits = 0
    for reg in mocks.registrations:
        if reg.type == type_token and reg.name.endswith(name):
            reg = dataclasses.replace(reg, inputs=copy.deepcopy(reg.inputs))
            plant(reg.inputs)
            hits += 1
        registrations.append(reg)
    assert hits == 1, f"{hits} {type_token} resources named *{name}"
    return registrations


# -- the real program passes clean ----------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_declared_stack_passes_every_contract_check(scenario: str) -> None:
    report = check_stack(declared(scenario).registrations)
    assert [str(p) for p in report.problems] == []
    assert report.unknown_types == {}, (
        "resource types without a translator: add a @translates function in "
        "tests/aws_contract.py, or list the type in UNTRANSLATED with the reason"
    )


def test_every_resource_the_program_declares_becomes_an_api_request() -> None:
    """The checks are not vacuous: each concern reaches the API it would call."""
    report = check_stack(declared("prod-2-regions-from-primary").registrations)
    operations = {(r.service, r.operation) for r in report.requests}
    assert {
        ("cloudfront", "CreateDistribution"),
        ("cloudfront", "CreateCloudFrontOriginAccessIdentity"),
        ("lambda", "CreateFunction"),
        ("lambda", "PublishVersion"),
        ("iam", "CreateRole"),
        ("iam", "PutRolePolicy"),
        ("route53", "CreateHostedZone"),
        ("route53", "CreateHealthCheck"),
        ("route53", "ChangeResourceRecordSets"),
        ("s3", "CreateBucket"),
        ("s3", "PutBucketVersioning"),
        ("s3", "PutPublicAccessBlock"),
        ("s3", "PutBucketOwnershipControls"),
        ("s3", "PutBucketEncryption"),
        ("s3", "PutBucketLifecycleConfiguration"),
        ("s3", "PutBucketPolicy"),
        ("s3", "PutObject"),
        ("s3", "PutBucketReplication"),
    } <= operations
    kms = check_stack(declared("3-regions-sigv4-kms-bidirectional").registrations)
    assert {"CreateKey", "EnableKeyRotation"} <= {r.operation for r in kms.requests}
    edge = check_stack(declared("2-regions-managed-waf-cors-versioned-cache").registrations)
    assert {"CreateWebACL", "CreateCachePolicy", "CreateResponseHeadersPolicy"} <= {
        r.operation for r in edge.requests
    }
    alarms = check_stack(declared("2-regions-alarms-email-rtc").registrations)
    assert {"PutMetricAlarm", "CreateTopic", "Subscribe"} <= {r.operation for r in alarms.requests}
    assert report.untranslated == {"asset-delivery:index:MultiRegionAssetDelivery": ["assets"]}


def test_translation_follows_the_provider_expand_functions() -> None:
    """Spot checks of the mapping: TXT quoting, CloudFront list wrappers, integers."""
    report = check_stack(declared("prod-2-regions-from-primary").registrations)
    by_operation = {r.operation: r.params for r in report.requests}
    config = by_operation["CreateDistribution"]["DistributionConfig"]
    group = config["OriginGroups"]["Items"][0]
    assert group["Members"] == {
        "Quantity": 2,
        "Items": [{"OriginId": "routed"}, {"OriginId": "failover"}],
    }
    assert group["FailoverCriteria"]["StatusCodes"]["Items"] == [403, 404, 500, 502, 503, 504]
    assert config["Origins"]["Items"][0]["ConnectionTimeout"] == 3
    record = by_operation["ChangeResourceRecordSets"]["ChangeBatch"]["Changes"][0]
    value = record["ResourceRecordSet"]["ResourceRecords"][0]["Value"]
    assert value.startswith('"v=1 region=') and value.endswith('"')
    function = by_operation["CreateFunction"]
    assert function["Publish"] is True and function["Code"]["ZipFile"].startswith(b"PK")


# -- planted defects fail, each with exactly its own message -----------------------------

DIST = "aws:cloudfront/distribution:Distribution"
RECORD = "aws:route53/record:Record"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
HEALTH = "aws:route53/healthCheck:HealthCheck"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
BPA = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KEY = "aws:kms/key:Key"
WAF = "aws:wafv2/webAcl:WebAcl"
CACHE = "aws:cloudfront/cachePolicy:CachePolicy"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
WAF_SCENARIO = "2-regions-managed-waf-cors-versioned-cache"
CERTIFICATE = "aws:acm/certificate:Certificate"
DOMAINS = "2-regions-custom-domains-own-certificate"
LOGS = "2-regions-access-logs"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ALARMS = "2-regions-alarms-email-rtc"


def _association(inputs: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return inputs["defaultCacheBehavior"]["lambdaFunctionAssociations"][index]


def _version(arn: str, qualifier: str | None) -> str:
    base = arn.rsplit(":", 1)[0]
    return base if qualifier is None else f"{base}:{qualifier}"


def _policy(edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def plant(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        edit(document)
        inputs["policy"] = json.dumps(document)

    return plant


# (id, scenario, type, name suffix, plant, expected check, expected message fragments)
PLANTED = [
    (
        "http_version-http9",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i.update(httpVersion="http9"),
        "model-constraint",
        ["HttpVersion is 'http9'", "allowed values: http1.1, http2, http3, http2and3"],
    ),
    (
        "failover-code-418",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["originGroups"][0]["failoverCriteria"]["statusCodes"].append(418),
        "cloudfront_failover_status_codes",
        ["fails over on 418", "400, 403, 404, 416, 500, 502, 503, 504"],
    ),
    (
        "x-amz-custom-header",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["origins"][1]["customHeaders"].append({"name": "X-Amz-Debug", "value": "1"}),
        "cloudfront_custom_header_names",
        ["'X-Amz-Debug'", "cannot add to origin requests"],
    ),
    (
        "x-edge-custom-header",
        "3-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["origins"][0].update(customHeaders=[{"name": "x-edge-pop", "value": "a"}]),
        "cloudfront_custom_header_names",
        ["'x-edge-pop'"],
    ),
    (
        "latest-association",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: _association(i).update(
            lambdaArn=_version(_association(i)["lambdaArn"], "$LATEST")
        ),
        "lambda_edge_numbered_version",
        ["origin-request association uses $LATEST", "numbered version"],
    ),
    (
        "unqualified-association",
        "3-regions-bidirectional-rtc",
        DIST,
        "cdn",
        lambda i: _association(i, 1).update(
            lambdaArn=_version(_association(i, 1)["lambdaArn"], None)
        ),
        "lambda_edge_numbered_version",
        ["origin-response association is not a numbered version ARN"],
    ),
    (
        "unknown-nested-key",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["defaultCacheBehavior"].update(compresss=True),
        "unknown-key",
        ["'compresss' at defaultCacheBehavior", "did you mean 'compress'?"],
    ),
    (
        "unknown-top-level-key",
        "3-regions-from-primary",
        BPA,
        "us-east-1-public-access-block",
        lambda i: i.update(blockPublicAcl=True),
        "unknown-key",
        ["'blockPublicAcl' at (top level)", "did you mean 'blockPublicAcls'?"],
    ),
    (
        "missing-required-member",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["defaultCacheBehavior"].pop("targetOriginId"),
        "model",
        ['Missing required parameter in DistributionConfig.DefaultCacheBehavior: "TargetOriginId"'],
    ),
    (
        "origin-group-of-three",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["originGroups"][0]["members"].append({"originId": "routed"}),
        "model-constraint",
        ["OriginGroups.Items[0].Members.Items has 3 items; at most 2 allowed"],
    ),
    (
        "origin-group-member-not-an-origin",
        "3-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["originGroups"][0]["members"][1].update(originId="fallback"),
        "cloudfront_origin_group_members",
        ["names 'fallback', which is not an origin of this distribution (failover, routed)"],
    ),
    (
        "two-origin-access-identities",
        "3-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["origins"][1]["s3OriginConfig"].update(
            originAccessIdentity="origin-access-identity/cloudfront/E2OTHER"
        ),
        "cloudfront_same_oai_on_every_s3_origin",
        [
            "different origin access identities",
            "failover=origin-access-identity/cloudfront/E2OTHER",
        ],
    ),
    (
        "connection-timeout-11",
        "prod-2-regions-from-primary",
        DIST,
        "cdn",
        lambda i: i["origins"][0].update(connectionTimeout=11.0),
        "cloudfront_origin_connection_settings",
        ["'routed' connection timeout is 11; allowed 1-10"],
    ),
    (
        "txt-string-over-255",
        "prod-2-regions-from-primary",
        RECORD,
        "us-east-1-route",
        lambda i: i.update(records=["v=1 region=" + "r" * 250 + " weight=50"]),
        "route53_txt_strings",
        ["TXT string of 271 characters", "at most 255 per string"],
    ),
    (
        "routing-weight-300",
        "3-regions-bidirectional-rtc",
        RECORD,
        "eu-west-1-route",
        lambda i: i.update(records=["v=1 region=eu-west-1 weight=300"]),
        "route53_routing_record_values",
        ["weight '300' is not an integer in 0-255"],
    ),
    (
        "duplicate-set-identifier",
        "prod-2-regions-from-primary",
        RECORD,
        "eu-west-1-route",
        lambda i: i.update(setIdentifier="us-east-1"),
        "route53_multivalue_set_identifiers",
        ["reuses set identifier 'us-east-1'"],
    ),
    (
        "health-check-interval-15",
        "prod-2-regions-from-primary",
        HEALTH,
        "us-east-1-health",
        lambda i: i.update(requestInterval=15.0),
        "route53_health_check_settings",
        ["request interval 15; use 10 or 30"],
    ),
    (
        "health-check-type-typo",
        "3-regions-from-primary",
        HEALTH,
        "ap-southeast-2-health",
        lambda i: i.update(type="HTTPS_STRING_MATCH"),
        "model-constraint",
        ["Type is 'HTTPS_STRING_MATCH'", "HTTPS_STR_MATCH"],
    ),
    (
        "edge-environment-variables",
        "prod-2-regions-from-primary",
        FUNCTION,
        "edge-router",
        lambda i: i.update(environment={"variables": {"LOG_LEVEL": "debug"}}),
        "lambda_edge_function_settings",
        ["sets Environment; Lambda@Edge functions cannot have it"],
    ),
    (
        "edge-arm64",
        "prod-2-regions-from-primary",
        FUNCTION,
        "edge-router",
        lambda i: i.update(architectures=["arm64"]),
        "lambda_edge_function_settings",
        ["architectures ['arm64']; Lambda@Edge: x86_64"],
    ),
    (
        "edge-timeout-31",
        "prod-2-regions-from-primary",
        FUNCTION,
        "edge-router",
        lambda i: i.update(timeout=31.0),
        "lambda_edge_function_settings",
        ["timeout 31 s exceeds 30 s"],
    ),
    (
        "edge-memory-4096",
        "prod-2-regions-from-primary",
        FUNCTION,
        "edge-router",
        lambda i: i.update(memorySize=4096.0),
        "lambda_edge_function_settings",
        ["memory 4096 MB is outside 128-3008 MB"],
    ),
    (
        "edge-runtime-python3.8",
        "prod-2-regions-from-primary",
        FUNCTION,
        "edge-router",
        lambda i: i.update(runtime="python3.8"),
        "lambda_edge_function_settings",
        ["runtime 'python3.8' is not a Lambda@Edge runtime"],
    ),
    (
        "edge-role-without-edgelambda",
        "prod-2-regions-from-primary",
        ROLE,
        "edge-role",
        lambda i: i.update(
            assumeRolePolicy=i["assumeRolePolicy"]
            .replace('"edgelambda.amazonaws.com"', "")
            .replace(", ]", "]")
        ),
        "lambda_edge_role_trust",
        ["does not trust edgelambda.amazonaws.com"],
    ),
    (
        "bucket-policy-over-20kb",
        "prod-2-regions-from-primary",
        POLICY,
        "us-east-1-policy",
        lambda i: i.update(policy=i["policy"] + " " * 20_480),
        "s3_bucket_policy_document",
        ["bytes; S3 allows 20 KB"],
    ),
    (
        "bucket-policy-malformed-principal",
        "3-regions-from-primary",
        POLICY,
        "eu-west-1-policy",
        _policy(lambda d: d["Statement"][0].update(Principal={"AWS": "cloudfront-oai"})),
        "s3_bucket_policy_document",
        ["AWS principal 'cloudfront-oai' is not '*', an account id or an IAM ARN"],
    ),
    (
        "bucket-policy-foreign-resource",
        "prod-2-regions-from-primary",
        POLICY,
        "eu-west-1-policy",
        _policy(lambda d: d["Statement"][0].update(Resource="arn:aws:s3:::someone-else/*")),
        "s3_bucket_policy_document",
        ["resource 'arn:aws:s3:::someone-else/*' is outside bucket"],
    ),
    (
        "kms-bucket-behind-oai",
        "3-regions-sigv4-kms-bidirectional",
        DIST,
        "cdn",
        lambda i: [
            origin["s3OriginConfig"].update(
                originAccessIdentity="origin-access-identity/cloudfront/E2"
            )
            for origin in i["origins"]
        ],
        "s3_kms_objects_not_read_through_oai",
        ["origins routed, failover read through an origin access identity", "use SSE-KMS"],
    ),
    (
        "kms-deletion-window-5-days",
        "3-regions-sigv4-kms-bidirectional",
        KEY,
        "eu-west-1-key",
        lambda i: i.update(deletionWindowInDays=5.0),
        "kms_key_settings",
        ["deletion window 5 days; KMS allows 7-30"],
    ),
    (
        "kms-policy-resource-not-star",
        "3-regions-sigv4-kms-bidirectional",
        KEY,
        "us-east-1-key",
        _policy(lambda d: d["Statement"][1].update(Resource="arn:aws:s3:::bucket/*")),
        "kms_key_settings",
        ["Resource 'arn:aws:s3:::bucket/*'; use '*'"],
    ),
    (
        "waf-in-eu-west-1",
        WAF_SCENARIO,
        WAF,
        "waf",
        lambda i: i.update(region="eu-west-1"),
        "wafv2_web_acl_for_cloudfront",
        ["scope CLOUDFRONT is created in eu-west-1; use us-east-1"],
    ),
    (
        "waf-evaluation-window-90",
        WAF_SCENARIO,
        WAF,
        "waf",
        lambda i: i["rules"][0]["statement"]["rateBasedStatement"].update(evaluationWindowSec=90),
        "wafv2_web_acl_for_cloudfront",
        ["'rate-limit-per-ip' evaluation window 90 s"],
    ),
    (
        "waf-managed-group-with-action",
        WAF_SCENARIO,
        WAF,
        "waf",
        lambda i: i["rules"][1].update(action={"block": {}}),
        "wafv2_web_acl_for_cloudfront",
        ["references a rule group: OverrideAction, not Action"],
    ),
    (
        "cache-policy-min-ttl-above-default",
        WAF_SCENARIO,
        CACHE,
        "cache-versioned",
        lambda i: i.update(minTtl=90000.0),
        "cloudfront_cache_policy_ttls",
        ["min 90000, default 86400", "min <= default <= max"],
    ),
    (
        "cors-credentials-with-any-origin",
        WAF_SCENARIO,
        HEADERS,
        "cors-headers",
        lambda i: i["corsConfig"].update(
            accessControlAllowCredentials=True, accessControlAllowOrigins={"items": ["*"]}
        ),
        "cloudfront_cors_credentials",
        ["credentials with origin '*'"],
    ),
    (
        "referrer-policy-typo",
        WAF_SCENARIO,
        HEADERS,
        "cors-headers",
        lambda i: i["securityHeadersConfig"]["referrerPolicy"].update(
            referrerPolicy="strict-origin-when-crossorigin"
        ),
        "model-constraint",
        ["ReferrerPolicy is 'strict-origin-when-crossorigin'", "strict-origin-when-cross-origin"],
    ),
    (
        "certificate-misses-an-alias",
        DOMAINS,
        CERTIFICATE,
        "certificate",
        lambda i: i.update(subjectAlternativeNames=["static.example.com"]),
        "cloudfront_certificate_covers_aliases",
        ["alias cdn.example.com of", "not covered", "(assets.example.com, static.example.com)"],
    ),
    (
        "certificate-outside-us-east-1",
        "2-regions-custom-domain-no-health-checks",
        DIST,
        "cdn",
        lambda i: i["viewerCertificate"].update(
            acmCertificateArn="arn:aws:acm:eu-west-1:123456789012:certificate/abc"
        ),
        "cloudfront_certificate_covers_aliases",
        ["is not in us-east-1"],
    ),
    (
        "alias-record-wrong-zone",
        DOMAINS,
        RECORD,
        "cdn-example-com-a",
        lambda i: i["aliases"][0].update(zoneId="Z3AQBSTGFYJSTF"),
        "route53_alias_to_cloudfront",
        ["alias target zone Z3AQBSTGFYJSTF; CloudFront's is Z2FDTNDATAQYW2"],
    ),
    (
        "alias-record-evaluates-health",
        DOMAINS,
        RECORD,
        "assets-example-com-aaaa",
        lambda i: i["aliases"][0].update(evaluateTargetHealth=True),
        "route53_alias_to_cloudfront",
        ["evaluates target health"],
    ),
    (
        "access-logs-to-another-region",
        LOGS,
        "aws:s3/bucketLogging:BucketLogging",
        "us-east-1-access-logging",
        lambda i: i.update(targetBucket="media-eu-west-1-logs-bucket-9268f22d"),
        "s3_access_logging_target",
        ["in us-east-1 logs to media-eu-west-1-logs-bucket-9268f22d in eu-west-1"],
    ),
    (
        "cloudfront-log-source-in-eu-west-1",
        LOGS,
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "cdn-log-source",
        lambda i: i.update(region="eu-west-1"),
        "cloudfront_standard_logging",
        ["CloudFront needs ACCESS_LOGS in us-east-1"],
    ),
    (
        "alarm-period-90",
        ALARMS,
        ALARM,
        "cdn-5xx-rate-alarm",
        lambda i: i.update(period=90.0),
        "cloudwatch_alarm_settings",
        ["period 90 s; use 10, 30 or a multiple of 60"],
    ),
    (
        "alarm-datapoints-above-periods",
        ALARMS,
        ALARM,
        "edge-LambdaExecutionError-alarm",
        lambda i: i.update(datapointsToAlarm=6.0),
        "cloudwatch_alarm_settings",
        ["datapoints to alarm 6 > 5 periods"],
    ),
    (
        "health-alarm-outside-us-east-1",
        ALARMS,
        ALARM,
        "eu-west-1-health-alarm",
        lambda i: i.update(region="eu-west-1", alarmActions=[], okActions=[]),
        "cloudwatch_alarm_settings",
        ["watches AWS/Route53 from eu-west-1; its metrics are in us-east-1"],
    ),
    (
        "replication-storage-class",
        "prod-2-regions-from-primary",
        REPLICATION,
        "us-east-1-replication",
        lambda i: i["rules"][0]["destination"].update(storageClass="STANDARD_INFREQUENT"),
        "model-constraint",
        ["StorageClass is 'STANDARD_INFREQUENT'", "STANDARD_IA"],
    ),
    (
        "replication-duplicate-priority",
        "3-regions-from-primary",
        REPLICATION,
        "us-east-1-replication",
        lambda i: i["rules"][1].update(priority=0.0),
        "s3_replication_rules",
        ["repeats priority 0"],
    ),
    (
        "replication-rtc-without-metrics",
        "3-regions-bidirectional-rtc",
        REPLICATION,
        "eu-west-1-replication",
        lambda i: i["rules"][0]["destination"].pop("metrics"),
        "s3_replication_rules",
        ["enables Replication Time Control without metrics"],
    ),
]


@pytest.mark.parametrize(
    ("scenario", "type_token", "name", "plant", "check", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in PLANTED],
)
def test_planted_defect_is_reported_alone_with_a_helpful_message(
    scenario: str,
    type_token: str,
    name: str,
    plant: Callable[[dict[str, Any]], None],
    check: str,
    fragments: list[str],
) -> None:
    report = check_stack(planted(declared(scenario), type_token, name, plant))
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    (problem,) = report.problems
    assert problem.check == check
    assert problem.source.startswith(type_token)
    for fragment in fragments:
        assert fragment in problem.message, str(problem)


# -- the machinery ----------------------------------------------------------------------


def test_a_type_without_translator_is_listed_not_silently_passed() -> None:
    mocks = declared("prod-2-regions-from-primary")
    queue = Registration("aws:sqs/queue:Queue", "jobs", {}, {}, "jobs", "", "")
    report = check_stack([*mocks.registrations, queue])
    assert report.unknown_types == {"aws:sqs/queue:Queue": ["jobs"]}
    assert report.problems == []


def test_every_untranslated_type_says_why_and_every_rule_cites_its_source() -> None:
    assert all(reason.strip() for reason in UNTRANSLATED.values())
    assert not set(UNTRANSLATED) & set(TRANSLATORS)
    for check in RULES:
        assert check.__doc__ and len(check.__doc__.split()) > 10, check.__name__


def test_model_constraints_cover_what_param_validator_skips() -> None:
    """Enum, maximum, pattern (Java classes translated) and map sizes, by themselves."""
    shapes = {
        "Top": {
            "type": "structure",
            "members": {
                "Mode": {"shape": "Mode"},
                "Name": {"shape": "Name"},
                "Count": {"shape": "Count"},
                "Tags": {"shape": "Tags"},
            },
        },
        "Mode": {"type": "string", "enum": ["fast", "slow"]},
        "Name": {"type": "string", "max": 5, "pattern": r"[\p{L}\p{N}_]+"},
        "Count": {"type": "integer", "max": 3},
        "Tags": {"type": "map", "key": {"shape": "Mode"}, "value": {"shape": "Name"}, "max": 1},
    }
    top = ShapeResolver(shapes).get_shape_by_name("Top")

    def problems(value: dict[str, Any]) -> list[str]:
        return list(model_constraints(value, top, "Op"))

    assert problems({"Mode": "fast", "Name": "éa_1", "Count": 3, "Tags": {"slow": "x"}}) == []
    assert problems({"Mode": "quick"}) == ["Op.Mode is 'quick'; allowed values: fast, slow"]
    assert problems({"Name": "abcdef"}) == ["Op.Name is 6 characters long; at most 5 allowed"]
    assert problems({"Name": "a b"}) == [
        r"Op.Name is 'a b'; it must match the pattern [\p{L}\p{N}_]+"
    ]
    assert problems({"Count": 4}) == ["Op.Count is 4; at most 3 allowed"]
    assert problems({"Tags": {"fast": "a", "slow": "b"}}) == ["Op.Tags has 2 entries; allowed 0-1"]
    assert model_pattern(r"[\p{L}]+").fullmatch("Zürich")
