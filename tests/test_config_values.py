"""Stack config: the rules for single values (numbers, choices, patterns, tags, CORS).

Pure, no Pulumi runtime. Each test states a rule an operator relies on; an error must
name the key as the operator spelled it, the offending value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from typing import Any

import pulumi
import pytest
from asset_delivery.config import (
    ConfigError,
    UnknownKeyError,
    deferred,
    matching,
    one_of,
    parse_config,
    reject_unknown_keys,
    setting,
    snake_key,
    validate_tags,
    whole,
)

TWO = [{"region": "us-east-1", "weight": 50}, {"region": "eu-west-1", "weight": 50}]
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def accepted(extra: dict[str, Any]) -> Any:
    return parse_config({"regions": TWO, **extra})


def refused(extra: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config({"regions": TWO, **extra})
    return caught.value


def assert_names(error: ConfigError, key: str, value: Any, words: str) -> None:
    """The error names the key as the operator spelled it, the value and the rule."""
    assert error.key == key
    assert error.value == value
    assert type(error.value) is type(value)
    assert words in error.allowed
    assert str(error) == f"asset-delivery:{key} = {value!r} is not allowed: {error.allowed}"


class Computed:
    """Looks like a ``pulumi.Output`` only where the test says so."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def _call(*_args: Any) -> None:
    return None


# -- whole numbers ------------------------------------------------------------------------

# (key, lowest, highest, what else the key needs to be accepted)
NUMBERS = [
    ("healthCheckFailureThreshold", 1, 10, {}),
    ("routingTtl", 1, 60, {}),
    ("noncurrentVersionDays", 1, 3650, {}),
    ("originConnectionTimeout", 1, 10, {}),
    ("originConnectionAttempts", 1, 3, {}),
    ("edgeMemoryMb", 128, 3008, {}),
    ("localityTauMs", 1, 1000, {}),
    ("wafRateLimit", 10, 2_000_000_000, {"webAcl": "managed"}),
    ("logRetentionDays", 1, 3650, {"accessLogs": True}),
]
NUMBER_IDS = [row[0] for row in NUMBERS]


@pytest.mark.parametrize(("key", "low", "high", "needs"), NUMBERS, ids=NUMBER_IDS)
def test_numbers_accept_both_ends_of_their_range(
    key: str, low: int, high: int, needs: dict
) -> None:
    for value in (low, high):
        assert getattr(accepted({**needs, key: value}), snake_key(key)) == value


@pytest.mark.parametrize(("key", "low", "high", "needs"), NUMBERS, ids=NUMBER_IDS)
def test_numbers_refuse_one_past_either_end(key: str, low: int, high: int, needs: dict) -> None:
    for value in (low - 1, high + 1):
        error = refused({**needs, key: value})
        assert_names(error, key, value, f"a whole number from {low} to {high}")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("5", 5), (" 7 ", 7), ("09", 9), (5.0, 5), (60.0, 60), (1, 1)],
)
def test_whole_numbers_arrive_as_text_or_float(given: object, expected: int) -> None:
    """Stack config delivers text; other Pulumi languages send every number as a float."""
    value = accepted({"routingTtl": given}).routing_ttl
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("given", "reported"),
    [
        (True, True),  # a YAML boolean is not the number 1
        (False, False),
        (5.5, 5.5),
        ("5.0", "5.0"),
        ("five", "five"),
        ("", ""),
        ([5], [5]),
        ("61", 61),  # text is read as a number first, then judged
        (0.0, 0),
        ("-3", -3),
    ],
)
def test_what_is_not_a_whole_number_in_range_is_refused(given: object, reported: object) -> None:
    error = refused({"routingTtl": given})
    assert_names(error, "routingTtl", reported, "a whole number from 1 to 60")


def test_region_weights_span_0_to_255() -> None:
    regions = [{"region": "us-east-1", "weight": 0}, {"region": "eu-west-1", "weight": "255"}]
    assert accepted({"regions": regions}).weights == {"us-east-1": 0, "eu-west-1": 255}


