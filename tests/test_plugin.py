"""The any-language component: the committed schema, the plugin that serves it, and a
construction the way the plugin does it for a TypeScript or YAML program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pytest
import yaml
from asset_delivery import MultiRegionAssetDelivery, __version__
from asset_delivery.config import camel_key
from asset_delivery.schema import PACKAGE_NAME, REGENERATE, package_schema, render
from asset_delivery.testing import RecordingMocks, run_with_mocks
from google.protobuf import empty_pb2
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "schema.json"
TOKEN = "asset-delivery:index:MultiRegionAssetDelivery"


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    return json.loads(COMMITTED.read_text())


def test_committed_schema_matches_the_code() -> None:
    """Regenerated with the SDK's analyzer (no CLI); an argument or output added without
    regenerating fails here, saying how to fix it."""
    assert COMMITTED.read_text() == render(package_schema()), (
        f"schema.json is stale; run: {REGENERATE}"
    )


def test_committed_schema_is_what_the_plugin_serves(committed: dict[str, Any]) -> None:
    provider = ComponentProvider([MultiRegionAssetDelivery], PACKAGE_NAME, None, __version__)
    assert json.loads(provider.schema or "{}") == committed


def test_schema_names_the_component_its_inputs_and_described_outputs(
    committed: dict[str, Any],
) -> None:
    assert committed["name"] == PACKAGE_NAME
    assert committed["version"] == __version__
    assert list(committed["resources"]) == [TOKEN]
    component = committed["resources"][TOKEN]
    assert component["isComponent"] is True
    assert component["description"]
    assert component["requiredInputs"] == ["regions"]
    inputs = component["inputProperties"]
    assert inputs["regions"]["items"]["$ref"] == "#/types/asset-delivery:index:RegionWeightArgs"
    region_type = committed["types"]["asset-delivery:index:RegionWeightArgs"]
    assert region_type["required"] == ["region", "weight"]
    assert region_type["properties"]["weight"]["type"] == "integer"
    outputs = {
        "distributionId": "string",
        "domainName": "string",
        "url": "string",
        "bucketNames": "object",
        "bucketArns": "object",
        "routingRecordName": "string",
        "routingZoneId": "string",
        "routingNameServers": "array",
        "functionQualifiedArn": "string",
        "primaryRegion": "string",
    }
    for name, kind in outputs.items():
        assert component["properties"][name]["type"] == kind, name
        assert len(component["properties"][name]["description"]) > 10, name
    assert set(outputs) <= set(component["required"])
    # Every output the class declares is in the schema, typed and described; the
    # Python-only handles on the children are not outputs.
    declared = {
        camel_key(name)
        for name, kind in MultiRegionAssetDelivery.__annotations__.items()
        if str(kind).startswith("pulumi.output.Output")
    }
    assert set(component["properties"]) == declared
    for name, spec in component["properties"].items():
        assert spec.get("type") or spec.get("$ref"), name
        assert len(spec.get("description", "")) > 10, name
    assert not {"config", "buckets", "replication", "routing", "edge", "cdn"} & declared


def test_every_input_is_described(committed: dict[str, Any]) -> None:
    inputs = committed["resources"][TOKEN]["inputProperties"]
    assert all(spec.get("description") for spec in inputs.values())


# Arguments another resource may produce. The last ones exist once their options do.
FROM_OTHER_RESOURCES = ("routingZoneId", "certificateArn", "webAclArn", "tags", "kmsKeyArns")
FROM_OTHER_RESOURCES_LATER = ("domainZoneId", "alarmTopicArn")


def test_arguments_other_resources_produce_take_outputs(committed: dict[str, Any]) -> None:
    inputs = committed["resources"][TOKEN]["inputProperties"]
    for name in FROM_OTHER_RESOURCES:
        assert "plain" not in inputs[name], f"{name} must be pulumi.Input[...]"
    for name in FROM_OTHER_RESOURCES_LATER:
        if name in inputs:
            assert "plain" not in inputs[name], f"{name} must be pulumi.Input[...]"


@pytest.mark.parametrize(
    "name", ["regions", "primaryRegion", "replication", "healthChecks", "routingTtl"]
)
def test_arguments_that_shape_the_graph_are_plain(committed: dict[str, Any], name: str) -> None:
    assert committed["resources"][TOKEN]["inputProperties"][name]["plain"] is True


def test_plugin_manifest_runs_the_plugin_entry_point_not_the_stack_program() -> None:
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert (ROOT / manifest["main"]).resolve() == (ROOT / "plugin" / "__main__.py").resolve()


def test_plugin_entry_point_serves_the_committed_schema_over_grpc(
    committed: dict[str, Any],
) -> None:
    """Start the plugin as the language host does (python <entry point> <engine>), read
    its port, and ask it for its schema: the committed file, byte for byte in JSON."""
    plugin = subprocess.Popen(
        [sys.executable, str(ROOT / "plugin" / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline())  # the server prints its port once it listens
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
            served = stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=60)
    finally:
        plugin.kill()
        plugin.communicate(timeout=60)
    assert info.version == __version__
    assert json.loads(served.schema) == committed


# -- construction through the plugin's input mapping -------------------------------------


def construct_like_the_plugin(inputs: dict[str, Any]) -> RecordingMocks:
    """What the plugin does with a TypeScript/YAML program's inputs: map the wire names
    and values (camelCase, every number a float) to the Python args, then construct."""
    provider = ComponentProvider([MultiRegionAssetDelivery], PACKAGE_NAME, None, __version__)

    def construct() -> None:
        provider.construct("media", TOKEN, inputs, pulumi.ResourceOptions())

    return run_with_mocks(construct, {})


def test_a_program_in_another_language_declares_the_stack() -> None:
    mocks = construct_like_the_plugin(
        {
            "regions": [
                {"region": "us-east-1", "weight": 60.0},
                {"region": "eu-west-1", "weight": 40.0},
            ],
            "routingTtl": 5.0,
            "healthCheckInterval": 30.0,
            "tags": {"team": "media"},
        }
    )
    records = mocks.of_type("aws:route53/record:Record")
    assert sorted(r.inputs["records"][0] for r in records) == [
        "v=1 region=eu-west-1 weight=40",
        "v=1 region=us-east-1 weight=60",
    ]
    assert {r.inputs["ttl"] for r in records} == {5}
    assert {
        h.inputs["requestInterval"] for h in mocks.of_type("aws:route53/healthCheck:HealthCheck")
    } == {30}


def test_outputs_of_other_resources_are_accepted_for_input_arguments() -> None:
    """A certificate ARN or zone id that another resource computes arrives as an output:
    the component passes it through instead of rejecting it."""
    certificate = pulumi.Output.from_input(
        "arn:aws:acm:us-east-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
    )
    mocks = construct_like_the_plugin(
        {
            "regions": [
                {"region": "us-east-1", "weight": 1.0},
                {"region": "eu-west-1", "weight": 1.0},
            ],
            "domainNames": ["assets.example.com"],
            "certificateArn": certificate,
            "routingZoneId": pulumi.Output.from_input("Z0123456789ABCDEFGHIJ"),
        }
    )
    (distribution,) = mocks.of_type("aws:cloudfront/distribution:Distribution")
    assert distribution.inputs["viewerCertificate"]["acmCertificateArn"].endswith(
        "01234567-89ab-cdef-0123-456789abcdef"
    )
    assert {r.inputs["zoneId"] for r in mocks.of_type("aws:route53/record:Record")} == {
        "Z0123456789ABCDEFGHIJ"
    }
    assert not mocks.of_type("aws:route53/zone:Zone")
