"""S3 replication between the data buckets, per the configured mode.

``from-primary``: the primary bucket replicates to every other bucket (publishers
write to the primary). ``bidirectional``: every bucket replicates to every other,
with replica modification sync on. One IAM role serves every rule, with a policy
that names the exact buckets and actions S3 replication needs. With SSE-KMS, rules
also select KMS-encrypted objects and name each destination's key, and the role may
decrypt with the source keys and encrypt with the destination keys, through S3 only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .buckets import DataBucket
from .iam import service_trust_policy
from .kms import key_grant_statement
from .kms import region_sid as _sid
from .tags import Tags

RTC_MINUTES = 15


def rule_id(destination_region: str) -> str:
    """The replication rule's id (also a dimension of its replication metrics)."""
    return f"to-{destination_region}"


def replication_pairs(
    regions: Sequence[str], primary_region: str, mode: str
) -> list[tuple[str, list[str]]]:
    """(source region, destination regions) for each bucket that replicates."""
    if mode == "from-primary":
        return [(primary_region, [r for r in regions if r != primary_region])]
    return [(source, [r for r in regions if r != source]) for source in regions]


def replication_policy_document(
    source_arns: Sequence[str],
    destination_arns: Sequence[str],
    source_keys: Mapping[str, str] | None = None,
    destination_keys: Mapping[str, str] | None = None,
) -> str:
    """Least privilege for S3 replication: read sources' versions, write replicas;
    with SSE-KMS (keys by region), decrypt at the sources, encrypt at the destinations."""
    kms_statements = [
        key_grant_statement(f"DecryptSource{_sid(region)}", ["kms:Decrypt"], [arn], region)
        for region, arn in sorted((source_keys or {}).items())
    ] + [
        key_grant_statement(f"EncryptReplica{_sid(region)}", ["kms:Encrypt"], [arn], region)
        for region, arn in sorted((destination_keys or {}).items())
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                *kms_statements,
                {
                    "Sid": "ReadReplicationConfiguration",
                    "Effect": "Allow",
                    "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    "Resource": sorted(source_arns),
                },
                {
                    "Sid": "ReadSourceVersions",
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    "Resource": sorted(f"{arn}/*" for arn in source_arns),
                },
                {
                    "Sid": "WriteReplicas",
                    "Effect": "Allow",
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": sorted(f"{arn}/*" for arn in destination_arns),
                },
            ],
        },
        indent=2,
    )


def create_replication_role(
    name: str, *, account_id: pulumi.Input[str], tags: Tags, parent: pulumi.Resource
) -> aws.iam.Role:
    """The role S3 assumes to replicate; declared first, since key policies name it."""
    return aws.iam.Role(
        f"{name}-replication-role",
        description=f"S3 replication between the {name} data buckets",
        assume_role_policy=pulumi.Output.from_input(account_id).apply(
            lambda account: service_trust_policy("s3.amazonaws.com", source_account=account)
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass
class Replication:
    """Typed handles on the replication role and each source bucket's configuration."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    configurations: dict[str, aws.s3.BucketReplicationConfig]


def create_replication(
    name: str,
    buckets: Mapping[str, DataBucket],
    *,
    primary_region: str,
    mode: str,
    replication_time_control: bool,
    role: aws.iam.Role,
    kms_key_arns: Mapping[str, pulumi.Output[str]] | None = None,
    parent: pulumi.Resource,
) -> Replication:
    """Declare the role's policy and one replication configuration per source."""
    pairs = replication_pairs(list(buckets), primary_region, mode)
    sources = [src for src, _ in pairs]
    destinations = sorted({dst for _, dsts in pairs for dst in dsts})
    opts = pulumi.ResourceOptions(parent=parent)
    keys = dict(kms_key_arns or {})

    policy = aws.iam.RolePolicy(
        f"{name}-replication-policy",
        role=role.id,
        policy=pulumi.Output.all(
            [buckets[r].bucket.arn for r in sources],
            [buckets[r].bucket.arn for r in destinations],
            {r: keys[r] for r in sources if r in keys},
            {r: keys[r] for r in destinations if r in keys},
        ).apply(lambda v: replication_policy_document(v[0], v[1], v[2], v[3])),
        opts=opts,
    )

    configurations: dict[str, aws.s3.BucketReplicationConfig] = {}
    for source, dests in pairs:
        rules = []
        for priority, dest in enumerate(dests):
            destination: dict[str, object] = {
                "bucket": buckets[dest].bucket.arn,
                "storage_class": "STANDARD",
            }
            if replication_time_control:
                destination["replication_time"] = {
                    "status": "Enabled",
                    "time": {"minutes": RTC_MINUTES},
                }
                destination["metrics"] = {
                    "status": "Enabled",
                    "event_threshold": {"minutes": RTC_MINUTES},
                }
            rule: dict[str, object] = {
                "id": rule_id(dest),
                "status": "Enabled",
                "priority": priority,
                "filter": {"prefix": ""},
                "delete_marker_replication": {"status": "Enabled"},
                "destination": destination,
            }
            criteria: dict[str, object] = {}
            if mode == "bidirectional":
                criteria["replica_modifications"] = {"status": "Enabled"}
            if keys:
                # S3 skips SSE-KMS objects unless the rule selects them and names the
                # key the replica is encrypted with in the destination region.
                criteria["sse_kms_encrypted_objects"] = {"status": "Enabled"}
                destination["encryption_configuration"] = {"replica_kms_key_id": keys[dest]}
            if criteria:
                rule["source_selection_criteria"] = criteria
            rules.append(rule)
        # Versioning must be on at the source and at every destination first, or the
        # first `pulumi up` fails (docs/ARCHITECTURE.md, D9).
        depends_on: list[pulumi.Resource] = [buckets[source].versioning, policy]
        depends_on += [buckets[dest].versioning for dest in dests]
        configurations[source] = aws.s3.BucketReplicationConfig(
            f"{name}-{source}-replication",
            region=source,
            bucket=buckets[source].bucket.id,
            role=role.arn,
            rules=rules,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
        )
    return Replication(role=role, policy=policy, configurations=configurations)