def test_whole_builds_the_validator_of_a_numeric_key() -> None:
    # DeliveryConfig declares its keys once, at import; the factory's contract on its own.
    check = whole(2, 4)
    assert (check("size", 2), check("size", "4"), check("size", 3.0)) == (2, 4, 3)
    for bad in (1, 5, True, 2.5):
        with pytest.raises(ConfigError) as caught:
            check("size", bad)
        assert (caught.value.key, caught.value.value) == ("size", bad)
        assert caught.value.allowed == "a whole number from 2 to 4"


@pytest.mark.parametrize(
    ("given", "expected"), [(10, 10), (30, 30), ("10", 10), (" 30", 30), (10.0, 10), (30.0, 30)]
)
def test_health_check_interval_is_10_or_30_seconds(given: object, expected: int) -> None:
    interval = accepted({"healthCheckInterval": given}).health_check_interval
    assert interval == expected
    assert type(interval) is int


@pytest.mark.parametrize(
    ("given", "reported"),
    [(20, 20), (0, 0), ("15", 15), (True, True), ("fast", "fast"), (10.5, 10.5)],
)
def test_other_health_check_intervals_are_refused(given: object, reported: object) -> None:
    error = refused({"healthCheckInterval": given})
    assert_names(error, "healthCheckInterval", reported, "10 (fast) or 30 seconds")


# -- booleans and choices ---------------------------------------------------------------

BOOLEAN_KEYS = ["replicationTimeControl", "healthChecks", "forceDestroy", "regionHeader"]


@pytest.mark.parametrize("key", BOOLEAN_KEYS)
@pytest.mark.parametrize(
    ("given", "expected"),
    [(True, True), (False, False), ("true", True), ("False", False), ("TRUE", True)],
)
def test_booleans_come_as_yaml_booleans_or_text(key: str, given: object, expected: bool) -> None:
    assert getattr(accepted({key: given}), snake_key(key)) is expected


@pytest.mark.parametrize("key", [*BOOLEAN_KEYS, "accessLogs", "alarms"])
@pytest.mark.parametrize("given", ["yes", "on", 1, 0, "", "true "])
def test_anything_else_is_not_a_boolean(key: str, given: object) -> None:
    assert_names(refused({key: given}), key, given, "true or false")


CHOICES = [
    ("replication", "Bidirectional", "'from-primary', 'bidirectional'"),
    ("priceClass", "PriceClass_300", "'PriceClass_All', 'PriceClass_200', 'PriceClass_100'"),
    ("routingMode", "Latency", "'weighted', 'latency'"),
    ("originAuth", "SigV4", "'oai', 'oai-to-sigv4', 'sigv4'"),
    ("encryption", "aws:kms", "'s3', 'kms'"),
    ("webAcl", "true", "'managed'"),
]


@pytest.mark.parametrize(("key", "given", "allowed"), CHOICES, ids=[c[0] for c in CHOICES])
def test_choices_are_exact_and_the_error_lists_them(key: str, given: str, allowed: str) -> None:
    assert_names(refused({key: given}), key, given, "one of " + allowed)


def test_one_of_builds_the_validator_of_a_choice_key() -> None:
    check = one_of(("red", "green"))
    assert check("colour", "green") == "green"
    with pytest.raises(ConfigError) as caught:
        check("colour", "blue")
    assert (caught.value.key, caught.value.value) == ("colour", "blue")
    assert caught.value.allowed == "one of 'red', 'green'"


# -- patterns, cache policy, root object ------------------------------------------------

