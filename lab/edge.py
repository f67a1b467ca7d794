"""The edge: a local HTTP server that behaves like the declared CloudFront distribution.

For each viewer GET/HEAD/OPTIONS (no cache unless asked), it walks the default
behaviour's target: the origin group's primary member, then, on a failover status,
a connection failure or a timeout, the failover member. Each attempt builds the
documented origin-request event, runs the function in one of the containers,
enforces CloudFront's rules on the result (``lab/cloudfront_rules.py``, 502 on a
violation), maps the resulting bucket domain to the emulator of the region the domain
names (an unknown domain is a connection failure, as NXDOMAIN would be) and fetches
the object with the result's ``Host`` header, signed as the origin access identity
would sign it. The final answer goes through the origin-response function and its
rules, then to the viewer with the headers the function added.

What the bucket answers (403 for ``/`` and for a missing key, as the OAI may not list
the bucket) is decided by the declared bucket policy in the region's emulator
(``lab/bucket_policy.py``).
"""

from __future__ import annotations

import copy
import http.client
import itertools
import random
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .clock import LabClock
from .cloudfront_rules import origin_request_violations, origin_response_violations
from .containers import ContainerPool, FunctionError
from .events import (
    flat_headers,
    origin_request_event,
    origin_response_event,
    parse_bucket_domain,
    request_of,
    response_of,
)
from .model import LabStack, OriginSpec
from .s3_access import OAI_ACCESS_KEY
from .serving import ServerThread

FAILOVER_METHODS = ("GET", "HEAD", "OPTIONS")
ORIGIN_READ_TIMEOUT_S = 10.0  # real seconds; loopback answers in milliseconds
DEFAULT_TTL_S = 86400  # CachingOptimized's default TTL, for --cache
DEFAULT_ERROR_CACHING_TTL_S = 10  # CloudFront's default error caching minimum TTL
HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "server", "date"})
# CloudFront signs for the origin access identity; the lab marks such requests with
# this key, which the emulators recognise as the OAI (lab/s3_access.py).
OAI_AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={OAI_ACCESS_KEY}/20260101/{{region}}/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0"
)


@dataclass
class Fetched:
    """What one origin attempt produced: an HTTP answer or a connection failure."""

    status: int = 0  # 0 = no HTTP answer (connection failure or timeout)
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    failure: str = ""  # "connect", "timeout", "nxdomain"


@dataclass
class Attempt:
    """One origin attempt, for the report."""

    origin_id: str
    region: str | None
    lab_time: float
    status: int
    failure: str = ""


@dataclass
class EdgeRecord:
    """One viewer request as the edge saw it."""

    request_id: str
    lab_time: float
    method: str
    uri: str
    status: int = 0
    served_region: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    error: str = ""  # why the edge itself answered with an error
    cache: str = "Miss"
    fault_hits: int = 0
    containers: list[int] = field(default_factory=list)

    @property
    def first_region(self) -> str | None:
        """The region the first origin attempt went to (after the function)."""
        return self.attempts[0].region if self.attempts else None

    @property
    def failover(self) -> bool:
        """True when the origin group's failover member was tried."""
        return len(self.attempts) > 1


@dataclass
class ViewerResponse:
    """What the viewer gets back."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class WeightedOriginResolver:
    """A weighted (non-multivalue) DNS name for the origin, as seen by edge resolvers.

    Used only for the ``no-edge-function`` drill: each of ``resolvers`` recursive
    resolvers draws one region by weight and caches it for the TTL (lab seconds);
    requests are spread across the resolvers. The connection then goes to that
    region's endpoint while ``Host`` still names the configured bucket.
    """

    def __init__(
        self,
        weights: Mapping[str, int],
        ttl_s: float,
        clock: LabClock,
        *,
        resolvers: int = 8,
        seed: int = 0,
    ) -> None:
        self._weights = {r: w for r, w in weights.items() if w > 0} or dict.fromkeys(weights, 1)
        self._ttl_s = ttl_s
        self._clock = clock
        self._random = random.Random(seed)
        self._cache: list[tuple[str, float] | None] = [None] * resolvers
        self._next = itertools.count()
        self._lock = threading.Lock()
        self.lookups = 0

    def resolve(self) -> str:
        """The region the next request's connection goes to."""
        with self._lock:
            slot = next(self._next) % len(self._cache)
            cached = self._cache[slot]
            now = self._clock.now()
            if cached is None or cached[1] <= now:
                self.lookups += 1
                regions = list(self._weights)
                region = self._random.choices(regions, [self._weights[r] for r in regions])[0]
                cached = self._cache[slot] = (region, now + self._ttl_s)
            return cached[0]


