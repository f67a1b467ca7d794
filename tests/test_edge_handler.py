"""The handler on documented events: rewrite, failover, response header, fail-open,
config loading and the routing-table cache rules (with a fake resolver and clock)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler import handler as edge
from asset_delivery.edge_handler import log, routing
from asset_delivery.edge_handler.config import ConfigError, load_config
from asset_delivery.edge_handler.table import RoutingTableCache
from asset_delivery.lab.cloudfront_rules import (
    origin_request_violations,
    origin_response_violations,
    rewrite_is_valid_or_unchanged,
)
from test_edge_locality import WEIGHTS as LATENCY_WEIGHTS
from test_edge_locality import router as latency_router
from test_edge_locality import write_config as latency_config
from test_edge_sigv4 import ENV, _signed_time, botocore_authorization, header

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
DOMAINS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": "assets-euw1-def.s3.eu-west-1.amazonaws.com",
    "ap-southeast-2": "assets-apse2-ghi.s3.ap-southeast-2.amazonaws.com",
}


def config_arguments(
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1"), **overrides: object
) -> dict[str, object]:
    """The component renderer's arguments for a valid stack of ``regions``."""
    arguments = {
        "primary_region": "us-east-1",
        "region_domains": {region: DOMAINS[region] for region in regions},
        "routing_record": "_routes.assets.example.com",
        "nameservers": ["127.0.0.1:1"],
        "replication": "from-primary",
        "min_ttl_s": 5,
        "max_ttl_s": 60,
    }
    arguments.update(overrides)
    return arguments


def write_config(
    tmp_path: Path, regions: tuple[str, ...] = ("us-east-1", "eu-west-1"), **overrides: object
) -> Path:
    """Render a config with the component's own renderer and write it to disk."""
    path = tmp_path / "edge_config.json"
    path.write_text(render_edge_config(**config_arguments(regions, **overrides)))
    return path


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeResolver:
    """Answers with ``values``/``ttl`` or raises ``error``; counts calls."""

    def __init__(self, values: list[str] | None = None, ttl: int = 30) -> None:
        self.values = values or []
        self.ttl = ttl
        self.error: Exception | None = None
        self.calls = 0

    def set_table(self, table: dict[str, int], ttl: int = 30) -> None:
        self.values = [f"v=1 region={r} weight={w}" for r, w in table.items()]
        self.ttl, self.error = ttl, None

    def __call__(self, record: str, nameservers: object, timeout_s: float):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.values), self.ttl


class _LogView:
    """The JSON lines written so far, parsed."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self._lines]

    def kinds(self) -> list[str]:
        return [entry["anomaly"] for entry in self.entries()]


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> _LogView:
    """Capture the anomaly lines (a fresh rate limiter per test)."""
    lines: list[str] = []
    monkeypatch.setattr(log, "anomaly", log.AnomalyLog(write=lines.append))
    return _LogView(lines)


@pytest.fixture
def container():
    """Restore the handler module's container state after a test replaces it."""
    saved = (edge._router, edge._config_error)
    yield edge
    edge._router, edge._config_error = saved


def event(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def make_router(tmp_path: Path, table: dict[str, int] | None = None, **config_overrides):
    regions = tuple(table) if table else ("us-east-1", "eu-west-1")
    if "regions" in config_overrides:
        regions = config_overrides.pop("regions")
    resolver = FakeResolver()
    resolver.set_table(table or {"us-east-1": 50, "eu-west-1": 50})
    clock = FakeClock()
    router = edge.build_router(
        str(write_config(tmp_path, regions, **config_overrides)), resolver=resolver, clock=clock
    )
    return router, resolver, clock


def call(container, router, evt: dict):
    container.reset_container(router)
    return container.handler(evt, None)


def uri_with_first_choice(table: dict[str, int], region: str) -> str:
    return next(
        f"/pick/{i}"
        for i in range(10_000)
        if routing.rank_regions(table, f"/pick/{i}")[0] == region
    )


# --- origin-request: the rewrite ------------------------------------------------------


def test_an_s3_origin_outside_the_topology_passes_through_with_one_log_line(
    tmp_path: Path, container, logs
) -> None:
    # The CloudFront developer guide's sample origin-request event: its bucket is not ours.
    router, resolver, _ = make_router(tmp_path)
    evt = event("origin_request_s3_oai.json")
    s3 = evt["Records"][0]["cf"]["request"]["origin"]["s3"]
    s3["domainName"], s3["region"] = "examplebucket.s3.amazonaws.com", "us-east-1"
    evt["Records"][0]["cf"]["request"]["headers"]["host"][0]["value"] = s3["domainName"]
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    assert call(container, router, evt) == original
    assert logs.kinds() == ["unknown_origin_domain"]
    assert logs.entries()[0]["domain"] == "examplebucket.s3.amazonaws.com"
    assert resolver.calls == 0  # not even a lookup for an origin we do not route


@pytest.mark.parametrize("host_key", ["Host", "HOST", "hOsT"])
def test_a_host_header_key_in_another_case_is_replaced_not_doubled(
    tmp_path: Path, container, logs, host_key: str
) -> None:
    router, _, _ = make_router(tmp_path, {"us-east-1": 0, "eu-west-1": 10})
    evt = event("origin_request_s3_oai.json")
    headers = evt["Records"][0]["cf"]["request"]["headers"]
    headers[host_key] = headers.pop("host")
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    result = call(container, router, evt)
    assert [name for name in result["headers"] if name.lower() == "host"] == ["host"]
    assert result["headers"]["host"] == [{"key": "Host", "value": DOMAINS["eu-west-1"]}]
    assert origin_request_violations(original, result) == []
    assert logs.kinds() == []


@pytest.mark.parametrize(
    "fixture", ["origin_request_s3_oai.json", "origin_request_head_query.json"]
)
def test_origin_request_rewrites_domain_region_and_host_only(
    tmp_path: Path, container, logs, fixture: str
) -> None:
    table = {"us-east-1": 0, "eu-west-1": 10}
    router, _, _ = make_router(tmp_path, table)
    evt = event(fixture)
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])

    result = call(container, router, evt)

    assert result["origin"]["s3"]["domainName"] == DOMAINS["eu-west-1"]
    assert result["origin"]["s3"]["region"] == "eu-west-1"
    assert result["headers"]["host"] == [{"key": "Host", "value": DOMAINS["eu-west-1"]}]
    assert origin_request_violations(original, result) == []
    assert rewrite_is_valid_or_unchanged(original, result, DOMAINS.values())
    for field in ("method", "querystring", "uri", "clientIp"):
        assert result[field] == original[field]
    assert result["origin"]["s3"]["path"] == original["origin"]["s3"]["path"]
    assert result["origin"]["s3"]["customHeaders"] == original["origin"]["s3"]["customHeaders"]
    assert logs.kinds() == []  # a normal request logs nothing


