"""Stack config validation: pure, no Pulumi runtime."""

from __future__ import annotations

import pytest
from asset_delivery.config import (
    AWS_REGIONS,
    KNOWN_KEYS,
    ConfigError,
    UnknownKeyError,
    camel_key,
    component_args,
    parse_config,
)

TWO = [{"region": "us-east-1", "weight": 50}, {"region": "eu-west-1", "weight": 50}]


def test_defaults() -> None:
    config = parse_config({"regions": TWO})
    assert config.primary_region == "us-east-1"
    assert config.replication == "from-primary"
    assert config.replication_time_control is False
    assert config.health_checks is True
    assert config.routing_ttl == 10
    assert config.routing_zone_id is None
    assert config.price_class == "PriceClass_All"
    assert config.origin_connection_timeout == 3
    assert config.origin_connection_attempts == 1
    assert config.edge_memory_mb == 128
    assert (config.routing_mode, config.locality_tau_ms) == ("weighted", 20)
    assert config.weights == {"us-east-1": 50, "eu-west-1": 50}
    assert config.secondary_regions == ("eu-west-1",)


def test_full_config_is_accepted() -> None:
    config = parse_config(
        {
            "regions": [*TWO, {"region": "ap-southeast-2", "weight": 0}],
            "primaryRegion": "eu-west-1",
            "replication": "bidirectional",
            "replicationTimeControl": "true",
            "healthChecks": False,
            "healthCheckInterval": 30,
            "healthCheckFailureThreshold": 2,
            "routingZoneId": "Z0123456789ABCDEFGHIJ",
            "routingTtl": "5",
            "domainNames": ["Assets.Example.com"],
            "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
            "01234567-89ab-cdef-0123-456789abcdef",
            "priceClass": "PriceClass_100",
            "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/"
            "01234567-89ab-cdef-0123-456789abcdef",
            "noncurrentVersionDays": 7,
            "originConnectionTimeout": 2,
            "originConnectionAttempts": 2,
            "forceDestroy": True,
            "edgeMemoryMb": "3008",
            "routingMode": "latency",
            "localityTauMs": 50,
        }
    )
    assert config.primary_region == "eu-west-1"
    assert (config.edge_memory_mb, config.routing_mode, config.locality_tau_ms) == (
        3008,
        "latency",
        50,
    )
    assert config.replication_time_control is True
    assert config.routing_ttl == 5
    assert config.domain_names == ("assets.example.com",)
    assert config.weights["ap-southeast-2"] == 0


def test_rehearse_outage_accepts_regions_that_leave_one_healthy() -> None:
    config = parse_config({"regions": TWO, "rehearseOutage": ["us-east-1"]})
    assert config.rehearse_outage == ("us-east-1",)


CERT = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"

