"""A consumer's Pulumi project, as a team that imports the component would write it:
its own program, project name and stack file, two components in other regions."""

from __future__ import annotations

import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import pulumi
    from asset_delivery import MultiRegionAssetDelivery

    config = pulumi.Config()
    for name in ("media", "docs"):
        site = MultiRegionAssetDelivery(name, {"regions": config.require_object(name)})
        pulumi.export(f"{name}_url", site.url)
    """
)

STACK_FILE = textwrap.dedent(
    """
    config:
      shop:media:
        - {region: us-west-2, weight: 40}
        - {region: eu-central-1, weight: 30}
        - {region: ap-northeast-1, weight: 30}
      shop:docs:
        - {region: eu-west-1, weight: 50}
        - {region: us-east-1, weight: 50}
    """
)


def write_consumer_project(directory: Path) -> Path:
    """Write the project (stack ``staging``) into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (directory / "__main__.py").write_text(PROGRAM)
    (directory / "Pulumi.staging.yaml").write_text(STACK_FILE)
    return directory