def test_origin_request_follows_the_weighted_ranking(tmp_path: Path, container, logs) -> None:
    table = {"us-east-1": 50, "eu-west-1": 50}
    router, _, _ = make_router(tmp_path, table)
    for region in table:
        evt = event("origin_request_s3_oai.json")
        evt["Records"][0]["cf"]["request"]["uri"] = uri_with_first_choice(table, region)
        assert call(container, router, evt)["origin"]["s3"]["region"] == region


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"])
def test_every_method_is_routed(tmp_path: Path, container, method: str) -> None:
    router, _, _ = make_router(tmp_path, {"us-east-1": 0, "eu-west-1": 1})
    evt = event("origin_request_s3_oai.json")
    evt["Records"][0]["cf"]["request"]["method"] = method
    result = call(container, router, evt)
    assert (result["method"], result["origin"]["s3"]["region"]) == (method, "eu-west-1")


def test_custom_origin_passes_through_untouched(tmp_path: Path, container, logs) -> None:
    router, resolver, _ = make_router(tmp_path)
    evt = event("origin_request_custom.json")
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    assert call(container, router, evt) == original
    assert resolver.calls == 0 and logs.kinds() == []


def test_the_returned_object_is_the_request_cloudfront_sent(tmp_path: Path, container) -> None:
    router, _, _ = make_router(tmp_path)
    evt = event("origin_request_s3_oai.json")
    assert call(container, router, evt) is evt["Records"][0]["cf"]["request"]


# --- origin-request: the failover attempt ---------------------------------------------


@pytest.mark.parametrize(
    ("replication", "first", "expected"),
    [
        ("from-primary", "eu-west-1", "us-east-1"),  # back to the source
        ("from-primary", "us-east-1", "eu-west-1"),  # source failed: next in ranking
        ("bidirectional", "eu-west-1", "us-east-1"),  # always the next in ranking
        ("bidirectional", "us-east-1", "eu-west-1"),
    ],
)
def test_failover_attempt_choice(
    tmp_path: Path, container, logs, replication: str, first: str, expected: str
) -> None:
    table = {"us-east-1": 50, "eu-west-1": 50}
    router, _, _ = make_router(tmp_path, table, replication=replication)
    evt = event("origin_request_failover.json")
    evt["Records"][0]["cf"]["request"]["uri"] = uri_with_first_choice(table, first)
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])

    result = call(container, router, evt)

    assert result["origin"]["s3"]["region"] == expected
    assert result["origin"]["s3"]["customHeaders"] == original["origin"]["s3"]["customHeaders"]
    assert origin_request_violations(original, result) == []
    [line] = logs.entries()
    assert line["anomaly"] == "failover_attempt"
    assert (line["first_choice"], line["target"]) == (first, expected)


def test_failover_from_primary_with_three_regions_prefers_the_source(
    tmp_path: Path, container
) -> None:
    table = {"us-east-1": 20, "eu-west-1": 40, "ap-southeast-2": 40}
    router, _, _ = make_router(tmp_path, table)
    for first in ("eu-west-1", "ap-southeast-2"):
        evt = event("origin_request_failover.json")
        evt["Records"][0]["cf"]["request"]["uri"] = uri_with_first_choice(table, first)
        assert call(container, router, evt)["origin"]["s3"]["region"] == "us-east-1"


@pytest.mark.parametrize("replication", ["from-primary", "bidirectional"])
def test_failover_with_one_healthy_region_never_goes_to_an_unhealthy_one(
    tmp_path: Path, container, replication: str
) -> None:
    router, resolver, _ = make_router(
        tmp_path, replication=replication, regions=("us-east-1", "eu-west-1")
    )
    resolver.set_table({"eu-west-1": 50})  # us-east-1 unhealthy: left out of the answer
    evt = event("origin_request_failover.json")
    result = call(container, router, evt)
    assert result["origin"]["s3"]["region"] == "eu-west-1"
    plain = event("origin_request_s3_oai.json")
    assert call(container, router, plain)["origin"]["s3"]["region"] == "eu-west-1"


@pytest.mark.parametrize(
    "custom_headers",
    [
        {},
        {"x-asset-failover": [{"key": "X-Asset-Failover", "value": "0"}]},
        {"x-other": [{"key": "X-Other", "value": "1"}]},
        {"x-asset-failover": "1"},
    ],
)
def test_no_marker_means_a_first_attempt(tmp_path: Path, container, logs, custom_headers) -> None:
    table = {"us-east-1": 50, "eu-west-1": 50}
    router, _, _ = make_router(tmp_path, table)
    evt = event("origin_request_failover.json")
    request = evt["Records"][0]["cf"]["request"]
    request["origin"]["s3"]["customHeaders"] = custom_headers
    request["uri"] = uri_with_first_choice(table, "eu-west-1")
    assert call(container, router, evt)["origin"]["s3"]["region"] == "eu-west-1"
    assert "failover_attempt" not in logs.kinds()


@pytest.mark.parametrize("custom_headers", ["absent", None, [], "x-asset-failover: 1"])
def test_an_origin_without_a_custom_headers_object_is_a_first_attempt(
    tmp_path: Path, container, logs, custom_headers
) -> None:
    table = {"us-east-1": 50, "eu-west-1": 50}
    router, _, _ = make_router(tmp_path, table)
    evt = event("origin_request_failover.json")
    s3 = evt["Records"][0]["cf"]["request"]["origin"]["s3"]
    if custom_headers == "absent":
        del s3["customHeaders"]
    else:
        s3["customHeaders"] = custom_headers
    evt["Records"][0]["cf"]["request"]["uri"] = uri_with_first_choice(table, "eu-west-1")
    assert call(container, router, evt)["origin"]["s3"]["region"] == "eu-west-1"
    assert "failover_attempt" not in logs.kinds()


