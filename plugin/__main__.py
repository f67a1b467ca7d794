"""Entry point of the Pulumi plugin (``main`` in PulumiPlugin.yaml).

The repository root holds the stack program's own ``__main__.py``, so the plugin's
entry point lives here; it only starts the provider from the installed package.
"""

from asset_delivery.provider import serve

serve()
