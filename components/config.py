"""Validated configuration for one multi-region delivery stack.

Pure Python, no Pulumi runtime: the program validates stack config with it before
declaring any resource, the component validates its arguments with it at
construction, and the tests exercise every rule directly. Each rule is one small
validator that raises :class:`ConfigError` naming the key, the bad value and what is
allowed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

ReplicationMode = Literal["from-primary", "bidirectional"]
REPLICATION_MODES: tuple[str, ...] = ("from-primary", "bidirectional")
# How CloudFront's requests reach the private buckets (README "Security model"):
# the legacy origin access identity, the edge function signing with its role (SigV4),
# or the migration between the two (both principals admitted, the function signs).
ORIGIN_AUTH_MODES: tuple[str, ...] = ("oai", "oai-to-sigv4", "sigv4")
ENCRYPTION_MODES: tuple[str, ...] = ("s3", "kms")
PRICE_CLASSES: tuple[str, ...] = ("PriceClass_All", "PriceClass_200", "PriceClass_100")

MIN_REGIONS = 2
MAX_REGIONS = 8  # Route 53 returns every healthy multivalue record only up to eight.
MAX_WEIGHT = 255  # Route 53's weight range, kept for the TXT routing table.

# Commercial AWS regions (partition "aws") that have S3 and Lambda@Edge-compatible
# CloudFront origins.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "af-south-1",
        "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
        "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-north-1", "eu-south-1", "eu-south-2",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
        "sa-east-1",
    }
)  # fmt: skip

# Regions launched after December 2022: CloudFront's legacy origin access identity
# cannot sign requests to buckets there (they need SigV4: docs/ARCHITECTURE.md, D7).
OAI_UNSUPPORTED_REGIONS: frozenset[str] = frozenset(
    {
        "ap-southeast-4", "il-central-1", "ca-west-1", "ap-southeast-5",
        "ap-southeast-6", "ap-southeast-7", "mx-central-1", "ap-east-2",
    }
)  # fmt: skip

ROUTING_TTL_RANGE = (1, 60)
CONNECTION_TIMEOUT_RANGE = (1, 10)
CONNECTION_ATTEMPTS_RANGE = (1, 3)
NONCURRENT_DAYS_RANGE = (1, 3650)
HEALTH_CHECK_INTERVALS = (10, 30)  # Route 53: 10 s ("fast") or 30 s
CACHE_POLICIES: tuple[str, ...] = ("optimized", "versioned")
WEB_ACL_MODES: tuple[str, ...] = ("managed",)
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)  # WAFv2 rate-based rule limit per 5 minutes
DEFAULT_WAF_RATE_LIMIT = 2000
MAX_CORS_ORIGINS = 25
LOG_RETENTION_RANGE = (1, 3650)
DEFAULT_LOG_RETENTION_DAYS = 90
FAILURE_THRESHOLD_RANGE = (1, 10)
EDGE_MEMORY_MB_RANGE = (128, 3008)  # what Lambda@Edge allows for origin-facing functions
ROUTING_MODES: tuple[str, ...] = ("weighted", "latency")
LOCALITY_TAU_MS_RANGE = (1, 1000)

_ACM_ARN = re.compile(r"^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")
_WAF_ARN = re.compile(r"^arn:aws:wafv2:us-east-1:\d{12}:global/webacl/[\w-]+/[0-9a-f-]{36}$")
_ZONE_ID = re.compile(r"^Z[0-9A-Z]{1,31}$")
_POLICY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CORS_ORIGIN = re.compile(r"^(\*|https?://(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$")
_ROOT_OBJECT = re.compile(r"^[A-Za-z0-9!\-_.*'()&$@=;:+,?][A-Za-z0-9!\-_.*'()&$@=;:+,?/]{0,254}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# The us-east-1 topic: where the health check and CloudFront alarms live (same region).
_SNS_ARN = re.compile(r"^arn:aws:sns:us-east-1:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# AWS tag rules: letters, digits, spaces and _ . : / = + - @; keys 1-128, values 0-256.
_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256
# 50 tags per resource; the component adds up to three of its own (component, region, Name).
MAX_USER_TAGS = 47
RESERVED_TAG_PREFIXES = ("aws:", "asset-delivery:")


class ConfigError(ValueError):
    """A configuration value is not allowed. The message names key, value and rule."""

    def __init__(self, key: str, value: Any, allowed: str, prefix: str = "asset-delivery:") -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{prefix}{key} = {value!r} is not allowed: {allowed}")

    def renamed(self, key: str, prefix: str) -> ConfigError:
        """The same error, naming the field as the caller spelled it."""
        return ConfigError(key, self.value, self.allowed, prefix)


@dataclass(frozen=True)
class RegionWeight:
    """One region and its share of the traffic (0-255; 0 = drained)."""

    region: str
    weight: int


def deferred(value: Any) -> bool:
    """A value another resource computes (a ``pulumi.Output``): AWS checks it at deploy."""
    return callable(getattr(value, "apply", None)) and callable(getattr(value, "future", None))


def _require_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(key, value, "true or false")


def _whole_number(value: Any) -> Any:
    """``5``, ``"5"`` and ``5.0`` as 5 (other Pulumi languages send every number as a
    float); anything else unchanged, for the caller to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _require_int(key: str, value: Any, low: int, high: int) -> int:
    value = _whole_number(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"a whole number from {low} to {high}")
    return value


