"""Per-region data buckets: private, versioned, encrypted, owner-enforced.

One :func:`create_data_bucket` call makes a bucket and the settings every data bucket
must have; the bucket policy is made later by :func:`create_bucket_policy` because it
needs the origin access identity and the health checkers' address ranges.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .tags import REGION_TAG, Tags, merged_tags

PROBE_PREFIX = "_health/"
PROBE_BODY = "asset-delivery health probe: ok\n"
PROBE_MATCH = "asset-delivery health probe: ok"
ABORT_MULTIPART_DAYS = 7


def probe_key(region: str) -> str:
    """``_health/<region>``: each region's own probe, so a replica never overwrites it."""
    return f"{PROBE_PREFIX}{region}"


SSE_S3_RULE: dict[str, object] = {
    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}
}


@dataclass
class PrivateBucket:
    """A bucket with the settings every bucket of the component has."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def create_private_bucket(
    prefix: str,
    region: str,
    *,
    force_destroy: bool,
    tags: Tags,
    sse_rule: dict[str, object],
    parent: pulumi.Resource,
) -> PrivateBucket:
    """``<prefix>-bucket``: all four Block Public Access flags, ACLs off, encrypted."""
    bucket = aws.s3.Bucket(
        f"{prefix}-bucket",
        region=region,
        force_destroy=force_destroy,
        tags=merged_tags(tags, {REGION_TAG: region}),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    child = pulumi.ResourceOptions(parent=parent, depends_on=[bucket])
    return PrivateBucket(
        bucket=bucket,
        public_access_block=aws.s3.BucketPublicAccessBlock(
            f"{prefix}-public-access-block",
            region=region,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        ),
        ownership=aws.s3.BucketOwnershipControls(
            f"{prefix}-ownership",
            region=region,
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        ),
        encryption=aws.s3.BucketServerSideEncryptionConfiguration(
            f"{prefix}-encryption",
            region=region,
            bucket=bucket.id,
            rules=[sse_rule],
            opts=child,
        ),
    )


def deny_insecure_transport(bucket_arn: str) -> dict[str, object]:
    """The statement every bucket policy ends with: no request without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass
class DataBucket:
    """Typed handles on one region's bucket and its settings."""

    region: str
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    lifecycle: aws.s3.BucketLifecycleConfiguration

    @property
    def regional_domain(self) -> pulumi.Output[str]:
        """``<bucket>.s3.<region>.amazonaws.com``: the domain the edge function routes to."""
        return self.bucket.bucket_regional_domain_name


def create_data_bucket(
    name: str,
    region: str,
    *,
    noncurrent_version_days: int,
    force_destroy: bool,
    tags: Tags,
    parent: pulumi.Resource,
    kms_key_arn: pulumi.Input[str] | None = None,
) -> DataBucket:
    """Declare one region's data bucket with every secure default on.

    With ``kms_key_arn`` objects are encrypted with that key (SSE-KMS) and an S3
    bucket key, which cuts KMS requests (and their cost) by orders of magnitude.
    """
    prefix = f"{name}-{region}"
    # SSE-S3 by default: the origin access identity cannot read SSE-KMS objects.
    sse_rule: dict[str, object] = (
        {
            "apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms",
                "kms_master_key_id": kms_key_arn,
            },
            "bucket_key_enabled": True,
        }
        if kms_key_arn is not None
        else SSE_S3_RULE
    )
    private = create_private_bucket(
        prefix,
        region,
        force_destroy=force_destroy,
        tags=tags,
        sse_rule=sse_rule,
        parent=parent,
    )
    bucket = private.bucket
    versioning = aws.s3.BucketVersioning(
        f"{prefix}-versioning",
        region=region,
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[bucket]),
    )
    public_access_block = private.public_access_block
    ownership = private.ownership
    encryption = private.encryption
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{prefix}-lifecycle",
        region=region,
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
                "expiration": {"expired_object_delete_marker": True},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": ABORT_MULTIPART_DAYS
                },
            }
        ],
        # Lifecycle on a versioned bucket: declare after versioning is on.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    return DataBucket(
        region=region,
        bucket=bucket,
        versioning=versioning,
        public_access_block=public_access_block,
        ownership=ownership,
        encryption=encryption,
        lifecycle=lifecycle,
    )


def bucket_policy_document(
    bucket_arn: str,
    reader_arns: list[str],
    health_checker_cidrs: list[str] | None,
    probe_object_key: str,
) -> str:
    """The one policy every data bucket gets.

    - the origin's readers may read objects: the origin access identity (``oai``),
      the edge function's role (``sigv4``), or both while migrating
      (``oai-to-sigv4``); ``s3:GetObject`` only: no
      ``s3:ListBucket``, so a viewer asking for ``/`` never sees a listing; the
      price is that a missing key answers 403, which the origin group fails over on);
    - when health checks are on, anyone may read this region's probe object, but only from
      the Route 53 health checkers' published address ranges: S3 treats a grant
      limited to fixed ``aws:SourceIp`` ranges as non-public, so Block Public Access
      stays fully on and no data object is ever readable outside CloudFront;
    - every request without TLS is denied.
    """
    statements: list[dict[str, object]] = [
        {
            "Sid": "OriginReadObjects",
            "Effect": "Allow",
            "Principal": {"AWS": reader_arns[0] if len(reader_arns) == 1 else sorted(reader_arns)},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/*",
        }
    ]
    if health_checker_cidrs:
        statements.append(
            {
                "Sid": "Route53HealthCheckersReadProbeOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{probe_object_key}",
                "Condition": {"IpAddress": {"aws:SourceIp": sorted(health_checker_cidrs)}},
            }
        )
    statements.append(deny_insecure_transport(bucket_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def create_bucket_policy(
    name: str,
    data_bucket: DataBucket,
    reader_arns: list[pulumi.Input[str]],
    health_checker_cidrs: pulumi.Input[list[str]] | None,
    *,
    parent: pulumi.Resource,
) -> aws.s3.BucketPolicy:
    """Attach the bucket policy once Block Public Access is in place."""
    key = probe_key(data_bucket.region)
    policy = pulumi.Output.all(data_bucket.bucket.arn, health_checker_cidrs, *reader_arns).apply(
        lambda args: bucket_policy_document(args[0], list(args[2:]), args[1], key)
    )
    return aws.s3.BucketPolicy(
        f"{name}-{data_bucket.region}-policy",
        region=data_bucket.region,
        bucket=data_bucket.bucket.id,
        policy=policy,
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[data_bucket.public_access_block, data_bucket.ownership]
        ),
    )


def create_probe_object(
    name: str, data_bucket: DataBucket, *, tags: Tags, parent: pulumi.Resource
) -> aws.s3.BucketObjectv2:
    """The small object the region's health check reads (content matched by string)."""
    return aws.s3.BucketObjectv2(
        f"{name}-{data_bucket.region}-probe",
        region=data_bucket.region,
        bucket=data_bucket.bucket.id,
        key=probe_key(data_bucket.region),
        content=PROBE_BODY,
        content_type="text/plain",
        cache_control="no-store",
        # Always SSE-S3: Route 53's checkers read anonymously, and S3 refuses an
        # anonymous read of an SSE-KMS object.
        server_side_encryption="AES256",
        tags=merged_tags(tags, {REGION_TAG: data_bucket.region}),
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[data_bucket.versioning, data_bucket.encryption]
        ),
    )
