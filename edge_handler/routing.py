"""The pure routing core: parse the DNS routing table, rank regions, pick failover.

Plain functions on plain data (no I/O, no clock), so every rule here is unit-tested
directly and behaves identically in every container.

Ranking (docs/ARCHITECTURE.md 3.3) is weighted rendezvous hashing: for each region ``r``
with weight ``w > 0``, ``score = w / -ln(u)`` where ``u`` in (0, 1) comes from the
first 8 bytes of ``blake2b(r + "/" + uri)``. Highest score first. Regions with weight
0 follow all others, ordered by the same hash as if they had weight 1, so a fully
drained table still spreads load. Ties (practically impossible) break by name.
Python's ``hash()`` is never used: it is salted per process.

Table values (one TXT string per region) follow a strict grammar: exactly the keys
``v=1``, ``region=<region>`` and ``weight=<0-255>``, separated by spaces. Any other
key makes the whole value *ignored*, in particular ``domain=...``: a record cannot
point a region at another bucket, because domains only ever come from the baked
topology, and a value that tries is treated as not ours (logged, region dropped)
rather than half-trusted. A region named twice keeps its lowest weight, so a drain
in progress wins over a stale value.

Failover (the origin group's second attempt, marked by a header):

* ``from-primary``: the primary (the replication source, never behind) when it is in
  the table with weight > 0 and was not the first choice; otherwise as below.
* ``bidirectional`` (and the fallback of the rule above): the second region of the
  ranking.
* With only one region in the table, that region. The function cannot know where
  the first attempt went: CloudFront may have run it in another container whose
  table was up to one TTL older, which sent it to the region that has just dropped
  out. Sending the second attempt to a region the current table leaves out (as
  unhealthy) repeats exactly that failure; the region the table lists is the one
  Route 53 says is healthy. Measured in the lab's region-outage drill, where the
  other choice cost 1-5 viewer errors per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from math import exp, log

try:  # the BLAKE2 module itself: hashlib would also load OpenSSL's bindings (cold start)
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

RECORD_VERSION = "1"
MAX_WEIGHT = 255
_UNIT_SCALE = float(1 << 52)
_RECORD_KEYS = frozenset({"v", "region", "weight"})
_PREFIXES: dict[str, bytes] = {}


def _prefix(region: str) -> bytes:
    """``region + "/"`` as bytes, memoised: regions are few and fixed per config."""
    prefix = _PREFIXES.get(region)
    if prefix is None:
        prefix = _PREFIXES[region] = (region + "/").encode(errors="surrogatepass")
    return prefix


def unit_hash(region: str, uri: str) -> float:
    """The stable ``u`` in (0, 1) exclusive for ``region + "/" + uri``.

    The top 52 bits of the 64-bit digest, centred in their bucket, are exact in a
    double, so ``u`` is never 0 or 1 and ``-ln(u)`` is always finite and positive.
    """
    data = _prefix(region) + uri.encode(errors="surrogatepass")
    bits = int.from_bytes(blake2b(data, digest_size=8).digest()) >> 12
    return (bits + 0.5) / _UNIT_SCALE


def rank_regions(table: Mapping[str, float], uri: str) -> list[str]:
    """Every region of ``table`` (region -> weight), best first, for this URI."""
    uri_bytes = uri.encode(errors="surrogatepass")
    scored = []
    for region, weight in table.items():
        data = _prefix(region) + uri_bytes
        bits = int.from_bytes(blake2b(data, digest_size=8).digest()) >> 12
        minus_ln_u = -log((bits + 0.5) / _UNIT_SCALE)
        if weight > 0:
            scored.append((True, weight / minus_ln_u, region))
        else:
            scored.append((False, 1.0 / minus_ln_u, region))
    scored.sort(reverse=True)
    return [region for _, _, region in scored]


def locality_factors(rtt_row: Mapping[str, float], tau_ms: float) -> dict[str, float]:
    """``exp(-(rtt - nearest) / tau_ms)`` per region, from one execution region's row.

    Latency mode ranks by weight times ``exp(-rtt / tau)``; dividing every factor by the
    nearest region's (so the nearest gets 1.0) ranks the same and never underflows.
    """
    nearest = min(rtt_row.values())
    return {region: exp(-(ms - nearest) / tau_ms) for region, ms in rtt_row.items()}


def locality_factors_for(
    mode: str,
    tau_ms: float,
    rtt_rows: Mapping[str, Mapping[str, float]],
    execution_region: str | None,
) -> dict[str, float] | None:
    """The nearness factors a container in ``execution_region`` ranks with, or None for
    plain weights: weighted mode, or no round trips baked for that region."""
    if mode != "latency":
        return None
    row = rtt_rows.get(execution_region or "")
    return None if row is None else locality_factors(row, tau_ms)


def locality_weights(table: Mapping[str, int], factors: Mapping[str, float]) -> dict[str, float]:
    """The table's weights times each region's nearness factor.

    Ranking with these is the same rendezvous hash with ``w_r * exp(-rtt(e, r) / tau)``
    as the weight: weight 0 (drained) stays 0 and still ranks last, and a region the
    table leaves out (unhealthy) stays out.
    """
    return {region: weight * factors[region] for region, weight in table.items()}


def failover_target(
    table: Mapping[str, int],
    ranking: Sequence[str],
    *,
    primary_region: str,
    replication: str,
) -> str:
    """The region for the origin group's failover attempt (rules in the module doc)."""
    first_choice = ranking[0]
    if (
        replication == "from-primary"
        and first_choice != primary_region
        and table.get(primary_region, 0) > 0
    ):
        return primary_region
    if len(ranking) > 1:
        return ranking[1]
    return first_choice


