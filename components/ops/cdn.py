"""CloudFront from the operator's side: invalidation batches and the distribution's state.

One publish makes one invalidation batch. CloudFront charges per path beyond the
first thousand a month and allows 3000 paths in progress per distribution, while a
wildcard counts as one path: more than ``MAX_PATHS`` changed paths collapse into
one wildcard over the published prefix.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

MAX_PATHS = 1000


def invalidation_paths(keys: Iterable[str], prefix: str = "") -> list[str]:
    """The paths to invalidate for changed ``keys``: one per key, or one wildcard.

    Keys are URL-encoded as CloudFront requires (a ``*`` inside a key is encoded,
    so it never acts as a wildcard); past ``MAX_PATHS`` the answer is
    ``/<prefix>*`` (``/*`` without a prefix).
    """
    paths = sorted({"/" + quote(key, safe="/-_.~!$&'()+,;=:@") for key in keys})
    if len(paths) > MAX_PATHS:
        return ["/" + quote(prefix, safe="/-_.~!$&'()+,;=:@") + "*"]
    return paths


def create_invalidation(cloudfront: Any, distribution_id: str, paths: list[str]) -> str:
    """Submit one invalidation batch; returns its id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"asset-delivery-{time.time_ns()}-{uuid.uuid4().hex[:8]}",
        },
    )
    return str(answer["Invalidation"]["Id"])


def distribution_state(cloudfront: Any, distribution_id: str) -> dict[str, Any]:
    """``{status, enabled, function_arn, function_version}`` of the distribution.

    ``function_version`` is the version number of the function associated with the
    default behaviour's origin-request event (the published version CloudFront runs).
    """
    answer = cloudfront.get_distribution(Id=distribution_id)["Distribution"]
    config = answer.get("DistributionConfig", {})
    associations = (
        config.get("DefaultCacheBehavior", {}).get("LambdaFunctionAssociations", {}).get("Items")
        or []
    )
    function_arn = next(
        (a["LambdaFunctionARN"] for a in associations if a.get("EventType") == "origin-request"),
        None,
    )
    return {
        "status": answer.get("Status"),
        "enabled": config.get("Enabled"),
        "function_arn": function_arn,
        "function_version": function_arn.rsplit(":", 1)[1] if function_arn else None,
    }
