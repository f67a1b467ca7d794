"""Plan regions: the origin round trip of cache misses under each routing mode.

    python bench/locality.py --regions us-east-1:50,eu-west-1:30,ap-southeast-1:20
    python bench/locality.py --regions us-west-2:40,eu-central-1:30,ap-northeast-1:30 --json
    python bench/locality.py --regions us-east-1:50,eu-west-1:50 --mix us-east-1:3,eu-west-2:1

Simulates the miss traffic of the regional edge caches where Lambda@Edge runs the
function (evenly, or in the proportions of ``--mix``): ``--uris`` distinct URIs per
edge region, each sent where the function's own ranking sends it, every region
healthy. Round trips are the ones the component bakes into ``edge_config.json``
(the shipped one-year medians, great-circle estimates for missing pairs).

Modes: ``weighted`` (plain weights, the default), ``latency`` (weights times
``exp(-rtt / tau)`` from the edge's region, ``routingMode: latency``), and
``nearest``, the reference: every miss to the nearest region with weight > 0.

Targets (verdict on stderr, exit status 1 when one is missed):

* latency's mean round trip at most 1.1 x nearest's;
* a drained region (weight 0) gets nothing;
* every region with weight > 0 still serves the edges it is nearest to (at least
  half of their misses in latency mode), so latency mode strands no region.

``--json`` prints ``{"modes": {mode: {"mean_rtt_ms", "p95_rtt_ms", "share": {region:
fraction}}}}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from asset_delivery.config import ConfigError, validate_regions  # noqa: E402
from asset_delivery.edge_config import render_edge_config  # noqa: E402
from asset_delivery.edge_handler import log, routing  # noqa: E402
from asset_delivery.edge_handler.config import EdgeConfig  # noqa: E402
from asset_delivery.edge_handler.table import RoutingTableCache  # noqa: E402
from asset_delivery.locality import EDGE_REGIONS, locality_section  # noqa: E402

MODES = ("weighted", "latency", "nearest")
LATENCY_VS_NEAREST = 1.1
NEAREST_EDGE_SHARE = 0.5
DEFAULT_TAU_MS = 20
TAU_MS_RANGE = (1, 1000)


class BadInput(ValueError):
    """One line for stderr, exit status 2."""


def parse_pairs(text: str, option: str) -> dict[str, int]:
    """``"us-east-1:50,eu-west-1:30"`` -> ``{"us-east-1": 50, "eu-west-1": 30}``."""
    pairs: dict[str, int] = {}
    for item in text.split(","):
        name, sep, number = item.strip().partition(":")
        if not sep or not name or not number.strip().isdigit():
            raise BadInput(f"{option} {item.strip()!r} is not <region>:<whole number>")
        if name in pairs:
            raise BadInput(f"{option} names {name} twice")
        pairs[name] = int(number)
    return pairs


def edge_router(config: EdgeConfig, table: Mapping[str, int], edge: str):
    """The function's own router for a container in ``edge``, with ``table`` from DNS."""
    # Importing the handler starts a container on the archive's config, which does not
    # exist here: its one config_error line is noise, so the bench's log is silent.
    log.anomaly = log.AnomalyLog(write=lambda line: None)
    from asset_delivery.edge_handler.handler import EdgeRouter

    values = [f"v=1 region={r} weight={w}" for r, w in table.items()]
    cache = RoutingTableCache(config, resolver=lambda record, servers, timeout: (values, 60))
    return EdgeRouter(config, cache, edge)


def simulate(
    weights: Mapping[str, int],
    mix: Mapping[str, int],
    *,
    tau_ms: float = DEFAULT_TAU_MS,
    uris: int = 4000,
) -> dict:
    """Per mode: mean and p95 round trip, share per region, and the per-edge split."""
    regions = list(weights)
    configs = {
        mode: EdgeConfig(
            json.loads(
                render_edge_config(
                    primary_region=regions[0],
                    region_domains={r: f"bench-{r}.s3.{r}.amazonaws.com" for r in regions},
                    routing_record="_routes.bench.example.com",
                    nameservers=["127.0.0.1"],
                    replication="from-primary",
                    locality=locality_section(mode, tau_ms, regions),
                )
            )
        )
        for mode in ("weighted", "latency")
    }
    rtt = configs["latency"].rtt_ms
    total_mix = sum(mix.values())
    candidates = [r for r in regions if weights[r] > 0]
    result: dict = {"modes": {}, "by_edge": {}}
    for mode in MODES:
        samples: list[tuple[float, float]] = []  # (rtt, traffic fraction)
        share = dict.fromkeys(regions, 0.0)
        by_edge: dict[str, dict[str, float]] = {}
        for edge, edge_weight in mix.items():
            if edge_weight == 0:
                continue
            fraction = edge_weight / total_mix / uris
            counts = dict.fromkeys(regions, 0)
            if mode == "nearest":
                nearest = min(candidates, key=lambda r, e=edge: (rtt[e][r], r))
                counts[nearest] = uris
            else:
                router = edge_router(configs[mode], weights, edge)
                ranking_weights = router.ranking_weights(router.cache.table())
                for i in range(uris):
                    counts[routing.rank_regions(ranking_weights, f"/bench/{i}.png")[0]] += 1
            for region, count in counts.items():
                if count:
                    samples.append((rtt[edge][region], count * fraction))
                    share[region] += count * fraction
            by_edge[edge] = {r: c / uris for r, c in counts.items() if c}
        result["modes"][mode] = {
            "mean_rtt_ms": round(sum(ms * f for ms, f in samples), 2),
            "p95_rtt_ms": round(_weighted_percentile(samples, 0.95), 2),
            "share": {r: round(share[r], 4) for r in regions},
        }
        result["by_edge"][mode] = by_edge
    result["checks"] = _checks(weights, result, rtt)
    return result


