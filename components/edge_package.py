"""Assemble the edge function's code archive from files on this machine.

The archive holds ``edge_handler/`` (this repository's function, standard library
only) and the rendered ``edge_config.json`` at the root, so building it needs no
network and the function imports nothing it has to compile from a third party. The
file map is pure data: the component turns it into a ``pulumi.AssetArchive``; the lab
and the benchmark turn it into zip bytes with :func:`zip_archive`.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from . import edge_handler

EDGE_CONFIG_NAME = "edge_config.json"
HANDLER = "edge_handler.handler.handler"

# Zip entries get a fixed timestamp so the same inputs give the same bytes.
_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)


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


def edge_archive_contents(config_json: str) -> dict[str, bytes]:
    """The complete archive content: every file's bytes by archive name."""
    contents = {name: path.read_bytes() for name, path in edge_source_files().items()}
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
