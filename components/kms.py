"""SSE-KMS keys for the data buckets (``encryption: kms``, which needs ``sigv4``).

One customer managed key per region, rotation on, unless the caller names its own
(``kmsKeyArns``). Every use of a key goes through S3 in the key's own region, so
each grant below carries ``kms:ViaService = s3.<region>.amazonaws.com``: the edge
function's role may decrypt what it serves, the replication role may decrypt with
the source key and encrypt with the destination keys, and nothing may use a key
directly. The key policy admits the account (so IAM policies, a publisher's
included, decide; and the key can never become unmanageable) and exactly these
uses; no other account and no service principal appears in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .tags import REGION_TAG, Tags, merged_tags

DELETION_WINDOW_DAYS = 30


def via_s3(region: str) -> dict[str, dict[str, str]]:
    """The condition that limits a KMS grant to requests S3 makes in ``region``."""
    return {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}


def region_sid(region: str) -> str:
    """``eu-west-1`` -> ``EuWest1``: policy statement ids are alphanumeric."""
    return "".join(part.title() for part in region.split("-"))


def key_grant_statement(sid: str, actions: list[str], key_arns: Iterable[str], region: str) -> dict:
    """One identity-policy statement: ``actions`` on keys of ``region``, through S3 only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": sorted(key_arns),
        "Condition": via_s3(region),
    }


def key_policy_document(
    account_id: str,
    region: str,
    *,
    edge_role_arn: str,
    replication_role_arn: str,
    replication_decrypts: bool,
    replication_encrypts: bool,
) -> str:
    """The key policy: the account administers, the two roles use it through S3."""
    statements: list[dict[str, object]] = [
        {
            "Sid": "AccountAdministersAndDelegatesToIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "EdgeFunctionDecryptsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": edge_role_arn},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": via_s3(region),
        },
    ]
    replication_actions = (["kms:Decrypt"] if replication_decrypts else []) + (
        ["kms:Encrypt"] if replication_encrypts else []
    )
    if replication_actions:
        statements.append(
            {
                "Sid": "ReplicationThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": replication_role_arn},
                "Action": replication_actions,
                "Resource": "*",
                "Condition": via_s3(region),
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


@dataclass
class EncryptionKeys:
    """Key ARN by region, and the keys the component created (typed handles)."""

    key_arns: dict[str, pulumi.Output[str]]
    created: dict[str, aws.kms.Key]


def create_encryption_keys(
    name: str,
    regions: Iterable[str],
    *,
    given: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
    account_id: pulumi.Input[str],
    edge_role_arn: pulumi.Input[str],
    replication_role_arn: pulumi.Input[str],
    replication_sources: Iterable[str],
    replication_destinations: Iterable[str],
    tags: Tags,
    parent: pulumi.Resource,
) -> EncryptionKeys:
    """A key per region: the caller's (``given``) or a new one with rotation on."""
    sources, destinations = set(replication_sources), set(replication_destinations)
    given_plain = dict(given) if isinstance(given, Mapping) else {}
    key_arns: dict[str, pulumi.Output[str]] = {}
    created: dict[str, aws.kms.Key] = {}
    for region in regions:
        if region in given_plain:
            key_arns[region] = pulumi.Output.from_input(given_plain[region])
            continue
        if given is not None and not isinstance(given, Mapping):
            # The whole map is an output: its entry for this region, resolved at deploy.
            key_arns[region] = pulumi.Output.from_input(given).apply(lambda keys, r=region: keys[r])
            continue
        policy = pulumi.Output.all(account_id, edge_role_arn, replication_role_arn).apply(
            lambda v, r=region: key_policy_document(
                v[0],
                r,
                edge_role_arn=v[1],
                replication_role_arn=v[2],
                replication_decrypts=r in sources,
                replication_encrypts=r in destinations,
            )
        )
        key = aws.kms.Key(
            f"{name}-{region}-key",
            region=region,
            description=f"{name}: SSE-KMS for the {region} data bucket",
            enable_key_rotation=True,
            deletion_window_in_days=DELETION_WINDOW_DAYS,
            policy=policy,
            tags=merged_tags(tags, {REGION_TAG: region}),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        created[region] = key
        key_arns[region] = key.arn
    return EncryptionKeys(key_arns=key_arns, created=created)
