"""The edge function's SigV4 signer against botocore's S3 signer (the oracle), and the
handler in ``"auth": "sigv4"`` mode: every routed request signed for its region, the
failover attempt included, fail-open signed for the configured origin."""

from __future__ import annotations

import calendar
import copy
import datetime
import json
import re
import time
from pathlib import Path
from unittest import mock
from urllib.parse import quote, unquote

import pytest
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_handler import handler as edge
from asset_delivery.edge_handler import log, routing, sigv4
from asset_delivery.lab.cloudfront_rules import origin_request_violations
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parent / "edge_fixtures"
NOW = 1_780_000_000.0  # 2026-05-28T20:26:40Z
HOST = "assets-euw1-def.s3.eu-west-1.amazonaws.com"
DOMAINS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": HOST,
}
ENV = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY": "secret/Key+1"}


def botocore_authorization(
    method: str,
    host: str,
    key: str,
    query: str,
    region: str,
    environ: dict[str, str],
    now: float,
) -> AWSRequest:
    """Sign the same GET with botocore's own S3 signer, as an S3 client would send it.

    The path is the key encoded the way botocore's S3 client encodes keys; the query
    is passed as sent (botocore signs S3 query strings verbatim, sorted).
    """
    url = f"https://{host}/{percent_encode(key, safe='/~')}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, headers={})
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    credentials = Credentials(
        environ["AWS_ACCESS_KEY_ID"],
        environ["AWS_SECRET_ACCESS_KEY"],
        environ.get("AWS_SESSION_TOKEN") or None,
    )
    fixed = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    with mock.patch("botocore.auth.get_current_datetime") as clock:
        clock.return_value = datetime.datetime.fromisoformat(fixed)
        S3SigV4Auth(credentials, "s3", region).add_auth(request)
    return request


def s3_request(uri: str, querystring: str = "", method: str = "GET") -> dict:
    return {
        "clientIp": "203.0.113.7",
        "headers": {"host": [{"key": "Host", "value": HOST}]},
        "method": method,
        "querystring": querystring,
        "uri": uri,
        "origin": {
            "s3": {
                "authMethod": "none",
                "customHeaders": {},
                "domainName": HOST,
                "path": "",
                "region": "eu-west-1",
            }
        },
    }


def header(request: dict, name: str) -> str | None:
    entries = request["headers"].get(name)
    return entries[0]["value"] if entries else None


# Viewers (and CloudFront) encode the same key in different legal ways.
VIEWER_ENCODINGS = {
    "botocore": lambda key: percent_encode(key, safe="/~"),
    "urllib": lambda key: quote(key, safe="/"),
    "browser": lambda key: quote(key, safe="/+!$&'()*,;=:@~"),
    "lower-hex": lambda key: re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(key, safe="/")),
    "raw-unicode": lambda key: quote(key, safe="/" + "".join({c for c in key if ord(c) > 127})),
}

key_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
keys = st.one_of(
    st.text(key_chars, min_size=1, max_size=60),
    st.lists(
        st.sampled_from(["a", " ", "+", "%", "~", "/", "//", "é", "日本", "%41", "a b", "x=y"]),
        min_size=1,
        max_size=30,
    ).map("".join),
    st.text(st.sampled_from("ab/+ %~é"), min_size=900, max_size=1024),
)
query_values = st.text(st.sampled_from("az09-_.~ +/%=é"), max_size=8)
queries = st.one_of(
    st.just(""),
    st.lists(
        st.tuples(st.sampled_from(["versionId", "a", "b", "x-id", "ü"]), query_values),
        min_size=1,
        max_size=4,
    ).map(lambda pairs: "&".join(f"{quote(k)}={quote(v, safe='/')}" for k, v in pairs)),
)
tokens = st.one_of(st.just(""), st.text(st.sampled_from("AZaz09+/="), min_size=20, max_size=400))


