"""AWS contract checks, part 1: what the program declares, as the AWS APIs receive it.

The Pulumi mocks accept anything, so a typo such as ``http_version="http9"`` passes
every unit test and fails only at ``pulumi up``. The contract checks close that gap
(docs/ARCHITECTURE.md, "AWS contract tests"):

1. **Translate** (this module): each recorded registration (camelCase inputs, as
   pulumi-aws sends them) becomes the API request(s) the Terraform AWS provider's
   expand functions build from it (pulumi-aws is built on that provider): a
   ``aws:cloudfront/distribution:Distribution`` becomes CloudFront
   ``CreateDistribution`` with a ``DistributionConfig``, and so on. One translator
   per type token (:data:`TRANSLATORS`); an input key no translator reads is
   reported, never dropped.
2. **Validate** (``aws_rules.py``): botocore's service models, then the documented
   AWS rules the models cannot express.

Types without a translator are either listed in :data:`UNTRANSLATED` with the reason
or reported by :func:`translate_stack` as unknown, so a new resource type is never
silently left unchecked. To cover a new type, add one ``@translates(...)`` function.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asset_delivery.edge_package import zip_archive
from asset_delivery.lab.stack import archive_bytes
from asset_delivery.testing import Registration

# -- what a check produces -----------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One AWS API call the provider would make for a declared resource."""

    service: str
    operation: str
    params: dict[str, Any]
    source: str
    """``<type token> <resource name>``: where the request came from."""
    region: str = "us-east-1"
    arn: str = ""
    """The resource's ARN as the mocks answered it (links requests across resources)."""


@dataclass(frozen=True)
class Problem:
    """Something AWS would reject (or a documented rule the stack breaks)."""

    source: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: [{self.check}] {self.message}"


# -- reading recorded inputs ---------------------------------------------------------