BAD_CONFIGS = [
    # (raw config, key named in the message, words the message must contain)
    ({}, "regions", "required"),
    ({"regions": TWO[:1]}, "regions", "from 2 to 8 regions"),
    ({"regions": [{"region": f"r{i}", "weight": 1} for i in range(9)]}, "regions", "2 to 8"),
    ({"regions": "us-east-1,eu-west-1"}, "regions", "a list"),
    ({"regions": [TWO[0], TWO[0]]}, "regions[1].region", "at most once"),
    (
        {"regions": [TWO[0], {"region": "eu-west-9", "weight": 1}]},
        "regions[1].region",
        "AWS region code",
    ),
    (
        {"regions": [TWO[0], {"region": "ca-west-1", "weight": 1}]},
        "regions[1].region",
        "origin access identity",
    ),
    (
        {"regions": [TWO[0], {"region": "eu-west-1", "weight": 256}]},
        "regions[1].weight",
        "0 to 255",
    ),
    ({"regions": [TWO[0], {"region": "eu-west-1", "weight": -1}]}, "regions[1].weight", "0 to 255"),
    (
        {"regions": [TWO[0], {"region": "eu-west-1", "weight": 1.5}]},
        "regions[1].weight",
        "whole number",
    ),
    (
        {"regions": [TWO[0], {"region": "eu-west-1", "weight": True}]},
        "regions[1].weight",
        "whole number",
    ),
    ({"regions": [TWO[0], {"region": "eu-west-1"}]}, "regions[1].weight", "0 to 255"),
    (
        {"regions": [TWO[0], {"region": "eu-west-1", "weight": 1, "w": 2}]},
        "regions[1].w",
        "only 'region' and 'weight'",
    ),
    ({"regions": [TWO[0], "eu-west-1"]}, "regions[1]", "an object"),
    (
        {"regions": [{"region": "us-east-1", "weight": 0}, {"region": "eu-west-1", "weight": 0}]},
        "regions",
        "at least one weight above 0",
    ),
    ({"regions": TWO, "primaryRegion": "us-west-2"}, "primaryRegion", "configured regions"),
    ({"regions": TWO, "replication": "both"}, "replication", "'from-primary', 'bidirectional'"),
    ({"regions": TWO, "replicationTimeControl": "yes"}, "replicationTimeControl", "true or false"),
    ({"regions": TWO, "healthChecks": 1}, "healthChecks", "true or false"),
    ({"regions": TWO, "healthCheckInterval": 15}, "healthCheckInterval", "10 (fast) or 30"),
    ({"regions": TWO, "healthCheckFailureThreshold": 0}, "healthCheckFailureThreshold", "1 to 10"),
    ({"regions": TWO, "routingTtl": 0}, "routingTtl", "1 to 60"),
    ({"regions": TWO, "routingTtl": 61}, "routingTtl", "1 to 60"),
    ({"regions": TWO, "routingZoneId": "example.com"}, "routingZoneId", "hosted zone id"),
    ({"regions": TWO, "routingZoneName": "com"}, "routingZoneName", "two or more labels"),
    (
        {"regions": TWO, "routingZoneId": "Z0123456789ABCDEFGHIJ", "routingZoneName": "a.b.com"},
        "routingZoneName",
        "unset when routingZoneId is set",
    ),
    (
        {"regions": TWO, "domainNames": ["assets.example.com"]},
        "certificateArn",
        "when domainNames is set",
    ),
    ({"regions": TWO, "certificateArn": CERT}, "domainNames", "when certificateArn is set"),
    (
        {"regions": TWO, "domainNames": ["not a name"], "certificateArn": CERT},
        "domainNames[0]",
        "DNS name",
    ),
    (
        {
            "regions": TWO,
            "domainNames": ["a.example.com"],
            "certificateArn": CERT.replace("us-east-1", "eu-west-1"),
        },
        "certificateArn",
        "us-east-1",
    ),
    ({"regions": TWO, "priceClass": "PriceClass_50"}, "priceClass", "PriceClass_All"),
    (
        {"regions": TWO, "webAclArn": "arn:aws:wafv2:eu-west-1:1:regional/webacl/x/y"},
        "webAclArn",
        "scope CLOUDFRONT",
    ),
    ({"regions": TWO, "noncurrentVersionDays": 0}, "noncurrentVersionDays", "1 to 3650"),
    ({"regions": TWO, "originConnectionTimeout": 11}, "originConnectionTimeout", "1 to 10"),
    ({"regions": TWO, "originConnectionAttempts": 4}, "originConnectionAttempts", "1 to 3"),
    ({"regions": TWO, "forceDestroy": "maybe"}, "forceDestroy", "true or false"),
    ({"regions": TWO, "edgeMemoryMb": 127}, "edgeMemoryMb", "128 to 3008"),
    ({"regions": TWO, "edgeMemoryMb": 3009}, "edgeMemoryMb", "128 to 3008"),
    ({"regions": TWO, "edgeMemoryMb": 256.5}, "edgeMemoryMb", "whole number"),
    ({"regions": TWO, "routingMode": "nearest"}, "routingMode", "'weighted', 'latency'"),
    ({"regions": TWO, "localityTauMs": 0}, "localityTauMs", "1 to 1000"),
    ({"regions": TWO, "localityTauMs": 1001}, "localityTauMs", "1 to 1000"),
    ({"regions": TWO, "localityTauMs": True}, "localityTauMs", "whole number"),
    ({"regions": TWO, "rehearseOutage": "eu-west-1"}, "rehearseOutage", "a list"),
    ({"regions": TWO, "rehearseOutage": ["us-west-2"]}, "rehearseOutage[0]", "configured regions"),
    (
        {"regions": TWO, "rehearseOutage": ["eu-west-1", "us-east-1"]},
        "rehearseOutage",
        "at least one region with weight above 0 healthy",
    ),
    (
        {"regions": TWO, "rehearseOutage": ["eu-west-1", "eu-west-1"]},
        "rehearseOutage",
        "at most once",
    ),
    (
        {"regions": TWO, "healthChecks": False, "rehearseOutage": ["eu-west-1"]},
        "rehearseOutage",
        "healthChecks is false",
    ),
]


