"""The routing-table lookup against a real DNS server on 127.0.0.1 (dnslib encoding).

Each case checks where requests go and that lookups are not repeated within a TTL
(queries are counted at the server). Time for TTLs is a fake clock; only the lookup
timeout itself runs on real time.
"""

from __future__ import annotations

import _socket
import contextlib
import copy
import errno
import json
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler import log
from asset_delivery.edge_handler.config import load_config
from asset_delivery.edge_handler.handler import EdgeRouter
from asset_delivery.edge_handler.table import RoutingTableCache
from asset_delivery.edge_handler.txt_lookup import DnsTxtResolver, LookupFailed
from asset_delivery.lab.cloudfront_rules import rewrite_is_valid_or_unchanged
from dnslib import QTYPE, RCODE, RR, TXT, A, DNSLabel, DNSRecord

RECORD = "_routes.assets.example.com"
FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
DOMAINS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": "assets-euw1-def.s3.eu-west-1.amazonaws.com",
}
EQUAL = {"us-east-1": 1, "eu-west-1": 1}


class FakeZone:
    """What the name server answers for ``RECORD``; counts the queries it receives."""

    def __init__(self) -> None:
        self.mode = "answer"  # answer | silent | servfail | nxdomain | empty | garbage | truncate
        self.values: list[str | list[str]] = []
        self.ttl = 30
        self.ttls: list[int] | None = None
        # mode "craft": UDP datagrams made from the query; TCP answers normally
        self.craft: Callable[[DNSRecord, bytes], list[bytes]] | None = None
        self.tcp_garbage = False
        self.tcp_cut: int | None = None  # send only this many bytes over TCP, then close
        self.udp_queries = 0
        self.tcp_queries = 0
        self._lock = threading.Lock()

    def set_table(self, table: dict[str, int], ttl: int = 30) -> None:
        self.mode, self.ttl, self.ttls = "answer", ttl, None
        self.values = [f"v=1 region={region} weight={weight}" for region, weight in table.items()]

    @property
    def queries(self) -> int:
        return self.udp_queries + self.tcp_queries

    def reply(self, data: bytes, over_tcp: bool) -> bytes | list[bytes] | None:
        with self._lock:
            if over_tcp:
                self.tcp_queries += 1
            else:
                self.udp_queries += 1
        request = DNSRecord.parse(data)
        if self.mode == "silent":
            return None
        if self.mode == "garbage" or (over_tcp and self.tcp_garbage):
            return b"\x00\x01this is not a dns message"
        if self.mode == "craft" and not over_tcp and self.craft is not None:
            return self.craft(request, self.answer(request, over_tcp).pack())
        return self.answer(request, over_tcp).pack()

    def answer(self, request: DNSRecord, over_tcp: bool) -> DNSRecord:
        """The zone's reply in the current mode ("craft" answers like "answer")."""
        reply = request.reply()
        if self.mode == "servfail":
            reply.header.rcode = RCODE.SERVFAIL
        elif self.mode == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        elif self.mode == "truncate" and not over_tcp:
            reply.header.tc = 1
        elif self.mode != "empty" and str(request.q.qname).rstrip(".") == RECORD:
            for index, value in enumerate(self.values):
                ttl = self.ttls[index] if self.ttls else self.ttl
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, ttl=ttl, rdata=TXT(value)))
        return reply


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        answer = self.server.zone.reply(data, over_tcp=False)
        for datagram in answer if isinstance(answer, list) else [answer] if answer else []:
            sock.sendto(datagram, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        size = int.from_bytes(self.request.recv(2), "big")
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                return
            data += chunk
        answer = self.server.zone.reply(data, over_tcp=True)
        if answer is not None:
            framed = len(answer).to_bytes(2, "big") + answer
            self.request.sendall(framed[: self.server.zone.tcp_cut])


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def dns_server() -> Iterator[tuple[FakeZone, int]]:
    """UDP and TCP on the same free port of 127.0.0.1."""
    zone = FakeZone()
    for _ in range(20):
        udp = _UDPServer(("127.0.0.1", 0), _UDPHandler)
        port = udp.server_address[1]
        try:
            tcp = _TCPServer(("127.0.0.1", port), _TCPHandler)
            break
        except OSError:
            udp.server_close()
    else:
        raise RuntimeError("no port free for both UDP and TCP")
    threads = []
    for server in (udp, tcp):
        server.zone = zone
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        threads.append(thread)
    try:
        yield zone, port
    finally:
        for server in (udp, tcp):
            server.shutdown()
            server.server_close()


@pytest.fixture
def server() -> Iterator[tuple[FakeZone, int]]:
    with dns_server() as running:
        yield running


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(log, "anomaly", log.AnomalyLog(write=lines.append))
    return lines


def kinds(lines: list[str]) -> list[str]:
    return [json.loads(line)["anomaly"] for line in lines]


def closed_udp_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


class Container:
    """One container: a router on a real resolver, a fake clock, and a request loop."""

    def __init__(self, tmp_path: Path, nameservers: list[str], timeout_ms: int = 2000) -> None:
        path = tmp_path / "edge_config.json"
        path.write_text(
            render_edge_config(
                primary_region="us-east-1",
                region_domains=DOMAINS,
                routing_record=RECORD,
                nameservers=nameservers,
                replication="from-primary",
                timeout_ms=timeout_ms,
                min_ttl_s=5,
                max_ttl_s=60,
            )
        )
        self.clock = FakeClock()
        config = load_config(str(path))
        self.cache = RoutingTableCache(config, resolver=DnsTxtResolver(), clock=self.clock)
        self.router = EdgeRouter(config, self.cache)
        self.template = json.loads((FIXTURES / "origin_request_s3_oai.json").read_text())

    def route(self, count: int = 200) -> Counter:
        """Send ``count`` distinct URIs; count the regions they went to."""
        regions: Counter = Counter()
        for i in range(count):
            request = copy.deepcopy(self.template["Records"][0]["cf"]["request"])
            request["uri"] = f"/objects/{i}.png"
            original = copy.deepcopy(request)
            result = self.router.origin_request(request)
            assert rewrite_is_valid_or_unchanged(original, result, DOMAINS.values())
            domain = result["origin"]["s3"]["domainName"]
            assert domain in DOMAINS.values()
            regions[result["origin"]["s3"]["region"]] += 1
        return regions


def test_normal_table_routes_by_weight_with_one_query(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 0, "eu-west-1": 100})
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route(500) == {"eu-west-1": 500}
    assert zone.queries == 1
    assert container.cache.current == {"us-east-1": 0, "eu-west-1": 100}
    assert logs == []


