"""Multi-region active-active asset delivery: the reusable Pulumi component."""

from components.config import ConfigError, DeliveryConfig, parse_config
from components.delivery import (
    MultiRegionAssetDelivery,
    MultiRegionAssetDeliveryArgs,
    RegionWeightArgs,
)

__all__ = [
    "ConfigError",
    "DeliveryConfig",
    "MultiRegionAssetDelivery",
    "MultiRegionAssetDeliveryArgs",
    "RegionWeightArgs",
    "parse_config",
]
