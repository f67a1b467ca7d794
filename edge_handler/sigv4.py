"""Sign S3 origin requests with AWS Signature Version 4, from the function's own role.

Origin access control cannot follow a Lambda@Edge origin rewrite, and the legacy
origin access identity cannot read SSE-KMS objects nor reach regions launched after
December 2022. So in ``"auth": "sigv4"`` mode the function signs each origin
request itself, for the region it routes to, with the execution role's temporary
credentials (the reserved variables ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``
and ``AWS_SESSION_TOKEN``, read per request because Lambda rotates them).

What is signed must be exactly what S3 computes on its side. S3 decodes the request
path and re-encodes every byte except ``A-Z a-z 0-9 - _ . ~ /``; it does the same
to each query parameter name and value (``/`` encoded too). :func:`canonical_path`
and :func:`canonical_query` do that, and :func:`sign_s3_request` rewrites
``request.uri`` and ``request.querystring`` to those forms when the viewer's
encoding differs, so what is signed is what is sent. The payload is not signed
(``x-amz-content-sha256: UNSIGNED-PAYLOAD``): origin requests here are GET, HEAD
and OPTIONS without a body.

Standard library only; ``hmac`` and ``hashlib`` are imported on the first signature,
so a container in ``oai`` mode never pays for them. Derived signing keys are cached
per secret, date and region (four HMACs saved per request).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
# One entry per byte value: the byte itself when S3 leaves it alone, else %XX.
_PATH_BYTES = tuple(chr(b) if b in _UNRESERVED + b"/" else f"%{b:02X}" for b in range(256))
_QUERY_BYTES = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))
_CANONICAL_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_MAX_CACHED_KEYS = 64

_key_cache: dict[tuple[str, str, str], tuple[object, object]] = {}


class MissingCredentials(RuntimeError):
    """The reserved credential variables are not set: the request cannot be signed."""


def _decode(text: str) -> bytes:
    """Percent-decode once (``%2541`` stays ``%41``); a stray ``%`` is a literal."""
    return _ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), text.encode())


def canonical_path(uri: str) -> str:
    """The path as S3 computes it: decoded, then every byte but unreserved and ``/``
    percent-encoded (upper-case hex). ``+`` is a literal plus; ``//`` is kept."""
    if _CANONICAL_PATH.fullmatch(uri):
        return uri
    return "".join([_PATH_BYTES[b] for b in _decode(uri)])


def _encode_query_part(part: str) -> str:
    return "".join([_QUERY_BYTES[b] for b in _decode(part)])


def canonical_query(querystring: str) -> tuple[str, str]:
    """``(query to send, query to sign)`` for a CloudFront ``querystring``.

    Each name and value is decoded and re-encoded as S3 does; empty pairs are
    dropped. The pairs keep their order on the wire; the signed form is sorted by
    name, then value, and spells a name without a value as ``name=``.
    """
    if not querystring:
        return "", ""
    sent: list[str] = []
    signed: list[tuple[str, str]] = []
    for pair in querystring.split("&"):
        if not pair:
            continue
        name, equals, value = pair.partition("=")
        name, value = _encode_query_part(name), _encode_query_part(value)
        sent.append(f"{name}={value}" if equals else name)
        signed.append((name, value))
    return "&".join(sent), "&".join(f"{n}={v}" for n, v in sorted(signed))


def _signing_key(secret: str, date: str, region: str) -> tuple[object, object]:
    """HMAC state for ``kSigning`` of this secret, day and region, derived once.

    Returned as the two pre-keyed SHA-256 states of HMAC (inner and outer pad), so a
    signature costs two hash copies instead of a fresh HMAC set-up per request.
    """
    cache_key = (secret, date, region)
    state = _key_cache.get(cache_key)
    if state is None:
        import hashlib
        import hmac

        key = ("AWS4" + secret).encode()
        for part in (date, region, SERVICE, "aws4_request"):
            key = hmac.digest(key, part.encode(), hashlib.sha256)
        padded = key.ljust(64, b"\0")
        state = (
            hashlib.sha256(bytes(b ^ 0x36 for b in padded)),
            hashlib.sha256(bytes(b ^ 0x5C for b in padded)),
        )
        if len(_key_cache) >= _MAX_CACHED_KEYS:
            _key_cache.clear()
        _key_cache[cache_key] = state
    return state