def test_ttl_expiry_triggers_exactly_one_new_query(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 100, "eu-west-1": 0}, ttl=20)
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route() == {"us-east-1": 200}
    zone.set_table({"us-east-1": 0, "eu-west-1": 100}, ttl=20)
    container.clock.now += 19.9
    assert container.route() == {"us-east-1": 200}  # still within the TTL
    assert zone.queries == 1
    container.clock.now += 0.1
    assert container.route() == {"eu-west-1": 200}
    assert zone.queries == 2


@pytest.mark.parametrize("ttls", [[40, 12], [12, 40]], ids=["lowest-last", "lowest-first"])
def test_the_lowest_record_ttl_counts(server, tmp_path: Path, ttls: list[int]) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 1, "eu-west-1": 1})
    zone.ttls = ttls
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    container.route(10)
    container.clock.now += 11.9
    container.route(10)
    assert zone.queries == 1
    container.clock.now += 0.1
    container.route(10)
    assert zone.queries == 2


def test_a_region_dropping_out_of_the_answer(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 50, "eu-west-1": 50}, ttl=10)
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    both = container.route(400)
    assert set(both) == {"us-east-1", "eu-west-1"}
    zone.set_table({"eu-west-1": 50}, ttl=10)  # us-east-1's health check failed
    container.clock.now += 10
    assert container.route(400) == {"eu-west-1": 400}
    assert zone.queries == 2 and logs == []


FAILING_MODES = ["silent", "servfail", "nxdomain", "empty", "garbage"]


