"""``python -m asset_delivery``: the operator's command line (same as ``asset-delivery``)."""

import sys

from .ops.cli import main

sys.exit(main())
