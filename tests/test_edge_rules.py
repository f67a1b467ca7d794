"""lab/cloudfront_rules.py catches each documented way a function result gets a 502."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from asset_delivery.lab.cloudfront_rules import (
    header_disallowed,
    origin_request_violations,
    origin_response_violations,
    rewrite_is_valid_or_unchanged,
)

FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
EU = "assets-euw1-def.s3.eu-west-1.amazonaws.com"
TOPOLOGY = ["assets-use1-abc.s3.us-east-1.amazonaws.com", EU]


def load(name: str, part: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["Records"][0]["cf"][part]


@pytest.fixture
def request_event() -> dict:
    return load("origin_request_s3_oai.json", "request")


def rewritten(request: dict) -> dict:
    result = copy.deepcopy(request)
    result["origin"]["s3"].update(domainName=EU, region="eu-west-1")
    result["headers"]["host"] = [{"key": "Host", "value": EU}]
    return result


def test_unchanged_and_correct_rewrites_are_valid(request_event: dict) -> None:
    assert origin_request_violations(request_event, copy.deepcopy(request_event)) == []
    assert origin_request_violations(request_event, rewritten(request_event)) == []
    assert rewrite_is_valid_or_unchanged(request_event, request_event, [])
    assert rewrite_is_valid_or_unchanged(request_event, rewritten(request_event), TOPOLOGY)


def _set_header(name: str, value: str) -> Callable[[dict], None]:
    def apply(request: dict) -> None:
        request["headers"][name] = [{"key": name.title(), "value": value}]

    return apply


BREAKAGES: dict[str, Callable[[dict], None]] = {
    "adds Connection": _set_header("connection", "close"),
    "adds X-Amz-Cf-Id": _set_header("x-amz-cf-id", "abc"),
    "adds Proxy-Foo": _set_header("proxy-foo", "1"),
    "adds X-Edge-Location": _set_header("x-edge-location", "1"),
    "adds X-Forwarded-Proto": _set_header("x-forwarded-proto", "https"),
    "changes Via (read-only)": _set_header("via", "1.1 me"),
    "changes Accept-Encoding (read-only)": _set_header("accept-encoding", "br"),
    "adds If-Modified-Since (read-only)": _set_header("if-modified-since", "x"),
    "removes If-None-Match (read-only)": lambda r: r["headers"].pop("if-none-match"),
    "upper-case header key": lambda r: r["headers"].update(
        {"X-Thing": [{"key": "X-Thing", "value": "1"}]}
    ),
    "key does not match name": lambda r: r["headers"].update(
        {"x-thing": [{"key": "X-Other", "value": "1"}]}
    ),
    "header value not a string": lambda r: r["headers"].update(
        {"x-thing": [{"key": "X-Thing", "value": 1}]}
    ),
    "header value with CRLF": _set_header("x-thing", "a\r\nb: c"),
    "empty header list": lambda r: r["headers"].update({"x-thing": []}),
    "method changed": lambda r: r.update(method="POST"),
    "clientIp changed": lambda r: r.update(clientIp="192.0.2.1"),
    "uri without slash": lambda r: r.update(uri="images/logo.png"),
    "querystring not a string": lambda r: r.update(querystring=None),
    "both origins": lambda r: r["origin"].update(custom={"domainName": "x"}),
    "no origin": lambda r: r.update(origin={}),
    "empty domain": lambda r: r["origin"]["s3"].update(domainName=""),
    "domain with scheme": lambda r: r["origin"]["s3"].update(domainName="https://x.com"),
    "OAI without region": lambda r: r["origin"]["s3"].pop("region"),
    "bad authMethod": lambda r: r["origin"]["s3"].update(authMethod="oac"),
    "path with trailing slash": lambda r: r["origin"]["s3"].update(path="/a/"),
    "domain rewritten, Host not": _set_header("host", TOPOLOGY[0]),
    "domain rewritten, no Host": lambda r: r["headers"].pop("host"),
    "response instead of request": lambda r: r.update(status="200"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_each_documented_violation_is_reported(request_event: dict, breakage: str) -> None:
    result = rewritten(request_event)
    BREAKAGES[breakage](result)
    assert origin_request_violations(request_event, result), breakage
    assert not rewrite_is_valid_or_unchanged(request_event, result, TOPOLOGY)


def test_a_result_that_is_not_an_object_is_reported(request_event: dict) -> None:
    assert origin_request_violations(request_event, None)
    assert origin_response_violations({"status": "200", "headers": {}}, "oops")


def test_rewrite_outside_the_topology_or_beyond_the_three_fields_is_rejected(
    request_event: dict,
) -> None:
    assert not rewrite_is_valid_or_unchanged(request_event, rewritten(request_event), TOPOLOGY[:1])
    extra = rewritten(request_event)
    extra["headers"]["x-debug"] = [{"key": "X-Debug", "value": "1"}]
    assert origin_request_violations(request_event, extra) == []  # CloudFront would accept
    assert not rewrite_is_valid_or_unchanged(request_event, extra, TOPOLOGY)  # we would not


def test_origin_response_rules() -> None:
    original = load("origin_response_s3.json", "response")
    good = copy.deepcopy(original)
    good["headers"]["x-asset-region"] = [{"key": "X-Asset-Region", "value": "eu-west-1"}]
    assert origin_response_violations(original, good) == []
    for mutate in (
        lambda r: r.update(status="302"),
        lambda r: r.update(status=200),
        lambda r: r["headers"].update({"x-cache": [{"key": "X-Cache", "value": "Hit"}]}),
        lambda r: r["headers"].update({"via": [{"key": "Via", "value": "x"}]}),
        lambda r: r["headers"].update({"transfer-encoding": [{"key": "T", "value": "x"}]}),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        assert origin_response_violations(original, bad)


@pytest.mark.parametrize(
    ("name", "disallowed"),
    [
        ("Connection", True),
        ("X-Accel-Redirect", True),
        ("x-amzn-trace-id", True),
        ("X-Real-IP", True),
        ("Proxy-Authorization", True),
        ("x-asset-region", False),
        ("host", False),
        ("x-amz-meta-color", False),
    ],
)
def test_disallowed_header_names(name: str, disallowed: bool) -> None:
    assert header_disallowed(name) is disallowed
