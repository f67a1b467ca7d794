"""``backfill REGION``: copy what the primary has and REGION lacks (a region added late).

S3 replication copies only objects written after the rule exists, so a region added
to a live stack starts empty. Backfill compares the two listings by key and ETag and
copies every object that is missing or different, with its Content-Type,
Cache-Control, Content-Encoding/Disposition/Language and user metadata. Each object
streams through this machine (GET from the primary, PUT to the region, multipart for
large ones with the part size ``publish`` uses, so ETags match; the SHA-256 metadata
``publish`` stores comes along): that works for any pair of regions and endpoints. It is
resumable by construction: a second run finds what the first copied and skips it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .content import MULTIPART_CHUNK, MULTIPART_THRESHOLD
from .objects import REPLICATED_HEADERS, describe_error, is_reserved, list_etags, object_sha256
from .progress import Progress
from .stack import Target

DEFAULT_CONCURRENCY = 8


def backfill_plan(
    primary: dict[str, str],
    replica: dict[str, str],
    same_content: Callable[[str], bool] = lambda key: False,
) -> tuple[list[str], int]:
    """Keys to copy and the number already in place.

    In place: the same ETag, or (ETags differ, as under SSE-KMS) the same SHA-256
    stored with both copies, asked through ``same_content(key)``.
    """
    keys = [k for k in sorted(primary) if not is_reserved(k)]
    copy = [
        k for k in keys if k not in replica or (replica[k] != primary[k] and not same_content(k))
    ]
    return copy, len(keys) - len(copy)


def backfill(
    target: Target,
    region: str,
    *,
    prefix: str = "",
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool | None = None,
) -> tuple[dict[str, Any], int]:
    """Copy missing objects into ``region``; returns the JSON summary and the exit code."""
    from boto3.s3.transfer import TransferConfig

    started = time.monotonic()
    outputs = target.outputs
    region = outputs.region(region, secondary=True)
    source, source_bucket = target.s3(outputs.primary_region), target.bucket(outputs.primary_region)
    destination, destination_bucket = target.s3(region), target.bucket(region)

    def same_content(key: str) -> bool:
        stored = object_sha256(source, source_bucket, key)
        return stored is not None and stored == object_sha256(destination, destination_bucket, key)

    to_copy, skipped = backfill_plan(
        list_etags(source, source_bucket, prefix),
        list_etags(destination, destination_bucket, prefix),
        same_content,
    )
    transfer = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=4,
    )
    failed: list[dict[str, str]] = []

    def copy(key: str) -> bool:
        try:
            got = source.get_object(Bucket=source_bucket, Key=key)
            extra = {name: got[name] for name in REPLICATED_HEADERS if got.get(name)}
            with got["Body"] as body:
                destination.upload_fileobj(
                    body, destination_bucket, key, ExtraArgs=extra, Config=transfer
                )
        except Exception as error:
            failed.append({"key": key, "reason": describe_error(error)})
            return False
        finally:
            bar.advance()
        return True

    with (
        Progress(f"backfill {region}", len(to_copy), enabled=progress) as bar,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        copied = sum(pool.map(copy, to_copy))
    result = {
        "region": region,
        "copied": copied,
        "skipped": skipped,
        "failed": sorted(failed, key=lambda f: f["key"]),
        "seconds": round(time.monotonic() - started, 3),
    }
    return result, 0 if not failed else 1