@pytest.mark.parametrize("mode", FAILING_MODES)
def test_failed_lookup_without_history_routes_on_equal_weights(
    server, tmp_path: Path, logs, mode: str
) -> None:
    zone, port = server
    zone.mode = mode
    container = Container(tmp_path, [f"127.0.0.1:{port}"], timeout_ms=300)
    started = time.monotonic()
    regions = container.route(400)
    assert time.monotonic() - started < 5  # one bounded lookup, not one per request
    assert set(regions) == {"us-east-1", "eu-west-1"}
    assert container.cache.current == EQUAL
    assert zone.queries == 1
    [line] = [json.loads(entry) for entry in logs]
    assert (line["anomaly"], line["fallback"]) == ("lookup_failed", "equal_weights")
    container.clock.now += 4.9  # no retry before min_ttl_s
    container.route(50)
    assert zone.queries == 1
    container.clock.now += 0.1
    container.route(50)
    assert zone.queries == 2


@pytest.mark.parametrize("mode", FAILING_MODES)
def test_failed_lookup_keeps_the_last_good_table(server, tmp_path: Path, logs, mode: str) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 0, "eu-west-1": 9}, ttl=10)
    container = Container(tmp_path, [f"127.0.0.1:{port}"], timeout_ms=300)
    container.route(50)
    zone.mode = mode
    container.clock.now += 10
    assert container.route(300) == {"eu-west-1": 300}
    assert zone.queries == 2
    assert json.loads(logs[-1])["fallback"] == "last_good"


def test_malformed_values_are_ignored_and_logged(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 30})
    zone.values += [
        "v=1 region=eu-west-1 weight=900",
        "v=1 region=eu-west-1",
        "hello world",
        "v=2 region=eu-west-1 weight=5",
    ]
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route(300) == {"us-east-1": 300}
    assert kinds(logs) == ["ignored_record"] * 4
    assert zone.queries == 1


def test_unknown_region_is_ignored(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"eu-west-1": 1, "mars-north-1": 255})
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route(300) == {"eu-west-1": 300}
    [line] = [json.loads(entry) for entry in logs]
    assert line["anomaly"] == "ignored_record" and "mars-north-1" in line["value"]


def test_a_value_naming_a_foreign_domain_never_changes_the_domain(
    server, tmp_path: Path, logs
) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 1})
    zone.values.append("v=1 region=eu-west-1 weight=255 domain=evil.example.com")
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route(300) == {"us-east-1": 300}  # the whole value is ignored
    assert "domain" in json.loads(logs[0])["reason"]


def test_only_foreign_domain_values_mean_a_failed_lookup(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.mode = "answer"
    zone.values = [
        "v=1 region=us-east-1 weight=9 domain=evil.example.com",
        "v=1 region=eu-west-1 weight=9 domain=evil.example.com",
    ]
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert set(container.route(300)) == {"us-east-1", "eu-west-1"}  # domains from topology
    assert kinds(logs) == ["ignored_record", "ignored_record", "lookup_failed"]


def test_a_dead_name_server_then_a_live_one(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 0, "eu-west-1": 10})
    container = Container(tmp_path, [f"127.0.0.1:{closed_udp_port()}", f"127.0.0.1:{port}"])
    assert container.route(200) == {"eu-west-1": 200}
    assert zone.queries == 1 and logs == []


def test_a_silent_name_server_gets_only_its_share_of_the_budget(
    server, tmp_path: Path, logs
) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 10, "eu-west-1": 0})
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    with silent:
        container = Container(
            tmp_path, [f"127.0.0.1:{silent.getsockname()[1]}", f"127.0.0.1:{port}"], 2000
        )
        started = time.monotonic()
        assert container.route(100) == {"us-east-1": 100}
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.9  # waited half of 2 s for the first, then asked the second
    assert zone.queries == 1 and logs == []


def test_a_name_server_given_by_name_is_resolved(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 0, "eu-west-1": 10})
    container = Container(tmp_path, [f"localhost:{port}"])
    assert container.route(100) == {"eu-west-1": 100}
    assert zone.queries == 1 and logs == []


def test_truncated_answer_is_retried_over_tcp(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 10, "eu-west-1": 0})
    zone.mode = "truncate"
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert container.route(100) == {"us-east-1": 100}
    assert (zone.udp_queries, zone.tcp_queries) == (1, 1)
    assert logs == []


def test_multi_string_txt_values_are_joined(server, tmp_path: Path) -> None:
    zone, port = server
    zone.set_table({})
    zone.values = [["v=1 region=eu-west-1 ", "weight=40"]]
    values, ttl = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert (values, ttl) == (["v=1 region=eu-west-1 weight=40"], 30)


