"""AWS contract checks, part 2: validate the translated requests (see aws_contract.py).

Every request from :func:`aws_contract.translate_stack` goes through botocore's
service model (:func:`model_checks`: ``ParamValidator`` plus the enums, maximums and
patterns it skips) and through :data:`RULES`, the documented AWS rules the models
cannot express; each rule's docstring quotes the AWS fact it enforces.
:func:`check_stack` runs all of it (docs/ARCHITECTURE.md, "AWS contract tests").
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from asset_delivery.edge_handler.routing import parse_route_value
from asset_delivery.testing import Registration
from aws_contract import Problem, Request, translate_stack
from botocore.model import Shape
from botocore.validate import ParamValidator


@dataclass
class Report:
    """Everything :func:`check_stack` found for one stack."""

    requests: list[Request]
    problems: list[Problem]
    untranslated: dict[str, list[str]]
    """Types listed in ``aws_contract.UNTRANSLATED``, with the names declared."""
    unknown_types: dict[str, list[str]]
    """Types with no translator and no entry in ``aws_contract.UNTRANSLATED``."""


# -- validation against botocore's service models ------------------------------------


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Shape:
    return _service_model(service).operation_model(operation).input_shape


def model_validation(request: Request) -> list[Problem]:
    """botocore's ParamValidator: required, unknown members, types, minimums."""
    report = ParamValidator().validate(
        request.params, input_shape(request.service, request.operation)
    )
    if not report.has_errors():
        return []
    lines = report.generate_report().splitlines()
    return [
        Problem(request.source, "model", f"{request.operation}: {line}") for line in lines if line
    ]


@cache
def model_pattern(pattern: str) -> re.Pattern[str]:
    """A model pattern as a Python regex (Java's \\p{L}, \\p{Z}, \\p{N} translated)."""
    try:
        return re.compile(pattern)
    except re.error:
        translated = pattern.replace(r"\p{L}", r"a-zA-Z\u00c0-\uffff")
        translated = translated.replace(r"\p{Z}", r"\s").replace(r"\p{N}", r"0-9")
        return re.compile(translated)


def model_constraints(value: Any, shape: Shape, path: str) -> Iterator[str]:
    """What ParamValidator skips: enums, maximums, patterns, minimums of maps and blobs.

    Patterns are matched in full (the service validates the whole value).
    Values of the wrong type are left to ParamValidator.
    """
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for key, member in shape.members.items():
            if key in value:
                yield from model_constraints(value[key], member, f"{path}.{key}")
        return
    if kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path} has {len(value)} items; at most {meta['max']} allowed"
        for i, item in enumerate(value):
            yield from model_constraints(item, shape.member, f"{path}[{i}]")
        return
    if kind == "map" and isinstance(value, Mapping):
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            yield f"{path} has {len(value)} entries; allowed {meta.get('min', 0)}-{meta['max']}"
        for key, item in value.items():
            yield from model_constraints(key, shape.key, f"{path} (key {key!r})")
            yield from model_constraints(item, shape.value, f"{path}.{key}")
        return
    if kind == "blob" and isinstance(value, bytes | bytearray | str):
        if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
            yield f"{path} is {len(value)} bytes; allowed {meta.get('min', 0)}-{meta.get('max')}"
        return
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            yield f"{path} is {value!r}; allowed values: {', '.join(shape.enum)}"
        if "max" in meta and len(value) > meta["max"]:
            yield f"{path} is {len(value)} characters long; at most {meta['max']} allowed"
        pattern = meta.get("pattern")
        if pattern and not model_pattern(pattern).fullmatch(value):
            yield f"{path} is {value!r}; it must match the pattern {pattern}"
        return
    is_number = kind in ("integer", "long") and isinstance(value, int)
    if is_number and not isinstance(value, bool) and value > meta.get("max", value):
        yield f"{path} is {value}; at most {meta['max']} allowed"


def model_checks(request: Request) -> list[Problem]:
    """ParamValidator, then the constraints it skips."""
    problems = model_validation(request)
    shape = input_shape(request.service, request.operation)
    for message in model_constraints(request.params, shape, request.operation):
        problems.append(Problem(request.source, "model-constraint", message))
    return problems


# -- documented rules the models cannot express ---------------------------------------

Rule = Callable[[Sequence[Request]], Iterable[Problem]]
RULES: list[Rule] = []


def rule(check: Rule) -> Rule:
    RULES.append(check)
    return check


def _of(requests: Sequence[Request], operation: str) -> list[Request]:
    return [r for r in requests if r.operation == operation]


def _problem(request: Request, check: Rule, message: str) -> Problem:
    return Problem(request.source, check.__name__, message)


def _distribution_configs(requests: Sequence[Request]) -> Iterator[tuple[Request, dict]]:
    for request in _of(requests, "CreateDistribution"):
        yield request, request.params.get("DistributionConfig", {})


def _list_items(wrapper: Any) -> list[Any]:
    return list(wrapper.get("Items", [])) if isinstance(wrapper, Mapping) else []


def _all_behaviors(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [config.get("DefaultCacheBehavior", {}), *_list_items(config.get("CacheBehaviors"))]


# CloudFront ---------------------------------------------------------------------------

FAILOVER_STATUS_CODES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})
FORBIDDEN_ORIGIN_HEADERS = frozenset(
    {
        "cache-control",
        "connection",
        "content-length",
        "cookie",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "pragma",
        "proxy-authorization",
        "proxy-connection",
        "range",
        "request-range",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "x-real-ip",
    }
)
FORBIDDEN_ORIGIN_HEADER_PREFIXES = ("x-amz-", "x-edge-")