@settings(max_examples=300, deadline=None)
@given(
    key=keys,
    encoding=st.sampled_from(sorted(VIEWER_ENCODINGS)),
    query=queries,
    token=tokens,
    method=st.sampled_from(["GET", "HEAD"]),
    now=st.floats(min_value=1_500_000_000, max_value=2_500_000_000),
)
def test_signature_equals_botocore(
    key: str, encoding: str, query: str, token: str, method: str, now: float
) -> None:
    environ = dict(ENV, AWS_SESSION_TOKEN=token) if token else dict(ENV)
    request = s3_request("/" + VIEWER_ENCODINGS[encoding](key), query, method)

    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=environ, clock=lambda: now)

    expected = botocore_authorization(
        method, HOST, key, request["querystring"], "eu-west-1", environ, now
    )
    assert request["uri"] == "/" + percent_encode(key, safe="/~")  # what S3 computes
    assert header(request, "authorization") == expected.headers["Authorization"]
    assert header(request, "x-amz-date") == expected.headers["X-Amz-Date"]
    assert header(request, "x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert header(request, "x-amz-security-token") == (token or None)


def decoded_pairs(query: str) -> list[tuple[str, str]]:
    """Parameters as S3 reads them: split, then percent-decoded (``+`` stays a plus)."""
    return [
        (unquote(name), unquote(value))
        for name, _, value in (pair.partition("=") for pair in query.split("&") if pair)
    ]


@given(query=queries)
def test_query_is_sent_as_signed(query: str) -> None:
    """The rewritten query string means the same parameters and is already canonical."""
    sent, signed = sigv4.canonical_query(query)
    assert decoded_pairs(sent) == decoded_pairs(query)
    assert sigv4.canonical_query(sent) == (sent, signed)


@pytest.mark.parametrize(
    ("uri", "canonical"),
    [
        ("/a b+c", "/a%20b%2Bc"),
        ("/a%20b%2bc", "/a%20b%2Bc"),
        ("/%7Euser/%41", "/~user/A"),
        ("/x//y/", "/x//y/"),
        ("/100%", "/100%25"),
        ("/%2541", "/%2541"),  # decoded once: no double decoding
        ("/caf%C3%A9/日本", "/caf%C3%A9/%E6%97%A5%E6%9C%AC"),
        ("/plain-key_1.txt", "/plain-key_1.txt"),
    ],
)
def test_canonical_path_is_what_s3_computes(uri: str, canonical: str) -> None:
    assert sigv4.canonical_path(uri) == canonical


def test_signing_keys_are_cached_per_date_and_region() -> None:
    sigv4._key_cache.clear()
    for region in ("eu-west-1", "us-east-1", "eu-west-1"):
        request = s3_request("/k")
        sigv4.sign_s3_request(request, region, HOST, environ=ENV, clock=lambda: NOW)
    assert len(sigv4._key_cache) == 2
    sigv4.sign_s3_request(
        s3_request("/k"), "eu-west-1", HOST, environ=ENV, clock=lambda: NOW + 86400
    )
    assert len(sigv4._key_cache) == 3


def test_without_credentials_nothing_changes() -> None:
    request = s3_request("/a b")
    before = copy.deepcopy(request)
    with pytest.raises(sigv4.MissingCredentials):
        sigv4.sign_s3_request(request, "eu-west-1", HOST, environ={}, clock=lambda: NOW)
    assert request == before


def test_a_stale_viewer_token_is_removed_when_the_role_has_none() -> None:
    request = s3_request("/k")
    request["headers"]["x-amz-security-token"] = [{"key": "X-Amz-Security-Token", "value": "x"}]
    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=ENV, clock=lambda: NOW)
    assert "x-amz-security-token" not in request["headers"]


# --- the handler in sigv4 mode ----------------------------------------------------------------


class FakeResolver:
    def __init__(self, table: dict[str, int]) -> None:
        self.values = [f"v=1 region={r} weight={w}" for r, w in table.items()]

    def __call__(self, record: str, nameservers: object, timeout_s: float):
        return list(self.values), 30


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(log, "anomaly", log.AnomalyLog(write=lines.append))
    return lines


