"""``verify``: an end-to-end canary through the real delivery path.

N unique objects (``_canary/<run>/<n>.txt``) are written to the primary, replication
is awaited in every region, each is fetched once through the distribution (unique
keys, so every fetch is a cache miss that the edge function routes), the serving
region is read from the function's response header, and the canaries are deleted
(delete markers, which replicate). The observed split is compared with the share the
routing table gives each region.

Verdict ``ok`` when no fetch failed (status, body) and every region the table gives
a share served at least once; otherwise ``failed``.
"""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from ..edge_config import REGION_HEADER
from .objects import (
    CANARY_PREFIX,
    CHECKSUM_METADATA,
    Version,
    await_replication,
    describe_error,
)
from .progress import Progress
from .publish import delete_keys
from .routing_table import RoutingLookupError, read_routing_table
from .stack import Target

DEFAULT_OBJECTS = 50
FETCH_TIMEOUT_S = 30.0
DEFAULT_REPLICATION_TIMEOUT_S = 900.0


def max_deviation_pp(
    by_region: dict[str, int], expected: dict[str, float], total: int
) -> float | None:
    """Largest gap between observed and expected share, in percentage points (None when
    nothing was fetched or nothing is expected)."""
    if total == 0 or not expected:
        return None
    regions = set(by_region) | set(expected)
    return round(
        max(abs(by_region.get(r, 0) / total - expected.get(r, 0.0)) * 100 for r in regions), 2
    )


def fetch(url: str, timeout_s: float = FETCH_TIMEOUT_S) -> tuple[int, bytes, str | None]:
    """GET ``url``: (status, body, serving region header)."""
    request = urllib.request.Request(url, headers={"User-Agent": "asset-delivery-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return answer.status, answer.read(), answer.headers.get(REGION_HEADER)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get(REGION_HEADER)


def verify(
    target: Target,
    *,
    objects: int = DEFAULT_OBJECTS,
    timeout_s: float = DEFAULT_REPLICATION_TIMEOUT_S,
    progress: bool | None = None,
) -> tuple[dict[str, Any], int]:
    """Run the canary; returns the JSON summary and the exit code (0 ok, 1 failed)."""
    started = time.monotonic()
    outputs = target.outputs
    primary = outputs.primary_region
    client = target.s3(primary)
    bucket = target.bucket(primary)
    run = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    prefix = f"{CANARY_PREFIX}{run}/"
    bodies = {f"{prefix}{n:04d}.txt": f"asset-delivery canary {run} {n}\n" for n in range(objects)}
    errors: list[dict[str, str]] = []
    notes: list[str] = []

    try:
        table = read_routing_table(
            outputs.routing_record_name, outputs.routing_name_servers, outputs.regions
        )
        expected = table.expected_share()
    except RoutingLookupError as error:
        notes.append(f"routing table unreadable, expected share from the stack's weights: {error}")
        weights = outputs.region_weights or dict.fromkeys(outputs.regions, 1)
        total = sum(weights.values()) or 1
        expected = {region: weight / total for region, weight in weights.items()}

    def put(key: str) -> tuple[str, Version] | None:
        body = bodies[key].encode()
        sha256 = hashlib.sha256(body).hexdigest()
        try:
            answer = client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="text/plain; charset=utf-8",
                CacheControl="no-store",
                Metadata={CHECKSUM_METADATA: sha256},
            )
        except Exception as error:
            errors.append({"key": key, "stage": "write", "error": describe_error(error)})
            return None
        return key, Version(answer["ETag"], sha256)

    with ThreadPoolExecutor(max_workers=8) as pool:
        written = dict(item for item in pool.map(put, bodies) if item is not None)

    outcome = await_replication(
        target, written, prefix=prefix, timeout_s=timeout_s, progress=progress
    )
    for region, keys in outcome.missing.items():
        reason = outcome.errors.get(region, f"not replicated within {timeout_s:g} s")
        errors.extend(
            {"key": k, "stage": "replicate", "region": region, "error": reason} for k in keys
        )

    served: Counter[str] = Counter()

    def get(key: str) -> None:
        url = f"{outputs.url}/{quote(key)}"
        try:
            status_code, body, region = fetch(url)
        except Exception as error:
            errors.append({"key": key, "stage": "fetch", "error": describe_error(error)})
            return
        finally:
            bar.advance()
        if status_code != 200 or body.decode(errors="replace") != bodies[key]:
            errors.append(
                {
                    "key": key,
                    "stage": "fetch",
                    "region": region or "",
                    "error": f"HTTP {status_code}" if status_code != 200 else "body differs",
                }
            )
            return
        served[region or "unknown"] += 1

    with (
        Progress("fetch", len(written), enabled=progress) as bar,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        list(pool.map(get, written))

    _deleted, delete_failures = delete_keys(client, bucket, bodies)
    notes.extend(f"canary {f['key']} not deleted: {f['reason']}" for f in delete_failures)

    by_region = {region: served.get(region, 0) for region in outputs.regions}
    by_region.update({r: n for r, n in served.items() if r not in by_region})
    fetched = sum(served.values())
    if fetched and served.get("unknown") == fetched:
        # regionHeader: false (no origin-response function): nothing names the region.
        notes.append(f"responses carry no {REGION_HEADER} header; the split is not measured")
        expected = {}
    silent = sorted(r for r, share in expected.items() if share > 0 and by_region.get(r, 0) == 0)
    notes.extend(
        f"{region} has a share in the routing table but served nothing" for region in silent
    )
    verdict = "ok" if not errors and not silent and fetched == objects else "failed"
    result = {
        "objects": objects,
        "by_region": by_region,
        "errors": errors,
        "expected_share": {r: round(s, 4) for r, s in expected.items()},
        "max_deviation_pp": max_deviation_pp(by_region, expected, fetched),
        "verdict": verdict,
        "notes": notes,
        "seconds": round(time.monotonic() - started, 3),
    }
    return result, 0 if verdict == "ok" else 1
