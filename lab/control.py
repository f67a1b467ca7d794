"""The AWS control plane the operator's command line calls, answered from the lab's state.

A small HTTP server on 127.0.0.1 speaking the REST-XML wire format of the four calls
``asset-delivery`` makes besides S3, so the command uses stock boto3 clients with
only ``endpoint_url`` changed:

* Route 53 ``GetHealthCheckStatus`` (``GET /2013-04-01/healthcheck/{id}/status``):
  one checker observation whose status is the lab checker's current verdict for the
  region (``Success: ...`` or ``Failure: ...``), so Route 53's "more than 18 % of
  checkers" rule gives exactly that verdict.
* CloudFront ``CreateInvalidation``, ``GetInvalidation`` and ``GetDistribution``
  (``/2020-05-31/distribution/...``): the declared distribution (its origin-request
  and origin-response associations, ``Deployed``, enabled); an invalidation empties
  the matching entries of the edge's content cache and is ``Completed`` at once.

Unknown ids answer the AWS error documents (``NoSuchHealthCheck``,
``NoSuchDistribution``, ``NoSuchInvalidation``) with their HTTP statuses; any other
path answers 404. Request signatures are not checked (moto does not check them
either).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from .model import LabStack
from .serving import ServerThread

ROUTE53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
CLOUDFRONT_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
_HEALTH = re.compile(r"^/2013-04-01/healthcheck/(?P<id>[^/]+)/status$")
_DISTRIBUTION = re.compile(r"^/2020-05-31/distribution/(?P<id>[^/]+)$")
_INVALIDATIONS = re.compile(r"^/2020-05-31/distribution/(?P<id>[^/]+)/invalidation$")
_INVALIDATION = re.compile(
    r"^/2020-05-31/distribution/(?P<id>[^/]+)/invalidation/(?P<invalidation>[^/]+)$"
)
_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Invalidation:
    """One accepted invalidation batch."""

    invalidation_id: str
    created: str
    caller_reference: str
    paths: tuple[str, ...]


def _iso(timestamp: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))


def _error(namespace: str, status: int, code: str, message: str) -> tuple[int, str]:
    body = (
        f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>"
    )
    return status, body


class ControlPlane:
    """Serves the control-plane calls for one lab; ``url`` is every service's endpoint."""

    def __init__(
        self,
        stack: LabStack,
        healthy: Callable[[str], bool],
        invalidate: Callable[[tuple[str, ...]], int],
    ) -> None:
        self.stack = stack
        self._healthy = healthy
        self._invalidate = invalidate
        self._checks = {
            spec.health_check.check_id: region
            for region, spec in stack.regions.items()
            if spec.health_check is not None
        }
        self._invalidations: dict[str, Invalidation] = {}
        self._lock = threading.Lock()
        self._serving: ServerThread | None = None
        self.port = 0
        self.requests = 0

    @property
    def url(self) -> str:
        """The endpoint URL for the Route 53 and CloudFront clients."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on 127.0.0.1, ephemeral port."""
        plane = self

        class Handler(_Handler):
            pass

        Handler.plane = plane
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._serving = ServerThread(server, "control-plane")
        self.port = self._serving.port

    def stop(self) -> None:
        """Stop serving."""
        if self._serving is not None:
            self._serving.stop()
            self._serving = None

    # -- the calls ------------------------------------------------------------------------

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        """(HTTP status, XML body, extra headers) for one request."""
        with self._lock:
            self.requests += 1
        match = _HEALTH.match(path)
        if match and method == "GET":
            return (*self._health_status(match["id"]), {})
        distribution_id = self.stack.distribution.distribution_id
        for pattern in (_DISTRIBUTION, _INVALIDATIONS, _INVALIDATION):
            match = pattern.match(path)
            if match and match["id"] != distribution_id:
                return (
                    *_error(
                        CLOUDFRONT_NS,
                        404,
                        "NoSuchDistribution",
                        "The specified distribution does not exist.",
                    ),
                    {},
                )
        if _DISTRIBUTION.match(path) and method == "GET":
            return 200, self._distribution(), {"ETag": "E" + distribution_id[-12:]}
        if _INVALIDATIONS.match(path) and method == "POST":
            return self._create_invalidation(body)
        match = _INVALIDATION.match(path)
        if match and method == "GET":
            with self._lock:
                invalidation = self._invalidations.get(match["invalidation"])
            if invalidation is None:
                return (
                    *_error(
                        CLOUDFRONT_NS,
                        404,
                        "NoSuchInvalidation",
                        "The specified invalidation does not exist.",
                    ),
                    {},
                )
            return 200, _invalidation_xml(invalidation, "Completed"), {}
        return (*_error(CLOUDFRONT_NS, 404, "NotFound", f"{method} {path} is not emulated"), {})

    def _health_status(self, check_id: str) -> tuple[int, str]:
        region = self._checks.get(check_id)
        if region is None:
            return _error(
                ROUTE53_NS,
                404,
                "NoSuchHealthCheck",
                f"No health check exists with the ID {check_id}",
            )
        status = (
            "Success: HTTP Status Code 200, OK"
            if self._healthy(region)
            else "Failure: Resolved IP: 127.0.0.1. The endpoint did not respond in time."
        )
        return 200, (
            f'<?xml version="1.0"?>\n<GetHealthCheckStatusResponse xmlns="{ROUTE53_NS}">'
            "<HealthCheckObservations><HealthCheckObservation>"
            f"<Region>{escape(region)}</Region><IPAddress>127.0.0.1</IPAddress>"
            f"<StatusReport><Status>{escape(status)}</Status>"
            f"<CheckedTime>{_iso()}</CheckedTime></StatusReport>"
            "</HealthCheckObservation></HealthCheckObservations></GetHealthCheckStatusResponse>"
        )

    def _distribution(self) -> str:
        spec = self.stack.distribution
        associations = "".join(
            "<LambdaFunctionAssociation>"
            f"<LambdaFunctionARN>{escape(arn)}</LambdaFunctionARN>"
            f"<EventType>{escape(event)}</EventType><IncludeBody>false</IncludeBody>"
            "</LambdaFunctionAssociation>"
            for event, arn in spec.function_associations.items()
        )
        return (
            f'<?xml version="1.0"?>\n<Distribution xmlns="{CLOUDFRONT_NS}">'
            f"<Id>{spec.distribution_id}</Id>"
            f"<ARN>arn:aws:cloudfront::{_ACCOUNT}:distribution/{spec.distribution_id}</ARN>"
            f"<Status>Deployed</Status><LastModifiedTime>{_iso()}</LastModifiedTime>"
            # Every lab invalidation completes at once.
            "<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
            f"<DomainName>{escape(spec.domain_name)}</DomainName>"
            "<DistributionConfig><CallerReference>lab</CallerReference>"
            f"<DefaultRootObject></DefaultRootObject><Comment>lab</Comment>"
            f"<DefaultCacheBehavior><TargetOriginId>{escape(spec.target_origin_id)}"
            f"</TargetOriginId><ViewerProtocolPolicy>{escape(spec.viewer_protocol_policy)}"
            "</ViewerProtocolPolicy><LambdaFunctionAssociations>"
            f"<Quantity>{len(spec.function_associations)}</Quantity>"
            f"<Items>{associations}</Items></LambdaFunctionAssociations>"
            "</DefaultCacheBehavior><Enabled>true</Enabled></DistributionConfig>"
            "</Distribution>"
        )

    def _create_invalidation(self, body: bytes) -> tuple[int, str, dict[str, str]]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as error:
            return (*_error(CLOUDFRONT_NS, 400, "MalformedXML", str(error)), {})
        ns = {"cf": CLOUDFRONT_NS}
        paths = tuple(p.text or "" for p in root.findall("cf:Paths/cf:Items/cf:Path", ns))
        quantity = root.findtext("cf:Paths/cf:Quantity", default="", namespaces=ns)
        reference = root.findtext("cf:CallerReference", default="", namespaces=ns)
        if not reference or not quantity.isdigit() or int(quantity) != len(paths):
            return (
                *_error(
                    CLOUDFRONT_NS,
                    400,
                    "InvalidArgument",
                    "Quantity must equal the number of paths and CallerReference is required",
                ),
                {},
            )
        if any(not path.startswith("/") for path in paths):
            return (*_error(CLOUDFRONT_NS, 400, "InvalidArgument", "paths must start with /"), {})
        invalidation = Invalidation("I" + secrets.token_hex(6).upper(), _iso(), reference, paths)
        self._invalidate(paths)
        with self._lock:
            self._invalidations[invalidation.invalidation_id] = invalidation
        location = (
            f"{self.url}/2020-05-31/distribution/{self.stack.distribution.distribution_id}"
            f"/invalidation/{invalidation.invalidation_id}"
        )
        return 201, _invalidation_xml(invalidation, "InProgress"), {"Location": location}

    def invalidations(self) -> list[Invalidation]:
        """Every invalidation accepted so far, oldest first."""
        with self._lock:
            return list(self._invalidations.values())


def _invalidation_xml(invalidation: Invalidation, status: str) -> str:
    items = "".join(f"<Path>{escape(path)}</Path>" for path in invalidation.paths)
    return (
        f'<?xml version="1.0"?>\n<Invalidation xmlns="{CLOUDFRONT_NS}">'
        f"<Id>{invalidation.invalidation_id}</Id><Status>{status}</Status>"
        f"<CreateTime>{invalidation.created}</CreateTime><InvalidationBatch>"
        f"<Paths><Quantity>{len(invalidation.paths)}</Quantity><Items>{items}</Items></Paths>"
        f"<CallerReference>{escape(invalidation.caller_reference)}</CallerReference>"
        "</InvalidationBatch></Invalidation>"
    )


class _Handler(BaseHTTPRequestHandler):
    plane: ControlPlane
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        status, text, headers = self.plane.answer(self.command, path, body)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amz-request-id", secrets.token_hex(16))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the lab counts requests itself."""