@rule
def cloudfront_origin_group_members(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront origin groups: "an origin group has two origins", a primary and a
    secondary, both origins of the same distribution (the model's 2-2 bound on
    ``Members.Items`` catches a wrong count; this catches a member that names no
    origin)."""
    for request, config in _distribution_configs(requests):
        origin_ids = {o.get("Id") for o in _list_items(config.get("Origins"))}
        for group in _list_items(config.get("OriginGroups")):
            for member in _list_items(group.get("Members")):
                if member.get("OriginId") not in origin_ids:
                    yield _problem(
                        request,
                        cloudfront_origin_group_members,
                        f"origin group {group.get('Id')!r} names {member.get('OriginId')!r}, "
                        f"which is not an origin of this distribution "
                        f"({', '.join(sorted(map(str, origin_ids)))})",
                    )


@rule
def cloudfront_failover_status_codes(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront origin failover: the failover criteria are one or more of the status
    codes 400, 403, 404, 416, 500, 502, 503 and 504."""
    for request, config in _distribution_configs(requests):
        for group in _list_items(config.get("OriginGroups")):
            codes = _list_items(group.get("FailoverCriteria", {}).get("StatusCodes"))
            if not codes:
                yield _problem(
                    request,
                    cloudfront_failover_status_codes,
                    f"origin group {group.get('Id')!r} has no failover status codes",
                )
            for code in codes:
                if code not in FAILOVER_STATUS_CODES:
                    yield _problem(
                        request,
                        cloudfront_failover_status_codes,
                        f"origin group {group.get('Id')!r} fails over on {code}; CloudFront "
                        f"allows only {', '.join(map(str, sorted(FAILOVER_STATUS_CODES)))}",
                    )


@rule
def cloudfront_custom_header_names(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront "Custom headers that CloudFront can't add to origin requests":
    Cache-Control, Connection, Content-Length, Cookie, Host, If-Match,
    If-Modified-Since, If-None-Match, If-Range, If-Unmodified-Since, Max-Forwards,
    Pragma, Proxy-Authorization, Proxy-Connection, Range, Request-Range, TE, Trailer,
    Transfer-Encoding, Upgrade, Via, X-Amz-*, X-Edge-*, X-Real-Ip."""
    for request, config in _distribution_configs(requests):
        for origin in _list_items(config.get("Origins")):
            for header in _list_items(origin.get("CustomHeaders")):
                name = str(header.get("HeaderName", ""))
                lowered = name.lower()
                if lowered in FORBIDDEN_ORIGIN_HEADERS or lowered.startswith(
                    FORBIDDEN_ORIGIN_HEADER_PREFIXES
                ):
                    yield _problem(
                        request,
                        cloudfront_custom_header_names,
                        f"origin {origin.get('Id')!r} adds custom header {name!r}, which "
                        "CloudFront cannot add to origin requests (X-Amz-*, X-Edge-*, Host, "
                        "Cache-Control, ... are reserved)",
                    )


@rule
def cloudfront_same_oai_on_every_s3_origin(requests: Sequence[Request]) -> Iterator[Problem]:
    """Lambda@Edge origin rewrite (docs/ARCHITECTURE.md): with an origin access
    identity, the function may move a request to any bucket only if every S3 origin
    uses the same identity; CloudFront signs with the configured origin's OAI."""
    for request, config in _distribution_configs(requests):
        s3_origins = [o for o in _list_items(config.get("Origins")) if "S3OriginConfig" in o]
        identities = {o["S3OriginConfig"].get("OriginAccessIdentity", "") for o in s3_origins}
        if len(identities) > 1 and identities != {""}:
            per_origin = ", ".join(
                f"{o.get('Id')}={o['S3OriginConfig'].get('OriginAccessIdentity') or 'none'}"
                for o in s3_origins
            )
            yield _problem(
                request,
                cloudfront_same_oai_on_every_s3_origin,
                f"S3 origins use different origin access identities ({per_origin}); "
                "every S3 origin must use the same one",
            )


@rule
def cloudfront_origin_connection_settings(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront origin settings: "Connection timeout: 1-10 seconds" (how long
    CloudFront waits to connect) and "Connection attempts: 1-3" (how often it tries
    before failing over to the secondary origin or answering with an error)."""
    bounds = {
        "ConnectionTimeout": ("connection timeout", 1, 10),
        "ConnectionAttempts": ("connection attempts", 1, 3),
    }
    for request, config in _distribution_configs(requests):
        for origin in _list_items(config.get("Origins")):
            for key, (label, low, high) in bounds.items():
                value = origin.get(key)
                if isinstance(value, int) and not low <= value <= high:
                    yield _problem(
                        request,
                        cloudfront_origin_connection_settings,
                        f"origin {origin.get('Id')!r} {label} is {value}; allowed {low}-{high}",
                    )


@rule
def cloudfront_cache_policy_ttls(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront cache policies: "The minimum TTL ... must be less than or equal to
    the default TTL", and the default TTL less than or equal to the maximum TTL."""
    for request in _of(requests, "CreateCachePolicy"):
        config = request.params.get("CachePolicyConfig", {})
        ttls = [config.get(key) for key in ("MinTTL", "DefaultTTL", "MaxTTL")]
        if all(isinstance(t, int) for t in ttls) and not ttls[0] <= ttls[1] <= ttls[2]:
            yield _problem(
                request,
                cloudfront_cache_policy_ttls,
                f"TTLs min {ttls[0]}, default {ttls[1]}, max {ttls[2]}; need min <= default <= max",
            )


@rule
def cloudfront_cors_credentials(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront response headers policies (and the CORS standard): with
    Access-Control-Allow-Credentials true, the allowed origins cannot be "*"."""
    for request in _of(requests, "CreateResponseHeadersPolicy"):
        cors = request.params.get("ResponseHeadersPolicyConfig", {}).get("CorsConfig", {})
        origins = _list_items(cors.get("AccessControlAllowOrigins"))
        if cors.get("AccessControlAllowCredentials") and "*" in origins:
            yield _problem(
                request,
                cloudfront_cors_credentials,
                "CORS allows credentials with origin '*'; list the origins explicitly",
            )


WAF_EVALUATION_WINDOWS = frozenset({60, 120, 300, 600})
_CLOUDFRONT_WEB_ACL = re.compile(r"arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/.+")


@rule
def wafv2_web_acl_for_cloudfront(requests: Sequence[Request]) -> Iterator[Problem]:
    """AWS WAF: a web ACL for CloudFront has scope CLOUDFRONT and is created in US
    East (N. Virginia); a distribution names a WAFv2 web ACL by its ARN; rule names and
    priorities are unique in a web ACL; a rule group reference takes OverrideAction,
    any other rule an Action; a rate-based rule's evaluation window is 60, 120, 300 or
    600 seconds."""
    for request, config in _distribution_configs(requests):
        acl = str(config.get("WebACLId", ""))
        if acl.startswith("arn:") and not _CLOUDFRONT_WEB_ACL.fullmatch(acl):
            yield _problem(
                request,
                wafv2_web_acl_for_cloudfront,
                f"web ACL {acl} is not a CLOUDFRONT-scope WAFv2 ACL in us-east-1 (global/webacl)",
            )
    for request in _of(requests, "CreateWebACL"):
        findings = []
        if request.params.get("Scope") == "CLOUDFRONT" and request.region != "us-east-1":
            findings.append(f"scope CLOUDFRONT is created in {request.region}; use us-east-1")
        names: set[str] = set()
        priorities: set[int] = set()
        for waf_rule in request.params.get("Rules", []):
            label = f"rule {waf_rule.get('Name')!r}"
            if waf_rule.get("Name") in names or waf_rule.get("Priority") in priorities:
                findings.append(f"{label} repeats a rule name or priority")
            names.add(waf_rule.get("Name"))
            priorities.add(waf_rule.get("Priority"))
            statement = waf_rule.get("Statement", {})
            group = (
                "ManagedRuleGroupStatement" in statement
                or "RuleGroupReferenceStatement" in statement
            )
            if group and ("Action" in waf_rule or "OverrideAction" not in waf_rule):
                findings.append(f"{label} references a rule group: OverrideAction, not Action")
            if not group and ("OverrideAction" in waf_rule or "Action" not in waf_rule):
                findings.append(f"{label} needs an Action (OverrideAction is for rule groups)")
            window = statement.get("RateBasedStatement", {}).get("EvaluationWindowSec")
            if window is not None and window not in WAF_EVALUATION_WINDOWS:
                findings.append(f"{label} evaluation window {window} s; use 60, 120, 300 or 600")
        for finding in findings:
            yield _problem(request, wafv2_web_acl_for_cloudfront, finding)


CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"


def _covers(pattern: str, name: str) -> bool:
    """ACM name matching: a wildcard covers exactly one leftmost label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.count(".") == pattern.count(".") and name.endswith(pattern[1:])
    return pattern == name


@rule
def cloudfront_certificate_covers_aliases(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront alternate domain names: "To use an ACM certificate with CloudFront,
    make sure you request (or import) the certificate in the US East (N. Virginia)
    Region", and the certificate must cover every alternate domain name (CNAME) of the
    distribution, or CreateDistribution fails. Coverage is checked when the stack
    requests the certificate itself."""
    certificates = {r.arn: r for r in _of(requests, "RequestCertificate")}
    for request, config in _distribution_configs(requests):
        arn = str(config.get("ViewerCertificate", {}).get("ACMCertificateArn", ""))
        if not arn:
            continue
        if not arn.startswith("arn:aws:acm:us-east-1:"):
            yield _problem(
                request,
                cloudfront_certificate_covers_aliases,
                f"certificate {arn} is not in us-east-1; CloudFront uses ACM certificates "
                "from us-east-1 only",
            )
        certificate = certificates.get(arn)
        if certificate is None:
            continue
        names = [
            certificate.params.get("DomainName", ""),
            *certificate.params.get("SubjectAlternativeNames", []),
        ]
        for alias in _list_items(config.get("Aliases")):
            if not any(_covers(name, alias) for name in names):
                yield _problem(
                    certificate,
                    cloudfront_certificate_covers_aliases,
                    f"alias {alias} of {request.source} is not covered by the certificate's "
                    f"names ({', '.join(names)})",
                )


@rule
def route53_alias_to_cloudfront(requests: Sequence[Request]) -> Iterator[Problem]:
    """Route 53 alias records to CloudFront: "Specify Z2FDTNDATAQYW2. This is always
    the hosted zone ID when you create an alias record that routes traffic to a
    CloudFront distribution"; EvaluateTargetHealth cannot be true for a CloudFront
    target; an alias has no TTL and no resource records; and CloudFront answers only
    names it lists as alternate domain names."""
    aliases = {
        str(alias).lower()
        for _, config in _distribution_configs(requests)
        for alias in _list_items(config.get("Aliases"))
    }
    for request, record in _record_sets(requests):
        target = record.get("AliasTarget")
        if not target or not str(target.get("DNSName", "")).rstrip(".").endswith(".cloudfront.net"):
            continue
        name = str(record.get("Name", "")).rstrip(".").lower()
        findings = []
        if target.get("HostedZoneId") != CLOUDFRONT_HOSTED_ZONE_ID:
            findings.append(
                f"alias target zone {target.get('HostedZoneId')}; CloudFront's is "
                f"{CLOUDFRONT_HOSTED_ZONE_ID}"
            )
        if target.get("EvaluateTargetHealth"):
            findings.append("evaluates target health, which a CloudFront alias cannot")
        if "TTL" in record or "ResourceRecords" in record:
            findings.append("is an alias with a TTL or resource records")
        if name not in aliases:
            findings.append(f"is not an alternate domain name of the distribution ({name})")
        for finding in findings:
            yield _problem(
                request, route53_alias_to_cloudfront, f"{record.get('Type')} {name} {finding}"
            )


@rule
def cloudfront_standard_logging(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront standard logging (v2): the delivery source for a distribution is
    created in US East (N. Virginia) with log type ACCESS_LOGS, and its delivery names
    a delivery source and destination that exist."""
    sources = {r.params.get("name"): r for r in _of(requests, "PutDeliverySource")}
    destinations = {r.arn or "" for r in _of(requests, "PutDeliveryDestination")}
    for name, request in sources.items():
        if ":cloudfront::" not in str(request.params.get("resourceArn", "")):
            continue
        if request.region != "us-east-1" or request.params.get("logType") != "ACCESS_LOGS":
            yield _problem(
                request,
                cloudfront_standard_logging,
                f"delivery source {name} is {request.params.get('logType')} in "
                f"{request.region}; CloudFront needs ACCESS_LOGS in us-east-1",
            )
    for request in _of(requests, "CreateDelivery"):
        if request.params.get("deliverySourceName") not in sources:
            yield _problem(
                request,
                cloudfront_standard_logging,
                f"delivery names source {request.params.get('deliverySourceName')!r}, "
                "which this stack does not declare",
            )
        arn = request.params.get("deliveryDestinationArn")
        if destinations and arn not in destinations:
            yield _problem(
                request,
                cloudfront_standard_logging,
                f"delivery names destination {arn}, which this stack does not declare",
            )


# Lambda@Edge ------------------------------------------------------------------------

EDGE_REGION = "us-east-1"
EDGE_RUNTIMES = frozenset(
    {
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "nodejs18.x",
        "nodejs20.x",
        "nodejs22.x",
    }
)
ORIGIN_EVENTS = frozenset({"origin-request", "origin-response"})
_FUNCTION_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[A-Za-z0-9_-]+)"
    r"(?::(?P<qualifier>[^:]+))?"
)


@dataclass
class EdgeFunction:
    """A CreateFunction request and the CloudFront events that invoke it."""

    request: Request
    events: set[str] = field(default_factory=set)

    @property
    def params(self) -> dict[str, Any]:
        return self.request.params


def _associations(requests: Sequence[Request]) -> Iterator[tuple[Request, dict]]:
    for request, config in _distribution_configs(requests):
        for behavior in _all_behaviors(config):
            for association in _list_items(behavior.get("LambdaFunctionAssociations")):
                yield request, association


def edge_functions(requests: Sequence[Request]) -> list[EdgeFunction]:
    """Every declared function that some distribution associates, with its events."""
    functions = {
        r.params.get("FunctionName"): EdgeFunction(r) for r in _of(requests, "CreateFunction")
    }
    for _, association in _associations(requests):
        match = _FUNCTION_ARN.fullmatch(str(association.get("LambdaFunctionARN", "")))
        if match and match["name"] in functions:
            functions[match["name"]].events.add(str(association.get("EventType")))
    return [f for f in functions.values() if f.events]


@rule
def lambda_edge_numbered_version(requests: Sequence[Request]) -> Iterator[Problem]:
    """Lambda@Edge restrictions: "You must use a numbered version of the Lambda
    function, not $LATEST or aliases", and the function must be in us-east-1. The
    version must be one the stack publishes (CreateFunction with Publish, then
    PublishVersion on each code change)."""
    published = {
        r.params.get("FunctionName")
        for r in _of(requests, "CreateFunction")
        if r.params.get("Publish")
    }
    for request, association in _associations(requests):
        arn = str(association.get("LambdaFunctionARN", ""))
        event = association.get("EventType")
        match = _FUNCTION_ARN.fullmatch(arn)
        if match is None:
            message = f"is not a Lambda function ARN: {arn!r}"
        elif match["qualifier"] == "$LATEST":
            message = f"uses $LATEST ({arn}); CloudFront needs a numbered version"
        elif match["qualifier"] is None or not match["qualifier"].isdigit():
            message = f"is not a numbered version ARN ({arn}); unqualified and alias ARNs fail"
        elif match["region"] != EDGE_REGION:
            message = f"names a function in {match['region']}; Lambda@Edge needs {EDGE_REGION}"
        elif match["name"] not in published:
            message = f"names {match['name']!r}, which this stack does not declare with publish"
        else:
            continue
        yield _problem(request, lambda_edge_numbered_version, f"{event} association {message}")


@rule
def lambda_edge_function_settings(requests: Sequence[Request]) -> Iterator[Problem]:
    """Lambda@Edge restrictions and quotas: no environment variables, layers or VPC;
    x86_64 only; a supported runtime (Python 3.9-3.13, Node.js 18-22); created in
    us-east-1; timeout <= 30 s and memory 128-3008 MB for origin events, 5 s and
    128 MB for viewer events; zipped package <= 50 MB (origin) or 1 MB (viewer)."""
    for edge in edge_functions(requests):
        params, name = edge.params, edge.params.get("FunctionName")
        viewer = bool(edge.events - ORIGIN_EVENTS)
        max_timeout, memory = (5, (128, 128)) if viewer else (30, (128, 3008))
        max_package = 1 * 2**20 if viewer else 50 * 2**20
        findings = []
        if edge.request.region != EDGE_REGION:
            findings.append(f"is created in {edge.request.region}; Lambda@Edge needs us-east-1")
        for key in ("Environment", "Layers", "VpcConfig"):
            if params.get(key):
                findings.append(f"sets {key}; Lambda@Edge functions cannot have it")
        if params.get("Runtime") not in EDGE_RUNTIMES:
            findings.append(
                f"runtime {params.get('Runtime')!r} is not a Lambda@Edge runtime "
                f"({', '.join(sorted(EDGE_RUNTIMES))})"
            )
        if params.get("Architectures", ["x86_64"]) != ["x86_64"]:
            findings.append(f"architectures {params.get('Architectures')}; Lambda@Edge: x86_64")
        timeout = params.get("Timeout", 3)
        if isinstance(timeout, int) and timeout > max_timeout:
            findings.append(f"timeout {timeout} s exceeds {max_timeout} s for these events")
        size = params.get("MemorySize", 128)
        if isinstance(size, int) and not memory[0] <= size <= memory[1]:
            findings.append(f"memory {size} MB is outside {memory[0]}-{memory[1]} MB")
        package = len(params.get("Code", {}).get("ZipFile", b""))
        if package > max_package:
            findings.append(f"zipped package is {package} bytes; at most {max_package}")
        for finding in findings:
            events = ", ".join(sorted(edge.events))
            yield _problem(
                edge.request, lambda_edge_function_settings, f"{name} ({events}) {finding}"
            )


def _trusted_services(document: str) -> set[str]:
    """Services an AssumeRole trust policy allows."""
    services: set[str] = set()
    for statement in _statements(json.loads(document)):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        principal = statement.get("Principal", {})
        named = principal.get("Service", []) if isinstance(principal, Mapping) else []
        services.update([named] if isinstance(named, str) else named)
    return services


@rule
def lambda_edge_role_trust(requests: Sequence[Request]) -> Iterator[Problem]:
    """Lambda@Edge restrictions: "The IAM execution role associated with the Lambda
    function must allow the service principals lambda.amazonaws.com and
    edgelambda.amazonaws.com to assume the role." """
    roles = {r.params.get("RoleName"): r for r in _of(requests, "CreateRole")}
    for edge in edge_functions(requests):
        role_arn = str(edge.params.get("Role", ""))
        role = roles.get(role_arn.rsplit("/", 1)[-1])
        if role is None:
            yield _problem(
                edge.request,
                lambda_edge_role_trust,
                f"execution role {role_arn!r} is not declared in this stack; its trust "
                "policy cannot be checked",
            )
            continue
        missing = {"lambda.amazonaws.com", "edgelambda.amazonaws.com"} - _trusted_services(
            role.params.get("AssumeRolePolicyDocument", "{}")
        )
        if missing:
            yield _problem(
                role,
                lambda_edge_role_trust,
                f"role of edge function {edge.params.get('FunctionName')} does not trust "
                f"{', '.join(sorted(missing))}",
            )


# Route 53 --------------------------------------------------------------------------

ROUTING_RECORD_PREFIX = "_routes."  # the routing table's name (docs/ARCHITECTURE.md)
_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _record_sets(requests: Sequence[Request]) -> Iterator[tuple[Request, dict]]:
    for request in _of(requests, "ChangeResourceRecordSets"):
        for change in request.params.get("ChangeBatch", {}).get("Changes", []):
            yield request, change.get("ResourceRecordSet", {})


def txt_strings(value: str) -> list[str] | None:
    """The character-strings of one TXT value (quoted, space-separated); None if malformed."""
    strings, position = [], 0
    value = value.strip()
    while position < len(value):
        match = _TXT_STRING.match(value, position)
        if match is None:
            return None
        strings.append(re.sub(r"\\(.)", r"\1", match[1]))
        position = match.end()
        while position < len(value) and value[position] == " ":
            position += 1
    return strings


@rule
def route53_multivalue_set_identifiers(requests: Sequence[Request]) -> Iterator[Problem]:
    """Route 53 multivalue answer routing: every record of a name and type needs a
    set identifier, unique among them, and all of them must use multivalue answer
    routing (a name and type cannot mix routing policies)."""
    groups: dict[tuple, list[tuple[Request, dict]]] = defaultdict(list)
    for request, record in _record_sets(requests):
        key = (request.params.get("HostedZoneId"), record.get("Name"), record.get("Type"))
        groups[key].append((request, record))
    for (_, name, kind), members in groups.items():
        if not any(record.get("MultiValueAnswer") for _, record in members):
            continue
        seen: dict[str, str] = {}
        for request, record in members:
            identifier = record.get("SetIdentifier")
            if not record.get("MultiValueAnswer"):
                message = "mixes simple and multivalue answer routing"
            elif not identifier:
                message = "is a multivalue answer record without a set identifier"
            elif identifier in seen:
                message = f"reuses set identifier {identifier!r} of {seen[identifier]}"
            else:
                seen[identifier] = request.source
                continue
            yield _problem(
                request, route53_multivalue_set_identifiers, f"{kind} record {name} {message}"
            )


@rule
def route53_health_check_settings(requests: Sequence[Request]) -> Iterator[Problem]:
    """Route 53 health checks: RequestInterval is 10 (fast) or 30 seconds; an
    HTTP(S)_STR_MATCH check needs a SearchString; an HTTP, HTTPS or TCP check needs a
    FullyQualifiedDomainName or an IPAddress to probe."""
    for request in _of(requests, "CreateHealthCheck"):
        config = request.params.get("HealthCheckConfig", {})
        kind = str(config.get("Type", ""))
        findings = []
        if config.get("RequestInterval", 30) not in (10, 30):
            findings.append(f"request interval {config.get('RequestInterval')}; use 10 or 30")
        if kind.endswith("_STR_MATCH") and not config.get("SearchString"):
            findings.append(f"type {kind} has no SearchString")
        endpoint = config.get("FullyQualifiedDomainName") or config.get("IPAddress")
        if kind.startswith(("HTTP", "TCP")) and not endpoint:
            findings.append(f"type {kind} has neither FullyQualifiedDomainName nor IPAddress")
        for finding in findings:
            yield _problem(request, route53_health_check_settings, finding)


@rule
def route53_txt_strings(requests: Sequence[Request]) -> Iterator[Problem]:
    """Route 53 TXT format: each value is one or more double-quoted strings, and "a
    single string can include up to 255 characters" (split longer text into several
    strings)."""
    for request, record in _record_sets(requests):
        if record.get("Type") not in ("TXT", "SPF"):
            continue
        for resource in record.get("ResourceRecords", []):
            value = str(resource.get("Value", ""))
            strings = txt_strings(value)
            if strings is None:
                yield _problem(
                    request,
                    route53_txt_strings,
                    f"TXT value {value!r} is not a sequence of double-quoted strings",
                )
                continue
            for text in strings:
                if len(text.encode()) > 255:
                    yield _problem(
                        request,
                        route53_txt_strings,
                        f"TXT string of {len(text.encode())} characters in {record.get('Name')};"
                        f" at most 255 per string: {text[:40]}...",
                    )


@rule
def route53_routing_record_values(requests: Sequence[Request]) -> Iterator[Problem]:
    """Routing table contract (docs/ARCHITECTURE.md): each routing TXT value reads
    ``v=1 region=<region> weight=<0-255>``, parsed by the edge function's own parser
    (Route 53's weight range is 0-255; the function ignores any other value)."""
    for request, record in _record_sets(requests):
        name = str(record.get("Name", ""))
        if record.get("Type") != "TXT" or not name.startswith(ROUTING_RECORD_PREFIX):
            continue
        for resource in record.get("ResourceRecords", []):
            try:
                parse_route_value("".join(txt_strings(str(resource.get("Value"))) or []))
            except ValueError as error:
                yield _problem(
                    request,
                    route53_routing_record_values,
                    f"routing value {resource.get('Value')} in {name}: {error}",
                )


# S3 ----------------------------------------------------------------------------------

BUCKET_POLICY_MAX_BYTES = 20 * 1024
_PRINCIPAL_KEYS = frozenset({"AWS", "Service", "CanonicalUser", "Federated"})
_AWS_PRINCIPAL = re.compile(
    r"\*|\d{12}|arn:aws[a-z-]*:iam::(\d{12}|cloudfront):(root|[A-Za-z-]+/.+)"
    r"|arn:aws[a-z-]*:sts::\d{12}:.+"
)


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _principal_problems(principal: Any) -> Iterator[str]:
    if principal == "*":
        return
    if not isinstance(principal, Mapping) or not principal:
        yield f"principal {principal!r} is neither '*' nor an object of principal types"
        return
    for kind, values in principal.items():
        if kind not in _PRINCIPAL_KEYS:
            yield f"principal type {kind!r} is not one of {', '.join(sorted(_PRINCIPAL_KEYS))}"
        for value in _as_list(values):
            if kind == "AWS" and not _AWS_PRINCIPAL.fullmatch(str(value)):
                yield f"AWS principal {value!r} is not '*', an account id or an IAM ARN"
            if kind == "Service" and not str(value).endswith(".amazonaws.com"):
                yield f"service principal {value!r} is not <service>.amazonaws.com"


@rule
def s3_bucket_policy_document(requests: Sequence[Request]) -> Iterator[Problem]:
    """S3 bucket policies: "Bucket policies are limited to 20 KB"; version
    2012-10-17; each statement has Effect Allow or Deny, an Action and a well-formed
    Principal ('*', or AWS account/ARN, Service, CanonicalUser, Federated); and
    every Resource lies in the policy's own bucket ("Policy has invalid resource")."""
    for request in _of(requests, "PutBucketPolicy"):
        text = str(request.params.get("Policy", ""))
        bucket = request.params.get("Bucket")
        findings = []
        if len(text.encode()) > BUCKET_POLICY_MAX_BYTES:
            findings.append(f"policy is {len(text.encode())} bytes; S3 allows 20 KB")
        try:
            document = json.loads(text)
        except ValueError as error:
            findings.append(f"policy is not JSON: {error}")
            document = {}
        if document and document.get("Version") != "2012-10-17":
            findings.append(f"policy Version {document.get('Version')!r}; use '2012-10-17'")
        for index, statement in enumerate(_statements(document)):
            label = f"statement {statement.get('Sid') or index}"
            if statement.get("Effect") not in ("Allow", "Deny"):
                findings.append(f"{label} Effect {statement.get('Effect')!r} (Allow or Deny)")
            if not statement.get("Action") and not statement.get("NotAction"):
                findings.append(f"{label} has no Action")
            findings += [f"{label} {p}" for p in _principal_problems(statement.get("Principal"))]
            for resource in _as_list(statement.get("Resource")):
                if not re.fullmatch(
                    rf"arn:aws[a-z-]*:s3:::{re.escape(str(bucket))}(/.*)?", resource
                ):
                    findings.append(f"{label} resource {resource!r} is outside bucket {bucket}")
        for finding in findings:
            yield _problem(request, s3_bucket_policy_document, finding)


@rule
def s3_replication_rules(requests: Sequence[Request]) -> Iterator[Problem]:
    """S3 replication configuration (V2, with Filter): every rule needs
    DeleteMarkerReplication and a Priority unique in the configuration; a rule must
    not replicate a bucket to itself; S3 RTC requires replication metrics enabled,
    and both take 15 minutes."""
    for request in _of(requests, "PutBucketReplication"):
        source = request.params.get("Bucket")
        rules = request.params.get("ReplicationConfiguration", {}).get("Rules", [])
        priorities: dict[Any, str] = {}
        for replication_rule in rules:
            label = f"rule {replication_rule.get('ID')!r}"
            findings = []
            destination = replication_rule.get("Destination", {})
            if "Filter" in replication_rule:
                if "DeleteMarkerReplication" not in replication_rule:
                    findings.append("has a Filter but no DeleteMarkerReplication")
                priority = replication_rule.get("Priority")
                if priority in priorities:
                    findings.append(f"repeats priority {priority} of {priorities[priority]}")
                priorities[priority] = label
            if str(destination.get("Bucket", "")).endswith(f":::{source}"):
                findings.append("replicates the bucket to itself")
            rtc = destination.get("ReplicationTime", {})
            metrics = destination.get("Metrics", {})
            if rtc.get("Status") == "Enabled" and metrics.get("Status") != "Enabled":
                findings.append("enables Replication Time Control without metrics")
            elif rtc.get("Status") == "Enabled":
                minutes = {
                    rtc.get("Time", {}).get("Minutes"),
                    metrics.get("EventThreshold", {}).get("Minutes"),
                }
                if minutes != {15}:
                    findings.append(f"RTC/metrics minutes are {sorted(map(str, minutes))}; use 15")
            for finding in findings:
                yield _problem(request, s3_replication_rules, f"{label} {finding}")


@rule
def s3_kms_objects_not_read_through_oai(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudFront origin access identity: "OAI doesn't support SSE-KMS" (the
    CloudFront developer guide, restricting access to an S3 origin): a bucket
    encrypted with SSE-KMS must not be an origin read through an OAI."""
    kms_buckets = {
        r.params.get("Bucket")
        for r in _of(requests, "PutBucketEncryption")
        for rule_ in r.params.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        if str(
            rule_.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "")
        ).startswith("aws:kms")
    }
    for request, config in _distribution_configs(requests):
        behind_oai = [
            str(origin.get("Id"))
            for origin in _list_items(config.get("Origins"))
            if origin.get("S3OriginConfig", {}).get("OriginAccessIdentity")
        ]
        if behind_oai and kms_buckets:
            yield _problem(
                request,
                s3_kms_objects_not_read_through_oai,
                f"origins {', '.join(behind_oai)} read through an origin access identity, but "
                f"buckets {', '.join(sorted(kms_buckets))} use SSE-KMS, which an OAI cannot "
                "decrypt (the edge function may route to any of them)",
            )


@rule
def s3_access_logging_target(requests: Sequence[Request]) -> Iterator[Problem]:
    """S3 server access logging: "The source and destination buckets must be in the
    same AWS Region and owned by the same account", and a bucket should not log to
    itself (every log delivery would create more logs)."""
    regions = {r.params.get("Bucket"): r.region for r in _of(requests, "CreateBucket")}
    for request in _of(requests, "PutBucketLogging"):
        source = request.params.get("Bucket")
        enabled = request.params.get("BucketLoggingStatus", {}).get("LoggingEnabled", {})
        target = enabled.get("TargetBucket")
        if target == source:
            yield _problem(request, s3_access_logging_target, f"bucket {source} logs to itself")
        elif target in regions and regions[target] != request.region:
            yield _problem(
                request,
                s3_access_logging_target,
                f"bucket {source} in {request.region} logs to {target} in {regions[target]}; "
                "S3 needs both in the same region",
            )


# CloudWatch ---------------------------------------------------------------------------

US_EAST_1_ONLY_NAMESPACES = frozenset({"AWS/CloudFront", "AWS/Route53"})


@rule
def cloudwatch_alarm_settings(requests: Sequence[Request]) -> Iterator[Problem]:
    """CloudWatch alarms: CloudFront (including Lambda@Edge error) and Route 53 health
    check metrics exist only in US East (N. Virginia); S3 replication metrics live in
    the source bucket's region; an alarm's SNS actions are topics in the alarm's own
    region; "Valid values [for Period] are 10, 30, and any multiple of 60"; Period x
    EvaluationPeriods is at most one day (86,400 s); DatapointsToAlarm <= EvaluationPeriods."""
    bucket_regions = {r.params.get("Bucket"): r.region for r in _of(requests, "CreateBucket")}
    for request in _of(requests, "PutMetricAlarm"):
        params, findings = request.params, []
        namespace = params.get("Namespace")
        if namespace in US_EAST_1_ONLY_NAMESPACES and request.region != "us-east-1":
            findings.append(
                f"watches {namespace} from {request.region}; its metrics are in us-east-1"
            )
        dimensions = {d.get("Name"): d.get("Value") for d in params.get("Dimensions", [])}
        source_region = bucket_regions.get(dimensions.get("SourceBucket"))
        if namespace == "AWS/S3" and source_region and source_region != request.region:
            findings.append(
                f"watches replication from {dimensions['SourceBucket']} ({source_region}) "
                f"from {request.region}"
            )
        actions = [*params.get("AlarmActions", []), *params.get("OKActions", [])]
        for action in actions:
            if str(action).startswith("arn:aws:sns:") and action.split(":")[3] != request.region:
                findings.append(f"notifies {action}, outside the alarm's region {request.region}")
        period = params.get("Period")
        evaluations = params.get("EvaluationPeriods")
        if isinstance(period, int) and period not in (10, 30) and period % 60:
            findings.append(f"period {period} s; use 10, 30 or a multiple of 60")
        if isinstance(period, int) and isinstance(evaluations, int):
            if period * evaluations > 86_400:
                findings.append(f"period x evaluation periods is {period * evaluations} s > 1 day")
            if params.get("DatapointsToAlarm", 0) > evaluations:
                findings.append(
                    f"datapoints to alarm {params['DatapointsToAlarm']} > {evaluations} periods"
                )
        for finding in findings:
            yield _problem(
                request, cloudwatch_alarm_settings, f"{params.get('AlarmName')} {finding}"
            )


# KMS ---------------------------------------------------------------------------------

KEY_POLICY_MAX_BYTES = 32 * 1024


@rule
def kms_key_settings(requests: Sequence[Request]) -> Iterator[Problem]:
    """AWS KMS: "The maximum length of a key policy document is 32 KB"; a key policy
    statement's Resource is "*" (the key itself) and its principals are well formed;
    ScheduleKeyDeletion's waiting period is 7-30 days; automatic rotation needs a
    symmetric encryption key (SYMMETRIC_DEFAULT)."""
    for request in _of(requests, "CreateKey"):
        text = str(request.params.get("Policy", "{}"))
        findings = []
        if len(text.encode()) > KEY_POLICY_MAX_BYTES:
            findings.append(f"key policy is {len(text.encode())} bytes; KMS allows 32 KB")
        for index, statement in enumerate(_statements(json.loads(text))):
            label = f"statement {statement.get('Sid') or index}"
            findings += [f"{label} {p}" for p in _principal_problems(statement.get("Principal"))]
            if _as_list(statement.get("Resource")) != ["*"]:
                findings.append(f"{label} Resource {statement.get('Resource')!r}; use '*'")
        same_key = [r for r in requests if r.source == request.source]
        for deletion in _of(same_key, "ScheduleKeyDeletion"):
            window = deletion.params.get("PendingWindowInDays")
            if isinstance(window, int) and not 7 <= window <= 30:
                findings.append(f"deletion window {window} days; KMS allows 7-30")
        spec = request.params.get("KeySpec", "SYMMETRIC_DEFAULT")
        if _of(same_key, "EnableKeyRotation") and spec != "SYMMETRIC_DEFAULT":
            findings.append(f"rotation is on, but key spec {spec} cannot rotate")
        for finding in findings:
            yield _problem(request, kms_key_settings, finding)


# -- the whole stack -----------------------------------------------------------------


def check_stack(registrations: Sequence[Registration]) -> Report:
    """Translate every registration, validate each request, apply every rule."""
    requests, problems, untranslated, unknown = translate_stack(registrations)
    for request in requests:
        problems += model_checks(request)
    for check in RULES:
        problems += list(check(requests))
    return Report(requests, problems, untranslated, unknown)
