"""CloudFront's documented checks on what a Lambda@Edge function returns.

Written once, used twice: the lab's edge server answers 502 when a function result
breaks one of these rules (as CloudFront does), and the edge function's property
tests assert that no result ever does. Each rule names its source: docs/ARCHITECTURE.md
section 3.8 (which summarises the AWS CloudFront developer guide, "Restrictions on
edge functions" and "Lambda@Edge event structure"), or the guide directly where
that section is silent. Rules marked *project* are ours, not CloudFront's.

Stdlib only, plain dicts in, a list of human-readable violations out (empty list =
valid).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# docs/ARCHITECTURE.md 3.8: headers a function must not add (CloudFront answers 502).
DISALLOWED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "trailer",
        "upgrade",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
DISALLOWED_PREFIXES = ("proxy-", "x-accel-", "x-amz-cf-", "x-amzn-", "x-edge-")

# docs/ARCHITECTURE.md 3.8: read-only in origin-request (Range from the AWS guide), and
# Transfer-Encoding and Via in origin-response.
READ_ONLY_ORIGIN_REQUEST = frozenset(
    {
        "accept-encoding",
        "content-length",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "range",
        "transfer-encoding",
        "via",
    }
)
READ_ONLY_ORIGIN_RESPONSE = frozenset({"transfer-encoding", "via"})

# Lambda@Edge event structure: request fields a function cannot change.
READ_ONLY_REQUEST_FIELDS = ("clientIp", "method")
S3_AUTH_METHODS = ("origin-access-identity", "none")


def header_disallowed(name: str) -> bool:
    """True for a header CloudFront forbids functions to add (docs/ARCHITECTURE.md 3.8)."""
    lowered = name.lower()
    return lowered in DISALLOWED_HEADERS or lowered.startswith(DISALLOWED_PREFIXES)


def _header_shape_violations(where: str, headers: object) -> list[str]:
    """Event structure: ``{lower-case name: [{"key": Name, "value": str}, ...]}``."""
    if not isinstance(headers, dict):
        return [f"{where} must be an object, got {type(headers).__name__}"]
    problems = []
    for name, entries in headers.items():
        if not isinstance(name, str) or not name or name != name.lower():
            problems.append(f"{where} key {name!r} must be a non-empty lower-case name")
            continue
        if not isinstance(entries, list) or not entries:
            problems.append(f"{where}[{name!r}] must be a non-empty list of {{key, value}}")
            continue
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                problems.append(f"{where}[{name!r}] entry {entry!r} needs a string value")
                continue
            key = entry.get("key", name)
            if not isinstance(key, str) or key.lower() != name:
                problems.append(f"{where}[{name!r}] entry key {key!r} does not match the name")
            # The guide: header values travel as HTTP field values; CR/LF/NUL break them.
            if any(char in entry["value"] for char in "\r\n\0"):
                problems.append(f"{where}[{name!r}] value contains CR, LF or NUL")
    return problems


def _header_change_violations(
    where: str, before: Mapping, after: Mapping, read_only: Iterable[str]
) -> list[str]:
    """Disallowed headers added or changed, read-only headers touched at all."""
    problems = []
    for name in set(before) | set(after):
        if not isinstance(name, str):
            continue
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name.lower() in read_only:
            problems.append(f"{where}: read-only header {name!r} changed from {old!r} to {new!r}")
        elif new is not None and header_disallowed(name):
            problems.append(f"{where}: disallowed header {name!r} added or changed")
    return problems


def origin_request_violations(original_request: dict, result: object) -> list[str]:
    """Why CloudFront would reject ``result`` as an origin-request function's answer."""
    if not isinstance(result, dict):
        return [f"result must be a request object, got {type(result).__name__}"]
    if "status" in result:
        # project: CloudFront accepts a generated response here; this router never
        # generates one, so a response-shaped result is a bug.
        return ["result is a response (has 'status'); the router must return the request"]
    problems = []
    for field in READ_ONLY_REQUEST_FIELDS:
        if result.get(field) != original_request.get(field):
            problems.append(
                f"read-only field {field!r} changed from {original_request.get(field)!r} "
                f"to {result.get(field)!r}"
            )
    uri = result.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        problems.append(f"uri {uri!r} must be a string starting with '/'")
    if not isinstance(result.get("querystring"), str):
        problems.append(f"querystring {result.get('querystring')!r} must be a string")

    headers = result.get("headers")
    problems += _header_shape_violations("headers", headers)
    if isinstance(headers, dict) and isinstance(original_request.get("headers"), dict):
        problems += _header_change_violations(
            "headers", original_request["headers"], headers, READ_ONLY_ORIGIN_REQUEST
        )

    origin = result.get("origin")
    if (
        not isinstance(origin, dict)
        or len(origin) != 1
        or next(iter(origin))
        not in (
            "s3",
            "custom",
        )
    ):
        # Event structure: exactly one of origin.s3 / origin.custom per request.
        problems.append("origin must hold exactly one of 's3' or 'custom'")
        return problems
    if "s3" in origin:
        problems += _s3_origin_violations(original_request, result, origin["s3"])
    return problems


