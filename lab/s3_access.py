"""Who may do what in one emulated bucket: signatures checked, principals authorised.

moto accepts any request, signed or not. Real S3 verifies the SigV4 signature,
then asks the bucket policy and the caller's IAM policy. This WSGI middleware sits
in front of one region's moto server and does the same for the principals the lab
uses, from the declared stack (``AccessRules``):

- a SigV4 ``Authorization`` is verified with botocore's own S3 signer (not the edge
  function's), over the path and query as S3 computes them (decoded, then encoded
  again); a wrong signature, an unknown key, a missing or wrong session token, or a
  scope naming another region is refused as S3 refuses it;
- then the bucket policy the program declared decides (``lab/bucket_policy.py``), for
  the lab's admin key (the bucket owner: publishing, replication, inspection), the
  edge function's role and CloudFront's origin access identity (the lab edge's marker
  signature) by their declared ARNs, and anonymous readers; the health checkers'
  source address is the one they stand for (``x-lab-source-ip``), so the declared
  ``aws:SourceIp`` grant lets them, and only them, read the probe;
- the edge role also needs its own IAM policy to name the object.

Everything else answers 403 AccessDenied: a listing (``GET /``), a write, a version
read, an anonymous read of a data object. A missing key answers 403 too, not moto's
404, to a reader the policy does not let list the bucket, as S3 does.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from .bucket_policy import ANONYMOUS, OWNER, SOURCE_IP_HEADER, S3Request, decide, s3_action

OAI_ACCESS_KEY = "LABORIGINACCESSIDENTITY"
ADMIN_ACCESS_KEY = "lab"  # the lab's own clients: the bucket owner
ADMIN = "admin"
EDGE_ROLE = "edge-role"
OAI = "oai"
__all__ = ["ANONYMOUS"]  # re-exported: the principal of an unsigned request


@dataclass(frozen=True)
class Credentials:
    """One principal's key (a session token for role credentials)."""

    principal: str
    access_key: str
    secret: str
    token: str = ""


