"""Lambda@Edge entry point: route every cache miss to a healthy region by weight.

``handler(event, context)`` is thin: it finds the request or response in the event,
asks :class:`EdgeRouter` (config + routing-table cache + the pure core in
:mod:`edge_handler.routing`) what to do, and fails open. Any exception, a broken
config, or an event it does not understand returns the request (origin-request) or
the response (origin-response) exactly as CloudFront sent it, with one JSON log
line: CloudFront then uses the configured origin, a valid bucket. A routing bug must
never become the outage.

The router mutates the event in place, and only after every decision is made and
every lookup has succeeded, so a failure half way cannot leave a half-rewritten
request behind. The config is loaded at import (once per container); if that fails
the container keeps answering fail-open instead of crash-looping.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from . import log, routing
from .config import EdgeConfig, load_config
from .table import Resolver, RoutingTableCache

ROUTED_EVENT_TYPES = ("origin-request", "origin-response")


class EdgeRouter:
    """Everything one container knows: the topology and its routing-table cache."""

    def __init__(
        self,
        config: EdgeConfig,
        cache: RoutingTableCache,
        execution_region: str | None = None,
    ) -> None:
        self.config = config
        self.cache = cache
        self.execution_region = execution_region
        self.locality_factors = _locality_factors(config, execution_region)
        self._weighted: tuple[dict[str, int] | None, dict[str, float]] = (None, {})

    def ranking_weights(self, table: dict[str, int]) -> dict[str, int] | dict[str, float]:
        """The weights to rank with: the table's, or in latency mode times nearness.

        Recomputed only when the cache hands out a new table object (once per TTL).
        """
        factors = self.locality_factors
        if factors is None:
            return table
        seen_table, weights = self._weighted
        if seen_table is not table:
            weights = routing.locality_weights(table, factors)
            self._weighted = (table, weights)
        return weights

    def origin_request(self, request: dict) -> dict:
        """Point an S3 origin at the chosen region's bucket; custom origins pass through."""
        config = self.config
        origin = request["origin"]
        if "custom" in origin or "s3" not in origin:
            return request
        s3 = origin["s3"]
        headers = request["headers"]
        uri = request["uri"]
        if not isinstance(s3, dict) or not isinstance(headers, dict) or not isinstance(uri, str):
            raise TypeError("request.origin.s3, request.headers or request.uri has the wrong type")
        if self._topology_region(s3) is None:
            return request  # not one of our buckets: CloudFront's origin, unchanged
        table = self.cache.table()
        ranking = routing.rank_regions(self.ranking_weights(table), uri)
        region = ranking[0]
        if _is_failover_attempt(s3, config.failover_header):
            region = routing.failover_target(
                table,
                ranking,
                primary_region=config.primary_region,
                replication=config.replication,
            )
            log.anomaly(
                "failover_attempt",
                key=f"{ranking[0]}->{region}",
                uri=uri,
                first_choice=ranking[0],
                target=region,
                replication=config.replication,
                table=table,
            )
        domain = config.region_domains[region]  # KeyError (fail open) if not topology
        s3["domainName"] = domain
        s3["region"] = region
        for name in [name for name in headers if name.lower() == "host" and name != "host"]:
            del headers[name]  # one Host header whatever case the event spelled its key in
        headers["host"] = [{"key": "Host", "value": domain}]
        if config.auth == "sigv4":
            self._sign(request, region, domain)
        return request

    def fail_open_request(self, request: dict) -> dict:
        """The request for the configured origin; in ``sigv4`` mode signed for its region.

        Called when routing failed: CloudFront then contacts the configured origin,
        which only admits signed requests once the origin access identity is gone.
        """
        if self.config.auth != "sigv4":
            return request
        s3 = request["origin"].get("s3") if "custom" not in request["origin"] else None
        domain = s3.get("domainName") if isinstance(s3, dict) else None
        region = self.config.domain_regions.get(domain) if isinstance(domain, str) else None
        if region is not None:
            self._sign(request, region, domain)
        return request

    def _sign(self, request: dict, region: str, domain: str) -> None:
        """Sign for ``region``; without credentials leave it unsigned, with one log line."""
        from . import sigv4  # only sigv4 stacks pay for compiling it (cold start)

        try:
            sigv4.sign_s3_request(request, region, domain)
        except sigv4.MissingCredentials as error:
            log.anomaly("unsigned", key=str(error), error=str(error), region=region)
            return
        request["origin"]["s3"]["authMethod"] = "none"

    def origin_response(self, request: dict, response: dict) -> dict:
        """Name the region that served the object in the response's region header."""
        origin = request["origin"]
        s3 = origin.get("s3") if "custom" not in origin else None
        if not isinstance(s3, dict):
            return response
        region = self._topology_region(s3)
        if region is None:
            return response
        headers = response["headers"]
        if not isinstance(headers, dict):
            raise TypeError(f"response.headers is a {type(headers).__name__}, not an object")
        headers[self.config.region_header] = [
            {"key": self.config.region_header_key, "value": region}
        ]
        return response

    def _topology_region(self, s3: dict) -> str | None:
        """The topology region whose bucket the S3 origin names; None (logged) otherwise.

        The function routes only origins it knows: another S3 origin on the same
        distribution (a second cache behaviour, a log bucket) is CloudFront's business.
        """
        domain = s3.get("domainName")
        region = (
            self.config.domain_regions.get(domain.lower().rstrip("."))
            if isinstance(domain, str)
            else None
        )
        if region is None:
            log.anomaly("unknown_origin_domain", key=repr(domain), domain=domain)
        return region