def _s3_origin_violations(original_request: dict, result: dict, s3: object) -> list[str]:
    """docs/ARCHITECTURE.md 3.8: regional domain, region with an OAI, Host to match."""
    if not isinstance(s3, dict):
        return ["origin.s3 must be an object"]
    problems = []
    domain = s3.get("domainName")
    if not isinstance(domain, str) or not domain or any(c in domain for c in "/: \r\n"):
        problems.append(f"origin.s3.domainName {domain!r} must be a bare host name")
    auth = s3.get("authMethod")
    if auth not in S3_AUTH_METHODS:
        problems.append(f"origin.s3.authMethod {auth!r} must be one of {S3_AUTH_METHODS}")
    region = s3.get("region")
    if auth == "origin-access-identity" and (not isinstance(region, str) or not region):
        problems.append("origin.s3.region is required with an origin access identity")
    path = s3.get("path", "")
    if not isinstance(path, str) or (path and (not path.startswith("/") or path.endswith("/"))):
        problems.append(f"origin.s3.path {path!r} must be '' or '/name' without trailing '/'")
    problems += _header_shape_violations("origin.s3.customHeaders", s3.get("customHeaders", {}))

    original_s3 = (original_request.get("origin") or {}).get("s3")
    original_domain = original_s3.get("domainName") if isinstance(original_s3, dict) else None
    if isinstance(domain, str) and domain != original_domain:
        # docs/ARCHITECTURE.md 3.8: moving to another bucket sets Host to the same value,
        # since S3 only serves a request whose Host names the bucket.
        host = (result.get("headers") or {}).get("host")
        values = [entry.get("value") for entry in host if isinstance(entry, dict)] if host else []
        if values != [domain]:
            problems.append(f"origin domain rewritten to {domain!r} but Host is {values!r}")
    return problems


def origin_response_violations(original_response: dict, result: object) -> list[str]:
    """Why CloudFront would reject ``result`` as an origin-response function's answer."""
    if not isinstance(result, dict):
        return [f"result must be a response object, got {type(result).__name__}"]
    problems = []
    status = result.get("status")
    if not isinstance(status, str) or not (status.isdigit() and len(status) == 3):
        problems.append(f"status {status!r} must be a three-digit string")
    if status != original_response.get("status"):
        problems.append(  # project: the router names the region, it never changes status
            f"status changed from {original_response.get('status')!r} to {status!r}"
        )
    headers = result.get("headers")
    problems += _header_shape_violations("headers", headers)
    if isinstance(headers, dict) and isinstance(original_response.get("headers"), dict):
        problems += _header_change_violations(
            "headers", original_response["headers"], headers, READ_ONLY_ORIGIN_RESPONSE
        )
    return problems


def rewrite_is_valid_or_unchanged(
    original_request: dict, result: object, topology_domains: Iterable[str]
) -> bool:
    """The router's whole promise for one origin-request, for property tests.

    Either ``result`` equals the original request, or it is valid for CloudFront,
    its S3 origin names a topology bucket, and nothing changed except
    ``origin.s3.domainName``, ``origin.s3.region`` and the Host header (any key case).
    """
    if result == original_request:
        return True
    if origin_request_violations(original_request, result) or not isinstance(result, dict):
        return False
    s3 = result["origin"].get("s3")
    if not isinstance(s3, dict) or s3.get("domainName") not in set(topology_domains):
        return False
    return _without_rewrite(result) == _without_rewrite(original_request)


def _without_rewrite(request: dict) -> dict:
    """A copy of ``request`` minus the three fields the router may rewrite."""
    stripped = dict(request)
    headers = request.get("headers")
    if isinstance(headers, dict):
        stripped["headers"] = {k: v for k, v in headers.items() if k.lower() != "host"}
    origin = request.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("s3"), dict):
        s3 = {k: v for k, v in origin["s3"].items() if k not in ("domainName", "region")}
        stripped["origin"] = {**origin, "s3": s3}
    return stripped
