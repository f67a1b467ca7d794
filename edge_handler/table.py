"""The per-container routing-table cache: one DNS lookup per TTL, never more.

State that lives across invocations is this one object, with an injectable clock and
resolver so tests control time and DNS. Rules (docs/ARCHITECTURE.md 3.6):

* A good answer is cached for its TTL clamped to ``[min_ttl_s, max_ttl_s]``.
* A failed lookup (timeout, SERVFAIL, NXDOMAIN, empty, garbage, or no usable value)
  keeps the last good table, else every topology region at equal weight, and no new
  lookup starts before ``min_ttl_s`` has passed. Consecutive failures back off
  exponentially (``min_ttl_s``, 2x, 4x, ... capped at ``max_ttl_s``): Lambda runs one
  request at a time per container, so each lookup that times out delays a viewer by
  ``timeout_ms``; during a long DNS outage that now happens a handful of times a
  minute instead of once per ``min_ttl_s``. A good answer resets the backoff.
* At most one lookup in flight: a caller that finds one running does not wait, it
  uses the current table (stale or fallback). Lambda runs one request at a time per
  container, so this only matters for threaded hosts such as the lab.
"""

from __future__ import annotations

import time
from _thread import allocate_lock
from collections.abc import Callable, Sequence
from math import inf

from . import log, routing
from .config import EdgeConfig

# (record name, ((host, port), ...), total timeout in seconds) -> (TXT values, TTL)
Resolver = Callable[[str, Sequence[tuple[str, int]], float], tuple[list[str], int]]


class RoutingTableCache:
    """Holds the routing table (region -> weight) and refreshes it from DNS."""

    def __init__(
        self,
        config: EdgeConfig,
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._resolver = resolver
        self._clock = clock
        self._lock = allocate_lock()
        self.fallback: dict[str, int] = {region: 1 for region in config.regions}
        self.last_good: dict[str, int] | None = None
        self.current: dict[str, int] = self.fallback
        self.refresh_at = -inf
        self.failure_streak = 0

    def table(self) -> dict[str, int]:
        """The table to route with now; refreshes it first when it is due."""
        if self._clock() < self.refresh_at:
            return self.current
        if not self._lock.acquire(False):
            return self.current
        try:
            if self._clock() >= self.refresh_at:
                self._refresh()
        finally:
            self._lock.release()
        return self.current

    def _refresh(self) -> None:
        config = self._config
        try:
            resolver = self._resolver
            if resolver is None:
                # Imported on the first lookup, not with this module: a cache given
                # its own resolver (tests, bench/locality.py) never loads it.
                from .txt_lookup import DnsTxtResolver

                resolver = self._resolver = DnsTxtResolver()
            values, ttl = resolver(config.record, config.nameservers, config.timeout_s)
            table, ignored = routing.build_table(values, config.regions)
            for value, reason in ignored:
                log.anomaly(
                    "ignored_record", key=value, record=config.record, value=value, reason=reason
                )
            if not table:
                raise LookupError(f"no usable routing value among {len(values)} TXT values")
        except Exception as error:
            self.failure_streak += 1
            self.current = self.last_good or self.fallback
            retry_in_s = min(
                config.max_ttl_s, config.min_ttl_s * 2 ** min(self.failure_streak - 1, 16)
            )
            self.refresh_at = self._clock() + retry_in_s
            log.anomaly(
                "lookup_failed",
                key=type(error).__name__,
                record=config.record,
                error=f"{type(error).__name__}: {error}",
                fallback="last_good" if self.last_good else "equal_weights",
                table=self.current,
                retry_in_s=retry_in_s,
            )
            return
        self.failure_streak = 0
        self.last_good = self.current = table
        ttl = min(max(ttl, config.min_ttl_s), config.max_ttl_s)
        self.refresh_at = self._clock() + ttl