def _require_health_interval(value: Any) -> int:
    value = _whole_number(value)
    if isinstance(value, bool) or value not in HEALTH_CHECK_INTERVALS:
        raise ConfigError("healthCheckInterval", value, "10 (fast) or 30 seconds")
    return value


def _require_choice(key: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(key, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def _parse_region_entry(index: int, entry: Any) -> RegionWeight:
    key = f"regions[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(key, entry, "an object {region: <aws region>, weight: <0-255>}")
    unknown = sorted(set(entry) - {"region", "weight"})
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", entry[unknown[0]], "only 'region' and 'weight'")
    region = entry.get("region")
    if not isinstance(region, str) or region not in AWS_REGIONS:
        raise ConfigError(
            f"{key}.region", region, "an AWS region code such as 'us-east-1' or 'eu-west-1'"
        )
    if "weight" not in entry:
        raise ConfigError(f"{key}.weight", None, f"a whole number from 0 to {MAX_WEIGHT}")
    weight = _require_int(f"{key}.weight", entry["weight"], 0, MAX_WEIGHT)
    return RegionWeight(region=region, weight=weight)


def validate_regions(value: Any) -> tuple[RegionWeight, ...]:
    """2-8 unique real regions, integer weights 0-255, at least one above 0."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ConfigError("regions", value, "a list of {region, weight} objects")
    if not MIN_REGIONS <= len(value) <= MAX_REGIONS:
        raise ConfigError(
            "regions",
            list(value),
            f"from {MIN_REGIONS} to {MAX_REGIONS} regions (Route 53 multivalue answers "
            f"return at most eight records)",
        )
    regions = tuple(_parse_region_entry(i, entry) for i, entry in enumerate(value))
    seen: set[str] = set()
    for i, rw in enumerate(regions):
        if rw.region in seen:
            raise ConfigError(f"regions[{i}].region", rw.region, "each region at most once")
        seen.add(rw.region)
    if not any(rw.weight > 0 for rw in regions):
        raise ConfigError(
            "regions", {rw.region: rw.weight for rw in regions}, "at least one weight above 0"
        )
    return regions


def validate_domain_names(value: Any) -> tuple[str, ...]:
    """Lower-case DNS names for the distribution's aliases."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ConfigError("domainNames", value, "a list of DNS names")
    names = []
    for i, name in enumerate(value):
        labels = name.lower().rstrip(".").split(".") if isinstance(name, str) else []
        wildcard_ok = labels[:1] == ["*"]
        check = labels[1:] if wildcard_ok else labels
        if len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in check):
            raise ConfigError(f"domainNames[{i}]", name, "a DNS name such as 'assets.example.com'")
        names.append(".".join(labels))
    if len(set(names)) != len(names):
        raise ConfigError("domainNames", value, "each name at most once")
    return tuple(names)


def validate_zone_name(value: Any) -> str:
    """A DNS name with at least two labels (Route 53 hosts no top-level domains)."""
    labels = value.lower().rstrip(".").split(".") if isinstance(value, str) else []
    if len(labels) < 2 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ConfigError(
            "routingZoneName",
            value,
            "a DNS name with two or more labels, e.g. 'routing.example.com'",
        )
    return ".".join(labels)


def validate_rehearse_outage(
    value: Any, regions: Sequence[RegionWeight], health_checks: bool
) -> tuple[str, ...]:
    """Regions whose health check is inverted to rehearse their outage in AWS.

    At least one region with weight above 0 must stay healthy: when every record is
    unhealthy Route 53 answers with all of them, which would rehearse nothing.
    """
    if value is None or value in ([], ()):
        return ()
    names = [rw.region for rw in regions]
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ConfigError("rehearseOutage", value, "a list of configured regions " + str(names))
    if not health_checks:
        raise ConfigError(
            "rehearseOutage",
            list(value),
            "empty when healthChecks is false (it inverts health checks)",
        )
    for i, region in enumerate(value):
        if region not in names:
            raise ConfigError(
                f"rehearseOutage[{i}]", region, "one of the configured regions " + str(names)
            )
    if len(set(value)) != len(value):
        raise ConfigError("rehearseOutage", list(value), "each region at most once")
    if not any(rw.weight > 0 and rw.region not in value for rw in regions):
        raise ConfigError(
            "rehearseOutage",
            list(value),
            "a list that leaves at least one region with weight above 0 healthy",
        )
    return tuple(value)


def validate_tags(value: Any) -> Any:
    """A map of AWS tags the caller adds to every taggable resource.

    Keys under ``aws:`` are AWS's and keys under ``asset-delivery:`` the component's.
    A map computed by another resource is passed through for AWS to check.
    """
    if value is None or deferred(value):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError("tags", value, "a map of tag keys to string values")
    if len(value) > MAX_USER_TAGS:
        raise ConfigError(
            "tags", dict(value), f"at most {MAX_USER_TAGS} tags (AWS allows 50 per resource)"
        )
    for key, tag_value in value.items():
        if (
            not isinstance(key, str)
            or not 1 <= len(key) <= TAG_KEY_MAX
            or not _TAG_TEXT.match(key)
            or key.lower().startswith(RESERVED_TAG_PREFIXES)
        ):
            raise ConfigError(
                f"tags[{key!r}]",
                tag_value,
                f"a key of 1-{TAG_KEY_MAX} letters, digits, spaces or _ . : / = + - @, "
                "not starting with 'aws:' or 'asset-delivery:' (reserved)",
            )
        if deferred(tag_value):
            continue
        if (
            not isinstance(tag_value, str)
            or len(tag_value) > TAG_VALUE_MAX
            or not _TAG_TEXT.match(tag_value)
        ):
            raise ConfigError(
                f"tags[{key!r}]",
                tag_value,
                f"a string of at most {TAG_VALUE_MAX} letters, digits, spaces or _ . : / = + - @",
            )
    return dict(value)


def validate_cache_policy(value: Any) -> str:
    """``optimized``, ``versioned`` or the id of an existing cache policy."""
    if value in CACHE_POLICIES or (isinstance(value, str) and _POLICY_ID.match(value)):
        return value
    raise ConfigError(
        "cachePolicy",
        value,
        "'optimized' (query strings ignored), 'versioned' (query strings in the cache key) "
        "or a cache policy id such as '658327ea-f89d-4fab-a63d-7e88639e58f6'",
    )


def validate_cors_origins(value: Any) -> tuple[str, ...]:
    """Origins allowed to read the files from a browser (``Access-Control-Allow-Origin``)."""
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise ConfigError("corsOrigins", value, "a list of origins such as 'https://example.com'")
    if len(value) > MAX_CORS_ORIGINS:
        raise ConfigError("corsOrigins", list(value), f"at most {MAX_CORS_ORIGINS} origins")
    for i, origin in enumerate(value):
        if not isinstance(origin, str) or not _CORS_ORIGIN.match(origin):
            raise ConfigError(
                f"corsOrigins[{i}]",
                origin,
                "'*' or a lower-case origin 'https://host[:port]' (no path), "
                "e.g. 'https://www.example.com' or 'https://*.example.com'",
            )
    if len(set(value)) != len(value):
        raise ConfigError("corsOrigins", list(value), "each origin at most once")
    return tuple(value)


def validate_default_root_object(value: Any) -> str | None:
    """The object CloudFront serves for ``/`` (a key without a leading slash)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ROOT_OBJECT.match(value):
        raise ConfigError(
            "defaultRootObject",
            value,
            "an object key of 1-255 characters without a leading '/' or spaces, e.g. 'index.html'",
        )
    return value


def _optional_pattern(key: str, value: Any, pattern: re.Pattern[str], allowed: str) -> Any:
    if value is None or deferred(value):
        return value
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(key, value, allowed)
    return value


# -- the known keys ---------------------------------------------------------------------
#
# ``DeliveryConfig`` below is the one registry of known keys: each field is one stack-config
# key (its camelCase name) and one component argument (its snake_case name), declared with
# ``setting(validator, default)``. The unknown-key checks, ``__main__.py`` and the
# component all derive their key lists from it. Rules between keys go in COMBINED_RULES.

Validator = Callable[[str, Any], Any]
"""Checks one value: ``(key, raw value) -> value``; raises :class:`ConfigError`."""

_REQUIRED = object()


def setting(validate: Validator, default: Any = _REQUIRED, *, required: str = "") -> Any:
    """Declare a known key: its validator and its default (none: the key is required)."""
    metadata = {"validate": validate, "required": required}
    if default is _REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def boolean(key: str, value: Any) -> bool:
    """``true``/``false`` (also as text, as stack config delivers it)."""
    return _require_bool(key, value)


def whole(low: int, high: int) -> Validator:
    """A whole number from ``low`` to ``high``."""
    return lambda key, value: _require_int(key, value, low, high)


def one_of(choices: Sequence[str]) -> Validator:
    """One of a fixed set of strings."""
    return lambda key, value: _require_choice(key, value, choices)


def matching(pattern: re.Pattern[str], allowed: str) -> Validator:
    """Unset, or a string matching ``pattern`` (``allowed`` says what that means)."""
    return lambda key, value: _optional_pattern(key, value, pattern, allowed)


def _checked_later(_key: str, value: Any) -> Any:
    """Validated by a rule in COMBINED_RULES, which needs other keys."""
    return value


@dataclass(frozen=True)
class DeliveryConfig:
    """Everything the component needs, validated. Build it with :func:`parse_config`.

    To add a key: add a field here with ``setting(validator, default)`` (camelCase of the
    field name is the stack-config key), the same snake_case field with a docstring in
    ``MultiRegionAssetDeliveryArgs`` (components/delivery.py), a row in the README's
    configuration table, then regenerate ``schema.json`` (``python -m asset_delivery.schema
    --write``). ``tests/test_config.py`` fails while the three lists disagree.
    """

    regions: tuple[RegionWeight, ...] = setting(
        lambda _key, value: validate_regions(value),
        required="a list of 2 to 8 {region, weight} objects (required)",
    )
    primary_region: str = setting(_checked_later, None)  # default: the first region
    replication: ReplicationMode = setting(one_of(REPLICATION_MODES), "from-primary")
    replication_time_control: bool = setting(boolean, False)
    health_checks: bool = setting(boolean, True)
    health_check_interval: int = setting(lambda _key, value: _require_health_interval(value), 10)
    health_check_failure_threshold: int = setting(whole(*FAILURE_THRESHOLD_RANGE), 3)
    routing_zone_id: str | None = setting(
        matching(_ZONE_ID, "a Route 53 hosted zone id such as 'Z0123456789ABCDEFGHIJ'"), None
    )
    routing_zone_name: str | None = setting(
        lambda _key, value: None if value is None else validate_zone_name(value), None
    )
    routing_ttl: int = setting(whole(*ROUTING_TTL_RANGE), 10)
    domain_names: tuple[str, ...] = setting(lambda _key, value: validate_domain_names(value), ())
    certificate_arn: str | None = setting(
        matching(
            _ACM_ARN,
            "an ACM certificate ARN in us-east-1 (CloudFront only uses certificates there)",
        ),
        None,
    )
    price_class: str = setting(one_of(PRICE_CLASSES), "PriceClass_All")
    web_acl_arn: str | None = setting(
        matching(
            _WAF_ARN,
            "a WAFv2 web ACL ARN with scope CLOUDFRONT "
            "(arn:aws:wafv2:us-east-1:...:global/webacl/...)",
        ),
        None,
    )
    noncurrent_version_days: int = setting(whole(*NONCURRENT_DAYS_RANGE), 30)
    origin_connection_timeout: int = setting(whole(*CONNECTION_TIMEOUT_RANGE), 3)
    origin_connection_attempts: int = setting(whole(*CONNECTION_ATTEMPTS_RANGE), 1)
    force_destroy: bool = setting(boolean, False)
    edge_memory_mb: int = setting(whole(*EDGE_MEMORY_MB_RANGE), 128)
    routing_mode: str = setting(one_of(ROUTING_MODES), "weighted")
    locality_tau_ms: int = setting(whole(*LOCALITY_TAU_MS_RANGE), 20)
    rehearse_outage: tuple[str, ...] = setting(_checked_later, ())
    # A plain {key: value} map, or a pulumi.Output computed elsewhere.
    tags: Any = setting(lambda _key, value: validate_tags(value), None)
    origin_auth: str = setting(one_of(ORIGIN_AUTH_MODES), "oai")
    encryption: str = setting(one_of(ENCRYPTION_MODES), "s3")
    # {region: key ARN (str or pulumi.Output)}, or an Output of such a map.
    kms_key_arns: Any = setting(_checked_later, None)
    web_acl: str | None = setting(one_of(WEB_ACL_MODES), None)
    # Default DEFAULT_WAF_RATE_LIMIT once webAcl is "managed" (see COMBINED_RULES).
    waf_rate_limit: int | None = setting(whole(*WAF_RATE_LIMIT_RANGE), None)
    cache_policy: str = setting(lambda _key, value: validate_cache_policy(value), "optimized")
    cors_origins: tuple[str, ...] = setting(lambda _key, value: validate_cors_origins(value), ())
    default_root_object: str | None = setting(
        lambda _key, value: validate_default_root_object(value), None
    )
    region_header: bool = setting(boolean, True)
    access_logs: bool = setting(boolean, False)
    # Default DEFAULT_LOG_RETENTION_DAYS once accessLogs is on (see COMBINED_RULES).
    log_retention_days: int | None = setting(whole(*LOG_RETENTION_RANGE), None)
    alarms: bool = setting(boolean, False)
    alarm_email: str | None = setting(
        matching(_EMAIL, "an e-mail address such as 'oncall@example.com'"), None
    )
    alarm_topic_arn: str | None = setting(
        matching(
            _SNS_ARN,
            "an SNS topic ARN in us-east-1 (arn:aws:sns:us-east-1:<account>:<name>), "
            "the region of the health check and CloudFront alarms",
        ),
        None,
    )
    domain_zone_id: str | None = setting(
        matching(
            _ZONE_ID, "the public hosted zone id of domainNames, e.g. 'Z0123456789ABCDEFGHIJ'"
        ),
        None,
    )

    @property
    def function_signs(self) -> bool:
        """True when the edge function signs origin requests (edge config ``auth: sigv4``)."""
        return self.origin_auth in ("sigv4", "oai-to-sigv4")

    @property
    def uses_oai(self) -> bool:
        """True while CloudFront's origin access identity is declared and admitted."""
        return self.origin_auth in ("oai", "oai-to-sigv4")

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.regions)

    @property
    def weights(self) -> dict[str, int]:
        return {r.region: r.weight for r in self.regions}

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return tuple(r for r in self.region_names if r != self.primary_region)


