"""The package as a consumer installs it: the wheel, offline, in a fresh virtualenv,
beside a Pulumi project with its own ``components/`` and ``edge_handler/`` packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from (a copy, so the build never writes into the checkout).
SOURCES = ("pyproject.toml", "README.md", "components", "edge_handler", "lab")

CONSUMER_PROGRAM = '''
"""A consumer's Pulumi program, run under the package's recording mocks."""
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import components  # this project's own packages, which the wheel must not shadow
import edge_handler
import pulumi
from asset_delivery import MultiRegionAssetDelivery, __version__
from asset_delivery.edge_package import edge_archive_contents, zip_archive
from asset_delivery.testing import run_with_mocks


def declare():
    MultiRegionAssetDelivery(
        "media",
        {"regions": [{"region": "us-east-1", "weight": 70}, {"region": "eu-west-1", "weight": 30}]},
    )


mocks = run_with_mocks(declare, {}, project="consumer", stack="dev")
(function,) = mocks.of_type("aws:lambda/function:Function")
archive = {}
for name, asset in function.inputs["code"].assets.items():
    if isinstance(asset, pulumi.StringAsset):
        archive[name] = asset.text.encode()
    else:
        archive[name] = Path(asset.path).read_bytes()
import asset_delivery

print(json.dumps({
    "asset_delivery": asset_delivery.__file__,
    "version": __version__,
    "components": components.WHO,
    "edge_handler": edge_handler.WHO,
    "resources": len(mocks.registrations),
    "archive_names": sorted(archive),
    "edge_config": json.loads(archive["edge_config.json"]),
    "archive_sha256": hashlib.sha256(zip_archive(archive)).hexdigest(),
    # As a deploy from the runtime's Python would ship it, built for this interpreter.
    "bytecode_archive_sha256": hashlib.sha256(
        zip_archive(edge_archive_contents("{}", sys.version_info[:2]))
    ).hexdigest(),
}))
'''


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a step of the scenario; on failure show its output, not just its exit code."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel --no-deps --no-build-isolation``: no network, no index."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(out), str(source)]
    )  # fmt: skip
    (built,) = out.glob("asset_delivery-*.whl")
    return built


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> dict[str, Any]:
    """A fresh virtualenv with only the wheel installed; the dependencies (pulumi,
    pulumi-aws) are borrowed from this environment through a ``.pth`` line, so
    nothing is downloaded and nothing of the checkout is importable."""
    base = tmp_path_factory.mktemp("consumer")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # A plain path line: the directory joins sys.path after the venv's own site-packages,
    # and its .pth files (the checkout's editable install among them) are not run.
    (purelib / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)]
    )  # fmt: skip

    project = base / "project"
    for package in ("components", "edge_handler"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text(f'WHO = "the consumer\'s {package}"\n')
    (project / "__main__.py").write_text(textwrap.dedent(CONSUMER_PROGRAM))
    (project / "Pulumi.yaml").write_text("name: consumer\nruntime: python\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = run([str(python), str(project / "__main__.py")], cwd=project, env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print("consumer program (wheel in a fresh virtualenv):", json.dumps(report, indent=2))
    report["venv"] = str(venv)
    report["project"] = str(project)
    report["python"] = str(python)
    report["env"] = env
    return report


@pytest.mark.slow
def test_wheel_holds_exactly_one_import_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"asset_delivery"}
    listed = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    if listed:  # setuptools writes it; it must agree
        with zipfile.ZipFile(wheel) as archive:
            assert archive.read(listed[0]).decode().split() == ["asset_delivery"]
    for required in (
        "asset_delivery/__init__.py",
        "asset_delivery/testing.py",
        "asset_delivery/edge_handler/handler.py",
        "asset_delivery/lab/__init__.py",
        "asset_delivery/data/aws-inter-region-rtt-p50-ms.json",
        "asset_delivery/data/README.md",
    ):
        assert required in names


@pytest.mark.slow
def test_consumer_with_its_own_components_declares_the_component(
    consumer: dict[str, Any],
) -> None:
    # The package comes from the fresh virtualenv, not from this checkout ...
    assert Path(consumer["asset_delivery"]).is_relative_to(consumer["venv"])
    # ... and the consumer's own packages are still its own.
    assert consumer["components"] == "the consumer's components"
    assert consumer["edge_handler"] == "the consumer's edge_handler"
    assert consumer["resources"] > 20
    names = consumer["archive_names"]
    assert "edge_handler/handler.py" in names and "edge_config.json" in names
    assert not any(name.startswith("dnslib/") for name in names)  # standard library only
    # The latency rows come from the round-trip table shipped as package data.
    assert len(consumer["edge_config"]["locality"]["rtt_ms"]) == 13
    assert not any(name.startswith(("asset_delivery/", "components/")) for name in names)
    assert sorted(consumer["edge_config"]["regions"]) == ["eu-west-1", "us-east-1"]


@pytest.mark.slow
def test_archive_is_byte_identical_from_the_wheel_and_from_the_repository(
    consumer: dict[str, Any],
) -> None:
    """The same program and inputs, once with the installed wheel and once with this
    checkout's package: the function's zip is the same bytes, with and without the
    ``.pyc`` files (compiled with fixed names, so not tied to where the package is)."""
    from_repository = run(
        [sys.executable, str(Path(consumer["project"]) / "__main__.py")],
        cwd=consumer["project"],
        env=consumer["env"],
    )
    report = json.loads(from_repository.stdout.strip().splitlines()[-1])
    assert Path(report["asset_delivery"]).is_relative_to(ROOT)
    assert report["archive_names"] == consumer["archive_names"]
    assert report["archive_sha256"] == consumer["archive_sha256"]
    assert report["bytecode_archive_sha256"] == consumer["bytecode_archive_sha256"]
