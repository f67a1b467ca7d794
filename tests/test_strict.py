"""Strictness a consumer relies on: unknown keys and arguments stop everything, data
sources a mock does not answer are named, and the known-key registry stays in one piece."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from asset_delivery import MultiRegionAssetDelivery, MultiRegionAssetDeliveryArgs
from asset_delivery.config import ARGUMENT_NAMES, KNOWN_KEYS, ConfigError, UnknownKeyError
from asset_delivery.lookups import CALLER_IDENTITY, IP_RANGES, ZONE, DataSourceError
from asset_delivery.testing import RecordingMocks, read_stack_file, run_program, run_with_mocks

ROOT = Path(__file__).resolve().parent.parent
PROD = read_stack_file(ROOT / "Pulumi.prod.yaml")
COMPONENT = "asset-delivery:index:MultiRegionAssetDelivery"
TWO = [{"region": "us-east-1", "weight": 50}, {"region": "eu-west-1", "weight": 50}]


def test_every_known_key_is_a_component_argument_and_back() -> None:
    """One registry: a key added to DeliveryConfig without its argument (or the reverse)
    fails here, naming what is missing."""
    hints = MultiRegionAssetDeliveryArgs.__annotations__
    assert set(ARGUMENT_NAMES) - set(hints) == set(), "add these to MultiRegionAssetDeliveryArgs"
    assert set(hints) - set(ARGUMENT_NAMES) == set(), "add these to DeliveryConfig (config.py)"


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("routingTTL", "routingTtl"), ("forcedestroy", "forceDestroy")],
)
def test_program_stops_on_an_unknown_stack_key_before_declaring_anything(
    key: str, suggestion: str
) -> None:
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as caught:
        run_program(ROOT, {**PROD, f"asset-delivery:{key}": 55}, stack="prod", mocks=mocks)
    assert str(caught.value) == (
        f"asset-delivery:{key} is not a known key; did you mean {suggestion}?"
    )
    assert mocks.registrations == []


def test_program_ignores_other_namespaces() -> None:
    """``aws:region`` and friends belong to providers, not to this program."""
    mocks = run_program(ROOT, {**PROD, "aws:region": "eu-west-1", "other:thing": 1}, stack="prod")
    assert mocks.of_type(COMPONENT)


def test_program_passes_every_known_key_it_reads_to_the_component() -> None:
    config = {
        "asset-delivery:regions": TWO,
        "asset-delivery:routingTtl": "7",
        "asset-delivery:priceClass": "PriceClass_100",
    }
    mocks = run_program(ROOT, config, stack="dev")
    (record,) = {r.inputs["ttl"] for r in mocks.of_type("aws:route53/record:Record")}
    assert record == 7
    (distribution,) = mocks.of_type("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["priceClass"] == "PriceClass_100"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (
            "routing_tll",
            "MultiRegionAssetDeliveryArgs.routing_tll is not a known argument; "
            "did you mean routing_ttl?",
        ),
        (
            "routingTtl",  # stack-config spelling in a component argument
            "MultiRegionAssetDeliveryArgs.routingTtl is not a known argument; "
            "did you mean routing_ttl?",
        ),
    ],
)
def test_component_rejects_an_unknown_argument_before_declaring_anything(
    argument: str, message: str
) -> None:
    mocks = RecordingMocks()
    with pytest.raises(UnknownKeyError) as caught:
        run_with_mocks(
            lambda: MultiRegionAssetDelivery("media", {"regions": TWO, argument: 5}) and None,  # type: ignore[typeddict-unknown-key]
            {},
            mocks=mocks,
        )
    assert str(caught.value) == message
    assert mocks.registrations == []


def test_argument_errors_use_snake_case_names() -> None:
    with pytest.raises(ConfigError, match=r"^MultiRegionAssetDeliveryArgs\.primary_region = "):
        run_with_mocks(
            lambda: (
                MultiRegionAssetDelivery("media", {"regions": TWO, "primary_region": "us-west-2"})
                and None
            ),
            {},
        )


def test_known_keys_are_the_camel_case_of_the_arguments() -> None:
    assert len(KNOWN_KEYS) == len(ARGUMENT_NAMES)
    assert "routingTtl" in KNOWN_KEYS and "routing_ttl" in ARGUMENT_NAMES


# -- data sources under plain set_mocks --------------------------------------------------


class SilentMocks(RecordingMocks):
    """Realistic resources, but ``call`` answers ``{}`` (every data source, or ``silent``)."""

    def __init__(self, silent: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.silent = silent

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict | tuple[dict, list]:
        if self.silent is None or args.token in self.silent:
            return {}
        return super().call(args)


def run_plain(mocks: SilentMocks, args: MultiRegionAssetDeliveryArgs) -> None:
    pulumi.runtime.set_mocks(mocks, project="consumer", stack="dev", preview=False)

    @pulumi.runtime.test
    def declare() -> pulumi.Output[Any]:
        MultiRegionAssetDelivery("media", args)
        return pulumi.Output.from_input(None)

    declare()


@pytest.mark.parametrize(
    ("args", "token", "field"),
    [
        ({"regions": TWO}, IP_RANGES, "cidrBlocks"),
        ({"regions": TWO, "health_checks": False}, CALLER_IDENTITY, "accountId"),
    ],
)
def test_unanswered_data_source_is_named_before_any_child_is_declared(
    args: MultiRegionAssetDeliveryArgs, token: str, field: str
) -> None:
    mocks = SilentMocks()
    with pytest.raises(DataSourceError) as caught:
        run_plain(mocks, args)
    message = str(caught.value)
    assert message.startswith(f"data source {token} answered without '{field}'")
    assert "Mocks.call" in message
    assert [r.type for r in mocks.registrations] == [COMPONENT]  # no child declared


def test_unanswered_zone_lookup_is_named_before_any_child_is_declared() -> None:
    mocks = SilentMocks(silent=(ZONE,))
    with pytest.raises(DataSourceError) as caught:
        run_plain(mocks, {"regions": TWO, "routing_zone_id": "Z0123456789ABCDEFGHIJ"})
    assert str(caught.value).startswith(f"data source {ZONE} answered without 'name'")
    assert [r.type for r in mocks.registrations] == [COMPONENT]


def test_answered_data_sources_declare_the_stack() -> None:
    mocks = SilentMocks(silent=())
    run_plain(mocks, {"regions": TWO})
    assert mocks.of_type("aws:cloudfront/distribution:Distribution")
