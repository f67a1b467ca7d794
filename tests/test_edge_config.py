"""``edge_config.json`` as the edge function reads it (docs/ARCHITECTURE.md 3.1).

Each case starts from the document the component renders and changes ONE field: the
value at a limit is accepted, the value just past it is refused, and the refusal names
the field, the value and what is allowed, because a refused config makes every container
fail open with that reason as its only log line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from asset_delivery import edge_handler
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler.config import (
    ConfigError,
    EdgeConfig,
    canonical_header_key,
    config_path,
    header_is_forbidden,
    load_config,
    parse_nameserver,
)
from test_edge_handler import config_arguments

ARGUMENTS = config_arguments(nameservers=["ns-1.awsdns-01.org"])
DOMAINS = ARGUMENTS["region_domains"]
DELETE = object()


def valid_document() -> dict:
    """The document the component writes for a two-region stack."""
    return json.loads(render_edge_config(**ARGUMENTS))


def changed(field: str, value: object) -> dict:
    """A valid document with the dotted ``field`` set to ``value`` (or removed)."""
    document = valid_document()
    *parents, last = field.split(".")
    section = document
    for key in parents:
        section = section[key]
    if value is DELETE:
        del section[last]
    else:
        section[last] = value
    return document


def refusal(document: object, *names: str) -> str:
    """The reason ``document`` is refused; it must mention every one of ``names``."""
    with pytest.raises(ConfigError) as caught:
        EdgeConfig(document)
    message = str(caught.value)
    for name in names:
        assert name in message, (name, message)
    return message


def test_the_rendered_document_is_accepted_as_written() -> None:
    config = EdgeConfig(valid_document())
    assert config.regions == ("us-east-1", "eu-west-1")
    assert config.region_domains == DOMAINS
    assert config.domain_regions == {domain: region for region, domain in DOMAINS.items()}
    assert config.nameservers == (("ns-1.awsdns-01.org", 53),)
    assert (config.timeout_s, config.min_ttl_s, config.max_ttl_s) == (0.3, 5, 60)
    assert (config.failover_header, config.region_header) == ("x-asset-failover", "x-asset-region")
    assert config.region_header_key == "X-Asset-Region"


# --- the document's shape ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "kind"),
    [([valid_document()], "list"), ("{}", "str"), (None, "NoneType"), (1, "int")],
)
def test_a_document_that_is_not_an_object_is_refused_naming_what_it_is(
    document: object, kind: str
) -> None:
    refusal(document, "must be a JSON object", f"got {kind}")


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("assets-use1-abc.s3.us-east-1.amazonaws.com", "None"),  # the domain, not {domain}
        ({"domain": "assets use1.s3.us-east-1.amazonaws.com"}, "'assets use1.s3."),
        ({"domain": 7}, "7"),
        ({}, "None"),
    ],
)
def test_a_region_without_a_bucket_domain_is_refused_naming_the_region(
    entry: object, shown: str
) -> None:
    refusal(
        changed("regions.us-east-1", entry),
        f"regions['us-east-1'].domain is {shown}",
        "<bucket>.s3.<region>.amazonaws.com",
    )


@pytest.mark.parametrize(
    ("field", "value", "attribute", "read"),
    [
        ("auth", DELETE, "auth", "oai"),  # a document from before sigv4 existed
        ("auth", "none", "auth", "none"),
        ("auth", "sigv4", "auth", "sigv4"),
        ("replication", "bidirectional", "replication", "bidirectional"),
        ("primary_region", "eu-west-1", "primary_region", "eu-west-1"),
        ("locality.mode", "latency", "locality_mode", "latency"),
    ],
)
def test_each_allowed_mode_is_accepted_and_auth_defaults_to_oai(
    field: str, value: object, attribute: str, read: str
) -> None:
    assert getattr(EdgeConfig(changed(field, value)), attribute) == read


@pytest.mark.parametrize(
    ("field", "value", "names"),
    [
        ("version", 2, ("version is 2", "version 1")),
        ("version", DELETE, ("version is None", "version 1")),
        ("regions", {}, ("regions must be a non-empty object",)),
        ("regions", ["us-east-1", "eu-west-1"], ("regions must be a non-empty object",)),
        ("regions", DELETE, ("regions must be a non-empty object",)),
        (
            "regions.eu-west-1.domain",
            DOMAINS["us-east-1"].upper() + ".",  # the same bucket, spelled differently
            ("two regions share one bucket domain", repr(DOMAINS["us-east-1"])),
        ),
        ("primary_region", "mars-1", ("primary_region 'mars-1'", "['us-east-1', 'eu-west-1']")),
        ("primary_region", DELETE, ("primary_region None", "['us-east-1', 'eu-west-1']")),
        (
            "replication",
            "sideways",
            ("replication is 'sideways'", "'from-primary', 'bidirectional'"),
        ),
        ("auth", "iam", ("auth is 'iam'", "'oai', 'none', 'sigv4'")),
        ("auth", None, ("auth is None", "'oai', 'none', 'sigv4'")),
        ("routing", DELETE, ("routing must be an object",)),
        ("routing", ["_routes.assets.example.com"], ("routing must be an object",)),
        (
            "routing.nameservers",
            "ns-1.awsdns-01.org",
            ("routing.nameservers is 'ns-1.awsdns-01.org'", "non-empty list"),
        ),
        ("routing.nameservers", [], ("routing.nameservers is []", "non-empty list")),
        ("locality", "weighted", ("locality is 'weighted'", "{mode, tau_ms, rtt_ms}")),
        ("locality.mode", "nearest", ("locality.mode is 'nearest'", "'weighted', 'latency'")),
        ("locality.rtt_ms", [], ("locality.rtt_ms is []", "{region: {region: ms}}")),
        (
            "locality.rtt_ms.us-west-2",
            {"us-east-1": 64.0},  # cannot rank eu-west-1
            ("locality.rtt_ms['us-west-2'] is {'us-east-1': 64.0}", "['us-east-1', 'eu-west-1']"),
        ),
        (
            "locality.rtt_ms.us-west-2",
            {"us-east-1": 64.0, "eu-west-1": 118.2, "ap-south-1": 220.0},
            ("locality.rtt_ms['us-west-2']", "'ap-south-1': 220.0", "nothing else"),
        ),
    ],
)
def test_a_bad_field_is_refused_naming_it_its_value_and_what_is_allowed(
    field: str, value: object, names: tuple[str, ...]
) -> None:
    refusal(changed(field, value), *names)


def test_a_region_with_an_empty_name_is_refused() -> None:
    document = valid_document()
    document["regions"][""] = {"domain": "assets-x.s3.eu-west-2.amazonaws.com"}
    refusal(document, "regions[''].domain is 'assets-x.s3.eu-west-2.")


# --- DNS names: region domains and the routing record ----------------------------------

# Every letter, digit, "-" and "_" in one label: the whole alphabet a label may use.
EVERY_LABEL_CHARACTER = "abcdefghijklmnopqrstuvwxyz-0123456789_"


@pytest.mark.parametrize(
    ("domain", "stored"),
    [
        ("a.s3.us-east-1.amazonaws.com", "a.s3.us-east-1.amazonaws.com"),  # 1-character label
        ("Assets-USE1.s3.us-east-1.amazonaws.com.", "assets-use1.s3.us-east-1.amazonaws.com"),
        ("legacy_assets.s3.us-east-1.amazonaws.com", "legacy_assets.s3.us-east-1.amazonaws.com"),
        (EVERY_LABEL_CHARACTER + ".s3.amazonaws.com", EVERY_LABEL_CHARACTER + ".s3.amazonaws.com"),
    ],
)
def test_region_domains_are_dns_names_stored_lower_case_without_the_root_dot(
    domain: str, stored: str
) -> None:
    config = EdgeConfig(changed("regions.us-east-1.domain", domain))
    assert config.region_domains["us-east-1"] == stored
    assert config.domain_regions[stored] == "us-east-1"


@pytest.mark.parametrize(
    "record",
    ["_routes._edge.example.com", "_routes.assets_cdn.example.com", "r.example.com"],
)
def test_a_routing_record_may_use_underscores_and_one_character_labels(record: str) -> None:
    assert EdgeConfig(changed("routing.record", record)).record == record


@pytest.mark.parametrize(
    "record",
    [
        "",
        "_",
        ".",
        "_.example.com",  # the leading "_" prefixes a label; it is not a label alone
        "_routes.assets!.example.com",
        "_routes.assets .example.com",
        7,
    ],
)
def test_a_routing_record_that_is_not_a_dns_name_is_refused(record: object) -> None:
    refusal(changed("routing.record", record), f"routing.record is {record!r}", "DNS name")


# --- header names ------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["failover_header", "region_header"])
@pytest.mark.parametrize(
    "name", ["", None, 7, "X-Asset-Region", "x_asset_region", "x asset", "x-asset:1"]
)
def test_a_header_name_must_be_a_lower_case_token(field: str, name: object) -> None:
    refusal(changed(field, name), f"{field} is {name!r}", "lower-case header name")


@pytest.mark.parametrize("field", ["failover_header", "region_header"])
@pytest.mark.parametrize("name", ["abcdefghijklmnopqrstuvwxyz-0123456789", "x", "x-cdn-2"])
def test_a_header_name_may_use_every_lower_case_letter_digit_and_hyphen(
    field: str, name: str
) -> None:
    assert getattr(EdgeConfig(changed(field, name)), field) == name


@pytest.mark.parametrize("field", ["failover_header", "region_header"])
@pytest.mark.parametrize("name", ["x-real-ip", "x-amzn-trace-id", "proxy-region"])
def test_a_header_cloudfront_forbids_is_refused_naming_it(field: str, name: str) -> None:
    refusal(changed(field, name), f"{field} {name!r}", "CloudFront forbids")


@pytest.mark.parametrize(
    ("name", "forbidden"),
    [
        ("Connection", True),
        ("X-Forwarded-Proto", True),
        ("x-cache", True),
        ("X-Edge-Location", True),
        ("x-amz-cf-id", True),
        ("x-accel-redirect", True),
        ("x-asset-region", False),
        ("x-cache-status", False),  # only the exact name x-cache is reserved
        ("x-amz-meta-region", False),  # x-amz- is allowed; x-amz-cf- is not
        ("proxy", False),  # the prefix is "proxy-"
    ],
)
def test_forbidden_headers_are_exact_names_or_prefixes_in_any_case(
    name: str, forbidden: bool
) -> None:
    assert header_is_forbidden(name) is forbidden


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("x-asset-region", "X-Asset-Region"),
        ("etag", "Etag"),
        ("x--y", "X--Y"),
        ("X-ASSET", "X-ASSET"),
        ("", ""),
    ],
)
def test_the_canonical_key_capitalises_each_hyphen_separated_part(name: str, key: str) -> None:
    assert canonical_header_key(name) == key


# --- numbers: both ends inclusive, booleans are not numbers -----------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("routing.timeout_ms", 1),
        ("routing.timeout_ms", 30_000),
        ("routing.timeout_ms", 2.5),
        ("routing.min_ttl_s", 0),
        ("routing.min_ttl_s", 60),  # equal to max_ttl_s
        ("routing.max_ttl_s", 5),  # equal to min_ttl_s
        ("routing.max_ttl_s", 86_400),
    ],
)
def test_routing_numbers_at_their_limits_are_accepted(field: str, value: float) -> None:
    config = EdgeConfig(changed(field, value))
    read = {
        "routing.timeout_ms": config.timeout_s * 1000,
        "routing.min_ttl_s": config.min_ttl_s,
        "routing.max_ttl_s": config.max_ttl_s,
    }
    assert read[field] == pytest.approx(value)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("routing.timeout_ms", 0, "[1, 30000]"),
        ("routing.timeout_ms", 30_001, "[1, 30000]"),
        ("routing.timeout_ms", True, "[1, 30000]"),
        ("routing.timeout_ms", "300", "[1, 30000]"),
        ("routing.timeout_ms", DELETE, "[1, 30000]"),
        ("routing.min_ttl_s", -1, "[0, 86400]"),
        ("routing.min_ttl_s", False, "[0, 86400]"),
        ("routing.min_ttl_s", 86_401, "[0, 86400]"),
        ("routing.max_ttl_s", 4, "[5, 86400]"),  # below min_ttl_s
        ("routing.max_ttl_s", 86_401, "[5, 86400]"),
        ("routing.max_ttl_s", True, "[5, 86400]"),
    ],
)
def test_routing_numbers_outside_their_range_are_refused_naming_the_range(
    field: str, value: object, allowed: str
) -> None:
    shown = None if value is DELETE else value
    refusal(changed(field, value), f"{field} is {shown!r}", f"a number in {allowed}")


# --- locality --------------------------------------------------------------------------


def test_without_a_locality_section_routing_is_weighted_with_the_default_tau() -> None:
    config = EdgeConfig(changed("locality", DELETE))
    assert (config.locality_mode, config.tau_ms, config.rtt_ms) == ("weighted", 20.0, {})


@pytest.mark.parametrize("tau_ms", [1, 1000, 20.5])
def test_tau_from_1_to_1000_ms_is_accepted(tau_ms: float) -> None:
    config = EdgeConfig(changed("locality.tau_ms", tau_ms))
    assert config.tau_ms == tau_ms
    assert isinstance(config.tau_ms, float)


@pytest.mark.parametrize("tau_ms", [0, 0.5, 1000.5, 1001, True, "20", None])
def test_tau_outside_1_to_1000_ms_is_refused(tau_ms: object) -> None:
    refusal(changed("locality.tau_ms", tau_ms), f"locality.tau_ms is {tau_ms!r}", "[1, 1000]")


@pytest.mark.parametrize("ms", [0, 10_000, 0.4])
def test_round_trips_from_0_to_10000_ms_are_accepted(ms: float) -> None:
    config = EdgeConfig(changed("locality.rtt_ms.us-west-2.eu-west-1", ms))
    assert config.rtt_ms["us-west-2"]["eu-west-1"] == ms


@pytest.mark.parametrize("ms", [-1, -0.1, 10_000.5, True, False, "70", None])
def test_round_trips_outside_0_to_10000_ms_are_refused_naming_the_cell(ms: object) -> None:
    refusal(
        changed("locality.rtt_ms.us-west-2.eu-west-1", ms),
        f"locality.rtt_ms['us-west-2']['eu-west-1'] is {ms!r}",
        "milliseconds in [0, 10000]",
    )


# --- name servers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("ns-1.awsdns-01.org.", ("ns-1.awsdns-01.org", 53)),
        ("ns-1.awsdns-01.org.:5353", ("ns-1.awsdns-01.org", 5353)),
        ("  192.0.2.53:53  ", ("192.0.2.53", 53)),
        ("[2001:db8::53]", ("2001:db8::53", 53)),
        ("[2001:db8::53]:5353", ("2001:db8::53", 5353)),
        ("2001:db8::53", ("2001:db8::53", 53)),
    ],
)
def test_name_server_entries_give_a_host_and_a_port(spec: str, parsed: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == parsed


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "must be a non-empty string"),
        ("   ", "must be a non-empty string"),
        (53, "must be a non-empty string"),
        (None, "must be a non-empty string"),
        ("[2001:db8::53", "expected [ipv6]:port"),  # no closing bracket
        ("[2001:db8::53]53", "expected [ipv6]:port"),
        ("[2001:db8::53]]:53", "expected [ipv6]:port"),
        ("[2001:db8::53]:", "port must be 1-65535"),
        ("[2001:db8::53]:dns", "port must be 1-65535"),
        ("ns-1.awsdns-01.org:", "port must be 1-65535"),
        ("ns-1.awsdns-01.org:-53", "port must be 1-65535"),
        (":53", "has an empty host"),
        (".", "has an empty host"),
        ("[]:53", "has an empty host"),
    ],
)
def test_a_malformed_name_server_entry_is_refused_naming_it(spec: object, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_nameserver(spec)
    message = str(caught.value)
    assert message.startswith(f"routing.nameservers entry {spec!r}")
    assert reason in message


def test_a_bad_name_server_in_the_document_is_refused_naming_the_entry() -> None:
    document = changed("routing.nameservers", ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com:0"])
    refusal(document, "routing.nameservers entry 'ns-2.awsdns-02.com:0'", "1-65535")


# --- where the file is, and reading it ----------------------------------------------------


def test_the_default_path_is_edge_config_json_at_the_archive_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The archive holds ``edge_handler/`` and ``edge_config.json`` side by side."""
    monkeypatch.delenv("EDGE_CONFIG_PATH", raising=False)
    package_dir = Path(edge_handler.__file__).resolve().parent
    assert Path(config_path()).resolve() == package_dir.parent / "edge_config.json"
    assert os.path.isabs(config_path())


def test_an_empty_edge_config_path_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_CONFIG_PATH", raising=False)
    default = config_path()
    monkeypatch.setenv("EDGE_CONFIG_PATH", "")
    assert config_path() == default


def test_edge_config_path_overrides_where_the_config_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lab" / "edge_config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(changed("primary_region", "eu-west-1")))
    monkeypatch.setenv("EDGE_CONFIG_PATH", str(path))
    assert config_path() == str(path)
    assert load_config().primary_region == "eu-west-1"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read {path}: "),
        ("{not json", "{path} is not valid JSON: "),
        ("", "{path} is not valid JSON: "),
    ],
)
def test_an_unreadable_file_is_refused_naming_the_path(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "edge_config.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert str(caught.value).startswith(expected.format(path=path))