def parse_route_value(value: str) -> tuple[str, int]:
    """``"v=1 region=eu-west-1 weight=40"`` -> ``("eu-west-1", 40)``.

    Raises ``ValueError`` saying what is wrong; the caller logs and ignores it.
    """
    fields: dict[str, str] = {}
    for token in value.split():
        key, sep, field_value = token.partition("=")
        if not sep or not key:
            raise ValueError(f"token {token!r} is not key=value")
        if key in fields:
            raise ValueError(f"key {key!r} appears twice")
        fields[key] = field_value
    unexpected = sorted(set(fields) - _RECORD_KEYS)
    if unexpected:
        raise ValueError(f"unexpected keys {unexpected}; v=1 allows only v, region, weight")
    if fields.get("v") != RECORD_VERSION:
        raise ValueError(f"version is {fields.get('v')!r}; expected v=1")
    region = fields.get("region")
    if not region:
        raise ValueError("region is missing")
    weight_text = fields.get("weight", "")
    if not (weight_text.isascii() and weight_text.isdigit()) or int(weight_text) > MAX_WEIGHT:
        raise ValueError(f"weight {weight_text!r} is not an integer in 0-{MAX_WEIGHT}")
    return region, int(weight_text)


def build_table(
    values: Iterable[str], topology_regions: Iterable[str]
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Turn the TXT values into a table restricted to the topology.

    Returns ``(table, ignored)`` where ``ignored`` lists ``(value, reason)`` once per
    distinct ignored value. Regions outside the topology are ignored: the domain to
    route to always comes from the baked config, never from DNS.
    """
    known = set(topology_regions)
    table: dict[str, int] = {}
    ignored: dict[str, str] = {}
    for value in values:
        try:
            region, weight = parse_route_value(value)
        except ValueError as error:
            ignored.setdefault(value, str(error))
            continue
        if region not in known:
            ignored.setdefault(value, f"region {region!r} is not in the topology {sorted(known)}")
            continue
        if region in table:
            ignored.setdefault(value, f"region {region!r} listed twice; lowest weight kept")
            weight = min(weight, table[region])
        table[region] = weight
    return table, list(ignored.items())
