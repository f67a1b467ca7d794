"""The declared bucket policy, decided as S3 decides it (pure functions).

``lab/s3_access.py`` verifies who signed a request; this module decides what the
bucket policy the program declared lets that principal do:

- the bucket owner (the lab's admin key): allowed unless a statement denies it
  explicitly, as for the owning account;
- a principal ARN from the declared stack (the origin access identity, the edge
  function's role): allowed only by a statement naming its ARN or ``*``;
- an anonymous reader: allowed only by ``*`` statements.

Conditions are evaluated on a context: ``aws:SourceIp`` (the lab's health checkers
stand for an address in Route 53's checker ranges, sent as ``x-lab-source-ip``) and
``aws:SecureTransport`` (true: CloudFront and Route 53 reach S3 over HTTPS). Only the
policy language the component uses is understood; :func:`unsupported` names anything
else, so nothing is silently ignored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

OWNER = "owner"
ANONYMOUS = "anonymous"
SOURCE_IP_HEADER = "x-lab-source-ip"  # the address a lab health checker stands for
STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
CONDITION_OPERATORS = {"IpAddress", "NotIpAddress", "Bool", "StringEquals", "StringLike"}
# Query parameters a plain GetObject may carry; any other names another action.
PLAIN_GET_PARAMS = frozenset(
    {
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "partNumber",
        "x-id",
    }
)


@dataclass(frozen=True)
class S3Request:
    """What a policy decides on: who, which action, on which resource, in what context."""

    principal: str  # OWNER, ANONYMOUS or a principal ARN
    action: str  # "s3:GetObject", "s3:ListBucket", ...
    bucket: str
    key: str  # "" for a bucket-level request
    context: dict[str, str] = field(default_factory=dict)

    @property
    def resource(self) -> str:
        return f"arn:aws:s3:::{self.bucket}" + (f"/{self.key}" if self.key else "")


def unsupported(policy: Mapping[str, Any]) -> list[str]:
    """Elements of a policy this evaluator does not understand (empty: fully supported)."""
    problems = []
    for index, statement in enumerate(_statements(policy)):
        extra = set(statement) - STATEMENT_KEYS
        if extra:
            problems.append(f"Statement[{index}] has {', '.join(sorted(extra))}")
        for operator in statement.get("Condition") or {}:
            if operator not in CONDITION_OPERATORS:
                problems.append(f"Statement[{index}] uses condition operator {operator}")
        principal = statement.get("Principal")
        if isinstance(principal, dict) and set(principal) - {"AWS"}:
            problems.append(f"Statement[{index}] names a {', '.join(sorted(principal))} principal")
    return problems


def decide(policy: Mapping[str, Any] | None, request: S3Request) -> bool:
    """True when the request is allowed: no explicit deny, and the owner or an allow."""
    allowed = request.principal == OWNER
    for statement in _statements(policy or {}):
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement") or []
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _glob(pattern: str, value: str, *, case: bool = True) -> bool:
    pieces = pattern.split("*")
    regex = ".*".join(".".join(re.escape(p) for p in piece.split("?")) for piece in pieces)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _applies(statement: Mapping[str, Any], request: S3Request) -> bool:
    return (
        _principal_matches(statement.get("Principal"), request.principal)
        and any(_glob(a, request.action, case=False) for a in _as_list(statement.get("Action")))
        and any(_glob(r, request.resource) for r in _as_list(statement.get("Resource")))
        and _conditions_hold(statement.get("Condition") or {}, request.context)
    )


def _principal_matches(principal: Any, who: str) -> bool:
    if principal == "*":
        return True
    names = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    return "*" in names or (who not in (OWNER, ANONYMOUS) and who in names)


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]
) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            if not _condition(operator, context.get(key), _as_list(wanted)):
                return False
    return True


def _condition(operator: str, actual: str | None, wanted: list[str]) -> bool:
    if operator in ("IpAddress", "NotIpAddress"):
        if actual is None:
            return False
        address = ipaddress.ip_address(actual)
        inside = any(
            address.version == net.version and address in net
            for net in (ipaddress.ip_network(w, strict=False) for w in wanted)
        )
        return inside if operator == "IpAddress" else not inside
    if actual is None:
        return False
    if operator == "Bool":
        return actual.lower() in (w.lower() for w in wanted)
    if operator == "StringEquals":
        return actual in wanted
    if operator == "StringLike":
        return any(_glob(w, actual) for w in wanted)
    return False  # unknown operators are refused by ``unsupported`` at load time


def s3_action(method: str, key: str, query: str) -> str:
    """The S3 action a REST request performs (the ones the lab's readers can make)."""
    params = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    if key:
        if method in ("GET", "HEAD"):
            if "versionId" in params:
                return "s3:GetObjectVersion"
            sub = sorted(params - PLAIN_GET_PARAMS)  # ?acl, ?tagging, ?attributes, ...
            return "s3:GetObject" + (sub[0][:1].upper() + sub[0][1:] if sub else "")
        if method == "PUT":
            return "s3:PutObjectTagging" if "tagging" in params else "s3:PutObject"
        if method == "DELETE":
            return "s3:DeleteObjectVersion" if "versionId" in params else "s3:DeleteObject"
        return f"s3:{method.title()}Object"
    if method in ("GET", "HEAD"):
        if "versions" in params:
            return "s3:ListBucketVersions"
        sub = sorted(params - {"list-type", "prefix", "delimiter", "max-keys", "marker"})
        if not sub or method == "HEAD":
            return "s3:ListBucket"
        return "s3:GetBucket" + sub[0][:1].upper() + sub[0][1:]
    return f"s3:{method.title()}Bucket"
