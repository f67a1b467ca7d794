"""Bytecode in the edge archive: shipped only for the runtime's Python, unchecked-hash
``.pyc`` with fixed names, the same bytes from any process, really loaded by a matching
interpreter, and ignored safely by another one."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import marshal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from asset_delivery import edge_package
from asset_delivery.edge_config import render_edge_config
from asset_delivery.edge_package import (
    edge_archive_contents,
    edge_bytecode,
    edge_source_files,
    runtime_version,
    zip_archive,
)
from dnslib import QTYPE, RR, TXT
from dnslib.server import DNSServer

HERE = sys.version_info[:2]
TAG = f"cpython-{HERE[0]}{HERE[1]}"
EVENT = Path(__file__).resolve().parent / "edge_fixtures" / "origin_request_s3_oai.json"
RECORD = "_routes.assets.example.com"
REGIONS = {
    "us-east-1": "assets-use1-abc.s3.us-east-1.amazonaws.com",
    "eu-west-1": "assets-euw1-def.s3.eu-west-1.amazonaws.com",
}
PY313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"  # CPython 3.13's .pyc magic number

# Imports the function from the extracted archive (argv[1]) the way Lambda does, serves
# one request, and says which of the archive's modules were compiled from source.
CHILD = """
import importlib.machinery as machinery, json, sys
root = sys.argv[1]
sys.path.insert(0, root)
compiled = []
source_to_code = machinery.SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
machinery.SourceFileLoader.source_to_code = counting
import edge_handler.handler as edge
result = edge.handler(json.load(open(sys.argv[2])), None)
modules = sorted(
    name for name, module in sys.modules.items()
    if (getattr(module, "__file__", None) or "").startswith(root)
)
print(json.dumps({
    "modules": modules,
    "compiled": sorted(path[len(root):] for path in compiled if path.startswith(root)),
    "region": result["origin"]["s3"]["region"],
}))
"""


class Zone:
    def resolve(self, request, handler):
        reply = request.reply()
        if str(request.q.qname).rstrip(".") == RECORD:
            for region in REGIONS:
                value = f"v=1 region={region} weight=50"
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, ttl=60, rdata=TXT(value)))
        return reply


class _Quiet:
    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


@pytest.fixture(scope="module")
def config_json() -> Iterator[str]:
    server = DNSServer(Zone(), address="127.0.0.1", port=0, logger=_Quiet())
    server.start_thread()
    try:
        yield render_edge_config(
            primary_region="us-east-1",
            region_domains=REGIONS,
            routing_record=RECORD,
            nameservers=[f"127.0.0.1:{server.server.server_address[1]}"],
            replication="from-primary",
        )
    finally:
        server.stop()
        server.server.server_close()


def run_archive(contents: dict[str, bytes], root: Path) -> dict:
    """Extract the archive and run the function in a fresh ``python -I -S -B``."""
    zipfile.ZipFile(io.BytesIO(zip_archive(contents))).extractall(root)
    child = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CHILD, str(root), str(EVENT)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_source_only_archive_has_no_bytecode() -> None:
    names = set(edge_archive_contents("{}", bytecode_for=None))
    assert "edge_handler/handler.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_bytecode_ships_by_default_only_from_the_runtimes_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert edge_package.RUNTIME == "python3.13" and runtime_version() == (3, 13)
    default = set(edge_archive_contents("{}"))
    assert any(name.endswith(".pyc") for name in default) == (HERE == (3, 13))
    monkeypatch.setattr(edge_package, "RUNTIME", f"python{HERE[0]}.{HERE[1]}")
    assert any(name.endswith(".pyc") for name in edge_archive_contents("{}"))


def test_every_module_gets_an_unchecked_hash_pyc_named_for_lambda() -> None:
    sources = {name: path.read_bytes() for name, path in edge_source_files().items()}
    bytecode = edge_bytecode(HERE)
    expected = {
        f"edge_handler/__pycache__/{name.removeprefix('edge_handler/')[:-3]}.{TAG}.pyc": name
        for name in sources
    }
    assert set(bytecode) == set(expected)
    for pyc_name, source_name in expected.items():
        data = bytecode[pyc_name]
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, not checked
        assert data[8:16] == importlib.util.source_hash(sources[source_name])
        code = marshal.loads(data[16:])
        assert code.co_filename == f"/var/task/{source_name}"


def test_a_version_this_interpreter_cannot_compile_is_refused() -> None:
    other = (3, 13) if HERE != (3, 13) else (3, 12)
    with pytest.raises(ValueError, match=rf"bytecode_for \({other[0]}, {other[1]}\)"):
        edge_bytecode(other)


def test_bytecode_is_the_same_bytes_from_separate_processes() -> None:
    """marshal's reference flags follow reference counts and set constants follow the
    hash seed: two differently prepared processes must still build the same archive."""
    program = (
        "import hashlib, sys\n"
        "{prelude}\n"
        "from asset_delivery.edge_package import edge_archive_contents, zip_archive\n"
        "data = zip_archive(edge_archive_contents('{{}}', sys.version_info[:2]))\n"
        "print(hashlib.sha256(data).hexdigest())\n"
    )
    digests = set()
    for seed, prelude in (("1", ""), ("2", "import asyncio, email, http.client, pulumi")):
        child = subprocess.run(
            [sys.executable, "-c", program.format(prelude=prelude)],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert child.returncode == 0, child.stderr
        digests.add(child.stdout.strip())
    here = hashlib.sha256(zip_archive(edge_archive_contents("{}", HERE))).hexdigest()
    assert digests == {here}


def test_the_function_runs_from_its_bytecode(config_json: str, tmp_path: Path) -> None:
    report = run_archive(edge_archive_contents(config_json, HERE), tmp_path)
    assert "edge_handler.handler" in report["modules"]
    assert report["compiled"] == []  # every module of the archive came from its .pyc
    assert report["region"] in REGIONS


@pytest.mark.parametrize("tag", ["cpython-313", TAG], ids=["other-cache-tag", "same-tag"])
def test_bytecode_of_another_version_falls_back_to_the_sources(
    config_json: str, tmp_path: Path, tag: str
) -> None:
    """An archive with Python 3.13 bytecode (3.13's magic number) on this interpreter:
    ignored by its cache tag, or refused by its magic number, and the sources run."""
    if HERE == (3, 13):
        pytest.skip("this interpreter is 3.13")
    contents = edge_archive_contents(config_json, bytecode_for=None)
    for name, data in edge_bytecode(HERE).items():
        contents[name.replace(TAG, tag)] = PY313_MAGIC + data[4:]
    report = run_archive(contents, tmp_path)
    assert len(report["compiled"]) == len(report["modules"]) > 0
    assert report["region"] in REGIONS


def test_the_component_hands_pulumi_the_same_bytecode_files() -> None:
    """A StringAsset carries text only: the .pyc files reach Pulumi as files on disk."""
    import pulumi
    from asset_delivery.edge_function import edge_asset_archive

    assets = edge_asset_archive("{}", HERE).assets
    pycs = {name: asset for name, asset in assets.items() if name.endswith(".pyc")}
    assert all(isinstance(asset, pulumi.FileAsset) for asset in pycs.values())
    assert {name: Path(asset.path).read_bytes() for name, asset in pycs.items()} == (
        edge_bytecode(HERE)
    )
    assert not any(name.endswith(".pyc") for name in edge_asset_archive("{}", None).assets)
