"""Latency-aware routing in the function: weights times exp(-rtt / tau) from the region
the replica runs in, and everything weights already guaranteed (drain, unhealthy
regions left out, the failover rule, fail-open) unchanged."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler import handler as edge
from asset_delivery.edge_handler import log, routing
from asset_delivery.edge_handler.config import ConfigError, load_config
from asset_delivery.locality import EDGE_REGIONS, locality_section, rtt_ms

FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
DOMAINS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": "assets-euw1-def.s3.eu-west-1.amazonaws.com",
    "ap-southeast-1": "assets-apse1-ghi.s3.ap-southeast-1.amazonaws.com",
}
REGIONS = tuple(DOMAINS)


class StaticResolver:
    def __init__(self, table: dict[str, int]) -> None:
        self.values = [f"v=1 region={r} weight={w}" for r, w in table.items()]

    def __call__(self, record: str, nameservers: object, timeout_s: float):
        return list(self.values), 60


class LogLines(list):
    def kinds(self) -> list[str]:
        return [json.loads(line)["anomaly"] for line in self]


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> LogLines:
    lines = LogLines()
    monkeypatch.setattr(log, "anomaly", log.AnomalyLog(write=lines.append))
    return lines


def write_config(tmp_path: Path, mode: str = "latency", tau_ms: float = 20, **overrides) -> Path:
    document = render_edge_config(
        primary_region="us-east-1",
        region_domains=DOMAINS,
        routing_record="_routes.assets.example.com",
        nameservers=["127.0.0.1:1"],
        replication=overrides.pop("replication", "from-primary"),
        locality=locality_section(mode, tau_ms, REGIONS),
    )
    path = tmp_path / "edge_config.json"
    path.write_text(document)
    return path


def router(tmp_path: Path, table: dict[str, int], execution_region: str | None, **config):
    return edge.build_router(
        str(write_config(tmp_path, **config)),
        resolver=StaticResolver(table),
        execution_region=execution_region,
    )


def request(uri: str, failover: bool = False) -> dict:
    event = json.loads((FIXTURES / "origin_request_s3_oai.json").read_text())
    cf_request = event["Records"][0]["cf"]["request"]
    cf_request["uri"] = uri
    if failover:
        cf_request["origin"]["s3"]["customHeaders"]["x-asset-failover"] = [
            {"key": "X-Asset-Failover", "value": "1"}
        ]
    return cf_request


def split(edge_router, count: int = 2000, failover: bool = False) -> Counter:
    return Counter(
        edge_router.origin_request(request(f"/o/{i}", failover))["origin"]["s3"]["region"]
        for i in range(count)
    )


WEIGHTS = {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-1": 20}


@pytest.mark.parametrize("execution_region", ["eu-central-1", "us-east-2", "ap-northeast-2"])
def test_latency_mode_sends_most_misses_to_the_nearest_weighted_region(
    tmp_path: Path, logs, execution_region: str
) -> None:
    counts = split(router(tmp_path, WEIGHTS, execution_region))
    nearest = min(WEIGHTS, key=lambda region: rtt_ms(execution_region, region))
    assert counts[nearest] > 0.8 * sum(counts.values())
    assert logs.kinds() == []


def test_the_share_follows_weight_times_nearness(tmp_path: Path) -> None:
    # From eu-central-1 at tau 20: eu-west-1 ~27 ms, us-east-1 ~93 ms, so us-east-1
    # counts 50 * exp(-(93 - 27) / 20) against eu-west-1's 30.
    counts = split(router(tmp_path, {"us-east-1": 50, "eu-west-1": 30}, "eu-central-1"), 20_000)
    factor = 2.718281828 ** (-(rtt_ms("eu-central-1", "us-east-1") - 26.86) / 20)
    expected = 50 * factor / (50 * factor + 30)
    assert abs(counts["us-east-1"] / 20_000 - expected) < 0.01


def test_a_larger_tau_moves_toward_plain_weights(tmp_path: Path) -> None:
    near = split(router(tmp_path, WEIGHTS, "eu-central-1", tau_ms=20))
    far = split(router(tmp_path, WEIGHTS, "eu-central-1", tau_ms=1000))
    assert near["eu-west-1"] > far["eu-west-1"]
    assert abs(far["eu-west-1"] / 2000 - 0.3) < 0.05


@pytest.mark.parametrize("execution_region", [None, "", "xx-nowhere-1"])
def test_no_or_an_unknown_execution_region_routes_on_plain_weights(
    tmp_path: Path, logs, execution_region: str | None
) -> None:
    latency = split(router(tmp_path, WEIGHTS, execution_region))
    weighted = split(router(tmp_path, WEIGHTS, "eu-central-1", mode="weighted"))
    assert latency == weighted
    assert logs.kinds() == ["unknown_execution_region"]  # once, at init


def test_the_execution_region_comes_from_aws_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    built = edge.build_router(str(write_config(tmp_path)), resolver=StaticResolver(WEIGHTS))
    assert built.execution_region == "ap-southeast-2"
    assert split(built).most_common(1)[0][0] == "ap-southeast-1"


def test_weighted_mode_ignores_where_it_runs(tmp_path: Path) -> None:
    for execution_region in ("eu-central-1", "ap-southeast-2", None):
        counts = split(router(tmp_path, WEIGHTS, execution_region, mode="weighted"), 20_000)
        for region, weight in WEIGHTS.items():
            assert abs(counts[region] / 20_000 - weight / 100) < 0.01


def test_a_drained_region_gets_nothing_even_from_next_door(tmp_path: Path) -> None:
    table = {"us-east-1": 50, "eu-west-1": 0, "ap-southeast-1": 20}
    counts = split(router(tmp_path, table, "eu-west-1"))
    assert counts["eu-west-1"] == 0


def test_a_fully_drained_table_still_spreads_by_hash(tmp_path: Path) -> None:
    table = {"us-east-1": 0, "eu-west-1": 0, "ap-southeast-1": 0}
    counts = split(router(tmp_path, table, "eu-west-1"))
    assert set(counts) == set(table)  # weight-0 regions rank by hash alone, as before


def test_an_unhealthy_region_left_out_of_the_table_is_never_chosen(tmp_path: Path) -> None:
    counts = split(router(tmp_path, {"us-east-1": 50, "ap-southeast-1": 20}, "eu-west-1"))
    assert set(counts) <= {"us-east-1", "ap-southeast-1"} and counts["us-east-1"] > 0


@pytest.mark.parametrize("replication", ["from-primary", "bidirectional"])
def test_the_failover_rule_is_unchanged(tmp_path: Path, replication: str) -> None:
    built = router(tmp_path, WEIGHTS, "eu-central-1", replication=replication)
    weights = built.ranking_weights(built.cache.table())
    for i in range(300):
        uri = f"/o/{i}"
        ranking = routing.rank_regions(weights, uri)
        chosen = built.origin_request(request(uri, failover=True))["origin"]["s3"]["region"]
        expected = routing.failover_target(
            WEIGHTS, ranking, primary_region="us-east-1", replication=replication
        )
        assert chosen == expected
        if replication == "from-primary" and ranking[0] != "us-east-1":
            assert chosen == "us-east-1"  # the replication source, never behind
        elif replication == "bidirectional":
            assert chosen == ranking[1]


def test_a_ranking_bug_in_latency_mode_fails_open(
    tmp_path: Path, logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = router(tmp_path, WEIGHTS, "eu-central-1")
    saved = (edge._router, edge._config_error)
    monkeypatch.setattr(routing, "locality_weights", lambda table, factors: {"evil-1": 1.0})
    try:
        edge.reset_container(built)
        event = json.loads((FIXTURES / "origin_request_s3_oai.json").read_text())
        original = copy.deepcopy(event["Records"][0]["cf"]["request"])
        assert edge.handler(event, None) == original
    finally:
        edge._router, edge._config_error = saved
    assert logs.kinds() == ["exception"]


def test_the_component_bakes_a_row_for_every_edge_region(tmp_path: Path) -> None:
    config = load_config(str(write_config(tmp_path)))
    assert sorted(config.rtt_ms) == sorted(EDGE_REGIONS)
    assert config.locality_mode == "latency" and config.tau_ms == 20


def test_a_config_without_locality_routes_on_weights(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    document = json.loads(path.read_text())
    del document["locality"]
    path.write_text(json.dumps(document))
    config = load_config(str(path))
    assert (config.locality_mode, config.rtt_ms) == ("weighted", {})


@pytest.mark.parametrize(
    ("locality", "message"),
    [
        ("latency", "locality is 'latency'"),
        ({"mode": "nearest", "tau_ms": 20, "rtt_ms": {}}, "locality.mode is 'nearest'"),
        ({"mode": "latency", "tau_ms": 0, "rtt_ms": {}}, "locality.tau_ms is 0"),
        ({"mode": "latency", "tau_ms": True, "rtt_ms": {}}, "locality.tau_ms is True"),
        ({"mode": "latency", "tau_ms": 20, "rtt_ms": []}, "locality.rtt_ms is []"),
        (
            {"mode": "latency", "tau_ms": 20, "rtt_ms": {"eu-west-1": {"us-east-1": 70}}},
            "a round trip to each of",
        ),
        (
            {
                "mode": "latency",
                "tau_ms": 20,
                "rtt_ms": {"eu-west-1": dict.fromkeys(REGIONS, -1)},
            },
            "expected milliseconds",
        ),
    ],
)
def test_a_bad_locality_section_is_refused_with_the_reason(
    tmp_path: Path, locality: object, message: str
) -> None:
    path = write_config(tmp_path)
    document = json.loads(path.read_text())
    document["locality"] = locality
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(str(path))


def test_nearness_never_underflows_a_live_region_into_a_drained_one() -> None:
    # An execution region far from every bucket, with a small tau: exp(-rtt / tau)
    # alone would round to 0.0 (weight 0, "drained") for every region. Relative to the
    # nearest region, the nearest keeps factor 1.0 and the others stay above 0.
    factors = routing.locality_factors({"us-east-1": 900.0, "eu-west-1": 950.0}, 1.0)
    assert factors["us-east-1"] == 1.0
    assert 0.0 < factors["eu-west-1"] < 1e-20
    weights = routing.locality_weights({"us-east-1": 5, "eu-west-1": 5}, factors)
    assert all(weight > 0 for weight in weights.values())
    assert routing.rank_regions(weights, "/far")[0] == "us-east-1"
