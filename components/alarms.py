"""CloudWatch alarms on what makes a region or the edge fail, and where they notify.

- one alarm per region on its Route 53 health check (``AWS/Route53``
  ``HealthCheckStatus``, published in us-east-1);
- the distribution's 5xx error rate (``AWS/CloudFront``, us-east-1, ``Region=Global``);
- the edge function's errors as CloudFront counts them (``LambdaExecutionError``,
  ``LambdaValidationError``): these need the distribution's additional metrics, a paid
  CloudFront monitoring subscription the component turns on;
- with replication time control, per replication rule: failed replication and
  replication latency (``AWS/S3``, in the source bucket's region).

A CloudWatch alarm notifies SNS topics in its own region only, so each region that
holds alarms gets a topic (with the e-mail subscription when ``alarmEmail`` is given);
``alarmTopicArn`` replaces the us-east-1 one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .buckets import DataBucket
from .naming import account_unique_name
from .replication import RTC_MINUTES, rule_id
from .tags import Tags

METRICS_REGION = "us-east-1"  # Route 53 health check and CloudFront metrics live here
ERROR_RATE_PERCENT = 5.0
REPLICATION_LATENCY_S = RTC_MINUTES * 60  # beyond RTC's 15-minute promise


@dataclass
class Alarms:
    """The alarms by name, the monitoring subscription, topics and subscriptions."""

    alarms: dict[str, aws.cloudwatch.MetricAlarm] = field(default_factory=dict)
    monitoring: aws.cloudfront.MonitoringSubscription | None = None
    topics: dict[str, aws.sns.Topic] = field(default_factory=dict)
    subscriptions: dict[str, aws.sns.TopicSubscription] = field(default_factory=dict)


def alarm_regions(replication_sources: Sequence[str], replication_time_control: bool) -> list[str]:
    """us-east-1, plus every replication source region when RTC metrics exist."""
    regions = [METRICS_REGION]
    if replication_time_control:
        regions += [r for r in replication_sources if r not in regions]
    return regions


def create_alarms(
    name: str,
    *,
    distribution: aws.cloudfront.Distribution,
    health_checks: Mapping[str, aws.route53.HealthCheck],
    buckets: Mapping[str, DataBucket],
    replication_pairs: Sequence[tuple[str, Sequence[str]]],
    replication_time_control: bool,
    email: str | None,
    topic_arn: pulumi.Input[str] | None,
    tags: Tags,
    parent: pulumi.Resource,
) -> Alarms:
    """Declare the topics, the monitoring subscription and every alarm."""
    opts = pulumi.ResourceOptions(parent=parent)
    made = Alarms()
    sources = [source for source, _ in replication_pairs]
    actions: dict[str, pulumi.Input[str]] = {}
    for region in alarm_regions(sources, replication_time_control):
        if region == METRICS_REGION and topic_arn is not None:
            actions[region] = topic_arn
            continue
        topic = aws.sns.Topic(
            f"{name}-{region}-alarms",
            region=region,
            display_name=f"{name} alarms"[:100],
            tags=tags,
            opts=opts,
        )
        made.topics[region] = topic
        actions[region] = topic.arn
        if email is not None:
            made.subscriptions[region] = aws.sns.TopicSubscription(
                f"{name}-{region}-alarms-email",
                region=region,
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=opts,
            )

    def alarm(purpose: str, region: str, description: str, **settings: object) -> None:
        alarm_name = account_unique_name(name, purpose, 255)
        made.alarms[alarm_name] = aws.cloudwatch.MetricAlarm(
            f"{name}-{purpose}-alarm",
            region=region,
            name=alarm_name,
            alarm_description=description,
            alarm_actions=[actions[region]],
            ok_actions=[actions[region]],
            tags=tags,
            opts=opts,
            **settings,  # type: ignore[arg-type]
        )

    for region, check in health_checks.items():
        alarm(
            f"{region}-health",
            METRICS_REGION,
            f"{name}: the Route 53 health check of {region}'s data bucket fails; "
            "the region is out of the routing table",
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            dimensions={"HealthCheckId": check.id},
            statistic="Minimum",
            period=60,
            evaluation_periods=1,
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
        )

    cloudfront = {"DistributionId": distribution.id, "Region": "Global"}
    alarm(
        "cdn-5xx-rate",
        METRICS_REGION,
        f"{name}: more than {ERROR_RATE_PERCENT:g}% of viewer requests answered 5xx",
        namespace="AWS/CloudFront",
        metric_name="5xxErrorRate",
        dimensions=cloudfront,
        statistic="Average",
        period=60,
        evaluation_periods=5,
        datapoints_to_alarm=3,
        comparison_operator="GreaterThanThreshold",
        threshold=ERROR_RATE_PERCENT,
        treat_missing_data="notBreaching",
    )
    # LambdaExecutionError and LambdaValidationError exist only with additional metrics.
    made.monitoring = aws.cloudfront.MonitoringSubscription(
        f"{name}-cdn-metrics",
        distribution_id=distribution.id,
        monitoring_subscription={
            "realtime_metrics_subscription_config": {
                "realtime_metrics_subscription_status": "Enabled"
            }
        },
        opts=opts,
    )
    for metric, what in (
        ("LambdaExecutionError", "the edge function failed or timed out"),
        ("LambdaValidationError", "the edge function returned something CloudFront refused"),
    ):
        alarm(
            f"edge-{metric}",
            METRICS_REGION,
            f"{name}: {what} (CloudFront {metric})",
            namespace="AWS/CloudFront",
            metric_name=metric,
            dimensions=cloudfront,
            statistic="Sum",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
        )

    if replication_time_control:
        for source, destinations in replication_pairs:
            for destination in destinations:
                dimensions = {
                    "SourceBucket": buckets[source].bucket.bucket,
                    "DestinationBucket": buckets[destination].bucket.bucket,
                    "RuleId": rule_id(destination),
                }
                alarm(
                    f"{source}-to-{destination}-failed",
                    source,
                    f"{name}: objects failed to replicate from {source} to {destination}",
                    namespace="AWS/S3",
                    metric_name="OperationsFailedReplication",
                    dimensions=dimensions,
                    statistic="Sum",
                    period=300,
                    evaluation_periods=1,
                    comparison_operator="GreaterThanThreshold",
                    threshold=0,
                    treat_missing_data="notBreaching",
                )
                alarm(
                    f"{source}-to-{destination}-latency",
                    source,
                    f"{name}: replication from {source} to {destination} is more than "
                    f"{RTC_MINUTES} minutes behind",
                    namespace="AWS/S3",
                    metric_name="ReplicationLatency",
                    dimensions=dimensions,
                    statistic="Maximum",
                    period=300,
                    evaluation_periods=2,
                    comparison_operator="GreaterThanThreshold",
                    threshold=REPLICATION_LATENCY_S,
                    treat_missing_data="notBreaching",
                )
    return made
