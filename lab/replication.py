"""S3 replication for the emulators, which store replication rules but never act on them.

Writes the lab makes through its own API are reported with :meth:`Replicator.written`;
a slow scan of every source bucket's versions (ListObjectVersions, which moto answers
in time proportional to the bucket) also catches writes made around the lab, such as
an ``aws s3 cp`` against an emulator. Each version not seen before becomes one job
per matching rule, due ``lag_s`` lab seconds later:
copy that version (or place a delete marker, when the rule replicates them) into the
destination bucket. Versions the replicator itself wrote are never replicated again,
as S3 does not replicate replicas, so bidirectional rules do not loop. A job whose
source or destination is down waits and is retried, in order per key, like S3's own
retries; so a region that comes back catches up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from asset_delivery.ops.objects import REPLICATED_HEADERS
from botocore.exceptions import BotoCoreError, ClientError

from .clock import LabClock
from .model import ReplicationRule
from .regions import RegionEmulator, RegionUnavailable

# Errors that mean "that region cannot be reached now", so the job is retried later.
_UNREACHABLE = (RegionUnavailable, BotoCoreError)
_GONE_CODES = {"NoSuchVersion", "NoSuchKey", "InvalidArgument", "404"}


@dataclass
class _Job:
    rule: ReplicationRule
    key: str
    version_id: str
    delete_marker: bool
    due: float  # lab time


@dataclass
class ReplicationStats:
    """Counters for the drill report."""

    copied: int = 0
    deletes: int = 0
    retries: int = 0
    lost: int = 0
    pending: int = 0


class Replicator:
    """Applies the declared rules between emulators, ``lag_s`` lab seconds late."""

    def __init__(
        self,
        rules: Iterable[ReplicationRule],
        emulators: Mapping[str, RegionEmulator],
        clock: LabClock,
        *,
        lag_s: float = 0.0,
        scan_real_s: float = 5.0,
    ) -> None:
        self.rules = tuple(rules)
        self._emulators = emulators
        self._clock = clock
        self.lag_s = lag_s
        self._scan_real_s = scan_real_s
        self._next_scan = 0.0
        self._lock = threading.Condition()
        self._known: dict[str, set[str]] = {r.source_region: set() for r in self.rules}
        self._replicas: dict[str, set[str]] = {region: set() for region in emulators}
        self._jobs: list[_Job] = []
        self._stats = ReplicationStats()
        self._passes = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # (region, key, body or None for a delete, put_object attributes): the lab's journal
        self.on_write: Callable[[str, str, bytes | None, dict[str, Any]], None] | None = None

    def start(self) -> None:
        """Run the poller in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="replicator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (pending jobs are dropped with the lab)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def written(self, region: str, key: str, version_id: str, delete_marker: bool) -> None:
        """The lab wrote ``key`` to ``region``: schedule its replication now."""
        with self._lock:
            if region in self._known:
                self._schedule(region, [(key, version_id, delete_marker)], self._clock.now())
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.poll_once()
            self._wake.wait(self._next_wait())

    def _next_wait(self) -> float:
        """Real seconds until the next pass: the next scan, or sooner if a job is due."""
        with self._lock:
            due = min((job.due for job in self._jobs), default=None)
        wait = max(0.0, self._next_scan - time.monotonic())
        if due is not None:
            wait = min(wait, self._clock.real(due - self._clock.now()))
        return max(0.005, wait)

    def stats(self) -> ReplicationStats:
        """A snapshot of the counters."""
        with self._lock:
            return ReplicationStats(**{**self._stats.__dict__, "pending": len(self._jobs)})

    def poll_once(self, scan: bool | None = None) -> None:
        """Run due jobs; list the source buckets first when a scan is due (or asked)."""
        if scan or (scan is None and time.monotonic() >= self._next_scan):
            self._next_scan = time.monotonic() + self._scan_real_s
            for source in self._known:
                self._scan(source)
        self._run_due_jobs()
        with self._lock:
            self._passes += 1
            self._lock.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait (real seconds) until a pass that started after this call left no job."""
        with self._lock:
            target = self._passes + 2
        self._wake.set()
        with self._lock:
            return self._lock.wait_for(
                lambda: self._passes >= target and not self._jobs, timeout=timeout_s
            )

    def adopt(self, region: str, client: Any) -> None:
        """A region came back with its objects restored under new version ids.

        Its current versions are not new writes, so they are marked as seen. Jobs
        from its previous life that had not run yet are moved to the restored
        version of the same key, so a write that had not replicated before the
        outage still does afterwards (as S3 would).
        """
        bucket = self._emulators[region].spec.bucket
        entries = _list_versions(client, bucket)
        latest: dict[str, str] = {}
        for key, version_id, delete_marker in entries:
            if not delete_marker:
                latest.setdefault(key, version_id)
        with self._lock:
            moved: dict[tuple[str, str], _Job] = {}
            kept = []
            for job in self._jobs:
                if job.rule.source_region != region:
                    kept.append(job)
                elif job.delete_marker:
                    kept.append(job)  # a delete marker needs nothing from the source
                elif job.key in latest:
                    moved[(job.rule.rule_id, job.key)] = _Job(
                        job.rule, job.key, latest[job.key], False, job.due
                    )
                else:
                    self._stats.lost += 1
            self._jobs = kept + list(moved.values())
            current = {version_id for _key, version_id, _dm in entries}
            if region in self._known:
                self._known[region] = set(current)
            self._replicas[region] = set(current)

    def _scan(self, source: str) -> None:
        emulator = self._emulators[source]
        try:
            entries = _list_versions(emulator.client(), emulator.spec.bucket)
        except (*_UNREACHABLE, ClientError):
            return
        with self._lock:
            # Listings are newest first per key; reversed gives the order of writes.
            self._schedule(source, list(reversed(entries)), self._clock.now())

    def _schedule(self, source: str, entries: list[tuple[str, str, bool]], now: float) -> None:
        """Jobs for versions not seen before (caller holds the lock)."""
        known = self._known[source]
        replicas = self._replicas[source]
        for key, version_id, delete_marker in entries:
            if version_id in known:
                continue
            known.add(version_id)
            if version_id in replicas:
                continue
            for rule in self.rules:
                if rule.source_region != source or not key.startswith(rule.prefix):
                    continue
                if delete_marker and not rule.delete_markers:
                    continue
                self._jobs.append(_Job(rule, key, version_id, delete_marker, now + self.lag_s))

    def _run_due_jobs(self) -> None:
        now = self._clock.now()
        with self._lock:
            due = [job for job in self._jobs if job.due <= now]
        blocked: set[tuple[str, str]] = set()
        done: list[_Job] = []
        for job in due:
            rule = job.rule
            if (rule.destination_region, job.key) in blocked:
                continue
            outcome = self._apply(job)
            if outcome == "retry":
                blocked.add((rule.destination_region, job.key))
                with self._lock:
                    self._stats.retries += 1
                continue
            done.append(job)
        with self._lock:
            finished = {id(job) for job in done}
            self._jobs = [job for job in self._jobs if id(job) not in finished]

    def _apply(self, job: _Job) -> str:
        """Copy one version or delete marker; 'done', 'retry' or 'lost'."""
        rule = job.rule
        try:
            destination = self._emulators[rule.destination_region].client()
            body: bytes | None = None
            attributes: dict[str, Any] = {}
            if job.delete_marker:
                answer = destination.delete_object(Bucket=rule.destination_bucket, Key=job.key)
                counter = "deletes"
            else:
                source = self._emulators[rule.source_region].client()
                got = source.get_object(
                    Bucket=rule.source_bucket, Key=job.key, VersionId=job.version_id
                )
                body = got["Body"].read()
                tags = source.get_object_tagging(
                    Bucket=rule.source_bucket, Key=job.key, VersionId=job.version_id
                )["TagSet"]
                attributes = replicated_attributes(got, tags)
                answer = _put_replica(
                    destination,
                    rule.destination_bucket,
                    job.key,
                    body,
                    attributes,
                    part_size=_part_size(source, rule.source_bucket, job, got),
                )
                counter = "copied"
        except _UNREACHABLE:
            return "retry"
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _GONE_CODES and not job.delete_marker:
                with self._lock:
                    self._stats.lost += 1
                return "lost"
            return "retry"
        with self._lock:
            version_id = answer.get("VersionId")
            if version_id:
                self._replicas[rule.destination_region].add(version_id)
            setattr(self._stats, counter, getattr(self._stats, counter) + 1)
        if self.on_write is not None:
            self.on_write(rule.destination_region, job.key, body, attributes)
        return "done"


def _part_size(source: Any, bucket: str, job: _Job, got: dict[str, Any]) -> int | None:
    """The source's part size when it was a multipart upload (ETag ``"<md5>-<parts>"``)."""
    if "-" not in str(got.get("ETag", "")):
        return None
    first = source.head_object(Bucket=bucket, Key=job.key, VersionId=job.version_id, PartNumber=1)
    return int(first["ContentLength"])