def test_the_router_keeps_time_by_the_clock_it_was_built_with(tmp_path: Path, container) -> None:
    # The lab and the tests run containers on scaled or fake time: the TTL must expire
    # on that clock, not on the host's.
    router, resolver, clock = make_router(tmp_path)
    plain = event("origin_request_s3_oai.json")
    call(container, router, copy.deepcopy(plain))
    call(container, router, copy.deepcopy(plain))
    assert resolver.calls == 1
    clock.now += 31  # past the answer's 30 s TTL on the router's clock only
    call(container, router, copy.deepcopy(plain))
    assert resolver.calls == 2


# --- origin-response -------------------------------------------------------------------


def test_origin_response_names_the_serving_region(tmp_path: Path, container, logs) -> None:
    router, resolver, _ = make_router(tmp_path)
    evt = event("origin_response_s3.json")
    original = copy.deepcopy(evt["Records"][0]["cf"]["response"])

    result = call(container, router, evt)

    assert result is evt["Records"][0]["cf"]["response"]
    assert result["headers"]["x-asset-region"] == [{"key": "X-Asset-Region", "value": "eu-west-1"}]
    assert result["status"] == original["status"] == "200"
    assert origin_response_violations(original, result) == []
    assert {k: v for k, v in result["headers"].items() if k != "x-asset-region"} == original[
        "headers"
    ]
    assert resolver.calls == 0 and logs.kinds() == []  # no DNS needed to name a region


def test_origin_response_after_a_rewrite_names_the_rewritten_region(
    tmp_path: Path, container
) -> None:
    router, _, _ = make_router(tmp_path, {"us-east-1": 9, "eu-west-1": 0})
    request_event = event("origin_request_s3_oai.json")
    request = call(container, router, request_event)
    response_event = event("origin_response_s3.json")
    response_event["Records"][0]["cf"]["request"] = request
    response_event["Records"][0]["cf"]["response"]["status"] = "404"
    result = container.handler(response_event, None)
    assert result["headers"]["x-asset-region"][0]["value"] == "us-east-1"
    assert result["status"] == "404"


def test_origin_response_from_an_unknown_domain_is_left_alone(
    tmp_path: Path, container, logs
) -> None:
    router, _, _ = make_router(tmp_path)
    evt = event("origin_response_s3.json")
    evt["Records"][0]["cf"]["request"]["origin"]["s3"]["domainName"] = "other.s3.amazonaws.com"
    original = copy.deepcopy(evt["Records"][0]["cf"]["response"])
    assert call(container, router, evt) == original
    assert logs.kinds() == ["unknown_origin_domain"]


def test_region_header_name_comes_from_the_config(tmp_path: Path, container) -> None:
    router, _, _ = make_router(tmp_path, region_header="x-served-from")
    result = call(container, router, event("origin_response_s3.json"))
    assert result["headers"]["x-served-from"] == [{"key": "X-Served-From", "value": "eu-west-1"}]


# --- fail open -------------------------------------------------------------------------


def test_a_bug_in_ranking_fails_open_with_one_log_line(
    tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, _, _ = make_router(tmp_path)

    def broken(table, uri):
        raise RuntimeError("simulated routing bug")

    monkeypatch.setattr(routing, "rank_regions", broken)
    evt = event("origin_request_s3_oai.json")
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    assert call(container, router, evt) == original
    # The one line says what failed and where (the innermost frame: file, line, function).
    assert logs.entries() == [
        {
            "level": "error",
            "anomaly": "exception",
            "error": "RuntimeError: simulated routing bug",
            "where": f"test_edge_handler.py:{broken.__code__.co_firstlineno + 1} in broken",
        }
    ]


def test_a_ranking_outside_the_topology_fails_open(
    tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, _, _ = make_router(tmp_path)
    monkeypatch.setattr(routing, "rank_regions", lambda table, uri: ["evil-region-1"])
    evt = event("origin_request_s3_oai.json")
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    assert call(container, router, evt) == original
    assert logs.kinds() == ["exception"]


def test_a_failing_resolver_bug_is_contained_in_the_cache(tmp_path: Path, container, logs):
    router, resolver, _ = make_router(tmp_path)
    resolver.error = ZeroDivisionError("resolver bug")
    result = call(container, router, event("origin_request_s3_oai.json"))
    assert result["origin"]["s3"]["region"] in DOMAINS  # routed on equal weights
    assert logs.kinds() == ["lookup_failed"]


@pytest.mark.parametrize(
    "evt",
    [
        None,
        {},
        {"Records": []},
        {"Records": [{}]},
        {"Records": [{"cf": {}}]},
        {"Records": [{"cf": {"config": {"eventType": "origin-request"}}}]},
        {"Records": [{"cf": {"config": {"eventType": "origin-request"}, "request": {}}}]},
        {"Records": [{"cf": {"config": {}, "request": {"uri": "/"}}}]},
    ],
)
def test_malformed_events_never_raise(tmp_path: Path, container, evt) -> None:
    router, _, _ = make_router(tmp_path)
    before = copy.deepcopy(evt)
    result = call(container, router, evt)
    assert evt == before
    try:
        expected = evt["Records"][0]["cf"]["request"]
    except (TypeError, KeyError, IndexError):
        expected = None
    assert result == expected


@pytest.mark.parametrize("config", [{}, None, "missing"])
def test_a_response_event_without_an_event_type_gets_its_response_back(
    tmp_path: Path, container, config
) -> None:
    # Some published sample events (SAM CLI templates) carry no eventType.
    router, _, _ = make_router(tmp_path)
    evt = event("origin_response_s3.json")
    cf = evt["Records"][0]["cf"]
    if config == "missing":
        del cf["config"]
    else:
        cf["config"] = config if config is None else {"distributionId": "EDFDVBD6EXAMPLE"}
    original = copy.deepcopy(cf["response"])
    assert call(container, router, evt) == original


def test_a_request_event_without_an_event_type_gets_its_request_back(
    tmp_path: Path, container
) -> None:
    router, _, _ = make_router(tmp_path)
    evt = event("origin_request_s3_oai.json")
    del evt["Records"][0]["cf"]["config"]["eventType"]
    original = copy.deepcopy(evt["Records"][0]["cf"]["request"])
    assert call(container, router, evt) == original


def test_other_event_types_pass_through(tmp_path: Path, container, logs) -> None:
    router, _, _ = make_router(tmp_path)
    evt = event("origin_response_s3.json")
    evt["Records"][0]["cf"]["config"]["eventType"] = "viewer-response"
    original = copy.deepcopy(evt["Records"][0]["cf"]["response"])
    assert call(container, router, evt) == original
    assert logs.kinds() == ["unexpected_event_type"]


# --- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(primary_region="mars-1"), "primary_region"),
        (lambda d: d.update(replication="sideways"), "replication"),
        (lambda d: d.update(region_header="x-amz-cf-region"), "forbids"),
        (lambda d: d.update(failover_header="X-Upper"), "lower-case"),
        (lambda d: d["regions"]["us-east-1"].update(domain="bad domain"), "domain"),
        (lambda d: d.update(regions={}), "regions"),
        (lambda d: d["routing"].update(nameservers=[]), "nameservers"),
        (lambda d: d["routing"].update(nameservers=["ns:99999"]), "port"),
        (lambda d: d["routing"].update(timeout_ms=0), "timeout_ms"),
        (lambda d: d["routing"].update(max_ttl_s=0), "max_ttl_s"),
        (lambda d: d["routing"].pop("record"), "record"),
    ],
)
def test_invalid_configs_are_rejected_with_the_reason(tmp_path: Path, mutate, message) -> None:
    path = write_config(tmp_path)
    document = json.loads(path.read_text())
    mutate(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message):
        load_config(str(path))


