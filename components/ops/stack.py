"""Find the stack and talk to its AWS services: outputs, session, clients.

The stack comes from one of three places: the JSON ``pulumi stack output --json``
prints (a file), the Pulumi CLI itself (``--stack``), or a running local lab's
profile (``--lab``), which adds the endpoint of each emulated service and the lab's
credentials. Everything after that is the same boto3 call against AWS or the lab:
the lab differs only in endpoint URLs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAB_PROFILE_KIND = "asset-delivery-lab-profile"
LAB_PROFILE_VERSION = 1
PULUMI_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
MAX_ATTEMPTS = 3  # botocore's standard retry mode: the first try and two retries


class UsageError(Exception):
    """Bad input (flags, files, regions, credentials): one line on stderr, exit 2."""


@dataclass(frozen=True)
class StackOutputs:
    """The stack outputs the commands use (what ``__main__.py`` exports)."""

    primary_region: str
    bucket_names: dict[str, str]
    distribution_id: str
    url: str
    routing_record_name: str
    routing_name_servers: tuple[str, ...]
    region_weights: dict[str, int] = field(default_factory=dict)
    health_check_ids: dict[str, str] = field(default_factory=dict)
    replication_mode: str = "from-primary"
    function_qualified_arn: str = ""

    @property
    def regions(self) -> list[str]:
        """Every region of the stack, the primary first."""
        others = sorted(r for r in self.bucket_names if r != self.primary_region)
        return [self.primary_region, *others]

    def region(self, name: str, *, secondary: bool = False) -> str:
        """``name`` when the stack has it (and it is not the primary if ``secondary``)."""
        allowed = [r for r in self.regions if not secondary or r != self.primary_region]
        if name not in allowed:
            what = "a secondary region" if secondary else "a region"
            raise UsageError(
                f"region {name!r} is not {what} of this stack; allowed: {', '.join(allowed)}"
            )
        return name


_REQUIRED = (
    "primary_region",
    "bucket_names",
    "distribution_id",
    "url",
    "routing_record_name",
    "routing_name_servers",
)


def parse_outputs(document: object, source: str) -> StackOutputs:
    """Validate ``pulumi stack output --json`` text parsed as JSON."""
    if not isinstance(document, Mapping):
        raise UsageError(f"{source}: expected a JSON object of stack outputs")
    missing = [key for key in _REQUIRED if document.get(key) in (None, "", {}, [])]
    if missing:
        raise UsageError(
            f"{source}: stack output(s) {', '.join(missing)} missing; "
            "is this the asset-delivery stack's `pulumi stack output --json`?"
        )
    buckets = document["bucket_names"]
    primary = document["primary_region"]
    if not isinstance(buckets, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in buckets.items()
    ):
        raise UsageError(f"{source}: bucket_names must map region to bucket name")
    if primary not in buckets:
        raise UsageError(
            f"{source}: primary_region {primary!r} has no bucket in bucket_names "
            f"({', '.join(sorted(buckets))})"
        )
    servers = document["routing_name_servers"]
    if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
        raise UsageError(f"{source}: routing_name_servers must be a list of host names")
    weights = document.get("region_weights") or {}
    checks = document.get("health_check_ids") or {}
    try:
        region_weights = {str(r): int(w) for r, w in dict(weights).items()}
        health_check_ids = {str(r): str(c) for r, c in dict(checks).items()}
    except (TypeError, ValueError) as error:
        raise UsageError(f"{source}: region_weights/health_check_ids malformed: {error}") from None
    return StackOutputs(
        primary_region=str(primary),
        bucket_names=dict(buckets),
        distribution_id=str(document["distribution_id"]),
        url=str(document["url"]).rstrip("/"),
        routing_record_name=str(document["routing_record_name"]),
        routing_name_servers=tuple(servers),
        region_weights=region_weights,
        health_check_ids=health_check_ids,
        replication_mode=str(document.get("replication_mode") or "from-primary"),
        function_qualified_arn=str(document.get("function_qualified_arn") or ""),
    )


def _read_json(path: Path, what: str) -> object:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise UsageError(f"{what} {path} cannot be read: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise UsageError(f"{what} {path} is not JSON: {error}") from None


def outputs_from_file(path: Path) -> StackOutputs:
    """The outputs saved with ``pulumi stack output --json > FILE``."""
    return parse_outputs(_read_json(path, "stack outputs file"), str(path))


def outputs_from_pulumi(stack: str, *, pulumi: str | None = None) -> StackOutputs:
    """Run ``pulumi stack output --json --stack NAME`` (the CLI must be installed)."""
    executable = pulumi or shutil.which("pulumi")
    if executable is None:
        raise UsageError(
            "--stack needs the Pulumi CLI on PATH; without it save the outputs with "
            "`pulumi stack output --json > outputs.json` and pass --stack-outputs outputs.json"
        )
    try:
        done = subprocess.run(
            [executable, "stack", "output", "--json", "--show-secrets", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"`pulumi stack output --stack {stack}` failed: {error}") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UsageError(f"`pulumi stack output --stack {stack}` failed: {detail}")
    try:
        document = json.loads(done.stdout)
    except ValueError as error:
        raise UsageError(
            f"`pulumi stack output --stack {stack}` printed no JSON: {error}"
        ) from None
    return parse_outputs(document, f"stack {stack}")


@dataclass(frozen=True)
class Endpoints:
    """Endpoint URLs that replace AWS's (the lab): S3 per region, Route 53, CloudFront."""

    s3: dict[str, str] = field(default_factory=dict)
    route53: str | None = None
    cloudfront: str | None = None