def test_resolver_error_says_what_each_server_did(server) -> None:
    zone, port = server
    zone.mode = "servfail"
    dead = closed_udp_port()
    with pytest.raises(LookupFailed) as failure:
        DnsTxtResolver()(RECORD, [("127.0.0.1", dead), ("127.0.0.1", port)], 1.0)
    message = str(failure.value)
    assert f"127.0.0.1:{dead}" in message and "SERVFAIL" in message


def test_unresolvable_name_server_fails_within_the_budget() -> None:
    started = time.monotonic()
    with pytest.raises(LookupFailed):
        DnsTxtResolver()(RECORD, [("no-such-host.invalid", 53)], 0.5)
    assert time.monotonic() - started < 1.5


# --- hostile or unrelated answers (the codec's checks, seen through the resolver) --------


def _with_header(packet: bytes, *, query_id: int | None = None, flags: int | None = None) -> bytes:
    head = bytearray(packet[:4])
    if query_id is not None:
        head[0:2] = query_id.to_bytes(2, "big")
    if flags is not None:
        head[2:4] = flags.to_bytes(2, "big")
    return bytes(head) + packet[4:]


def _answer_section_at(packet: bytes) -> int:
    """Offset of the first answer: after the header and the one question."""
    offset = 12
    while packet[offset]:
        offset += 1 + packet[offset]
    return offset + 5


HOSTILE_ANSWERS = {
    # the answer's name points at itself: a compression loop
    "compression loop": (
        lambda good: (
            good[: _answer_section_at(good)]
            + bytes([0xC0 | (_answer_section_at(good) >> 8), _answer_section_at(good) & 0xFF])
            + good[_answer_section_at(good) + 2 :]
        ),
        "does not point back",
    ),
    "pointer out of range": (
        lambda good: (
            good[: _answer_section_at(good)] + b"\xff\xff" + good[_answer_section_at(good) + 2 :]
        ),
        "does not point back",
    ),
    "truncated RDATA": (lambda good: good[:-3], "remain"),
    "reserved label type": (
        lambda good: (
            good[: _answer_section_at(good)] + b"\x80" + good[_answer_section_at(good) + 1 :]
        ),
        "reserved",
    ),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_ANSWERS))
def test_a_hostile_answer_fails_that_server_with_the_reason(server, kind: str) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 1})
    mangle, reason = HOSTILE_ANSWERS[kind]
    zone.mode, zone.craft = "craft", lambda request, good: [mangle(good)]
    with pytest.raises(LookupFailed, match=reason):
        DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)


@pytest.mark.parametrize(
    ("values", "qname", "qtype", "reason"),
    [
        ([], RECORD, QTYPE.TXT, "no TXT record"),
        (["v=1 region=us-east-1 weight=1"], "other.example.com", QTYPE.TXT, "no TXT record"),
        (["192.0.2.1"], RECORD, QTYPE.A, "no TXT record"),
    ],
)
def test_records_of_another_type_or_name_are_not_the_answer(
    server, values: list[str], qname: str, qtype: int, reason: str
) -> None:
    zone, port = server

    def craft(request: DNSRecord, good: bytes) -> list[bytes]:
        reply = request.reply()
        for value in values:
            rdata = A(value) if qtype == QTYPE.A else TXT(value)
            reply.add_answer(RR(qname, qtype, ttl=30, rdata=rdata))
        return [reply.pack()]

    zone.mode, zone.craft = "craft", craft
    with pytest.raises(LookupFailed, match=reason):
        DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)


def test_replies_to_other_queries_are_ignored_until_ours_arrives(server) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 7})

    def craft(request: DNSRecord, good: bytes) -> list[bytes]:
        other_question = request.reply()
        other_question.questions[0].qname = DNSLabel("other.example.com")
        other_question.add_answer(
            RR("other.example.com", QTYPE.TXT, ttl=30, rdata=TXT("v=1 region=eu-west-1 weight=9"))
        )
        other_type = request.reply()
        other_type.questions[0].qtype = QTYPE.A
        return [
            _with_header(good, query_id=(request.header.id + 1) % 65536),  # another id
            _with_header(good, flags=0x0000),  # not a response (QR clear): our query echoed
            other_question.pack(),
            other_type.pack(),
            good,
        ]

    zone.mode, zone.craft = "craft", craft
    values, ttl = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert (values, ttl) == (["v=1 region=us-east-1 weight=7"], 30)


