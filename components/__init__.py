"""Multi-region active-active asset delivery: the reusable Pulumi component.

Installed as the one import package ``asset_delivery`` (the repository's ``components/``
folder; ``edge_handler/`` becomes ``asset_delivery.edge_handler``).
"""

__version__ = "0.2.0"

from .config import ConfigError, DeliveryConfig, parse_config
from .delivery import (
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
    "__version__",
    "parse_config",
]