class Fields:
    """The recorded inputs of one object; remembers every key the translation read.

    Keys never read are reported as unknown (see :meth:`unknown_keys`): pulumi-aws
    would reject a key it does not know, and a key it knows but this module does
    not translate must be added here rather than pass unchecked.
    """

    def __init__(self, data: Mapping[str, Any], path: str, registry: list[Fields]) -> None:
        self._data = data
        self.path = path
        self._read: set[str] = set()
        self._registry = registry
        registry.append(self)

    @classmethod
    def root(cls, data: Mapping[str, Any]) -> Fields:
        return cls(data, "", [])

    def __contains__(self, key: str) -> bool:
        self._read.add(key)
        return self._data.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        self._read.add(key)
        value = self._data.get(key)
        return default if value is None else value

    def int(self, key: str, default: int | None = None) -> Any:
        """Numbers reach the mocks as floats; the API wants integers."""
        value = self.get(key, default)
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def obj(self, key: str) -> Fields | None:
        value = self.get(key)
        if value is None:
            return None
        return Fields(value, self._child(key), self._registry)

    def objs(self, key: str) -> list[Fields]:
        return [
            Fields(item, f"{self._child(key)}[{i}]", self._registry)
            for i, item in enumerate(self.get(key, []))
        ]

    def ignore(self, *keys: str) -> None:
        """Inputs the provider handles itself (no API field): read, not translated."""
        self._read.update(keys)

    def unknown_keys(self) -> Iterator[tuple[str, str, list[str]]]:
        """(path, key, keys the translation reads there) for every key never read."""
        for fields in self._registry:
            for key in sorted(set(fields._data) - fields._read):
                yield fields.path or "(top level)", key, sorted(fields._read)

    def _child(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def items(values: Sequence[Any]) -> dict[str, Any]:
    """CloudFront's list wrapper: ``{"Quantity": n, "Items": [...]}`` (no Items at 0)."""
    return {"Quantity": len(values), "Items": list(values)} if values else {"Quantity": 0}


def compact(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop members the provider leaves unset (None)."""
    return {key: value for key, value in params.items() if value is not None}


def _tag_list(f: Fields, key: str = "Key", value: str = "Value") -> list[dict] | None:
    """Tags as the list of pairs most APIs take (the map form is left to each caller)."""
    return [{key: k, value: v} for k, v in f.get("tags", {}).items()] or None


# -- translators: one per type token -------------------------------------------------

Translator = Callable[[Registration, Fields, "Stack"], list[Request]]
TRANSLATORS: dict[str, Translator] = {}

UNTRANSLATED: dict[str, str] = {
    "asset-delivery:index:MultiRegionAssetDelivery": "the component itself: no AWS API call",
    "aws:acm/certificateValidation:CertificateValidation": "no request of its own: the "
    "provider polls DescribeCertificate until the certificate is ISSUED",
}
"""Type tokens deliberately not translated, each with the reason."""


def translates(type_token: str) -> Callable[[Translator], Translator]:
    def register(translator: Translator) -> Translator:
        if type_token in TRANSLATORS:  # two translators for one type: the first would be lost
            raise ValueError(f"{type_token} already translated by {TRANSLATORS[type_token]}")
        TRANSLATORS[type_token] = translator
        return translator

    return register


class Stack:
    """Lookups across registrations (names the provider computes, zone names)."""

    def __init__(self, registrations: Sequence[Registration]) -> None:
        self.registrations = list(registrations)
        self.zone_names = {
            r.state.get("zoneId") or r.id: str(r.inputs.get("name", ""))
            for r in self.registrations
            if r.type == "aws:route53/zone:Zone"
        }


def _region(reg: Registration) -> str:
    return str(reg.inputs.get("region") or "us-east-1")


def _request(reg: Registration, service: str, operation: str, params: dict) -> Request:
    source = f"{reg.type} {reg.name}"
    return Request(service, operation, params, source, _region(reg), str(reg.state.get("arn", "")))


# CloudFront: distribution_configuration_structure.go (expandDistributionConfig & co).


def _cache_behavior(b: Fields) -> dict[str, Any]:
    """ExpandDefaultCacheBehavior / expandCacheBehavior."""
    allowed = items(b.get("allowedMethods", []))
    allowed["CachedMethods"] = items(b.get("cachedMethods", []))
    behavior: dict[str, Any] = {
        "TargetOriginId": b.get("targetOriginId"),
        "ViewerProtocolPolicy": b.get("viewerProtocolPolicy"),
        "CachePolicyId": b.get("cachePolicyId", ""),
        "OriginRequestPolicyId": b.get("originRequestPolicyId", ""),
        "ResponseHeadersPolicyId": b.get("responseHeadersPolicyId", ""),
        "FieldLevelEncryptionId": b.get("fieldLevelEncryptionId", ""),
        "Compress": b.get("compress", False),
        "SmoothStreaming": b.get("smoothStreaming", False),
        "AllowedMethods": allowed,
        "TrustedKeyGroups": {
            **items(b.get("trustedKeyGroups", [])),
            "Enabled": bool(b.get("trustedKeyGroups")),
        },
        "TrustedSigners": {
            **items(b.get("trustedSigners", [])),
            "Enabled": bool(b.get("trustedSigners")),
        },
        "LambdaFunctionAssociations": items(
            [
                {
                    "LambdaFunctionARN": a.get("lambdaArn"),
                    "EventType": a.get("eventType"),
                    "IncludeBody": a.get("includeBody", False),
                }
                for a in b.objs("lambdaFunctionAssociations")
            ]
        ),
        "FunctionAssociations": items(
            [
                {"FunctionARN": a.get("functionArn"), "EventType": a.get("eventType")}
                for a in b.objs("functionAssociations")
            ]
        ),
    }
    if "pathPattern" in b:
        behavior["PathPattern"] = b.get("pathPattern")
    if "realtimeLogConfigArn" in b:
        behavior["RealtimeLogConfigArn"] = b.get("realtimeLogConfigArn")
    if not behavior["CachePolicyId"]:
        behavior.update(
            MinTTL=b.int("minTtl", 0), DefaultTTL=b.int("defaultTtl"), MaxTTL=b.int("maxTtl")
        )
    else:
        b.ignore("minTtl", "defaultTtl", "maxTtl")
    forwarded = b.obj("forwardedValues")
    if forwarded is not None:
        cookies = forwarded.obj("cookies")
        behavior["ForwardedValues"] = compact(
            {
                "QueryString": forwarded.get("queryString", False),
                "Cookies": cookies
                and compact(
                    {
                        "Forward": cookies.get("forward"),
                        "WhitelistedNames": items(cookies.get("whitelistedNames", [])),
                    }
                ),
                "Headers": items(forwarded.get("headers", [])),
                "QueryStringCacheKeys": items(forwarded.get("queryStringCacheKeys", [])),
            }
        )
    return compact(behavior)


def _origin(o: Fields) -> dict[str, Any]:
    """ExpandOrigin: an origin with no custom config gets an (empty) S3 config."""
    origin: dict[str, Any] = {
        "Id": o.get("originId"),
        "DomainName": o.get("domainName"),
        "OriginPath": o.get("originPath", ""),
        "ConnectionAttempts": o.int("connectionAttempts", 3),
        "ConnectionTimeout": o.int("connectionTimeout", 10),
        "OriginAccessControlId": o.get("originAccessControlId", ""),
        "CustomHeaders": items(
            [
                {"HeaderName": h.get("name"), "HeaderValue": h.get("value")}
                for h in o.objs("customHeaders")
            ]
        ),
    }
    custom = o.obj("customOriginConfig")
    if custom is not None:
        origin["CustomOriginConfig"] = {
            "HTTPPort": custom.int("httpPort"),
            "HTTPSPort": custom.int("httpsPort"),
            "OriginProtocolPolicy": custom.get("originProtocolPolicy"),
            "OriginSslProtocols": items(custom.get("originSslProtocols", [])),
            "OriginReadTimeout": custom.int("originReadTimeout", 30),
            "OriginKeepaliveTimeout": custom.int("originKeepaliveTimeout", 5),
        }
    shield = o.obj("originShield")
    if shield is not None:
        origin["OriginShield"] = compact(
            {
                "Enabled": shield.get("enabled"),
                "OriginShieldRegion": shield.get("originShieldRegion"),
            }
        )
    s3 = o.obj("s3OriginConfig")
    if s3 is not None:
        origin["S3OriginConfig"] = {"OriginAccessIdentity": s3.get("originAccessIdentity", "")}
    elif custom is None:
        origin["S3OriginConfig"] = {"OriginAccessIdentity": ""}
    return origin


def _origin_group(g: Fields) -> dict[str, Any]:
    criteria = g.obj("failoverCriteria")
    codes = [] if criteria is None else criteria.get("statusCodes", [])
    return {
        "Id": g.get("originId"),
        "FailoverCriteria": {
            "StatusCodes": items([int(c) if isinstance(c, float) else c for c in codes])
        },
        "Members": items([{"OriginId": m.get("originId")} for m in g.objs("members")]),
    }


def _viewer_certificate(v: Fields | None) -> dict[str, Any] | None:
    """ExpandViewerCertificate: IAM, then ACM, else the CloudFront default certificate."""
    if v is None:
        return None
    certificate: dict[str, Any] = {}
    if v.get("iamCertificateId"):
        certificate.update(
            IAMCertificateId=v.get("iamCertificateId"), SSLSupportMethod=v.get("sslSupportMethod")
        )
    elif v.get("acmCertificateArn"):
        certificate.update(
            ACMCertificateArn=v.get("acmCertificateArn"), SSLSupportMethod=v.get("sslSupportMethod")
        )
    else:
        certificate["CloudFrontDefaultCertificate"] = v.get("cloudfrontDefaultCertificate", False)
        v.ignore("sslSupportMethod")
    if v.get("minimumProtocolVersion"):
        certificate["MinimumProtocolVersion"] = v.get("minimumProtocolVersion")
    return certificate


@translates("aws:cloudfront/distribution:Distribution")
def distribution(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateDistribution, as expandDistributionConfig builds it."""
    geo = None
    restrictions = f.obj("restrictions")
    if restrictions is not None:
        geo_fields = restrictions.obj("geoRestriction")
        if geo_fields is not None:
            geo = {
                "RestrictionType": geo_fields.get("restrictionType"),
                **items(geo_fields.get("locations", [])),
            }
    logging = f.obj("loggingConfig")
    config = {
        "CallerReference": reg.urn or reg.name,
        "Comment": f.get("comment", ""),
        "Enabled": f.get("enabled"),
        "IsIPV6Enabled": f.get("isIpv6Enabled", False),
        "HttpVersion": f.get("httpVersion", "http2"),
        "PriceClass": f.get("priceClass", "PriceClass_All"),
        "WebACLId": f.get("webAclId", ""),
        "DefaultRootObject": f.get("defaultRootObject", ""),
        "Staging": f.get("staging", False),
        "ContinuousDeploymentPolicyId": f.get("continuousDeploymentPolicyId", ""),
        "Aliases": items(f.get("aliases", [])),
        "Origins": items([_origin(o) for o in f.objs("origins")]),
        "OriginGroups": items([_origin_group(g) for g in f.objs("originGroups")]),
        "DefaultCacheBehavior": _cache_behavior(f.obj("defaultCacheBehavior") or Fields.root({})),
        "CacheBehaviors": items([_cache_behavior(b) for b in f.objs("orderedCacheBehaviors")]),
        "CustomErrorResponses": items(
            [
                compact(
                    {
                        "ErrorCode": e.int("errorCode"),
                        "ErrorCachingMinTTL": e.int("errorCachingMinTtl"),
                        "ResponseCode": str(e.int("responseCode", "")),
                        "ResponsePagePath": e.get("responsePagePath", ""),
                    }
                )
                for e in f.objs("customErrorResponses")
            ]
        ),
        "Logging": {
            "Enabled": logging is not None,
            "IncludeCookies": False if logging is None else logging.get("includeCookies", False),
            "Bucket": "" if logging is None else logging.get("bucket", ""),
            "Prefix": "" if logging is None else logging.get("prefix", ""),
        },
        "Restrictions": geo and {"GeoRestriction": geo},
        "ViewerCertificate": _viewer_certificate(f.obj("viewerCertificate")),
    }
    # Provider-side settings with no API field.
    f.ignore("retainOnDelete", "waitForDeployment", "tags")
    return [
        _request(reg, "cloudfront", "CreateDistribution", {"DistributionConfig": compact(config)})
    ]


@translates("aws:cloudfront/originAccessIdentity:OriginAccessIdentity")
def origin_access_identity(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    config = {"CallerReference": reg.urn or reg.name, "Comment": f.get("comment", "")}
    return [
        _request(
            reg,
            "cloudfront",
            "CreateCloudFrontOriginAccessIdentity",
            {"CloudFrontOriginAccessIdentityConfig": config},
        )
    ]


def _named_items(fields: Fields | None) -> dict[str, Any] | None:
    """``{items: [...]}`` blocks (headers, cookies, query strings) as ``{Quantity, Items}``."""
    return None if fields is None else items(fields.get("items", []))


@translates("aws:cloudfront/cachePolicy:CachePolicy")
def cache_policy(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateCachePolicy, as cache_policy_structure.go expands it."""
    parameters = f.obj("parametersInCacheKeyAndForwardedToOrigin") or Fields.root({})
    headers = parameters.obj("headersConfig") or Fields.root({})
    cookies = parameters.obj("cookiesConfig") or Fields.root({})
    query = parameters.obj("queryStringsConfig") or Fields.root({})
    config = {
        "Name": f.get("name") or reg.id,
        "Comment": f.get("comment", ""),
        "DefaultTTL": f.int("defaultTtl", 86400),
        "MaxTTL": f.int("maxTtl", 31536000),
        "MinTTL": f.int("minTtl"),
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": parameters.get("enableAcceptEncodingGzip", False),
            "EnableAcceptEncodingBrotli": parameters.get("enableAcceptEncodingBrotli", False),
            "HeadersConfig": compact(
                {
                    "HeaderBehavior": headers.get("headerBehavior"),
                    "Headers": _named_items(headers.obj("headers")),
                }
            ),
            "CookiesConfig": compact(
                {
                    "CookieBehavior": cookies.get("cookieBehavior"),
                    "Cookies": _named_items(cookies.obj("cookies")),
                }
            ),
            "QueryStringsConfig": compact(
                {
                    "QueryStringBehavior": query.get("queryStringBehavior"),
                    "QueryStrings": _named_items(query.obj("queryStrings")),
                }
            ),
        },
    }
    return [
        _request(reg, "cloudfront", "CreateCachePolicy", {"CachePolicyConfig": compact(config)})
    ]


def _override(fields: Fields | None, **members: str) -> dict[str, Any] | None:
    """A security header block: ``Override`` plus the given (API name: input key) members."""
    if fields is None:
        return None
    block = {"Override": fields.get("override")}
    for api, key in members.items():
        block[api] = fields.int(key)
    return compact(block)


@translates("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
def response_headers_policy(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateResponseHeadersPolicy (response_headers_policy.go expanders)."""
    cors = f.obj("corsConfig")
    security = f.obj("securityHeadersConfig")
    custom = f.obj("customHeadersConfig")
    config = {
        "Name": f.get("name") or reg.id,
        "Comment": f.get("comment"),
        "CorsConfig": cors
        and compact(
            {
                "AccessControlAllowOrigins": _named_items(cors.obj("accessControlAllowOrigins")),
                "AccessControlAllowHeaders": _named_items(cors.obj("accessControlAllowHeaders")),
                "AccessControlAllowMethods": _named_items(cors.obj("accessControlAllowMethods")),
                "AccessControlExposeHeaders": _named_items(cors.obj("accessControlExposeHeaders")),
                "AccessControlAllowCredentials": cors.get("accessControlAllowCredentials"),
                "AccessControlMaxAgeSec": cors.int("accessControlMaxAgeSec"),
                "OriginOverride": cors.get("originOverride"),
            }
        ),
        "SecurityHeadersConfig": security
        and compact(
            {
                "XSSProtection": _override(
                    security.obj("xssProtection"),
                    Protection="protection",
                    ModeBlock="modeBlock",
                    ReportUri="reportUri",
                ),
                "FrameOptions": _override(security.obj("frameOptions"), FrameOption="frameOption"),
                "ReferrerPolicy": _override(
                    security.obj("referrerPolicy"), ReferrerPolicy="referrerPolicy"
                ),
                "ContentSecurityPolicy": _override(
                    security.obj("contentSecurityPolicy"),
                    ContentSecurityPolicy="contentSecurityPolicy",
                ),
                "ContentTypeOptions": _override(security.obj("contentTypeOptions")),
                "StrictTransportSecurity": _override(
                    security.obj("strictTransportSecurity"),
                    IncludeSubdomains="includeSubdomains",
                    Preload="preload",
                    AccessControlMaxAgeSec="accessControlMaxAgeSec",
                ),
            }
        ),
        "CustomHeadersConfig": custom
        and items(
            [
                {"Header": h.get("header"), "Value": h.get("value"), "Override": h.get("override")}
                for h in custom.objs("items")
            ]
        ),
    }
    params = {"ResponseHeadersPolicyConfig": compact(config)}
    return [_request(reg, "cloudfront", "CreateResponseHeadersPolicy", params)]


# Lambda: function.go (resourceFunctionCreate; publish=true publishes version 1).


@translates("aws:lambda/function:Function")
def lambda_function(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateFunction (Publish=True makes version 1) and PublishVersion on updates."""
    name = reg.state.get("name") or reg.id
    code = f.get("code")
    environment = f.obj("environment")
    vpc = f.obj("vpcConfig")
    params = compact(
        {
            "FunctionName": name,
            "Role": f.get("role"),
            "Runtime": f.get("runtime"),
            "Handler": f.get("handler"),
            "Description": f.get("description"),
            "Timeout": f.int("timeout", 3),
            "MemorySize": f.int("memorySize", 128),
            "Publish": f.get("publish", False),
            "PackageType": f.get("packageType", "Zip"),
            "Architectures": f.get("architectures"),
            "Code": {"ZipFile": zip_archive(archive_bytes(code))} if code is not None else None,
            "Environment": environment and {"Variables": environment.get("variables", {})},
            "Layers": f.get("layers"),
            "VpcConfig": vpc
            and {
                "SubnetIds": vpc.get("subnetIds", []),
                "SecurityGroupIds": vpc.get("securityGroupIds", []),
            },
            "KMSKeyArn": f.get("kmsKeyArn"),
            "Tags": f.get("tags"),
        }
    )
    f.ignore("region", "name", "skipDestroy", "sourceCodeHash")
    requests = [_request(reg, "lambda", "CreateFunction", params)]
    if params.get("Publish"):
        requests.append(_request(reg, "lambda", "PublishVersion", {"FunctionName": name}))
    return requests


# IAM: role.go, role_policy.go.


@translates("aws:iam/role:Role")
def iam_role(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = compact(
        {
            "RoleName": reg.state.get("name") or reg.id,
            "AssumeRolePolicyDocument": f.get("assumeRolePolicy"),
            "Description": f.get("description"),
            "Path": f.get("path"),
            "MaxSessionDuration": f.int("maxSessionDuration"),
            "PermissionsBoundary": f.get("permissionsBoundary"),
            "Tags": _tag_list(f),
        }
    )
    f.ignore("forceDetachPolicies")
    return [_request(reg, "iam", "CreateRole", params)]


@translates("aws:iam/rolePolicy:RolePolicy")
def iam_role_policy(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = {
        "RoleName": f.get("role"),
        "PolicyName": f.get("name") or reg.id,
        "PolicyDocument": f.get("policy"),
    }
    return [_request(reg, "iam", "PutRolePolicy", params)]


# Route 53: record.go (expandResourceRecordSet), health_check.go, zone.go.


def _txt_quoted(value: str) -> str:
    """flattenTxtEntry: the provider wraps each TXT record value in double quotes."""
    return f'"{value}"'


@translates("aws:route53/record:Record")
def route53_record(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    zone_id = f.get("zoneId")
    record_type = f.get("type")
    name = str(f.get("name", "")).rstrip(".").lower()
    zone_name = stack.zone_names.get(zone_id, "").rstrip(".")
    if zone_name and not name.endswith(zone_name):
        name = f"{name}.{zone_name}" if name else zone_name
    record_set: dict[str, Any] = {"Name": name, "Type": record_type}
    values = f.get("records")
    if values is not None:
        quote = _txt_quoted if record_type in ("TXT", "SPF") else str
        record_set["ResourceRecords"] = [{"Value": quote(v)} for v in values]
        record_set["TTL"] = f.int("ttl")
    for alias in f.objs("aliases"):
        record_set["AliasTarget"] = {
            "DNSName": alias.get("name"),
            "HostedZoneId": alias.get("zoneId"),
            "EvaluateTargetHealth": alias.get("evaluateTargetHealth"),
        }
    for key, api_key in (("setIdentifier", "SetIdentifier"), ("healthCheckId", "HealthCheckId")):
        if key in f:
            record_set[api_key] = f.get(key)
    if f.get("multivalueAnswerRoutingPolicy"):
        record_set["MultiValueAnswer"] = True
    for policy in f.objs("weightedRoutingPolicies"):
        record_set["Weight"] = policy.int("weight")
    for policy in f.objs("failoverRoutingPolicies"):
        record_set["Failover"] = policy.get("type")
    for policy in f.objs("latencyRoutingPolicies"):
        record_set["Region"] = policy.get("region")
    action = "UPSERT" if f.get("allowOverwrite") else "CREATE"
    params = {
        "HostedZoneId": zone_id,
        "ChangeBatch": {
            "Comment": "Managed by Pulumi",
            "Changes": [{"Action": action, "ResourceRecordSet": record_set}],
        },
    }
    return [_request(reg, "route53", "ChangeResourceRecordSets", params)]


@translates("aws:route53/healthCheck:HealthCheck")
def route53_health_check(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """resourceHealthCheckCreate: only set (non-zero) fields are sent (GetOk)."""
    names = {
        "type": "Type",
        "fqdn": "FullyQualifiedDomainName",
        "ipAddress": "IPAddress",
        "port": "Port",
        "enableSni": "EnableSNI",
        "resourcePath": "ResourcePath",
        "searchString": "SearchString",
        "requestInterval": "RequestInterval",
        "failureThreshold": "FailureThreshold",
        "invertHealthcheck": "Inverted",
        "disabled": "Disabled",
        "measureLatency": "MeasureLatency",
        "regions": "Regions",
        "childHealthThreshold": "HealthThreshold",
        "childHealthchecks": "ChildHealthChecks",
        "insufficientDataHealthStatus": "InsufficientDataHealthStatus",
        "routingControlArn": "RoutingControlArn",
    }
    config = {api: f.int(key) for key, api in names.items() if f.get(key)}
    if f.get("cloudwatchAlarmName"):
        config["AlarmIdentifier"] = {
            "Name": f.get("cloudwatchAlarmName"),
            "Region": f.get("cloudwatchAlarmRegion"),
        }
    f.ignore("tags", "triggers")  # tags go to ChangeTagsForResource
    reference = f.get("referenceName")
    caller = f"{reference}-{reg.id}" if reference else reg.urn or reg.name
    params = {"CallerReference": caller[:64], "HealthCheckConfig": config}
    return [_request(reg, "route53", "CreateHealthCheck", params)]


@translates("aws:route53/zone:Zone")
def route53_zone(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = compact(
        {
            "Name": f.get("name"),
            "CallerReference": reg.id,
            "HostedZoneConfig": {
                "Comment": f.get("comment", ""),
                "PrivateZone": bool(f.get("vpcs")),
            },
            "DelegationSetId": f.get("delegationSetId"),
        }
    )
    f.ignore("forceDestroy", "tags")
    return [_request(reg, "route53", "CreateHostedZone", params)]


# S3: bucket.go and one resource per bucket configuration (bucket_*.go).


def _bucket_name(f: Fields) -> Any:
    f.ignore("region", "expectedBucketOwner")
    return f.get("bucket")


@translates("aws:s3/bucket:Bucket")
def s3_bucket(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateBucket; us-east-1 takes no LocationConstraint."""
    region = _region(reg)
    params: dict[str, Any] = {"Bucket": reg.state.get("bucket") or reg.id}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    if f.get("objectLockEnabled"):
        params["ObjectLockEnabledForBucket"] = True
    f.ignore("region", "forceDestroy", "tags", "bucketPrefix", "bucket")
    return [_request(reg, "s3", "CreateBucket", params)]


@translates("aws:s3/bucketVersioning:BucketVersioning")
def s3_versioning(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    versioning = f.obj("versioningConfiguration") or Fields.root({})
    configuration = compact(
        {"Status": versioning.get("status"), "MFADelete": versioning.get("mfaDelete")}
    )
    params = compact(
        {"Bucket": _bucket_name(f), "VersioningConfiguration": configuration, "MFA": f.get("mfa")}
    )
    return [_request(reg, "s3", "PutBucketVersioning", params)]


@translates("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
def s3_public_access_block(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    keys = {
        "blockPublicAcls": "BlockPublicAcls",
        "ignorePublicAcls": "IgnorePublicAcls",
        "blockPublicPolicy": "BlockPublicPolicy",
        "restrictPublicBuckets": "RestrictPublicBuckets",
    }
    configuration = {api: f.get(key, False) for key, api in keys.items()}
    f.ignore("skipDestroy")
    params = {"Bucket": _bucket_name(f), "PublicAccessBlockConfiguration": configuration}
    return [_request(reg, "s3", "PutPublicAccessBlock", params)]


@translates("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
def s3_ownership_controls(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    rule = f.obj("rule") or Fields.root({})
    controls = {"Rules": [{"ObjectOwnership": rule.get("objectOwnership")}]}
    params = {"Bucket": _bucket_name(f), "OwnershipControls": controls}
    return [_request(reg, "s3", "PutBucketOwnershipControls", params)]


@translates(
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
def s3_encryption(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    rules = []
    for rule in f.objs("rules"):
        default = rule.obj("applyServerSideEncryptionByDefault") or Fields.root({})
        rules.append(
            compact(
                {
                    "ApplyServerSideEncryptionByDefault": compact(
                        {
                            "SSEAlgorithm": default.get("sseAlgorithm"),
                            "KMSMasterKeyID": default.get("kmsMasterKeyId"),
                        }
                    ),
                    "BucketKeyEnabled": rule.get("bucketKeyEnabled"),
                }
            )
        )
    params = {"Bucket": _bucket_name(f), "ServerSideEncryptionConfiguration": {"Rules": rules}}
    return [_request(reg, "s3", "PutBucketEncryption", params)]


def _lifecycle_filter(flt: Fields | None) -> dict[str, Any] | None:
    if flt is None:
        return None
    return compact(
        {
            "Prefix": flt.get("prefix"),
            "ObjectSizeGreaterThan": flt.int("objectSizeGreaterThan"),
            "ObjectSizeLessThan": flt.int("objectSizeLessThan"),
        }
    )


@translates("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def s3_lifecycle(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    rules = []
    for rule in f.objs("rules"):
        expiration = rule.obj("expiration")
        noncurrent = rule.obj("noncurrentVersionExpiration")
        abort = rule.obj("abortIncompleteMultipartUpload")
        rules.append(
            compact(
                {
                    "ID": rule.get("id"),
                    "Status": rule.get("status"),
                    "Filter": _lifecycle_filter(rule.obj("filter")),
                    "Prefix": rule.get("prefix"),
                    "Expiration": expiration
                    and compact(
                        {
                            "Days": expiration.int("days"),
                            "Date": expiration.get("date"),
                            "ExpiredObjectDeleteMarker": expiration.get(
                                "expiredObjectDeleteMarker"
                            ),
                        }
                    ),
                    "NoncurrentVersionExpiration": noncurrent
                    and compact(
                        {
                            "NoncurrentDays": noncurrent.int("noncurrentDays"),
                            "NewerNoncurrentVersions": noncurrent.int("newerNoncurrentVersions"),
                        }
                    ),
                    "AbortIncompleteMultipartUpload": abort
                    and {"DaysAfterInitiation": abort.int("daysAfterInitiation")},
                }
            )
        )
    params = compact(
        {
            "Bucket": _bucket_name(f),
            "LifecycleConfiguration": {"Rules": rules},
            "TransitionDefaultMinimumObjectSize": f.get("transitionDefaultMinimumObjectSize"),
        }
    )
    return [_request(reg, "s3", "PutBucketLifecycleConfiguration", params)]


@translates("aws:s3/bucketPolicy:BucketPolicy")
def s3_bucket_policy(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = {"Bucket": _bucket_name(f), "Policy": f.get("policy")}
    return [_request(reg, "s3", "PutBucketPolicy", params)]


@translates("aws:s3/bucketObjectv2:BucketObjectv2")
def s3_object(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    keys = {
        "key": "Key",
        "contentType": "ContentType",
        "cacheControl": "CacheControl",
        "contentEncoding": "ContentEncoding",
        "contentDisposition": "ContentDisposition",
        "serverSideEncryption": "ServerSideEncryption",
        "kmsKeyId": "SSEKMSKeyId",
        "storageClass": "StorageClass",
    }
    params = {"Bucket": _bucket_name(f), **{api: f.get(key) for key, api in keys.items()}}
    content = f.get("content")
    params["Body"] = content.encode() if isinstance(content, str) else content
    f.ignore("forceDestroy", "tags")
    return [_request(reg, "s3", "PutObject", compact(params))]


@translates("aws:s3/bucketLogging:BucketLogging")
def s3_bucket_logging(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """PutBucketLogging (bucket_logging.go): server access logs to a target bucket."""
    key_format = f.obj("targetObjectKeyFormat")
    partitioned = key_format and key_format.obj("partitionedPrefix")
    simple = key_format and key_format.obj("simplePrefix")
    target = {
        "TargetBucket": f.get("targetBucket"),
        "TargetPrefix": f.get("targetPrefix", ""),
        "TargetObjectKeyFormat": key_format
        and compact(
            {
                "PartitionedPrefix": partitioned
                and compact({"PartitionDateSource": partitioned.get("partitionDateSource")}),
                "SimplePrefix": simple and {},
            }
        ),
    }
    params = {"Bucket": _bucket_name(f), "BucketLoggingStatus": {"LoggingEnabled": compact(target)}}
    return [_request(reg, "s3", "PutBucketLogging", params)]


def _replication_filter(flt: Fields) -> dict[str, Any]:
    """expandReplicationRuleFilter: exactly one of Prefix, Tag, And."""
    tag = flt.obj("tag")
    if tag is not None:
        return {"Tag": {"Key": tag.get("key"), "Value": tag.get("value")}}
    conjunction = flt.obj("and")
    if conjunction is not None:
        tags = [{"Key": k, "Value": v} for k, v in conjunction.get("tags", {}).items()]
        return compact({"And": compact({"Prefix": conjunction.get("prefix"), "Tags": tags})})
    return {"Prefix": flt.get("prefix", "")}


def _status(fields: Fields | None) -> dict[str, Any] | None:
    return None if fields is None else {"Status": fields.get("status")}


def _minutes(fields: Fields | None) -> dict[str, Any] | None:
    return None if fields is None else {"Minutes": fields.int("minutes")}


def _replication_destination(d: Fields) -> dict[str, Any]:
    """expandReplicationRuleDestination."""
    replication_time = d.obj("replicationTime")
    metrics = d.obj("metrics")
    translation = d.obj("accessControlTranslation")
    encryption = d.obj("encryptionConfiguration")
    return compact(
        {
            "Bucket": d.get("bucket"),
            "Account": d.get("account"),
            "StorageClass": d.get("storageClass"),
            "AccessControlTranslation": translation and {"Owner": translation.get("owner")},
            "EncryptionConfiguration": encryption
            and {"ReplicaKmsKeyID": encryption.get("replicaKmsKeyId")},
            "ReplicationTime": replication_time
            and compact(
                {
                    "Status": replication_time.get("status"),
                    "Time": _minutes(replication_time.obj("time")),
                }
            ),
            "Metrics": metrics
            and compact(
                {
                    "Status": metrics.get("status"),
                    "EventThreshold": _minutes(metrics.obj("eventThreshold")),
                }
            ),
        }
    )


@translates("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
def s3_replication(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """PutBucketReplication, as expandReplicationRules builds it (V2 schema with Filter)."""
    rules = []
    for rule in f.objs("rules"):
        selection = rule.obj("sourceSelectionCriteria")
        api_rule: dict[str, Any] = {
            "ID": rule.get("id"),
            "Status": rule.get("status"),
            "DeleteMarkerReplication": _status(rule.obj("deleteMarkerReplication")),
            "ExistingObjectReplication": _status(rule.obj("existingObjectReplication")),
            "Destination": _replication_destination(rule.obj("destination") or Fields.root({})),
            "SourceSelectionCriteria": selection
            and compact(
                {
                    "ReplicaModifications": _status(selection.obj("replicaModifications")),
                    "SseKmsEncryptedObjects": _status(selection.obj("sseKmsEncryptedObjects")),
                }
            ),
        }
        flt = rule.obj("filter")
        if flt is not None:  # XML schema V2
            api_rule["Filter"] = _replication_filter(flt)
            api_rule["Priority"] = rule.int("priority", 0)
        else:  # XML schema V1
            api_rule["Prefix"] = rule.get("prefix", "")
            rule.ignore("priority")
        rules.append(compact(api_rule))
    params = compact(
        {
            "Bucket": _bucket_name(f),
            "ReplicationConfiguration": {"Role": f.get("role"), "Rules": rules},
            "Token": f.get("token"),
        }
    )
    return [_request(reg, "s3", "PutBucketReplication", params)]


# WAFv2: web_acl.go (expandWebACLRules and the statement expanders).


def _empty_blocks(fields: Fields | None, *names: str) -> dict[str, Any] | None:
    """``{allow: {}}`` style choices: the one present, with its (empty) body."""
    if fields is None:
        return None
    return {name[0].upper() + name[1:]: {} for name in names if fields.obj(name) is not None}


def _visibility(v: Fields | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "SampledRequestsEnabled": v.get("sampledRequestsEnabled"),
        "CloudWatchMetricsEnabled": v.get("cloudwatchMetricsEnabled"),
        "MetricName": v.get("metricName"),
    }


def _waf_statement(s: Fields) -> dict[str, Any]:
    """The statement kinds the program uses; any other kind shows as an unknown key."""
    rate = s.obj("rateBasedStatement")
    managed = s.obj("managedRuleGroupStatement")
    statement: dict[str, Any] = {}
    if rate is not None:
        statement["RateBasedStatement"] = compact(
            {
                "Limit": rate.int("limit"),
                "AggregateKeyType": rate.get("aggregateKeyType"),
                "EvaluationWindowSec": rate.int("evaluationWindowSec"),
            }
        )
    if managed is not None:
        statement["ManagedRuleGroupStatement"] = compact(
            {
                "VendorName": managed.get("vendorName"),
                "Name": managed.get("name"),
                "Version": managed.get("version"),
            }
        )
    return statement


@translates("aws:wafv2/webAcl:WebAcl")
def wafv2_web_acl(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateWebACL; a name prefix gets the provider's 26-character unique suffix."""
    name = f.get("name") or f"{f.get('namePrefix', '')}{'0' * 26}"
    rules = [
        compact(
            {
                "Name": r.get("name"),
                "Priority": r.int("priority"),
                "Statement": _waf_statement(r.obj("statement") or Fields.root({})),
                "Action": _empty_blocks(
                    r.obj("action"), "allow", "block", "count", "captcha", "challenge"
                ),
                "OverrideAction": _empty_blocks(r.obj("overrideAction"), "none", "count"),
                "VisibilityConfig": _visibility(r.obj("visibilityConfig")),
            }
        )
        for r in f.objs("rules")
    ]
    params = compact(
        {
            "Name": name,
            "Scope": f.get("scope"),
            "DefaultAction": _empty_blocks(f.obj("defaultAction"), "allow", "block"),
            "Description": f.get("description"),
            "Rules": rules,
            "VisibilityConfig": _visibility(f.obj("visibilityConfig")),
            "Tags": _tag_list(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "wafv2", "CreateWebACL", params)]


# ACM: certificate.go (resourceCertificateCreate, DNS or email validation).


@translates("aws:acm/certificate:Certificate")
def acm_certificate(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    options = f.obj("options")
    params = compact(
        {
            "DomainName": f.get("domainName"),
            "SubjectAlternativeNames": f.get("subjectAlternativeNames"),
            "ValidationMethod": f.get("validationMethod"),
            "KeyAlgorithm": f.get("keyAlgorithm"),
            "CertificateAuthorityArn": f.get("certificateAuthorityArn"),
            "Options": options
            and compact(
                {
                    "CertificateTransparencyLoggingPreference": options.get(
                        "certificateTransparencyLoggingPreference"
                    )
                }
            ),
            "IdempotencyToken": hashlib.sha256(reg.urn.encode()).hexdigest()[:32],
            "Tags": _tag_list(f),
        }
    )
    f.ignore("region", "earlyRenewalDuration")
    return [_request(reg, "acm", "RequestCertificate", params)]


# CloudWatch Logs deliveries (CloudFront standard logging v2): log_delivery*.go.


def _logs_tags(f: Fields) -> dict[str, str] | None:
    return f.get("tags") or None


@translates("aws:cloudwatch/logDeliverySource:LogDeliverySource")
def log_delivery_source(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = compact(
        {
            "name": f.get("name"),
            "resourceArn": f.get("resourceArn"),
            "logType": f.get("logType"),
            "tags": _logs_tags(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "logs", "PutDeliverySource", params)]


@translates("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
def log_delivery_destination(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    config = f.obj("deliveryDestinationConfiguration")
    params = compact(
        {
            "name": f.get("name"),
            "outputFormat": f.get("outputFormat"),
            "deliveryDestinationType": f.get("deliveryDestinationType"),
            "deliveryDestinationConfiguration": config
            and {"destinationResourceArn": config.get("destinationResourceArn")},
            "tags": _logs_tags(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "logs", "PutDeliveryDestination", params)]


@translates("aws:cloudwatch/logDelivery:LogDelivery")
def log_delivery(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    s3 = [
        compact(
            {
                "suffixPath": c.get("suffixPath"),
                "enableHiveCompatiblePath": c.get("enableHiveCompatiblePath"),
            }
        )
        for c in f.objs("s3DeliveryConfigurations")
    ]
    params = compact(
        {
            "deliverySourceName": f.get("deliverySourceName"),
            "s3DeliveryConfiguration": s3[0] if s3 else None,
            "deliveryDestinationArn": f.get("deliveryDestinationArn"),
            "recordFields": f.get("recordFields"),
            "fieldDelimiter": f.get("fieldDelimiter"),
            "tags": _logs_tags(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "logs", "CreateDelivery", params)]


# CloudWatch alarms and SNS: metric_alarm.go, topic.go, topic_subscription.go.


@translates("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """PutMetricAlarm for a single-metric alarm."""
    dimensions = [{"Name": k, "Value": v} for k, v in f.get("dimensions", {}).items()]
    params = compact(
        {
            "AlarmName": f.get("name") or reg.id,
            "AlarmDescription": f.get("alarmDescription"),
            "ActionsEnabled": f.get("actionsEnabled", True),
            "AlarmActions": f.get("alarmActions"),
            "OKActions": f.get("okActions"),
            "InsufficientDataActions": f.get("insufficientDataActions"),
            "Namespace": f.get("namespace"),
            "MetricName": f.get("metricName"),
            "Dimensions": dimensions or None,
            "Statistic": f.get("statistic"),
            "ExtendedStatistic": f.get("extendedStatistic"),
            "Unit": f.get("unit"),
            "Period": f.int("period"),
            "EvaluationPeriods": f.int("evaluationPeriods"),
            "DatapointsToAlarm": f.int("datapointsToAlarm"),
            "Threshold": f.get("threshold"),
            "ComparisonOperator": f.get("comparisonOperator"),
            "TreatMissingData": f.get("treatMissingData"),
            "Tags": _tag_list(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "cloudwatch", "PutMetricAlarm", params)]


@translates("aws:sns/topic:Topic")
def sns_topic(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    attributes = compact(
        {
            "DisplayName": f.get("displayName"),
            "KmsMasterKeyId": f.get("kmsMasterKeyId"),
            "Policy": f.get("policy"),
        }
    )
    params = compact(
        {
            "Name": f.get("name") or reg.state.get("name") or str(reg.id).rsplit(":", 1)[-1],
            "Attributes": attributes or None,
            "Tags": _tag_list(f),
        }
    )
    f.ignore("region")
    return [_request(reg, "sns", "CreateTopic", params)]


@translates("aws:sns/topicSubscription:TopicSubscription")
def sns_subscription(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    params = {
        "TopicArn": f.get("topic"),
        "Protocol": f.get("protocol"),
        "Endpoint": f.get("endpoint"),
        "ReturnSubscriptionArn": True,
    }
    f.ignore("region")
    return [_request(reg, "sns", "Subscribe", params)]


@translates("aws:cloudfront/monitoringSubscription:MonitoringSubscription")
def monitoring_subscription(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateMonitoringSubscription: CloudFront's additional (real-time) metrics."""
    subscription = f.obj("monitoringSubscription") or Fields.root({})
    realtime = subscription.obj("realtimeMetricsSubscriptionConfig") or Fields.root({})
    status = realtime.get("realtimeMetricsSubscriptionStatus")
    params = {
        "DistributionId": f.get("distributionId"),
        "MonitoringSubscription": {
            "RealtimeMetricsSubscriptionConfig": {"RealtimeMetricsSubscriptionStatus": status}
        },
    }
    return [_request(reg, "cloudfront", "CreateMonitoringSubscription", params)]


# KMS: key.go (resourceKeyCreate; rotation is a second call).


@translates("aws:kms/key:Key")
def kms_key(reg: Registration, f: Fields, stack: Stack) -> list[Request]:
    """CreateKey, then EnableKeyRotation when rotation is on."""
    params = compact(
        {
            "Description": f.get("description"),
            "KeyUsage": f.get("keyUsage", "ENCRYPT_DECRYPT"),
            "KeySpec": f.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
            "Policy": f.get("policy"),
            "MultiRegion": f.get("multiRegion"),
            "BypassPolicyLockoutSafetyCheck": f.get("bypassPolicyLockoutSafetyCheck"),
            "Tags": _tag_list(f, "TagKey", "TagValue"),
        }
    )
    requests = [_request(reg, "kms", "CreateKey", params)]
    if f.get("enableKeyRotation"):
        rotation = compact({"KeyId": reg.id, "RotationPeriodInDays": f.int("rotationPeriodInDays")})
        requests.append(_request(reg, "kms", "EnableKeyRotation", rotation))
    # Used when the key is deleted: ScheduleKeyDeletion's PendingWindowInDays.
    window = f.int("deletionWindowInDays")
    if window is not None:
        deletion = {"KeyId": reg.id, "PendingWindowInDays": window}
        requests.append(_request(reg, "kms", "ScheduleKeyDeletion", deletion))
    f.ignore("region", "isEnabled")
    return requests


def translate(reg: Registration, stack: Stack) -> tuple[list[Request], list[Problem]]:
    """The requests for one registration, and its input keys nobody translated."""
    fields = Fields.root(reg.inputs)
    requests = TRANSLATORS[reg.type](reg, fields, stack)
    problems = []
    for path, key, known in fields.unknown_keys():
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.append(
            Problem(
                f"{reg.type} {reg.name}",
                "unknown-key",
                f"input {key!r} at {path} is not a pulumi-aws input this translation knows"
                f"{hint} (known there: {', '.join(known) or 'none'}). If pulumi-aws does "
                "accept it, add it to tests/aws_contract.py",
            )
        )
    return requests, problems


def translate_stack(
    registrations: Sequence[Registration],
) -> tuple[list[Request], list[Problem], dict[str, list[str]], dict[str, list[str]]]:
    """Requests and unknown-key problems for a stack, plus the types left untranslated.

    Returns ``(requests, problems, untranslated, unknown_types)``: the last two map a
    type token to the resource names declared with it, for types listed in
    :data:`UNTRANSLATED` and for types in neither place.
    """
    stack = Stack(registrations)
    requests: list[Request] = []
    problems: list[Problem] = []
    untranslated: dict[str, list[str]] = defaultdict(list)
    unknown: dict[str, list[str]] = defaultdict(list)
    for reg in registrations:
        if reg.type in TRANSLATORS:
            translated, key_problems = translate(reg, stack)
            requests += translated
            problems += key_problems
        elif reg.type in UNTRANSLATED:
            untranslated[reg.type].append(reg.name)
        else:
            unknown[reg.type].append(reg.name)
    return requests, problems, dict(untranslated), dict(unknown)