class Edge:
    """The distribution's delivery path; :meth:`handle` serves one viewer request."""

    def __init__(
        self,
        stack: LabStack,
        locate: Callable[[str], int | None],
        clock: LabClock,
        pool: ContainerPool | None,
        *,
        cache: bool = False,
        weighted_origin: WeightedOriginResolver | None = None,
        region_header: str = "x-asset-region",
    ) -> None:
        self.stack = stack
        self.distribution = stack.distribution
        self._locate = locate
        self._clock = clock
        self._pool = pool
        self.cache_enabled = cache
        self._weighted = weighted_origin
        self._region_header = region_header.lower()
        self._cache: dict[str, tuple[ViewerResponse, float]] = {}
        self._lock = threading.Lock()
        self.records: list[EdgeRecord] = []
        self._serving: ServerThread | None = None
        self.port = 0

    # -- server ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The viewer endpoint (http on loopback; CloudFront would redirect to https)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1, on ``port`` (0: an ephemeral port)."""
        edge = self

        class Handler(_ViewerHandler):
            pass

        Handler.edge = edge
        self._serving = ServerThread(_Server(("127.0.0.1", port), Handler), "edge")
        self.port = self._serving.port

    def stop(self) -> None:
        """Stop serving."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    def invalidate(self, paths: tuple[str, ...]) -> int:
        """Drop cached responses for these invalidation paths (``*`` at the end is a
        wildcard, as in CloudFront); returns how many entries went."""
        with self._lock:
            gone = [
                uri
                for uri in self._cache
                if any(
                    uri.startswith(path[:-1]) if path.endswith("*") else uri == path
                    for path in paths
                )
            ]
            for uri in gone:
                del self._cache[uri]
        return len(gone)

    # -- one viewer request ---------------------------------------------------------------

    def handle(self, method: str, target: str, client_ip: str) -> ViewerResponse:
        """Answer one viewer request the way the distribution would."""
        request_id = secrets.token_urlsafe(42)[:56]
        parts = urlsplit(target)
        uri = parts.path or "/"
        record = EdgeRecord(request_id, self._clock.now(), method, uri)
        try:
            if method not in self.distribution.allowed_methods:
                response = _error(403, "Forbidden", "method not allowed by the cache behaviour")
                record.error = "method"
            else:
                response = self._cached_or_fetch(record, method, uri, parts.query, client_ip)
        except Exception as error:  # a lab bug must show up as a viewer error, not a hang
            response = _error(500, "Internal Server Error", f"lab edge error: {error!r}")
            record.error = f"lab: {type(error).__name__}: {error}"
        record.status = response.status
        response.headers += [
            ("X-Cache", f"{record.cache} from cloudfront"),
            ("Via", f"1.1 {request_id[:16]}.cloudfront.net (CloudFront)"),
            ("X-Amz-Cf-Pop", "LAB1-P1"),
            ("X-Amz-Cf-Id", request_id),
        ]
        with self._lock:
            self.records.append(record)
        return response

    def _cached_or_fetch(
        self, record: EdgeRecord, method: str, uri: str, query: str, client_ip: str
    ) -> ViewerResponse:
        if self.cache_enabled and method in ("GET", "HEAD"):
            with self._lock:
                hit = self._cache.get(uri)
            if hit is not None and hit[1] > self._clock.now():
                record.cache = "Hit"
                cached = hit[0]
                record.served_region = next(
                    (v for k, v in cached.headers if k.lower() == self._region_header), None
                )
                body = b"" if method == "HEAD" else cached.body
                return ViewerResponse(cached.status, cached.reason, list(cached.headers), body)
        response = self._fetch(record, method, uri, query, client_ip)
        if self.cache_enabled and method in ("GET", "HEAD") and not record.error:
            ttl = (
                DEFAULT_TTL_S
                if response.status < 400
                else self.distribution.error_caching_ttl_s.get(
                    response.status, DEFAULT_ERROR_CACHING_TTL_S
                )
            )
            if ttl > 0:
                with self._lock:
                    self._cache[uri] = (response, self._clock.now() + ttl)
        return response

    def _origins(self) -> list[OriginSpec]:
        distribution = self.distribution
        group = distribution.origin_group
        if group is not None and distribution.target_origin_id == group.group_id:
            return [
                distribution.origins[group.primary_origin_id],
                distribution.origins[group.failover_origin_id],
            ]
        return [distribution.origins[distribution.target_origin_id]]

    def _fetch(
        self, record: EdgeRecord, method: str, uri: str, query: str, client_ip: str
    ) -> ViewerResponse:
        origins = self._origins()
        group = self.distribution.origin_group
        failover_codes = set(group.status_codes) if group is not None else set()
        associations = self.distribution.function_associations
        fetched = Fetched()
        sent_request: dict[str, object] = {}
        for index, origin in enumerate(origins):
            event = origin_request_event(
                self.distribution,
                origin,
                request_id=record.request_id,
                client_ip=client_ip,
                method=method,
                uri=uri,
                querystring=query,
            )
            original = request_of(event)
            request = copy.deepcopy(original)
            if "origin-request" in associations:
                outcome = self._run_function(
                    record, event, original, origin_request_violations, "origin-request"
                )
                if isinstance(outcome, ViewerResponse):
                    return outcome
                request = outcome
            started = self._clock.now()
            region, fetched = self._fetch_origin(origin, request, method)
            record.attempts.append(
                Attempt(origin.origin_id, region, started, fetched.status, fetched.failure)
            )
            sent_request = request
            is_last = index == len(origins) - 1
            retryable = fetched.failure or fetched.status in failover_codes
            if is_last or not retryable or method not in FAILOVER_METHODS:
                break
        if fetched.failure:
            record.error = f"origin {fetched.failure}"
            if fetched.failure == "timeout":
                return _error(504, "Gateway Timeout", "the origin did not answer in time")
            return _error(502, "Bad Gateway", "CloudFront could not connect to the origin")
        record.served_region = record.attempts[-1].region
        headers = [(k, v) for k, v in fetched.headers if k.lower() not in HOP_HEADERS]
        if "origin-response" in associations:
            event = origin_response_event(
                self.distribution,
                sent_request,
                request_id=record.request_id,
                status=fetched.status,
                status_description=fetched.reason,
                headers=headers,
            )
            original_response = copy.deepcopy(response_of(event))
            outcome = self._run_function(
                record, event, original_response, origin_response_violations, "origin-response"
            )
            if isinstance(outcome, ViewerResponse):
                return outcome
            status = int(outcome["status"])
            reason = str(outcome.get("statusDescription") or fetched.reason)
            headers = flat_headers(outcome["headers"])
            region = next((v for k, v in headers if k.lower() == self._region_header), None)
            record.served_region = region or record.served_region
        else:
            status, reason = fetched.status, fetched.reason
        body = b"" if method == "HEAD" else fetched.body
        return ViewerResponse(status, reason, headers, body)

    def _run_function(
        self,
        record: EdgeRecord,
        event: dict[str, object],
        original: dict,
        violations_of: Callable[[dict, dict], list[str]],
        event_type: str,
    ) -> dict | ViewerResponse:
        """Invoke the function and enforce CloudFront's rules on what it returns (502)."""
        outcome = self._invoke(record, event)
        if isinstance(outcome, ViewerResponse):
            return outcome
        violations = violations_of(original, outcome)
        if violations:
            record.error = f"{event_type} violation: " + "; ".join(violations)
            return _error(502, "Bad Gateway", record.error)
        return outcome

    def _invoke(self, record: EdgeRecord, event: dict[str, object]) -> dict | ViewerResponse:
        """Run the function; its failure or timeout is CloudFront's 503."""
        if self._pool is None:
            record.error = "function associated but no containers are running"
            return _error(503, "Service Unavailable", record.error)
        try:
            invocation, container = self._pool.invoke(event, record.request_id)
        except FunctionError as error:
            record.error = f"function error: {error}"
            return _error(503, "Service Unavailable", "The Lambda function returned an error.")
        record.fault_hits += invocation.fault_hits
        record.containers.append(container)
        return invocation.result

    def _fetch_origin(
        self, origin: OriginSpec, request: dict[str, object], method: str
    ) -> tuple[str | None, Fetched]:
        """Connect where the request's origin domain leads and fetch the object."""
        s3 = request["origin"]["s3"]  # type: ignore[index]
        domain = str(s3["domainName"])
        host_entries = request.get("headers", {}).get("host") or [{"value": domain}]  # type: ignore[union-attr]
        host = str(host_entries[0]["value"])
        if self._weighted is not None:
            region: str | None = self._weighted.resolve()
        else:
            parsed = parse_bucket_domain(domain)
            region = parsed[1] if parsed and parsed[1] in self.stack.regions else None
        if region is None:
            return None, Fetched(failure="nxdomain")
        path = (s3.get("path") or "") + str(request["uri"])
        if request.get("querystring"):
            path += f"?{request['querystring']}"
        # CloudFront sends the request's headers as the function left them (its
        # signature included), then its own: the OAI signature replaces any other.
        headers = dict(flat_headers(request.get("headers") or {}))  # type: ignore[arg-type]
        headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        headers["Host"] = host
        if s3.get("authMethod") == "origin-access-identity":
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = OAI_AUTHORIZATION.format(region=s3.get("region") or region)
        for name, entries in (s3.get("customHeaders") or {}).items():
            headers[entries[0].get("key") or name] = entries[0]["value"]
        fetched = Fetched(failure="connect")
        for _ in range(max(1, origin.connection_attempts)):
            fetched = self._http(region, method, path, headers, origin.connection_timeout_s)
            if fetched.failure != "connect":
                break
        return region, fetched

    def _http(
        self,
        region: str,
        method: str,
        path: str,
        headers: dict[str, str],
        connect_timeout_s: float,
    ) -> Fetched:
        port = self._locate(region)
        if port is None:
            return Fetched(failure="connect")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout_s)
        except OSError:
            return Fetched(failure="connect")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ORIGIN_READ_TIMEOUT_S)
        connection.sock = sock
        sock.settimeout(ORIGIN_READ_TIMEOUT_S)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            return Fetched(response.status, response.reason, response.getheaders(), body)
        except TimeoutError:
            return Fetched(failure="timeout")
        except (OSError, http.client.HTTPException):
            return Fetched(failure="connect")
        finally:
            connection.close()


def _error(status: int, reason: str, detail: str) -> ViewerResponse:
    body = f"<html><body><h1>{status} {reason}</h1><p>{detail}</p></body></html>\n".encode()
    return ViewerResponse(status, reason, [("Content-Type", "text/html")], body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class _ViewerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CloudFront"
    sys_version = ""
    edge: Edge

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        response = self.edge.handle(self.command, self.path, self.client_address[0])
        self.send_response(response.status, response.reason)
        length = str(len(response.body))
        for name, value in response.headers:
            if name.lower() == "content-length":
                # HEAD keeps the object's length; GET sends what it actually sends.
                length = value if self.command == "HEAD" else length
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: object) -> None:
        """The edge keeps its own records; no access log on stderr."""
