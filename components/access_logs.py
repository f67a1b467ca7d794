"""Access logs: CloudFront standard logging (v2) and S3 server access logging.

Every region that holds a data bucket gets a log bucket of its own (S3 server access
logs must land in the source bucket's region), and us-east-1 gets one in any case for
the distribution's logs, which CloudWatch Logs delivers (delivery source, destination,
delivery, all in us-east-1) under ``AWSLogs/<account>/CloudFront/``. Log buckets are
locked down like the data buckets (Block Public Access, SSE-S3, ``BucketOwnerEnforced``,
TLS only), expire objects after ``logRetentionDays`` and admit each logging service
principal only for this account (``aws:SourceAccount``) and these sources
(``aws:SourceArn``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .buckets import (
    ABORT_MULTIPART_DAYS,
    SSE_S3_RULE,
    DataBucket,
    create_private_bucket,
    deny_insecure_transport,
)
from .naming import account_unique_name
from .tags import Tags

CLOUDFRONT_LOG_REGION = "us-east-1"  # CloudFront's delivery source lives in us-east-1
S3_LOG_PREFIX = "s3-access/"
CLOUDFRONT_LOG_FORMAT = "json"
DELIVERY_NAME_MAX = 60  # CloudWatch Logs delivery source and destination names


@dataclass
class LogBucket:
    """One region's log bucket and its settings."""

    region: str
    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    lifecycle: aws.s3.BucketLifecycleConfiguration
    policy: aws.s3.BucketPolicy


@dataclass
class AccessLogs:
    """The log buckets by region, S3 logging per data bucket, CloudFront's delivery."""

    buckets: dict[str, LogBucket]
    s3_logging: dict[str, aws.s3.BucketLogging] = field(default_factory=dict)
    delivery_source: aws.cloudwatch.LogDeliverySource | None = None
    delivery_destination: aws.cloudwatch.LogDeliveryDestination | None = None
    delivery: aws.cloudwatch.LogDelivery | None = None


def log_regions(data_regions: Sequence[str]) -> list[str]:
    """The data regions, plus us-east-1 for CloudFront's logs when it is not one."""
    regions = list(data_regions)
    return regions if CLOUDFRONT_LOG_REGION in regions else [*regions, CLOUDFRONT_LOG_REGION]


def log_bucket_policy_document(
    bucket_arn: str,
    account_id: str,
    source_bucket_arns: Sequence[str],
    cloudfront: bool,
) -> str:
    """TLS only; S3 logging for these data buckets; CloudFront's delivery in us-east-1."""
    statements: list[dict[str, object]] = []
    if source_bucket_arns:
        statements.append(
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{S3_LOG_PREFIX}*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": sorted(source_bucket_arns)},
                },
            }
        )
    if cloudfront:
        source = f"arn:aws:logs:{CLOUDFRONT_LOG_REGION}:{account_id}:delivery-source:*"
        statements.append(
            {
                "Sid": "CloudFrontLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": account_id,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    },
                    "ArnLike": {"aws:SourceArn": source},
                },
            }
        )
    statements.append(deny_insecure_transport(bucket_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def create_log_bucket(
    name: str,
    region: str,
    *,
    retention_days: int,
    force_destroy: bool,
    account_id: pulumi.Input[str],
    source_bucket_arns: Sequence[pulumi.Input[str]],
    tags: Tags,
    parent: pulumi.Resource,
) -> LogBucket:
    """One region's log bucket, hardened, with the policy its log writers need."""
    prefix = f"{name}-{region}-logs"
    private = create_private_bucket(
        prefix,
        region,
        force_destroy=force_destroy,
        tags=tags,
        # S3 server access logging writes only to SSE-S3 buckets.
        sse_rule=SSE_S3_RULE,
        parent=parent,
    )
    bucket, public_access_block = private.bucket, private.public_access_block
    ownership, encryption = private.ownership, private.encryption
    child = pulumi.ResourceOptions(parent=parent, depends_on=[bucket])
    lifecycle = aws.s3.BucketLifecycleConfiguration(
        f"{prefix}-lifecycle",
        region=region,
        bucket=bucket.id,
        rules=[
            {
                "id": "expire-logs",
                "status": "Enabled",
                "filter": {"prefix": ""},
                "expiration": {"days": retention_days},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": ABORT_MULTIPART_DAYS
                },
            }
        ],
        opts=child,
    )
    cloudfront = region == CLOUDFRONT_LOG_REGION
    policy = aws.s3.BucketPolicy(
        f"{prefix}-policy",
        region=region,
        bucket=bucket.id,
        policy=pulumi.Output.all(bucket.arn, account_id, list(source_bucket_arns)).apply(
            lambda v: log_bucket_policy_document(v[0], v[1], v[2], cloudfront)
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access_block, ownership]),
    )
    return LogBucket(
        region=region,
        bucket=bucket,
        public_access_block=public_access_block,
        ownership=ownership,
        encryption=encryption,
        lifecycle=lifecycle,
        policy=policy,
    )


def create_access_logs(
    name: str,
    data_buckets: Mapping[str, DataBucket],
    distribution: aws.cloudfront.Distribution,
    *,
    retention_days: int,
    force_destroy: bool,
    account_id: pulumi.Input[str],
    tags: Tags,
    parent: pulumi.Resource,
) -> AccessLogs:
    """Log buckets, S3 server access logging per data bucket, CloudFront logging v2."""
    opts = pulumi.ResourceOptions(parent=parent)
    logs = AccessLogs(
        buckets={
            region: create_log_bucket(
                name,
                region,
                retention_days=retention_days,
                force_destroy=force_destroy,
                account_id=account_id,
                source_bucket_arns=[data_buckets[region].bucket.arn]
                if region in data_buckets
                else [],
                tags=tags,
                parent=parent,
            )
            for region in log_regions(list(data_buckets))
        }
    )
    for region, data_bucket in data_buckets.items():
        target = logs.buckets[region]
        logs.s3_logging[region] = aws.s3.BucketLogging(
            f"{name}-{region}-access-logging",
            region=region,
            bucket=data_bucket.bucket.id,
            target_bucket=target.bucket.id,
            target_prefix=S3_LOG_PREFIX,
            target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[target.policy]),
        )
    cloudfront_bucket = logs.buckets[CLOUDFRONT_LOG_REGION]
    logs.delivery_source = aws.cloudwatch.LogDeliverySource(
        f"{name}-cdn-log-source",
        region=CLOUDFRONT_LOG_REGION,
        name=account_unique_name(name, "cdn-logs", DELIVERY_NAME_MAX),
        log_type="ACCESS_LOGS",
        resource_arn=distribution.arn,
        tags=tags,
        opts=opts,
    )
    logs.delivery_destination = aws.cloudwatch.LogDeliveryDestination(
        f"{name}-cdn-log-destination",
        region=CLOUDFRONT_LOG_REGION,
        name=account_unique_name(name, "cdn-logs-s3", DELIVERY_NAME_MAX),
        output_format=CLOUDFRONT_LOG_FORMAT,
        delivery_destination_configuration={
            "destination_resource_arn": cloudfront_bucket.bucket.arn
        },
        tags=tags,
        opts=opts,
    )
    logs.delivery = aws.cloudwatch.LogDelivery(
        f"{name}-cdn-log-delivery",
        region=CLOUDFRONT_LOG_REGION,
        delivery_source_name=logs.delivery_source.name,
        delivery_destination_arn=logs.delivery_destination.arn,
        tags=tags,
        # The bucket must admit the log delivery service before the delivery is made.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cloudfront_bucket.policy]),
    )
    return logs