@dataclass(frozen=True)
class AccessRules:
    """One region's bucket, its declared readers and the keys the lab hands out."""

    region: str
    bucket: str
    policy: dict[str, Any] | None  # the bucket policy as declared
    principal_arns: dict[str, str]  # OAI / EDGE_ROLE -> the declared ARN
    edge_role_objects: tuple[str, ...]  # ARN patterns the role's IAM policy may GetObject
    credentials: tuple[Credentials, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        """The rules as one JSON document (passed to the emulator process)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AccessRules:
        """The inverse of :meth:`to_json`."""
        document = json.loads(text)
        document["edge_role_objects"] = tuple(document["edge_role_objects"])
        document["credentials"] = tuple(Credentials(**c) for c in document["credentials"])
        return cls(**document)


class Refused(Exception):
    """S3's answer to a request it will not serve."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def s3_canonical_path(raw_path: str) -> str:
    """The path as S3 computes it for the signature: decoded, then encoded again."""
    from botocore.utils import percent_encode

    return percent_encode(unquote_to_bytes(raw_path), safe="/~")


def s3_canonical_query(raw_query: str) -> str:
    """Each parameter decoded and encoded again (``+`` stays a plus), as S3 does."""
    from botocore.utils import percent_encode

    pairs = []
    for pair in raw_query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            pairs.append(f"{percent_encode(unquote(name))}={percent_encode(unquote(value))}")
    return "&".join(pairs)


def _field(authorization: str, name: str) -> str:
    return authorization.partition(f"{name}=")[2].partition(",")[0].strip()


def verify_signature(
    rules: AccessRules, method: str, host: str, raw_uri: str, headers: dict[str, str]
) -> str:
    """The principal a SigV4 ``Authorization`` proves, or :class:`Refused`."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    authorization = headers["authorization"]
    scope = _field(authorization, "Credential").split("/")
    if not authorization.startswith("AWS4-HMAC-SHA256 ") or len(scope) != 5:
        raise Refused(400, "AuthorizationHeaderMalformed", "not a SigV4 Authorization header")
    access_key, _date, region, service, _terminal = scope
    if access_key == OAI_ACCESS_KEY:
        return OAI
    if region != rules.region or service != "s3":
        raise Refused(
            400,
            "AuthorizationHeaderMalformed",
            f"the scope names {region}/{service}; this bucket is in {rules.region}/s3",
        )
    known = {c.access_key: c for c in rules.credentials}
    credentials = known.get(access_key)
    if credentials is None:
        raise Refused(403, "InvalidAccessKeyId", f"unknown access key {access_key}")
    if headers.get("x-amz-security-token", "") != credentials.token:
        raise Refused(403, "InvalidToken", "the session token is missing or wrong")
    signed = _field(authorization, "SignedHeaders").split(";")
    if "host" not in signed or "x-amz-date" not in headers:
        raise Refused(403, "AccessDenied", "host and x-amz-date must be signed")
    path, _, query = raw_uri.partition("?")
    url = f"http://{host}{s3_canonical_path(path)}"
    canonical_query = s3_canonical_query(query)
    if canonical_query:
        url += f"?{canonical_query}"
    request = AWSRequest(
        method=method, url=url, headers={name: headers.get(name, "") for name in signed}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = S3SigV4Auth(
        BotoCredentials(credentials.access_key, credentials.secret, credentials.token or None),
        "s3",
        region,
    )
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    if signer.signature(string_to_sign, request) != _field(authorization, "Signature"):
        raise Refused(403, "SignatureDoesNotMatch", "the signature does not match")
    return credentials.principal


def object_key(rules: AccessRules, host: str, raw_path: str) -> str | None:
    """The object key a request names (virtual-hosted or path style); None for the bucket."""
    path = unquote(raw_path)
    if not host.lower().startswith(f"{rules.bucket}."):
        path = path.removeprefix(f"/{rules.bucket}")
    key = path[1:] if path.startswith("/") else path
    return key or None


def request_of(
    rules: AccessRules, principal: str, method: str, host: str, raw_uri: str, source_ip: str
) -> S3Request:
    """The request as the bucket policy sees it: the principal's ARN, action, key, context."""
    path, _, query = raw_uri.partition("?")
    key = object_key(rules, host, path) or ""
    who = OWNER if principal == ADMIN else rules.principal_arns.get(principal, principal)
    context = {"aws:SourceIp": source_ip, "aws:SecureTransport": "true"}
    return S3Request(who, s3_action(method, key, query), rules.bucket, key, context)


def authorise(
    rules: AccessRules,
    principal: str,
    method: str,
    host: str,
    raw_uri: str,
    source_ip: str = "127.0.0.1",
) -> None:
    """Raise :class:`Refused` unless ``principal`` may make this request."""
    request = request_of(rules, principal, method, host, raw_uri, source_ip)
    allowed = decide(rules.policy, request)
    if allowed and principal == EDGE_ROLE:  # its own IAM policy must allow it too
        allowed = request.action == "s3:GetObject" and any(
            fnmatch.fnmatchcase(request.resource, pattern) for pattern in rules.edge_role_objects
        )
    if not allowed:
        raise Refused(403, "AccessDenied", f"{principal} may not {method} {raw_uri}")


def may_list(rules: AccessRules, principal: str, host: str, source_ip: str) -> bool:
    """Whether the policy lets ``principal`` list the bucket (S3's 403-or-404 rule)."""
    request = request_of(rules, principal, "GET", host, "/", source_ip)
    return decide(rules.policy, request)


def _error_body(refused: Refused) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refused.code}</Code><Message>{refused.message}</Message></Error>"
    ).encode()


class AccessCheck:
    """WSGI middleware: verify, authorise, then hand the request to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], rules: AccessRules) -> None:
        self.app = app
        self.rules = rules

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        host = environ.get("HTTP_HOST", "")
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/"
        headers = {
            name[5:].replace("_", "-").lower(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(name):
                headers[name.replace("_", "-").lower()] = environ[name]
        source_ip = headers.pop(SOURCE_IP_HEADER, "") or environ.get("REMOTE_ADDR", "")
        try:
            principal = (
                verify_signature(self.rules, method, host, raw_uri, headers)
                if "authorization" in headers
                else ANONYMOUS
            )
            authorise(self.rules, principal, method, host, raw_uri, source_ip)
        except Refused as refused:
            return _refuse(start_response, method, refused)
        if principal != ADMIN and "authorization" not in headers:
            # Allowed by the policy: moto itself refuses unsigned object reads.
            environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={ADMIN_ACCESS_KEY}/-"
        if principal == ADMIN or may_list(self.rules, principal, host, source_ip):
            return self.app(environ, start_response)
        return self._missing_key_is_denied(environ, start_response, method, raw_uri, principal)

    def _missing_key_is_denied(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        method: str,
        raw_uri: str,
        principal: str,
    ) -> Any:
        """Without s3:ListBucket a missing key is 403 AccessDenied, never 404 (S3's rule)."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("404") and b"NoSuchBucket" not in body:
            refused = Refused(403, "AccessDenied", f"{principal} may not list to learn {raw_uri}")
            return _refuse(start_response, method, refused)
        start_response(captured["status"], captured["headers"])
        return [body]


def _refuse(start_response: Callable[..., Any], method: str, refused: Refused) -> list[bytes]:
    body = b"" if method == "HEAD" else _error_body(refused)
    start_response(
        f"{refused.status} {'Forbidden' if refused.status == 403 else 'Bad Request'}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]
