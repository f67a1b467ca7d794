"""The operator command line's pure parts: content types, cache rules, checksums, plans,
invalidation batches, the replication wait, verdicts, stack outputs and bad input."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from asset_delivery.buckets import PROBE_PREFIX as COMPONENT_PROBE_PREFIX
from asset_delivery.buckets import probe_key
from asset_delivery.ops import cli
from asset_delivery.ops.cdn import MAX_PATHS, invalidation_paths
from asset_delivery.ops.content import (
    IMMUTABLE,
    MULTIPART_CHUNK,
    MULTIPART_THRESHOLD,
    SHORT,
    RuleError,
    cache_control,
    checksums,
    content_type,
    is_fingerprinted,
    parse_cache_rules,
)
from asset_delivery.ops.objects import PROBE_PREFIX, Version, holds, is_reserved, wait_replicated
from asset_delivery.ops.publish import LocalFile, normalise_prefix, plan_publish
from asset_delivery.ops.stack import StackOutputs, UsageError, outputs_from_pulumi, parse_outputs
from asset_delivery.ops.status import health_verdict, overall_verdict, replication_backlog
from asset_delivery.ops.verify import max_deviation_pp
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = {
    "primary_region": "us-east-1",
    "bucket_names": {"us-east-1": "assets-use1", "eu-west-1": "assets-euw1"},
    "distribution_id": "E123",
    "url": "https://d1.cloudfront.net",
    "routing_record_name": "_routes.assets.example.com",
    "routing_name_servers": ["ns-1.awsdns-01.org"],
    "region_weights": {"us-east-1": 50, "eu-west-1": 50},
    "health_check_ids": {"us-east-1": "hc-1", "eu-west-1": "hc-2"},
    "replication_mode": "from-primary",
}


# -- content types and cache rules -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("docs/INDEX.HTML", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.JPG", "image/jpeg"),
        ("font.woff2", "font/woff2"),
        ("module.wasm", "application/wasm"),
        ("no-extension", "application/octet-stream"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_type_comes_from_the_name(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize(
    "name",
    ["app.3f9a1c.js", "static/main.8c2e41f0a9.css", "index-BzX3k9aQ.js", "chunk-a1b2c3d4.js"],
)
def test_fingerprinted_names_are_recognised(name: str) -> None:
    assert is_fingerprinted(name)
    assert cache_control(name) == IMMUTABLE


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "app.js",
        "facade.js",  # hex letters only, and the base name itself
        "logo-2024.png",  # digits only
        "invoice-202401.pdf",
        "jquery-3.7.1.min.js",
        "my-component-v2final.js",
        "3f9a1c.js",  # the whole name, not a segment after a base name
        "README",
    ],
)
def test_other_names_get_the_short_lifetime(name: str) -> None:
    assert not is_fingerprinted(name)
    assert cache_control(name) == SHORT


def test_cache_rules_first_match_wins_and_replace_builtins() -> None:
    rules = parse_cache_rules(
        [
            "*.html=no-cache",
            "docs/*=public, max-age=60",
            "fingerprinted=public, max-age=86400",
            "default=public, max-age=10",
        ]
    )
    assert cache_control("docs/index.html", rules) == "no-cache"  # matches the file name
    assert cache_control("docs/guide.pdf", rules) == "public, max-age=60"
    assert cache_control("app.3f9a1c.js", rules) == "public, max-age=86400"
    assert cache_control("robots.txt", rules) == "public, max-age=10"


@pytest.mark.parametrize("spec", ["no-equals", "=value", "*.html=", "a=b\nc"])
def test_bad_cache_rules_are_refused_with_the_rule(spec: str) -> None:
    with pytest.raises(RuleError, match="--cache-control"):
        parse_cache_rules([spec])


# -- checksums: the ETag S3 gives our uploads (moto as the oracle) -----------------------


@pytest.mark.parametrize(
    "size", [0, 1, MULTIPART_THRESHOLD - 1, MULTIPART_THRESHOLD, 2 * MULTIPART_CHUNK + 5]
)
def test_local_etag_equals_the_etag_s3_gives_our_upload(size: int, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    data = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="etag-oracle")
        client.upload_fileobj(
            io.BytesIO(data),
            "etag-oracle",
            "k",
            Config=TransferConfig(
                multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK
            ),
        )
        remote = client.list_objects_v2(Bucket="etag-oracle")["Contents"][0]["ETag"]
    assert checksums(io.BytesIO(data), size) == (remote, hashlib.sha256(data).hexdigest())


# -- the publish plan ----------------------------------------------------------------------


def _file(key: str) -> LocalFile:
    return LocalFile(Path("/dev/null"), key, 1)


def test_plan_skips_unchanged_by_checksum_and_deletes_only_under_the_prefix() -> None:
    files = [_file("site/a.css"), _file("site/b.js"), _file("site/new.html")]
    local = {
        "site/a.css": ('"aa"', "sha-a"),
        "site/b.js": ('"b2"', "sha-b2"),
        "site/new.html": ('"nn"', "sha-n"),
    }
    remote = {
        "site/a.css": '"aa"',  # unchanged
        "site/b.js": '"b1"',  # changed
        "site/gone.png": '"gg"',  # no longer in DIR
        "site-other/keep.txt": '"kk"',  # shares the letters, not the prefix
        "other/keep.txt": '"kk"',
        probe_key("us-east-1"): '"pp"',
    }
    plan = plan_publish(files, local, remote, prefix="site/", delete=True)
    assert [f.key for f in plan.upload] == ["site/b.js", "site/new.html"]
    assert plan.unchanged == ["site/a.css"]
    assert plan.delete == ["site/gone.png"]
    assert plan_publish(files, local, remote, prefix="site/", delete=False).delete == []


def test_plan_settles_a_different_etag_by_the_stored_sha256() -> None:
    """SSE-KMS ETags are not MD5s: the SHA-256 stored with the object decides, and is
    asked for only when the ETags differ."""
    files = [_file("kms/same.txt"), _file("kms/changed.txt"), _file("kms/etag-equal.txt")]
    local = {
        "kms/same.txt": ('"md5-1"', "sha-1"),
        "kms/changed.txt": ('"md5-2"', "sha-2"),
        "kms/etag-equal.txt": ('"md5-3"', "sha-3"),
    }
    remote = {"kms/same.txt": '"k1"', "kms/changed.txt": '"k2"', "kms/etag-equal.txt": '"md5-3"'}
    stored = {"kms/same.txt": "sha-1", "kms/changed.txt": "sha-old"}
    asked: list[str] = []

    def stored_sha256(key: str) -> str | None:
        asked.append(key)
        return stored.get(key)

    plan = plan_publish(
        files, local, remote, prefix="kms/", delete=False, stored_sha256=stored_sha256
    )
    assert sorted(plan.unchanged) == ["kms/etag-equal.txt", "kms/same.txt"]
    assert [f.key for f in plan.upload] == ["kms/changed.txt"]
    assert sorted(asked) == ["kms/changed.txt", "kms/same.txt"]


def test_a_copy_holds_a_version_by_etag_or_stored_sha256() -> None:
    expected = Version('"e1"', "s1")
    assert holds(expected, '"e1"', lambda: pytest.fail("no HEAD needed"))
    assert holds(expected, '"kms"', lambda: "s1")
    assert not holds(expected, '"kms"', lambda: "s0")
    assert not holds(expected, None, lambda: "s1")
    assert not holds(Version('"e1"'), '"kms"', lambda: "")  # nothing stored to compare
    assert holds(None, None, lambda: None) and not holds(None, '"e1"', lambda: None)


def test_plan_at_the_root_never_deletes_or_overwrites_the_probe() -> None:
    files = [_file("index.html"), _file(probe_key("us-east-1"))]
    local = {"index.html": ('"i"', "i"), probe_key("us-east-1"): ('"x"', "x")}
    remote = {probe_key("us-east-1"): '"p"', "_canary/run/0001.txt": '"c"', "old.txt": '"o"'}
    plan = plan_publish(files, local, remote, prefix="", delete=True)
    assert plan.delete == ["old.txt"]
    assert [f.key for f in plan.upload] == ["index.html"]
    assert [r["key"] for r in plan.refused] == [probe_key("us-east-1")]


def test_reserved_prefix_is_the_components_probe_prefix() -> None:
    assert COMPONENT_PROBE_PREFIX == PROBE_PREFIX
    assert is_reserved(probe_key("eu-west-1"))


@pytest.mark.parametrize(
    ("given", "expected"), [("", ""), ("/", ""), ("/static", "static/"), ("a/b/", "a/b/")]
)
def test_prefix_is_normalised(given: str, expected: str) -> None:
    assert normalise_prefix(given) == expected


@pytest.mark.parametrize("bad", ["a//b", "../x", "a/./b"])
def test_bad_prefix_is_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="--prefix"):
        normalise_prefix(bad)


# -- invalidation batches ----------------------------------------------------------------


def test_invalidation_lists_each_changed_path_encoded() -> None:
    assert invalidation_paths(["b.js", "a b.css", "x*y.txt", "é.png"]) == [
        "/%C3%A9.png",
        "/a%20b.css",
        "/b.js",
        "/x%2Ay.txt",
    ]


def test_invalidation_collapses_to_a_wildcard_over_a_thousand_paths() -> None:
    keys = [f"static/{n}.js" for n in range(MAX_PATHS)]
    assert len(invalidation_paths(keys, "static/")) == MAX_PATHS
    assert invalidation_paths([*keys, "static/one-more.js"], "static/") == ["/static/*"]
    assert invalidation_paths([f"{n}" for n in range(MAX_PATHS + 1)]) == ["/*"]


# -- the replication wait ----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_returns_once_every_region_matches() -> None:
    clock = FakeClock()
    arrivals = {"eu-west-1": [{}, {"a": '"1"'}, {"a": '"1"', "b": '"2"'}]}
    polls = {"eu-west-1": 0}

    def listing(region: str) -> dict[str, str]:
        step = arrivals[region][min(polls[region], 2)]
        polls[region] += 1
        return step

    outcome = wait_replicated(
        listing,
        {"a": Version('"1"'), "b": Version('"2"'), "gone": None},
        ["eu-west-1"],
        timeout_s=60,
        clock=clock,
        sleep=clock.sleep,
    )
    assert outcome.complete
    assert outcome.replicated == {"eu-west-1": 3}
    assert clock.now < 60


def test_wait_names_what_is_missing_and_why_when_it_times_out() -> None:
    clock = FakeClock()

    def listing(region: str) -> dict[str, str]:
        if region == "ap-south-1":
            raise ConnectionRefusedError("connection refused")
        return {"a": '"1"', "b": '"old"'}

    outcome = wait_replicated(
        listing,
        {"a": Version('"1"'), "b": Version('"2"')},
        ["eu-west-1", "ap-south-1"],
        timeout_s=5,
        clock=clock,
        sleep=clock.sleep,
    )
    assert not outcome.complete
    assert outcome.missing == {"eu-west-1": ["b"], "ap-south-1": ["a", "b"]}
    assert outcome.replicated == {"eu-west-1": 1, "ap-south-1": 0}
    assert "connection refused" in outcome.errors["ap-south-1"]
    assert clock.now >= 5


# -- status and verify verdicts ----------------------------------------------------------


def _observations(passing: int, failing: int) -> list[dict]:
    return [{"StatusReport": {"Status": "Success: HTTP Status Code 200"}}] * passing + [
        {"StatusReport": {"Status": "Failure: Connection timed out"}}
    ] * failing


def test_health_follows_route53s_eighteen_percent_rule() -> None:
    assert health_verdict(_observations(2, 8)) is True  # 20 % > 18 %
    assert health_verdict(_observations(1, 9)) is False  # 10 %
    assert health_verdict([]) is None


def _entry(healthy=True, in_table=True, weight=50) -> dict:
    return {"healthy": healthy, "in_table": in_table, "weight": weight, "replication_pending": 0}


def test_verdicts() -> None:
    deployed = {"status": "Deployed", "enabled": True}
    both = {"a": _entry(), "b": _entry()}
    assert overall_verdict(both, deployed) == "healthy"
    assert overall_verdict(both, {"status": "InProgress", "enabled": True}) == "degraded"
    assert overall_verdict({"a": _entry(), "b": _entry(weight=0)}, deployed) == "degraded"
    assert overall_verdict({"a": _entry(), "b": _entry(False, False)}, deployed) == "degraded"
    assert overall_verdict({"a": _entry(False), "b": _entry(False)}, deployed) == "down"
    assert overall_verdict(both, {"status": None, "error": "AccessDenied"}) == "down"
    unknown_table = {"a": _entry(in_table=None), "b": _entry(in_table=None)}
    assert overall_verdict(unknown_table, deployed) == "healthy"


def test_backlog_counts_missing_and_different_keys_not_the_probe() -> None:
    primary = {"a": '"1"', "b": '"2"', "c": '"3"', probe_key("us-east-1"): '"p"'}
    assert (
        replication_backlog(primary, {"a": '"1"', "b": '"old"', probe_key("us-east-1"): '"q"'}) == 2
    )


def test_max_deviation_in_points() -> None:
    assert max_deviation_pp({"a": 30, "b": 70}, {"a": 0.5, "b": 0.5}, 100) == 20.0
    assert max_deviation_pp({"a": 10, "c": 0}, {"a": 1.0}, 10) == 0.0
    assert max_deviation_pp({}, {"a": 1.0}, 0) is None


# -- stack outputs -----------------------------------------------------------------------


def test_outputs_parse_and_name_regions() -> None:
    outputs = parse_outputs(OUTPUTS, "outputs.json")
    assert outputs.regions == ["us-east-1", "eu-west-1"]
    assert outputs.region("eu-west-1", secondary=True) == "eu-west-1"
    with pytest.raises(UsageError, match=r"'us-east-1' is not a secondary region"):
        outputs.region("us-east-1", secondary=True)
    with pytest.raises(UsageError, match="allowed: us-east-1, eu-west-1"):
        outputs.region("xx-nowhere-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket_names": None}, "bucket_names missing"),
        ({"primary_region": "ap-south-1"}, "primary_region 'ap-south-1' has no bucket"),
        ({"routing_name_servers": "ns-1"}, "routing_name_servers must be a list"),
    ],
)
def test_bad_outputs_are_named(change: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_outputs({**OUTPUTS, **change}, "outputs.json")


def test_outputs_keep_every_field() -> None:
    outputs = parse_outputs(OUTPUTS, "x")
    assert isinstance(outputs, StackOutputs)
    assert outputs.health_check_ids == {"us-east-1": "hc-1", "eu-west-1": "hc-2"}
    assert outputs.region_weights == {"us-east-1": 50, "eu-west-1": 50}


# -- bad input: one line on stderr, exit 2, nothing on stdout ----------------------------


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No credentials anywhere, and no instance metadata lookups off this machine."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _outputs_file(path: Path) -> Path:
    target = path / "outputs.json"
    target.write_text(json.dumps(OUTPUTS))
    return target


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", "--stack-outputs", "missing.json"], "does not exist"),
        (["status"], "one of the arguments --stack-outputs --stack --lab is required"),
        (["publish", "--stack-outputs", "x.json"], ": publish: the following arguments are"),
        (["verify", "--stack-outputs", "x.json", "--objects", "0"], "must be at least 1"),
        (["frobnicate"], "invalid choice"),
        (["status", "--lab", "missing-profile.json"], "lab profile missing-profile.json"),
    ],
)
def test_bad_flags_and_files(no_aws, monkeypatch, argv: list[str], message: str) -> None:
    monkeypatch.chdir(no_aws)
    code, out, err = run_cli(argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_no_credentials_is_bad_input(no_aws) -> None:
    code, out, err = run_cli(["status", "--json", "--stack-outputs", str(_outputs_file(no_aws))])
    assert (code, out) == (2, "")
    assert "no AWS credentials found" in err and len(err.splitlines()) == 1


def test_unknown_profile_is_bad_input(no_aws) -> None:
    argv = ["status", "--stack-outputs", str(_outputs_file(no_aws)), "--profile", "nope"]
    code, _out, err = run_cli(argv)
    assert code == 2 and "AWS profile 'nope'" in err


def test_unknown_region_is_bad_input(no_aws, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    argv = ["backfill", "xx-nowhere-1", "--stack-outputs", str(_outputs_file(no_aws))]
    code, out, err = run_cli(argv)
    assert (code, out) == (2, ""), err
    assert "region 'xx-nowhere-1' is not a secondary region" in err


def test_stack_without_the_pulumi_cli(no_aws, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(no_aws))
    code, _out, err = run_cli(["status", "--stack", "prod"])
    assert code == 2 and "--stack needs the Pulumi CLI on PATH" in err


def _fake_pulumi(directory: Path, script: str) -> None:
    executable = directory / "pulumi"
    executable.write_text("#!/bin/sh\n" + script)
    executable.chmod(0o755)


def test_stack_runs_pulumi_stack_output(no_aws, monkeypatch) -> None:
    """--stack NAME asks the Pulumi CLI for the outputs, secrets shown, for that stack."""
    (no_aws / "outputs.json").write_text(json.dumps(OUTPUTS))
    _fake_pulumi(
        no_aws,
        f'[ "$*" = "stack output --json --show-secrets --stack prod" ] || exit 9\n'
        f"cat {no_aws / 'outputs.json'}\n",
    )
    monkeypatch.setenv("PATH", f"{no_aws}:{os.environ['PATH']}")
    outputs = outputs_from_pulumi("prod")
    assert outputs.distribution_id == "E123" and outputs.regions == ["us-east-1", "eu-west-1"]


def test_stack_that_pulumi_does_not_know(no_aws, monkeypatch) -> None:
    _fake_pulumi(no_aws, "echo 'error: no stack named \"nope\" found' >&2\nexit 255\n")
    monkeypatch.setenv("PATH", f"{no_aws}:{os.environ['PATH']}")
    code, out, err = run_cli(["status", "--stack", "nope", "--json"])
    assert (code, out) == (2, "")
    assert err.strip() == (
        "asset-delivery: `pulumi stack output --stack nope` failed: "
        'error: no stack named "nope" found'
    )


def test_bad_cache_rule_is_bad_input(no_aws, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    argv = ["publish", str(no_aws), "--stack-outputs", str(_outputs_file(no_aws))]
    code, _out, err = run_cli([*argv, "--cache-control", "oops"])
    assert code == 2 and "is not PATTERN=VALUE" in err


def test_the_command_never_imports_pulumi() -> None:
    code = (
        "import sys; import asset_delivery.ops.cli, asset_delivery.ops.publish, "
        "asset_delivery.ops.status, asset_delivery.ops.verify, asset_delivery.ops.backfill; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'boto3')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asset_delivery", "status", "--stack-outputs", "/nonexistent.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (
        "asset-delivery: stack outputs file /nonexistent.json does not exist"
    )
