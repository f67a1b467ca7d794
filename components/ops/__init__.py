"""The operator's command line (``asset-delivery``): publish, status, verify, backfill.

Built on boto3 (imported only when a command runs) and on the edge function's own
routing-table lookup; it never imports Pulumi. See ``asset_delivery.ops.cli``.
"""
