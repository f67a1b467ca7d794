"""Multi-region active-active asset delivery: the reusable Pulumi component.

Installed as the one import package ``asset_delivery`` (the repository's ``components/``
folder; ``edge_handler/`` becomes ``asset_delivery.edge_handler``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

from .config import ConfigError, DeliveryConfig, parse_config

if TYPE_CHECKING:
    from .delivery import (
        MultiRegionAssetDelivery,
        MultiRegionAssetDeliveryArgs,
        RegionWeightArgs,
    )

_COMPONENT_NAMES = ("MultiRegionAssetDelivery", "MultiRegionAssetDeliveryArgs", "RegionWeightArgs")


def __getattr__(name: str) -> Any:
    """Import the component (and with it Pulumi) on first use only, so the operator's
    command line and the edge function's package stay light (PEP 562)."""
    if name in _COMPONENT_NAMES:
        from . import delivery

        return getattr(delivery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "DeliveryConfig",
    "MultiRegionAssetDelivery",
    "MultiRegionAssetDeliveryArgs",
    "RegionWeightArgs",
    "__version__",
    "parse_config",
]
