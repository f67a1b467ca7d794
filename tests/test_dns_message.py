"""The function's own DNS codec against dnslib as the oracle, and against hostile bytes.

Both directions: messages dnslib builds (with its name compression) decode to what
dnslib itself reads from the same bytes; queries the codec builds are read by dnslib
as the query we meant. Then packets nobody should send: compression loops, forward
and out-of-range pointers, reserved label types, oversized names, truncated RDATA
and character-strings, and arbitrary mutations of good packets. The decoders may
only ever raise :class:`DnsFormatError`, and when they accept a mutated packet that
dnslib also accepts, both read the same TXT answers.
"""

from __future__ import annotations

import struct

import pytest
from asset_delivery.edge_handler import dns_message as wire
from dnslib import CLASS, EDNS0, QTYPE, RR, TXT, A, DNSHeader, DNSQuestion, DNSRecord
from dnslib.dns import RDMAP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

labels = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"),
    min_size=1,
    max_size=20,
)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)
txt_data = st.lists(st.binary(max_size=255), min_size=1, max_size=4)


@st.composite
def answers(draw: st.DrawFn, qname: str) -> list[RR]:
    """Answer records: TXT for the question or another name, and some A records."""
    records = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from([qname, qname.upper(), "other." + qname]) | names)
        ttl = draw(st.integers(0, 2**31 - 1))
        if draw(st.booleans()):
            records.append(RR(name, QTYPE.TXT, ttl=ttl, rdata=TXT(draw(txt_data))))
        else:
            address = f"192.0.2.{draw(st.integers(1, 254))}"
            records.append(RR(name, QTYPE.A, ttl=ttl, rdata=A(address)))
    return records


@st.composite
def dnslib_replies(draw: st.DrawFn) -> tuple[DNSRecord, bytes]:
    qname = draw(names)
    header = DNSHeader(
        id=draw(st.integers(0, 0xFFFF)),
        qr=1,
        aa=draw(st.booleans()),
        tc=draw(st.booleans()),
        rd=draw(st.booleans()),
        rcode=draw(st.sampled_from([0, 2, 3, 5])),
    )
    reply = DNSRecord(header, q=DNSQuestion(qname, QTYPE.TXT))
    for record in draw(answers(qname)):
        reply.add_answer(record)
    for record in draw(answers(qname)):
        reply.add_auth(record)
    if draw(st.booleans()):
        reply.add_ar(EDNS0(udp_len=draw(st.integers(512, 4096))))
    return reply, reply.pack()


def dnslib_honours_rdlength(records: list[wire.Record]) -> bool:
    """Whether dnslib, the oracle, reads these answers' RDATA by their RDLENGTH.

    dnslib's typed parsers read their own shape (an A record is 4 bytes, a CNAME a
    name) whatever RDLENGTH says; only TXT and the types it does not know honour it.
    The codec follows RFC 1035 (RDLENGTH bytes, whatever the type), so after a mutated
    RDLENGTH or type the two walk the packet differently and dnslib is the one wrong.
    """
    for record in records:
        if record.rtype == wire.TYPE_TXT or QTYPE.get(record.rtype) not in RDMAP:
            continue
        if not (record.rtype == 1 and len(record.rdata) == 4):
            return False
    return True


def test_rdlength_governs_a_record_dnslib_would_read_as_four_bytes() -> None:
    """An A record whose RDLENGTH covers the next record: the codec skips RDLENGTH bytes.

    (Found by the property test below, where dnslib read 4 bytes and walked on.)
    """
    question = b"\x07_routes\x00\x00\x10\x00\x01"
    a_record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x0b\xc0\x00\x02\x01"
    swallowed = b"\xc0\x0c\x00\x10\x00\x01\x00"  # the start of a TXT record's header
    txt = b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x03\x02ok"
    packet = struct.pack("!HHHHHH", 9, 0x8180, 1, 2, 0, 0) + question + a_record + swallowed + txt
    _, _, records = decode(packet)
    assert [(r.rtype, len(r.rdata)) for r in records] == [(1, 11), (wire.TYPE_TXT, 3)]
    assert wire.txt_strings(records[1].rdata) == [b"ok"]
    assert not dnslib_honours_rdlength(records)


