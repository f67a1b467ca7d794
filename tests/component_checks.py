"""Shared checks for the component's argument validation tests."""

from __future__ import annotations

import pytest
from asset_delivery import ConfigError, MultiRegionAssetDelivery
from asset_delivery.testing import RecordingMocks, run_with_mocks


def rejection_message(args: dict) -> str:
    """The ConfigError the component raises for ``args``, after checking it declared nothing."""
    mocks = RecordingMocks()
    with pytest.raises(ConfigError) as caught:
        run_with_mocks(lambda: MultiRegionAssetDelivery("media", args) and None, {}, mocks=mocks)
    assert mocks.registrations == []
    return str(caught.value)
