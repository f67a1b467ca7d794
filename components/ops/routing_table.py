"""The routing table exactly as the edge function reads it.

One TXT query sent straight to the routing zone's own name servers (no resolver
cache in between), parsed by the function's own code: the same lookup
(``edge_handler.txt_lookup``) and the same grammar (``edge_handler.routing``), so
what ``status`` and ``verify`` report is what every function container will route
with once its cached copy expires.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..edge_handler.config import ConfigError, parse_nameserver
from ..edge_handler.routing import build_table
from ..edge_handler.txt_lookup import DnsTxtResolver, LookupFailed

LOOKUP_TIMEOUT_S = 3.0  # an operator can wait longer than the function's 300 ms


class RoutingLookupError(RuntimeError):
    """No name server gave a usable answer; the message says why per server."""


@dataclass(frozen=True)
class RoutingTable:
    """Region -> weight as the function sees it, the TTL, and values it ignored."""

    weights: dict[str, int]
    ttl: int
    ignored: list[tuple[str, str]] = field(default_factory=list)

    def expected_share(self) -> dict[str, float]:
        """Each region's share of first attempts: weight over the sum of weights.

        Weight-0 regions get 0. When every weight is 0 the function spreads load over
        all of them equally (they all rank "after the others"), so do we.
        """
        total = sum(self.weights.values())
        if total == 0:
            count = len(self.weights) or 1
            return {region: 1 / count for region in self.weights}
        return {region: weight / total for region, weight in self.weights.items()}


def read_routing_table(
    record: str,
    name_servers: Iterable[str],
    regions: Iterable[str],
    *,
    timeout_s: float = LOOKUP_TIMEOUT_S,
) -> RoutingTable:
    """Query the zone's name servers for ``record`` and parse it like the function does."""
    try:
        servers = [parse_nameserver(server) for server in name_servers]
    except ConfigError as error:
        raise RoutingLookupError(str(error)) from None
    try:
        values, ttl = DnsTxtResolver()(record.rstrip("."), servers, timeout_s)
    except LookupFailed as error:
        raise RoutingLookupError(str(error)) from None
    weights, ignored = build_table(values, regions)
    return RoutingTable(weights=weights, ttl=ttl, ignored=ignored)