def labels_of(name: object) -> wire.Name:
    return tuple(bytes(label).lower() for label in name.label)  # type: ignore[attr-defined]


def decode(packet: bytes) -> tuple[wire.Header, list[wire.Question], list[wire.Record]]:
    header = wire.decode_header(packet)
    questions, offset = wire.decode_questions(packet, header)
    return header, questions, wire.decode_answers(packet, header, offset)


# --- dnslib builds, the codec reads ------------------------------------------------------


@SETTINGS
@given(dnslib_replies())
def test_the_codec_reads_what_dnslib_writes(built: tuple[DNSRecord, bytes]) -> None:
    oracle, packet = built
    oracle = DNSRecord.parse(packet)  # what dnslib itself reads back from these bytes
    header, questions, records = decode(packet)
    assert (header.id, header.is_response, header.truncated, header.rcode) == (
        oracle.header.id,
        bool(oracle.header.qr),
        bool(oracle.header.tc),
        oracle.header.rcode,
    )
    assert (header.qdcount, header.ancount) == (len(oracle.questions), len(oracle.rr))
    assert questions == [(labels_of(q.qname), q.qtype, q.qclass) for q in oracle.questions]
    assert [(r.name, r.rtype, r.rclass, r.ttl) for r in records] == [
        (labels_of(r.rname), r.rtype, r.rclass, r.ttl) for r in oracle.rr
    ]
    for ours, theirs in zip(records, oracle.rr, strict=True):
        if ours.rtype == wire.TYPE_TXT:
            assert wire.txt_strings(ours.rdata) == list(theirs.rdata.data)
        else:
            assert ".".join(map(str, ours.rdata)) == str(theirs.rdata)  # an A record


# --- the codec builds, dnslib reads ------------------------------------------------------


@SETTINGS
@given(query_id=st.integers(0, 0xFFFF), name=names)
def test_dnslib_reads_the_query_the_codec_writes(query_id: int, name: str) -> None:
    query = DNSRecord.parse(wire.encode_query(query_id, name))
    assert query.header.id == query_id
    assert (query.header.qr, query.header.rd, query.header.opcode) == (0, 0, 0)
    [question] = query.questions
    assert (labels_of(question.qname), question.qtype, question.qclass) == (
        wire.name_labels(name),
        QTYPE.TXT,
        CLASS.IN,
    )
    assert query.rr == [] and query.auth == []
    [opt] = query.ar
    assert (opt.rtype, opt.rclass, opt.ttl) == (QTYPE.OPT, wire.EDNS_PAYLOAD, 0)


@pytest.mark.parametrize(
    "name",
    ["a..b", "x" * 64 + ".example.com", ".".join(["a" * 63] * 4)],
)
def test_names_the_codec_cannot_send_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        wire.encode_query(1, name)


# --- hostile packets ---------------------------------------------------------------------


def message(question: bytes, answer: bytes = b"", *, qd: int = 1, an: int = 1) -> bytes:
    """A response header with the given counts, then raw question and answer bytes."""
    return struct.pack("!HHHHHH", 7, 0x8400, qd, an, 0, 0) + question + answer


