"""One TXT query to the routing zone's own name servers, within one time budget.

The servers are tried in turn, staggered: each gets an equal share of what is left
of the budget before the next one is also asked, and a late answer from an earlier
server still counts. A name server given by name (Route 53's ``ns-1.awsdns-01.org``)
is resolved with the system resolver inside the same budget (on a helper thread,
since ``getaddrinfo`` has no timeout), IPv4 first, and remembered for
``ADDRESS_TTL_S``.

An answer is good when it is NOERROR with at least one TXT record for the name; the
TTL is the lowest among them. SERVFAIL, NXDOMAIN, an empty answer, an unparsable
packet or a refused/closed port fail that server. A truncated answer (TC bit) is
retried over TCP to the same server within the remaining budget; its answer section
is never read (it may stop mid-record). Only responses (QR set) that match our query
id and question are considered, so a stray datagram is not an answer. The wire
format is :mod:`edge_handler.dns_message` (standard library only).

Sockets and the helper thread come from the C modules ``_socket`` and ``_thread``:
``socket.py`` and ``threading.py`` add nothing used here and cost more CPU to import
than this module, on every cold start (docs/ARCHITECTURE.md, "Cold start").
"""

from __future__ import annotations

import _socket
import os
import select
import struct
import time
from _thread import allocate_lock, start_new_thread
from collections.abc import Sequence

from . import dns_message as wire

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
        packet = wire.encode_query(query_id, record)
        question = (wire.name_labels(record), wire.TYPE_TXT, wire.CLASS_IN)
        errors: list[str] = []
        pending: dict[_socket.socket, tuple[str, int, tuple]] = {}
        try:
            for index, (host, port) in enumerate(nameservers):
                now = time.monotonic()
                if now >= deadline:
                    break
                share_end = now + (deadline - now) / (len(nameservers) - index)
                label = f"{host}:{port}"
                try:
                    family, address = self._address(host, port, share_end)
                    sock = _socket.socket(family, _socket.SOCK_DGRAM)
                except (OSError, LookupFailed) as error:
                    errors.append(f"{label}: {error}")
                    continue
                pending[sock] = (label, family, address)
                try:
                    sock.setblocking(False)
                    sock.connect(address)
                    sock.send(packet)
                except OSError as error:
                    errors.append(f"{label}: {error}")
                    _drop(pending, sock)
                    continue
                answer = _wait(pending, share_end, deadline, question, query_id, packet, errors)
                if answer is not None:
                    return answer
            answer = _wait(pending, deadline, deadline, question, query_id, packet, errors)
            if answer is not None:
                return answer
            for label, _, _ in pending.values():
                errors.append(f"{label}: no answer within {timeout_s * 1000:.0f} ms in total")
        finally:
            for sock in pending:
                sock.close()
        raise LookupFailed(f"TXT {record}: " + "; ".join(errors or ["no name server"]))

    def _address(self, host: str, port: int, deadline: float) -> tuple[int, tuple]:
        """``(family, sockaddr)`` for a name server; names resolved within ``deadline``."""
        for family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                _socket.inet_pton(family, host)
            except OSError:
                continue
            return family, (host, port)
        cached = self._addresses.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        result: list = []
        done = allocate_lock()
        done.acquire()

        def resolve() -> None:
            try:
                result.append(_socket.getaddrinfo(host, port, 0, _socket.SOCK_DGRAM))
            except OSError as error:
                result.append(error)
            finally:
                done.release()

        start_new_thread(resolve, ())
        if not done.acquire(True, max(0.0, deadline - time.monotonic())):
            raise LookupFailed(f"resolving name server {host} took too long")
        if isinstance(result[0], OSError):
            raise LookupFailed(f"cannot resolve name server {host}: {result[0]}")
        # IPv4 first: edge locations and Lambda reach IPv4 everywhere.
        infos = sorted(result[0], key=lambda info: info[0] != _socket.AF_INET)
        if not infos:
            raise LookupFailed(f"name server {host} has no address")
        chosen = (infos[0][0], infos[0][4])
        self._addresses[(host, port)] = (time.monotonic() + ADDRESS_TTL_S, chosen)
        return chosen


def _wait(
    pending: dict[_socket.socket, tuple[str, int, tuple]],
    until: float,
    deadline: float,
    question: wire.Question,
    query_id: int,
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
            label, family, address = pending[sock]
            try:
                reply = sock.recv(65535)
                header, answers_at = _answering(reply, question, query_id)
            except (OSError, wire.DnsFormatError) as error:  # refused port, or not DNS
                errors.append(f"{label}: {type(error).__name__}: {error}")
                _drop(pending, sock)
                continue
            if header is None:
                continue  # a response to something else: keep waiting
            try:
                if header.truncated:
                    reply, header, answers_at = _query_tcp(
                        family, address, packet, deadline, question, query_id
                    )
                return _txt_answer(reply, header, answers_at, question)
            except (OSError, wire.DnsFormatError, LookupFailed) as error:
                prefix = "truncated over UDP, TCP failed: " if header.truncated else ""
                errors.append(f"{label}: {prefix}{type(error).__name__}: {error}")
                _drop(pending, sock)
    return None


def _drop(pending: dict[_socket.socket, tuple[str, int, tuple]], sock: _socket.socket) -> None:
    del pending[sock]
    sock.close()


def _answering(
    reply: bytes, question: wire.Question, query_id: int
) -> tuple[wire.Header | None, int]:
    """The header and the offset of the answer section when ``reply`` answers our
    query; ``(None, 0)`` for a well-formed message that answers something else."""
    header = wire.decode_header(reply)
    questions, answers_at = wire.decode_questions(reply, header)
    if not header.is_response or header.id != query_id or question not in questions:
        return None, 0
    return header, answers_at


def _txt_answer(
    reply: bytes, header: wire.Header, answers_at: int, question: wire.Question
) -> tuple[list[str], int]:
    if header.rcode != 0:
        raise LookupFailed(f"answered {wire.RCODE_NAMES.get(header.rcode, header.rcode)}")
    values: list[str] = []
    ttl: int | None = None
    for rr in wire.decode_answers(reply, header, answers_at):
        if rr.rtype != wire.TYPE_TXT or rr.name != question[0]:
            continue
        values.append(b"".join(wire.txt_strings(rr.rdata)).decode("utf-8", "replace"))
        ttl = rr.ttl if ttl is None else min(ttl, rr.ttl)
    if ttl is None:
        raise LookupFailed("answered NOERROR with no TXT record")
    return values, ttl


def _query_tcp(
    family: int,
    address: tuple,
    packet: bytes,
    deadline: float,
    question: wire.Question,
    query_id: int,
) -> tuple[bytes, wire.Header, int]:
    """The same query over TCP (RFC 7766 framing), bounded by ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no time left for the TCP retry")
    conn = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        conn.settimeout(remaining)
        conn.connect(address)
        conn.sendall(struct.pack("!H", len(packet)) + packet)
        length = struct.unpack("!H", _recv_exact(conn, 2, deadline))[0]
        reply = _recv_exact(conn, length, deadline)
    finally:
        conn.close()
    header, answers_at = _answering(reply, question, query_id)
    if header is None:
        raise wire.DnsFormatError(f"TCP answer does not answer query id {query_id} for TXT")
    return reply, header, answers_at


def _recv_exact(conn: _socket.socket, size: int, deadline: float) -> bytes:
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
