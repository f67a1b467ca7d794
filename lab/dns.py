"""The routing zone: an authoritative DNS server for the declared TXT records.

It answers the routing record with Route 53's multivalue semantics: one TXT record
per region whose health check passes (regions without a check always count as
healthy); when every record is unhealthy it answers all of them; at most eight. The
TTL is the declared one, in lab seconds, because the function's clock runs on lab
time (see ``lab/edge_worker.py``). UDP and, when the same port is free for it, TCP.
Switches for the drills: ``set_weight`` (drain), ``answering`` (DNS outage).
"""

from __future__ import annotations

import re
import socket
import socketserver
import struct
import threading
from collections.abc import Mapping

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord

from .model import RegionSpec, RoutingSpec

MAX_MULTIVALUE_ANSWERS = 8
_WEIGHT = re.compile(r"\bweight=\d+\b")


BIND_TRIES = 20  # ephemeral UDP ports tried until the same TCP port is free too


class RoutingZone:
    """The record set's live state: values, weights and health, thread-safe."""

    def __init__(self, routing: RoutingSpec, regions: Mapping[str, RegionSpec]) -> None:
        self.routing = routing
        self._lock = threading.Lock()
        self._values = {region: spec.record_value for region, spec in regions.items()}
        self._checked = {region for region, spec in regions.items() if spec.health_check}
        self._healthy = dict.fromkeys(regions, True)

    def set_weight(self, region: str, weight: int) -> None:
        """Change one record's weight, as a Route 53 change to the TXT value would."""
        if not 0 <= weight <= 255:
            raise ValueError(f"weight {weight} for {region} is outside Route 53's 0-255")
        with self._lock:
            value = self._values[region]
            if not _WEIGHT.search(value):
                raise ValueError(f"record value {value!r} for {region} has no weight=<n>")
            self._values[region] = _WEIGHT.sub(f"weight={weight}", value)

    def set_healthy(self, region: str, healthy: bool) -> None:
        """Record the health checker's verdict for a region."""
        with self._lock:
            self._healthy[region] = healthy

    def healthy(self, region: str) -> bool:
        """The last verdict (True for a region without a health check)."""
        with self._lock:
            return region not in self._checked or self._healthy[region]

    def answer(self) -> list[str]:
        """The TXT values Route 53 would return for the routing record now."""
        with self._lock:
            healthy = [
                value
                for region, value in self._values.items()
                if region not in self._checked or self._healthy[region]
            ]
            chosen = healthy or list(self._values.values())
        return chosen[:MAX_MULTIVALUE_ANSWERS]


class DnsServer:
    """Serves a :class:`RoutingZone` on 127.0.0.1 (ephemeral port) over UDP and TCP."""

    def __init__(self, zone: RoutingZone) -> None:
        self.zone = zone
        self.answering = True
        self._lock = threading.Lock()
        self._queries = 0
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self.port = 0
        self.tcp = False

    @property
    def queries(self) -> int:
        """Queries received (answered or not) since start."""
        with self._lock:
            return self._queries

    def start(self) -> None:
        """Bind UDP on port 0, then TCP on the same port (a few ports tried for that)."""
        for _ in range(BIND_TRIES):
            udp = _UdpServer(("127.0.0.1", 0), _UdpHandler)
            try:
                tcp: _TcpServer | None = _TcpServer(
                    ("127.0.0.1", udp.server_address[1]), _TcpHandler
                )
            except OSError:  # someone holds the TCP side of this port: try another
                udp.server_close()
                continue
            break
        else:
            udp, tcp = _UdpServer(("127.0.0.1", 0), _UdpHandler), None  # UDP is what matters
        udp.dns = self
        self.port = udp.server_address[1]
        self._servers.append(udp)
        if tcp is not None:
            tcp.dns = self
            self._servers.append(tcp)
            self.tcp = True
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name="dns",
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Shut both listeners down."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def reply(self, data: bytes) -> bytes | None:
        """The wire reply to one query, or None to stay silent (outage, garbage)."""
        with self._lock:
            self._queries += 1
        if not self.answering:
            return None
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return None
        return self.build_reply(request).pack()

    def build_reply(self, request: DNSRecord) -> DNSRecord:
        """Authoritative answer for the routing record; NXDOMAIN inside the zone."""
        reply = request.reply(ra=0, aa=1)
        qname = str(request.q.qname).rstrip(".").lower()
        record = self.zone.routing.record_name.rstrip(".").lower()
        zone = self.zone.routing.zone_name.rstrip(".").lower()
        if qname == record:
            if request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
                ttl = self.zone.routing.ttl_s
                for value in self.zone.answer():
                    reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=ttl))
        elif qname == zone or qname.endswith("." + zone):
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            reply.header.rcode = RCODE.REFUSED
        return reply


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    dns: DnsServer


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = False
    dns: DnsServer


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        answer = self.server.dns.reply(data)  # type: ignore[attr-defined]
        if answer is not None:
            sock.sendto(answer, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        try:
            header = _recv_exact(sock, 2)
            data = _recv_exact(sock, struct.unpack("!H", header)[0])
        except (OSError, ValueError):
            return
        answer = self.server.dns.reply(data)  # type: ignore[attr-defined]
        if answer is not None:
            sock.sendall(struct.pack("!H", len(answer)) + answer)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("connection closed mid-message")
        data += chunk
    return data
