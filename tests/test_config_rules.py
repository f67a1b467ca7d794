"""Stack config: the rules across keys (KMS, SigV4, domains, alarms, WAF, rehearsals).

Pure, no Pulumi runtime. Each test states a rule an operator relies on; an error must
name the key as the operator spelled it, the offending value and what is allowed.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from asset_delivery.config import ConfigError, parse_config

TWO = [{"region": "us-east-1", "weight": 50}, {"region": "eu-west-1", "weight": 50}]
# ap-southeast-5 opened after December 2022: an origin access identity cannot read there.
WITH_NEW_REGION = [*TWO, {"region": "ap-southeast-5", "weight": 10}]
SIGNED_KMS = {"regions": TWO, "originAuth": "sigv4", "encryption": "kms"}

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
WEB_ACL = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/01234567-89ab-cdef-0123-456789abcdef"
)
TOPIC = "arn:aws:sns:us-east-1:123456789012:oncall"
KEY_US = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KEY_EU = "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef"


def rejection(raw: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value


def assert_names(error: ConfigError, key: str, value: Any, words: str) -> None:
    """The error names the key, carries the offending value and states the rule."""
    assert (error.key, error.value) == (key, value)
    assert words in error.allowed
    assert str(error) == f"asset-delivery:{key} = {value!r} is not allowed: {error.allowed}"


def computed(value: Any) -> pulumi.Output:
    """A value another resource computes: known only at deploy time."""
    return pulumi.Output.from_input(value)


# -- the region list --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regions", "key", "value", "words"),
    [
        ("us-east-1,eu-west-1", "regions", "us-east-1,eu-west-1", "a list of {region, weight}"),
        (TWO[:1], "regions", TWO[:1], "from 2 to 8 regions"),
        ([TWO[0], "eu-west-1"], "regions[1]", "eu-west-1", "an object {region"),
        (
            [TWO[0], {"region": "eu-west-1", "weigth": 5}],
            "regions[1].weigth",
            5,
            "only 'region' and 'weight'",
        ),
        ([TWO[0], {"region": "eu-west-9", "weight": 1}], "regions[1].region", "eu-west-9", "AWS"),
        ([TWO[0], {"weight": 1}], "regions[1].region", None, "an AWS region code"),
        ([TWO[0], {**TWO[0], "weight": 5}], "regions[1].region", "us-east-1", "at most once"),
        (
            [{**TWO[0], "weight": 0}, {**TWO[1], "weight": 0}],
            "regions",
            {"us-east-1": 0, "eu-west-1": 0},
            "at least one weight above 0",
        ),
    ],
    ids=["text", "one", "entry-text", "typo", "unknown", "no-region", "twice", "all-drained"],
)
def test_a_bad_region_list_names_the_entry_and_its_value(
    regions: Any, key: str, value: Any, words: str
) -> None:
    assert_names(rejection({"regions": regions}), key, value, words)


# -- keys that need other keys ----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key", "value", "words"),
    [
        (
            {"routingZoneId": "Z0123456789ABCDEFGHIJ", "routingZoneName": "routing.example.com"},
            "routingZoneName",
            "routing.example.com",
            "unset when routingZoneId is set",
        ),
        (
            {"webAcl": "managed", "webAclArn": WEB_ACL},
            "webAclArn",
            WEB_ACL,
            "one web ACL per distribution",
        ),
        ({"wafRateLimit": "100"}, "wafRateLimit", 100, "unset unless webAcl is 'managed'"),
        ({"logRetentionDays": 30}, "logRetentionDays", 30, "unset unless accessLogs is true"),
        (
            {"accessLogs": "false", "logRetentionDays": "400"},
            "logRetentionDays",
            400,
            "unset unless accessLogs is true",
        ),
        (
            {"alarmEmail": "oncall@example.com"},
            "alarmEmail",
            "oncall@example.com",
            "unset unless alarms is true",
        ),
        ({"alarmTopicArn": TOPIC}, "alarmTopicArn", TOPIC, "unset unless alarms is true"),
        (
            {"alarms": False, "alarmTopicArn": TOPIC},
            "alarmTopicArn",
            TOPIC,
            "unset unless alarms is true",
        ),
        (
            {"alarms": True, "alarmEmail": "oncall@example.com", "alarmTopicArn": TOPIC},
            "alarmTopicArn",
            TOPIC,
            "one destination for alarms",
        ),
    ],
    ids=[
        "zone-name-and-id",
        "two-web-acls",
        "rate-limit-without-managed-acl",
        "retention-without-logs",
        "retention-with-logs-off",
        "email-without-alarms",
        "topic-without-alarms",
        "topic-with-alarms-off",
        "two-alarm-destinations",
    ],
)
def test_a_key_another_key_rules_out_is_named_with_its_value(
    extra: dict[str, Any], key: str, value: Any, words: str
) -> None:
    assert_names(rejection({"regions": TWO, **extra}), key, value, words)


@pytest.mark.parametrize(
    ("raw", "key", "value"),
    [
        ({"regions": TWO, "primaryRegion": "us-west-2"}, "primaryRegion", "us-west-2"),
        ({"regions": TWO, "rehearseOutage": "eu-west-1"}, "rehearseOutage", "eu-west-1"),
        ({"regions": TWO, "rehearseOutage": ["us-west-2"]}, "rehearseOutage[0]", "us-west-2"),
        ({**SIGNED_KMS, "kmsKeyArns": {"sa-east-1": KEY_US}}, "kmsKeyArns['sa-east-1']", KEY_US),
    ],
    ids=["primary", "rehearse-text", "rehearse-unknown", "kms-key-region"],
)
def test_a_region_outside_the_list_is_refused_with_the_configured_ones(
    raw: dict[str, Any], key: str, value: Any
) -> None:
    error = rejection(raw)
    assert_names(error, key, value, "configured regions")
    assert "'us-east-1'" in error.allowed and "'eu-west-1'" in error.allowed


# -- custom domain names ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Assets.Example.com."], ("assets.example.com",)),
        (["example.com"], ("example.com",)),
        (["*.example.com"], ("*.example.com",)),
        (["*.Example.COM.", "example.com"], ("*.example.com", "example.com")),
        (["a" * 63 + ".example.com"], ("a" * 63 + ".example.com",)),
    ],
    ids=["normalised", "apex", "wildcard", "wildcard-and-apex", "longest-label"],
)
def test_domain_names_are_normalised_dns_names(names: list[str], expected: tuple) -> None:
    config = parse_config({"regions": TWO, "domainNames": names, "certificateArn": CERT})
    assert config.domain_names == expected


@pytest.mark.parametrize(
    ("names", "key", "value", "words"),
    [
        ("assets.example.com", "domainNames", "assets.example.com", "a list of DNS names"),
        ([7], "domainNames[0]", 7, "a DNS name such as"),
        (["com"], "domainNames[0]", "com", "a DNS name such as"),
        (["-cdn.example.com"], "domainNames[0]", "-cdn.example.com", "a DNS name such as"),
        (["cdn_1.example.com"], "domainNames[0]", "cdn_1.example.com", "a DNS name such as"),
        (["*.cdn_1.example.com"], "domainNames[0]", "*.cdn_1.example.com", "a DNS name such as"),
        (["www.*.example.com"], "domainNames[0]", "www.*.example.com", "a DNS name such as"),
        (["*"], "domainNames[0]", "*", "a DNS name such as"),
        (
            ["assets.example.com", "www..example.com"],
            "domainNames[1]",
            "www..example.com",
            "a DNS name such as",
        ),
        (
            ["assets.example.com", "Assets.Example.com."],
            "domainNames",
            ["assets.example.com", "Assets.Example.com."],
            "each name at most once",
        ),
    ],
    ids=[
        "text",
        "number",
        "top-level",
        "leading-hyphen",
        "underscore",
        "wildcard-then-underscore",
        "wildcard-not-leftmost",
        "wildcard-alone",
        "empty-label",
        "same-name-twice",
    ],
)
def test_a_bad_domain_name_is_named_with_its_value(
    names: Any, key: str, value: Any, words: str
) -> None:
    error = rejection({"regions": TWO, "domainNames": names, "certificateArn": CERT})
    assert_names(error, key, value, words)


# -- outage rehearsals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "value", "words"),
    [
        (
            {"healthChecks": "false", "rehearseOutage": ["eu-west-1"]},
            ["eu-west-1"],
            "empty when healthChecks is false",
        ),
        (
            {"rehearseOutage": ["eu-west-1", "eu-west-1"]},
            ["eu-west-1", "eu-west-1"],
            "at most once",
        ),
        (
            {"rehearseOutage": ["eu-west-1", "us-east-1"]},
            ["eu-west-1", "us-east-1"],
            "leaves at least one region with weight above 0 healthy",
        ),
    ],
    ids=["without-health-checks", "twice", "every-region"],
)
def test_a_rehearsal_that_cannot_work_is_refused_with_its_list(
    extra: dict[str, Any], value: list[str], words: str
) -> None:
    assert_names(rejection({"regions": TWO, **extra}), "rehearseOutage", value, words)


# -- how CloudFront reads the buckets: origin access identity, SigV4, KMS ----------------


def test_new_regions_and_kms_are_allowed_when_the_edge_function_signs() -> None:
    config = parse_config({**SIGNED_KMS, "regions": WITH_NEW_REGION})
    assert config.region_names == ("us-east-1", "eu-west-1", "ap-southeast-5")
    assert (config.origin_auth, config.encryption, config.kms_key_arns) == ("sigv4", "kms", None)


@pytest.mark.parametrize("origin_auth", ["oai", "oai-to-sigv4"])
def test_a_region_an_origin_access_identity_cannot_read_needs_sigv4(origin_auth: str) -> None:
    error = rejection({"regions": WITH_NEW_REGION, "originAuth": origin_auth})
    assert_names(error, "regions[2].region", "ap-southeast-5", f"originAuth is {origin_auth!r}")
    assert "unless originAuth is 'sigv4'" in error.allowed


@pytest.mark.parametrize("origin_auth", ["oai", "oai-to-sigv4"])
def test_kms_encryption_needs_sigv4(origin_auth: str) -> None:
    error = rejection({"regions": TWO, "originAuth": origin_auth, "encryption": "kms"})
    assert_names(error, "encryption", "kms", f"while originAuth is {origin_auth!r}")
    assert "'kms' needs originAuth 'sigv4'" in error.allowed


@pytest.mark.parametrize(
    "keys",
    [{"us-east-1": KEY_US}, {"us-east-1": KEY_US, "eu-west-1": KEY_EU}, {"eu-west-1": KEY_EU}],
    ids=["one-region", "every-region", "multi-region-key"],
)
def test_given_kms_keys_are_kept_per_region(keys: dict[str, str]) -> None:
    # Regions left out get a key the component creates.
    assert parse_config({**SIGNED_KMS, "kmsKeyArns": keys}).kms_key_arns == keys


@pytest.mark.parametrize(
    ("extra", "key", "value", "words"),
    [
        (
            {"encryption": "s3", "kmsKeyArns": {"us-east-1": KEY_US}},
            "kmsKeyArns",
            {"us-east-1": KEY_US},
            "unset unless encryption is 'kms'",
        ),
        ({"kmsKeyArns": KEY_US}, "kmsKeyArns", KEY_US, "a map of region to KMS key ARN"),
        (
            {"kmsKeyArns": {"eu-west-1": KEY_US}},
            "kmsKeyArns['eu-west-1']",
            KEY_US,
            "a KMS key ARN in eu-west-1 (arn:aws:kms:eu-west-1:",
        ),
        (
            {"kmsKeyArns": {"us-east-1": "alias/assets"}},
            "kmsKeyArns['us-east-1']",
            "alias/assets",
            "a KMS key ARN in us-east-1",
        ),
        ({"kmsKeyArns": {"us-east-1": 7}}, "kmsKeyArns['us-east-1']", 7, "a KMS key ARN in"),
        (
            {"kmsKeyArns": {"us-east-1": KEY_US, "eu-west-1": KEY_EU.replace("mrk-", "")}},
            "kmsKeyArns['eu-west-1']",
            KEY_EU.replace("mrk-", ""),
            "a KMS key ARN in eu-west-1",
        ),
    ],
    ids=["without-kms", "not-a-map", "other-region", "alias", "number", "second-key"],
)
def test_a_bad_kms_key_is_named_with_its_region_and_value(
    extra: dict[str, Any], key: str, value: Any, words: str
) -> None:
    assert_names(rejection({**SIGNED_KMS, **extra}), key, value, words)


def test_kms_keys_computed_by_other_resources_are_left_to_aws() -> None:
    key = computed(KEY_US)
    config = parse_config({**SIGNED_KMS, "kmsKeyArns": {"us-east-1": key, "eu-west-1": KEY_EU}})
    assert config.kms_key_arns == {"us-east-1": key, "eu-west-1": KEY_EU}
    # The keys after a computed one are still checked, and its region still must be ours.
    error = rejection({**SIGNED_KMS, "kmsKeyArns": {"us-east-1": key, "eu-west-1": KEY_US}})
    assert_names(error, "kmsKeyArns['eu-west-1']", KEY_US, "a KMS key ARN in eu-west-1")
    error = rejection({**SIGNED_KMS, "kmsKeyArns": {"sa-east-1": key}})
    assert (error.key, error.value) == ("kmsKeyArns['sa-east-1']", key)


def test_a_kms_key_map_computed_elsewhere_is_kept_but_only_with_kms() -> None:
    keys = computed({"us-east-1": KEY_US})
    assert parse_config({**SIGNED_KMS, "kmsKeyArns": keys}).kms_key_arns is keys
    error = rejection({**SIGNED_KMS, "encryption": "s3", "kmsKeyArns": keys})
    assert (error.key, error.value) == ("kmsKeyArns", keys)
    assert "unset unless encryption is 'kms'" in error.allowed


def test_a_value_computed_by_another_resource_is_kept_for_aws_to_check() -> None:
    # e.g. cachePolicy = the id of an aws.cloudfront.CachePolicy the caller declares.
    policy_id = computed("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    assert parse_config({"regions": TWO, "cachePolicy": policy_id}).cache_policy is policy_id