def config_with(tmp_path: Path, mutate) -> Path:
    path = write_config(tmp_path)
    document = json.loads(path.read_text())
    mutate(document)
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("port", ["1", "65535"])
def test_name_server_ports_from_1_to_65535_are_accepted(tmp_path: Path, port: str) -> None:
    path = config_with(tmp_path, lambda d: d["routing"].update(nameservers=[f"[::1]:{port}"]))
    assert load_config(str(path)).nameservers == (("::1", int(port)),)


@pytest.mark.parametrize("spec", ["127.0.0.1:0", "127.0.0.1:65536", "[::1]:0", "[::1]:65536"])
def test_name_server_ports_outside_1_to_65535_are_rejected(tmp_path: Path, spec: str) -> None:
    path = config_with(tmp_path, lambda d: d["routing"].update(nameservers=[spec]))
    with pytest.raises(ConfigError, match="port must be 1-65535"):
        load_config(str(path))


# 253 characters in all, every label at most 63: the longest DNS names there are.
LONGEST_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


@pytest.mark.parametrize(
    ("record", "accepted"),
    [
        (LONGEST_NAME, True),
        ("_routes.example.com.", "_routes.example.com"),  # absolute form, trailing dot
        (LONGEST_NAME + "d", False),  # 254 characters
        ("_routes." + "a" * 63 + ".example.com", True),
        ("_routes." + "a" * 64 + ".example.com", False),
        ("_routes..example.com", False),
    ],
)
def test_the_routing_record_must_be_a_dns_name(tmp_path: Path, record: str, accepted: bool) -> None:
    path = config_with(tmp_path, lambda d: d["routing"].update(record=record))
    if accepted:
        expected = record if accepted is True else accepted
        assert load_config(str(path)).record == expected
    else:
        with pytest.raises(ConfigError, match=r"routing\.record"):
            load_config(str(path))