def test_only_replies_to_other_queries_mean_no_answer_within_the_budget(server) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 7})
    zone.mode = "craft"
    zone.craft = lambda request, good: [_with_header(good, query_id=request.header.id ^ 0xFFFF)]
    with pytest.raises(LookupFailed, match="no answer within 600 ms"):
        DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 0.6)


def test_a_truncated_answer_cut_mid_record_is_retried_over_tcp(server) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3, "eu-west-1": 4})
    zone.mode = "craft"
    zone.craft = lambda request, good: [_with_header(good[:-5], flags=0x8600)]  # QR AA TC
    values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert sorted(values) == ["v=1 region=eu-west-1 weight=4", "v=1 region=us-east-1 weight=3"]
    assert (zone.udp_queries, zone.tcp_queries) == (1, 1)


def test_a_failed_tcp_retry_fails_that_server_and_the_next_one_answers(server) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode, zone.tcp_garbage = "truncate", True
    with dns_server() as (other_zone, other_port):
        other_zone.set_table({"eu-west-1": 5})
        values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", port), ("127.0.0.1", other_port)], 2.0)
    assert values == ["v=1 region=eu-west-1 weight=5"]
    assert zone.tcp_queries == 1


def test_a_failed_tcp_retry_is_reported(server) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode, zone.tcp_garbage = "truncate", True
    with pytest.raises(LookupFailed, match="truncated over UDP, TCP failed"):
        DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)


def test_name_server_addresses_are_cached_and_ipv4_comes_first(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3})
    calls: list[str] = []

    def fake_getaddrinfo(host, service, family=0, type=0, *rest):
        calls.append(host)
        return [
            (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("::1", service, 0, 0)),
            (socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("127.0.0.1", service)),
        ]

    monkeypatch.setattr(_socket, "getaddrinfo", fake_getaddrinfo)
    resolver = DnsTxtResolver()
    for _ in range(3):  # the server listens on 127.0.0.1 only: IPv6 first would time out
        values, _ = resolver(RECORD, [("ns-1.awsdns-01.org", port)], 1.0)
        assert values == ["v=1 region=us-east-1 weight=3"]
    assert calls == ["ns-1.awsdns-01.org"]
    assert zone.queries == 3


# --- the time budget covers every step ---------------------------------------------------


def test_a_tcp_retry_that_never_answers_ends_at_the_budget(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A truncated UDP answer, then a TCP connection that is accepted but never
    # answered: the viewer waits for the lookup budget, not for the server.
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode = "truncate"
    released = threading.Event()
    answer_normally = zone.reply

    def stall_over_tcp(data: bytes, over_tcp: bool):
        if over_tcp:
            released.wait(10)
            return None
        return answer_normally(data, over_tcp)

    monkeypatch.setattr(zone, "reply", stall_over_tcp)
    started = time.monotonic()
    try:
        with pytest.raises(LookupFailed, match="truncated over UDP, TCP failed"):
            DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 0.5)
        elapsed = time.monotonic() - started
    finally:
        released.set()
    assert elapsed < 5.0  # the silent TCP server would have held it 10 s


def test_a_truncated_answer_is_retried_over_tcp_with_under_a_second_left(server) -> None:
    # A short budget is normal (timeout_ms is often a few hundred ms): the TCP retry
    # gets whatever is left of it.
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode = "truncate"
    values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 0.9)
    assert values == ["v=1 region=us-east-1 weight=3"]
    assert (zone.udp_queries, zone.tcp_queries) == (1, 1)


def test_a_name_server_that_does_not_resolve_is_skipped_for_the_next(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone, port = server
    zone.set_table({"eu-west-1": 4})
    real_getaddrinfo = _socket.getaddrinfo

    def getaddrinfo(host, *args):
        if host == "ns-gone.example.net":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args)

    monkeypatch.setattr(_socket, "getaddrinfo", getaddrinfo)
    values, _ = DnsTxtResolver()(RECORD, [("ns-gone.example.net", 53), ("127.0.0.1", port)], 2.0)
    assert values == ["v=1 region=eu-west-1 weight=4"]


