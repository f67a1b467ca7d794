"""The emulated buckets' access check (lab/s3_access.py): signatures verified with
botocore (not the edge function's signer), principals authorised from the declared
stack, so a lab in ``sigv4`` mode refuses what S3 would refuse."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from asset_delivery.buckets import bucket_policy_document
from asset_delivery.edge_handler import sigv4
from asset_delivery.lab.lab import Lab
from asset_delivery.lab.s3_access import (
    ADMIN,
    ANONYMOUS,
    EDGE_ROLE,
    OAI,
    AccessRules,
    Credentials,
    Refused,
    authorise,
    verify_signature,
)
from asset_delivery.lab.stack import declared_stack
from asset_delivery.testing import HEALTH_CHECKER_CIDRS
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

BUCKET = "assets-euw1"
HOST = f"{BUCKET}.s3.eu-west-1.amazonaws.com"
ROLE = Credentials(EDGE_ROLE, "ASIAROLEKEY", "role-secret", "role-token")
ADMIN_KEY = Credentials(ADMIN, "lab", "lab")
ROLE_ARN = "arn:aws:iam::123456789012:role/assets-edge"
OAI_ARN = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE"
RULES = AccessRules(
    region="eu-west-1",
    bucket=BUCKET,
    # The policy the component declares in sigv4 mode: the role reads, the checkers probe.
    policy=json.loads(
        bucket_policy_document(
            f"arn:aws:s3:::{BUCKET}", [ROLE_ARN], HEALTH_CHECKER_CIDRS, "_health/eu-west-1"
        )
    ),
    principal_arns={EDGE_ROLE: ROLE_ARN, OAI: OAI_ARN},
    edge_role_objects=(f"arn:aws:s3:::{BUCKET}/*",),
    credentials=(ADMIN_KEY, ROLE),
)
CHECKER_IP = "15.177.0.1"  # inside the Route 53 health checkers' ranges


def signed_by_function(uri: str, query: str = "", secret: str = ROLE.secret) -> dict:
    """An origin request as the edge function signs it; returns the wire parts."""
    environ = {
        "AWS_ACCESS_KEY_ID": ROLE.access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": ROLE.token,
    }
    request = {
        "method": "GET",
        "uri": uri,
        "querystring": query,
        "headers": {"host": [{"key": "Host", "value": HOST}]},
        "origin": {"s3": {"path": "", "domainName": HOST}},
    }
    sigv4.sign_s3_request(request, "eu-west-1", HOST, environ=environ, clock=time.time)
    headers = {name: entries[0]["value"] for name, entries in request["headers"].items()}
    raw_uri = request["uri"] + (f"?{request['querystring']}" if request["querystring"] else "")
    return {"raw_uri": raw_uri, "headers": headers}


def check(wire: dict, method: str = "GET", rules: AccessRules = RULES) -> str:
    principal = verify_signature(rules, method, HOST, wire["raw_uri"], wire["headers"])
    authorise(rules, principal, method, HOST, wire["raw_uri"])
    return principal


@pytest.mark.parametrize(
    ("uri", "query"),
    [("/a.txt", ""), ("/a b+c/日本 ~x//y", ""), ("/k", "versionId=3&response-content-type=a/b")],
)
def test_the_functions_signature_is_verified_by_botocore(uri: str, query: str) -> None:
    wire = signed_by_function(uri, query)
    principal = verify_signature(RULES, "GET", HOST, wire["raw_uri"], wire["headers"])
    assert principal == EDGE_ROLE


def test_a_botocore_client_signature_is_verified() -> None:
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:9/{BUCKET}/x%20y", headers={})
    S3SigV4Auth(BotoCredentials("lab", "lab"), "s3", "eu-west-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()} | {"host": "127.0.0.1:9"}
    principal = verify_signature(RULES, "GET", "127.0.0.1:9", f"/{BUCKET}/x%20y", headers)
    assert principal == ADMIN


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda w: w.update(raw_uri="/other.txt"), "SignatureDoesNotMatch"),
        (
            lambda w: w["headers"].update({"x-amz-date": "20200101T000000Z"}),
            "SignatureDoesNotMatch",
        ),
        (lambda w: w["headers"].pop("x-amz-security-token"), "InvalidToken"),
        (lambda w: w["headers"].update({"x-amz-security-token": "stolen"}), "InvalidToken"),
        (
            lambda w: w["headers"].update(
                authorization=w["headers"]["authorization"].replace("ASIAROLEKEY", "ASIAOTHER")
            ),
            "InvalidAccessKeyId",
        ),
        (
            lambda w: w["headers"].update(
                authorization=w["headers"]["authorization"].replace("eu-west-1", "us-east-1")
            ),
            "AuthorizationHeaderMalformed",
        ),
    ],
)
def test_wrong_signatures_are_refused(tamper, code: str) -> None:
    wire = signed_by_function("/a.txt")
    tamper(wire)
    with pytest.raises(Refused) as refused:
        check(wire)
    assert refused.value.code == code


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(Refused, match="signature does not match"):
        check(signed_by_function("/a.txt", secret="guessed"))


@pytest.mark.parametrize(
    ("principal", "method", "raw_uri", "allowed"),
    [
        (EDGE_ROLE, "GET", "/a.txt", True),
        (EDGE_ROLE, "HEAD", "/dir/a%20b.txt", True),
        (EDGE_ROLE, "GET", "/", False),  # ListBucket: no listing through the edge
        (EDGE_ROLE, "PUT", "/a.txt", False),
        (EDGE_ROLE, "GET", "/a.txt?versionId=1", False),  # GetObjectVersion
        (EDGE_ROLE, "GET", "/a.txt?acl", False),
        (OAI, "GET", "/a.txt", False),  # the bucket policy no longer admits the OAI
        (ANONYMOUS, "GET", "/a.txt", False),
        (ANONYMOUS, "GET", "/_health/eu-west-1", True),  # the health checkers' grant
        (ANONYMOUS, "GET", "/_health/us-east-1", False),
        (ANONYMOUS, "GET", "/", False),
        (ADMIN, "PUT", "/a.txt", True),
    ],
)
def test_principals_may_do_exactly_what_the_stack_declares(
    principal: str, method: str, raw_uri: str, allowed: bool
) -> None:
    if allowed:
        authorise(RULES, principal, method, HOST, raw_uri, CHECKER_IP)
    else:
        with pytest.raises(Refused, match="may not"):
            authorise(RULES, principal, method, HOST, raw_uri, CHECKER_IP)


def test_only_the_health_checkers_ranges_read_the_probe() -> None:
    with pytest.raises(Refused):
        authorise(RULES, ANONYMOUS, "GET", HOST, "/_health/eu-west-1", "127.0.0.1")


def test_the_role_is_refused_keys_its_iam_policy_does_not_name() -> None:
    narrow = AccessRules(
        **{**vars(RULES), "edge_role_objects": (f"arn:aws:s3:::{BUCKET}/public/*",)}
    )
    authorise(narrow, EDGE_ROLE, "GET", HOST, "/public/a.txt")
    with pytest.raises(Refused):
        authorise(narrow, EDGE_ROLE, "GET", HOST, "/private/a.txt")
    with pytest.raises(Refused):
        check(signed_by_function("/private/a.txt"), rules=narrow)


def test_rules_travel_to_the_emulator_as_json() -> None:
    assert AccessRules.from_json(RULES.to_json()) == RULES


@pytest.mark.slow
def test_a_signed_lab_serves_through_the_edge_and_refuses_everyone_else() -> None:
    stack = declared_stack({"us-east-1": 50, "eu-west-1": 50}, originAuth="sigv4")
    assert stack.origin_readers == ("edge-role",)
    with Lab(stack, time_scale=20) as lab:
        lab.put_object("dir/a b+c.txt", b"hello")
        lab.wait_replicated(["dir/a b+c.txt"])
        with urllib.request.urlopen(lab.edge_url + "/dir/a%20b+c.txt") as answer:
            assert answer.read() == b"hello"
        with pytest.raises(urllib.error.HTTPError) as listing:
            urllib.request.urlopen(lab.edge_url + "/")
        assert listing.value.code == 403
        region = stack.primary_region
        domain = stack.regions[region].domain
        wire = {"Host": domain}
        for headers, code in [
            ({}, b"AccessDenied"),  # unsigned
            (
                {
                    "Authorization": f"AWS4-HMAC-SHA256 Credential={lab.edge_role.access_key}/"
                    f"20260101/{region}/s3/aws4_request, SignedHeaders=host;x-amz-date, "
                    "Signature=00",
                    "x-amz-date": "20260101T000000Z",
                    "x-amz-security-token": lab.edge_role.token,
                },
                b"SignatureDoesNotMatch",
            ),
        ]:
            connection = http.client.HTTPConnection("127.0.0.1", lab.locate(region), timeout=10)
            connection.request("GET", "/dir/a%20b%2Bc.txt", headers=wire | headers)
            response = connection.getresponse()
            assert (response.status, code in response.read()) == (403, True)
            connection.close()
