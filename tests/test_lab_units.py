"""Fast tests of the lab's parts: DNS answers and health semantics, events, the edge's
rules, the S3 emulator's Host routing and the replicator."""

from __future__ import annotations

import dataclasses
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from asset_delivery.lab.clock import LabClock
from asset_delivery.lab.cloudfront_rules import origin_request_violations
from asset_delivery.lab.containers import FunctionError, Invocation
from asset_delivery.lab.dns import DnsServer, RoutingZone
from asset_delivery.lab.edge import OAI_AUTHORIZATION, Edge, WeightedOriginResolver
from asset_delivery.lab.events import (
    origin_request_event,
    origin_response_event,
    parse_bucket_domain,
)
from asset_delivery.lab.health import HealthChecker, ThresholdTracker, probe
from asset_delivery.lab.regions import RegionEmulator, make_emulators
from asset_delivery.lab.replication import Replicator
from asset_delivery.lab.stack import declared_stack
from asset_delivery.lab.targets import target_failures
from dnslib import QTYPE, RCODE, DNSRecord

STACK = declared_stack({"us-east-1": 50, "eu-west-1": 30, "ap-southeast-2": 20})
TWO_REGIONS = declared_stack({"us-east-1": 50, "eu-west-1": 50})


def wait_until(condition, timeout_s: float = 20.0) -> None:
    """Poll a condition with a generous deadline (no sleeps as synchronisation)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.01)


# -- DNS ---------------------------------------------------------------------------------


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    server = DnsServer(RoutingZone(STACK.routing, STACK.regions))
    server.start()
    yield server
    server.stop()


def ask(server: DnsServer, name: str, qtype: str = "TXT", tcp: bool = False) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    return DNSRecord.parse(query.send("127.0.0.1", server.port, tcp=tcp, timeout=2))


def txt_values(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata).strip('"') for rr in reply.rr if rr.rtype == QTYPE.TXT)


def test_dns_answers_every_declared_record_with_the_declared_ttl(dns: DnsServer) -> None:
    reply = ask(dns, STACK.routing.record_name)
    assert txt_values(reply) == sorted(s.record_value for s in STACK.regions.values())
    assert {rr.ttl for rr in reply.rr} == {STACK.routing.ttl_s}
    assert reply.header.aa == 1
    assert dns.queries == 1


def test_dns_leaves_out_unhealthy_records_and_answers_all_when_none_is_healthy(
    dns: DnsServer,
) -> None:
    dns.zone.set_healthy("eu-west-1", False)
    assert txt_values(ask(dns, STACK.routing.record_name)) == [
        "v=1 region=ap-southeast-2 weight=20",
        "v=1 region=us-east-1 weight=50",
    ]
    for region in STACK.regions:
        dns.zone.set_healthy(region, False)
    assert len(txt_values(ask(dns, STACK.routing.record_name))) == 3


def test_dns_weight_change_and_names_outside_the_record(dns: DnsServer) -> None:
    dns.zone.set_weight("eu-west-1", 0)
    assert "v=1 region=eu-west-1 weight=0" in txt_values(ask(dns, STACK.routing.record_name))
    with pytest.raises(ValueError, match="0-255"):
        dns.zone.set_weight("eu-west-1", 256)
    assert ask(dns, "other." + STACK.routing.zone_name).header.rcode == RCODE.NXDOMAIN
    assert ask(dns, "example.org").header.rcode == RCODE.REFUSED
    assert ask(dns, STACK.routing.record_name, "A").rr == []


def test_dns_over_tcp_on_the_same_port(dns: DnsServer) -> None:
    assert dns.tcp  # the server retries ports until TCP binds beside UDP
    assert len(txt_values(ask(dns, STACK.routing.record_name, tcp=True))) == 3


def test_dns_outage_switch_stays_silent_but_counts(dns: DnsServer) -> None:
    dns.answering = False
    with pytest.raises(socket.timeout):
        DNSRecord.question(STACK.routing.record_name, "TXT").send(
            "127.0.0.1", dns.port, timeout=0.3
        )
    assert dns.queries == 1


# -- health checks -----------------------------------------------------------------------


def test_threshold_tracker_needs_consecutive_results_to_flip() -> None:
    tracker = ThresholdTracker(3)
    assert [tracker.record(r) for r in (False, False, True, False, False)] == [None] * 5
    assert tracker.record(False) is False
    assert [tracker.record(r) for r in (True, True)] == [None, None]
    assert tracker.record(True) is True


class _ProbeTarget(BaseHTTPRequestHandler):
    status = 200
    body = b"asset-delivery health probe: ok\n"
    hosts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers["Host"])
        self.send_response(type(self).status)
        self.send_header("Content-Length", str(len(type(self).body)))
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def probe_target() -> Iterator[tuple[int, type[_ProbeTarget]]]:
    handler = type("Target", (_ProbeTarget,), {"hosts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def test_probe_needs_2xx_or_3xx_and_the_search_string(probe_target) -> None:
    port, handler = probe_target
    check = STACK.regions["eu-west-1"].health_check
    assert probe(port, check)
    assert handler.hosts == [check.fqdn]
    handler.body = b"something else"
    assert not probe(port, check)
    handler.body, handler.status = _ProbeTarget.body, 503
    assert not probe(port, check)
    assert not probe(None, check)


def test_an_inverted_check_reports_a_healthy_bucket_unhealthy(probe_target) -> None:
    port, _ = probe_target
    rehearsal = declared_stack({"us-east-1": 50, "eu-west-1": 50}, rehearseOutage=["eu-west-1"])
    inverted = rehearsal.regions["eu-west-1"].health_check
    normal = rehearsal.regions["us-east-1"].health_check
    assert inverted.inverted and not normal.inverted
    assert not probe(port, dataclasses.replace(inverted, fqdn=normal.fqdn))
    assert probe(None, inverted)  # Route 53 inverts every verdict, unreachable included


def test_health_checker_flips_after_threshold_and_back(probe_target) -> None:
    port, _ = probe_target
    check = STACK.regions["eu-west-1"].health_check
    where = {"port": port}
    verdicts: list[bool] = []
    clock = LabClock(20.0)  # 10 s interval = 500 ms: room for a loaded machine's scheduling
    checker = HealthChecker(
        [check], lambda _r: where["port"], clock, lambda _r, healthy: verdicts.append(healthy)
    )
    checker.start()
    try:
        wait_until(lambda: checker.probes >= 2)
        assert verdicts == []
        where["port"] = None
        down_at = clock.now()
        wait_until(lambda: verdicts == [False])
        detect = checker.events[0].lab_time - down_at
        assert detect <= check.request_interval_s * check.failure_threshold + 5
        assert detect >= check.request_interval_s * (check.failure_threshold - 1) - 1
        where["port"] = port
        wait_until(lambda: verdicts == [False, True])
    finally:
        checker.stop()


# -- events and the edge's rules ---------------------------------------------------------------


def test_parse_bucket_domain() -> None:
    assert parse_bucket_domain("b-1.s3.eu-west-1.amazonaws.com") == ("b-1", "eu-west-1")
    assert parse_bucket_domain("b-1.s3.amazonaws.com") == ("b-1", "us-east-1")
    assert parse_bucket_domain("assets.example.com") is None


def test_origin_request_event_has_the_documented_shape() -> None:
    distribution = STACK.distribution
    origin = distribution.origins["failover"]
    event = origin_request_event(
        distribution, origin, request_id="r1", client_ip="127.0.0.1", method="GET", uri="/a.txt"
    )
    cf = event["Records"][0]["cf"]
    assert cf["config"] == {
        "distributionDomainName": distribution.domain_name,
        "distributionId": distribution.distribution_id,
        "eventType": "origin-request",
        "requestId": "r1",
    }
    request = cf["request"]
    assert set(request) == {"clientIp", "headers", "method", "querystring", "uri", "origin"}
    assert request["headers"]["host"] == [{"key": "Host", "value": origin.domain}]
    s3 = request["origin"]["s3"]
    assert s3["authMethod"] == "origin-access-identity"
    assert s3["region"] == "eu-west-1"
    assert s3["customHeaders"] == {"x-asset-failover": [{"key": "x-asset-failover", "value": "1"}]}
    assert origin_request_violations(request, request) == []
    response = origin_response_event(
        distribution,
        request,
        request_id="r1",
        status=200,
        status_description="OK",
        headers=[("ETag", '"x"')],
    )
    assert response["Records"][0]["cf"]["response"] == {
        "status": "200",
        "statusDescription": "OK",
        "headers": {"etag": [{"key": "ETag", "value": '"x"'}]},
    }


class _StubPool:
    """Stands in for the containers: answers with a function of the event."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.events: list[dict] = []

    def invoke(self, event: dict, request_id: str) -> tuple[Invocation, int]:
        self.events.append(event)
        return Invocation(self.answer(event), 0.1, 0), 0