@pytest.mark.parametrize(
    ("raw", "key", "words"),
    BAD_CONFIGS,
    ids=[case[1] + "-" + str(i) for i, case in enumerate(BAD_CONFIGS)],
)
def test_bad_config_names_key_value_and_rule(raw: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    error = caught.value
    assert error.key == key
    message = str(error)
    assert message.startswith(f"asset-delivery:{key} = ")
    assert words in message
    assert "is not allowed" in message


def test_bad_value_is_quoted_in_the_message() -> None:
    with pytest.raises(ConfigError, match=r"replication = 'sideways'"):
        parse_config({"regions": TWO, "replication": "sideways"})


def test_region_catalogue_has_the_prod_regions() -> None:
    assert {"us-east-1", "eu-west-1"} <= AWS_REGIONS


def test_tags_are_kept_and_default_to_none() -> None:
    assert parse_config({"regions": TWO}).tags is None
    tags = {"team": "media", "cost center": "cc-1234 / web"}
    assert parse_config({"regions": TWO, "tags": tags}).tags == tags


@pytest.mark.parametrize(
    ("tags", "field", "words"),
    [
        ("team=media", "tags", "a map of tag keys"),
        ({"aws:createdBy": "me"}, "tags['aws:createdBy']", "reserved"),
        ({"asset-delivery:component": "x"}, "tags['asset-delivery:component']", "reserved"),
        ({"": "x"}, "tags['']", "a key of 1-128"),
        ({"team": 7}, "tags['team']", "a string of at most 256"),
        ({"team": "a" * 257}, "tags['team']", "a string of at most 256"),
        ({"team": "media;drop"}, "tags['team']", "letters, digits"),
        ({f"k{i}": "v" for i in range(48)}, "tags", "at most 47 tags"),
    ],
)
def test_bad_tags_are_named(tags: object, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, "tags": tags})
    assert str(caught.value).startswith(f"asset-delivery:{field} = ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("routingTTL", "asset-delivery:routingTTL is not a known key; did you mean routingTtl?"),
        (
            "forcedestroy",
            "asset-delivery:forcedestroy is not a known key; did you mean forceDestroy?",
        ),
        ("region", "asset-delivery:region is not a known key; did you mean regions?"),
        (
            "healthCheck",
            "asset-delivery:healthCheck is not a known key; did you mean healthChecks?",
        ),
    ],
)
def test_unknown_key_names_the_closest_known_one(key: str, message: str) -> None:
    with pytest.raises(UnknownKeyError) as caught:
        parse_config({"regions": TWO, key: 55})
    assert str(caught.value) == message


def test_unknown_key_without_a_close_one_lists_every_known_key() -> None:
    with pytest.raises(UnknownKeyError) as caught:
        parse_config({"regions": TWO, "colour": "blue"})
    message = str(caught.value)
    assert message.startswith("asset-delivery:colour is not a known key; known: regions, ")
    assert all(key in message for key in KNOWN_KEYS)


def test_unknown_key_is_reported_before_any_value_is_checked() -> None:
    with pytest.raises(UnknownKeyError, match="routingTTL"):
        parse_config({"regions": "not a list", "routingTTL": 55})


def test_component_args_give_the_same_config_back() -> None:
    config = parse_config(
        {
            "regions": [*TWO, {"region": "ap-southeast-2", "weight": 0}],
            "primaryRegion": "eu-west-1",
            "routingTtl": "5",
            "rehearseOutage": ["us-east-1"],
            "domainNames": ["assets.example.com"],
            "certificateArn": CERT,
        }
    )
    args = component_args(config)
    assert args["regions"][2] == {"region": "ap-southeast-2", "weight": 0}
    assert args["routing_ttl"] == 5
    assert "routing_zone_id" not in args  # unset stays unset
    again = parse_config({camel_key(name): value for name, value in args.items()})
    assert again == config


