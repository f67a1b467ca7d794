"""One TXT query to the routing zone's own name servers, within one time budget.

The servers are tried in turn, staggered: each gets an equal share of what is left
of the budget before the next one is also asked, and a late answer from an earlier
server still counts. A name server given by name (Route 53's ``ns-1.awsdns-01.org``)
is resolved with the system resolver inside the same budget (on a helper thread,
since ``getaddrinfo`` has no timeout) and remembered for ``ADDRESS_TTL_S``.

An answer is good when it is NOERROR with at least one TXT record for the name; the
TTL is the lowest among them. SERVFAIL, NXDOMAIN, an empty answer, an unparsable
packet or a refused/closed port fail that server. A truncated answer (TC bit) is
retried over TCP to the same server within the remaining budget. Only packets that
match our query id and question are considered, so a stray datagram is not an
answer.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time
from collections.abc import Sequence

from dnslib import EDNS0, QTYPE, RCODE, DNSHeader, DNSQuestion, DNSRecord

EDNS_PAYLOAD = 1232
ADDRESS_TTL_S = 300.0


class LookupFailed(Exception):
    """No name server gave a usable answer within the budget; says why for each."""


class DnsTxtResolver:
    """Callable resolver for :class:`edge_handler.table.RoutingTableCache`."""

    def __init__(self) -> None:
        self._addresses: dict[tuple[str, int], tuple[float, tuple]] = {}

    def __call__(
        self, record: str, nameservers: Sequence[tuple[str, int]], timeout_s: float
    ) -> tuple[list[str], int]:
        """Return ``(TXT values, TTL)`` or raise :class:`LookupFailed`."""
        deadline = time.monotonic() + timeout_s
        query_id = int.from_bytes(os.urandom(2), "big")
        query = DNSRecord(DNSHeader(id=query_id, rd=0), q=DNSQuestion(record, QTYPE.TXT))
        query.add_ar(EDNS0(udp_len=EDNS_PAYLOAD))
        packet = query.pack()
        errors: list[str] = []
        pending: dict[socket.socket, tuple[str, tuple]] = {}
        try:
            for index, (host, port) in enumerate(nameservers):
                now = time.monotonic()
                if now >= deadline:
                    break
                share_end = now + (deadline - now) / (len(nameservers) - index)
                label = f"{host}:{port}"
                try:
                    family, address = self._address(host, port, share_end)
                    sock = socket.socket(family, socket.SOCK_DGRAM)
                except (OSError, LookupFailed) as error:
                    errors.append(f"{label}: {error}")
                    continue
                pending[sock] = (label, address)
                try:
                    sock.setblocking(False)
                    sock.connect(address)
                    sock.send(packet)
                except OSError as error:
                    errors.append(f"{label}: {error}")
                    _drop(pending, sock)
                    continue
                answer = _wait(pending, share_end, deadline, query_id, record, packet, errors)
                if answer is not None:
                    return answer
            answer = _wait(pending, deadline, deadline, query_id, record, packet, errors)
            if answer is not None:
                return answer
            for label, _ in pending.values():
                errors.append(f"{label}: no answer within {timeout_s * 1000:.0f} ms in total")
        finally:
            for sock in pending:
                sock.close()
        raise LookupFailed(f"TXT {record}: " + "; ".join(errors or ["no name server"]))

    def _address(self, host: str, port: int, deadline: float) -> tuple[int, tuple]:
        """``(family, sockaddr)`` for a name server; names resolved within ``deadline``."""
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                socket.inet_pton(family, host)
            except OSError:
                continue
            return family, (host, port)
        cached = self._addresses.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        result: list = []
        done = threading.Event()

        def resolve() -> None:
            try:
                result.append(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM))
            except OSError as error:
                result.append(error)
            finally:
                done.set()

        threading.Thread(target=resolve, name=f"resolve-{host}", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            raise LookupFailed(f"resolving name server {host} took too long")
        if isinstance(result[0], OSError):
            raise LookupFailed(f"cannot resolve name server {host}: {result[0]}")
        # IPv4 first: edge locations and Lambda reach IPv4 everywhere.
        infos = sorted(result[0], key=lambda info: info[0] != socket.AF_INET)
        if not infos:
            raise LookupFailed(f"name server {host} has no address")
        chosen = (infos[0][0], infos[0][4])
        self._addresses[(host, port)] = (time.monotonic() + ADDRESS_TTL_S, chosen)
        return chosen


def _wait(
    pending: dict[socket.socket, tuple[str, tuple]],
    until: float,
    deadline: float,
    query_id: int,
    record: str,
    packet: bytes,
    errors: list[str],
) -> tuple[list[str], int] | None:
    """Read answers from the open sockets until one is good or ``until`` passes."""
    while pending:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select(list(pending), [], [], remaining)
        for sock in readable:
            label, address = pending[sock]
            try:
                reply = DNSRecord.parse(sock.recv(65535))
            except Exception as error:  # a refused port, or bytes dnslib cannot parse
                errors.append(f"{label}: {type(error).__name__}: {error}")
                _drop(pending, sock)
                continue
            if reply.header.id != query_id or not _same_question(reply, record):
                continue
            if reply.header.tc:
                try:
                    reply = _query_tcp(address, packet, deadline, query_id)
                except Exception as error:
                    errors.append(f"{label}: truncated over UDP, TCP failed: {error!r}")
                    _drop(pending, sock)
                    continue
            try:
                return _txt_answer(reply, record)
            except LookupFailed as error:
                errors.append(f"{label}: {error}")
                _drop(pending, sock)
    return None


def _drop(pending: dict[socket.socket, tuple[str, tuple]], sock: socket.socket) -> None:
    del pending[sock]
    sock.close()


def _same_question(reply: DNSRecord, record: str) -> bool:
    return any(
        question.qtype == QTYPE.TXT and _same_name(question.qname, record)
        for question in reply.questions
    )


def _same_name(name: object, record: str) -> bool:
    return str(name).rstrip(".").lower() == record.lower()


def _txt_answer(reply: DNSRecord, record: str) -> tuple[list[str], int]:
    rcode = reply.header.rcode
    if rcode != RCODE.NOERROR:
        raise LookupFailed(f"answered {RCODE.get(rcode, rcode)}")
    values: list[str] = []
    ttl: int | None = None
    for rr in reply.rr:
        if rr.rtype != QTYPE.TXT or not _same_name(rr.rname, record):
            continue
        values.append(b"".join(rr.rdata.data).decode("utf-8", "replace"))
        ttl = rr.ttl if ttl is None else min(ttl, rr.ttl)
    if ttl is None:
        raise LookupFailed("answered NOERROR with no TXT record")
    return values, ttl


def _query_tcp(address: tuple, packet: bytes, deadline: float, query_id: int) -> DNSRecord:
    """The same query over TCP (RFC 7766 framing), bounded by ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no time left for the TCP retry")
    with socket.create_connection(address[:2], timeout=remaining) as conn:
        conn.sendall(struct.pack("!H", len(packet)) + packet)
        length = struct.unpack("!H", _recv_exact(conn, 2, deadline))[0]
        reply = DNSRecord.parse(_recv_exact(conn, length, deadline))
    if reply.header.id != query_id:
        raise ValueError(f"TCP answer has id {reply.header.id}, expected {query_id}")
    return reply


def _recv_exact(conn: socket.socket, size: int, deadline: float) -> bytes:
    data = b""
    while len(data) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("TCP answer incomplete at the deadline")
        conn.settimeout(remaining)
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("TCP connection closed mid-answer")
        data += chunk
    return data
