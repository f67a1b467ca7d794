"""The lab's control-plane endpoint answers stock boto3 Route 53 and CloudFront clients
the way AWS does (parsed by botocore from the AWS wire format), from the lab's state."""

from __future__ import annotations

import boto3
import pytest
from asset_delivery.lab.commands import obtain_stack
from asset_delivery.lab.control import ControlPlane
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def stack():
    return obtain_stack("prod")


@pytest.fixture
def plane(stack):
    healthy = dict.fromkeys(stack.regions, True)
    invalidated: list[tuple[str, ...]] = []
    control = ControlPlane(stack, healthy.__getitem__, lambda paths: invalidated.append(paths))
    control.start()
    control.healthy = healthy
    control.invalidated = invalidated
    yield control
    control.stop()


def client(plane: ControlPlane, service: str):
    session = boto3.session.Session(aws_access_key_id="lab", aws_secret_access_key="lab")
    return session.client(
        service,
        region_name="us-east-1",
        endpoint_url=plane.url,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def test_health_check_status_follows_the_lab_verdict(stack, plane) -> None:
    route53 = client(plane, "route53")
    region, spec = next(iter(stack.regions.items()))
    check_id = spec.health_check.check_id
    observations = route53.get_health_check_status(HealthCheckId=check_id)[
        "HealthCheckObservations"
    ]
    assert [o["StatusReport"]["Status"].split(":")[0] for o in observations] == ["Success"]
    assert observations[0]["Region"] == region
    plane.healthy[region] = False
    observations = route53.get_health_check_status(HealthCheckId=check_id)[
        "HealthCheckObservations"
    ]
    assert observations[0]["StatusReport"]["Status"].startswith("Failure")


def test_unknown_ids_answer_aws_errors(plane) -> None:
    with pytest.raises(ClientError) as error:
        client(plane, "route53").get_health_check_status(HealthCheckId="nope")
    assert error.value.response["Error"]["Code"] == "NoSuchHealthCheck"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as error:
        client(plane, "cloudfront").get_distribution(Id="EUNKNOWN")
    assert error.value.response["Error"]["Code"] == "NoSuchDistribution"


def test_distribution_state_names_the_associated_function_version(stack, plane) -> None:
    answer = client(plane, "cloudfront").get_distribution(Id=stack.distribution.distribution_id)
    distribution = answer["Distribution"]
    assert distribution["Status"] == "Deployed"
    assert distribution["DistributionConfig"]["Enabled"] is True
    associations = distribution["DistributionConfig"]["DefaultCacheBehavior"][
        "LambdaFunctionAssociations"
    ]["Items"]
    assert {a["EventType"]: a["LambdaFunctionARN"] for a in associations} == (
        stack.distribution.function_associations
    )
    assert answer["ETag"]


def test_invalidation_reaches_the_edge_and_completes(stack, plane) -> None:
    cloudfront = client(plane, "cloudfront")
    distribution_id = stack.distribution.distribution_id
    created = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/a.js", "/static/*"]},
            "CallerReference": "test-1",
        },
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    invalidation = created["Invalidation"]
    assert invalidation["Status"] == "InProgress"
    assert plane.invalidated == [("/a.js", "/static/*")]
    fetched = cloudfront.get_invalidation(DistributionId=distribution_id, Id=invalidation["Id"])
    assert fetched["Invalidation"]["Status"] == "Completed"
    assert fetched["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/a.js", "/static/*"]
    with pytest.raises(ClientError) as error:
        cloudfront.get_invalidation(DistributionId=distribution_id, Id="INOPE")
    assert error.value.response["Error"]["Code"] == "NoSuchInvalidation"