def test_unknown_config_keys_are_ignored(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    document = json.loads(path.read_text())
    document["future_feature"] = {"x": 1}
    document["routing"]["dnssec"] = True
    path.write_text(json.dumps(document))
    config = load_config(str(path))
    assert config.regions == ("us-east-1", "eu-west-1")


def test_nameserver_forms(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, nameservers=["ns-1.awsdns-01.org", "127.0.0.1:5353", "[::1]:53", "::1"]
    )
    assert load_config(str(path)).nameservers == (
        ("ns-1.awsdns-01.org", 53),
        ("127.0.0.1", 5353),
        ("::1", 53),
        ("::1", 53),
    )


def test_a_broken_config_fails_open_on_every_request_without_crashing(
    tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "edge_config.json"
    broken.write_text("{not json")
    monkeypatch.setenv("EDGE_CONFIG_PATH", str(broken))
    assert container.reset_container() is None
    for name in ("origin_request_s3_oai.json", "origin_response_s3.json") * 3:
        evt = event(name)
        cf = copy.deepcopy(evt["Records"][0]["cf"])
        expected = cf["response"] if "response" in cf else cf["request"]
        assert container.handler(evt, None) == expected
    # One error line at load, one for the first request; identical repeats suppressed.
    assert logs.kinds() == ["config_error", "config_unavailable"]
    assert "not valid JSON" in logs.entries()[0]["error"]


def test_a_fresh_container_with_a_missing_config_imports_and_fails_open(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from edge_handler.handler import handler\n"
        "event = json.load(open(sys.argv[1]))\n"
        "request = json.loads(json.dumps(event['Records'][0]['cf']['request']))\n"
        "assert handler(event, None) == request\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDGE_CONFIG_PATH": str(tmp_path / "none")}
    child = subprocess.run(
        [sys.executable, "-c", script, str(FIXTURES / "origin_request_s3_oai.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    lines = child.stdout.splitlines()
    assert lines[-1] == "ok"
    assert [json.loads(line)["anomaly"] for line in lines[:-1]] == [
        "config_error",
        "config_unavailable",
    ]


def test_config_is_read_from_the_archive_root_by_default(tmp_path: Path) -> None:
    """No EDGE_CONFIG_PATH: ``edge_config.json`` next to the ``edge_handler`` folder."""
    root = tmp_path / "archive"
    (root / "edge_handler").mkdir(parents=True)
    for source in (REPO / "edge_handler").glob("*.py"):
        (root / "edge_handler" / source.name).write_bytes(source.read_bytes())
    write_config(root)
    env = {k: v for k, v in os.environ.items() if k != "EDGE_CONFIG_PATH"}
    env["PYTHONPATH"] = str(root)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from edge_handler import handler; print(handler.current_router().config.regions)",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert child.stdout.strip() == "('us-east-1', 'eu-west-1')", child.stdout + child.stderr


# --- the routing-table cache (fake resolver, fake clock) -------------------------------


def make_cache(tmp_path: Path, **overrides):
    config = load_config(str(write_config(tmp_path, **overrides)))
    resolver, clock = FakeResolver(), FakeClock()
    return RoutingTableCache(config, resolver=resolver, clock=clock), resolver, clock


def test_one_lookup_per_ttl(tmp_path: Path, logs) -> None:
    cache, resolver, clock = make_cache(tmp_path)
    resolver.set_table({"us-east-1": 10, "eu-west-1": 90}, ttl=30)
    for _ in range(1000):
        assert cache.table() == {"us-east-1": 10, "eu-west-1": 90}
    clock.now += 29.9
    cache.table()
    assert resolver.calls == 1
    resolver.set_table({"eu-west-1": 90})
    clock.now += 0.1
    assert cache.table() == {"eu-west-1": 90}
    assert resolver.calls == 2 and logs.kinds() == []


@pytest.mark.parametrize(("ttl", "effective"), [(0, 5), (3, 5), (30, 30), (86_400, 60)])
def test_ttl_is_clamped_to_the_configured_bounds(tmp_path: Path, ttl: int, effective: int):
    cache, resolver, clock = make_cache(tmp_path)
    resolver.set_table({"us-east-1": 1}, ttl=ttl)
    cache.table()
    clock.now += effective - 0.01
    cache.table()
    assert resolver.calls == 1
    clock.now += 0.01
    cache.table()
    assert resolver.calls == 2


def test_failed_lookup_uses_equal_weights_then_waits_min_ttl(tmp_path: Path, logs) -> None:
    cache, resolver, clock = make_cache(tmp_path)
    resolver.error = TimeoutError("no answer")
    assert cache.table() == {"us-east-1": 1, "eu-west-1": 1}
    for _ in range(100):
        cache.table()
    assert resolver.calls == 1
    [line] = logs.entries()
    assert (line["anomaly"], line["fallback"]) == ("lookup_failed", "equal_weights")
    clock.now += 5
    cache.table()
    assert resolver.calls == 2


def test_consecutive_failures_back_off_to_max_ttl_and_a_good_answer_resets(
    tmp_path: Path, logs
) -> None:
    cache, resolver, clock = make_cache(tmp_path)  # min_ttl_s 5, max_ttl_s 60
    resolver.error = TimeoutError("no answer")
    cache.table()
    waits = []
    for _ in range(7):
        calls, started = resolver.calls, clock.now
        while resolver.calls == calls:  # step the clock until the next lookup starts
            clock.now += 0.5
            cache.table()
        waits.append(clock.now - started)
    assert waits == [5, 10, 20, 40, 60, 60, 60]
    assert logs.entries()[0]["retry_in_s"] == 5  # later lines are rate-limited
    resolver.set_table({"eu-west-1": 3}, ttl=10)
    clock.now += 60
    assert cache.table() == {"eu-west-1": 3}
    resolver.error = TimeoutError("no answer again")
    clock.now += 10
    cache.table()
    calls = resolver.calls
    clock.now += 5
    cache.table()
    assert resolver.calls == calls + 1  # back to min_ttl_s after a success


def test_a_failed_lookup_logs_what_an_operator_needs(tmp_path: Path, logs) -> None:
    cache, resolver, clock = make_cache(tmp_path)
    resolver.error = TimeoutError("no answer within 500 ms")
    cache.table()
    clock.now += 5
    resolver.error = LookupError("SERVFAIL from every name server")
    cache.table()
    # a different failure is a different line, not suppressed as a repeat of the first
    assert logs.entries() == [
        {
            "level": "warning",
            "anomaly": "lookup_failed",
            "record": "_routes.assets.example.com",
            "error": "TimeoutError: no answer within 500 ms",
            "fallback": "equal_weights",
            "table": {"us-east-1": 1, "eu-west-1": 1},
            "retry_in_s": 5,
        },
        {
            "level": "warning",
            "anomaly": "lookup_failed",
            "record": "_routes.assets.example.com",
            "error": "LookupError: SERVFAIL from every name server",
            "fallback": "equal_weights",
            "table": {"us-east-1": 1, "eu-west-1": 1},
            "retry_in_s": 10,
        },
    ]


def test_an_ignored_value_is_logged_with_the_record_and_the_reason(tmp_path: Path, logs) -> None:
    cache, resolver, _clock = make_cache(tmp_path)
    resolver.values = ["v=1 region=us-east-1 weight=5", "v=1 region=eu-west-1 weight=500"]
    cache.table()
    assert logs.entries() == [
        {
            "level": "warning",
            "anomaly": "ignored_record",
            "record": "_routes.assets.example.com",
            "value": "v=1 region=eu-west-1 weight=500",
            "reason": "weight '500' is not an integer in 0-255",
        }
    ]


def test_failed_lookup_keeps_the_last_good_table(tmp_path: Path, logs) -> None:
    cache, resolver, clock = make_cache(tmp_path)
    resolver.set_table({"us-east-1": 0, "eu-west-1": 7}, ttl=10)
    cache.table()
    clock.now += 10
    resolver.error = OSError("SERVFAIL")
    assert cache.table() == {"us-east-1": 0, "eu-west-1": 7}
    assert logs.entries()[-1]["fallback"] == "last_good"
    clock.now += 5
    resolver.set_table({"us-east-1": 3}, ttl=10)
    assert cache.table() == {"us-east-1": 3}


def test_an_answer_with_no_usable_value_is_a_failed_lookup(tmp_path: Path, logs) -> None:
    cache, resolver, _clock = make_cache(tmp_path)
    resolver.values = ["v=1 region=mars-1 weight=5", "garbage"]
    assert cache.table() == {"us-east-1": 1, "eu-west-1": 1}
    assert sorted(logs.kinds()) == ["ignored_record", "ignored_record", "lookup_failed"]


def test_ignored_values_are_logged_once_per_refresh(tmp_path: Path, logs) -> None:
    cache, resolver, _clock = make_cache(tmp_path)
    resolver.values = [
        "v=1 region=us-east-1 weight=5",
        "v=1 region=eu-west-1 weight=5 domain=evil.example.com",
        "v=1 region=eu-west-1 weight=5 domain=evil.example.com",
    ]
    for _ in range(50):
        assert cache.table() == {"us-east-1": 5}
    assert logs.kinds() == ["ignored_record"]


def test_at_most_one_lookup_in_flight(tmp_path: Path) -> None:
    cache, resolver, _clock = make_cache(tmp_path)
    resolver.set_table({"us-east-1": 1, "eu-west-1": 9})
    started, release = threading.Event(), threading.Event()
    inner = FakeResolver.__call__

    def slow(self, *args):
        started.set()
        assert release.wait(30)
        return inner(self, *args)

    resolver.__class__ = type("Slow", (FakeResolver,), {"__call__": slow})
    worker = threading.Thread(target=cache.table)
    worker.start()
    assert started.wait(30)
    tables = [cache.table() for _ in range(100)]  # do not wait, do not query again
    release.set()
    worker.join(30)
    assert tables == [{"us-east-1": 1, "eu-west-1": 1}] * 100
    assert resolver.calls == 1
    assert cache.table() == {"us-east-1": 1, "eu-west-1": 9}


def test_anomaly_log_rate_limits_identical_lines() -> None:
    lines: list[str] = []
    clock = FakeClock()
    anomaly = log.AnomalyLog(window_s=60, clock=clock, write=lines.append)
    assert anomaly("lookup_failed", key="timeout", error="t")
    assert not anomaly("lookup_failed", key="timeout", error="t")
    assert anomaly("lookup_failed", key="servfail", error="s")
    clock.now += 60
    assert anomaly("lookup_failed", key="timeout", error="t")
    assert json.loads(lines[-1])["suppressed_since_last"] == 1
    assert len(lines) == 3


# --- what CloudFront gets back and what the operator reads (issue 13) -------------------
# An operator debugging an edge location has one JSON line per anomaly and nothing else:
# every line must carry the fields that name the failure, and the rate limiter must
# suppress only true repeats (same kind, same key), never a different failure.


def _request_of(evt: dict) -> dict:
    return evt["Records"][0]["cf"]["request"]


LONG = "x" * 186  # "RuntimeError: " + LONG is exactly 200 characters


def test_exception_lines_are_suppressed_only_for_a_repeat_of_the_same_failure(
    tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    router, _, _ = make_router(tmp_path)
    failures = [
        RuntimeError("bug"),
        RuntimeError("bug"),  # a repeat: suppressed
        ValueError("bug"),  # the same text from another error type is another failure
        RuntimeError(LONG + "a.png"),
        # differs only after the first 200 characters (a URI at the end of the text):
        # one failure for the rate limiter, so a storm over many URIs logs once
        RuntimeError(LONG + "b.png"),
    ]

    def broken(table, uri):
        raise failures.pop(0)

    monkeypatch.setattr(routing, "rank_regions", broken)
    for _ in range(5):
        evt = event("origin_request_s3_oai.json")
        original = copy.deepcopy(_request_of(evt))
        assert call(container, router, evt) == original
    assert [line["error"] for line in logs.entries()] == [
        "RuntimeError: bug",
        "ValueError: bug",
        "RuntimeError: " + LONG + "a.png",  # the line itself keeps the whole text
    ]


def test_each_unexpected_event_type_is_logged_once_with_its_type(
    tmp_path: Path, container, logs
) -> None:
    router, _, _ = make_router(tmp_path)
    container.reset_container(router)
    sent = []
    for fixture, event_type in [
        ("origin_request_s3_oai.json", "viewer-request"),
        ("origin_response_s3.json", "viewer-response"),
        ("origin_response_s3.json", "viewer-response"),
    ]:
        evt = event(fixture)
        evt["Records"][0]["cf"]["config"]["eventType"] = event_type
        part = "request" if event_type.endswith("request") else "response"
        sent.append(copy.deepcopy(evt["Records"][0]["cf"][part]))
        assert container.handler(evt, None) == sent[-1]
    assert logs.entries() == [
        {"level": "warning", "anomaly": "unexpected_event_type", "event_type": "viewer-request"},
        {"level": "warning", "anomaly": "unexpected_event_type", "event_type": "viewer-response"},
    ]


def test_each_unknown_origin_domain_is_logged_once_with_the_domain(
    tmp_path: Path, container, logs
) -> None:
    router, resolver, _ = make_router(tmp_path)
    container.reset_container(router)
    for domain in ("logs.s3.amazonaws.com", "other.s3.amazonaws.com", "logs.s3.amazonaws.com"):
        evt = event("origin_request_s3_oai.json")
        _request_of(evt)["origin"]["s3"]["domainName"] = domain
        original = copy.deepcopy(_request_of(evt))
        assert container.handler(evt, None) == original
    evt = event("origin_request_s3_oai.json")
    del _request_of(evt)["origin"]["s3"]["domainName"]  # no domain at all: not ours either
    original = copy.deepcopy(_request_of(evt))
    assert container.handler(evt, None) == original
    assert logs.entries() == [
        {"level": "warning", "anomaly": "unknown_origin_domain", "domain": domain}
        for domain in ("logs.s3.amazonaws.com", "other.s3.amazonaws.com", None)
    ]
    assert resolver.calls == 0


@pytest.mark.parametrize(
    "spelling",
    [
        DOMAINS["eu-west-1"] + ".",  # the absolute form, with the root's trailing dot
        DOMAINS["eu-west-1"].upper(),
        DOMAINS["eu-west-1"].upper() + ".",
    ],
)
def test_a_topology_bucket_is_recognised_however_its_domain_is_spelled(
    tmp_path: Path, container, logs, spelling: str
) -> None:
    router, _, _ = make_router(tmp_path, {"us-east-1": 7, "eu-west-1": 0})
    request_event = event("origin_request_s3_oai.json")
    _request_of(request_event)["origin"]["s3"]["domainName"] = spelling
    routed = call(container, router, request_event)
    assert routed["origin"]["s3"]["domainName"] == DOMAINS["us-east-1"]
    response_event = event("origin_response_s3.json")
    _request_of(response_event)["origin"]["s3"]["domainName"] = spelling
    response = container.handler(response_event, None)
    assert response["headers"]["x-asset-region"] == [
        {"key": "X-Asset-Region", "value": "eu-west-1"}
    ]
    assert logs.kinds() == []


def test_failover_lines_name_the_move_and_repeat_only_per_pair(
    tmp_path: Path, container, logs
) -> None:
    table = {"us-east-1": 20, "eu-west-1": 40, "ap-southeast-2": 40}
    router, _, _ = make_router(tmp_path, table)
    container.reset_container(router)

    def uri_ranked(ranking: list[str]) -> str:
        return next(
            f"/pick/{i}"
            for i in range(10_000)
            if routing.rank_regions(table, f"/pick/{i}") == ranking
        )

    uris = [
        uri_ranked(["eu-west-1", "ap-southeast-2", "us-east-1"]),
        # the same move (eu-west-1 -> the source) with another runner-up: a repeat
        uri_ranked(["eu-west-1", "us-east-1", "ap-southeast-2"]),
        uri_ranked(["ap-southeast-2", "eu-west-1", "us-east-1"]),
    ]
    for uri in uris:
        evt = event("origin_request_failover.json")
        _request_of(evt)["uri"] = uri
        assert container.handler(evt, None)["origin"]["s3"]["region"] == "us-east-1"
    assert logs.entries() == [
        {
            "level": "warning",
            "anomaly": "failover_attempt",
            "uri": uri,
            "first_choice": first,
            "target": "us-east-1",
            "replication": "from-primary",
            "table": table,
        }
        for uri, first in [(uris[0], "eu-west-1"), (uris[2], "ap-southeast-2")]
    ]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda request: request.update(uri=None),
        lambda request: request.update(headers=[["host", "x"]]),
        lambda request: request["origin"].update(s3="assets-euw1-def"),
    ],
)
def test_a_request_of_the_wrong_shape_fails_open_naming_the_fields(
    tmp_path: Path, container, logs, breakage
) -> None:
    router, resolver, _ = make_router(tmp_path)
    evt = event("origin_request_s3_oai.json")
    breakage(_request_of(evt))
    original = copy.deepcopy(_request_of(evt))
    assert call(container, router, evt) == original
    [line] = logs.entries()
    assert line["anomaly"] == "exception"
    assert line["error"].startswith("TypeError: ")
    assert all(field in line["error"] for field in ("request.origin.s3", "headers", "uri"))
    assert resolver.calls == 0  # refused before any lookup


def test_a_response_whose_headers_are_not_an_object_comes_back_as_sent(
    tmp_path: Path, container, logs
) -> None:
    router, _, _ = make_router(tmp_path)
    evt = event("origin_response_s3.json")
    evt["Records"][0]["cf"]["response"]["headers"] = [{"key": "Server", "value": "AmazonS3"}]
    original = copy.deepcopy(evt["Records"][0]["cf"]["response"])
    assert call(container, router, evt) == original
    [line] = logs.entries()
    assert line["anomaly"] == "exception"
    assert line["error"] == "TypeError: response.headers is a list, not an object"


# CloudFront's origin has exactly one of s3/custom; an origin that declares itself custom
# (or neither) is not a bucket this function routes, on the request or the response.
ODD_ORIGINS = {
    "custom and s3": lambda origin: origin.update(
        custom={"domainName": "example.org", "port": 443, "protocol": "https"}
    ),
    "neither": lambda origin: origin.clear(),
}


@pytest.mark.parametrize("fixture", ["origin_request_s3_oai.json", "origin_response_s3.json"])
@pytest.mark.parametrize("odd", sorted(ODD_ORIGINS))
def test_an_origin_that_is_not_plainly_s3_passes_through_silently(
    tmp_path: Path, container, logs, fixture: str, odd: str
) -> None:
    router, resolver, _ = make_router(tmp_path, {"us-east-1": 9, "eu-west-1": 0})
    evt = event(fixture)
    ODD_ORIGINS[odd](_request_of(evt)["origin"])
    cf = evt["Records"][0]["cf"]
    original = copy.deepcopy(cf.get("response", cf["request"]))
    assert call(container, router, evt) == original
    assert logs.kinds() == [] and resolver.calls == 0


# --- a broken config: the container answers every event as sent -------------------------


@pytest.fixture
def broken_container(tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch):
    """A container whose config file is missing (as after a bad deploy)."""
    monkeypatch.setenv("EDGE_CONFIG_PATH", str(tmp_path / "missing.json"))
    assert container.reset_container() is None
    return container


def test_a_broken_config_is_named_in_every_line_about_it(broken_container, logs) -> None:
    for _ in range(2):
        evt = event("origin_request_s3_oai.json")
        original = copy.deepcopy(_request_of(evt))
        assert broken_container.handler(evt, None) == original
    loaded, unavailable = logs.entries()
    assert loaded["anomaly"] == "config_error" and unavailable["anomaly"] == "config_unavailable"
    assert loaded["error"].startswith("ConfigError: cannot read ")
    assert "missing.json" in loaded["error"]
    assert unavailable["error"] == loaded["error"]  # each request's line keeps the reason


def _add_response(cf: dict) -> None:
    cf["response"] = copy.deepcopy(event("origin_response_s3.json")["Records"][0]["cf"]["response"])


@pytest.mark.parametrize(
    ("fixture", "event_type", "edit", "expected"),
    [
        # a request event gets its request back, even if it carries a response too
        ("origin_request_s3_oai.json", "origin-request", _add_response, "request"),
        ("origin_request_s3_oai.json", "viewer-request", _add_response, "request"),
        ("origin_response_s3.json", "origin-response", lambda cf: None, "response"),
        ("origin_response_s3.json", "viewer-response", lambda cf: None, "response"),
        # a response event never gets a request back as its response
        ("origin_response_s3.json", "origin-response", lambda cf: cf.pop("response"), None),
    ],
)
def test_with_a_broken_config_each_event_gets_back_what_its_type_calls_for(
    broken_container, logs, fixture: str, event_type: str, edit, expected: str | None
) -> None:
    evt = event(fixture)
    cf = evt["Records"][0]["cf"]
    cf["config"]["eventType"] = event_type
    edit(cf)
    result = broken_container.handler(evt, None)
    if expected is None:
        assert result is None
    else:
        assert result is cf[expected]
    assert logs.kinds() == ["config_error", "config_unavailable"]


def test_with_a_broken_config_an_event_without_config_fails_open_with_one_line(
    broken_container, logs
) -> None:
    evt = event("origin_request_s3_oai.json")
    del evt["Records"][0]["cf"]["config"]
    original = copy.deepcopy(_request_of(evt))
    assert broken_container.handler(evt, None) == original
    assert logs.kinds() == ["config_error", "exception"]


# --- failures log one exception line, and nothing about signing that did not happen ----


@pytest.mark.parametrize("auth", ["oai", "sigv4"])
@pytest.mark.parametrize(
    "evt",
    [
        None,
        {"Records": []},
        {"Records": [{"cf": {"config": {"eventType": "origin-request"}}}]},
        {"Records": [{"cf": {"config": {"eventType": "origin-response"}, "response": {}}}]},
        {
            "Records": [
                {
                    "cf": {
                        "config": {"eventType": "origin-response"},
                        "request": {"origin": {"s3": {"domainName": DOMAINS["eu-west-1"]}}},
                        "response": {"status": "200", "headers": None},
                    }
                }
            ]
        },
    ],
)
def test_a_failure_with_nothing_to_sign_logs_only_the_exception(
    tmp_path: Path, container, logs, monkeypatch: pytest.MonkeyPatch, auth: str, evt
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    router, _, _ = make_router(tmp_path, auth=auth)
    before = copy.deepcopy(evt)
    call(container, router, evt)
    assert evt == before  # nothing signed, nothing rewritten
    assert logs.kinds() == ["exception"]


# --- sigv4: failing open signs for the configured origin --------------------------------


@pytest.fixture
def sigv4_container(tmp_path: Path, container, monkeypatch: pytest.MonkeyPatch):
    """A container in sigv4 mode with role credentials; routes on an even table."""
    for name, value in dict(ENV, AWS_SESSION_TOKEN="token-1").items():
        monkeypatch.setenv(name, value)
    router, _, _ = make_router(tmp_path, auth="sigv4")
    container.reset_container(router)
    return container


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_routed_request_is_signed_for_its_region_and_logs_nothing(
    sigv4_container, logs, region: str
) -> None:
    evt = event("origin_request_s3_oai.json")
    _request_of(evt)["uri"] = uri_with_first_choice({"us-east-1": 50, "eu-west-1": 50}, region)
    result = sigv4_container.handler(evt, None)
    assert result["origin"]["s3"]["region"] == region
    assert f"/{region}/s3/aws4_request" in header(result, "authorization")
    assert logs.kinds() == []  # signing is part of routing, not a failure to recover from


def test_failing_open_in_sigv4_mode_signs_exactly_as_s3_expects_for_the_configured_origin(
    sigv4_container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "rank_regions", lambda table, uri: ["mars-1"])
    evt = event("origin_request_s3_oai.json")
    configured = _request_of(evt)["origin"]["s3"]["domainName"]
    result = sigv4_container.handler(evt, None)
    assert result["origin"]["s3"] == {
        **event("origin_request_s3_oai.json")["Records"][0]["cf"]["request"]["origin"]["s3"],
        "authMethod": "none",  # CloudFront must not sign it again
    }
    assert header(result, "host") == configured
    expected = botocore_authorization(
        result["method"],
        configured,
        result["uri"].lstrip("/"),
        result["querystring"],
        _request_of(event("origin_request_s3_oai.json"))["origin"]["s3"]["region"],
        dict(ENV, AWS_SESSION_TOKEN="token-1"),
        _signed_time(result),
    )
    assert header(result, "authorization") == expected.headers["Authorization"]
    assert logs.kinds() == ["exception"]


def test_in_sigv4_mode_a_request_too_broken_to_sign_comes_back_as_sent_saying_why(
    sigv4_container, logs
) -> None:
    sent = []
    for breakage in (
        lambda request: request.pop("origin"),
        lambda request: request.update(origin=None),
        lambda request: request.pop("origin"),  # the same failure again: suppressed
    ):
        evt = event("origin_request_s3_oai.json")
        breakage(_request_of(evt))
        sent.append(copy.deepcopy(_request_of(evt)))
        assert sigv4_container.handler(evt, None) == sent[-1]
    unsigned = [line for line in logs.entries() if line["anomaly"] == "unsigned"]
    assert unsigned == [
        {"level": "warning", "anomaly": "unsigned", "error": "KeyError: 'origin'"},
        {"level": "warning", "anomaly": "unsigned", "error": unsigned[1]["error"]},
    ]
    assert unsigned[1]["error"].startswith("TypeError: ")
    assert logs.kinds().count("exception") == 2


def test_in_sigv4_mode_an_origin_without_a_bucket_domain_is_not_signed(
    sigv4_container, logs
) -> None:
    evt = event("origin_request_s3_oai.json")
    _request_of(evt)["origin"]["s3"] = None
    original = copy.deepcopy(_request_of(evt))
    assert sigv4_container.handler(evt, None) == original
    assert logs.kinds() == ["exception"]


def test_without_credentials_the_unsigned_line_names_the_missing_variables_and_region(
    sigv4_container, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    table = {"us-east-1": 10, "eu-west-1": 10}
    evt = event("origin_request_s3_oai.json")
    _request_of(evt)["uri"] = uri_with_first_choice(table, "us-east-1")
    result = sigv4_container.handler(evt, None)
    assert result["origin"]["s3"]["domainName"] == DOMAINS["us-east-1"]
    assert "authorization" not in result["headers"]
    [line] = logs.entries()
    assert line == {
        "level": "warning",
        "anomaly": "unsigned",
        "error": line["error"],
        "region": "us-east-1",
    }
    assert "AWS_ACCESS_KEY_ID" in line["error"] and "AWS_SECRET_ACCESS_KEY" in line["error"]


# --- latency mode: an execution region without round trips ------------------------------


def test_each_unknown_execution_region_is_logged_with_the_regions_that_are_known(
    tmp_path: Path, logs
) -> None:
    known = sorted(load_config(str(latency_config(tmp_path))).rtt_ms)
    for region in ("xx-nowhere-1", "xx-nowhere-1", "yy-nowhere-2"):
        latency_router(tmp_path, LATENCY_WEIGHTS, region)
    assert logs.entries() == [
        {
            "level": "warning",
            "anomaly": "unknown_execution_region",
            "execution_region": region,
            "known": known,
        }
        for region in ("xx-nowhere-1", "yy-nowhere-2")
    ]
