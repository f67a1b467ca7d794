"""What CloudFront caches and which headers it adds: the cache and response headers policies.

``optimized`` uses AWS's managed CachingOptimized policy (query strings ignored, the
cheapest cache key); ``versioned`` creates a policy that keeps the query string in the
cache key, so ``?v=2`` cache-busting works; any other value is an existing policy's
id. Without CORS origins the managed SecurityHeadersPolicy is attached; with them a
policy that adds the same security headers plus CORS for exactly those origins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .naming import account_unique_name

# CachingOptimized's TTLs (seconds): the versioned policy differs only in its query strings.
MIN_TTL_S, DEFAULT_TTL_S, MAX_TTL_S = 1, 86_400, 31_536_000
CORS_METHODS = ("GET", "HEAD", "OPTIONS")
CORS_MAX_AGE_S = 600
HSTS_MAX_AGE_S = 31_536_000


@dataclass
class Policies:
    """The ids the default behaviour uses, and the policies the component created."""

    cache_policy_id: pulumi.Input[str]
    response_headers_policy_id: pulumi.Input[str]
    cache_policy: aws.cloudfront.CachePolicy | None
    response_headers_policy: aws.cloudfront.ResponseHeadersPolicy | None


def security_headers() -> dict[str, object]:
    """The headers of the managed SecurityHeadersPolicy, for a policy that also does CORS."""
    return {
        "content_type_options": {"override": True},
        "frame_options": {"frame_option": "SAMEORIGIN", "override": False},
        "referrer_policy": {
            "referrer_policy": "strict-origin-when-cross-origin",
            "override": False,
        },
        "strict_transport_security": {
            "access_control_max_age_sec": HSTS_MAX_AGE_S,
            "override": False,
        },
        "xss_protection": {"protection": True, "mode_block": True, "override": False},
    }


def create_policies(
    name: str,
    *,
    cache_policy: str,
    cors_origins: Sequence[str],
    managed_cache_policy_id: str,
    managed_headers_policy_id: str,
    parent: pulumi.Resource,
) -> Policies:
    """Create the cache policy and the response headers policy the options ask for.

    The managed policies' ids are read once with the component's other data sources
    (``lookups.read_aws_facts``).
    """
    opts = pulumi.ResourceOptions(parent=parent)
    created_cache: aws.cloudfront.CachePolicy | None = None
    if cache_policy == "optimized":
        cache_id: pulumi.Input[str] = managed_cache_policy_id
    elif cache_policy == "versioned":
        created_cache = aws.cloudfront.CachePolicy(
            f"{name}-cache-versioned",
            name=account_unique_name(name, "versioned"),
            comment=f"{name}: CachingOptimized plus the query string in the cache key (?v=2)",
            min_ttl=MIN_TTL_S,
            default_ttl=DEFAULT_TTL_S,
            max_ttl=MAX_TTL_S,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "all"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=opts,
        )
        cache_id = created_cache.id
    else:
        cache_id = cache_policy

    created_headers: aws.cloudfront.ResponseHeadersPolicy | None = None
    if cors_origins:
        created_headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-cors-headers",
            name=account_unique_name(name, "cors"),
            comment=f"{name}: CORS for the configured origins plus the security headers",
            cors_config={
                "access_control_allow_credentials": False,
                "access_control_allow_headers": {"items": ["*"]},
                "access_control_allow_methods": {"items": list(CORS_METHODS)},
                "access_control_allow_origins": {"items": list(cors_origins)},
                "access_control_max_age_sec": CORS_MAX_AGE_S,
                "origin_override": True,
            },
            security_headers_config=security_headers(),
            opts=opts,
        )
        headers_id: pulumi.Input[str] = created_headers.id
    else:
        headers_id = managed_headers_policy_id
    return Policies(
        cache_policy_id=cache_id,
        response_headers_policy_id=headers_id,
        cache_policy=created_cache,
        response_headers_policy=created_headers,
    )
