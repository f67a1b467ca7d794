"""The DNS wire format for the function's one query: a TXT question and its answer.

Standard library only (RFC 1035 section 4, EDNS0 from RFC 6891). The function used
to import a general DNS library for this; on Lambda, whose code directory is
read-only and holds no bytecode, compiling that library was most of a cold start
(see docs/ARCHITECTURE.md, "Cold start"). It needs only:

* :func:`encode_query`: header (no recursion wanted), one question, one OPT record
  advertising a 1232-byte UDP payload (the DNS flag day 2020 size, below any path MTU);
* :func:`decode_header` and :func:`decode_questions`: enough to tell whether a packet
  answers *our* query (id, QR bit, question) and whether it was truncated (TC), before
  the answer section is read: a truncated answer may stop in the middle of a record;
* :func:`decode_answers` and :func:`txt_strings`: the answer section and TXT RDATA.

Every decoder treats the packet as hostile. It raises :class:`DnsFormatError` (and
nothing else) on anything out of bounds: a count larger than the data, a label over
63 bytes or a name over 255, a reserved label type, RDATA running past the end, a
character-string running past its RDATA. Compression pointers must point strictly
before the start of the label sequence that contains them (each jump moves further
back), so a loop cannot be written and every name decodes in bounded time.
"""

from __future__ import annotations

import struct

TYPE_TXT = 16
TYPE_OPT = 41
CLASS_IN = 1
EDNS_PAYLOAD = 1232
HEADER_SIZE = 12
MAX_NAME_LENGTH = 255  # octets on the wire, length bytes and the root included
MAX_LABEL_LENGTH = 63

FLAG_QR = 0x8000
FLAG_TC = 0x0200
RCODE_MASK = 0x000F
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
_RECORD_TAIL = struct.Struct("!HHIH")

Name = tuple[bytes, ...]
"""A domain name as its labels, lower-cased (DNS names compare case-insensitively)."""

Question = tuple[Name, int, int]
"""``(name, qtype, qclass)``: a plain tuple, so ``in`` compares questions by value."""

# Plain classes, not typing.NamedTuple: importing typing alone costs more CPU than this
# whole module (docs/ARCHITECTURE.md, "Cold start").


class DnsFormatError(ValueError):
    """The packet is not a well-formed DNS message; says what is wrong and where."""


class Header:
    """The fixed header: id, flags and the four section counts."""

    __slots__ = ("ancount", "arcount", "flags", "id", "nscount", "qdcount")

    def __init__(self, packet: bytes) -> None:
        if len(packet) < HEADER_SIZE:
            raise DnsFormatError(f"{len(packet)} bytes is shorter than a DNS header")
        (
            self.id,
            self.flags,
            self.qdcount,
            self.ancount,
            self.nscount,
            self.arcount,
        ) = _HEADER.unpack_from(packet)

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_QR)

    @property
    def truncated(self) -> bool:
        return bool(self.flags & FLAG_TC)

    @property
    def rcode(self) -> int:
        """The header's 4-bit RCODE (an EDNS extended RCODE is not needed here)."""
        return self.flags & RCODE_MASK


class Record:
    """One resource record with its RDATA undecoded."""

    __slots__ = ("name", "rclass", "rdata", "rtype", "ttl")

    def __init__(self, name: Name, rtype: int, rclass: int, ttl: int, rdata: bytes) -> None:
        self.name, self.rtype, self.rclass, self.ttl, self.rdata = name, rtype, rclass, ttl, rdata


def name_labels(name: str) -> Name:
    """``"_routes.Example.com."`` -> ``(b"_routes", b"example", b"com")``."""
    text = name.rstrip(".")
    labels = tuple(label.lower().encode("ascii") for label in text.split(".")) if text else ()
    if any(not 0 < len(label) <= MAX_LABEL_LENGTH for label in labels):
        raise ValueError(f"{name!r}: every label must be 1-{MAX_LABEL_LENGTH} bytes")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME_LENGTH:
        raise ValueError(f"{name!r} is longer than {MAX_NAME_LENGTH} bytes on the wire")
    return labels


