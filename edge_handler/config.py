"""Load and validate ``edge_config.json`` (docs/ARCHITECTURE.md 3.1), once per container.

Validation is strict about what the function relies on and ignores unknown keys
(forward compatible). Everything the hot path needs is precomputed here, so a
request does no string work that depends only on the configuration.
"""

from __future__ import annotations

import json
import os

SUPPORTED_VERSION = 1
REPLICATION_MODES = ("from-primary", "bidirectional")
AUTH_MODES = ("oai", "none", "sigv4")
ROUTING_MODES = ("weighted", "latency")
TAU_MS_RANGE = (1, 1000)
MAX_RTT_MS = 10_000
DEFAULT_DNS_PORT = 53

# Header names a function may not add (docs/ARCHITECTURE.md 3.8); prefixes end with "-".
FORBIDDEN_HEADER_NAMES = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "trailer",
        "upgrade",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
FORBIDDEN_HEADER_PREFIXES = ("proxy-", "x-accel-", "x-amz-cf-", "x-amzn-", "x-edge-")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or violates the schema."""


def config_path() -> str:
    """Where the config lives: ``EDGE_CONFIG_PATH`` if set, else the archive root."""
    override = os.environ.get("EDGE_CONFIG_PATH")
    if override:
        return override
    package_dir = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(package_dir), "edge_config.json")


def header_is_forbidden(name: str) -> bool:
    """True when CloudFront rejects a function result that adds header ``name``."""
    lowered = name.lower()
    return lowered in FORBIDDEN_HEADER_NAMES or lowered.startswith(FORBIDDEN_HEADER_PREFIXES)


def canonical_header_key(name: str) -> str:
    """``x-asset-region`` -> ``X-Asset-Region``: the display form CloudFront uses."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def parse_nameserver(spec: str) -> tuple[str, int]:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 literal."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"routing.nameservers entry {spec!r} must be a non-empty string")
    spec = spec.strip()
    host, port = spec, DEFAULT_DNS_PORT
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(f"routing.nameservers entry {spec!r}: expected [ipv6]:port")
        if rest:
            port = _parse_port(spec, rest[1:])
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = _parse_port(spec, port_text)
    host = host.rstrip(".")
    if not host:
        raise ConfigError(f"routing.nameservers entry {spec!r} has an empty host")
    return host, port


def _parse_port(spec: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"routing.nameservers entry {spec!r}: port must be 1-65535")
    return int(text)


class EdgeConfig:
    """The validated topology plus values precomputed for the request path."""

    __slots__ = (
        "auth",
        "domain_regions",
        "failover_header",
        "locality_mode",
        "max_ttl_s",
        "min_ttl_s",
        "nameservers",
        "primary_region",
        "record",
        "region_domains",
        "region_header",
        "region_header_key",
        "regions",
        "replication",
        "rtt_ms",
        "tau_ms",
        "timeout_s",
    )

    def __init__(self, document: object) -> None:
        if not isinstance(document, dict):
            raise ConfigError(f"config must be a JSON object, got {type(document).__name__}")
        version = document.get("version")
        if version != SUPPORTED_VERSION:
            raise ConfigError(f"version is {version!r}; this function reads version 1")

        regions = document.get("regions")
        if not isinstance(regions, dict) or not regions:
            raise ConfigError("regions must be a non-empty object {region: {domain}}")
        region_domains: dict[str, str] = {}
        for region, entry in regions.items():
            domain = entry.get("domain") if isinstance(entry, dict) else None
            if not region or not isinstance(domain, str) or not _is_hostname(domain):
                raise ConfigError(
                    f"regions[{region!r}].domain is {domain!r}; expected the bucket's "
                    "regional domain, <bucket>.s3.<region>.amazonaws.com"
                )
            region_domains[region] = domain.lower().rstrip(".")
        if len(set(region_domains.values())) != len(region_domains):
            raise ConfigError(f"two regions share one bucket domain: {region_domains}")
        self.region_domains = region_domains
        self.regions = tuple(region_domains)
        self.domain_regions = {domain: region for region, domain in region_domains.items()}

        primary = document.get("primary_region")
        if primary not in region_domains:
            raise ConfigError(f"primary_region {primary!r} is not one of {list(self.regions)}")
        self.primary_region = primary

        replication = document.get("replication")
        if replication not in REPLICATION_MODES:
            raise ConfigError(
                f"replication is {replication!r}; expected one of {REPLICATION_MODES}"
            )
        self.replication = replication

        auth = document.get("auth", "oai")
        if auth not in AUTH_MODES:
            raise ConfigError(f"auth is {auth!r}; this version supports {AUTH_MODES}")
        self.auth = auth

        self.failover_header = _header_name(document, "failover_header")
        self.region_header = _header_name(document, "region_header")
        self.region_header_key = canonical_header_key(self.region_header)

        routing = document.get("routing")
        if not isinstance(routing, dict):
            raise ConfigError("routing must be an object {record, nameservers, timeout_ms, ...}")
        record = routing.get("record")
        if not isinstance(record, str) or not _is_hostname(record.lstrip("_")):
            raise ConfigError(f"routing.record is {record!r}; expected a DNS name")
        self.record = record.rstrip(".")
        nameservers = routing.get("nameservers")
        if not isinstance(nameservers, list) or not nameservers:
            raise ConfigError(f"routing.nameservers is {nameservers!r}; expected a non-empty list")
        self.nameservers = tuple(parse_nameserver(ns) for ns in nameservers)
        timeout_ms = _number(routing, "timeout_ms", low=1, high=30_000)
        self.timeout_s = timeout_ms / 1000.0
        self.min_ttl_s = _number(routing, "min_ttl_s", low=0, high=86_400)
        self.max_ttl_s = _number(routing, "max_ttl_s", low=self.min_ttl_s, high=86_400)
        self.locality_mode, self.tau_ms, self.rtt_ms = _locality(
            document.get("locality"), self.regions
        )