def _put_replica(
    client: Any,
    bucket: str,
    key: str,
    body: bytes,
    attributes: dict[str, Any],
    part_size: int | None,
) -> dict[str, Any]:
    """Write the replica as S3 replication does: same headers, metadata and tags, and the
    same ETag, which for a multipart source means the same parts (the operator's command
    line compares ETags to know an object has arrived)."""
    extra = attributes
    if part_size is None:
        return client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
    upload = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
    parts = []
    for number, start in enumerate(range(0, len(body), part_size), start=1):
        done = client.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body[start : start + part_size],
        )
        parts.append({"PartNumber": number, "ETag": done["ETag"]})
    return client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )


def replicated_attributes(got: Mapping[str, Any], tags: list[dict[str, str]]) -> dict[str, Any]:
    """``put_object`` arguments that give a replica what S3 replication copies: the
    system headers, user metadata and the object's tags, not only its bytes."""
    attributes = {name: got[name] for name in REPLICATED_HEADERS if got.get(name)}
    attributes.setdefault("ContentType", "application/octet-stream")
    attributes["Metadata"] = dict(got.get("Metadata") or {})
    if tags:
        attributes["Tagging"] = urlencode([(tag["Key"], tag["Value"]) for tag in tags])
    return attributes


def _list_versions(client: Any, bucket: str) -> list[tuple[str, str, bool]]:
    """Every (key, version id, is delete marker) in the bucket, newest first per key."""
    entries: list[tuple[str, str, bool]] = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        rows = [(v, False) for v in page.get("Versions", [])]
        rows += [(d, True) for d in page.get("DeleteMarkers", [])]
        # Latest first, then by time: LastModified has whole-second resolution.
        rows.sort(
            key=lambda row: (
                row[0]["Key"],
                not row[0].get("IsLatest", False),
                -row[0]["LastModified"].timestamp(),
            )
        )
        entries.extend((entry["Key"], entry["VersionId"], marker) for entry, marker in rows)
    return entries
