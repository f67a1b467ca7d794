"""The lab's reading of the declared bucket policy: who may do what, decided as S3 does."""

from __future__ import annotations

import json

import pytest
from asset_delivery.lab.bucket_policy import (
    ANONYMOUS,
    OWNER,
    S3Request,
    decide,
    s3_action,
    unsupported,
)
from asset_delivery.lab.stack import declared_stack

STACK = declared_stack({"us-east-1": 50, "eu-west-1": 50})
SPEC = STACK.regions["us-east-1"]
POLICY = json.loads(SPEC.policy or "{}")
OAI = STACK.principal_arns["oai"]
CHECKER = {"aws:SourceIp": STACK.health_checker_ip, "aws:SecureTransport": "true"}
ELSEWHERE = {"aws:SourceIp": "127.0.0.1", "aws:SecureTransport": "true"}


def allowed(principal: str, action: str, key: str, context: dict[str, str] = ELSEWHERE) -> bool:
    return decide(POLICY, S3Request(principal, action, SPEC.bucket, key, context))


def test_the_declared_policy_is_what_the_program_declared() -> None:
    assert SPEC.policy is not None and unsupported(POLICY) == []
    assert OAI.startswith("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity ")


def test_origin_identity_reads_objects_and_nothing_else() -> None:
    assert allowed(OAI, "s3:GetObject", "catalog/a.txt")
    assert not allowed(OAI, "s3:ListBucket", "")
    assert not allowed(OAI, "s3:PutObject", "catalog/a.txt")
    assert not allowed("arn:aws:iam::123456789012:role/someone-else", "s3:GetObject", "a.txt")


def test_anonymous_readers_get_nothing_and_checkers_only_the_probe() -> None:
    probe_key = SPEC.probe.key if SPEC.probe else ""
    assert not allowed(ANONYMOUS, "s3:GetObject", "catalog/a.txt")
    assert not allowed(ANONYMOUS, "s3:ListBucket", "")
    assert not allowed(ANONYMOUS, "s3:GetObject", probe_key)  # not from the checker ranges
    assert allowed(ANONYMOUS, "s3:GetObject", probe_key, CHECKER)
    assert not allowed(ANONYMOUS, "s3:GetObject", "catalog/a.txt", CHECKER)
    assert not allowed(ANONYMOUS, "s3:GetObject", "_health/eu-west-1", CHECKER)


def test_owner_is_allowed_unless_denied_explicitly() -> None:
    assert allowed(OWNER, "s3:PutObject", "a.txt")
    assert allowed(OWNER, "s3:ListBucketVersions", "")
    plain_http = {"aws:SourceIp": "127.0.0.1", "aws:SecureTransport": "false"}
    assert not allowed(OWNER, "s3:GetObject", "a.txt", plain_http)  # the TLS-only deny


@pytest.mark.parametrize(
    ("method", "key", "query", "action"),
    [
        ("GET", "a.txt", "", "s3:GetObject"),
        ("HEAD", "a.txt", "", "s3:GetObject"),
        ("GET", "a.txt", "versionId=3", "s3:GetObjectVersion"),
        ("GET", "a.txt", "tagging", "s3:GetObjectTagging"),
        ("GET", "a.txt", "acl", "s3:GetObjectAcl"),
        ("GET", "a.txt", "response-content-type=a/b&x-id=GetObject", "s3:GetObject"),
        ("PUT", "a.txt", "", "s3:PutObject"),
        ("DELETE", "a.txt", "", "s3:DeleteObject"),
        ("GET", "", "", "s3:ListBucket"),
        ("GET", "", "list-type=2&prefix=x", "s3:ListBucket"),
        ("GET", "", "versions", "s3:ListBucketVersions"),
        ("GET", "", "policy", "s3:GetBucketPolicy"),
    ],
)
def test_requests_map_to_s3_actions(method: str, key: str, query: str, action: str) -> None:
    assert s3_action(method, key, query) == action


def test_policy_language_the_lab_cannot_enforce_is_named() -> None:
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "*"},
            {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}}},
        ]
    }
    problems = unsupported(policy)
    assert problems == [
        "Statement[0] names a Service principal",
        "Statement[1] has NotAction",
        "Statement[2] uses condition operator DateGreaterThan",
    ]