def test_delivery_options_defaults() -> None:
    config = parse_config({"regions": TWO})
    assert (config.web_acl, config.waf_rate_limit) == (None, None)
    assert parse_config({"regions": TWO, "webAcl": "managed"}).waf_rate_limit == 2000
    assert config.cache_policy == "optimized"
    assert config.cors_origins == ()
    assert config.default_root_object is None
    assert config.region_header is True


def test_delivery_options_are_accepted() -> None:
    config = parse_config(
        {
            "regions": TWO,
            "webAcl": "managed",
            "wafRateLimit": "300",
            "cachePolicy": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            "corsOrigins": ["*", "https://fonts.example.com:8443", "https://*.example.org"],
            "defaultRootObject": "docs/index.html",
            "regionHeader": "false",
        }
    )
    assert (config.web_acl, config.waf_rate_limit) == ("managed", 300)
    assert config.cache_policy == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert len(config.cors_origins) == 3
    assert config.default_root_object == "docs/index.html"
    assert config.region_header is False


ARN_WAF = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/01234567-89ab-cdef-0123-456789abcdef"
)


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"webAcl": "yes"}, "webAcl", "one of 'managed'"),
        ({"webAcl": "managed", "webAclArn": ARN_WAF}, "webAclArn", "unset when webAcl"),
        ({"wafRateLimit": 100}, "wafRateLimit", "unset unless webAcl is 'managed'"),
        ({"webAcl": "managed", "wafRateLimit": 9}, "wafRateLimit", "10 to 2000000000"),
        ({"cachePolicy": "CachingOptimized"}, "cachePolicy", "'optimized'"),
        ({"corsOrigins": "https://example.com"}, "corsOrigins", "a list of origins"),
        ({"corsOrigins": ["https://example.com/fonts"]}, "corsOrigins[0]", "no path"),
        ({"corsOrigins": ["https://a.com", "https://a.com"]}, "corsOrigins", "at most once"),
        ({"corsOrigins": [f"https://h{i}.com" for i in range(26)]}, "corsOrigins", "at most 25"),
        ({"defaultRootObject": "/index.html"}, "defaultRootObject", "without a leading '/'"),
        ({"defaultRootObject": "my page.html"}, "defaultRootObject", "spaces"),
        ({"regionHeader": "maybe"}, "regionHeader", "true or false"),
    ],
)
def test_bad_delivery_options_are_named(extra: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, **extra})
    assert str(caught.value).startswith(f"asset-delivery:{field} = ")
    assert words in str(caught.value)


def test_domain_zone_lets_the_component_request_the_certificate() -> None:
    config = parse_config(
        {"regions": TWO, "domainNames": ["assets.example.com"], "domainZoneId": "Z0123ABC"}
    )
    assert config.domain_zone_id == "Z0123ABC"
    assert config.certificate_arn is None


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"domainNames": ["assets.example.com"]}, "certificateArn", "without domainZoneId"),
        ({"domainZoneId": "Z0123ABC"}, "domainNames", "when domainZoneId is set"),
        ({"domainNames": ["a.example.com"], "domainZoneId": "example.com"}, "domainZoneId", "zone"),
    ],
)
def test_bad_custom_domain_settings_are_named(extra: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, **extra})
    assert str(caught.value).startswith(f"asset-delivery:{field} = ")
    assert words in str(caught.value)


def test_access_logs_keep_logs_90_days_unless_told() -> None:
    assert parse_config({"regions": TWO}).access_logs is False
    assert parse_config({"regions": TWO}).log_retention_days is None
    config = parse_config({"regions": TWO, "accessLogs": "true"})
    assert (config.access_logs, config.log_retention_days) == (True, 90)
    config = parse_config({"regions": TWO, "accessLogs": True, "logRetentionDays": "400"})
    assert config.log_retention_days == 400


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"accessLogs": "yes"}, "accessLogs", "true or false"),
        ({"logRetentionDays": 30}, "logRetentionDays", "unset unless accessLogs is true"),
        ({"accessLogs": True, "logRetentionDays": 3651}, "logRetentionDays", "1 to 3650"),
    ],
)
def test_bad_access_log_settings_are_named(extra: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, **extra})
    assert str(caught.value).startswith(f"asset-delivery:{field} = ")
    assert words in str(caught.value)


# --- boundaries and rules the mutation run found unpinned (docs/testing.md) -------------