def camel_key(name: str) -> str:
    """``primary_region`` -> ``primaryRegion`` (argument name to stack-config key)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake_key(key: str) -> str:
    """``primaryRegion`` -> ``primary_region``; ``regions[0].weight`` stays."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), key)


ARGUMENT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DeliveryConfig))
"""Every known component argument (snake_case), in declaration order."""
KNOWN_KEYS: tuple[str, ...] = tuple(camel_key(name) for name in ARGUMENT_NAMES)
"""Every known stack-config key (camelCase), in declaration order."""


class UnknownKeyError(ConfigError):
    """A key nobody reads: named with the closest known one, so a typo is obvious."""

    def __init__(self, key: str, known: Sequence[str], prefix: str, noun: str) -> None:
        by_lower = {k.lower(): k for k in known}
        # Best match first, none below difflib's similarity cutoff (0.6).
        close = difflib.get_close_matches(key.lower(), list(by_lower))
        self.suggestion = by_lower[close[0]] if close else None
        hint = f"did you mean {self.suggestion}?" if close else "known: " + ", ".join(known)
        self.key = key
        self.value = None
        self.allowed = hint
        ValueError.__init__(self, f"{prefix}{key} is not a known {noun}; {hint}")


def reject_unknown_keys(
    keys: Iterable[str],
    known: Sequence[str] = KNOWN_KEYS,
    *,
    prefix: str = "asset-delivery:",
    noun: str = "key",
) -> None:
    """Raise :class:`UnknownKeyError` for the first (sorted) key not in ``known``."""
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise UnknownKeyError(unknown[0], known, prefix, noun)


