"""The regions: one S3 emulator process per region and the lab's admin access to it.

A region is *up* only once its process runs and its bucket is provisioned (created,
versioned, probe object and probe policy in place); until then ``port`` is None and
the edge, the health checker and the replicator all see it as unreachable, the way a
region that is still recovering would look.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

import boto3
from botocore.config import Config

from .model import LabStack, RegionSpec
from .s3_access import ADMIN, ADMIN_ACCESS_KEY, AccessRules, Credentials
from .s3_region import ACCESS_ENV

LAUNCHER = f"{__package__}.s3_region"  # run as a module: it imports the access check
ADMIN_KEY = Credentials(ADMIN, ADMIN_ACCESS_KEY, "lab")  # publishing, replication, inspection
START_TIMEOUT_S = 30.0
# The emulator is on loopback: anything slower than this is an outage, not latency.
ADMIN_CONFIG = Config(
    connect_timeout=1.0,
    read_timeout=5.0,
    retries={"max_attempts": 1, "mode": "standard"},
    s3={"addressing_style": "path"},
)


class RegionUnavailable(RuntimeError):
    """The region's emulator is not running (or not provisioned yet)."""


def admin_client(region: str, port: int) -> Any:
    """A boto3 S3 client for the emulator, with the lab's admin key and no retries."""
    session = boto3.session.Session(
        aws_access_key_id=ADMIN_KEY.access_key,
        aws_secret_access_key=ADMIN_KEY.secret,
        region_name=region,
    )
    return session.client("s3", endpoint_url=f"http://127.0.0.1:{port}", config=ADMIN_CONFIG)


class RegionEmulator:
    """One region's moto process; ``start`` and ``kill`` are the outage switch."""

    def __init__(self, spec: RegionSpec, access: AccessRules | None = None) -> None:
        self.spec = spec
        self.region = spec.region
        self.access = access
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._client: Any = None
        self._pending: tuple[int, Any] | None = None
        self.starts = 0

    @property
    def port(self) -> int | None:
        """The serving port, or None while the region is down or provisioning."""
        return self._port

    def client(self) -> Any:
        """The admin client; raises RegionUnavailable while the region is down."""
        client = self._client
        if client is None or self._port is None:
            raise RegionUnavailable(f"region {self.region} is down")
        return client

    def launch(self) -> Any:
        """Start the process and provision the bucket; returns a private admin client.

        The region is not published yet (``port`` stays None) so the caller can
        restore data before anyone else sees it; call :meth:`publish` afterwards.
        """
        with self._lock:
            if self._process is not None:
                raise RuntimeError(f"region {self.region} is already running")
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env["PYTHONUNBUFFERED"] = "1"
            if self.access is not None:
                env[ACCESS_ENV] = self.access.to_json()
            process = subprocess.Popen(
                [sys.executable, "-m", LAUNCHER, "--region", self.region],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            self._process = process
        try:
            port = _read_port(process, START_TIMEOUT_S)
            client = admin_client(self.region, port)
            self._provision(client)
        except BaseException:
            self.kill()
            raise
        self._pending = (port, client)
        return client

    def publish(self) -> None:
        """Make a launched region reachable to the edge, health checks and replication."""
        if self._pending is None:
            raise RuntimeError(f"region {self.region} was not launched")
        (port, client), self._pending = self._pending, None
        self._client = client
        self._port = port
        self.starts += 1

    def start(self) -> None:
        """Launch and publish with no data restore (first start of the lab)."""
        self.launch()
        self.publish()

    def _provision(self, client: Any) -> None:
        """Create the bucket as the component declares it (versioned, private, its probe)."""
        bucket = self.spec.bucket
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        client.create_bucket(**kwargs)
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        # The declared bucket policy is not given to moto (which reads it partially):
        # the process's access check decides with it (lab/s3_access.py).
        probe = self.spec.probe
        if probe is None:
            return
        client.put_object(
            Bucket=bucket, Key=probe.key, Body=probe.body.encode(), ContentType="text/plain"
        )

    def kill(self) -> None:
        """SIGKILL the process: an abrupt regional outage (state is lost)."""
        with self._lock:
            process, self._process = self._process, None
            self._port = None
            self._client = None
        if process is None:
            return
        process.kill()
        try:
            process.wait(timeout=10)
        finally:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()

    @property
    def running(self) -> bool:
        """True while the process exists (it may still be provisioning)."""
        return self._process is not None


def _read_port(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """Read the ``PORT <n>`` line the launcher prints once it is bound."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"S3 emulator did not report its port within {timeout_s} s")
        ready, _, _ = select.select([process.stdout], [], [], remaining)
        if ready:
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                raise RuntimeError(f"S3 emulator exited with {process.wait()} before binding")
            line += chunk
    text = line.decode().strip()
    if not text.startswith("PORT "):
        raise RuntimeError(f"S3 emulator printed {text!r}, expected 'PORT <n>'")
    return int(text.split()[1])


def access_rules(stack: LabStack, region: str, edge_role: Credentials | None) -> AccessRules:
    """What the declared stack lets each lab principal do in ``region``'s bucket."""
    spec = stack.regions[region]
    keys = (ADMIN_KEY,) if edge_role is None else (ADMIN_KEY, edge_role)
    return AccessRules(
        region=region,
        bucket=spec.bucket,
        policy=json.loads(spec.policy) if spec.policy else None,
        principal_arns=dict(stack.principal_arns),
        edge_role_objects=stack.edge_role_objects,
        credentials=keys,
    )


def make_emulators(
    stack: LabStack, edge_role: Credentials | None = None
) -> dict[str, RegionEmulator]:
    """One emulator per declared region, in declaration order, enforcing its access."""
    return {
        region: RegionEmulator(spec, access_rules(stack, region, edge_role))
        for region, spec in stack.regions.items()
    }
