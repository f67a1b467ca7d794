"""The whole delivery path on one machine, built from one ``LabStack``.

``Lab`` starts, in order: one S3 emulator process per region (bucket provisioned as
declared), the routing zone's DNS server, the health checkers, the replicator, the
function's containers and the edge. It stops everything in reverse order on exit,
on Ctrl-C and on errors. Drills drive it through a handful of switches that each
stand for one real-world event: ``kill_region``/``restore_region`` (a regional
outage), ``set_weight`` (a Route 53 change), ``set_dns_answering`` (the name servers
stop answering), ``set_function_fault`` (a bug in the function's routing code).
"""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from asset_delivery.ops.stack import LAB_PROFILE_KIND, LAB_PROFILE_VERSION

from .clock import DEFAULT_TIME_SCALE, LabClock
from .containers import DEFAULT_CONTAINERS, ContainerPool, FunctionContainer
from .control import ControlPlane
from .dns import DnsServer, RoutingZone
from .edge import Edge, WeightedOriginResolver
from .health import HealthChecker
from .model import LabStack
from .regions import RegionEmulator, RegionUnavailable, make_emulators
from .replication import Replicator
from .s3_access import EDGE_ROLE, Credentials

# The regional edge caches in an order that spreads a few containers over continents.
SPREAD_EDGE_REGIONS: tuple[str, ...] = (
    "us-east-1", "eu-central-1", "ap-northeast-1", "us-west-2", "eu-west-2", "ap-southeast-1",
    "sa-east-1", "ap-south-1", "ap-southeast-2", "us-east-2", "eu-west-1", "ap-northeast-2",
    "us-west-1",
)  # fmt: skip


def without_edge_function(stack: LabStack) -> LabStack:
    """The naive setup the product replaces: no function, one origin, no origin group."""
    distribution = stack.distribution
    group = distribution.origin_group
    target = group.primary_origin_id if group is not None else distribution.target_origin_id
    return dataclasses.replace(
        stack,
        function=None,
        distribution=dataclasses.replace(
            distribution,
            origin_group=None,
            target_origin_id=target,
            function_associations={},
        ),
    )


def region_header_of(stack: LabStack) -> str:
    """The response header the function names the serving region in (baked config)."""
    if stack.function is None:
        return "x-asset-region"
    with zipfile.ZipFile(io.BytesIO(stack.function.archive_zip)) as bundle:
        document = json.loads(bundle.read("edge_config.json"))
    return str(document.get("region_header", "x-asset-region"))


