"""CloudFront's Lambda@Edge events, built the way the documentation describes them.

Pure functions on plain data so tests can check the shapes without a server:
``origin_request_event`` for one attempt against one origin of the distribution,
``origin_response_event`` for the origin's answer to the (possibly rewritten) request.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping

from .model import DistributionSpec, OriginSpec

# <bucket>.s3.<region>.amazonaws.com (regional) or <bucket>.s3.amazonaws.com (global).
_BUCKET_DOMAIN = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(?:[.-](?P<region>[a-z0-9-]+))?"
    r"\.amazonaws\.com$"
)
EDGE_USER_AGENT = "Amazon CloudFront"


def parse_bucket_domain(domain: str) -> tuple[str, str] | None:
    """``(bucket, region)`` of an S3 bucket domain, or None for anything else."""
    match = _BUCKET_DOMAIN.match(domain.lower().rstrip("."))
    if match is None:
        return None
    return match["bucket"], match["region"] or "us-east-1"


def cf_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Headers as CloudFront passes them: lower-case keys, lists of {key, value}."""
    headers: dict[str, list[dict[str, str]]] = {}
    for name, value in pairs:
        headers.setdefault(name.lower(), []).append({"key": name, "value": value})
    return headers


def flat_headers(headers: Mapping[str, list[dict[str, str]]]) -> list[tuple[str, str]]:
    """CloudFront-shaped headers back to (name, value) pairs for the wire."""
    return [
        (entry.get("key") or name, entry["value"])
        for name, entries in headers.items()
        for entry in entries
    ]


def s3_origin(origin: OriginSpec) -> dict[str, object]:
    """The ``origin.s3`` block CloudFront sends for a declared S3 origin (``authMethod``
    ``origin-access-identity`` with an OAI, else ``none``)."""
    parsed = parse_bucket_domain(origin.domain)
    return {
        "s3": {
            "authMethod": "origin-access-identity" if origin.origin_access_identity else "none",
            "customHeaders": cf_headers(origin.custom_headers.items()),
            "domainName": origin.domain,
            "path": origin.origin_path,
            "region": parsed[1] if parsed else "",
        }
    }


def origin_request_event(
    distribution: DistributionSpec,
    origin: OriginSpec,
    *,
    request_id: str,
    client_ip: str,
    method: str,
    uri: str,
    querystring: str = "",
) -> dict[str, object]:
    """The origin-request event for one attempt against ``origin``.

    CloudFront sets ``Host`` to the origin's domain and forwards no viewer headers
    for an S3 origin with the CachingOptimized policy; ``via`` and
    ``x-forwarded-for`` are added by CloudFront itself.
    """
    headers = cf_headers(
        [
            ("Host", origin.domain),
            ("User-Agent", EDGE_USER_AGENT),
            ("Via", f"2.0 {request_id[:16]}.cloudfront.net (CloudFront)"),
            ("X-Forwarded-For", client_ip),
        ]
    )
    return {
        "Records": [
            {
                "cf": {
                    "config": _config(distribution, "origin-request", request_id),
                    "request": {
                        "clientIp": client_ip,
                        "headers": headers,
                        "method": method,
                        "querystring": querystring,
                        "uri": uri,
                        "origin": s3_origin(origin),
                    },
                }
            }
        ]
    }


def origin_response_event(
    distribution: DistributionSpec,
    request: Mapping[str, object],
    *,
    request_id: str,
    status: int,
    status_description: str,
    headers: Iterable[tuple[str, str]],
) -> dict[str, object]:
    """The origin-response event: the request as sent to the origin plus its answer."""
    return {
        "Records": [
            {
                "cf": {
                    "config": _config(distribution, "origin-response", request_id),
                    "request": copy.deepcopy(dict(request)),
                    "response": {
                        "status": str(status),
                        "statusDescription": status_description,
                        "headers": cf_headers(headers),
                    },
                }
            }
        ]
    }


def _config(distribution: DistributionSpec, event_type: str, request_id: str) -> dict[str, str]:
    return {
        "distributionDomainName": distribution.domain_name,
        "distributionId": distribution.distribution_id,
        "eventType": event_type,
        "requestId": request_id,
    }


def request_of(event: Mapping[str, object]) -> dict[str, object]:
    """``Records[0].cf.request`` of an event."""
    return event["Records"][0]["cf"]["request"]  # type: ignore[index,return-value]


def response_of(event: Mapping[str, object]) -> dict[str, object]:
    """``Records[0].cf.response`` of an event."""
    return event["Records"][0]["cf"]["response"]  # type: ignore[index,return-value]