def _hmac_hex(state: tuple[object, object], message: bytes) -> str:
    """HMAC-SHA256 of ``message`` (hex) from a pre-keyed state (RFC 2104)."""
    inner, outer = state[0].copy(), state[1].copy()  # type: ignore[attr-defined]
    inner.update(message)
    outer.update(inner.digest())
    return outer.hexdigest()


_last_date: list[object] = [None, ""]  # [whole second, its x-amz-date]


def _amz_date(now: float) -> str:
    """``YYYYMMDDTHHMMSSZ`` for ``now``, formatted once per second."""
    second = int(now)
    if _last_date[0] != second:
        _last_date[0], _last_date[1] = second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
    return _last_date[1]  # type: ignore[return-value]


def credentials(environ: Mapping[str, str] = os.environ) -> tuple[str, str, str]:
    """``(access key id, secret, session token or "")`` from the reserved variables."""
    access_key = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if not access_key or not secret:
        raise MissingCredentials("AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is not set")
    return access_key, secret, environ.get("AWS_SESSION_TOKEN", "")


def sign_s3_request(
    request: dict,
    region: str,
    host: str,
    *,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.time,
) -> None:
    """Sign ``request`` in place for the bucket at ``host`` in ``region``.

    Sets ``authorization``, ``x-amz-date``, ``x-amz-content-sha256`` and, with a
    session token, ``x-amz-security-token``; rewrites ``uri``/``querystring`` to
    the encoding S3 will compute. Everything is computed before anything is
    written, so a failure (:class:`MissingCredentials`) leaves the request as it was.
    """
    import hashlib

    access_key, secret, token = credentials(environ)
    uri = canonical_path(request["uri"])
    origin_path = request["origin"]["s3"].get("path") or ""
    sent_query, signed_query = canonical_query(request.get("querystring") or "")
    amz_date = _amz_date(clock())
    date = amz_date[:8]
    if token:
        canonical_headers = (
            f"host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\n"
            f"x-amz-date:{amz_date}\nx-amz-security-token:{token.strip()}\n"
        )
        signed_headers = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    else:
        canonical_headers = (
            f"host:{host}\nx-amz-content-sha256:{UNSIGNED_PAYLOAD}\nx-amz-date:{amz_date}\n"
        )
        signed_headers = "host;x-amz-content-sha256;x-amz-date"
    canonical_request = (
        f"{request['method']}\n{canonical_path(origin_path)}{uri}\n{signed_query}\n"
        f"{canonical_headers}\n{signed_headers}\n{UNSIGNED_PAYLOAD}"
    )
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    string_to_sign = (
        f"{ALGORITHM}\n{amz_date}\n{scope}\n"
        + hashlib.sha256(canonical_request.encode()).hexdigest()
    )
    signature = _hmac_hex(_signing_key(secret, date, region), string_to_sign.encode())
    authorization = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )

    headers = request["headers"]
    request["uri"] = uri
    request["querystring"] = sent_query
    headers["authorization"] = [{"key": "Authorization", "value": authorization}]
    headers["x-amz-date"] = [{"key": "X-Amz-Date", "value": amz_date}]
    headers["x-amz-content-sha256"] = [{"key": "X-Amz-Content-Sha256", "value": UNSIGNED_PAYLOAD}]
    if token:
        headers["x-amz-security-token"] = [{"key": "X-Amz-Security-Token", "value": token}]
    else:
        headers.pop("x-amz-security-token", None)  # a stale token would fail the check
