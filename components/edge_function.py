"""The Lambda@Edge router: role, code archive with baked topology, published version.

Lambda@Edge has no environment variables, so the topology is rendered into
``edge_config.json`` inside the archive (weights stay in DNS). The archive is built
from files on the deploying machine, so ``pulumi up`` needs no network for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .edge_config import render_edge_config
from .edge_package import (
    EDGE_CONFIG_NAME,
    HANDLER,
    RUNTIME,
    BytecodeFor,
    edge_bytecode_files,
    edge_source_files,
)
from .iam import service_trust_policy
from .kms import key_grant_statement
from .kms import region_sid as _sid
from .locality import locality_section
from .tags import Tags

EDGE_REGION = "us-east-1"  # Lambda@Edge functions must live in us-east-1.
TIMEOUT_S = 5  # DNS lookups are bounded at 300 ms; origin-request allows up to 30 s.


def edge_asset_archive(
    config_json: str, bytecode_for: BytecodeFor = "runtime"
) -> pulumi.AssetArchive:
    """The code archive: function sources, their bytecode when this interpreter is the
    runtime's version (see ``edge_package``), and the rendered config."""
    files = {**edge_source_files(), **edge_bytecode_files(bytecode_for)}
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        arcname: pulumi.FileAsset(str(path)) for arcname, path in files.items()
    }
    assets[EDGE_CONFIG_NAME] = pulumi.StringAsset(config_json)
    return pulumi.AssetArchive(assets)


def edge_role_policy_document(account_id: str, function_name: str) -> str:
    """Logs only: Lambda@Edge writes to ``/aws/lambda/us-east-1.<fn>`` in every region."""
    log_group = f"arn:aws:logs:*:{account_id}:log-group:/aws/lambda/us-east-1.{function_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WriteOwnLogsInEveryEdgeRegion",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                    ],
                    "Resource": [log_group, f"{log_group}:*"],
                }
            ],
        },
        indent=2,
    )


def origin_read_policy_document(bucket_arns: Sequence[str], kms_key_arns: Mapping[str, str]) -> str:
    """What the function's role may read when it signs origin requests, and no more.

    ``s3:GetObject`` on the data buckets' objects (the credentials the function
    holds open nothing else) and, with SSE-KMS, ``kms:Decrypt`` on each region's key
    only through S3 in that region.
    """
    statements: list[dict[str, object]] = [
        {
            "Sid": "ReadDataObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": sorted(f"{arn}/*" for arn in bucket_arns),
        }
    ]
    statements += [
        key_grant_statement(f"DecryptThroughS3{_sid(region)}", ["kms:Decrypt"], [arn], region)
        for region, arn in sorted(kms_key_arns.items())
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


@dataclass
class EdgeFunction:
    """Typed handles on the function, its role and the role's policies."""

    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    function: aws.lambda_.Function
    config_json: pulumi.Output[str]
    origin_read_policy: aws.iam.RolePolicy | None = None
    """``sigv4`` modes: the data buckets (and keys) the function's role may read."""

    @property
    def qualified_arn(self) -> pulumi.Output[str]:
        return self.function.qualified_arn


def create_edge_role(
    name: str, *, signs: bool, tags: Tags, parent: pulumi.Resource
) -> aws.iam.Role:
    """The function's execution role; declared first, since bucket and key policies
    name it when the function signs origin requests."""
    purpose = "logs, reads the data buckets" if signs else "logs only"
    return aws.iam.Role(
        f"{name}-edge-role",
        description=f"Execution role of the {name} Lambda@Edge router ({purpose})",
        assume_role_policy=service_trust_policy("lambda.amazonaws.com", "edgelambda.amazonaws.com"),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def create_edge_function(
    name: str,
    *,
    role: aws.iam.Role,
    primary_region: str,
    region_domains: Mapping[str, pulumi.Output[str]],
    routing_record: pulumi.Output[str],
    name_servers: pulumi.Output[list[str]],
    replication: str,
    auth: str,
    memory_mb: int,
    routing_mode: str,
    locality_tau_ms: float,
    read_bucket_arns: Sequence[pulumi.Output[str]] = (),
    kms_key_arns: Mapping[str, pulumi.Output[str]] | None = None,
    tags: Tags,
    account_id: str,
    parent: pulumi.Resource,
) -> EdgeFunction:
    """Declare the published function version in us-east-1 and its role's policies.

    With ``auth="sigv4"`` the role may read ``read_bucket_arns`` (and decrypt with
    ``kms_key_arns`` through S3): the function signs origin requests with it.
    """
    opts = pulumi.ResourceOptions(parent=parent)
    regions = list(region_domains)
    config_json = pulumi.Output.all(
        routing_record, name_servers, *[region_domains[r] for r in regions]
    ).apply(
        lambda values: render_edge_config(
            primary_region=primary_region,
            region_domains=dict(zip(regions, values[2:], strict=True)),
            routing_record=values[0],
            nameservers=values[1],
            replication=replication,
            auth=auth,
            locality=locality_section(routing_mode, locality_tau_ms, regions),
        )
    )
    function = aws.lambda_.Function(
        f"{name}-edge-router",
        region=EDGE_REGION,
        description=f"Routes {name} cache misses to a healthy region by weight",
        runtime=RUNTIME,
        architectures=["x86_64"],
        handler=HANDLER,
        role=role.arn,
        code=config_json.apply(edge_asset_archive),
        publish=True,
        timeout=TIMEOUT_S,
        memory_size=memory_mb,
        # CloudFront keeps replicas for hours after disassociation; deleting the
        # function before then fails, so `pulumi destroy` leaves it (see README).
        skip_destroy=True,
        tags=tags,
        opts=opts,
    )
    role_policy = aws.iam.RolePolicy(
        f"{name}-edge-logs",
        role=role.id,
        policy=function.name.apply(lambda fn: edge_role_policy_document(account_id, fn)),
        opts=opts,
    )
    origin_read_policy = None
    if auth == "sigv4":
        keys = dict(kms_key_arns or {})
        key_regions = list(keys)
        origin_read_policy = aws.iam.RolePolicy(
            f"{name}-edge-origin-read",
            role=role.id,
            policy=pulumi.Output.all(list(read_bucket_arns), *[keys[r] for r in key_regions]).apply(
                lambda v: origin_read_policy_document(
                    v[0], dict(zip(key_regions, v[1:], strict=True))
                )
            ),
            opts=opts,
        )
    return EdgeFunction(
        role=role,
        role_policy=role_policy,
        function=function,
        config_json=config_json,
        origin_read_policy=origin_read_policy,
    )
