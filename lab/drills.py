"""Failure drills: a bounded viewer load through the edge while one thing breaks.

Each scenario is a timeline in lab seconds derived from the declared stack (health
check interval and threshold, routing TTL), so the same drill means the same thing
for any stack and any time scale. ``run_scenario`` drives a running :class:`Lab`;
``drill`` builds the right lab for a scenario, publishes the catalog and runs it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from asset_delivery.edge_handler import routing
from asset_delivery.edge_handler.config import EdgeConfig

from .lab import Lab
from .load import KeySet, LoadGenerator, ViewerResult
from .model import LabStack
from .report import DrillOutcome, Phase, served_region

SCENARIOS = (
    "region-outage",
    "replication-lag",
    "dns-outage",
    "drain",
    "function-crash",
    "no-edge-function",
    "locality",
)
MAX_REAL_S = 120.0  # no drill may run longer than this, whatever the time scale


@dataclass
class DrillOptions:
    """Load and timeline knobs; ``short`` trims warm-up and tails (tests, the demo)."""

    rate_per_s: float = 40.0
    max_requests: int = 6000
    threads: int = 4
    catalog_size: int = 24
    region: str | None = None
    replication_lag_s: float | None = None
    short: bool = False
    progress: TextIO | None = field(default_factory=lambda: sys.stderr)


@dataclass(frozen=True)
class Timings:
    """The declared timings that shape every timeline (lab seconds)."""

    ttl: float
    interval: float | None
    threshold: int | None

    @property
    def detect(self) -> float | None:
        """Worst-case time for a health check to call a dead region unhealthy."""
        if self.interval is None or self.threshold is None:
            return None
        return self.interval * self.threshold

    @classmethod
    def of(cls, stack: LabStack) -> Timings:
        checks = [s.health_check for s in stack.regions.values() if s.health_check]
        if not checks:
            return cls(float(stack.routing.ttl_s), None, None)
        return cls(
            float(stack.routing.ttl_s),
            float(max(c.request_interval_s for c in checks)),
            max(c.failure_threshold for c in checks),
        )


def catalog_keys(size: int) -> list[str]:
    """Names of the catalog objects every drill publishes before it starts."""
    return [f"catalog/item-{index:03d}.txt" for index in range(size)]


def publish_catalog(lab: Lab, keys: list[str], timeout_s: float = 60.0) -> None:
    """Upload the keys to the primary and wait until every replica has them."""

    def publish(key: str) -> None:
        lab.put_object(key, f"{key}: catalog object\n".encode(), content_type="text/plain")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(publish, keys))
    lab.wait_replicated(keys, timeout_s)


def lab_for(stack: LabStack, scenario: str, **lab_kwargs: Any) -> Lab:
    """A lab configured for ``scenario`` (no function for ``no-edge-function``)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    return Lab(stack, edge_function=scenario != "no-edge-function", **lab_kwargs)


def drill(
    stack: LabStack, scenario: str, options: DrillOptions | None = None, **lab_kwargs: Any
) -> DrillOutcome:
    """Start a lab for ``scenario``, publish the catalog, run the drill, stop the lab."""
    options = options or DrillOptions()
    with lab_for(stack, scenario, **lab_kwargs) as lab:
        publish_catalog(lab, catalog_keys(options.catalog_size))
        return run_scenario(lab, scenario, options)


