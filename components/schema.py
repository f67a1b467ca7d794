"""The component package's Pulumi schema, generated from the Python types (no CLI).

The schema is what ``pulumi package add`` turns into TypeScript, Go, C#, Java and YAML
SDKs. It is inferred by the Pulumi SDK's analyzer from ``MultiRegionAssetDeliveryArgs``
(inputs) and the class-level annotations of ``MultiRegionAssetDelivery`` (outputs), with
their docstrings as descriptions. ``schema.json`` at the repository root is a committed
copy; after changing an argument or an output, regenerate it::

    python -m asset_delivery.schema --write

``--check`` exits 1 when the committed copy is stale; without options the schema is
printed.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from . import __version__
from .delivery import MultiRegionAssetDelivery

PACKAGE_NAME = "asset-delivery"
"""The Pulumi package name: the first part of every type token."""
COMPONENTS = [MultiRegionAssetDelivery]
"""The components the plugin hosts."""
REPOSITORY = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPOSITORY / "schema.json"
REGENERATE = "python -m asset_delivery.schema --write"


def package_schema() -> dict[str, Any]:
    """The schema the plugin serves, built the way ``component_provider_host`` builds it."""
    result = Analyzer(PACKAGE_NAME).analyze(COMPONENTS)
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(
        PACKAGE_NAME,
        __version__,
        None,
        result["component_definitions"],
        result["type_definitions"],
        dependencies,
    )
    return spec.to_json()


def render(schema: dict[str, Any]) -> str:
    """Stable text for the committed copy (two-space indent, trailing newline)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _in_repository() -> bool:
    return (REPOSITORY / "pyproject.toml").is_file() and (REPOSITORY / "components").is_dir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m asset_delivery.schema", description=__doc__.splitlines()[0]
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"rewrite {SCHEMA_FILE.name}")
    mode.add_argument(
        "--check", action="store_true", help=f"exit 1 when {SCHEMA_FILE.name} is stale"
    )
    options = parser.parse_args(argv)
    text = render(package_schema())
    if not (options.write or options.check):
        sys.stdout.write(text)
        return 0
    if not _in_repository():
        print(
            f"schema: {REPOSITORY} is not the asset-delivery repository "
            "(--write and --check need an editable install: pip install -e .)",
            file=sys.stderr,
        )
        return 2
    current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else None
    if options.check:
        if current != text:
            print(f"schema: {SCHEMA_FILE.name} is stale; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_FILE.write_text(text)
        print(f"schema: wrote {SCHEMA_FILE}", file=sys.stderr)
    else:
        print(f"schema: {SCHEMA_FILE.name} is up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
