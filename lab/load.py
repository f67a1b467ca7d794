"""Viewers: a bounded load of GET requests against the edge, from a small thread pool.

Bounded three ways: a request budget, a wall-clock deadline and a fixed pace
(requests per real second), so a drill always stops by itself. Only loopback.
Every answer is kept (lab time, key, status, serving region, request id, latency).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .clock import LabClock


@dataclass(frozen=True)
class ViewerResult:
    """One viewer request's outcome."""

    lab_time: float
    key: str
    status: int  # 0 when the edge could not be reached at all
    region: str | None
    request_id: str
    latency_ms: float


class KeySet:
    """The object keys viewers ask for; grows while a drill publishes."""

    def __init__(self, keys: list[str] | None = None, *, fresh_bias: float = 0.0) -> None:
        self._keys = list(keys or [])
        self.fresh_bias = fresh_bias
        self._lock = threading.Lock()

    def add(self, key: str) -> None:
        """Make a key (already in the primary) available to viewers."""
        with self._lock:
            self._keys.append(key)

    def pick(self, rng: random.Random) -> str | None:
        """A key; with ``fresh_bias`` probability the newest one (flash crowds)."""
        with self._lock:
            if not self._keys:
                return None
            if rng.random() < self.fresh_bias:
                return self._keys[-1]
            return rng.choice(self._keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)


class LoadGenerator:
    """Paced viewers; ``run`` blocks until the budget, the deadline or ``stop``."""

    def __init__(
        self,
        url: str,
        keys: KeySet,
        clock: LabClock,
        *,
        rate_per_s: float = 40.0,
        max_requests: int = 5000,
        max_duration_s: float = 60.0,
        threads: int = 4,
        seed: int = 0,
        region_header: str = "x-asset-region",
    ) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        if self._host != "127.0.0.1":
            raise ValueError(f"the lab only sends load to 127.0.0.1, not {self._host!r}")
        self.keys = keys
        self._clock = clock
        self._interval = 1.0 / rate_per_s
        self._max_requests = max_requests
        self._max_duration_s = max_duration_s
        self._threads = threads
        self._seed = seed
        self._region_header = region_header
        self._lock = threading.Lock()
        self._issued = 0
        self._start = 0.0
        self.results: list[ViewerResult] = []
        self.stop_event = threading.Event()
        self.on_result: Callable[[ViewerResult], None] | None = None

    def run(self) -> list[ViewerResult]:
        """Send the load; returns every result in completion order."""
        self._start = time.monotonic()
        workers = [
            threading.Thread(target=self._worker, args=(index,), name=f"viewer-{index}")
            for index in range(self._threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return self.results

    def _next_slot(self) -> float | None:
        """Real time at which this thread may send its next request, or None to stop."""
        with self._lock:
            if self._issued >= self._max_requests:
                return None
            slot = self._start + self._issued * self._interval
            if slot - self._start > self._max_duration_s:
                return None
            self._issued += 1
            return slot

    def _worker(self, index: int) -> None:
        rng = random.Random(self._seed * 1000 + index)
        connection: http.client.HTTPConnection | None = None
        try:
            while not self.stop_event.is_set():
                slot = self._next_slot()
                if slot is None:
                    return
                delay = slot - time.monotonic()
                if delay > 0 and self.stop_event.wait(delay):
                    return
                key = self.keys.pick(rng)
                if key is None:
                    continue
                if connection is None:
                    connection = http.client.HTTPConnection(self._host, self._port, timeout=30)
                result, keep = self._get(connection, key)
                if not keep:
                    connection.close()
                    connection = None
                with self._lock:
                    self.results.append(result)
                if self.on_result is not None:
                    self.on_result(result)
        finally:
            if connection is not None:
                connection.close()

    def _get(self, connection: http.client.HTTPConnection, key: str) -> tuple[ViewerResult, bool]:
        lab_time = self._clock.now()
        begun = time.perf_counter()
        try:
            connection.request("GET", "/" + key)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            latency = (time.perf_counter() - begun) * 1000
            return ViewerResult(lab_time, key, 0, None, "", latency), False
        latency = (time.perf_counter() - begun) * 1000
        result = ViewerResult(
            lab_time,
            key,
            response.status,
            response.getheader(self._region_header),
            response.getheader("X-Amz-Cf-Id") or "",
            latency,
        )
        return result, not response.will_close
