"""Who may do what in one emulated bucket: signatures checked, principals authorised.

moto accepts any request, signed or not. Real S3 verifies the SigV4 signature,
then asks the bucket policy and the caller's IAM policy. This WSGI middleware sits
in front of one region's moto server and does the same for the principals the lab
uses, from the declared stack (``AccessRules``):

- a SigV4 ``Authorization`` is verified with botocore's own S3 signer (not the edge
  function's), over the path and query as S3 computes them (decoded, then encoded
  again); a wrong signature, an unknown key, a missing or wrong session token, or a
  scope naming another region is refused as S3 refuses it;
- the lab's admin key (publishing, replication, inspection) may do anything;
- the edge function's role may ``s3:GetObject`` (GET/HEAD of one object) where the
  bucket policy admits it and its IAM policy names the object;
- CloudFront's origin access identity (the lab edge's marker signature) may
  ``s3:GetObject`` where the bucket policy admits it;
- anyone else (no ``Authorization``) may read only the region's health probe.

Everything else answers 403 AccessDenied: a listing (``GET /``), a write, a version
read. Standard library and botocore only: ``lab/s3_region.py`` imports this file as
a top-level module in the emulator process.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

OAI_ACCESS_KEY = "LABORIGINACCESSIDENTITY"
ADMIN = "admin"
EDGE_ROLE = "edge-role"
OAI = "oai"
ANONYMOUS = "anonymous"
# Query parameters a plain GetObject may carry; any other makes it another action.
_GET_OBJECT_PARAMS = frozenset(
    {
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "partNumber",
        "x-id",
    }
)


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
    probe_key: str | None
    readers: tuple[str, ...]  # OAI and/or EDGE_ROLE: who the bucket policy admits
    edge_role_objects: tuple[str, ...]  # ARN patterns the role's IAM policy may GetObject
    credentials: tuple[Credentials, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        """The rules as one JSON document (passed to the emulator process)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AccessRules:
        """The inverse of :meth:`to_json`."""
        document = json.loads(text)
        document["readers"] = tuple(document["readers"])
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


def is_get_object(method: str, raw_query: str, key: str | None) -> bool:
    """GET/HEAD of one object, without a sub-resource (``?acl``, ``?versionId``...)."""
    names = {pair.partition("=")[0] for pair in raw_query.split("&") if pair}
    return method in ("GET", "HEAD") and key is not None and names <= _GET_OBJECT_PARAMS


def authorise(rules: AccessRules, principal: str, method: str, host: str, raw_uri: str) -> None:
    """Raise :class:`Refused` unless ``principal`` may make this request."""
    if principal == ADMIN:
        return
    path, _, query = raw_uri.partition("?")
    key = object_key(rules, host, path)
    if is_get_object(method, query, key):
        arn = f"arn:aws:s3:::{rules.bucket}/{key}"
        if principal == ANONYMOUS and key == rules.probe_key:
            return
        if principal == OAI and OAI in rules.readers:
            return
        if (
            principal == EDGE_ROLE
            and EDGE_ROLE in rules.readers
            and any(fnmatch.fnmatchcase(arn, pattern) for pattern in rules.edge_role_objects)
        ):
            return
    raise Refused(403, "AccessDenied", f"{principal} may not {method} {raw_uri}")


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
        try:
            principal = (
                verify_signature(self.rules, method, host, raw_uri, headers)
                if "authorization" in headers
                else ANONYMOUS
            )
            authorise(self.rules, principal, method, host, raw_uri)
        except Refused as refused:
            body = b"" if method == "HEAD" else _error_body(refused)
            start_response(
                f"{refused.status} {'Forbidden' if refused.status == 403 else 'Bad Request'}",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)
