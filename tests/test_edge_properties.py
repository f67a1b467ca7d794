"""Property tests: whatever CloudFront or DNS sends, the function never raises, and its
answer is either the unchanged request or a rewrite CloudFront accepts that routes to
a topology bucket (checked with lab/cloudfront_rules.py, the lab's own check)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler import handler as edge
from asset_delivery.edge_handler import log, routing
from asset_delivery.lab.cloudfront_rules import (
    origin_request_violations,
    origin_response_violations,
    rewrite_is_valid_or_unchanged,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
DOMAINS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": "assets-euw1-def.s3.eu-west-1.amazonaws.com",
    "ap-southeast-2": "assets-apse2-ghi.s3.ap-southeast-2.amazonaws.com",
}
REGIONS = tuple(DOMAINS)
FIXTURE_EVENTS = [
    json.loads((FIXTURES / name).read_text())
    for name in sorted(p.name for p in FIXTURES.glob("*.json"))
]
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class TableResolver:
    def __init__(self, values: list[str]) -> None:
        self.values = values

    def __call__(self, record: str, nameservers: object, timeout_s: float):
        return list(self.values), 30


@pytest.fixture(scope="module")
def config_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    paths = {}
    for replication in ("from-primary", "bidirectional"):
        path = tmp_path_factory.mktemp(replication) / "edge_config.json"
        path.write_text(
            render_edge_config(
                primary_region="us-east-1",
                region_domains=DOMAINS,
                routing_record="_routes.assets.example.com",
                nameservers=["127.0.0.1:1"],
                replication=replication,
            )
        )
        paths[replication] = str(path)
    return paths


@pytest.fixture(autouse=True)
def quiet_container(monkeypatch: pytest.MonkeyPatch):
    """Discard anomaly lines and restore the module's container afterwards."""
    monkeypatch.setattr(log, "anomaly", log.AnomalyLog(write=lambda line: None))
    saved = (edge._router, edge._config_error)
    yield
    edge._router, edge._config_error = saved


def install(config_paths: dict[str, str], replication: str, values: list[str]) -> None:
    edge.reset_container(
        edge.build_router(config_paths[replication], resolver=TableResolver(values))
    )


# --- strategies -------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
header_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True).filter(
    lambda name: name != "host"
)
header_values = st.text(
    st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=40
)
route_values = st.one_of(
    st.builds(
        "v=1 region={} weight={}".format,
        st.sampled_from([*REGIONS, "mars-north-1", ""]),
        st.integers(-5, 300),
    ),
    st.builds(
        "v=1 region={} weight={} domain={}".format,
        st.sampled_from(REGIONS),
        st.integers(0, 255),
        st.sampled_from(["evil.example.com", DOMAINS["eu-west-1"]]),
    ),
    st.text(max_size=60),
)
tables = st.dictionaries(st.sampled_from(REGIONS), st.integers(0, 255), max_size=3)


def _headers(names: list[str], values: list[str]) -> dict:
    return {
        name: [{"key": name.title(), "value": value}]
        for name, value in zip(names, values, strict=False)
    }


@st.composite
def valid_origin_requests(draw: st.DrawFn) -> dict:
    """Origin-request events within what CloudFront documents it sends."""
    names = draw(st.lists(header_names, max_size=5, unique=True))
    headers = _headers(names, draw(st.lists(header_values, min_size=len(names))))
    origin_domain = draw(st.sampled_from([*DOMAINS.values(), "legacy.s3.amazonaws.com"]))
    headers["host"] = [{"key": "Host", "value": origin_domain}]
    custom_names = draw(st.lists(header_names, max_size=2, unique=True))
    custom = _headers(custom_names, draw(st.lists(header_values, min_size=len(custom_names))))
    if draw(st.booleans()):
        custom["x-asset-failover"] = [
            {"key": "X-Asset-Failover", "value": draw(st.sampled_from(["1", "0", ""]))}
        ]
    auth = draw(st.sampled_from(["origin-access-identity", "none"]))
    request = {
        "clientIp": draw(st.sampled_from(["203.0.113.9", "2001:db8::7"])),
        "headers": headers,
        "method": draw(st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"])),
        "origin": {
            "s3": {
                "authMethod": auth,
                "customHeaders": custom,
                "domainName": origin_domain,
                "path": draw(st.sampled_from(["", "/public", "/a/b"])),
                "region": draw(st.sampled_from(REGIONS)),
            }
        },
        "querystring": draw(st.text(max_size=30)),
        "uri": "/" + draw(st.text(max_size=60)),
    }
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": draw(st.text(min_size=1, max_size=10)),
                    },
                    "request": request,
                }
            }
        ]
    }


@st.composite
def mutated_events(draw: st.DrawFn) -> dict:
    """A documented event with one node replaced by arbitrary JSON or deleted."""
    event = copy.deepcopy(draw(st.sampled_from(FIXTURE_EVENTS)))
    paths: list[tuple] = []

    def walk(node: object, path: tuple) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, (*path, index))

    walk(event, ())
    path = draw(st.sampled_from(paths[1:]))
    parent = event
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return event