QUESTION = b"\x07_routes\x07example\x03com\x00" + struct.pack("!HH", 16, 1)  # at offset 12
TXT_TAIL = struct.pack("!HHIH", 16, 1, 30, 6) + b"\x05hello"


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"\x00\x07\x84", "shorter than a DNS header"),
        (message(b"\xc0\x0c" + QUESTION[-4:], an=0), "does not point back"),  # itself
        (message(QUESTION, b"\xc0\x30" + TXT_TAIL), "does not point back"),  # forward
        (message(QUESTION, b"\xc0\xff" + TXT_TAIL), "does not point back"),  # beyond the end
        # A name ending in a pointer to its own first label: a loop.
        (message(QUESTION, b"\x01a\xc0\x25" + TXT_TAIL), "does not point back"),
        # Two names pointing at each other (12 -> 16 -> 12): one jump goes forward.
        (message(b"\x01a\xc0\x10\x01b\xc0\x0c" + QUESTION[-4:], an=0), "does not point back"),
        (message(b"\x01a\xc0", an=0), "is cut off"),
        (message(b"\x41" + b"a" * 65 + b"\x00" + QUESTION[-4:], an=0), "reserved"),
        (message(b"\x81a\x00" + QUESTION[-4:], an=0), "reserved"),
        (message((b"\x3f" + b"a" * 63) * 4 + b"\x00" + QUESTION[-4:], an=0), "longer than 255"),
        (message(QUESTION[:-2], an=0), "runs past the end"),  # question cut short
        (message(QUESTION, qd=2, an=0), "runs past the end"),  # count beyond the data
        (
            message(QUESTION, b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 30, 9) + b"\x05hello"),
            "claims 9 bytes, 6 remain",
        ),
        (message(QUESTION, b"\xc0\x0c" + struct.pack("!HH", 16, 1)), "runs past the end"),
        (message(QUESTION, b"\x05hel"), "runs past the end"),
    ],
)
def test_hostile_packets_are_refused_with_the_reason(packet: bytes, reason: str) -> None:
    with pytest.raises(wire.DnsFormatError, match=reason):
        decode(packet)


def test_a_compression_pointer_to_an_earlier_name_is_followed() -> None:
    packet = message(QUESTION, b"\xc0\x0c" + TXT_TAIL)
    [record] = decode(packet)[2]
    assert record.name == (b"_routes", b"example", b"com")
    assert wire.txt_strings(record.rdata) == [b"hello"]


@pytest.mark.parametrize(
    ("rdata", "reason"),
    [
        (b"", "empty"),
        (b"\x05abc", "claims 5 bytes, 3 remain"),
        (b"\x01a\x02b", "claims 2 bytes, 1 remain"),
    ],
)
def test_truncated_txt_rdata_is_refused(rdata: bytes, reason: str) -> None:
    with pytest.raises(wire.DnsFormatError, match=reason):
        wire.txt_strings(rdata)


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_ever_raise_dns_format_error(packet: bytes) -> None:
    try:
        _, _, records = decode(packet)
        for record in records:
            if record.rtype == wire.TYPE_TXT:
                wire.txt_strings(record.rdata)
    except wire.DnsFormatError:
        pass


@SETTINGS
@given(
    built=dnslib_replies(),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.none() | st.integers(0, 10_000),
)
def test_mutated_packets_are_refused_or_read_as_dnslib_reads_them(
    built: tuple[DNSRecord, bytes], edits: list[tuple[int, int]], cut: int | None
) -> None:
    packet = bytearray(built[1])
    for position, value in edits:
        packet[position % len(packet)] = value
    if cut is not None:
        del packet[cut % (len(packet) + 1) :]
    packet = bytes(packet)
    try:
        header, questions, records = decode(packet)
        ours = [
            (r.name, r.ttl, wire.txt_strings(r.rdata)) for r in records if r.rtype == wire.TYPE_TXT
        ]
    except wire.DnsFormatError:
        return
    if not dnslib_honours_rdlength(records):
        return  # a typed record whose RDLENGTH dnslib reads past: nothing to compare
    try:
        oracle = DNSRecord.parse(packet)
        theirs = [
            (labels_of(r.rname), r.ttl, list(r.rdata.data)) for r in oracle.rr if r.rtype == 16
        ]
    except Exception:
        return  # dnslib is stricter (it decodes every section): nothing to compare
    assert header.id == oracle.header.id
    assert questions == [(labels_of(q.qname), q.qtype, q.qclass) for q in oracle.questions]
    assert ours == theirs


