"""``publish DIR``: upload a directory to the primary bucket, wait for every region,
invalidate what changed.

Like ``aws s3 sync``: keys are ``prefix + path relative to DIR``; a file whose
ETag equals the object's is skipped (one listing, no request per file); ``--delete``
removes keys under the prefix that DIR no longer has, never anything outside it and
never the product's own keys (the health probe, verify's canaries). Then every new,
changed or deleted key must reach every other region (the replication wait), and the
changed paths are invalidated in one batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cdn import create_invalidation, invalidation_paths
from .content import (
    MULTIPART_CHUNK,
    MULTIPART_THRESHOLD,
    CacheRule,
    cache_control,
    checksums,
    content_type,
)
from .objects import (
    CHECKSUM_METADATA,
    Version,
    await_replication,
    describe_error,
    is_reserved,
    list_etags,
    object_sha256,
)
from .progress import Progress
from .stack import Target, UsageError

DEFAULT_CONCURRENCY = 8
DEFAULT_REPLICATION_TIMEOUT_S = 900.0  # S3 RTC's promise: 99.99 % within 15 minutes
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


@dataclass(frozen=True)
class LocalFile:
    """One file of DIR and the key it is published under."""

    path: Path
    key: str
    size: int


@dataclass
class Plan:
    """What a publish will do, decided before any write."""

    upload: list[LocalFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)


def normalise_prefix(prefix: str) -> str:
    """``/static`` -> ``static/``; empty stays empty; refuses ``..`` and empty segments."""
    cleaned = prefix.strip().strip("/")
    if not cleaned:
        return ""
    segments = cleaned.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise UsageError(f"--prefix {prefix!r} has an empty, '.' or '..' segment")
    return cleaned + "/"


def local_files(directory: Path, prefix: str) -> list[LocalFile]:
    """Every regular file under ``directory`` (symlinks followed), sorted by key."""
    if not directory.is_dir():
        raise UsageError(f"publish directory {directory} does not exist or is not a directory")
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if not path.is_file():
                continue
            relative = path.relative_to(directory).as_posix()
            files.append(LocalFile(path, prefix + relative, path.stat().st_size))
    return files


def plan_publish(
    files: Sequence[LocalFile],
    local: Mapping[str, tuple[str, str]],
    remote: Mapping[str, str],
    *,
    prefix: str,
    delete: bool,
    stored_sha256: Callable[[str], str | None] = lambda key: None,
) -> Plan:
    """Upload what differs, skip what matches, delete (if asked) what is gone.

    ``local`` maps a key to the file's (ETag, SHA-256); ``remote`` the bucket's keys
    to their ETags. A key is unchanged when the ETags match, or, when they differ,
    when the SHA-256 stored with the object (``stored_sha256(key)``, a HEAD) matches.
    Only keys under ``prefix`` are ever deleted, and reserved keys (the health
    probe, canaries) are neither overwritten nor deleted.
    """
    plan = Plan()
    local_keys = set()
    for item in files:
        local_keys.add(item.key)
        if is_reserved(item.key):
            plan.refused.append(
                {"key": item.key, "reason": "reserved for the product (health probe, canaries)"}
            )
        elif _same(local[item.key], remote, item.key, stored_sha256):
            plan.unchanged.append(item.key)
        else:
            plan.upload.append(item)
    if delete:
        plan.delete = sorted(
            key
            for key in remote
            if key.startswith(prefix) and key not in local_keys and not is_reserved(key)
        )
    return plan


def _same(
    local: tuple[str, str],
    remote: Mapping[str, str],
    key: str,
    stored_sha256: Callable[[str], str | None],
) -> bool:
    etag, sha256 = local
    return key in remote and (remote[key] == etag or stored_sha256(key) == sha256)


def _checksums_of(item: LocalFile) -> tuple[str, str]:
    with item.path.open("rb") as stream:
        return checksums(stream, item.size)


def publish(
    target: Target,
    directory: Path,
    *,
    prefix: str = "",
    delete: bool = False,
    rules: Sequence[CacheRule] = (),
    wait: bool = True,
    invalidate: bool = True,
    timeout_s: float = DEFAULT_REPLICATION_TIMEOUT_S,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool | None = None,
) -> tuple[dict[str, Any], int]:
    """Run one publish; returns the JSON summary and the exit code (0 or 1)."""
    from boto3.s3.transfer import TransferConfig

    started = time.monotonic()
    prefix = normalise_prefix(prefix)
    files = local_files(directory, prefix)
    outputs = target.outputs
    primary = outputs.primary_region
    bucket = target.bucket(primary)
    client = target.s3(primary)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        local = dict(zip((f.key for f in files), pool.map(_checksums_of, files), strict=True))
    remote = list_etags(client, bucket, prefix)
    plan = plan_publish(
        files,
        local,
        remote,
        prefix=prefix,
        delete=delete,
        stored_sha256=lambda key: object_sha256(client, bucket, key),
    )
    failed: list[dict[str, str]] = list(plan.refused)

    transfer = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=4,
    )

    def upload(item: LocalFile) -> str | None:
        try:
            client.upload_file(
                str(item.path),
                bucket,
                item.key,
                ExtraArgs={
                    "ContentType": content_type(item.key),
                    "CacheControl": cache_control(item.key, rules),
                    "Metadata": {CHECKSUM_METADATA: local[item.key][1]},
                },
                Config=transfer,
            )
        except Exception as error:
            return describe_error(error)
        finally:
            bar.advance()
        return None

    with (
        Progress("upload", len(plan.upload), enabled=progress) as bar,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        reasons = list(pool.map(upload, plan.upload))
    uploaded = []
    for item, reason in zip(plan.upload, reasons, strict=True):
        if reason is None:
            uploaded.append(item.key)
        else:
            failed.append({"key": item.key, "reason": reason})

    deleted, delete_failures = delete_keys(client, bucket, plan.delete)
    failed.extend(delete_failures)

    # Replicas must match what the primary holds now (its ETags, our SHA-256s).
    primary_now = list_etags(client, bucket, prefix) if uploaded else {}
    changed: dict[str, Version | None] = {
        key: Version(primary_now.get(key, local[key][0]), local[key][1]) for key in uploaded
    }
    changed.update(dict.fromkeys(deleted))
    result: dict[str, Any] = {
        "uploaded": len(uploaded),
        "unchanged": len(plan.unchanged),
        "deleted": len(deleted),
        "failed": failed,
        "replicated": None,
        "not_replicated": {},
        "region_errors": {},
        "invalidation_id": None,
        "invalidated_paths": [],
        "seconds": 0.0,
    }
    if wait:
        outcome = await_replication(
            target, changed, prefix=prefix, timeout_s=timeout_s, progress=progress
        )
        result["replicated"] = outcome.replicated
        result["not_replicated"] = outcome.missing
        result["region_errors"] = outcome.errors
    if invalidate and changed:
        paths = invalidation_paths(changed, prefix)
        result["invalidated_paths"] = paths
        try:
            result["invalidation_id"] = create_invalidation(
                target.cloudfront(), outputs.distribution_id, paths
            )
        except Exception as error:
            result["invalidation_error"] = describe_error(error)
    result["seconds"] = round(time.monotonic() - started, 3)
    ok = not failed and not result["not_replicated"] and "invalidation_error" not in result
    return result, 0 if ok else 1


def delete_keys(
    client: Any, bucket: str, keys: Iterable[str]
) -> tuple[list[str], list[dict[str, str]]]:
    """Delete keys in batches of 1000 (delete markers, which replicate); (done, failures)."""
    keys = list(keys)
    done: list[str] = []
    failures: list[dict[str, str]] = []
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        try:
            answer = client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": False}
            )
        except Exception as error:
            reason = describe_error(error)
            failures.extend({"key": key, "reason": reason} for key in batch)
            continue
        done.extend(item["Key"] for item in answer.get("Deleted", []))
        failures.extend(
            {"key": item["Key"], "reason": f"{item.get('Code')}: {item.get('Message')}"}
            for item in answer.get("Errors", [])
        )
    return done, failures
