"""Tags on every taggable resource: the caller's tags plus the component's own.

Cost allocation and ownership policies read tags, so each resource whose type takes
``tags`` gets the caller's map merged with ``asset-delivery:component`` (and, for
regional data, ``asset-delivery:region``). The ``asset-delivery:`` prefix is the
component's: stack config may not set keys under it (see ``config.validate_tags``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

COMPONENT_TAG = "asset-delivery:component"
REGION_TAG = "asset-delivery:region"
RESERVED_PREFIX = "asset-delivery:"

Tags = pulumi.Input[Mapping[str, pulumi.Input[str]]]


def merged_tags(base: Tags | None, extra: Mapping[str, str]) -> pulumi.Input[dict[str, str]]:
    """``base`` with ``extra`` on top; plain when ``base`` is plain, else an output."""
    if base is None:
        return dict(extra)
    if isinstance(base, Mapping) and all(isinstance(v, str) for v in base.values()):
        return {**base, **extra}
    return pulumi.Output.from_input(base).apply(lambda tags: {**(tags or {}), **extra})
