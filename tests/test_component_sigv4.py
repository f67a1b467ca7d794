"""The component with ``originAuth: sigv4`` (the edge function signs), the migration
step ``oai-to-sigv4``, and ``encryption: kms``, under recording mocks: who may read
the buckets, with which keys, and the rules that refuse what cannot work."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pulumi
import pytest
from asset_delivery import MultiRegionAssetDelivery
from asset_delivery.edge_package import zip_archive
from asset_delivery.lab.stack import archive_bytes
from asset_delivery.testing import (
    ACCOUNT_ID,
    RecordingMocks,
    Registration,
    read_stack_file,
    run_program,
    run_with_mocks,
)
from component_checks import rejection_message

ROOT = Path(__file__).resolve().parent.parent
PROD = read_stack_file(ROOT / "Pulumi.prod.yaml")
NEW_REGION_STACK = [
    {"region": "us-east-1", "weight": 40},
    {"region": "eu-west-1", "weight": 30},
    {"region": "ap-southeast-5", "weight": 30},  # launched 2024: no OAI there
]
T = {
    "bucket": "aws:s3/bucket:Bucket",
    "sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "policy": "aws:s3/bucketPolicy:BucketPolicy",
    "object": "aws:s3/bucketObjectv2:BucketObjectv2",
    "replication": "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "role": "aws:iam/role:Role",
    "role_policy": "aws:iam/rolePolicy:RolePolicy",
    "function": "aws:lambda/function:Function",
    "oai": "aws:cloudfront/originAccessIdentity:OriginAccessIdentity",
    "distribution": "aws:cloudfront/distribution:Distribution",
    "key": "aws:kms/key:Key",
}
GIVEN_KEY = "arn:aws:kms:eu-west-1:210987654321:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def component_run(args: dict) -> RecordingMocks:
    return run_with_mocks(lambda: MultiRegionAssetDelivery("media", args) and None, {})


@pytest.fixture(scope="module")
def sigv4_kms() -> RecordingMocks:
    """Three regions, one launched after 2022, SigV4 and SSE-KMS with created keys."""
    return component_run({"regions": NEW_REGION_STACK, "origin_auth": "sigv4", "encryption": "kms"})


@pytest.fixture(scope="module")
def sigv4_kms_bidirectional() -> RecordingMocks:
    return component_run(
        {
            "regions": NEW_REGION_STACK,
            "origin_auth": "sigv4",
            "encryption": "kms",
            "replication": "bidirectional",
            "kms_key_arns": {"eu-west-1": GIVEN_KEY},
        }
    )


@pytest.fixture(scope="module")
def sigv4_s3() -> RecordingMocks:
    return run_program(ROOT, {**PROD, "asset-delivery:originAuth": "sigv4"}, stack="prod")


@pytest.fixture(scope="module")
def migrating() -> RecordingMocks:
    return run_program(ROOT, {**PROD, "asset-delivery:originAuth": "oai-to-sigv4"}, stack="prod")


SIGNING = ["sigv4_kms", "sigv4_kms_bidirectional", "sigv4_s3", "migrating"]


@pytest.fixture(params=SIGNING)
def signing(request: pytest.FixtureRequest) -> RecordingMocks:
    return request.getfixturevalue(request.param)


def by_region(mocks: RecordingMocks, kind: str) -> dict[str, Registration]:
    return {r.inputs["region"]: r for r in mocks.of_type(T[kind])}


def edge_role(mocks: RecordingMocks) -> Registration:
    (function,) = mocks.of_type(T["function"])
    return next(r for r in mocks.of_type(T["role"]) if r.state["arn"] == function.inputs["role"])


def role_policies(mocks: RecordingMocks, role: Registration) -> dict[str, dict]:
    return {
        p.name: json.loads(p.inputs["policy"])
        for p in mocks.of_type(T["role_policy"])
        if p.inputs["role"] == role.id
    }


def edge_config(mocks: RecordingMocks) -> dict:
    (function,) = mocks.of_type(T["function"])
    return json.loads(archive_bytes(function.inputs["code"])["edge_config.json"])


def key_arns(mocks: RecordingMocks) -> dict[str, str]:
    """The key per region: created ones, and GIVEN_KEY where none was created."""
    created = {region: key.state["arn"] for region, key in by_region(mocks, "key").items()}
    if not created:
        return {}
    return {region: created.get(region, GIVEN_KEY) for region in by_region(mocks, "bucket")}


def statement(policy: dict, sid: str) -> dict:
    return next(s for s in policy["Statement"] if s["Sid"] == sid)


def via(region: str) -> dict:
    return {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}


# -- sigv4: no OAI, the function signs, its role reads ------------------------------------


@pytest.mark.parametrize("fixture", SIGNING)
def test_the_function_signs_and_the_origins_carry_an_oai_only_while_migrating(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    mocks = request.getfixturevalue(fixture)
    (dist,) = mocks.of_type(T["distribution"])
    oais = mocks.of_type(T["oai"])
    assert len(oais) == (1 if fixture == "migrating" else 0)
    expected = oais[0].state["cloudfrontAccessIdentityPath"] if oais else ""
    for origin in dist.inputs["origins"]:
        assert origin["s3OriginConfig"]["originAccessIdentity"] == expected
    assert edge_config(mocks)["auth"] == "sigv4"


def test_bucket_policies_admit_the_edge_role_only_and_both_while_migrating(
    signing: RecordingMocks,
) -> None:
    role_arn = edge_role(signing).state["arn"]
    oais = signing.of_type(T["oai"])
    readers = sorted([role_arn] + [o.state["iamArn"] for o in oais])
    for region, policy_reg in by_region(signing, "policy").items():
        policy = json.loads(policy_reg.inputs["policy"])
        read = statement(policy, "OriginReadObjects")
        principal = read["Principal"]["AWS"]
        assert sorted([principal] if isinstance(principal, str) else principal) == readers
        assert read["Action"] == "s3:GetObject"
        assert {s["Sid"] for s in policy["Statement"]} == {
            "OriginReadObjects",
            "Route53HealthCheckersReadProbeOnly",
            "DenyInsecureTransport",
        }
        assert statement(policy, "Route53HealthCheckersReadProbeOnly")["Resource"].endswith(
            f"/_health/{region}"
        )


def test_edge_role_reads_the_data_buckets_and_decrypts_only_through_s3(
    signing: RecordingMocks,
) -> None:
    role = edge_role(signing)
    policies = role_policies(signing, role)
    (read,) = [policy for name, policy in policies.items() if name.endswith("-origin-read")]
    buckets = by_region(signing, "bucket")
    objects = statement(read, "ReadDataObjects")
    assert objects["Action"] == "s3:GetObject"
    assert objects["Resource"] == sorted(f"{b.state['arn']}/*" for b in buckets.values())
    decrypts = [s for s in read["Statement"] if s["Sid"] != "ReadDataObjects"]
    keys = key_arns(signing)
    assert {s["Resource"][0]: s["Condition"] for s in decrypts} == {
        arn: via(region) for region, arn in keys.items()
    }
    assert all(s["Action"] == ["kms:Decrypt"] for s in decrypts)


def test_the_distribution_waits_for_the_role_to_be_allowed_to_read(
    signing: RecordingMocks,
) -> None:
    (dist,) = signing.of_type(T["distribution"])
    read = next(p for p in signing.of_type(T["role_policy"]) if p.name.endswith("origin-read"))
    assert read.urn in dist.dependencies


# -- KMS ----------------------------------------------------------------------------------


def test_one_rotating_key_per_region_unless_given(sigv4_kms_bidirectional: RecordingMocks) -> None:
    keys = by_region(sigv4_kms_bidirectional, "key")
    assert sorted(keys) == ["ap-southeast-5", "us-east-1"]  # eu-west-1's key was given
    for region, key in keys.items():
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["region"] == region
        assert key.state["arn"].startswith(f"arn:aws:kms:{region}:")


@pytest.mark.parametrize("fixture", ["sigv4_kms", "sigv4_kms_bidirectional"])
def test_buckets_default_to_sse_kms_with_bucket_keys_and_probes_stay_sse_s3(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    mocks = request.getfixturevalue(fixture)
    keys = key_arns(mocks)
    for region, sse in by_region(mocks, "sse").items():
        (rule,) = sse.inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": keys[region]}
        assert rule["bucketKeyEnabled"] is True
    for probe in mocks.of_type(T["object"]):
        # Route 53's checkers read anonymously: S3 refuses that for SSE-KMS objects.
        assert probe.inputs["serverSideEncryption"] == "AES256"


@pytest.mark.parametrize("fixture", ["sigv4_kms", "sigv4_kms_bidirectional"])
def test_replication_selects_kms_objects_and_names_each_replica_key(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    mocks = request.getfixturevalue(fixture)
    keys = key_arns(mocks)
    bucket_region = {b.state["arn"]: region for region, b in by_region(mocks, "bucket").items()}
    rules = 0
    for config in mocks.of_type(T["replication"]):
        for rule in config.inputs["rules"]:
            destination = bucket_region[rule["destination"]["bucket"]]
            criteria = rule["sourceSelectionCriteria"]
            assert criteria["sseKmsEncryptedObjects"] == {"status": "Enabled"}
            assert rule["destination"]["encryptionConfiguration"] == {
                "replicaKmsKeyId": keys[destination]
            }
            rules += 1
    assert rules == (6 if fixture == "sigv4_kms_bidirectional" else 2)


@pytest.mark.parametrize("fixture", ["sigv4_kms", "sigv4_kms_bidirectional"])
def test_replication_role_decrypts_at_sources_and_encrypts_at_destinations_through_s3(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    mocks = request.getfixturevalue(fixture)
    keys = key_arns(mocks)
    (config,) = mocks.of_type(T["replication"])[:1]
    role = next(r for r in mocks.of_type(T["role"]) if r.state["arn"] == config.inputs["role"])
    (policy,) = role_policies(mocks, role).values()
    grants = {
        (tuple(s["Action"]), s["Resource"][0]): s["Condition"]
        for s in policy["Statement"]
        if s["Action"][0].startswith("kms:")
    }
    sources = ["us-east-1"] if fixture == "sigv4_kms" else list(keys)
    destinations = [r for r in keys if r != "us-east-1"] if fixture == "sigv4_kms" else list(keys)
    expected = {(("kms:Decrypt",), keys[r]): via(r) for r in sources}
    expected |= {(("kms:Encrypt",), keys[r]): via(r) for r in destinations}
    assert grants == expected


def test_key_policies_admit_the_account_and_exactly_these_uses(sigv4_kms: RecordingMocks) -> None:
    edge_arn = edge_role(sigv4_kms).state["arn"]
    (config,) = sigv4_kms.of_type(T["replication"])
    replication_arn = config.inputs["role"]
    for region, key in by_region(sigv4_kms, "key").items():
        policy = json.loads(key.inputs["policy"])
        principals = {s["Sid"]: s["Principal"]["AWS"] for s in policy["Statement"]}
        assert principals == {
            "AccountAdministersAndDelegatesToIam": f"arn:aws:iam::{ACCOUNT_ID}:root",
            "EdgeFunctionDecryptsThroughS3": edge_arn,
            "ReplicationThroughS3": replication_arn,
        }
        edge = statement(policy, "EdgeFunctionDecryptsThroughS3")
        assert (edge["Action"], edge["Condition"]) == ("kms:Decrypt", via(region))
        replication = statement(policy, "ReplicationThroughS3")
        source = region == "us-east-1"  # from-primary: the primary is the only source
        assert replication["Action"] == (["kms:Decrypt"] if source else ["kms:Encrypt"])
        assert replication["Condition"] == via(region)


def test_the_archive_of_a_sigv4_stack_imports_and_signs(sigv4_kms: RecordingMocks) -> None:
    (function,) = sigv4_kms.of_type(T["function"])
    contents = archive_bytes(function.inputs["code"])
    assert "edge_handler/sigv4.py" in contents
    with zipfile.ZipFile(io.BytesIO(zip_archive(contents))) as bundle:
        assert json.loads(bundle.read("edge_config.json"))["auth"] == "sigv4"


# -- the rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (
            {"regions": NEW_REGION_STACK},
            "regions[2].region = 'ap-southeast-5'",
            "unless originAuth is 'sigv4'",
        ),
        (
            {"regions": NEW_REGION_STACK, "origin_auth": "oai-to-sigv4"},
            "regions[2].region = 'ap-southeast-5'",
            "originAuth is 'oai-to-sigv4'",
        ),
        (
            {"regions": NEW_REGION_STACK[:2], "encryption": "kms"},
            "encryption = 'kms'",
            "'kms' needs originAuth 'sigv4'",
        ),
        (
            {"regions": NEW_REGION_STACK[:2], "origin_auth": "signed"},
            "origin_auth = 'signed'",
            "'oai', 'oai-to-sigv4', 'sigv4'",
        ),
        (
            {"regions": NEW_REGION_STACK[:2], "origin_auth": "sigv4", "kms_key_arns": {}},
            "kms_key_arns = {}",
            "unset unless encryption is 'kms'",
        ),
        (
            {
                "regions": NEW_REGION_STACK[:2],
                "origin_auth": "sigv4",
                "encryption": "kms",
                "kms_key_arns": {"us-east-1": GIVEN_KEY},
            },
            f"kms_key_arns['us-east-1'] = '{GIVEN_KEY}'",
            "a KMS key ARN in us-east-1",
        ),
        (
            {
                "regions": NEW_REGION_STACK[:2],
                "origin_auth": "sigv4",
                "encryption": "kms",
                "kms_key_arns": {"sa-east-1": GIVEN_KEY},
            },
            "kms_key_arns['sa-east-1']",
            "one of the configured regions",
        ),
    ],
)
def test_rules_name_the_field_the_value_and_the_setting_that_allows_it(
    args: dict, field: str, words: str
) -> None:
    message = rejection_message(args)
    assert message.startswith(f"MultiRegionAssetDeliveryArgs.{field}"), message
    assert words in message


def test_the_program_reads_the_new_keys_from_stack_config() -> None:
    config = {
        **PROD,
        "asset-delivery:regions": NEW_REGION_STACK,
        "asset-delivery:originAuth": "sigv4",
        "asset-delivery:encryption": "kms",
        "asset-delivery:kmsKeyArns": {"eu-west-1": GIVEN_KEY},
    }
    mocks = run_program(ROOT, config, stack="prod")
    assert sorted(by_region(mocks, "key")) == ["ap-southeast-5", "us-east-1"]
    assert key_arns(mocks)["eu-west-1"] == GIVEN_KEY
    with pytest.raises(pulumi.RunError, match=r"asset-delivery:encryption = 'kms'"):
        run_program(ROOT, {**PROD, "asset-delivery:encryption": "kms"}, stack="prod")