def test_a_name_server_the_network_cannot_reach_is_skipped_for_the_next(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sending can fail at once (no route to an IPv6 server from an IPv4-only edge):
    # that server is done, the next one is still asked.
    zone, port = server
    zone.set_table({"eu-west-1": 4})
    real_socket = _socket.socket

    class Unreachable(real_socket):
        def connect(self, address):
            if address[1] == 53:
                raise OSError(errno.ENETUNREACH, "Network is unreachable")
            return super().connect(address)

    monkeypatch.setattr(_socket, "socket", Unreachable)
    values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", 53), ("127.0.0.1", port)], 2.0)
    assert values == ["v=1 region=eu-west-1 weight=4"]
    with pytest.raises(LookupFailed, match=r"127\.0\.0\.1:53: .*Network is unreachable"):
        DnsTxtResolver()(RECORD, [("127.0.0.1", 53)], 0.5)


def test_a_late_answer_from_an_earlier_server_still_counts(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first server answers after its share of the budget; the second cannot be
    # asked at all: the first one's answer, inside the budget, is the answer.
    zone, port = server
    zone.set_table({"us-east-1": 6})
    answer_now = zone.reply
    late = threading.Event()

    def answer_late(data: bytes, over_tcp: bool):
        late.wait(1.4)  # a slow server: past its 1 s share, inside the 2 s budget
        return answer_now(data, over_tcp)

    def getaddrinfo(host, *args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(zone, "reply", answer_late)
    monkeypatch.setattr(_socket, "getaddrinfo", getaddrinfo)
    servers = [("127.0.0.1", port), ("ns-gone.example.net", 53)]
    values, _ = DnsTxtResolver()(RECORD, servers, 2.0)
    assert values == ["v=1 region=us-east-1 weight=6"]


def test_other_records_in_the_answer_do_not_hide_the_txt_ones(server) -> None:
    # Answers may carry other records (an A record, a CNAME) before ours; and a value
    # that is not UTF-8 is one bad value, not a failed lookup.
    zone, port = server

    def craft(request: DNSRecord, good: bytes) -> list[bytes]:
        reply = request.reply()
        reply.add_answer(RR(RECORD, QTYPE.A, ttl=30, rdata=A("192.0.2.1")))
        reply.add_answer(RR(RECORD, QTYPE.TXT, ttl=30, rdata=TXT(b"v=1 region=\xff weight=1")))
        reply.add_answer(RR(RECORD, QTYPE.TXT, ttl=30, rdata=TXT("v=1 region=us-east-1 weight=2")))
        return [reply.pack()]

    zone.mode, zone.craft = "craft", craft
    values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert values == ["v=1 region=\ufffd weight=1", "v=1 region=us-east-1 weight=2"]


def test_resolving_a_name_server_gets_only_that_servers_share_of_the_budget(
    server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # getaddrinfo has no timeout: a resolver that hangs must not hold the lookup, the
    # next name server is asked when the first one's share of the budget is over.
    zone, port = server
    zone.set_table({"eu-west-1": 4})
    released = threading.Event()

    def hanging_getaddrinfo(host, *args):
        released.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(_socket, "getaddrinfo", hanging_getaddrinfo)
    started = time.monotonic()
    try:
        values, _ = DnsTxtResolver()(
            RECORD, [("ns-slow.example.net", 53), ("127.0.0.1", port)], 1.0
        )
        elapsed = time.monotonic() - started
        with pytest.raises(LookupFailed, match=r"resolving name server ns-slow\.example\.net took"):
            DnsTxtResolver()(RECORD, [("ns-slow.example.net", 53)], 0.3)
    finally:
        released.set()
    assert values == ["v=1 region=eu-west-1 weight=4"]
    assert elapsed < 5.0  # the hung resolver would have held it 10 s


def test_a_cache_built_without_a_resolver_asks_the_name_servers_itself(
    server, tmp_path: Path
) -> None:
    # As in Lambda: build_router() passes no resolver, the DNS one is made on first use.
    zone, port = server
    zone.set_table({"us-east-1": 0, "eu-west-1": 6})
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    config = load_config(str(tmp_path / "edge_config.json"))
    cache = RoutingTableCache(config, clock=container.clock)
    assert cache.table() == {"us-east-1": 0, "eu-west-1": 6}
    assert cache.table() == {"us-east-1": 0, "eu-west-1": 6}
    assert zone.queries == 1


# --- what the failure says, per server (survivors of the mutation run, issue 13) ----------


def test_a_table_without_one_usable_value_is_logged_as_such(server, tmp_path: Path, logs) -> None:
    zone, port = server
    zone.set_table({})
    zone.values = ["hello world", "v=1 region=mars-north-1 weight=3"]
    container = Container(tmp_path, [f"127.0.0.1:{port}"])
    assert set(container.route(100)) == {"us-east-1", "eu-west-1"}
    failed = json.loads(logs[-1])
    assert failed["anomaly"] == "lookup_failed"
    assert failed["error"] == "LookupError: no usable routing value among 2 TXT values"


def _refused(request: DNSRecord, good: bytes) -> list[bytes]:
    return [_with_header(good, flags=0x8405)]  # QR AA, rcode 5


def _rcode_9(request: DNSRecord, good: bytes) -> list[bytes]:
    return [_with_header(good, flags=0x8409)]  # an rcode without a name here


@pytest.mark.parametrize(
    ("mode", "craft", "reason"),
    [
        ("servfail", None, "LookupFailed: answered SERVFAIL"),
        ("nxdomain", None, "LookupFailed: answered NXDOMAIN"),
        ("craft", _refused, "LookupFailed: answered REFUSED"),
        ("craft", _rcode_9, "LookupFailed: answered 9"),
        ("empty", None, "LookupFailed: answered NOERROR with no TXT record"),
        ("garbage", None, "DnsFormatError: "),
    ],
)
def test_each_failed_server_is_reported_with_the_error_and_its_type(
    server, mode: str, craft: Callable | None, reason: str
) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode, zone.craft = mode, craft
    dead = closed_udp_port()
    with pytest.raises(LookupFailed) as failure:
        DnsTxtResolver()(RECORD, [("127.0.0.1", dead), ("127.0.0.1", port)], 2.0)
    reasons = str(failure.value).removeprefix(f"TXT {RECORD}: ").split("; ")
    assert reasons[0].startswith(f"127.0.0.1:{dead}: ConnectionRefusedError: ")
    assert reasons[1].startswith(f"127.0.0.1:{port}: {reason}")
    assert len(reasons) == 2


def _answer_to_another_query(zone: FakeZone) -> Callable[[bytes, bool], bytes | None]:
    answer_normally = zone.reply

    def reply(data: bytes, over_tcp: bool) -> bytes | None:
        answer = answer_normally(data, over_tcp)
        return (
            _with_header(answer, query_id=int.from_bytes(data[:2], "big") ^ 1)
            if over_tcp
            else answer
        )

    return reply


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("garbage", "DnsFormatError: "),
        ("cut", "ConnectionError: TCP connection closed mid-answer"),
        ("other query", "DnsFormatError: TCP answer does not answer query id"),
    ],
)
def test_a_failed_tcp_retry_says_how_it_failed(
    server, monkeypatch: pytest.MonkeyPatch, fault: str, reason: str
) -> None:
    zone, port = server
    zone.set_table({"us-east-1": 3})
    zone.mode = "truncate"
    if fault == "garbage":
        zone.tcp_garbage = True
    elif fault == "cut":
        zone.tcp_cut = 20  # the length prefix and part of the header, then FIN
    else:
        monkeypatch.setattr(zone, "reply", _answer_to_another_query(zone))
    with pytest.raises(LookupFailed) as failure:
        DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert str(failure.value).startswith(
        f"TXT {RECORD}: 127.0.0.1:{port}: truncated over UDP, TCP failed: {reason}"
    )
    assert zone.tcp_queries == 1


def test_a_tcp_answer_over_32_kib_is_read_whole(server) -> None:
    # The TCP length prefix is unsigned (RFC 7766): 16 bits, up to 65535 bytes.
    zone, port = server
    zone.set_table({})
    zone.values = [f"value {index:03d} " + "x" * 240 for index in range(140)]
    zone.mode = "truncate"
    values, _ = DnsTxtResolver()(RECORD, [("127.0.0.1", port)], 2.0)
    assert values == zone.values
    assert zone.tcp_queries == 1


class _Segments:
    """A TCP connection whose bytes arrive in the given segments (as a large answer
    does); ``recv(n)`` returns at most ``n`` bytes of the segment at hand."""

    def __init__(self, segments: list[bytes]) -> None:
        self.segments = list(segments)

    def settimeout(self, timeout: float) -> None:
        assert timeout > 0

    def recv(self, size: int) -> bytes:
        if not self.segments:
            return b""
        segment = self.segments.pop(0)
        if len(segment) > size:
            self.segments.insert(0, segment[size:])
        return segment[:size]


@pytest.mark.parametrize(
    "segments",
    [
        [b"abcdef"],
        [b"ab", b"cdef"],
        [b"a", b"b", b"c", b"d", b"e", b"f"],
        [b"ab", b"cdefNEXT"],  # the next message's bytes are left on the connection
    ],
)
def test_a_tcp_answer_is_reassembled_from_its_segments(segments: list[bytes]) -> None:
    from asset_delivery.edge_handler.txt_lookup import _recv_exact

    connection = _Segments(segments)
    assert _recv_exact(connection, 6, time.monotonic() + 5) == b"abcdef"
    assert b"".join(connection.segments) == b"".join(segments)[6:]


@pytest.mark.parametrize(
    ("getaddrinfo_result", "reason"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve"),
        ([], "has no address"),
    ],
)
def test_a_name_server_without_an_address_is_named_in_the_failure(
    monkeypatch: pytest.MonkeyPatch, getaddrinfo_result: object, reason: str
) -> None:
    def getaddrinfo(host, *args):
        if isinstance(getaddrinfo_result, Exception):
            raise getaddrinfo_result
        return getaddrinfo_result

    monkeypatch.setattr(_socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(LookupFailed) as failure:
        DnsTxtResolver()(RECORD, [("ns-gone.example.net", 53)], 1.0)
    assert reason in str(failure.value)
    assert "ns-gone.example.net" in str(failure.value)


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("truncate", ["v=1 region=us-east-1 weight=6"]),  # retried over TCP, in the budget
        ("servfail", "127.0.0.1:{port}: LookupFailed: answered SERVFAIL"),
    ],
)
def test_a_late_answer_from_an_earlier_server_is_handled_like_a_prompt_one(
    server, monkeypatch: pytest.MonkeyPatch, mode: str, outcome: object
) -> None:
    # The first server answers over UDP after its share of the budget, the second
    # cannot be asked: the late answer is retried over TCP or reported as usual.
    zone, port = server
    zone.set_table({"us-east-1": 6})
    zone.mode = mode
    answer_now = zone.reply
    late = threading.Event()

    def answer_late(data: bytes, over_tcp: bool):
        if not over_tcp:
            late.wait(1.6)  # past its 1.25 s share of the 2.5 s budget
        return answer_now(data, over_tcp)

    def getaddrinfo(host, *args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(zone, "reply", answer_late)
    monkeypatch.setattr(_socket, "getaddrinfo", getaddrinfo)
    servers = [("127.0.0.1", port), ("ns-gone.example.net", 53)]
    if isinstance(outcome, list):
        values, _ = DnsTxtResolver()(RECORD, servers, 2.5)
        assert values == outcome
    else:
        with pytest.raises(LookupFailed) as failure:
            DnsTxtResolver()(RECORD, servers, 2.5)
        assert outcome.format(port=port) in str(failure.value)


def test_each_of_three_name_servers_gets_an_equal_share_of_the_budget(server) -> None:
    # Two silent servers, then a live one: the third is asked only once the first two
    # have each had a third of the budget (each waits for what is left / servers left).
    zone, port = server
    zone.set_table({"eu-west-1": 2})
    silent = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    with contextlib.ExitStack() as stack:
        for sock in silent:
            stack.enter_context(sock)
            sock.bind(("127.0.0.1", 0))
        servers = [("127.0.0.1", sock.getsockname()[1]) for sock in silent]
        started = time.monotonic()
        values, _ = DnsTxtResolver()(RECORD, [*servers, ("127.0.0.1", port)], 2.4)
        elapsed = time.monotonic() - started
    assert values == ["v=1 region=eu-west-1 weight=2"]
    assert elapsed >= 1.6  # 0.8 s + 0.8 s; smaller later shares would ask it sooner
