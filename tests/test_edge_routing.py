"""The pure routing core: ranking, table parsing, failover choice. No I/O, no mocks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from asset_delivery.edge_handler import routing

REPO = Path(__file__).resolve().parent.parent
TOPOLOGY = ("us-east-1", "eu-west-1", "ap-southeast-2")


def first_choice_shares(table: dict[str, int], count: int) -> dict[str, float]:
    counts = Counter(routing.rank_regions(table, f"/objects/{i}.bin")[0] for i in range(count))
    return {region: counts[region] / count for region in table}


@pytest.mark.parametrize(
    "table",
    [
        {"us-east-1": 50, "eu-west-1": 50},
        {"us-east-1": 90, "eu-west-1": 10},
        {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20},
    ],
    ids=["50-50", "90-10", "50-30-20"],
)
def test_share_of_100k_uris_is_within_one_point_of_weight_share(table: dict[str, int]) -> None:
    shares = first_choice_shares(table, 100_000)
    total = sum(table.values())
    for region, weight in table.items():
        assert abs(shares[region] - weight / total) < 0.01, (region, shares)


def test_ranking_is_identical_in_a_fresh_process_with_another_hash_seed() -> None:
    table = {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20, "sa-east-1": 0}
    uris = [f"/img/{i}.png" for i in range(300)] + ["/", "/é", "/a b?c"]
    script = (
        "import json, sys\n"
        "from edge_handler import routing\n"
        "table, uris = json.load(sys.stdin)\n"
        "print(json.dumps([routing.rank_regions(table, u) for u in uris]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    child = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps([table, uris]),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert json.loads(child.stdout) == [routing.rank_regions(table, u) for u in uris]


def test_known_vectors_pin_the_hash_so_any_change_is_deliberate() -> None:
    # Every container (and every deployed version) must rank alike: changing the
    # hash reshuffles which region serves every URI, so it must fail a test first.
    assert routing.unit_hash("us-east-1", "/index.html") == 0.6369968698551683
    assert routing.unit_hash("eu-west-1", "/index.html") == 0.32443074674322914
    table = {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20}
    assert routing.rank_regions(table, "/a") == ["us-east-1", "ap-southeast-2", "eu-west-1"]
    assert routing.rank_regions(table, "/c") == ["ap-southeast-2", "eu-west-1", "us-east-1"]


def test_removing_a_region_moves_only_that_regions_uris() -> None:
    full = {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20}
    reduced = {"us-east-1": 50, "eu-west-1": 30}
    moved = 0
    for i in range(20_000):
        uri = f"/assets/{i}"
        before = routing.rank_regions(full, uri)
        after = routing.rank_regions(reduced, uri)
        if before[0] != "ap-southeast-2":
            assert after[0] == before[0], uri
        else:
            moved += 1
            assert after[0] == before[1], uri  # the next choice takes over, exactly
    assert 0.18 < moved / 20_000 < 0.22


def test_changing_one_weight_only_moves_uris_to_or_from_that_region() -> None:
    before_table = {"us-east-1": 50, "eu-west-1": 50, "ap-southeast-2": 50}
    after_table = {**before_table, "eu-west-1": 10}
    for i in range(10_000):
        before = routing.rank_regions(before_table, f"/{i}")[0]
        after = routing.rank_regions(after_table, f"/{i}")[0]
        assert before == after or before == "eu-west-1"


def test_weight_zero_regions_are_used_only_when_nothing_else_is() -> None:
    table = {"us-east-1": 0, "eu-west-1": 1, "ap-southeast-2": 0}
    for i in range(2_000):
        ranking = routing.rank_regions(table, f"/{i}")
        assert ranking[0] == "eu-west-1"
        assert set(ranking[1:]) == {"us-east-1", "ap-southeast-2"}
    drained = first_choice_shares({"us-east-1": 0, "eu-west-1": 0}, 10_000)
    assert 0.45 < drained["us-east-1"] < 0.55  # all drained: still spread, not piled up


def test_regions_missing_from_the_table_are_never_ranked() -> None:
    assert routing.rank_regions({"eu-west-1": 7}, "/x") == ["eu-west-1"]
    assert routing.rank_regions({}, "/x") == []


def test_odd_uris_hash_without_error() -> None:
    for uri in ["", "/", "/\udcff", "/" + "a" * 10_000, "/\x00", "/日本"]:
        assert len(routing.rank_regions({"a": 1, "b": 2}, uri)) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("v=1 region=us-east-1 weight=50", ("us-east-1", 50)),
        ("weight=0 v=1 region=eu-west-1", ("eu-west-1", 0)),
        ("  v=1   region=eu-west-1\tweight=255 ", ("eu-west-1", 255)),
    ],
)
def test_parse_route_value_accepts_the_v1_grammar(value: str, expected: tuple) -> None:
    assert routing.parse_route_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "v=2 region=us-east-1 weight=5",
        "region=us-east-1 weight=5",
        "v=1 weight=5",
        "v=1 region= weight=5",
        "v=1 region=us-east-1",
        "v=1 region=us-east-1 weight=256",
        "v=1 region=us-east-1 weight=-1",
        "v=1 region=us-east-1 weight=1.5",
        "v=1 region=us-east-1 weight=٣",
        "v=1 region=us-east-1 weight=5 weight=6",
        "v=1 region=us-east-1 weight=50 domain=evil.example.com",
        "v=1 region=us-east-1 weight=50 note=hi",
        "v=1 =x region=us-east-1 weight=5",
    ],
)
def test_parse_route_value_rejects_everything_else(value: str) -> None:
    with pytest.raises(ValueError):
        routing.parse_route_value(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("garbage", "token 'garbage' is not key=value"),
        ("v=2 region=us-east-1 weight=5", "version is '2'; expected v=1"),
        ("v=1 weight=5", "region is missing"),
        ("v=1 region= weight=5", "region is missing"),
        ("v=1 region=us-east-1", "weight '' is not an integer in 0-255"),
        ("v=1 region=us-east-1 weight=256", "weight '256' is not an integer in 0-255"),
        # a value holds everything after the key's "=", a second "=" included
        ("v=1 region=us-east-1 weight=1=2", "weight '1=2' is not an integer in 0-255"),
        ("v=1 region=us-east-1 weight=5 weight=6", "key 'weight' appears twice"),
    ],
)
def test_a_rejected_value_says_which_field_and_what_it_held(value: str, reason: str) -> None:
    with pytest.raises(ValueError) as rejected:
        routing.parse_route_value(value)
    assert str(rejected.value) == reason


def test_build_table_keeps_topology_regions_and_reports_each_ignored_value_once() -> None:
    values = [
        "v=1 region=us-east-1 weight=50",
        "v=1 region=eu-west-1 weight=50 domain=evil.example.com",
        "v=1 region=eu-west-1 weight=50 domain=evil.example.com",
        "v=1 region=mars-north-1 weight=99",
        "v=1 region=ap-southeast-2 weight=20",
        "v=1 region=ap-southeast-2 weight=5",
    ]
    table, ignored = routing.build_table(values, TOPOLOGY)
    assert table == {"us-east-1": 50, "ap-southeast-2": 5}
    reasons = dict(ignored)
    assert len(ignored) == 3
    assert "unexpected keys ['domain']" in reasons[values[1]]
    assert "not in the topology" in reasons[values[3]]
    assert "lowest weight kept" in reasons[values[5]]


FAILOVER_CASES = [
    # (replication, table, first choice, expected failover target)
    ("from-primary", {"us-east-1": 1, "eu-west-1": 99}, "eu-west-1", "us-east-1"),
    ("from-primary", {"us-east-1": 99, "eu-west-1": 1}, "us-east-1", "eu-west-1"),
    ("bidirectional", {"us-east-1": 1, "eu-west-1": 99}, "eu-west-1", "us-east-1"),
    ("bidirectional", {"us-east-1": 99, "eu-west-1": 1}, "us-east-1", "eu-west-1"),
]


@pytest.mark.parametrize(("replication", "table", "first", "target"), FAILOVER_CASES)
def test_failover_target_in_both_modes_with_two_regions(
    replication: str, table: dict[str, int], first: str, target: str
) -> None:
    uri = next(f"/{i}" for i in range(1000) if routing.rank_regions(table, f"/{i}")[0] == first)
    ranking = routing.rank_regions(table, uri)
    chosen = routing.failover_target(
        table,
        ranking,
        primary_region="us-east-1",
        replication=replication,
    )
    assert chosen == target


def test_failover_in_from_primary_prefers_the_source_over_the_second_choice() -> None:
    table = {"us-east-1": 10, "eu-west-1": 50, "ap-southeast-2": 50}
    for i in range(500):
        uri = f"/f/{i}"
        ranking = routing.rank_regions(table, uri)
        kwargs = {"primary_region": "us-east-1"}
        from_primary = routing.failover_target(table, ranking, replication="from-primary", **kwargs)
        bidirectional = routing.failover_target(
            table, ranking, replication="bidirectional", **kwargs
        )
        assert bidirectional == ranking[1]
        assert from_primary == ("us-east-1" if ranking[0] != "us-east-1" else ranking[1])


def test_failover_skips_a_primary_that_is_drained_or_unhealthy() -> None:
    for table in (
        {"us-east-1": 0, "eu-west-1": 5, "ap-southeast-2": 5},
        {"eu-west-1": 5, "ap-southeast-2": 5},
    ):
        ranking = routing.rank_regions(table, "/x")
        chosen = routing.failover_target(
            table,
            ranking,
            primary_region="us-east-1",
            replication="from-primary",
        )
        assert chosen == ranking[1] != "us-east-1"


@pytest.mark.parametrize("replication", ["from-primary", "bidirectional"])
def test_failover_with_one_healthy_region_stays_on_the_healthy_region(
    replication: str,
) -> None:
    # The table lists only eu-west-1: the others are unhealthy. The first attempt may
    # have gone to one of them from a container with an older table, so the second
    # attempt must not go there.
    table = {"eu-west-1": 40}
    for i in range(2_000):
        uri = f"/only/{i}"
        chosen = routing.failover_target(
            table,
            routing.rank_regions(table, uri),
            primary_region="us-east-1",
            replication=replication,
        )
        assert chosen == "eu-west-1"


def test_failover_in_a_single_region_topology_retries_that_region() -> None:
    chosen = routing.failover_target(
        {"us-east-1": 1},
        ["us-east-1"],
        primary_region="us-east-1",
        replication="from-primary",
    )
    assert chosen == "us-east-1"


def test_failover_in_from_primary_goes_to_a_primary_with_weight_1() -> None:
    # Weight 1 is the smallest share a region can carry, not a drain: the replication
    # source still takes the second attempt when it was neither the first nor the
    # second choice.
    table = {"us-east-1": 1, "eu-west-1": 50, "ap-southeast-2": 50}
    uris = [f"/w1/{i}" for i in range(200)]
    third = [uri for uri in uris if routing.rank_regions(table, uri)[2] == "us-east-1"]
    assert third
    for uri in third:
        chosen = routing.failover_target(
            table,
            routing.rank_regions(table, uri),
            primary_region="us-east-1",
            replication="from-primary",
        )
        assert chosen == "us-east-1"


def documented_ranking(table: dict[str, int], uri: str) -> list[str]:
    """The module doc's rule, spelled out: live regions by ``w / -ln(u)``, then drained
    regions as if their weight were 1."""

    def score(region: str) -> tuple[bool, float]:
        weight = table[region]
        return weight > 0, (weight or 1) / -math.log(routing.unit_hash(region, uri))

    return sorted(table, key=score, reverse=True)


@pytest.mark.parametrize(
    "table",
    [
        {"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20},
        {"us-east-1": 0, "eu-west-1": 0, "ap-southeast-2": 0},
        {"us-east-1": 3, "eu-west-1": 0, "ap-southeast-2": 0, "sa-east-1": 0},
    ],
    ids=["weighted", "all-drained", "one-live"],
)
def test_ranking_is_the_documented_rendezvous_score(table: dict[str, int]) -> None:
    # Lone surrogates come from percent-decoded or JSON-escaped URIs; they hash too.
    uris = [f"/r/{i}" for i in range(300)] + ["/\udcff", "/a\ud800b", "", "/日本"]
    for uri in uris:
        assert 0.0 < routing.unit_hash("eu-west-1", uri) < 1.0
        assert routing.rank_regions(table, uri) == documented_ranking(table, uri)


def test_a_fully_drained_table_ranks_as_if_every_weight_were_1() -> None:
    drained = dict.fromkeys(TOPOLOGY, 0)
    equal = dict.fromkeys(TOPOLOGY, 1)
    for i in range(300):
        assert routing.rank_regions(drained, f"/d/{i}") == routing.rank_regions(equal, f"/d/{i}")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("v=1 region=us-east-1 weight", "token 'weight' is not key=value"),
        ("v=1 =5 region=us-east-1 weight=5", "token '=5' is not key=value"),
        ("v=1 v=1 region=us-east-1 weight=5", "key 'v' appears twice"),
        ("v=1 region=us-east-1 weight=5 zone=x", "unexpected keys ['zone']"),
        ("v=2 region=us-east-1 weight=5", "version is '2'; expected v=1"),
        ("v=1 weight=5", "region is missing"),
        ("v=1 region=us-east-1 weight=256", "weight '256' is not an integer in 0-255"),
    ],
)
def test_an_ignored_value_says_what_is_wrong_with_it(value: str, reason: str) -> None:
    # The reason is what the operator reads in the ignored_record log line.
    with pytest.raises(ValueError) as error:
        routing.parse_route_value(value)
    assert str(error.value).startswith(reason)