WAF = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/01234567-89ab-cdef-0123-456789abcdef"
DOMAIN = {"domainNames": ["assets.example.com"]}
PATTERNS = [
    # (key, accepted, refused, what else the key needs, words of the rule)
    ("routingZoneId", "Z0123456789ABCDEFGHIJ", "z0123", {}, "hosted zone id"),
    ("certificateArn", CERT, CERT.replace("us-east-1", "eu-west-1"), DOMAIN, "ACM"),
    ("webAclArn", WAF, WAF.replace("global", "regional"), {}, "scope CLOUDFRONT"),
    ("alarmEmail", "on-call+cdn@example.co.uk", "oncall@localhost", {"alarms": True}, "e-mail"),
    (
        "alarmTopicArn",
        "arn:aws:sns:us-east-1:123456789012:oncall.fifo",
        "arn:aws:sns:us-east-1:123456789012:on call",
        {"alarms": True},
        "SNS topic ARN in us-east-1",
    ),
    ("domainZoneId", "Z0123ABC", "Z0123abc", DOMAIN, "public hosted zone id"),
]


@pytest.mark.parametrize(
    ("key", "good", "bad", "needs", "words"), PATTERNS, ids=[p[0] for p in PATTERNS]
)
def test_patterned_values_are_checked_and_named(
    key: str, good: str, bad: str, needs: dict, words: str
) -> None:
    assert getattr(accepted({**needs, key: good}), snake_key(key)) == good
    for value in (bad, 12345, ["Z0123ABC"]):
        assert_names(refused({**needs, key: value}), key, value, words)


def test_matching_builds_the_validator_of_an_optional_patterned_key() -> None:
    check = matching(re.compile(r"^Z\d+$"), "a zone id such as 'Z123'")
    computed = pulumi.Output.from_input("Z1")
    assert check("zoneId", "Z1") == "Z1"
    assert check("zoneId", None) is None  # unset stays unset
    assert check("zoneId", computed) is computed  # AWS checks it at deploy time
    with pytest.raises(ConfigError) as caught:
        check("zoneId", "Z1a")
    assert (caught.value.key, caught.value.value) == ("zoneId", "Z1a")
    assert caught.value.allowed == "a zone id such as 'Z123'"


@pytest.mark.parametrize("given", ["optimized", "versioned", POLICY_ID])
def test_cache_policy_is_a_named_one_or_a_policy_id(given: str) -> None:
    assert accepted({"cachePolicy": given}).cache_policy == given


@pytest.mark.parametrize(
    "given", ["Optimized", POLICY_ID.upper(), POLICY_ID[:-1], "", 7, ["versioned"]]
)
def test_other_cache_policies_are_refused(given: object) -> None:
    assert_names(refused({"cachePolicy": given}), "cachePolicy", given, "a cache policy id")


@pytest.mark.parametrize(
    "given", ["index.html", "a", "docs/index.html", "x" * 255, "a(1)&b=c;d+e,f?g@$'!*"]
)
def test_default_root_object_is_an_object_key(given: str) -> None:
    assert accepted({"defaultRootObject": given}).default_root_object == given


@pytest.mark.parametrize("given", ["x" * 256, "", "/index.html", "my page.html", 7, "a#b"])
def test_other_default_root_objects_are_refused(given: object) -> None:
    error = refused({"defaultRootObject": given})
    assert_names(error, "defaultRootObject", given, "1-255 characters")


# -- CORS origins -------------------------------------------------------------------------


def test_cors_origins_take_up_to_25() -> None:
    origins = [f"https://h{i}.example.com" for i in range(25)]
    assert accepted({"corsOrigins": origins}).cors_origins == tuple(origins)
    error = refused({"corsOrigins": [*origins, "https://one-more.example.com"]})
    assert_names(error, "corsOrigins", [*origins, "https://one-more.example.com"], "at most 25")


@pytest.mark.parametrize(
    "given",
    ["*", "http://localhost:3000", "https://*.example.com", "https://a.b-c.example.com:443"],
)
def test_cors_origin_forms(given: str) -> None:
    assert accepted({"corsOrigins": (given,)}).cors_origins == (given,)


@pytest.mark.parametrize(
    "given",
    [
        "https://Example.com",
        "https://example.com/",
        "ftp://example.com",
        "example.com",
        "https://example.com:123456",
        "https://*",
        7,
    ],
)
def test_a_bad_cors_origin_is_named_by_its_position(given: object) -> None:
    error = refused({"corsOrigins": ["https://ok.example.com", given]})
    assert_names(error, "corsOrigins[1]", given, "(no path)")


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("https://example.com", "a list of origins"),
        ({"https://example.com": True}, "a list of origins"),
        (["https://a.example.com", "https://a.example.com"], "each origin at most once"),
    ],
)
def test_cors_origins_are_a_list_without_repeats(given: object, words: str) -> None:
    assert_names(refused({"corsOrigins": given}), "corsOrigins", given, words)


