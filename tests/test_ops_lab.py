"""End to end: every ``asset-delivery`` command against a running lab, through the same
boto3 calls it makes against AWS (only the endpoints differ), including failures: a
region killed during publish, a drained region, a region that joined late, every
region down, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asset_delivery.lab.commands import obtain_stack
from asset_delivery.lab.lab import Lab

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
TIME_SCALE = 20.0
SECONDARY = "eu-west-1"
COMMAND_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with Lab(obtain_stack("prod"), time_scale=TIME_SCALE, cache=True) as running:
        running.write_profile(tmp_path_factory.mktemp("lab") / "profile.json")
        yield running


@pytest.fixture
def profile(lab) -> Path:
    path = lab.profile_path
    assert path is not None
    return path


def run_command(profile: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m asset_delivery ARGV --lab PROFILE --json``, no AWS settings inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "asset_delivery", *argv, "--lab", str(profile), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=COMMAND_TIMEOUT_S,
    )


def cli(profile: Path, *argv: str) -> tuple[int, dict, str]:
    """Run the command as an operator would; stdout must be exactly one JSON object."""
    done = run_command(profile, *argv)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got: {done.stdout!r}"
    return done.returncode, json.loads(lines[0]), done.stderr


def site(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "site"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def head(lab: Lab, region: str, key: str) -> dict:
    emulator = lab.emulators[region]
    return emulator.client().head_object(Bucket=emulator.spec.bucket, Key=key)


def get(lab: Lab, key: str) -> tuple[int, bytes]:
    import urllib.request

    with urllib.request.urlopen(f"{lab.edge_url}/{key}", timeout=30) as answer:
        return answer.status, answer.read()


def test_publish_uploads_replicates_skips_deletes_and_invalidates(lab, profile, tmp_path) -> None:
    root = site(
        tmp_path,
        {
            "index.html": "<h1>v1</h1>",
            "assets/app.3f9a1c.js": "console.log(1)",
            "assets/old.css": "body{}",
        },
    )
    code, result, err = cli(profile, "publish", str(root), "--prefix", "web")
    assert code == 0, err
    assert (result["uploaded"], result["unchanged"], result["deleted"]) == (3, 0, 0)
    assert result["failed"] == [] and result["not_replicated"] == {}
    assert result["replicated"] == {SECONDARY: 3}
    assert result["invalidation_id"]
    assert sorted(result["invalidated_paths"]) == [
        "/web/assets/app.3f9a1c.js",
        "/web/assets/old.css",
        "/web/index.html",
    ]
    assert "uploaded 3, unchanged 0, deleted 0, failed 0" in err
    for region in lab.stack.regions:  # replicas keep the headers
        page = head(lab, region, "web/index.html")
        assert page["ContentType"] == "text/html; charset=utf-8"
        assert page["CacheControl"] == "public, max-age=300"
        script = head(lab, region, "web/assets/app.3f9a1c.js")
        assert script["CacheControl"] == "public, max-age=31536000, immutable"
    assert get(lab, "web/index.html") == (200, b"<h1>v1</h1>")  # now in the edge's cache

    (root / "index.html").write_text("<h1>v2</h1>")
    (root / "assets" / "old.css").unlink()
    code, result, _err = cli(profile, "publish", str(root), "--prefix", "web/", "--delete")
    assert code == 0
    assert (result["uploaded"], result["unchanged"], result["deleted"]) == (1, 1, 1)
    assert sorted(result["invalidated_paths"]) == ["/web/assets/old.css", "/web/index.html"]
    assert not lab.has_object(SECONDARY, "web/assets/old.css")  # the delete replicated
    assert get(lab, "web/index.html") == (200, b"<h1>v2</h1>")  # invalidated, fetched anew
    assert lab.has_object(lab.stack.primary_region, f"_health/{lab.stack.primary_region}")


def test_publish_names_what_a_killed_region_never_received(lab, profile, tmp_path) -> None:
    root = site(tmp_path, {f"batch/{n}.txt": f"object {n}" for n in range(5)})
    keys = {f"killed/batch/{n}.txt" for n in range(5)}
    primary = lab.stack.primary_region
    # Replication holds back (15 real seconds) until the region is gone, then catches up.
    lab.replicator.lag_s = 15 * TIME_SCALE
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    command = [sys.executable, "-m", "asset_delivery", "publish", str(root), "--prefix"]
    command += ["killed", "--replication-timeout", "8", "--lab", str(profile), "--json"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not keys <= lab.keys_in(primary):  # the uploads have landed
            assert time.monotonic() < deadline and process.poll() is None
            lab.replicator.wait_idle(0.2)
        lab.kill_region(SECONDARY)
        out, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        lab.replicator.lag_s = 0.0
    try:
        assert process.returncode == 1, err
        result = json.loads(out)
        assert result["uploaded"] == 5 and result["failed"] == []
        assert result["replicated"] == {SECONDARY: 0}
        assert result["not_replicated"] == {SECONDARY: sorted(keys)}
        assert SECONDARY in result["region_errors"]
        assert f"NOT in {SECONDARY}" in err and "Traceback" not in err
    finally:
        lab.restore_region(SECONDARY)
        lab.wait_healthy(SECONDARY, True, timeout_s=60)
    lab.wait_replicated(keys, timeout_s=120)  # S3 catches up once the region is back


def test_status_and_verify_with_a_drained_region(lab, profile) -> None:
    code, result, _err = cli(profile, "status")
    assert code == 0 and result["verdict"] == "healthy"
    lab.set_weight(SECONDARY, 0)
    try:
        code, result, err = cli(profile, "status")
        assert code == 1 and result["verdict"] == "degraded"
        assert result["regions"][SECONDARY] == {
            "healthy": True,
            "in_table": True,
            "weight": 0,
            "replication_pending": 0,
        }
        assert result["distribution"]["status"] == "Deployed"
        assert result["distribution"]["function_version"] == "1"
        assert "verdict: degraded" in err

        code, result, _err = cli(profile, "verify", "--objects", "30")
        assert code == 0, result
        assert result["verdict"] == "ok" and result["errors"] == []
        assert result["expected_share"] == {lab.stack.primary_region: 1.0, SECONDARY: 0.0}
        assert result["by_region"] == {lab.stack.primary_region: 30, SECONDARY: 0}
        assert result["max_deviation_pp"] == 0.0
    finally:
        lab.set_weight(SECONDARY, 50)
    code, result, _err = cli(profile, "verify", "--objects", "40")
    assert code == 0 and result["verdict"] == "ok"
    assert all(count > 0 for count in result["by_region"].values())
    primary = lab.stack.primary_region
    assert not any(k.startswith("_canary/") for k in lab.keys_in(primary))  # cleaned up


def test_backfill_fills_a_region_that_joined_late(lab, profile, tmp_path) -> None:
    root = site(tmp_path, {f"late/{n}.txt": f"late {n}" for n in range(6)})
    code, _result, _err = cli(profile, "publish", str(root))
    assert code == 0
    lab.replace_region(SECONDARY)  # a new, empty bucket: replication copies only new writes
    lab.wait_healthy(SECONDARY, True, timeout_s=60)
    code, result, _err = cli(profile, "status")
    assert result["regions"][SECONDARY]["replication_pending"] >= 6

    code, result, err = cli(profile, "backfill", SECONDARY)
    assert code == 0, err
    assert result["copied"] >= 6 and result["failed"] == []
    copied = result["copied"]
    assert head(lab, SECONDARY, "late/0.txt")["ContentType"] == "text/plain; charset=utf-8"
    code, result, _err = cli(profile, "backfill", SECONDARY)  # resumable: nothing left
    assert (code, result["copied"], result["skipped"]) == (0, 0, copied)
    code, result, _err = cli(profile, "status")
    assert code == 0 and result["regions"][SECONDARY]["replication_pending"] == 0


def test_status_is_down_when_every_region_is(lab, profile) -> None:
    regions = list(lab.stack.regions)
    for region in regions:
        lab.kill_region(region)
    try:
        for region in regions:
            lab.wait_healthy(region, False, timeout_s=60)
        code, result, err = cli(profile, "status")
        assert code == 2 and result["verdict"] == "down"
        assert all(entry["healthy"] is False for entry in result["regions"].values())
        # Route 53 answers every record when none is healthy: all are "in the table".
        assert all(entry["in_table"] for entry in result["regions"].values())
        assert all(entry["replication_pending"] is None for entry in result["regions"].values())
        assert "verdict: down" in err
    finally:
        for region in regions:
            lab.restore_region(region)
        for region in regions:
            lab.wait_healthy(region, True, timeout_s=60)


def test_bad_input_against_the_lab(lab, profile) -> None:
    for argv, message in [
        (["backfill", "xx-nowhere-1"], "region 'xx-nowhere-1' is not a secondary region"),
        (["backfill", lab.stack.primary_region], "is not a secondary region"),
        (["publish", "/nonexistent-dir"], "does not exist or is not a directory"),
        (["status", "--profile", "default"], "--profile does not apply to --lab"),
    ]:
        done = run_command(profile, *argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and message in done.stderr


def test_lab_up_writes_a_profile_the_command_uses(tmp_path) -> None:
    profile = tmp_path / "up-profile.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "up", "--profile", str(profile), "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # the profile is announced once it is written
            if line.startswith("operator profile:"):
                break
        else:
            pytest.fail("lab up never announced its profile")
        document = json.loads(profile.read_text())
        assert set(document["endpoints"]["s3"]) == {"us-east-1", "eu-west-1"}
        assert document["outputs"]["url"] == document["edge_url"]
        assert oct(profile.stat().st_mode & 0o777) == "0o600"
        code, result, _err = cli(profile, "status")
        assert code == 0 and result["verdict"] == "healthy"
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert not profile.exists()  # its endpoints died with the lab