# -- rules between keys ------------------------------------------------------------------


def _primary_region_is_configured(values: dict[str, Any]) -> None:
    names = [rw.region for rw in values["regions"]]
    if values["primary_region"] is None:
        values["primary_region"] = names[0]
    elif values["primary_region"] not in names:
        raise ConfigError(
            "primaryRegion", values["primary_region"], "one of the configured regions " + str(names)
        )


def _zone_name_only_without_zone_id(values: dict[str, Any]) -> None:
    if values["routing_zone_name"] is not None and values["routing_zone_id"] is not None:
        raise ConfigError(
            "routingZoneName",
            values["routing_zone_name"],
            "unset when routingZoneId is set (the zone's own name is used)",
        )


def _certificate_with_domain_names(values: dict[str, Any]) -> None:
    if (
        values["domain_names"]
        and values["certificate_arn"] is None
        and values["domain_zone_id"] is None
    ):
        raise ConfigError(
            "certificateArn",
            None,
            "an ACM certificate ARN in us-east-1 when domainNames is set without domainZoneId "
            "(with domainZoneId the component requests and validates one)",
        )
    for key, name in (("certificateArn", "certificate_arn"), ("domainZoneId", "domain_zone_id")):
        if values[name] is not None and not values["domain_names"]:
            raise ConfigError("domainNames", None, f"at least one DNS name when {key} is set")


