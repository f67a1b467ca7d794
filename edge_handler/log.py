"""One JSON line per anomaly on stdout (CloudWatch), rate-limited per kind and key.

Normal requests log nothing. A storm of identical anomalies (a DNS outage seen by
every request, a broken config) logs once per window per distinct key, and the next
line that gets through says how many were suppressed in between.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

ERROR_KINDS = frozenset({"config_error", "config_unavailable", "exception"})


class AnomalyLog:
    """Writes anomaly lines; identical ``(kind, key)`` pairs at most once per window."""

    def __init__(
        self,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[str], object] | None = None,
        max_keys: int = 1024,
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._write = write or _print_line
        self._max_keys = max_keys
        self._seen: dict[tuple[str, str], list[float | int]] = {}

    def __call__(self, kind: str, *, key: str = "", **fields: object) -> bool:
        """Log ``kind`` with ``fields`` unless the same ``(kind, key)`` was just logged."""
        now = self._clock()
        slot = self._seen.get((kind, key))
        if slot is not None and now - slot[0] < self._window_s:
            slot[1] += 1
            return False
        suppressed = slot[1] if slot is not None else 0
        if len(self._seen) >= self._max_keys:
            self._seen.clear()
        self._seen[(kind, key)] = [now, 0]
        line: dict[str, object] = {
            "level": "error" if kind in ERROR_KINDS else "warning",
            "anomaly": kind,
        }
        line.update(fields)
        if suppressed:
            line["suppressed_since_last"] = suppressed
        self._write(json.dumps(line, default=repr, ensure_ascii=True))
        return True


def _print_line(line: str) -> None:
    print(line, flush=True)


anomaly = AnomalyLog()
"""The container's logger; tests and the lab may replace ``log.anomaly`` wholesale."""
