"""A managed WAFv2 web ACL for the distribution (``webAcl: managed``).

CloudFront takes only web ACLs with scope ``CLOUDFRONT``, which live in us-east-1.
Rules, in order: a rate-based rule that blocks an IP above ``wafRateLimit`` requests
per 5 minutes, then AWS's Common and KnownBadInputs managed rule groups. Anything no
rule blocks is allowed.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from .tags import Tags

WAF_REGION = "us-east-1"  # scope CLOUDFRONT web ACLs are created in us-east-1
RATE_WINDOW_S = 300
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")


def _visibility(metric: str) -> dict[str, object]:
    return {
        "cloudwatch_metrics_enabled": True,
        "sampled_requests_enabled": True,
        "metric_name": re.sub(r"[^A-Za-z0-9_-]+", "-", metric)[:128],
    }


def web_acl_rules(name: str, rate_limit: int) -> list[dict[str, object]]:
    """The rate-based rule first (cheapest to evaluate), then the managed groups."""
    rules: list[dict[str, object]] = [
        {
            "name": "rate-limit-per-ip",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "limit": rate_limit,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": RATE_WINDOW_S,
                }
            },
            "visibility_config": _visibility(f"{name}-rate-limit"),
        }
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        rules.append(
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {
                    "managed_rule_group_statement": {"vendor_name": "AWS", "name": group}
                },
                "visibility_config": _visibility(f"{name}-{group}"),
            }
        )
    return rules


def create_web_acl(
    name: str, *, rate_limit: int, tags: Tags, parent: pulumi.Resource
) -> aws.wafv2.WebAcl:
    """Declare the web ACL in us-east-1 with scope CLOUDFRONT."""
    return aws.wafv2.WebAcl(
        f"{name}-waf",
        region=WAF_REGION,
        scope="CLOUDFRONT",
        name_prefix=f"{name}-",
        description=f"{name}: rate limit per IP plus AWS managed Common and KnownBadInputs rules",
        default_action={"allow": {}},
        rules=web_acl_rules(name, rate_limit),
        visibility_config=_visibility(f"{name}-waf"),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