def _one_web_acl(values: dict[str, Any]) -> None:
    """``webAcl: managed`` or ``webAclArn``; ``wafRateLimit`` belongs to the managed one."""
    if values["web_acl"] is not None and values["web_acl_arn"] is not None:
        raise ConfigError(
            "webAclArn",
            values["web_acl_arn"],
            "unset when webAcl is 'managed' (one web ACL per distribution)",
        )
    if values["web_acl"] is None and values["waf_rate_limit"] is not None:
        raise ConfigError(
            "wafRateLimit",
            values["waf_rate_limit"],
            "unset unless webAcl is 'managed' (it sets the managed web ACL's rate-based rule)",
        )
    if values["web_acl"] is not None and values["waf_rate_limit"] is None:
        values["waf_rate_limit"] = DEFAULT_WAF_RATE_LIMIT


def _log_retention_with_access_logs(values: dict[str, Any]) -> None:
    """``logRetentionDays`` is how long the access logs are kept: only with ``accessLogs``."""
    if not values["access_logs"] and values["log_retention_days"] is not None:
        raise ConfigError(
            "logRetentionDays",
            values["log_retention_days"],
            "unset unless accessLogs is true (it is how long access logs are kept)",
        )
    if values["access_logs"] and values["log_retention_days"] is None:
        values["log_retention_days"] = DEFAULT_LOG_RETENTION_DAYS