@pytest.fixture
def sigv4_router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A container in sigv4 mode with role credentials in its environment."""
    for name, value in dict(ENV, AWS_SESSION_TOKEN="token-1").items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "edge_config.json"
    config.write_text(
        render_edge_config(
            primary_region="us-east-1",
            region_domains=DOMAINS,
            routing_record="_routes.assets.example.com",
            nameservers=["127.0.0.1:1"],
            replication="from-primary",
            auth="sigv4",
        )
    )
    table = {"us-east-1": 10, "eu-west-1": 10}
    router = edge.build_router(str(config), resolver=FakeResolver(table), clock=lambda: 0.0)
    saved = (edge._router, edge._config_error)
    edge.reset_container(router)
    yield table
    edge._router, edge._config_error = saved


def fixture_event(name: str, uri: str) -> dict:
    event = json.loads((FIXTURES / name).read_text())
    request = event["Records"][0]["cf"]["request"]
    request["uri"] = uri
    request["querystring"] = ""
    return event


def scope_region(request: dict) -> str:
    return header(request, "authorization").split("Credential=")[1].split("/")[2]


@pytest.mark.parametrize("first_choice", ["us-east-1", "eu-west-1"])
@pytest.mark.parametrize("name", ["origin_request_s3_oai.json", "origin_request_failover.json"])
def test_every_routed_request_is_signed_for_its_region(
    sigv4_router: dict, logs: list[str], name: str, first_choice: str
) -> None:
    uri = next(
        f"/k/{i} +x"
        for i in range(1000)
        if routing.rank_regions(sigv4_router, f"/k/{i}%20%2Bx")[0] == first_choice
    )
    event = fixture_event(name, uri.replace(" ", "%20").replace("+", "%2B"))
    original = copy.deepcopy(event["Records"][0]["cf"]["request"])

    result = edge.handler(event, None)

    region = result["origin"]["s3"]["region"]
    assert scope_region(result) == region
    assert result["origin"]["s3"]["authMethod"] == "none"
    assert header(result, "host") == DOMAINS[region]
    assert header(result, "x-amz-security-token") == "token-1"
    assert origin_request_violations(original, result) == []
    if name == "origin_request_failover.json":
        assert region != first_choice  # the failover attempt goes elsewhere, signed
    expected = botocore_authorization(
        result["method"],
        DOMAINS[region],
        "k/" + uri.split("/k/")[1],
        "",
        region,
        dict(ENV, AWS_SESSION_TOKEN="token-1"),
        _signed_time(result),
    )
    assert header(result, "authorization") == expected.headers["Authorization"]


def _signed_time(request: dict) -> float:
    return calendar.timegm(time.strptime(header(request, "x-amz-date"), "%Y%m%dT%H%M%SZ"))


def test_a_routing_failure_falls_back_to_the_configured_origin_signed(
    sigv4_router: dict, logs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing, "rank_regions", mock.Mock(side_effect=RuntimeError("bug")))
    event = fixture_event("origin_request_s3_oai.json", "/a.txt")
    configured = event["Records"][0]["cf"]["request"]["origin"]["s3"]["domainName"]
    configured_region = next(r for r, d in DOMAINS.items() if d == configured)

    result = edge.handler(event, None)

    assert result["origin"]["s3"]["domainName"] == configured
    assert scope_region(result) == configured_region
    assert [json.loads(line)["anomaly"] for line in logs] == ["exception"]


def test_without_credentials_the_request_is_routed_unsigned_with_one_log_line(
    sigv4_router: dict, logs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    for _ in range(3):
        result = edge.handler(fixture_event("origin_request_s3_oai.json", "/a.txt"), None)
        assert "authorization" not in result["headers"]
        assert result["origin"]["s3"]["domainName"] in DOMAINS.values()
    assert [json.loads(line)["anomaly"] for line in logs] == ["unsigned"]


def test_credentials_are_read_per_invocation(
    sigv4_router: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = edge.handler(fixture_event("origin_request_s3_oai.json", "/a.txt"), None)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAROTATED")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-2")
    second = edge.handler(fixture_event("origin_request_s3_oai.json", "/a.txt"), None)
    assert "Credential=ASIAEXAMPLEKEY/" in header(first, "authorization")
    assert "Credential=ASIAROTATED/" in header(second, "authorization")
    assert header(second, "x-amz-security-token") == "token-2"


# --- what a signed request carries (mutation survivors, issue 13) ---------------------------


def test_the_signed_headers_carry_their_canonical_names_for_cloudfront() -> None:
    request = s3_request("/a.txt")
    environ = dict(ENV, AWS_SESSION_TOKEN="token/1")
    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=environ, clock=lambda: NOW)
    keys = {name: entries[0]["key"] for name, entries in request["headers"].items()}
    assert keys == {
        "host": "Host",
        "authorization": "Authorization",
        "x-amz-date": "X-Amz-Date",
        "x-amz-content-sha256": "X-Amz-Content-Sha256",
        "x-amz-security-token": "X-Amz-Security-Token",
    }
    assert all(len(entries) == 1 for entries in request["headers"].values())


def test_the_query_string_is_kept_and_signed() -> None:
    request = s3_request("/a.txt", "versionId=3%2Fx&b=1")
    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=ENV, clock=lambda: NOW)
    assert decoded_pairs(request["querystring"]) == [("versionId", "3/x"), ("b", "1")]
    expected = botocore_authorization(
        "GET", HOST, "a.txt", request["querystring"], "eu-west-1", ENV, NOW
    )
    assert header(request, "authorization") == expected.headers["Authorization"]


def test_the_origin_path_is_part_of_the_signed_key() -> None:
    request = s3_request("/a.txt")
    request["origin"]["s3"]["path"] = "/site"
    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=ENV, clock=lambda: NOW)
    expected = botocore_authorization("GET", HOST, "site/a.txt", "", "eu-west-1", ENV, NOW)
    assert header(request, "authorization") == expected.headers["Authorization"]


# Known answers: AWS's documented example credentials, bucket and instant (S3 "GET Object"
# example, 20130524T000000Z in us-east-1), signed with UNSIGNED-PAYLOAD as the function
# does. The signatures were computed once with botocore's S3SigV4Auth (as
# botocore_authorization does), so they hold even if the oracle above changed.
AWS_EXAMPLE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
AWS_EXAMPLE_HOST = "examplebucket.s3.amazonaws.com"
AWS_EXAMPLE_NOW = 1_369_353_600.0  # 2013-05-24T00:00:00Z


@pytest.mark.parametrize(
    ("querystring", "token", "sent", "signed_headers", "signature"),
    [
        (
            "",
            "",
            "",
            "host;x-amz-content-sha256;x-amz-date",
            "5c0d4ff29e72b8f94c5b6720369921e587e39bf7a64e456887dec4b43a2d1b77",
        ),
        (
            "",
            "tok/en+1",
            "",
            "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
            "2a5ba668414921c264a4801749e00c5470d17bdf6fc4a4d30d3767e45ac07da0",
        ),
        # a parameter without "=" is sent as is and signed as "flag="
        (
            "flag&b=1",
            "",
            "flag&b=1",
            "host;x-amz-content-sha256;x-amz-date",
            "6a48608455caf2bb9f9d48154166132d215dd12a490e6440bbf3e2ce327e5899",
        ),
        # the value is everything after the first "=": a later "=" is part of it
        (
            "a=b=c",
            "",
            "a=b%3Dc",
            "host;x-amz-content-sha256;x-amz-date",
            "80bc30b1395e8db5f9552aee5cd8bc806a70cc90eb56c619190a35d261d4bd8d",
        ),
        # empty pairs are dropped, the parameters after them are kept
        (
            "a=1&&b=2&",
            "",
            "a=1&b=2",
            "host;x-amz-content-sha256;x-amz-date",
            "f8ed8fcd267b284fabbe4b686b6a54a1a2dcf4c61fad7803a03f64df869394ea",
        ),
    ],
)
def test_known_answers_for_aws_example_credentials(
    querystring: str, token: str, sent: str, signed_headers: str, signature: str
) -> None:
    environ = dict(AWS_EXAMPLE_ENV, AWS_SESSION_TOKEN=token) if token else AWS_EXAMPLE_ENV
    request = s3_request("/test.txt", querystring)
    sigv4.sign_s3_request(
        request, "us-east-1", AWS_EXAMPLE_HOST, environ=environ, clock=lambda: AWS_EXAMPLE_NOW
    )
    assert request["querystring"] == sent
    assert header(request, "x-amz-date") == "20130524T000000Z"
    assert header(request, "authorization") == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "AWS_ACCESS_KEY_ID"),
        ({"AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID"),
        ({"AWS_ACCESS_KEY_ID": "AKIA1"}, "AWS_SECRET_ACCESS_KEY"),
        ({"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
        ({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID"),
    ],
)
def test_missing_credentials_are_refused_naming_the_variables(
    environ: dict[str, str], missing: str
) -> None:
    with pytest.raises(sigv4.MissingCredentials, match=missing):
        sigv4.credentials(environ)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "s"},
            ("AKIA1", "s", ""),
        ),
        (
            {"AWS_ACCESS_KEY_ID": "ASIA1", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
            ("ASIA1", "s", "t"),
        ),
    ],
)
def test_credentials_are_the_reserved_variables(
    environ: dict[str, str], expected: tuple[str, str, str]
) -> None:
    assert sigv4.credentials(environ) == expected


def test_the_signing_key_cache_stays_bounded_as_credentials_rotate() -> None:
    """A long-lived container sees a new secret at every rotation: the derived keys it
    keeps stay at most _MAX_CACHED_KEYS, and every signature stays right."""
    sigv4._key_cache.clear()
    for rotation in range(3 * sigv4._MAX_CACHED_KEYS):
        environ = dict(ENV, AWS_SECRET_ACCESS_KEY=f"secret-{rotation}")
        request = s3_request("/k")
        sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=environ, clock=lambda: NOW)
        assert len(sigv4._key_cache) <= sigv4._MAX_CACHED_KEYS
    expected = botocore_authorization("GET", HOST, "k", "", "eu-west-1", environ, NOW)
    assert header(request, "authorization") == expected.headers["Authorization"]