# --- properties -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    event=valid_origin_requests(),
    values=st.lists(route_values, max_size=6),
    replication=st.sampled_from(["from-primary", "bidirectional"]),
)
def test_valid_requests_are_unchanged_or_validly_rewritten_to_a_topology_bucket(
    config_paths, event: dict, values: list[str], replication: str
) -> None:
    install(config_paths, replication, values)
    original = copy.deepcopy(event["Records"][0]["cf"]["request"])
    result = edge.handler(event, None)
    assert rewrite_is_valid_or_unchanged(original, result, DOMAINS.values())
    assert origin_request_violations(original, result) == []
    if original["origin"]["s3"]["domainName"] in DOMAINS.values():
        assert result["origin"]["s3"]["domainName"] in DOMAINS.values()  # ours: always routed
    else:
        assert result == original  # an S3 origin we do not know passes through


@PROPERTY_SETTINGS
@given(event=mutated_events(), values=st.lists(route_values, max_size=4))
def test_malformed_events_never_raise_and_never_leave_the_topology(
    config_paths, event: dict, values: list[str]
) -> None:
    install(config_paths, "from-primary", values)
    before = copy.deepcopy(event)
    result = edge.handler(event, None)
    try:
        cf_before = before["Records"][0]["cf"]
    except (KeyError, IndexError, TypeError):
        assert result is None
        return
    if not isinstance(result, dict) or result in (
        cf_before.get("request"),
        cf_before.get("response"),
    ):
        return
    # Something was rewritten: only ever towards a topology bucket or region header.
    s3 = (result.get("origin") or {}).get("s3") if "status" not in result else None
    if s3 is not None:
        assert s3["domainName"] in DOMAINS.values()
        assert result["headers"]["host"] == [{"key": "Host", "value": s3["domainName"]}]
    else:
        assert result["headers"]["x-asset-region"][0]["value"] in REGIONS


@PROPERTY_SETTINGS
@given(event=json_values)
def test_arbitrary_json_never_raises(config_paths, event: object) -> None:
    install(config_paths, "bidirectional", ["v=1 region=us-east-1 weight=1"])
    edge.handler(event, None)


@PROPERTY_SETTINGS
@given(
    uri=st.text(max_size=40),
    values=st.lists(route_values, max_size=6),
    status=st.sampled_from(["200", "206", "304", "403", "404", "500", "503"]),
    served_by=st.sampled_from([*DOMAINS.values(), "legacy.s3.amazonaws.com"]),
)
def test_responses_only_gain_the_region_header(
    config_paths, uri: str, values: list[str], status: str, served_by: str
) -> None:
    install(config_paths, "from-primary", values)
    event = copy.deepcopy(next(e for e in FIXTURE_EVENTS if "response" in e["Records"][0]["cf"]))
    cf = event["Records"][0]["cf"]
    cf["request"]["uri"] = "/" + uri
    cf["request"]["origin"]["s3"]["domainName"] = served_by
    cf["response"]["status"] = status
    original = copy.deepcopy(cf["response"])
    result = edge.handler(event, None)
    assert origin_response_violations(original, result) == []
    added = {k: v for k, v in result["headers"].items() if k not in original["headers"]}
    expected = [r for r, d in DOMAINS.items() if d == served_by]
    if expected:
        assert added == {"x-asset-region": [{"key": "X-Asset-Region", "value": expected[0]}]}
    else:
        assert added == {}


@settings(max_examples=300, deadline=None)
@given(values=st.lists(route_values | st.text(), max_size=10))
def test_any_dns_answer_gives_a_table_inside_the_topology(values: list[str]) -> None:
    table, ignored = routing.build_table(values, REGIONS)
    assert set(table) <= set(REGIONS)
    assert all(0 <= weight <= 255 for weight in table.values())
    assert len(ignored) == len({value for value, _ in ignored})


@settings(max_examples=300, deadline=None)
@given(table=tables, uri=st.text(max_size=50))
def test_ranking_is_a_permutation_with_drained_regions_last(
    table: dict[str, int], uri: str
) -> None:
    ranking = routing.rank_regions(table, uri)
    assert sorted(ranking) == sorted(table)
    weights = [table[region] > 0 for region in ranking]
    assert weights == sorted(weights, reverse=True)
    assert ranking == routing.rank_regions(dict(reversed(table.items())), uri)


@settings(max_examples=300, deadline=None)
@given(
    table=tables.filter(bool),
    uri=st.text(max_size=50),
    replication=st.sampled_from(["from-primary", "bidirectional"]),
)
def test_failover_stays_in_the_table_and_leaves_the_first_choice_when_it_can(
    table: dict[str, int], uri: str, replication: str
) -> None:
    ranking = routing.rank_regions(table, uri)
    target = routing.failover_target(
        table,
        ranking,
        primary_region="us-east-1",
        replication=replication,
    )
    assert target in table  # never a region the table leaves out (unhealthy)
    assert (target != ranking[0]) == (len(table) > 1)