def _alarm_destination(values: dict[str, Any]) -> None:
    """``alarms: true`` notifies ``alarmEmail`` or ``alarmTopicArn`` (one of them)."""
    email, topic = values["alarm_email"], values["alarm_topic_arn"]
    if not values["alarms"]:
        for key, value in (("alarmEmail", email), ("alarmTopicArn", topic)):
            if value is not None:
                raise ConfigError(key, value, "unset unless alarms is true")
        return
    if email is None and topic is None:
        raise ConfigError(
            "alarmEmail", None, "an e-mail address, or alarmTopicArn, when alarms is true"
        )
    if email is not None and topic is not None:
        raise ConfigError(
            "alarmTopicArn", topic, "unset when alarmEmail is set (one destination for alarms)"
        )


def _rehearsed_regions_are_configured(values: dict[str, Any]) -> None:
    values["rehearse_outage"] = validate_rehearse_outage(
        values["rehearse_outage"], values["regions"], values["health_checks"]
    )


def _new_regions_need_sigv4(values: dict[str, Any]) -> None:
    """Regions launched after December 2022 cannot be read through an OAI."""
    origin_auth = values["origin_auth"]
    if origin_auth == "sigv4":
        return
    for index, rw in enumerate(values["regions"]):
        if rw.region in OAI_UNSUPPORTED_REGIONS:
            raise ConfigError(
                f"regions[{index}].region",
                rw.region,
                "a region where CloudFront's origin access identity can read S3, unless "
                "originAuth is 'sigv4' (regions launched after December 2022 need the "
                f"edge function to sign; originAuth is {origin_auth!r})",
            )


