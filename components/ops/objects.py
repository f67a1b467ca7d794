"""Object listings and the replication wait that ``publish``, ``verify``, ``status`` and
``backfill`` share.

A region "has" an object when its listing shows the key with the source's ETag: S3
replication copies an object as it is, ETag included, so one ListObjectsV2 per region
per poll answers for every key at once (no request per object). Where the ETags differ
but the key is there (an SSE-KMS bucket, whose ETags are not content hashes), one
HeadObject settles it: the SHA-256 that ``publish``, ``verify`` and ``backfill`` store
as user metadata (``x-amz-meta-sha256``) travels with every replica.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .progress import Progress
from .stack import Target

# Keys the product itself keeps in every bucket: never published over, deleted or copied.
PROBE_PREFIX = "_health/"  # the health checks' probe object (components/buckets.py)
CANARY_PREFIX = "_canary/"  # verify's short-lived canaries
RESERVED_PREFIXES = (PROBE_PREFIX, CANARY_PREFIX)
POLL_S = 1.0
# What S3 replication keeps of an object besides its bytes (backfill copies the same).
REPLICATED_HEADERS = (
    "ContentType",
    "CacheControl",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "Metadata",
)
CHECKSUM_METADATA = "sha256"  # user metadata key: x-amz-meta-sha256, hex of the content


@dataclass(frozen=True)
class Version:
    """What a key must hold: the source's ETag, and the content's SHA-256 (may be "")."""

    etag: str
    sha256: str = ""


def is_reserved(key: str) -> bool:
    """True for keys under the product's own prefixes (probe, canaries)."""
    return key.startswith(RESERVED_PREFIXES)


def list_etags(client: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """Every key under ``prefix`` with its ETag (current versions only)."""
    found: dict[str, str] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def describe_error(error: BaseException) -> str:
    """One line for a boto3/botocore error: the AWS error code and message when there is one."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        detail = response.get("Error") or {}
        code, message = detail.get("Code"), detail.get("Message")
        if code:
            return f"{code}: {message}" if message else str(code)
    return f"{type(error).__name__}: {error}".splitlines()[0]


@dataclass
class ReplicationOutcome:
    """Per region: how many expected changes arrived, which did not, the last error."""

    replicated: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every change reached every region."""
        return not any(self.missing.values())


def object_sha256(client: Any, bucket: str, key: str) -> str | None:
    """The SHA-256 stored with the object, or None (no such key, none stored, an error)."""
    try:
        answer = client.head_object(Bucket=bucket, Key=key)
    except Exception:
        return None
    return (answer.get("Metadata") or {}).get(CHECKSUM_METADATA)


def holds(
    expected: Version | None, listed_etag: str | None, stored_sha256: Callable[[], str | None]
) -> bool:
    """True when a region's copy is the expected one (absent, for an expected delete).

    Same ETag: yes. Another ETag: only if the SHA-256 stored with the copy is the
    expected one (asked through ``stored_sha256`` only then, as it costs a request).
    """
    if expected is None:
        return listed_etag is None
    if listed_etag is None:
        return False
    if listed_etag == expected.etag:
        return True
    return bool(expected.sha256) and stored_sha256() == expected.sha256


def wait_replicated(
    list_region: Callable[[str], Mapping[str, str]],
    expected: Mapping[str, Version | None],
    regions: Iterable[str],
    *,
    timeout_s: float,
    stored_sha256: Callable[[str, str], str | None] | None = None,
    poll_s: float = POLL_S,
    on_progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplicationOutcome:
    """Poll each region's listing until it matches ``expected`` or ``timeout_s`` passes.

    ``expected`` maps a key to the :class:`Version` it must have, or None for a
    deleted key; ``stored_sha256(region, key)`` reads the SHA-256 stored with a copy
    whose ETag differs. ``list_region(region)`` returns that region's listing
    (key -> ETag); an error
    from it counts as "nothing arrived yet" and is reported, so a region that is
    down is named with its reason, and one that comes back in time still passes.
    ``on_progress`` receives the number of (region, key) pairs newly satisfied.
    """
    outcome = ReplicationOutcome()
    pending = {region: set(expected) for region in regions}
    for region in pending:
        outcome.replicated[region] = 0
    deadline = clock() + timeout_s
    while True:
        for region, keys in pending.items():
            if not keys:
                continue
            try:
                listing = list_region(region)
            except Exception as error:  # an unreachable region is reported, not fatal
                outcome.errors[region] = describe_error(error)
                continue
            outcome.errors.pop(region, None)
            arrived = {
                key
                for key in keys
                if holds(
                    expected[key],
                    listing.get(key),
                    lambda key=key, region=region: (
                        stored_sha256(region, key) if stored_sha256 is not None else None
                    ),
                )
            }
            keys -= arrived
            outcome.replicated[region] += len(arrived)
            if on_progress is not None and arrived:
                on_progress(len(arrived))
        if not any(pending.values()) or clock() >= deadline:
            break
        sleep(min(poll_s, max(0.0, deadline - clock())))
    outcome.missing = {region: sorted(keys) for region, keys in pending.items() if keys}
    return outcome


def await_replication(
    target: Target,
    expected: Mapping[str, Version | None],
    *,
    prefix: str,
    timeout_s: float,
    progress: bool | None,
) -> ReplicationOutcome:
    """:func:`wait_replicated` for every secondary region of ``target``, with a progress bar."""
    secondaries = [r for r in target.outputs.regions if r != target.outputs.primary_region]
    with Progress("replicate", len(expected) * len(secondaries), enabled=progress) as bar:
        return wait_replicated(
            lambda region: list_etags(target.s3(region), target.bucket(region), prefix),
            expected,
            secondaries,
            timeout_s=timeout_s,
            stored_sha256=lambda region, key: object_sha256(
                target.s3(region), target.bucket(region), key
            ),
            on_progress=bar.advance,
        )
