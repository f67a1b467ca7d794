"""lab/stack.py: the lab's model comes from what the program declares, nothing else."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from asset_delivery.lab.model import LabStack
from asset_delivery.lab.stack import StackError, load_stack, stack_from_registrations
from asset_delivery.testing import read_stack_file, run_program

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def prod() -> LabStack:
    return load_stack("prod", ROOT)


def test_prod_regions_weights_and_health_checks(prod: LabStack) -> None:
    assert prod.stack == "prod"
    assert prod.primary_region == "us-east-1"
    assert prod.replication_mode == "from-primary"
    assert list(prod.regions) == ["us-east-1", "eu-west-1"]
    for region, spec in prod.regions.items():
        assert spec.weight == 50
        assert spec.record_value == f"v=1 region={region} weight=50"
        assert spec.domain == f"{spec.bucket}.s3.{region}.amazonaws.com"
        check = spec.health_check
        assert check is not None
        assert check.fqdn == spec.domain
        assert spec.probe is not None
        assert spec.probe.key == f"_health/{region}"  # each region's own probe
        assert check.resource_path == "/" + spec.probe.key
        assert check.search_string and check.search_string in spec.probe.body
        assert (check.request_interval_s, check.failure_threshold) == (10, 3)


def test_prod_routing_and_replication(prod: LabStack) -> None:
    assert prod.routing.record_name.startswith("_routes.")
    assert prod.routing.record_name.endswith(prod.routing.zone_name)
    assert prod.routing.ttl_s == 10
    assert len(prod.routing.nameservers) == 4
    (rule,) = prod.replication
    assert (rule.source_region, rule.destination_region) == ("us-east-1", "eu-west-1")
    assert rule.source_bucket == prod.regions["us-east-1"].bucket
    assert rule.destination_bucket == prod.regions["eu-west-1"].bucket
    assert rule.delete_markers is True and rule.prefix == ""


def test_prod_distribution_and_function(prod: LabStack) -> None:
    dist = prod.distribution
    group = dist.origin_group
    assert group is not None and dist.target_origin_id == group.group_id
    assert group.status_codes == (403, 404, 500, 502, 503, 504)
    routed = dist.origins[group.primary_origin_id]
    failover = dist.origins[group.failover_origin_id]
    assert routed.domain == prod.regions["us-east-1"].domain
    assert failover.domain == prod.regions["eu-west-1"].domain
    assert failover.custom_headers == {"x-asset-failover": "1"}
    assert (routed.connection_timeout_s, routed.connection_attempts) == (3, 1)
    assert set(dist.function_associations) == {"origin-request", "origin-response"}
    assert dist.error_caching_ttl_s[403] == 5
    function = prod.function
    assert function is not None
    assert set(dist.function_associations.values()) == {function.qualified_arn}
    assert function.handler == "edge_handler.handler.handler"
    assert function.runtime == "python3.13"
    archive = zipfile.ZipFile(io.BytesIO(function.archive_zip))
    config = json.loads(archive.read("edge_config.json"))
    assert config["routing"]["record"] == prod.routing.record_name
    assert {r: c["domain"] for r, c in config["regions"].items()} == {
        r: s.domain for r, s in prod.regions.items()
    }


def test_weights_and_mode_follow_the_stack_file() -> None:
    config = read_stack_file(ROOT / "Pulumi.prod.yaml")
    config["asset-delivery:regions"] = [
        {"region": "eu-west-1", "weight": 90},
        {"region": "us-east-1", "weight": 10},
        {"region": "ap-northeast-1", "weight": 0},
    ]
    config["asset-delivery:primaryRegion"] = "eu-west-1"
    config["asset-delivery:replication"] = "bidirectional"
    config["asset-delivery:healthChecks"] = False
    stack = stack_from_registrations(run_program(ROOT, config, stack="drill"), "drill")
    assert list(stack.regions) == ["eu-west-1", "us-east-1", "ap-northeast-1"]
    assert [s.weight for s in stack.regions.values()] == [90, 10, 0]
    assert all(s.health_check is None for s in stack.regions.values())
    assert stack.primary_region == "eu-west-1"
    assert stack.replication_mode == "bidirectional"
    assert len(stack.replication) == 6
    routed = stack.distribution.origins["routed"]
    assert routed.domain == stack.regions["eu-west-1"].domain


def test_unknown_stack_names_the_stacks_that_exist() -> None:
    with pytest.raises(StackError, match=r"no stack file Pulumi.staging.yaml .* stacks here: prod"):
        load_stack("staging", ROOT)
