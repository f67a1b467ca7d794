"""Names AWS requires to be unique per account (and region), derived from the stack."""

from __future__ import annotations

import hashlib
import re

import pulumi


def account_unique_name(name: str, purpose: str, limit: int = 128) -> str:
    """``<project>-<stack>-<component>-<purpose>``, at most ``limit`` characters.

    Cache policies, response headers policies and log delivery sources and
    destinations need a name no other stack in the account uses; a name that would be
    too long keeps its start and ends with a short hash of the whole, so it stays unique.
    """
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")
    full = f"{text}-{purpose}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{text[: limit - len(purpose) - 10]}-{digest}-{purpose}"