def _edge(pool, locate=lambda _r: None) -> Edge:
    return Edge(STACK, locate, LabClock(1.0), pool)


def test_edge_answers_502_when_the_function_breaks_cloudfront_rules() -> None:
    def add_forbidden_header(event: dict) -> dict:
        request = event["Records"][0]["cf"]["request"]
        request["headers"]["x-amz-cf-id"] = [{"key": "X-Amz-Cf-Id", "value": "forged"}]
        return request

    response = _edge(_StubPool(add_forbidden_header)).handle("GET", "/a.txt", "127.0.0.1")
    assert response.status == 502


def test_edge_answers_503_when_the_function_fails() -> None:
    class Failing:
        def invoke(self, event: dict, request_id: str):
            raise FunctionError("boom")

    assert _edge(Failing()).handle("GET", "/a.txt", "127.0.0.1").status == 503


def test_edge_fails_over_on_connection_failure_with_the_marker_header() -> None:
    pool = _StubPool(lambda event: event["Records"][0]["cf"]["request"])
    edge = _edge(pool)  # every region unreachable
    assert edge.handle("GET", "/a.txt", "127.0.0.1").status == 502
    assert [
        e["Records"][0]["cf"]["request"]["origin"]["s3"]["customHeaders"] for e in pool.events
    ] == [{}, {"x-asset-failover": [{"key": "x-asset-failover", "value": "1"}]}]
    record = edge.records[0]
    assert record.failover and [a.failure for a in record.attempts] == ["connect", "connect"]


