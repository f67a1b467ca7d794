"""The function's containers, seen from the edge: worker processes behind a pool.

Each :class:`FunctionContainer` is one ``lab/edge_worker.py`` process with its own
state (routing-table cache, log limiter), so table refreshes, DNS failures and
failover decisions happen per container as on Lambda@Edge. The pool hands requests
to idle containers in turn; a caller waits when all are busy (Lambda would start
more containers; the lab keeps a fixed number so each one's state stays visible).
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import FunctionSpec

DEFAULT_CONTAINERS = 3  # function containers the edge spreads invocations over

WORKER = Path(__file__).with_name("edge_worker.py")
COLD_START_TIMEOUT_S = 30.0


class FunctionError(RuntimeError):
    """The function raised, timed out or its container died (CloudFront: 503)."""


@dataclass
class Invocation:
    """One call's outcome as the edge needs it."""

    result: Any
    ms: float
    fault_hits: int
    logs: list[str] = field(default_factory=list)


class FunctionContainer:
    """One worker process serving invocations over a JSON-lines pipe."""

    def __init__(
        self,
        index: int,
        function: FunctionSpec,
        archive_path: Path,
        nameserver: str,
        time_scale: float,
        log_path: Path | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.index = index
        self._environment = dict(environment or {})
        self.function = function
        self._archive_path = archive_path
        self._nameserver = nameserver
        self._time_scale = time_scale
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()  # one message in flight per container
        self.invocations = 0
        self.fault_hits = 0
        self.cold_starts = 0
        self.init_ms = 0.0
        self.anomalies: Counter[str] = Counter()

    def start(self) -> None:
        """Cold start: spawn the worker and wait until the handler is imported."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("EDGE_CONFIG_PATH", "PYTHONPATH") and not k.startswith("AWS_")
        }
        # Lambda's reserved variables: the execution role's credentials.
        env.update(self._environment)
        stderr = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    # Isolated, no site-packages: like Lambda, the function sees only the
                    # standard library and its own archive (a missing package fails here).
                    "-I",
                    "-S",
                    str(WORKER),
                    "--archive",
                    str(self._archive_path),
                    "--nameserver",
                    self._nameserver,
                    "--handler",
                    self.function.handler,
                    "--time-scale",
                    str(self._time_scale),
                    "--function-name",
                    self.function.name,
                    "--qualified-arn",
                    self.function.qualified_arn,
                    "--memory-mb",
                    str(self.function.memory_mb),
                    "--timeout-s",
                    str(self.function.timeout_s),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=str(self._archive_path.parent),
            )
        finally:
            if self._log_path:
                stderr.close()  # type: ignore[union-attr]
        self._buffer = b""
        ready = self._read(COLD_START_TIMEOUT_S)
        if not ready.get("ready"):
            self.stop()
            raise FunctionError(f"container {self.index} failed its cold start: {ready}")
        self.cold_starts += 1
        self.init_ms = float(ready.get("init_ms", 0.0))
        self._count_logs(ready.get("logs", []))

    def stop(self) -> None:
        """Close the pipe (the worker exits and cleans up); kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait(timeout=5)
        finally:
            if process.stdout:
                process.stdout.close()

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one message and read its reply; restarts the container on a timeout."""
        with self._lock:
            process = self._process
            if process is None or process.stdin is None:
                raise FunctionError(f"container {self.index} is not running")
            try:
                process.stdin.write(json.dumps(message).encode() + b"\n")
                process.stdin.flush()
                return self._read(timeout_s)
            except (OSError, FunctionError, ValueError) as error:
                # A hung or dead container is replaced, as Lambda does after a timeout.
                self.stop()
                self.start()
                raise FunctionError(f"container {self.index}: {error}") from error

    def invoke(self, event: dict[str, Any], request_id: str) -> Invocation:
        """Run the handler on one event within the function's timeout (real seconds)."""
        reply = self.call(
            {"op": "invoke", "event": event, "request_id": request_id},
            float(self.function.timeout_s),
        )
        self.invocations += 1
        hits = int(reply.get("fault_hits", 0))
        self.fault_hits += hits
        logs = list(reply.get("logs", []))
        self._count_logs(logs)
        if not reply.get("ok"):
            raise FunctionError(f"function raised: {reply.get('error')}")
        return Invocation(reply.get("result"), float(reply.get("ms", 0.0)), hits, logs)

    def _count_logs(self, lines: list[str]) -> None:
        for line in lines:
            try:
                self.anomalies[str(json.loads(line).get("anomaly", "?"))] += 1
            except (ValueError, AttributeError):
                self.anomalies["unparsed"] += 1

    def _read(self, timeout_s: float) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FunctionError(f"no answer within {timeout_s:.1f} s (function timeout)")
            ready, _, _ = select.select([process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(process.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise FunctionError(f"container exited with {process.wait()}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)


class ContainerPool:
    """A fixed set of containers; each invocation takes the longest-idle one."""

    def __init__(self, containers: list[FunctionContainer]) -> None:
        self.containers = containers
        self._idle: queue.Queue[FunctionContainer] = queue.Queue()

    def start(self) -> None:
        """Cold-start every container in parallel."""
        errors: list[BaseException] = []

        def boot(container: FunctionContainer) -> None:
            try:
                container.start()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=boot, args=(c,)) for c in self.containers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            self.stop()
            raise errors[0]
        for container in self.containers:
            self._idle.put(container)

    def stop(self) -> None:
        """Stop every container."""
        for container in self.containers:
            container.stop()

    def invoke(self, event: dict[str, Any], request_id: str) -> tuple[Invocation, int]:
        """Run one invocation on an idle container; returns it and the container index."""
        container = self._idle.get()
        try:
            return container.invoke(event, request_id), container.index
        finally:
            self._idle.put(container)

    def set_fault(self, on: bool, indexes: list[int] | None = None) -> None:
        """Switch the rank_regions fault in some (default all) containers."""
        for container in self.containers:
            if indexes is None or container.index in indexes:
                container.call({"op": "fault", "on": on}, 5.0)

    def stats(self) -> dict[str, Any]:
        """Totals across containers for the report."""
        anomalies: Counter[str] = Counter()
        for container in self.containers:
            anomalies.update(container.anomalies)
        return {
            "containers": len(self.containers),
            "invocations": sum(c.invocations for c in self.containers),
            "cold_starts": sum(c.cold_starts for c in self.containers),
            "fault_hits": sum(c.fault_hits for c in self.containers),
            "anomalies": dict(anomalies),
        }