# -- tags ---------------------------------------------------------------------------------


def test_up_to_47_tags_leave_room_for_the_components_own() -> None:
    tags = {f"k{i}": "v" for i in range(47)}
    assert accepted({"tags": tags}).tags == tags
    more = {**tags, "k47": "v"}
    assert_names(refused({"tags": more}), "tags", more, "at most 47 tags")


@pytest.mark.parametrize(
    "tags",
    [
        {"a": "x"},
        {"k" * 128: "x"},
        {"team": ""},
        {"team": "v" * 256},
        {"cost center": "cc-1234 / web"},
        {"a.b:c/d=e+f-g@h_i": "j.k:l/m=n+o-p@q_r s"},
        {"aws-team": "x", "awsome": "y", "asset-delivery": "z"},
        {"équipe": "médias"},
    ],
)
def test_tags_aws_accepts_are_kept(tags: dict) -> None:
    assert accepted({"tags": tags}).tags == tags


@pytest.mark.parametrize(
    ("tags", "field", "value", "words"),
    [
        ({"k" * 129: "x"}, "tags['" + "k" * 129 + "']", "x", "a key of 1-128"),
        ({"": "x"}, "tags['']", "x", "a key of 1-128"),
        ({"AWS:createdBy": "me"}, "tags['AWS:createdBy']", "me", "reserved"),
        ({"Asset-Delivery:x": "y"}, "tags['Asset-Delivery:x']", "y", "reserved"),
        ({"team;drop": "x"}, "tags['team;drop']", "x", "a key of 1-128"),
        ({7: "x"}, "tags[7]", "x", "a key of 1-128"),
        ({"team": "v" * 257}, "tags['team']", "v" * 257, "a string of at most 256"),
        ({"team": 7}, "tags['team']", 7, "a string of at most 256"),
        ({"team": None}, "tags['team']", None, "a string of at most 256"),
        ({"team": "a|b"}, "tags['team']", "a|b", "letters, digits"),
        ({"ok": "fine", "team": "a|b"}, "tags['team']", "a|b", "letters, digits"),
    ],
)
def test_a_bad_tag_is_named_with_its_value(
    tags: dict, field: str, value: object, words: str
) -> None:
    assert_names(refused({"tags": tags}), field, value, words)


@pytest.mark.parametrize("given", ["team=media", ["team", "media"], 7])
def test_tags_are_a_map(given: object) -> None:
    assert_names(refused({"tags": given}), "tags", given, "a map of tag keys to string values")


def test_a_computed_tag_value_is_left_for_aws_and_the_rest_still_checked() -> None:
    computed = pulumi.Output.from_input("media")
    tags = accepted({"tags": {"team": computed, "tier": "web"}}).tags
    assert tags["team"] is computed and tags["tier"] == "web"
    error = refused({"tags": {"team": computed, "tier": "a|b"}})
    assert (error.key, error.value) == ("tags['tier']", "a|b")


def test_validate_tags_passes_unset_and_computed_maps_through() -> None:
    computed = pulumi.Output.from_input({"team": "media"})
    assert validate_tags(None) is None
    assert validate_tags(computed) is computed
    assert validate_tags({"team": "media"}) == {"team": "media"}


# -- values another resource computes ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pulumi.Output.from_input("x"), True),
        (pulumi.Output.secret("x"), True),
        (Computed(apply=_call, future=_call), True),  # anything shaped like an Output
        (Computed(apply=_call), False),
        (Computed(future=_call), False),
        (Computed(apply="x", future=_call), False),
        (Computed(apply=_call, future=None), False),
        ("x", False),
        ({"apply": _call, "future": _call}, False),
        (None, False),
    ],
    ids=[
        "output",
        "secret-output",
        "output-shaped",
        "apply-only",
        "future-only",
        "apply-not-callable",
        "future-not-callable",
        "text",
        "dict-with-those-keys",
        "none",
    ],
)
def test_deferred_means_shaped_like_a_pulumi_output(value: object, expected: bool) -> None:
    assert deferred(value) is expected