def _kms_needs_sigv4(values: dict[str, Any]) -> None:
    """SSE-KMS objects cannot be read through an OAI."""
    if values["encryption"] == "kms" and values["origin_auth"] != "sigv4":
        raise ConfigError(
            "encryption",
            "kms",
            f"'s3' while originAuth is {values['origin_auth']!r}; 'kms' needs originAuth "
            "'sigv4' (CloudFront's origin access identity cannot read SSE-KMS objects)",
        )


_KMS_KEY_ARN = re.compile(
    r"^arn:aws:kms:(?P<region>[a-z0-9-]+):\d{12}:key/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})$"
)


def _kms_keys_in_their_regions(values: dict[str, Any]) -> None:
    """Caller's keys: only with ``kms``, one per configured region, in that region.

    Regions left out get a key the component creates. A value computed by another
    resource is checked by AWS at deploy time.
    """
    given = values["kms_key_arns"]
    if given is None:
        return
    if values["encryption"] != "kms":
        raise ConfigError("kmsKeyArns", given, "unset unless encryption is 'kms'")
    if deferred(given):
        return
    if not isinstance(given, Mapping):
        raise ConfigError("kmsKeyArns", given, "a map of region to KMS key ARN")
    names = [rw.region for rw in values["regions"]]
    for region, arn in given.items():
        if region not in names:
            raise ConfigError(
                f"kmsKeyArns[{region!r}]",
                arn,
                "a key for one of the configured regions " + str(names),
            )
        if deferred(arn):
            continue
        match = _KMS_KEY_ARN.match(arn) if isinstance(arn, str) else None
        if match is None or match["region"] != region:
            raise ConfigError(
                f"kmsKeyArns[{region!r}]",
                arn,
                f"a KMS key ARN in {region} (arn:aws:kms:{region}:<account>:key/<key id>); "
                "S3 encrypts with a key in the bucket's own region",
            )
    values["kms_key_arns"] = dict(given)


COMBINED_RULES: tuple[Callable[[dict[str, Any]], None], ...] = (
    _primary_region_is_configured,
    _zone_name_only_without_zone_id,
    _certificate_with_domain_names,
    _rehearsed_regions_are_configured,
    _new_regions_need_sigv4,
    _kms_needs_sigv4,
    _kms_keys_in_their_regions,
    _one_web_acl,
    _log_retention_with_access_logs,
    _alarm_destination,
)
"""Rules that need several keys: each gets every validated value (by argument name)."""


def parse_config(raw: Mapping[str, Any]) -> DeliveryConfig:
    """Validate stack config (camelCase keys, as in ``Pulumi.<stack>.yaml``).

    Raises :class:`ConfigError` on the first bad key; nothing is declared before this
    returns, so bad config never leaves a half-created stack. A :func:`deferred` value
    (an output of another resource, known only at deploy time) is kept as it is; rules
    between keys see only whether it is set.
    """
    reject_unknown_keys(raw)
    values: dict[str, Any] = {}
    for spec in fields(DeliveryConfig):
        key = camel_key(spec.name)
        if key not in raw or raw[key] is None:
            if spec.default is MISSING:
                raise ConfigError(key, None, spec.metadata["required"])
            values[spec.name] = spec.default
        elif deferred(raw[key]):
            values[spec.name] = raw[key]
        else:
            values[spec.name] = spec.metadata["validate"](key, raw[key])
    for rule in COMBINED_RULES:
        rule(values)
    return DeliveryConfig(**values)


def component_args(config: DeliveryConfig) -> dict[str, Any]:
    """Component arguments (snake_case, plain lists and dicts) that give ``config`` again."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        if isinstance(value, RegionWeight):
            return {"region": value.region, "weight": value.weight}
        return value

    return {
        name: plain(getattr(config, name))
        for name in ARGUMENT_NAMES
        if getattr(config, name) is not None
    }