def _locality(
    section: object, regions: tuple[str, ...]
) -> tuple[str, float, dict[str, dict[str, float]]]:
    """``(mode, tau_ms, {execution region: {topology region: ms}})``; absent: weighted.

    Every row must give a round trip to every topology region: a row that cannot
    rank them all would silently favour the regions it names.
    """
    if section is None:
        return "weighted", 20.0, {}
    if not isinstance(section, dict):
        raise ConfigError(f"locality is {section!r}; expected an object {{mode, tau_ms, rtt_ms}}")
    mode = section.get("mode")
    if mode not in ROUTING_MODES:
        raise ConfigError(f"locality.mode is {mode!r}; expected one of {ROUTING_MODES}")
    low, high = TAU_MS_RANGE
    tau_ms = section.get("tau_ms")
    if isinstance(tau_ms, bool) or not isinstance(tau_ms, int | float) or not low <= tau_ms <= high:
        raise ConfigError(f"locality.tau_ms is {tau_ms!r}; expected a number in [{low}, {high}]")
    rows = section.get("rtt_ms")
    if not isinstance(rows, dict):
        raise ConfigError(f"locality.rtt_ms is {rows!r}; expected {{region: {{region: ms}}}}")
    for execution_region, row in rows.items():
        if not isinstance(row, dict) or set(row) != set(regions):
            raise ConfigError(
                f"locality.rtt_ms[{execution_region!r}] is {row!r}; expected a round trip "
                f"to each of {list(regions)} and nothing else"
            )
        for region, ms in row.items():
            if isinstance(ms, bool) or not isinstance(ms, int | float) or not 0 <= ms <= MAX_RTT_MS:
                raise ConfigError(
                    f"locality.rtt_ms[{execution_region!r}][{region!r}] is {ms!r}; "
                    f"expected milliseconds in [0, {MAX_RTT_MS}]"
                )
    return mode, float(tau_ms), rows


def _header_name(document: dict, key: str) -> str:
    name = document.get(key)
    if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
        raise ConfigError(f"{key} is {name!r}; expected a lower-case header name")
    if header_is_forbidden(name):
        raise ConfigError(f"{key} {name!r} is a header CloudFront forbids functions to add")
    return name


def _number(section: dict, key: str, *, low: float, high: float) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"routing.{key} is {value!r}; expected a number in [{low}, {high}]")
    return value


def _is_hostname(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    # An empty name is one empty label, so the label rule refuses it too.
    return len(name) <= 253 and all(
        0 < len(label) <= 63 and set(label.lower()) <= _TOKEN_CHARS | {"_"} for label in labels
    )


def load_config(path: str | None = None) -> EdgeConfig:
    """Read and validate the config file; raise :class:`ConfigError` with the reason."""
    path = path or config_path()
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    except ValueError as error:
        raise ConfigError(f"{path} is not valid JSON: {error}") from error
    return EdgeConfig(document)