def _weighted_percentile(samples: list[tuple[float, float]], q: float) -> float:
    total = sum(f for _, f in samples)
    running = 0.0
    for value, fraction in sorted(samples):
        running += fraction
        if running >= q * total - 1e-12:
            return value
    return sorted(samples)[-1][0]


def _checks(weights: Mapping[str, int], result: dict, rtt: Mapping) -> dict[str, dict]:
    modes = result["modes"]
    latency, nearest = modes["latency"]["mean_rtt_ms"], modes["nearest"]["mean_rtt_ms"]
    drained = [r for r, w in weights.items() if w == 0]
    drained_share = {r: modes["latency"]["share"][r] for r in drained}
    stranded = []
    candidates = [r for r, w in weights.items() if w > 0]
    for edge, split in result["by_edge"]["latency"].items():
        nearest_region = min(candidates, key=lambda r, e=edge: (rtt[e][r], r))
        if split.get(nearest_region, 0.0) < NEAREST_EDGE_SHARE:
            stranded.append(f"{edge}->{nearest_region} {split.get(nearest_region, 0.0):.0%}")
    return {
        "latency_vs_nearest": {
            "ok": latency <= LATENCY_VS_NEAREST * nearest,
            "detail": f"{latency:.1f} ms <= {LATENCY_VS_NEAREST} x {nearest:.1f} ms "
            f"= {LATENCY_VS_NEAREST * nearest:.1f} ms",
        },
        "drained_gets_nothing": {
            "ok": all(share == 0 for share in drained_share.values()),
            "detail": ", ".join(f"{r}: {s:.2%}" for r, s in drained_share.items())
            or "no drained region",
        },
        "nearest_edges_served": {
            "ok": not stranded,
            "detail": "; ".join(stranded)
            or f"every weighted region gets >= {NEAREST_EDGE_SHARE:.0%} of its nearest edges",
        },
    }


def print_report(result: dict, weights: Mapping[str, int], tau_ms: float) -> None:
    regions = list(weights)
    print("regions: " + ", ".join(f"{r} {w}" for r, w in weights.items()) + f"; tau {tau_ms:g} ms")
    header = f"{'mode':<9} {'mean ms':>8} {'p95 ms':>8}  " + "  ".join(f"{r:>14}" for r in regions)
    print(header)
    for mode, figures in result["modes"].items():
        shares = "  ".join(f"{figures['share'][r]:>14.1%}" for r in regions)
        print(f"{mode:<9} {figures['mean_rtt_ms']:>8.1f} {figures['p95_rtt_ms']:>8.1f}  {shares}")
    print("\nlatency mode, first choice per edge region:")
    for edge, split in result["by_edge"]["latency"].items():
        parts = ", ".join(f"{r} {s:.0%}" for r, s in sorted(split.items(), key=lambda kv: -kv[1]))
        print(f"  {edge:<15} {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", required=True, help="region:weight,... as in the stack")
    parser.add_argument(
        "--mix",
        help="edge-region:share,... of the miss traffic (default: even over "
        f"the {len(EDGE_REGIONS)} regional edge cache regions)",
    )
    parser.add_argument("--tau-ms", type=float, default=DEFAULT_TAU_MS, help="localityTauMs")
    parser.add_argument("--uris", type=int, default=4000, help="distinct URIs per edge region")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        weights = parse_pairs(args.regions, "--regions")
        try:
            validate_regions([{"region": r, "weight": w} for r, w in weights.items()])
        except ConfigError as error:
            raise BadInput(f"--regions: {error}".replace("asset-delivery:", "")) from None
        mix = parse_pairs(args.mix, "--mix") if args.mix else dict.fromkeys(EDGE_REGIONS, 1)
        unknown = sorted(set(mix) - set(EDGE_REGIONS))
        if unknown:
            raise BadInput(
                f"--mix {unknown[0]} is not a region where Lambda@Edge runs: "
                + ", ".join(EDGE_REGIONS)
            )
        if not any(mix.values()):
            raise BadInput("--mix gives every edge region a share of 0")
        if not TAU_MS_RANGE[0] <= args.tau_ms <= TAU_MS_RANGE[1]:
            raise BadInput(f"--tau-ms {args.tau_ms:g} is not from 1 to 1000")
        if not 1 <= args.uris <= 1_000_000:
            raise BadInput(f"--uris {args.uris} is not from 1 to 1000000")
    except BadInput as error:
        print(f"locality: {error}", file=sys.stderr)
        return 2
    result = simulate(weights, mix, tau_ms=args.tau_ms, uris=args.uris)
    if args.json:
        print(json.dumps({"modes": result["modes"]}, indent=2))
    else:
        print_report(result, weights, args.tau_ms)
    out = sys.stderr if args.json else sys.stdout
    if not args.json:
        print(file=out)
    for name, check in result["checks"].items():
        print(f"{'PASS' if check['ok'] else 'FAIL'}  {name}: {check['detail']}", file=out)
    passed = all(check["ok"] for check in result["checks"].values())
    print(f"verdict: {'PASS' if passed else 'FAIL'}", file=out)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
