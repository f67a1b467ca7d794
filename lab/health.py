"""Route 53 health checks, emulated: one checker per region on the lab clock.

Every ``request_interval_s`` (lab seconds) the checker asks the region's emulator for
``resource_path`` with ``Host`` set to the check's fqdn, anonymously, as Route 53's
checkers do. A probe passes on a 2xx/3xx answer whose first 5120 bytes contain the
search string. The verdict flips to unhealthy after ``failure_threshold`` consecutive
failures and back after as many consecutive successes. Probes run on a fixed
schedule (no drift) so detection takes at most interval x threshold, as on AWS.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .bucket_policy import SOURCE_IP_HEADER
from .clock import LabClock
from .model import HealthCheckSpec

SEARCH_WINDOW_BYTES = 5120
PROBE_TIMEOUT_S = 2.0  # real seconds: Route 53 waits 2 s for the response


@dataclass(frozen=True)
class HealthEvent:
    """A verdict change, for the report and the timeline."""

    lab_time: float
    region: str
    healthy: bool


def probe(
    port: int | None,
    check: HealthCheckSpec,
    timeout_s: float = PROBE_TIMEOUT_S,
    source_ip: str | None = None,
) -> bool:
    """One probe as a Route 53 checker makes it; False when the region is unreachable.

    ``source_ip`` is the checker address the probe stands for (the bucket policy lets
    only Route 53's checker ranges read the probe); the emulator's policy enforcer
    reads it from ``x-lab-source-ip``. An inverted check (``rehearseOutage``) reports
    the opposite, as Route 53 does.
    """
    headers = {"Host": check.fqdn, "User-Agent": "Amazon-Route53-Health-Check-Service"}
    if source_ip:
        headers[SOURCE_IP_HEADER] = source_ip
    if port is None:
        return check.inverted
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", check.resource_path, headers=headers)
        response = connection.getresponse()
        body = response.read(SEARCH_WINDOW_BYTES)
    except (OSError, http.client.HTTPException):
        return check.inverted
    finally:
        connection.close()
    if not 200 <= response.status < 400:
        return check.inverted
    matched = check.search_string is None or check.search_string.encode() in body
    return matched != check.inverted


class HealthChecker:
    """Runs one checker thread per health check and reports verdict changes."""

    def __init__(
        self,
        checks: list[HealthCheckSpec],
        locate: Callable[[str], int | None],
        clock: LabClock,
        on_change: Callable[[str, bool], None],
        source_ip: str | None = None,
    ) -> None:
        self.checks = checks
        self._source_ip = source_ip
        self._locate = locate
        self._clock = clock
        self._on_change = on_change
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.events: list[HealthEvent] = []
        self.probes = 0

    def start(self) -> None:
        """Start probing; every region starts healthy, as a new Route 53 check does."""
        for check in self.checks:
            thread = threading.Thread(
                target=self._run, args=(check,), name=f"health-{check.region}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop every checker thread."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self, check: HealthCheckSpec) -> None:
        tracker = ThresholdTracker(check.failure_threshold)
        interval = float(check.request_interval_s)
        next_probe = self._clock.now()
        while self._clock.wait_until(next_probe, self._stop):
            timeout = min(PROBE_TIMEOUT_S, self._clock.real(interval))
            passed = probe(self._locate(check.region), check, timeout, self._source_ip)
            with self._lock:
                self.probes += 1
            changed = tracker.record(passed)
            if changed is not None:
                event = HealthEvent(self._clock.now(), check.region, changed)
                with self._lock:
                    self.events.append(event)
                self._on_change(check.region, changed)
            next_probe += interval
            # After a stall (a loaded machine), skip missed slots instead of bursting.
            now = self._clock.now()
            if next_probe < now:
                next_probe += interval * ((now - next_probe) // interval + 1)


class ThresholdTracker:
    """Route 53's verdict rule: N consecutive results against the current verdict flip it."""

    def __init__(self, threshold: int, healthy: bool = True) -> None:
        self.threshold = threshold
        self.healthy = healthy
        self._streak = 0

    def record(self, passed: bool) -> bool | None:
        """Add one probe result; returns the new verdict when it flips, else None."""
        if passed == self.healthy:
            self._streak = 0
            return None
        self._streak += 1
        if self._streak < self.threshold:
            return None
        self.healthy = passed
        self._streak = 0
        return passed