class Target:
    """A stack plus the boto3 session and clients that reach it."""

    def __init__(
        self,
        outputs: StackOutputs,
        session: Any,
        endpoints: Endpoints | None = None,
        *,
        max_pool: int = 16,
    ) -> None:
        self.outputs = outputs
        self.session = session
        self.endpoints = endpoints or Endpoints()
        self._max_pool = max_pool
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def bucket(self, region: str) -> str:
        """The data bucket of ``region``."""
        return self.outputs.bucket_names[region]

    def _client(self, service: str, region: str, endpoint: str | None) -> Any:
        from botocore.config import Config

        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                config = Config(
                    region_name=region,
                    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
                    connect_timeout=CONNECT_TIMEOUT_S,
                    read_timeout=READ_TIMEOUT_S,
                    max_pool_connections=self._max_pool,
                    # A replaced endpoint (the lab) is an address, not a bucket host name.
                    s3={"addressing_style": "path" if endpoint else "auto"},
                )
                client = self.session.client(service, endpoint_url=endpoint, config=config)
                self._clients[(service, region)] = client
            return client

    def s3(self, region: str) -> Any:
        """An S3 client in ``region`` (the lab: that region's emulator)."""
        return self._client("s3", region, self.endpoints.s3.get(region))

    def route53(self) -> Any:
        """The Route 53 client (global service, signed for us-east-1)."""
        return self._client("route53", "us-east-1", self.endpoints.route53)

    def cloudfront(self) -> Any:
        """The CloudFront client (global service, signed for us-east-1)."""
        return self._client("cloudfront", "us-east-1", self.endpoints.cloudfront)


def aws_session(profile: str | None) -> Any:
    """A boto3 session from the usual credential chain; UsageError without credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=profile)
        credentials = session.get_credentials()
    except ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} is not in the AWS config files") from None
    except BotoCoreError as error:
        raise UsageError(f"AWS credentials cannot be loaded: {error}") from None
    if credentials is None:
        raise UsageError(
            "no AWS credentials found (environment, shared credentials/config files, "
            "SSO, container or instance role); set them or pass --profile"
        )
    return session


def load_lab_profile(path: Path) -> Target:
    """A :class:`Target` for a running local lab, from ``python -m lab up --profile FILE``."""
    import boto3

    document = _read_json(path, "lab profile")
    if not isinstance(document, Mapping) or document.get("kind") != LAB_PROFILE_KIND:
        raise UsageError(f"lab profile {path} is not a {LAB_PROFILE_KIND} document")
    if document.get("version") != LAB_PROFILE_VERSION:
        raise UsageError(
            f"lab profile {path} has version {document.get('version')!r}; "
            f"this command reads version {LAB_PROFILE_VERSION}"
        )
    try:
        credentials = document["credentials"]
        endpoints = document["endpoints"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["aws_access_key_id"],
            aws_secret_access_key=credentials["aws_secret_access_key"],
        )
        outputs = parse_outputs(document["outputs"], f"lab profile {path}")
        lab_endpoints = Endpoints(
            s3=dict(endpoints["s3"]),
            route53=endpoints["route53"],
            cloudfront=endpoints["cloudfront"],
        )
    except (KeyError, TypeError) as error:
        raise UsageError(f"lab profile {path} lacks {error}") from None
    return Target(outputs, session, lab_endpoints)