def encode_query(query_id: int, name: str, qtype: int = TYPE_TXT) -> bytes:
    """One question, RD off (the zone's own servers answer authoritatively), EDNS0 OPT."""
    wire_name = b"".join(bytes((len(label),)) + label for label in name_labels(name)) + b"\0"
    opt = b"\0" + _RECORD_TAIL.pack(TYPE_OPT, EDNS_PAYLOAD, 0, 0)
    return (
        _HEADER.pack(query_id, 0, 1, 0, 0, 1)
        + wire_name
        + _QUESTION_TAIL.pack(qtype, CLASS_IN)
        + opt
    )


def decode_header(packet: bytes) -> Header:
    """The fixed 12-byte header."""
    return Header(packet)


def decode_questions(packet: bytes, header: Header) -> tuple[list[Question], int]:
    """The question section and the offset just after it."""
    offset = HEADER_SIZE
    questions = []
    for _ in range(header.qdcount):
        name, offset = decode_name(packet, offset)
        end = offset + _QUESTION_TAIL.size
        if end > len(packet):
            raise DnsFormatError(f"question at offset {offset} runs past the end")
        qtype, qclass = _QUESTION_TAIL.unpack_from(packet, offset)
        questions.append((name, qtype, qclass))
        offset = end
    return questions, offset


def decode_answers(packet: bytes, header: Header, offset: int) -> list[Record]:
    """The answer section, starting at ``offset`` (just after the questions).

    The authority and additional sections are not read: nothing in them is used.
    """
    records = []
    for _ in range(header.ancount):
        name, offset = decode_name(packet, offset)
        end = offset + _RECORD_TAIL.size
        if end > len(packet):
            raise DnsFormatError(f"record at offset {offset} runs past the end")
        rtype, rclass, ttl, rdlength = _RECORD_TAIL.unpack_from(packet, offset)
        rdata = packet[end : end + rdlength]
        if len(rdata) != rdlength:
            raise DnsFormatError(
                f"RDATA at offset {end} claims {rdlength} bytes, {len(rdata)} remain"
            )
        records.append(Record(name, rtype, rclass, ttl, rdata))
        offset = end + rdlength
    return records


def decode_name(packet: bytes, offset: int) -> tuple[Name, int]:
    """The name at ``offset`` and the offset after it (after its first pointer, if any).

    A pointer must target an offset below the start of the label run it ends, so
    every jump goes strictly backwards and decoding terminates.
    """
    labels: list[bytes] = []
    wire_length = 1  # the terminating root label
    end: int | None = None  # where the caller resumes: after the first pointer
    run_start = offset
    size = len(packet)
    while True:
        if offset >= size:
            raise DnsFormatError(f"name at offset {offset} runs past the end")
        length = packet[offset]
        kind = length & 0xC0
        if kind == 0xC0:
            if offset + 1 >= size:
                raise DnsFormatError(f"compression pointer at offset {offset} is cut off")
            target = ((length & 0x3F) << 8) | packet[offset + 1]
            if target >= run_start:
                raise DnsFormatError(
                    f"compression pointer at offset {offset} to {target} does not point "
                    f"back before {run_start} (a loop or a forward reference)"
                )
            if end is None:
                end = offset + 2
            offset = run_start = target
            continue
        if kind:
            raise DnsFormatError(f"label type {kind:#x} at offset {offset} is reserved")
        if length == 0:
            return tuple(labels), offset + 1 if end is None else end
        wire_length += length + 1
        if wire_length > MAX_NAME_LENGTH:
            raise DnsFormatError(f"name at offset {offset} is longer than {MAX_NAME_LENGTH}")
        label = packet[offset + 1 : offset + 1 + length]
        if len(label) != length:
            raise DnsFormatError(f"label at offset {offset} runs past the end")
        labels.append(label.lower())
        offset += 1 + length


def txt_strings(rdata: bytes) -> list[bytes]:
    """TXT RDATA as its character-strings (one or more, each a length byte and data)."""
    if not rdata:
        raise DnsFormatError("TXT RDATA is empty; it holds at least one character-string")
    strings = []
    offset = 0
    while offset < len(rdata):
        length = rdata[offset]
        chunk = rdata[offset + 1 : offset + 1 + length]
        if len(chunk) != length:
            raise DnsFormatError(
                f"character-string at RDATA offset {offset} claims {length} bytes, "
                f"{len(chunk)} remain"
            )
        strings.append(chunk)
        offset += 1 + length
    return strings