def _is_failover_attempt(s3: dict, marker: str) -> bool:
    """The origin group's secondary origin carries ``<failover_header>: 1``."""
    custom_headers = s3.get("customHeaders")
    if not isinstance(custom_headers, dict):
        return False
    entries = custom_headers.get(marker)
    if not isinstance(entries, list):
        return False
    return any(isinstance(entry, dict) and entry.get("value") == "1" for entry in entries)


def _locality_factors(config: EdgeConfig, execution_region: str | None) -> dict[str, float] | None:
    """Nearness factors for latency mode; None (plain weights) in weighted mode or when
    the config has no round trips from the region the function runs in (logged)."""
    factors = routing.locality_factors_for(
        config.locality_mode, config.tau_ms, config.rtt_ms, execution_region
    )
    if factors is None and config.locality_mode == "latency":
        log.anomaly(
            "unknown_execution_region",
            key=repr(execution_region),
            execution_region=execution_region,
            known=sorted(config.rtt_ms),
        )
    return factors


def build_router(
    config_path: str | None = None,
    *,
    resolver: Resolver | None = None,
    clock: Callable[[], float] = time.monotonic,
    execution_region: str | None = None,
) -> EdgeRouter:
    """Load the config (raises ``ConfigError``) and build a fresh container's router.

    ``execution_region`` defaults to ``AWS_REGION``, which Lambda@Edge sets to the
    region the replica runs in (not us-east-1, where the function was created).
    """
    config = load_config(config_path)
    if execution_region is None:
        execution_region = os.environ.get("AWS_REGION")
    return EdgeRouter(
        config, RoutingTableCache(config, resolver=resolver, clock=clock), execution_region
    )


_router: EdgeRouter | None = None
_config_error: str | None = None


def reset_container(router: EdgeRouter | None = None) -> EdgeRouter | None:
    """Start over as a fresh container: use ``router``, or load the config again.

    For tests and the lab; Lambda calls nothing but :func:`handler`. Never raises: a
    broken config is logged once and leaves the container failing open.
    """
    global _router, _config_error
    if router is not None:
        _router, _config_error = router, None
        return router
    try:
        _router, _config_error = build_router(), None
    except Exception as error:
        _router, _config_error = None, f"{type(error).__name__}: {error}"
        log.anomaly("config_error", error=_config_error)
    return _router


def current_router() -> EdgeRouter | None:
    """The container's router, or None while the config is broken."""
    return _router


def handler(event: dict, context: object) -> dict | None:
    """The Lambda@Edge entry point (``edge_handler.handler.handler``)."""
    try:
        cf = event["Records"][0]["cf"]
        event_type = cf["config"].get("eventType")
        router = _router
        if router is None:
            log.anomaly("config_unavailable", error=_config_error)
            return _unchanged(event)
        if event_type == "origin-request":
            return router.origin_request(cf["request"])
        if event_type == "origin-response":
            return router.origin_response(cf["request"], cf["response"])
        log.anomaly("unexpected_event_type", key=repr(event_type), event_type=event_type)
        return _unchanged(event)
    except Exception as error:
        log.anomaly(
            "exception",
            key=f"{type(error).__name__}: {error}"[:200],
            error=f"{type(error).__name__}: {error}",
            where=_where(error),
        )
        return _fail_open(event)


def _fail_open(event: object) -> dict | None:
    """What CloudFront sent; an origin request signed for its configured origin when
    the function signs (a failure to sign too leaves it as sent, with one log line).

    An event too malformed to hold a request is only passed back: there is nothing to
    sign, so it must not add an "unsigned" line to the exception line.
    """
    unchanged = _unchanged(event)
    router = _router
    if router is None or unchanged is None:
        return unchanged
    try:
        if event["Records"][0]["cf"].get("request") is unchanged:  # type: ignore[index]
            return router.fail_open_request(unchanged)  # never the response: not signed
    except Exception as error:
        log.anomaly("unsigned", key=type(error).__name__, error=f"{type(error).__name__}: {error}")
    return unchanged


def _unchanged(event: object) -> dict | None:
    """What CloudFront sent, to pass through: the request on request events, the
    response on response events, and when the event type is missing or unknown,
    whichever the event holds (the response if it has one). None only for an event
    too malformed to contain either."""
    try:
        cf = event["Records"][0]["cf"]  # type: ignore[index]
        config = cf.get("config")
        event_type = config.get("eventType") if isinstance(config, dict) else None
        if isinstance(event_type, str) and event_type.endswith("-request"):
            return cf["request"]
        if isinstance(event_type, str) and event_type.endswith("-response"):
            return cf["response"]
        return cf["response"] if "response" in cf else cf["request"]
    except Exception:
        return None


def _where(error: BaseException) -> str:
    """``file:line`` of the innermost frame, enough to find a bug from one log line."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return "?"
    code = traceback.tb_frame.f_code
    return f"{os.path.basename(code.co_filename)}:{traceback.tb_lineno} in {code.co_name}"


reset_container()
