"""One simulated Lambda@Edge container: a process that runs the function's archive.

Started by the lab as ``python lab/edge_worker.py --archive A --nameserver H:P``. It
extracts the archive exactly as built into a private directory, rewrites only
``routing.nameservers`` in its ``edge_config.json`` to the lab's DNS server, puts
the directory first on ``sys.path`` and imports the handler, like a cold start.
It then serves invocations over stdin/stdout, one JSON object per line, one at a
time (Lambda runs one request per container at a time).

Lab time: the function's routing-table cache and its log rate limit run on a clock
``--time-scale`` times faster than real time (injected through
``edge_handler.handler.build_router(clock=...)`` and ``log.AnomalyLog(clock=...)``),
so the declared TTLs mean lab seconds. The DNS lookup budget (``timeout_ms``) stays
in real time: it is a network timeout.

This file imports nothing from the lab, so the archive's own packages are the only
project code on its path.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections.abc import Callable


class _Context:
    """The parts of the Lambda context object a handler may read."""

    def __init__(self, name: str, arn: str, memory_mb: int, timeout_s: float) -> None:
        self.function_name = f"us-east-1.{name}"
        self.function_version = arn.rsplit(":", 1)[-1]
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = str(memory_mb)
        self.log_group_name = f"/aws/lambda/us-east-1.{name}"
        self.log_stream_name = "lab"
        self.aws_request_id = ""
        self._deadline = 0.0
        self._timeout_s = timeout_s

    def start(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + self._timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _lab_clock(scale: float) -> Callable[[], float]:
    origin = time.monotonic()
    return lambda: origin + (time.monotonic() - origin) * scale


def _extract(archive: str, nameserver: str, directory: str) -> None:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(directory)
    path = os.path.join(directory, "edge_config.json")
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    document["routing"]["nameservers"] = [nameserver]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


def main(argv: list[str] | None = None) -> None:
    """Cold start, then answer invocations until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archive", required=True)
    parser.add_argument("--nameserver", required=True)
    parser.add_argument("--handler", default="edge_handler.handler.handler")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--function-name", default="edge")
    parser.add_argument("--qualified-arn", default="arn:aws:lambda:us-east-1:0:function:edge:1")
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--timeout-s", type=float, default=5.0)
    args = parser.parse_args(argv)

    # The protocol gets a private copy of stdout; the function's prints go to stderr.
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.environ.pop("EDGE_CONFIG_PATH", None)

    workdir = tempfile.TemporaryDirectory(prefix="lab-edge-")
    started = time.perf_counter()
    logs: list[str] = []
    try:
        _extract(args.archive, args.nameserver, workdir.name)
        sys.path.insert(0, workdir.name)
        module_name, _, attribute = args.handler.rpartition(".")
        module = importlib.import_module(module_name)
        handler = getattr(module, attribute)
        package = module_name.split(".")[0]
        log = importlib.import_module(f"{package}.log")
        routing = importlib.import_module(f"{package}.routing")
        clock = _lab_clock(args.time_scale)

        def capture(line: str) -> None:
            logs.append(line)
            print(line, file=sys.stderr, flush=True)

        log.anomaly = log.AnomalyLog(clock=clock, write=capture)
        module.reset_container(module.build_router(clock=clock))
    except Exception as error:
        channel.write(json.dumps({"ready": False, "error": f"{type(error).__name__}: {error}"}))
        channel.write("\n")
        return
    init_ms = (time.perf_counter() - started) * 1000
    channel.write(json.dumps({"ready": True, "init_ms": round(init_ms, 1), "logs": logs}) + "\n")
    logs.clear()

    real_rank = routing.rank_regions
    fault = {"on": False, "hits": 0}

    def broken_rank(*_args: object, **_kwargs: object) -> list[str]:
        fault["hits"] += 1
        raise RuntimeError("lab fault injection: rank_regions is broken")

    context = _Context(args.function_name, args.qualified_arn, args.memory_mb, args.timeout_s)
    invocations = 0
    for line in sys.stdin:
        message = json.loads(line)
        op = message.get("op")
        if op == "invoke":
            invocations += 1
            context.start(message.get("request_id", ""))
            hits_before = fault["hits"]
            begun = time.perf_counter()
            try:
                result = handler(message["event"], context)
                reply = {"ok": True, "result": result}
            except Exception as error:
                reply = {
                    "ok": False,
                    "error": f"{type(error).__name__}: {error}",
                    "trace": traceback.format_exc(limit=5),
                }
            reply["ms"] = round((time.perf_counter() - begun) * 1000, 3)
            reply["fault_hits"] = fault["hits"] - hits_before
            reply["logs"] = list(logs)
            logs.clear()
        elif op == "fault":
            fault["on"] = bool(message.get("on"))
            routing.rank_regions = broken_rank if fault["on"] else real_rank
            reply = {"ok": True, "fault": fault["on"]}
        elif op == "stats":
            reply = {"ok": True, "invocations": invocations, "fault_hits": fault["hits"]}
        else:
            reply = {"ok": False, "error": f"unknown op {op!r}"}
        channel.write(json.dumps(reply, default=repr) + "\n")
    workdir.cleanup()


if __name__ == "__main__":
    threading.current_thread().name = "edge-container"
    main()
