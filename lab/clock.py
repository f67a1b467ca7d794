"""The lab clock: lab time runs ``scale`` times faster than real time.

Everything the issue states in AWS seconds (health-check interval, routing TTL,
replication lag, error-caching TTL, the drill timeline, the function's table cache)
is measured on this clock, so a 30 s health-check interval at scale 20 takes 1.5 real
seconds. Network and compute timeouts stay in real seconds (see README: time scaling).
"""

from __future__ import annotations

import threading
import time

DEFAULT_TIME_SCALE = 10.0  # lab seconds per real second


class LabClock:
    """Monotonic lab time in seconds since the clock was made."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be positive, got {scale!r}")
        self.scale = float(scale)
        self._origin = time.monotonic()

    def now(self) -> float:
        """Lab seconds since the clock started."""
        return (time.monotonic() - self._origin) * self.scale

    def real(self, lab_seconds: float) -> float:
        """How many real seconds ``lab_seconds`` of lab time take."""
        return lab_seconds / self.scale

    def wait_until(self, lab_time: float, stop: threading.Event | None = None) -> bool:
        """Block until lab time reaches ``lab_time``; False if ``stop`` was set first."""
        stop = stop or threading.Event()
        while True:
            remaining = self.real(lab_time - self.now())
            if remaining <= 0:
                return True
            if stop.wait(min(remaining, 0.05)):
                return False