EIGHT_OAI_REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "eu-west-1", "eu-west-2", "eu-central-1", "ap-southeast-2",
]  # fmt: skip


def test_exactly_eight_regions_are_allowed() -> None:
    regions = [{"region": region, "weight": 10} for region in EIGHT_OAI_REGIONS]
    assert len(parse_config({"regions": regions}).regions) == 8
    with pytest.raises(ConfigError, match="from 2 to 8 regions"):
        parse_config({"regions": [*regions, {"region": "eu-west-3", "weight": 10}]})


def test_weight_1_is_traffic() -> None:
    # The smallest share a region can carry: not a drain, for either rule.
    light = [{"region": "us-east-1", "weight": 1}, {"region": "eu-west-1", "weight": 1}]
    assert parse_config({"regions": light}).weights == {"us-east-1": 1, "eu-west-1": 1}
    config = parse_config({"regions": [TWO[0], light[1]], "rehearseOutage": ["us-east-1"]})
    assert config.rehearse_outage == ("us-east-1",)


def test_rehearse_outage_must_leave_a_region_that_carries_traffic() -> None:
    # A healthy region with weight 0 carries nothing: rehearsing every region with
    # weight above 0 would take the whole service down, not rehearse a failover.
    three = [*TWO, {"region": "ap-southeast-2", "weight": 0}]
    with pytest.raises(ConfigError) as error:
        parse_config({"regions": three, "rehearseOutage": ["us-east-1", "eu-west-1"]})
    assert error.value.key == "rehearseOutage"
    assert "at least one region with weight above 0 healthy" in str(error.value)
    kept = parse_config({"regions": three, "rehearseOutage": ["us-east-1", "ap-southeast-2"]})
    assert kept.rehearse_outage == ("us-east-1", "ap-southeast-2")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Routing.Example.com.", "routing.example.com"),
        ("example.com", "example.com"),
        ("a" * 63 + ".example.com", "a" * 63 + ".example.com"),
        ("x-1.example.com", "x-1.example.com"),
    ],
)
def test_routing_zone_name_is_a_normalised_dns_name(value: str, expected: str) -> None:
    assert parse_config({"regions": TWO, "routingZoneName": value}).routing_zone_name == expected


@pytest.mark.parametrize(
    "value",
    ["example", "a" * 64 + ".example.com", "-x.example.com", "x-.example.com", "a..com", 7, ""],
)
def test_routing_zone_name_rejects_what_route53_cannot_host(value: object) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"regions": TWO, "routingZoneName": value})
    assert error.value.key == "routingZoneName"
    assert error.value.value == value
    assert "two or more labels" in str(error.value)


def test_routing_zone_name_and_zone_id_exclude_each_other() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(
            {
                "regions": TWO,
                "routingZoneId": "Z0123456789ABCDEFGHIJ",
                "routingZoneName": "routing.example.com",
            }
        )
    assert error.value.key == "routingZoneName"
    assert "unset when routingZoneId is set" in str(error.value)


def test_alarms_need_exactly_one_destination() -> None:
    config = parse_config({"regions": TWO, "alarms": True, "alarmEmail": "oncall@example.com"})
    assert (config.alarms, config.alarm_email, config.alarm_topic_arn) == (
        True,
        "oncall@example.com",
        None,
    )
    topic = "arn:aws:sns:us-east-1:123456789012:oncall"
    config = parse_config({"regions": TWO, "alarms": "true", "alarmTopicArn": topic})
    assert config.alarm_topic_arn == topic


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"alarms": True}, "alarmEmail", "or alarmTopicArn, when alarms is true"),
        ({"alarmEmail": "oncall@example.com"}, "alarmEmail", "unset unless alarms is true"),
        (
            {"alarms": True, "alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall"},
            "alarmTopicArn",
            "in us-east-1",
        ),
        (
            {
                "alarms": True,
                "alarmEmail": "oncall@example.com",
                "alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:oncall",
            },
            "alarmTopicArn",
            "unset when alarmEmail is set",
        ),
        ({"alarms": True, "alarmEmail": "not an address"}, "alarmEmail", "e-mail address"),
    ],
)
def test_bad_alarm_settings_are_named(extra: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, **extra})
    assert str(caught.value).startswith(f"asset-delivery:{field} = ")
    assert words in str(caught.value)