@pytest.mark.parametrize(
    ("key", "needs"),
    [
        ("tags", {}),
        ("routingZoneId", {}),
        ("webAclArn", {}),
        ("certificateArn", DOMAIN),
        ("defaultRootObject", {}),
        ("routingTtl", {}),
    ],
)
def test_a_computed_value_is_kept_for_aws_to_check(key: str, needs: dict) -> None:
    computed = pulumi.Output.from_input("known at deploy time")
    assert getattr(accepted({**needs, key: computed}), snake_key(key)) is computed


@pytest.mark.parametrize(
    "imitation",
    [Computed(apply=_call), Computed(future=_call), Computed(apply="x", future=_call)],
)
def test_a_value_only_half_like_an_output_is_judged_as_a_value(imitation: object) -> None:
    assert_names(refused({"tags": imitation}), "tags", imitation, "a map of tag keys")


# -- errors and the key registry --------------------------------------------------------


def test_a_config_error_carries_key_value_and_rule() -> None:
    error = ConfigError("routingTtl", 61, "a whole number from 1 to 60")
    assert (error.key, error.value, error.allowed) == (
        "routingTtl",
        61,
        "a whole number from 1 to 60",
    )
    assert (
        str(error) == "asset-delivery:routingTtl = 61 is not allowed: a whole number from 1 to 60"
    )


def test_a_renamed_error_names_the_argument_and_keeps_value_and_rule() -> None:
    error = refused({"routingTtl": 61}).renamed("routing_ttl", "MultiRegionAssetDeliveryArgs.")
    assert isinstance(error, ConfigError)
    assert (error.key, error.value) == ("routing_ttl", 61)
    assert error.allowed == "a whole number from 1 to 60"
    assert str(error) == (
        "MultiRegionAssetDeliveryArgs.routing_ttl = 61 is not allowed: a whole number from 1 to 60"
    )


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("routingTTL", "routingTtl"),
        ("tag", "tags"),
        ("corsOrigin", "corsOrigins"),
        ("alarm_email", "alarmEmail"),
    ],
)
def test_an_unknown_key_carries_the_closest_known_one(key: str, suggestion: str) -> None:
    with pytest.raises(UnknownKeyError) as caught:
        parse_config({"regions": TWO, key: "x"})
    error = caught.value
    assert isinstance(error, ConfigError)
    assert (error.key, error.suggestion) == (key, suggestion)
    assert error.value is None  # the key is the mistake; its value was never judged
    assert error.allowed == f"did you mean {suggestion}?"


def test_an_unknown_key_like_none_lists_what_is_known() -> None:
    with pytest.raises(UnknownKeyError) as caught:
        reject_unknown_keys({"size", "colour"}, ("size", "weight"), prefix="Args.", noun="argument")
    error = caught.value
    assert (error.key, error.value, error.suggestion) == ("colour", None, None)
    assert error.allowed == "known: size, weight"
    assert str(error) == "Args.colour is not a known argument; known: size, weight"


def test_a_setting_declares_a_keys_validator_and_default() -> None:
    check = whole(1, 9)

    @dataclass(frozen=True)
    class Sample:
        name: str = setting(one_of(("a", "b")), required="a or b (required)")
        size: int = setting(check, 5)
        note: str | None = setting(check, None)

    name, size, note = fields(Sample)
    assert name.default is MISSING
    assert name.metadata["required"] == "a or b (required)"
    assert name.metadata["validate"]("name", "b") == "b"
    assert (size.default, note.default) == (5, None)
    assert size.metadata["validate"] is check and note.metadata["validate"] is check
    assert Sample(name="a") == Sample("a", 5, None)