def test_edge_rejects_disallowed_methods() -> None:
    assert _edge(_StubPool(lambda e: e)).handle("POST", "/a.txt", "127.0.0.1").status == 403


def test_weighted_origin_resolver_caches_each_answer_for_the_ttl() -> None:
    clock = LabClock(1.0)
    resolver = WeightedOriginResolver({"a": 50, "b": 50}, 3600, clock, resolvers=2, seed=1)
    first = [resolver.resolve() for _ in range(10)]
    assert resolver.lookups == 2
    assert first[0::2] == [first[0]] * 5 and first[1::2] == [first[1]] * 5


def test_targets() -> None:
    base = {
        "scenario": "drain",
        "requests": 10,
        "viewer_errors": 0,
        "shift_s": 3.0,
        "shift_target_s": 10.0,
        "error_rate": 0.0,
    }
    assert target_failures(base) == []
    assert target_failures({**base, "viewer_errors": 1})
    assert target_failures({**base, "shift_s": 11.0})
    no_function = {
        **base,
        "scenario": "no-edge-function",
        "shift_s": None,
        "error_rate": 0.3,
        "expected_error_rate": 0.5,
    }
    assert target_failures(no_function)
    assert target_failures({**no_function, "error_rate": 0.45}) == []


# -- the S3 emulator and replication ---------------------------------------------------------