class _Run:
    """Shared state of one drill run: the load, the phases, the fault window."""

    def __init__(self, lab: Lab, scenario: str, options: DrillOptions, keys: KeySet) -> None:
        self.lab = lab
        self.scenario = scenario
        self.options = options
        self.keys = keys
        self.origin = lab.clock.now()
        self.phases: list[Phase] = []
        self.fault_region: str | None = None
        self.fault_time: float | None = None
        self.fault_end: float | None = None
        self.shift_target: float | None = None
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}
        self.stop = threading.Event()
        self.real_deadline = time.monotonic() + MAX_REAL_S
        self.on_phase: Callable[[str], None] | None = None

    def now(self) -> float:
        """Lab seconds since the drill started."""
        return self.lab.clock.now() - self.origin

    def at(self, t: float) -> None:
        """Wait until drill time ``t`` (bounded by the drill's real-time cap)."""
        target = self.origin + t
        real_left = self.real_deadline - time.monotonic()
        cap = self.lab.clock.now() + max(0.0, real_left) * self.lab.clock.scale
        self.lab.clock.wait_until(min(target, cap), self.stop)

    def phase(self, name: str) -> None:
        """Close the current phase and open ``name`` now."""
        now = self.lab.clock.now()
        if self.phases:
            self.phases[-1].end = now
        else:
            now = self.origin  # the load starts with the drill
        self.phases.append(Phase(name, now))
        if self.on_phase is not None:
            self.on_phase(name)

    def wait_for(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Poll a condition (real seconds); False on timeout."""
        deadline = min(time.monotonic() + timeout_s, self.real_deadline)
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.stop.wait(0.01)
        return True


def run_scenario(lab: Lab, scenario: str, options: DrillOptions | None = None) -> DrillOutcome:
    """Run one scenario against a running lab whose catalog is published."""
    options = options or DrillOptions()
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    keys = KeySet(catalog_keys(options.catalog_size))
    run = _Run(lab, scenario, options, keys)
    assert lab.edge is not None
    load = LoadGenerator(
        lab.edge_url,
        keys,
        lab.clock,
        rate_per_s=options.rate_per_s,
        max_requests=options.max_requests,
        max_duration_s=MAX_REAL_S,
        threads=options.threads,
        seed=lab.seed,
    )
    dns_before = lab.dns.queries
    progress = _Progress(run, load, options.progress)
    loader = threading.Thread(target=load.run, name="load")
    begun = time.monotonic()
    events_before = len(lab.events)
    loader.start()
    progress.start()
    try:
        _SCRIPTS[scenario](run)
    finally:
        load.stop_event.set()
        run.stop.set()
        loader.join()
        progress.finish()
    if run.phases:
        run.phases[-1].end = lab.clock.now()
    records = {}
    if lab.edge is not None:
        records = {record.request_id: record for record in lab.edge.records}
    dns_queries = lab.dns.queries - dns_before
    if lab.weighted_origin is not None:
        dns_queries = lab.weighted_origin.lookups
    run.extra["replication"] = vars(lab.replicator.stats())
    if lab.pool is not None:
        run.extra["function"] = lab.pool.stats()
    run.extra["routing_table"] = _routing_timeline(lab, run.origin)
    earlier = [e for e in lab.health.events if e.lab_time < run.origin]
    run.extra["health_at_start"] = {
        region: next((e.healthy for e in reversed(earlier) if e.region == region), True)
        for region in lab.stack.regions
    }
    run.extra["health_events"] = [
        {"t": round(e.lab_time - run.origin, 3), "region": e.region, "healthy": e.healthy}
        for e in lab.health.events
        if e.lab_time >= run.origin
    ]
    return DrillOutcome(
        scenario=scenario,
        time_scale=lab.clock.scale,
        results=list(load.results),
        records=records,
        phases=run.phases,
        events=[(t, text) for t, text in lab.events[events_before:]],
        fault_region=run.fault_region,
        fault_time=run.fault_time,
        fault_end=run.fault_end,
        shift_target_s=run.shift_target,
        dns_queries=dns_queries,
        real_duration_s=time.monotonic() - begun,
        notes=run.notes,
        extra=run.extra,
        origin=run.origin,
    )


def _routing_timeline(lab: Lab, origin: float) -> list[dict[str, Any]]:
    """What the routing record answered during the drill: the state at its start, then
    every change (``table`` None while the name servers were silent)."""
    history = list(lab.routing_history)
    before = [entry for entry in history if entry[0] < origin]
    during = [entry for entry in history if entry[0] >= origin]
    timeline = ([(origin, before[-1][1])] if before else []) + during
    return [{"t": round(t - origin, 3), "table": table} for t, table in timeline]


def _warm_up(run: _Run, timings: Timings) -> float:
    """Run the "before" phase of normal traffic; returns its length in lab seconds."""
    run.phase("before")
    length = max(timings.ttl, 5.0) if run.options.short else max(2 * timings.ttl, 10.0)
    run.at(length)
    return length


def _region_outage(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    region = run.options.region or lab.stack.primary_region
    detect = timings.detect
    _warm_up(run, timings)
    run.phase(f"{region} down")  # before the kill, so no failed attempt counts as "before"
    run.fault_region, run.fault_time = region, lab.kill_region(region)
    t = run.fault_time - run.origin
    if detect is None:
        run.notes.append(
            "no health checks declared: the dead region stays in DNS and every "
            "request to it fails over"
        )
        hold = 3 * timings.ttl
    else:
        run.shift_target = detect + timings.ttl
        hold = detect + timings.ttl + max(timings.ttl, timings.interval or 0.0)
        run.notes.append(
            f"target: shift_s <= health interval x threshold + routing TTL = "
            f"{timings.interval:g} x {timings.threshold} + {timings.ttl:g} = "
            f"{run.shift_target:g} lab s"
        )
    run.at(t + hold)
    run.phase(f"{region} restarting")
    lab.restore_region(region)
    run.fault_end = lab.clock.now()  # down until reachable again, restart included
    back = run.now()
    run.phase(f"{region} back")
    if detect is not None:
        healthy = run.wait_for(lambda: lab.zone.healthy(region), 30.0)
        if healthy:
            run.extra["recovered_s"] = round(run.now() - back, 3)
        else:
            run.notes.append(f"{region} did not pass its health check again within 30 s")
    run.at(run.now() + timings.ttl + (timings.ttl if run.options.short else 2 * timings.ttl))


def _replication_lag(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    request_interval = lab.clock.scale / run.options.rate_per_s
    lag = run.options.replication_lag_s or max(3 * timings.ttl, 20 * request_interval, 10.0)
    run.keys.fresh_bias = 0.5  # half the viewers want the newest object
    run.extra["replication_lag_s"] = lag
    run.extra["request_interval_s"] = round(request_interval, 3)
    run.notes.append(
        f"replication lag {lag:g} lab s, viewers every {request_interval:.2f} lab s; "
        "half of them ask for the newest object"
    )
    t = _warm_up(run, timings)
    lab.replicator.lag_s = lag
    run.phase("publishing")
    lab.note(f"replication lag {lag:g} s, publishing")
    period = max(lag / 4, 2 * request_interval)
    count = 6 if run.options.short else 12
    published: list[tuple[str, float]] = []
    for index in range(count):
        run.at(t + index * period)
        key = f"fresh/object-{index:03d}.txt"
        lab.put_object(
            key, f"{key}: published during the drill\n".encode(), content_type="text/plain"
        )
        published.append((key, run.now()))
        run.keys.add(key)
    run.at(t + count * period)
    run.phase("catching up")
    run.at(t + count * period + lag + timings.ttl)
    run.extra["published"] = len(published)


def _dns_outage(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    t = _warm_up(run, timings)
    outage = max(4 * timings.ttl, 30.0) if run.options.short else max(6 * timings.ttl, 60.0)
    run.phase("DNS silent")
    lab.set_dns_answering(False)
    run.fault_time = lab.clock.now()
    run.at(t + outage)
    lab.set_dns_answering(True)
    run.fault_end = lab.clock.now()
    run.phase("DNS back")
    run.at(t + outage + 2 * timings.ttl)
    run.notes.append(
        f"name servers silent for {outage:g} lab s; each container keeps its last "
        "table and retries after min_ttl_s, backing off to max_ttl_s"
    )


def _drain(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    others = [r for r in lab.stack.regions if r != lab.stack.primary_region]
    region = run.options.region or (others[-1] if others else lab.stack.primary_region)
    weight = lab.stack.regions[region].weight
    t = _warm_up(run, timings)
    run.phase(f"{region} drained")
    run.fault_region, run.fault_time = region, lab.clock.now()
    run.shift_target = timings.ttl
    lab.set_weight(region, 0)
    hold = 2 * timings.ttl if run.options.short else 4 * timings.ttl
    run.at(t + hold)
    run.fault_end = lab.clock.now()
    lab.set_weight(region, weight)
    run.phase(f"{region} weight {weight}")
    run.at(t + hold + 2 * timings.ttl)
    run.notes.append(f"target: shift_s <= routing TTL = {timings.ttl:g} lab s")


def _function_crash(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    t = _warm_up(run, timings)
    duration = max(2 * timings.ttl, 20.0) if run.options.short else max(4 * timings.ttl, 40.0)
    run.phase("rank_regions raises")
    hits_before = lab.pool.stats()["fault_hits"] if lab.pool else 0
    lab.set_function_fault(True)
    run.fault_time = lab.clock.now()
    run.at(t + duration)
    lab.set_function_fault(False)
    run.fault_end = lab.clock.now()
    run.phase("fixed")
    run.at(t + duration + 2 * timings.ttl)
    hits = (lab.pool.stats()["fault_hits"] if lab.pool else 0) - hits_before
    run.extra["fell_open"] = hits
    signed = "edge-role" in run.lab.stack.origin_readers
    run.notes.append(
        f"{hits} origin-request invocations hit the injected RuntimeError and "
        "fell open (CloudFront used the configured origin"
        + (", the request signed for its region)" if signed else ", request unchanged)")
    )


def _no_edge_function(run: _Run) -> None:
    lab, timings = run.lab, Timings.of(run.lab.stack)
    run.phase("weighted DNS origin")
    duration = max(6 * timings.ttl, 40.0) if run.options.short else max(12 * timings.ttl, 90.0)
    run.at(duration)
    weights = {r: s.weight for r, s in lab.stack.regions.items()}
    owner = lab.stack.primary_region
    expected = 1 - weights[owner] / max(1, sum(weights.values()))
    run.extra["expected_error_rate"] = round(expected, 3)
    run.notes.append(
        f"no function: origin Host names the {owner} bucket, connections follow a weighted DNS "
        f"name {weights} cached {timings.ttl:g} lab s per resolver; regions that do not hold "
        f"the bucket answer 404 NoSuchBucket (expected error rate ~{100 * expected:.0f} %)"
    )
    if "oai" not in lab.stack.origin_readers:
        run.notes.append(
            "originAuth sigv4: without the function nothing signs and the buckets admit "
            "only the edge role, so every object request answers 403"
        )


def _locality(run: _Run) -> None:
    """Steady traffic, every region healthy: where each edge region's misses went."""
    lab, timings = run.lab, Timings.of(run.lab.stack)
    run.phase("every region healthy")
    length = max(2 * timings.ttl, 10.0) if run.options.short else max(4 * timings.ttl, 30.0)
    run.at(length)
    assert lab.edge is not None
    records = [r for r in list(lab.edge.records) if r.lab_time >= run.origin]
    split = locality_split(lab, records)
    run.extra["locality"] = split
    run.extra["locality_mismatches"] = sum(
        edge["mismatches"] for edge in split["by_edge_region"].values()
    )
    run.notes.append(
        f"routing mode {split['mode']}"
        + (f", tau {split['tau_ms']:g} ms" if split["mode"] == "latency" else "")
        + "; first choice per edge region (container AWS_REGION):"
    )
    for edge_region, edge in split["by_edge_region"].items():
        shares = ", ".join(
            f"{region} {share:.0%}"
            for region, share in sorted(edge["split"].items(), key=lambda kv: -kv[1])
        )
        run.notes.append(
            f"  {edge_region}: {shares} of {edge['requests']} (nearest {edge['nearest']}, "
            f"{edge['mismatches']} not where the function's ranking sends them)"
        )


def locality_split(lab: Lab, records: list) -> dict[str, Any]:
    """Per execution region: the share of first attempts per region, and how many differ
    from the function's own ranking for that region (the routing table of the stack)."""
    config = EdgeConfig(lab.edge_config)
    table = {region: spec.weight for region, spec in lab.stack.regions.items()}
    by_edge: dict[str, dict[str, Any]] = {}
    counts: dict[str, Counter[str]] = {}
    for record in records:
        if not record.containers or record.first_region is None:
            continue  # a cache hit, or the function did not run
        edge_region = lab.container_regions[record.containers[0]]
        factors = routing.locality_factors_for(
            config.locality_mode, config.tau_ms, config.rtt_ms, edge_region
        )
        weights = routing.locality_weights(table, factors) if factors else table
        expected = routing.rank_regions(weights, record.uri)[0]
        counts.setdefault(edge_region, Counter())[record.first_region] += 1
        entry = by_edge.setdefault(edge_region, {"mismatches": 0})
        entry["mismatches"] += record.first_region != expected
    weighted = [region for region, weight in table.items() if weight > 0]
    for edge_region, counter in counts.items():
        total = sum(counter.values())
        row = config.rtt_ms.get(edge_region, {})
        by_edge[edge_region].update(
            requests=total,
            split={region: round(n / total, 4) for region, n in counter.most_common()},
            nearest=min(weighted, key=lambda r: (row.get(r, float("inf")), r)),
        )
    return {"mode": config.locality_mode, "tau_ms": config.tau_ms, "by_edge_region": by_edge}


_SCRIPTS: dict[str, Callable[[_Run], None]] = {
    "region-outage": _region_outage,
    "replication-lag": _replication_lag,
    "dns-outage": _dns_outage,
    "drain": _drain,
    "function-crash": _function_crash,
    "locality": _locality,
    "no-edge-function": _no_edge_function,
}


class _Progress:
    """Drill progress on stderr: a live line on a terminal, one line per phase in a log.

    On a terminal the status line is redrawn with ``\\r`` a few times a second; in a
    log (a file, a pipe, CI) carriage returns would make one endless line, so it
    writes one line when each phase opens and one when the drill ends.
    """

    def __init__(self, run: _Run, load: LoadGenerator, stream: TextIO | None) -> None:
        self._run = run
        self._load = load
        self._stream = stream
        isatty = getattr(stream, "isatty", None)
        self.live = bool(stream is not None and isatty is not None and isatty())
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        run.on_phase = self.phase_opened

    def start(self) -> None:
        if self._stream is not None and self.live:
            self._thread.start()

    def phase_opened(self, name: str) -> None:
        """In a log: one line as each phase opens (the terminal line shows it live)."""
        if self._stream is not None and not self.live:
            self._stream.write(self._status(f"phase '{name}' begins") + "\n")
            self._stream.flush()

    def finish(self) -> None:
        self._done.set()
        if self._stream is None:
            return
        if self.live:
            self._thread.join(timeout=2)
            self._stream.write("\r" + self._status(self._phase()) + "\n")
        else:
            self._stream.write(self._status("done") + "\n")
        self._stream.flush()

    def _loop(self) -> None:
        assert self._stream is not None
        while not self._done.wait(0.25):
            self._stream.write("\r" + self._status(self._phase()) + "   ")
            self._stream.flush()

    def _phase(self) -> str:
        return f"{self._run.phases[-1].name:<22}" if self._run.phases else " " * 22

    def _status(self, what: str) -> str:
        results: list[ViewerResult] = list(self._load.results)
        edge = self._run.lab.edge
        records = {r.request_id: r for r in edge.records} if edge is not None else {}
        errors = sum(1 for r in results if not 200 <= r.status < 300)
        regions = Counter(served_region(r, records) for r in results)
        split = " ".join(f"{region}={count}" for region, count in sorted(regions.items()))
        return (
            f"[{self._run.scenario}] t={self._run.now():6.1f} lab s  {what} "
            f"requests={len(results):<5} errors={errors:<4} {split}"
        ).rstrip()
