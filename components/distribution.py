"""The CloudFront distribution: an origin group whose members the edge function routes.

The *routed* origin is the primary member: the function rewrites it to the region
the routing table picks. The *failover* origin carries the marker header so the
function recognises CloudFront's second attempt and picks another region. If the
function fails open, the configured domains still name valid buckets (the primary
and the first other region), so a routing bug never becomes an outage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .edge_config import FAILOVER_HEADER
from .tags import Tags

ROUTED_ORIGIN_ID = "routed"
FAILOVER_ORIGIN_ID = "failover"
ORIGIN_GROUP_ID = "routed-group"
# 403 and 404 cover replication lag (a private bucket answers 403 for a missing key).
FAILOVER_STATUS_CODES = (403, 404, 500, 502, 503, 504)
# Error caching: short for 403/404 so a replica that catches up is seen quickly,
# zero for 5xx so an origin outage is not pinned in the cache.
ERROR_CACHING_TTL_S = {403: 5, 404: 5, 500: 0, 502: 0, 503: 0, 504: 0}
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
CACHED_METHODS = ("GET", "HEAD")
CACHE_POLICY = "Managed-CachingOptimized"  # ids looked up in lookups.py
RESPONSE_HEADERS_POLICY = "Managed-SecurityHeadersPolicy"
TLS_POLICY = "TLSv1.2_2021"
FAILOVER_CONNECTION_TIMEOUT_S = 3
FAILOVER_CONNECTION_ATTEMPTS = 1


@dataclass
class Distribution:
    """Typed handles on the origin access identity and the distribution."""

    origin_access_identity: aws.cloudfront.OriginAccessIdentity | None
    """None with ``originAuth: sigv4``: the edge function signs origin requests."""
    distribution: aws.cloudfront.Distribution


def create_origin_access_identity(
    name: str, *, parent: pulumi.Resource
) -> aws.cloudfront.OriginAccessIdentity:
    """One identity shared by every bucket (the function's rewrite keeps it)."""
    return aws.cloudfront.OriginAccessIdentity(
        f"{name}-oai",
        comment=f"{name}: CloudFront reads the data buckets in every region",
        opts=pulumi.ResourceOptions(parent=parent),
    )


def create_distribution(
    name: str,
    *,
    oai: aws.cloudfront.OriginAccessIdentity | None,
    routed_domain: pulumi.Input[str],
    failover_domain: pulumi.Input[str],
    function_qualified_arn: pulumi.Input[str],
    connection_timeout: int,
    connection_attempts: int,
    domain_names: Sequence[str],
    certificate_arn: pulumi.Input[str] | None,
    price_class: str,
    web_acl_arn: pulumi.Input[str] | None,
    cache_policy_id: pulumi.Input[str],
    response_headers_policy_id: pulumi.Input[str],
    default_root_object: str | None,
    region_header: bool,
    depends_on: Sequence[pulumi.Resource],
    tags: Tags,
    parent: pulumi.Resource,
) -> Distribution:
    """Declare the distribution with the routed origin group as its default target.

    Without ``region_header`` only origin-request is associated: one Lambda@Edge
    invocation per cache miss instead of two, and no ``x-asset-region`` header.
    """
    # Without an identity the S3 origins are unsigned by CloudFront (authMethod
    # "none" in the events); the edge function signs them itself.
    s3_origin_config = {
        "origin_access_identity": oai.cloudfront_access_identity_path if oai is not None else ""
    }
    origins = [
        {
            "origin_id": ROUTED_ORIGIN_ID,
            "domain_name": routed_domain,
            "s3_origin_config": s3_origin_config,
            "connection_timeout": connection_timeout,
            "connection_attempts": connection_attempts,
        },
        {
            "origin_id": FAILOVER_ORIGIN_ID,
            "domain_name": failover_domain,
            "s3_origin_config": s3_origin_config,
            "connection_timeout": FAILOVER_CONNECTION_TIMEOUT_S,
            "connection_attempts": FAILOVER_CONNECTION_ATTEMPTS,
            "custom_headers": [{"name": FAILOVER_HEADER, "value": "1"}],
        },
    ]
    associations = [
        {"event_type": event, "lambda_arn": function_qualified_arn, "include_body": False}
        for event in ("origin-request", "origin-response")
        if region_header or event == "origin-request"
    ]
    if domain_names:
        viewer_certificate: dict[str, object] = {
            "acm_certificate_arn": certificate_arn,
            "ssl_support_method": "sni-only",
            "minimum_protocol_version": TLS_POLICY,
        }
    else:
        viewer_certificate = {"cloudfront_default_certificate": True}
    distribution = aws.cloudfront.Distribution(
        f"{name}-cdn",
        comment=f"{name}: multi-region active-active assets",
        enabled=True,
        is_ipv6_enabled=True,
        http_version="http2and3",
        price_class=price_class,
        aliases=list(domain_names) or None,
        web_acl_id=web_acl_arn,
        default_root_object=default_root_object,
        origins=origins,
        origin_groups=[
            {
                "origin_id": ORIGIN_GROUP_ID,
                "failover_criteria": {"status_codes": list(FAILOVER_STATUS_CODES)},
                "members": [
                    {"origin_id": ROUTED_ORIGIN_ID},
                    {"origin_id": FAILOVER_ORIGIN_ID},
                ],
            }
        ],
        default_cache_behavior={
            "target_origin_id": ORIGIN_GROUP_ID,
            "viewer_protocol_policy": "redirect-to-https",
            "allowed_methods": list(ALLOWED_METHODS),
            "cached_methods": list(CACHED_METHODS),
            "compress": True,
            "cache_policy_id": cache_policy_id,
            "response_headers_policy_id": response_headers_policy_id,
            "lambda_function_associations": associations,
        },
        custom_error_responses=[
            {"error_code": code, "error_caching_min_ttl": ttl}
            for code, ttl in sorted(ERROR_CACHING_TTL_S.items())
        ],
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate=viewer_certificate,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    return Distribution(origin_access_identity=oai, distribution=distribution)