class Lab:
    """One running copy of the stack; use as a context manager."""

    def __init__(
        self,
        stack: LabStack,
        *,
        time_scale: float = DEFAULT_TIME_SCALE,
        containers: int = DEFAULT_CONTAINERS,
        cache: bool = False,
        seed: int = 0,
        replication_lag_s: float = 0.0,
        edge_function: bool = True,
        origin_resolvers: int = 8,
        workdir: Path | None = None,
        edge_port: int = 0,
        edge_regions: Sequence[str] | None = None,
    ) -> None:
        self.declared_stack = stack
        self.stack = stack if edge_function else without_edge_function(stack)
        self.clock = LabClock(time_scale)
        self.seed = seed
        self._containers = containers
        # Where each container "runs" (its AWS_REGION, as Lambda@Edge sets it): the
        # given regions in turn, by default spread over the regional edge caches.
        regions = tuple(edge_regions or SPREAD_EDGE_REGIONS)
        self.container_regions = [regions[index % len(regions)] for index in range(containers)]
        self._cache = cache
        self._origin_resolvers = origin_resolvers
        self._edge_port = edge_port
        self._workdir_arg = workdir
        self._workdir: Path | None = None
        # The edge function's role credentials, as Lambda hands them to the function.
        self.edge_role = Credentials(
            EDGE_ROLE,
            "ASIA" + secrets.token_hex(8).upper(),
            secrets.token_urlsafe(30),
            secrets.token_urlsafe(120),
        )
        self.emulators: dict[str, RegionEmulator] = make_emulators(stack, self.edge_role)
        self.zone = RoutingZone(stack.routing, stack.regions)
        self.dns = DnsServer(self.zone)
        checks = [s.health_check for s in stack.regions.values() if s.health_check is not None]
        self.health = HealthChecker(
            checks, self.locate, self.clock, self._health_changed, stack.health_checker_ip
        )
        self.replicator = Replicator(
            stack.replication, self.emulators, self.clock, lag_s=replication_lag_s
        )
        self.replicator.on_write = self._journal
        self.pool: ContainerPool | None = None
        self.weighted_origin: WeightedOriginResolver | None = None
        self.edge: Edge | None = None
        self.control: ControlPlane | None = None
        self._profile_path: Path | None = None
        self._endpoints: dict[str, str] = {}
        self.events: list[tuple[float, str]] = []
        # (lab time, {region: weight} the routing record answers, or None while silent)
        self.routing_history: list[tuple[float, dict[str, int] | None]] = []
        self._stoppers: list[Callable[[], None]] = []
        # region -> key -> (body, put_object attributes): what the lab knows each region holds
        self._snapshots: dict[str, list[tuple[str, bytes, dict[str, Any]]]] = {}
        self._contents: dict[str, dict[str, tuple[bytes, dict[str, Any]]]] = {
            r: {} for r in stack.regions
        }
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start every part; on failure the caller's ``stop`` cleans up what started."""
        self._workdir = (
            Path(tempfile.mkdtemp(prefix="lab-"))
            if self._workdir_arg is None
            else self._workdir_arg
        )
        if self._workdir_arg is None:
            self._stoppers.append(lambda: shutil.rmtree(self._workdir, ignore_errors=True))
        self._stoppers.append(self._kill_all_regions)
        _run_parallel([emulator.start for emulator in self.emulators.values()])
        self._routing_changed()
        self.dns.start()
        self._stoppers.append(self.dns.stop)
        self.health.start()
        self._stoppers.append(self.health.stop)
        self.replicator.start()
        self._stoppers.append(self.replicator.stop)
        function = self.stack.function
        if function is not None:
            archive = self._workdir / "function.zip"
            archive.write_bytes(function.archive_zip)
            self.pool = ContainerPool(
                [
                    FunctionContainer(
                        index,
                        function,
                        archive,
                        f"127.0.0.1:{self.dns.port}",
                        self.clock.scale,
                        self._workdir / f"container-{index}.log",
                        environment={
                            "AWS_ACCESS_KEY_ID": self.edge_role.access_key,
                            "AWS_SECRET_ACCESS_KEY": self.edge_role.secret,
                            "AWS_SESSION_TOKEN": self.edge_role.token,
                            "AWS_REGION": self.container_regions[index],
                        },
                    )
                    for index in range(self._containers)
                ]
            )
            self._stoppers.append(self.pool.stop)
            self.pool.start()
        else:
            weights = {r: s.weight for r, s in self.stack.regions.items()}
            self.weighted_origin = WeightedOriginResolver(
                weights,
                self.stack.routing.ttl_s,
                self.clock,
                resolvers=self._origin_resolvers,
                seed=self.seed,
            )
        self.edge = Edge(
            self.stack,
            self.locate,
            self.clock,
            self.pool,
            cache=self._cache,
            weighted_origin=self.weighted_origin,
            region_header=region_header_of(self.declared_stack),
        )
        self.edge.start(self._edge_port)
        self._stoppers.append(self.edge.stop)
        self.control = ControlPlane(self.stack, self.zone.healthy, self.edge.invalidate)
        self.control.start()
        self._stoppers.append(self.control.stop)

    def stop(self) -> None:
        """Stop everything that started, newest first; never raises half way."""
        errors: list[BaseException] = []
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def _kill_all_regions(self) -> None:
        for emulator in self.emulators.values():
            emulator.kill()

    # -- lookups --------------------------------------------------------------------------

    @property
    def edge_url(self) -> str:
        """Where viewers send requests."""
        assert self.edge is not None, "the lab is not started"
        return self.edge.url

    @property
    def workdir(self) -> Path:
        """Scratch space for this run (container logs, the archive)."""
        assert self._workdir is not None, "the lab is not started"
        return self._workdir

    @property
    def edge_config(self) -> dict:
        """The ``edge_config.json`` the component baked into the function's archive."""
        assert self.stack.function is not None, "this lab runs without the edge function"
        with zipfile.ZipFile(io.BytesIO(self.stack.function.archive_zip)) as archive:
            return json.loads(archive.read("edge_config.json"))

    def locate(self, region: str) -> int | None:
        """The emulator port serving ``region`` now, or None while it is down."""
        emulator = self.emulators.get(region)
        return emulator.port if emulator is not None else None

    def endpoint(self, region: str | None = None) -> str:
        """The S3 API endpoint of a region's emulator (default: the primary)."""
        port = self.locate(region or self.stack.primary_region)
        if port is None:
            raise RegionUnavailable(f"region {region} is down")
        return f"http://127.0.0.1:{port}"

    def profile(self) -> dict[str, object]:
        """What ``asset-delivery --lab PROFILE`` needs: endpoints, credentials, outputs.

        The outputs are the component's (the program exports them under the same
        names, as ``pulumi stack output --json`` prints them), with the two values that differ
        on this machine replaced: ``url`` is the lab's edge and the routing zone's name
        server is the lab's DNS server. Each region's S3 endpoint is its emulator now
        (a restarted region gets a new port: write the profile again).
        """
        assert self.edge is not None and self.control is not None, "the lab is not started"
        outputs = dict(self.stack.outputs)
        outputs["url"] = self.edge_url
        outputs["routing_name_servers"] = [f"127.0.0.1:{self.dns.port}"]
        return {
            "kind": LAB_PROFILE_KIND,
            "version": LAB_PROFILE_VERSION,
            "credentials": {"aws_access_key_id": "lab", "aws_secret_access_key": "lab"},
            "endpoints": {
                "s3": {region: self._last_endpoint(region) for region in self.stack.regions},
                "route53": self.control.url,
                "cloudfront": self.control.url,
            },
            "dns": f"127.0.0.1:{self.dns.port}",
            "edge_url": self.edge_url,
            "outputs": outputs,
        }

    def _last_endpoint(self, region: str) -> str:
        """The region's endpoint now, or while it is down the last one it had (which
        refuses connections, as a region in an outage does)."""
        port = self.locate(region)
        if port is not None:
            self._endpoints[region] = f"http://127.0.0.1:{port}"
        return self._endpoints[region]

    def write_profile(self, path: Path) -> Path:
        """Write :meth:`profile` as JSON (readable by the owner only: it holds credentials).

        The file is kept current: a region that restarts on a new port rewrites it.
        """
        self._profile_path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.profile(), indent=2) + "\n")
        temporary.chmod(0o600)
        temporary.replace(path)
        return path

    @property
    def profile_path(self) -> Path | None:
        """Where :meth:`write_profile` last wrote the profile (kept current), if anywhere."""
        return self._profile_path

    def _region_restarted(self, region: str) -> None:
        if self._profile_path is not None:
            self.write_profile(self._profile_path)

    def note(self, text: str) -> None:
        """Record a timeline event (lab time) for the report and the plot."""
        with self._lock:
            self.events.append((self.clock.now(), text))

    # -- publishing ----------------------------------------------------------------------

    def put_object(
        self,
        key: str,
        body: bytes,
        *,
        region: str | None = None,
        content_type: str = "application/octet-stream",
        cache_control: str | None = None,
        content_encoding: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Upload through the S3 API of a region (default: the primary); returns the version."""
        emulator = self.emulators[region or self.stack.primary_region]
        attributes: dict[str, Any] = {"ContentType": content_type, "Metadata": dict(metadata or {})}
        if cache_control:
            attributes["CacheControl"] = cache_control
        if content_encoding:
            attributes["ContentEncoding"] = content_encoding
        if tags:
            attributes["Tagging"] = urlencode(sorted(tags.items()))
        answer = emulator.client().put_object(
            Bucket=emulator.spec.bucket, Key=key, Body=body, **attributes
        )
        version_id = str(answer.get("VersionId", ""))
        self._journal(emulator.region, key, body, attributes)
        self.replicator.written(emulator.region, key, version_id, False)
        return version_id

    def delete_object(self, key: str, *, region: str | None = None) -> None:
        """Delete (place a delete marker) in a region's bucket (default: the primary)."""
        emulator = self.emulators[region or self.stack.primary_region]
        answer = emulator.client().delete_object(Bucket=emulator.spec.bucket, Key=key)
        self._journal(emulator.region, key, None, {})
        self.replicator.written(emulator.region, key, str(answer.get("VersionId", "")), True)

    def _journal(
        self, region: str, key: str, body: bytes | None, attributes: dict[str, Any]
    ) -> None:
        """Keep the lab's copy of what each region holds (restored after a kill)."""
        with self._lock:
            if body is None:
                self._contents[region].pop(key, None)
            else:
                self._contents[region][key] = (body, dict(attributes))

    def has_object(self, region: str, key: str) -> bool:
        """True when the region's bucket serves ``key`` now."""
        return key in self.keys_in(region)

    def keys_in(self, region: str) -> set[str]:
        """The keys the region's bucket serves now (empty while it is down)."""
        emulator = self.emulators[region]
        try:
            pages = (
                emulator.client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=emulator.spec.bucket)
            )
            return {item["Key"] for page in pages for item in page.get("Contents", [])}
        except Exception:  # a region that is down holds nothing we can read
            return set()

    def wait_replicated(self, keys: Iterable[str], timeout_s: float = 30.0) -> None:
        """Block until every destination of the rules holds ``keys`` (real seconds)."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout_s
        destinations = {rule.destination_region for rule in self.stack.replication}
        while True:
            missing = {region: wanted - self.keys_in(region) for region in sorted(destinations)}
            missing = {region: keys for region, keys in missing.items() if keys}
            if not missing:
                return
            if time.monotonic() > deadline:
                sample = {region: sorted(keys)[:3] for region, keys in missing.items()}
                raise TimeoutError(f"not replicated within {timeout_s} s: {sample}")
            self.replicator.wait_idle(min(1.0, max(0.0, deadline - time.monotonic())))

    def wait_healthy(self, region: str, healthy: bool, timeout_s: float = 30.0) -> None:
        """Block until the health verdict for ``region`` is ``healthy`` (real seconds)."""
        deadline = time.monotonic() + timeout_s
        while self.zone.healthy(region) != healthy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{region} did not become healthy={healthy} in {timeout_s} s")
            time.sleep(0.01)

    def _routing_changed(self) -> None:
        """Remember what the routing record answers from now on (plots, reports)."""
        table: dict[str, int] | None = None
        if self.dns.answering:
            table = {}
            for value in self.zone.answer():
                fields = dict(part.split("=", 1) for part in value.split() if "=" in part)
                table[fields["region"]] = int(fields["weight"])
        with self._lock:
            self.routing_history.append((self.clock.now(), table))

    def _health_changed(self, region: str, healthy: bool) -> None:
        self.zone.set_healthy(region, healthy)
        self._routing_changed()

    # -- drill switches ------------------------------------------------------------------

    def kill_region(self, region: str) -> float:
        """Regional outage: SIGKILL the region's emulator; returns the lab time of the kill.

        moto keeps its state in memory only, so the lab remembers what it wrote to
        each region (its uploads, the replicator's copies) and :meth:`restore_region`
        puts that back, as S3's storage outlives an outage of its front end.
        """
        with self._lock:
            self._snapshots[region] = [
                (key, body, attributes)
                for key, (body, attributes) in self._contents[region].items()
            ]
        self.note(f"{region} down")
        killed_at = self.clock.now()
        self.emulators[region].kill()
        return killed_at

    def restore_region(self, region: str) -> None:
        """The region comes back: new process, bucket provisioned, objects restored.

        The region is published (reachable by the edge, health checks and the
        replicator) only once its objects are back.
        """
        emulator = self.emulators[region]
        client = emulator.launch()
        objects = self._snapshots.pop(region, [])
        bucket = emulator.spec.bucket

        def put(item: tuple[str, bytes, dict[str, Any]]) -> None:
            key, body, attributes = item
            client.put_object(Bucket=bucket, Key=key, Body=body, **attributes)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(put, objects))
        self.replicator.adopt(region, client)
        emulator.publish()
        self._region_restarted(region)
        self.note(f"{region} back")

    def replace_region(self, region: str) -> None:
        """The region's bucket starts over empty (but for its probe): a region added to
        a live stack, which replication never fills with the objects written before."""
        self.note(f"{region} replaced by an empty bucket")
        self.emulators[region].kill()
        with self._lock:
            self._contents[region].clear()
            self._snapshots.pop(region, None)
        client = self.emulators[region].launch()
        self.replicator.adopt(region, client)
        self.emulators[region].publish()
        self._region_restarted(region)

    def set_weight(self, region: str, weight: int) -> None:
        """Change a region's routing weight (the drain drill sets 0)."""
        self.note(f"{region} weight {weight}")
        self.zone.set_weight(region, weight)
        self._routing_changed()

    def set_dns_answering(self, answering: bool) -> None:
        """Make the routing zone's name servers stop (or resume) answering."""
        self.note("DNS answering" if answering else "DNS silent")
        self.dns.answering = answering
        self._routing_changed()

    def set_function_fault(self, on: bool, containers: list[int] | None = None) -> None:
        """Make ``rank_regions`` raise inside the function (some or all containers)."""
        if self.pool is None:
            raise RuntimeError("this lab runs without the edge function")
        self.note("function fault on" if on else "function fault off")
        self.pool.set_fault(on, containers)


def _run_parallel(calls: list[Callable[[], None]]) -> None:
    """Run calls on threads (emulators take a second each to boot); re-raise the first error."""
    errors: list[BaseException] = []

    def run(call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
