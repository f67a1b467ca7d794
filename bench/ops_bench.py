"""Benchmark the operator's command line against a running lab: time and S3 requests.

    python bench/ops_bench.py                 # table and verdict
    python bench/ops_bench.py --files 1000    # a bigger tree
    python bench/ops_bench.py --json          # one JSON object

What is measured (real seconds on this machine, the lab at ``--time-scale``; each
command called in-process with a lab ``Target``, S3 requests counted with botocore's
``before-call`` event on the clients the command uses):

* ``publish_s`` / ``publish_requests``: a fresh tree of ``--files`` small files plus one
  file of ``--big-mib`` MiB (multipart), to the primary, the replication wait included
  (the lab notices writes made around it by a scan every 5 real seconds, so expect up
  to 5 s of that here), and the invalidation.
* ``republish_s`` / ``republish_requests``: the same tree again, unchanged.
  Target: no upload, no invalidation, and one ListObjectsV2 page per 1000 keys
  (``ceil((files + 1) / 1000)`` requests in all): the skip costs a listing, not a
  request per file.
* ``status_s``: one ``status`` (health checks, the DNS lookup, two listings, the
  distribution).
* ``verify_s``: ``verify --objects 50``. Target: verdict ok.
* ``backfill_s`` / ``backfill_copied``: after the secondary region is replaced by an
  empty bucket. Target: every object copied, a second run copies nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from asset_delivery.lab.commands import obtain_stack
from asset_delivery.lab.lab import Lab
from asset_delivery.ops.backfill import backfill
from asset_delivery.ops.publish import publish
from asset_delivery.ops.stack import Target, load_lab_profile
from asset_delivery.ops.status import status
from asset_delivery.ops.verify import verify


def count_requests(target: Target) -> Counter[str]:
    """Count S3 API calls per operation on every region's client of ``target``."""
    calls: Counter[str] = Counter()
    for region in target.outputs.regions:
        client = target.s3(region)
        client.meta.events.register(
            "before-call.s3.*",
            lambda model, **_: calls.update([model.name]),
        )
    return calls


def make_tree(root: Path, files: int, big_mib: int) -> None:
    for n in range(files):
        path = root / f"static/{n // 100:03d}/file-{n:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"file {n}\n".encode() * 400)
    (root / "media").mkdir(parents=True, exist_ok=True)
    (root / "media/big.bin").write_bytes(os.urandom(big_mib * 1024 * 1024))


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return round(time.perf_counter() - started, 2), result


def run(files: int, big_mib: int, time_scale: float) -> dict[str, Any]:
    stack = obtain_stack("prod")
    secondary = next(r for r in stack.regions if r != stack.primary_region)
    with tempfile.TemporaryDirectory() as scratch, Lab(stack, time_scale=time_scale) as lab:
        tree = Path(scratch) / "tree"
        make_tree(tree, files, big_mib)
        target = load_lab_profile(lab.write_profile(Path(scratch) / "profile.json"))
        calls = count_requests(target)
        out: dict[str, Any] = {"files": files + 1, "big_mib": big_mib}

        out["publish_s"], (first, code) = timed(lambda: publish(target, tree, progress=False))
        out["publish_exit"], out["publish_uploaded"] = code, first["uploaded"]
        out["publish_requests"] = sum(calls.values())
        calls.clear()
        out["republish_s"], (again, code) = timed(lambda: publish(target, tree, progress=False))
        out["republish_exit"], out["republish_uploaded"] = code, again["uploaded"]
        out["republish_invalidation"] = again["invalidation_id"]
        out["republish_requests"] = dict(calls)
        calls.clear()
        out["status_s"], (state, _code) = timed(lambda: status(target))
        out["status_verdict"] = state["verdict"]
        out["verify_s"], (checked, _code) = timed(
            lambda: verify(target, objects=50, progress=False)
        )
        out["verify_verdict"] = checked["verdict"]
        out["verify_by_region"] = checked["by_region"]
        lab.replace_region(secondary)
        lab.wait_healthy(secondary, True, timeout_s=60)
        target = load_lab_profile(lab.profile_path)  # the region has a new endpoint
        out["backfill_s"], (filled, _code) = timed(
            lambda: backfill(target, secondary, progress=False)
        )
        out["backfill_copied"] = filled["copied"]
        _again, (refilled, _code) = timed(lambda: backfill(target, secondary, progress=False))
        out["backfill_second_copied"] = refilled["copied"]
    return out


def verdict(result: dict[str, Any]) -> list[str]:
    """The targets this run missed (empty: all met)."""
    misses = []
    pages = math.ceil(result["files"] / 1000)
    if result["publish_exit"] != 0 or result["publish_uploaded"] != result["files"]:
        misses.append("the first publish did not upload and replicate everything")
    if result["republish_uploaded"] or result["republish_invalidation"]:
        misses.append("the unchanged re-publish uploaded or invalidated something")
    if result["republish_requests"] != {"ListObjectsV2": pages}:
        misses.append(f"the unchanged re-publish made {result['republish_requests']}")
    if result["verify_verdict"] != "ok":
        misses.append("verify failed")
    if result["backfill_copied"] != result["files"] or result["backfill_second_copied"]:
        misses.append("backfill did not copy everything exactly once")
    return misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--big-mib", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.files, args.big_mib, args.time_scale)
    misses = verdict(result)
    result["targets_met"] = not misses
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<26}{value}")
        print("verdict: " + ("targets met" if not misses else "MISSED: " + "; ".join(misses)))
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