# --- the name rules at their limits (mutation survivors, issue 13) ------------------------


def test_a_name_of_exactly_255_wire_bytes_is_sent_and_one_more_is_refused() -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 64 * 3 + 62 + root = 255
    assert len(wire.encode_query(7, longest)) > wire.MAX_NAME_LENGTH
    assert wire.name_labels(longest)[-1] == b"d" * 61
    with pytest.raises(ValueError, match=r"longer than 255 bytes on the wire"):
        wire.name_labels(longest + "d")


def test_labels_of_63_bytes_are_allowed_and_the_refusal_names_the_rule() -> None:
    assert wire.name_labels("x" * 63 + ".example.com")[0] == b"x" * 63
    with pytest.raises(ValueError, match=r"'a\.\.b': every label must be 1-63 bytes"):
        wire.name_labels("a..b")


def test_only_the_trailing_root_dot_is_dropped_and_case_is_folded() -> None:
    assert wire.name_labels("_routes.Example.COM.") == (b"_routes", b"example", b"com")
    assert wire.name_labels("BOX.") == (b"box",)
    assert wire.name_labels("") == () and wire.name_labels(".") == ()
    with pytest.raises(ValueError, match="every label"):
        wire.name_labels(".example.com")


def test_a_record_with_empty_rdata_at_the_very_end_of_the_packet_is_read() -> None:
    packet = struct.pack("!HHHHHH", 9, wire.FLAG_QR, 0, 1, 0, 0) + b"\0"
    packet += struct.pack("!HHIH", 1, wire.CLASS_IN, 30, 0)
    [record] = wire.decode_answers(packet, wire.decode_header(packet), wire.HEADER_SIZE)
    assert (record.rtype, record.ttl, record.rdata) == (1, 30, b"")
    with pytest.raises(wire.DnsFormatError, match="runs past the end"):
        wire.decode_answers(packet[:-1], wire.decode_header(packet), wire.HEADER_SIZE)


def test_empty_txt_rdata_is_refused_with_its_reason() -> None:
    with pytest.raises(wire.DnsFormatError, match="TXT RDATA is empty; it holds at least one"):
        wire.txt_strings(b"")


# --- decoding at the limits (survivors of the final mutation run, issue 13) ---------------
# The property tests above reach these only by chance (hypothesis draws new examples on
# every run), so each limit is also stated once, deterministically.


def test_a_header_only_reply_of_exactly_12_bytes_is_read() -> None:
    header = wire.decode_header(struct.pack("!HHHHHH", 7, 0x8183, 0, 0, 0, 0))
    assert (header.id, header.is_response, header.rcode, header.qdcount) == (7, True, 3, 0)
    with pytest.raises(wire.DnsFormatError, match="11 bytes is shorter than a DNS header"):
        wire.decode_header(bytes(11))


def test_a_name_of_exactly_255_wire_bytes_is_read_and_one_more_is_refused() -> None:
    labels = [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61]  # 64 * 3 + 62 + root = 255
    longest = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    assert len(longest) == wire.MAX_NAME_LENGTH
    assert wire.decode_name(longest, 0) == (tuple(labels), 255)
    one_more = longest[:-63] + b"\x3e" + b"d" * 62 + b"\x00"  # the last label one longer
    with pytest.raises(wire.DnsFormatError, match="longer than 255"):
        wire.decode_name(one_more, 0)


def test_a_compression_pointer_in_the_packet_s_last_two_bytes_is_followed() -> None:
    packet = b"\x07_routes\x00\xc0\x00"
    assert wire.decode_name(packet, 9) == ((b"_routes",), 11)


def test_a_compression_pointer_to_an_offset_above_255_uses_both_bytes() -> None:
    name = b"\x07_routes\x07example\x00"
    packet = bytes(300) + name + b"\xc1\x2c"  # pointer 0x012c = offset 300
    assert wire.decode_name(packet, 300 + len(name)) == ((b"_routes", b"example"), len(packet))
