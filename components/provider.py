"""The Pulumi plugin: hosts ``MultiRegionAssetDelivery`` for every Pulumi language.

``pulumi package add <this repository>`` reads ``PulumiPlugin.yaml``, installs the
repository into the plugin's virtualenv and runs ``plugin/__main__.py``, which calls
:func:`serve`. The SDK infers the schema from the component's types (the same schema
:mod:`asset_delivery.schema` writes to ``schema.json``) and constructs the component
for TypeScript, Go, C#, Java and YAML programs.
"""

from pulumi.provider.experimental import component_provider_host

from . import __version__
from .schema import COMPONENTS, PACKAGE_NAME


def serve() -> None:
    """Run the provider until the Pulumi engine stops it (arguments come from sys.argv)."""
    component_provider_host(COMPONENTS, name=PACKAGE_NAME, version=__version__)


if __name__ == "__main__":
    serve()