@pytest.fixture(scope="module")
def regions() -> Iterator[dict[str, RegionEmulator]]:
    stack = TWO_REGIONS
    emulators = make_emulators(stack)
    threads = [threading.Thread(target=e.start) for e in emulators.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        yield emulators
    finally:
        for emulator in emulators.values():
            emulator.kill()


def _get(
    port: int, host: str, path: str, signed: bool = True, method: str = "GET", **headers: str
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Host": host, **headers}
    if signed:  # as the edge signs for the declared origin access identity
        headers["Authorization"] = OAI_AUTHORIZATION.format(region="us-east-1")
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_emulator_routes_by_host_like_s3(regions) -> None:
    use1, euw1 = regions["us-east-1"], regions["eu-west-1"]
    use1.client().put_object(Bucket=use1.spec.bucket, Key="a.txt", Body=b"A")
    assert _get(use1.port, use1.spec.domain, "/a.txt") == (200, b"A")
    status, body = _get(euw1.port, use1.spec.domain, "/a.txt")  # wrong region's endpoint
    assert status == 404 and b"NoSuchBucket" in body


def test_emulator_enforces_the_declared_bucket_policy(regions) -> None:
    use1 = regions["us-east-1"]
    use1.client().put_object(Bucket=use1.spec.bucket, Key="b.txt", Body=b"B")
    domain = use1.spec.domain
    # The origin identity may read objects, nothing else: no listing, and a missing key
    # is 403 (not 404) because it may not list the bucket.
    assert _get(use1.port, domain, "/b.txt") == (200, b"B")
    status, body = _get(use1.port, domain, "/")
    assert status == 403 and b"AccessDenied" in body and b"ListBucketResult" not in body
    assert _get(use1.port, domain, "/missing.txt")[0] == 403
    assert _get(use1.port, domain, "/missing.txt", method="HEAD")[0] == 403
    # Anonymous readers: no data object, no listing, not even the probe from elsewhere.
    assert _get(use1.port, domain, "/b.txt", signed=False)[0] == 403
    assert _get(use1.port, domain, "/", signed=False)[0] == 403
    check = use1.spec.health_check
    assert not probe(use1.port, check)
    # The health checkers (their declared address ranges) read the probe and only it.
    checker = TWO_REGIONS.health_checker_ip
    assert probe(use1.port, check, source_ip=checker)
    assert _get(use1.port, domain, "/b.txt", signed=False, **{"x-lab-source-ip": checker})[0] == 403
    # An access key nobody issued is refused.
    nobody = (
        "AWS4-HMAC-SHA256 Credential=NOBODY/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )
    status, body = _get(use1.port, domain, "/b.txt", signed=False, Authorization=nobody)
    assert status == 403 and b"InvalidAccessKeyId" in body


def test_replication_copies_headers_metadata_and_tags(regions) -> None:
    use1, euw1 = regions["us-east-1"], regions["eu-west-1"]
    replicator = Replicator(TWO_REGIONS.replication, regions, LabClock(1.0))
    replicator.poll_once(scan=True)
    use1.client().put_object(
        Bucket=use1.spec.bucket,
        Key="styled.css",
        Body=b"body{}",
        ContentType="text/css",
        CacheControl="public, max-age=31536000, immutable",
        ContentEncoding="gzip",
        Metadata={"build": "42"},
        Tagging="team=web&tier=static",
    )

    def replica() -> dict | None:
        replicator.poll_once(scan=True)
        try:
            return euw1.client().head_object(Bucket=euw1.spec.bucket, Key="styled.css")
        except Exception:
            return None

    wait_until(lambda: replica() is not None)
    copy = replica()
    assert copy["ContentType"] == "text/css"
    assert copy["CacheControl"] == "public, max-age=31536000, immutable"
    assert copy["ContentEncoding"] == "gzip"
    assert copy["Metadata"] == {"build": "42"}
    tags = euw1.client().get_object_tagging(Bucket=euw1.spec.bucket, Key="styled.css")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "web", "tier": "static"}


def test_replicator_copies_after_the_lag_and_catches_up_after_an_outage(regions) -> None:
    stack = TWO_REGIONS
    use1, euw1 = regions["us-east-1"], regions["eu-west-1"]
    clock = LabClock(1.0)
    replicator = Replicator(stack.replication, regions, clock, lag_s=0.3)
    replicator.poll_once(scan=True)  # existing objects are seen as of now
    replicator.lag_s = 0.3

    def on_replica(key: str) -> bool:
        try:
            euw1.client().head_object(Bucket=euw1.spec.bucket, Key=key)
        except Exception:
            return False
        return True

    use1.client().put_object(Bucket=use1.spec.bucket, Key="r/1.txt", Body=b"1")
    replicator.poll_once(scan=True)
    assert not on_replica("r/1.txt")  # lag not over yet
    wait_until(lambda: (replicator.poll_once(scan=True), on_replica("r/1.txt"))[1])

    use1.client().delete_object(Bucket=use1.spec.bucket, Key="r/1.txt")
    wait_until(lambda: (replicator.poll_once(scan=True), not on_replica("r/1.txt"))[1])
    assert replicator.stats().deletes == 1

    euw1.kill()
    use1.client().put_object(Bucket=use1.spec.bucket, Key="r/2.txt", Body=b"2")
    wait_until(lambda: (replicator.poll_once(scan=True), replicator.stats().retries > 0)[1])
    client = euw1.launch()
    replicator.adopt("eu-west-1", client)
    euw1.publish()
    wait_until(lambda: (replicator.poll_once(scan=True), on_replica("r/2.txt"))[1])
    assert replicator.stats().pending == 0


def test_containers_get_execution_regions_in_turn() -> None:
    from asset_delivery.lab.lab import SPREAD_EDGE_REGIONS, Lab
    from asset_delivery.locality import EDGE_REGIONS

    assert sorted(SPREAD_EDGE_REGIONS) == sorted(EDGE_REGIONS)  # every edge region, once
    assert Lab(TWO_REGIONS, containers=4).container_regions == list(SPREAD_EDGE_REGIONS[:4])
    chosen = Lab(TWO_REGIONS, containers=3, edge_regions=["eu-west-2", "sa-east-1"])
    assert chosen.container_regions == ["eu-west-2", "sa-east-1", "eu-west-2"]
