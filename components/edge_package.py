"""Assemble the edge function's code archive from files on this machine.

The archive holds ``edge_handler/`` (this repository's function, standard library
only) and the rendered ``edge_config.json`` at the root, so building it needs no
network and the function imports nothing it has to compile from a third party. The
file map is pure data: the component turns it into a ``pulumi.AssetArchive``; the lab
and the benchmark turn it into zip bytes with :func:`zip_archive`.

When the deploying interpreter is the runtime's version (``RUNTIME``), the archive also
ships ``edge_handler/__pycache__/<module>.cpython-3XY.pyc``: Lambda's code directory is
read-only, so without them every cold start compiles the function's sources again
(docs/ARCHITECTURE.md §7.3). They use PEP 552's unchecked-hash mode (never compared
with the source, whose timestamps a zip does not keep) and a fixed file name under
Lambda's code directory, and are compiled in a fresh interpreter with a fixed hash
seed, so the bytes depend only on the sources and the interpreter version. An
interpreter of another version ignores them (other cache tag, other magic number) and
compiles the sources, which always ship.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

from . import edge_handler

EDGE_CONFIG_NAME = "edge_config.json"
HANDLER = "edge_handler.handler.handler"
RUNTIME = "python3.13"
# Lambda extracts the archive here; the compiled code names its sources under it.
LAMBDA_TASK_ROOT = "/var/task"

# Zip entries get a fixed timestamp so the same inputs give the same bytes.
_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)

# Compiles {archive name: source} from stdin into {archive name: base64 .pyc}. It runs
# in a fresh interpreter so that marshal's reference flags (which follow reference
# counts) and the order of frozenset constants (which follows the hash seed) are the
# same whichever program builds the archive.
_COMPILE_CHILD = """
import base64, importlib._bootstrap_external as bootstrap, importlib.util, json, sys
sources = json.load(sys.stdin)
out = {}
for name, text in sorted(sources.items()):
    source = text.encode("utf-8")
    code = compile(source, sys.argv[1] + "/" + name, "exec", dont_inherit=True, optimize=0)
    data = bootstrap._code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
    out[name] = base64.b64encode(bytes(data)).decode("ascii")
json.dump(out, sys.stdout)
"""

BytecodeFor = tuple[int, int] | None | Literal["runtime"]


def runtime_version() -> tuple[int, int]:
    """The Lambda runtime's Python version, from ``RUNTIME`` (``python3.13`` -> (3, 13))."""
    major, minor = RUNTIME.removeprefix("python").split(".")
    return int(major), int(minor)


def bytecode_target(bytecode_for: BytecodeFor = "runtime") -> tuple[int, int] | None:
    """The version to ship bytecode for: ``"runtime"`` means this interpreter's version
    when it is the runtime's, else none. An explicit version must be this interpreter's:
    CPython compiles only its own bytecode."""
    here = sys.version_info[:2]
    if bytecode_for == "runtime":
        return here if here == runtime_version() else None
    if bytecode_for is None:
        return None
    if tuple(bytecode_for) != here:
        raise ValueError(
            f"bytecode_for {tuple(bytecode_for)} is not allowed: this interpreter compiles "
            f"only Python {here[0]}.{here[1]} bytecode (give {here}, None or 'runtime')"
        )
    return here


def _package_sources(package_dir: Path, arc_prefix: str) -> dict[str, Path]:
    """Every ``.py`` file of a package (tests and caches left out), by archive name."""
    files: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir)
        if "__pycache__" in relative.parts or relative.name.startswith("test"):
            continue
        files[f"{arc_prefix}/{relative.as_posix()}"] = path
    return files


def edge_source_files() -> dict[str, Path]:
    """The function's code by archive name (config not included)."""
    return _package_sources(Path(edge_handler.__file__).parent, "edge_handler")


def _pyc_name(source_name: str, version: tuple[int, int]) -> str:
    folder, _, module = source_name.rpartition("/")
    return f"{folder}/__pycache__/{module[:-3]}.cpython-{version[0]}{version[1]}.pyc"


def edge_bytecode(bytecode_for: BytecodeFor = "runtime") -> dict[str, bytes]:
    """The ``.pyc`` files to ship by archive name (empty when no bytecode ships)."""
    version = bytecode_target(bytecode_for)
    if version is None:
        return {}
    sources = {name: path.read_text("utf-8") for name, path in edge_source_files().items()}
    child = subprocess.run(
        [sys.executable, "-S", "-B", "-c", _COMPILE_CHILD, LAMBDA_TASK_ROOT],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "0"},
        cwd=tempfile.gettempdir(),
        timeout=120,
        check=True,
    )
    compiled = json.loads(child.stdout)
    return {_pyc_name(name, version): base64.b64decode(data) for name, data in compiled.items()}


def edge_bytecode_files(bytecode_for: BytecodeFor = "runtime") -> dict[str, Path]:
    """The ``.pyc`` files as files on disk, for ``pulumi.FileAsset`` (a StringAsset
    carries text only). They are written once under the temporary directory, named by
    their content's hash, so the path changes only when the bytes do."""
    files: dict[str, Path] = {}
    for name, data in edge_bytecode(bytecode_for).items():
        digest = hashlib.sha256(data).hexdigest()
        path = Path(tempfile.gettempdir()) / "asset-delivery-bytecode" / digest / Path(name).name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, path)
        files[name] = path
    return files


def edge_archive_contents(
    config_json: str, bytecode_for: BytecodeFor = "runtime"
) -> dict[str, bytes]:
    """The complete archive content: every file's bytes by archive name."""
    contents = {name: path.read_bytes() for name, path in edge_source_files().items()}
    contents.update(edge_bytecode(bytecode_for))
    contents[EDGE_CONFIG_NAME] = config_json.encode("utf-8")
    return contents


def zip_archive(contents: dict[str, bytes]) -> bytes:
    """Deterministic zip bytes (sorted names, fixed timestamps, deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[name])
    return buffer.getvalue()
