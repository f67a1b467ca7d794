"""IAM policy documents shared by the component's roles."""

from __future__ import annotations

import json


def service_trust_policy(*services: str, source_account: str | None = None) -> str:
    """A trust policy that lets exactly these AWS services assume the role.

    With ``source_account``, only on behalf of resources in that account
    (``aws:SourceAccount``), so no other account's bucket can make the service act
    with this role (the confused-deputy problem).
    """
    principal: str | list[str] = services[0] if len(services) == 1 else list(services)
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": principal},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
