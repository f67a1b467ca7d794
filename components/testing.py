"""A recording Pulumi mock for testing stacks that use the component (and for the lab).

``RecordingMocks`` answers every resource with realistic computed outputs (bucket
regional domains, qualified ARNs, zone name servers, ...) and every data source the
component uses, and records each registration (type, name, inputs, parent,
dependencies, returned state) so tests assert in plain Python afterwards.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

ACCOUNT_ID = "123456789012"
ZONE_NAME_SERVERS = [
    "ns-1536.awsdns-00.co.uk",
    "ns-0.awsdns-00.com",
    "ns-1024.awsdns-00.org",
    "ns-512.awsdns-00.net",
]
# Ids of the AWS managed policies the component looks up by name.
MANAGED_CACHE_POLICIES = {"Managed-CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6"}
MANAGED_RESPONSE_HEADERS_POLICIES = {
    "Managed-SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03"
}
HEALTH_CHECKER_CIDRS = ["15.177.0.0/18", "54.243.31.192/26", "176.34.159.192/26"]
HEALTH_CHECKER_IPV6_CIDRS = ["2600:1f14:7ff:f800::/56"]


@dataclass
class Registration:
    """One resource as the program declared it."""

    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    id: str
    urn: str
    parent: str
    dependencies: list[str] = field(default_factory=list)


def _whole_numbers(value: Any) -> Any:
    """Protobuf carries every number as a double: give whole ones back as ints."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(*parts: str) -> str:
    """A stable UUID-shaped id (CloudFront policies, WAF web ACLs, ACM certificates)."""
    h = _digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


class RecordingMocks(pulumi.runtime.Mocks):
    """Realistic outputs, recorded registrations, and a ``call`` for each data source."""

    def __init__(self, existing_zone_name: str = "example.com") -> None:
        self.registrations: list[Registration] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.existing_zone_name = existing_zone_name
        # Component URN -> the outputs it registered (register_outputs), resolved.
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self._requests: dict[tuple[str, str], tuple[str, str, list[str]]] = {}
        self._lock = threading.Lock()

    # -- installing ---------------------------------------------------------------
    def install(self, project: str = "asset-delivery", stack: str = "test") -> None:
        """``set_mocks`` with a monitor that lets this object see dependencies."""
        monitor = MockMonitor(self)
        register = monitor.RegisterResource

        def register_with_request(request: Any) -> Any:
            # Registrations arrive on several threads: key what we learn by type and name.
            dependencies = set(request.dependencies)
            for deps in request.propertyDependencies.values():
                dependencies.update(deps.urns)
            with self._lock:
                self._requests[(request.type, request.name)] = (
                    monitor.make_urn(request.parent, request.type, request.name),
                    request.parent,
                    sorted(dependencies),
                )
            return register(request)

        monitor.RegisterResource = register_with_request  # type: ignore[method-assign]
        register_outputs = monitor.RegisterResourceOutputs

        def register_outputs_recorded(request: Any) -> Any:
            outputs = _whole_numbers(json_format.MessageToDict(request.outputs))
            with self._lock:
                self.component_outputs[request.urn] = outputs
            return register_outputs(request)

        monitor.RegisterResourceOutputs = register_outputs_recorded  # type: ignore[method-assign]
        pulumi.runtime.set_mocks(self, project=project, stack=stack, preview=False, monitor=monitor)

    # -- queries --------------------------------------------------------------------
    def of_type(self, type_token: str) -> list[Registration]:
        """Every registration of one type token (registration order; threads interleave)."""
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str) -> Registration:
        """The single registration of this type and name; KeyError otherwise."""
        matches = [r for r in self.of_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of type {type_token} named {name!r}")
        return matches[0]

    # -- pulumi.runtime.Mocks -------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        resource_id, state = self._outputs(args.typ, args.name, inputs)
        with self._lock:
            urn, parent, dependencies = self._requests.get((args.typ, args.name), ("", "", []))
        self.registrations.append(
            Registration(
                type=args.typ,
                name=args.name,
                inputs=inputs,
                state=state,
                id=resource_id,
                urn=urn,
                parent=parent,
                dependencies=dependencies,
            )
        )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict | tuple[dict, list]:
        token, call_args = args.token, dict(args.args)
        self.calls.append((token, call_args))
        if token == "aws:index/getIpRanges:getIpRanges":
            return {
                "id": "route53_healthchecks",
                "cidrBlocks": HEALTH_CHECKER_CIDRS,
                "ipv6CidrBlocks": HEALTH_CHECKER_IPV6_CIDRS,
                "createDate": "2026-11-01-00-00-00",
                "syncToken": 1,
                "services": call_args.get("services", []),
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/deployer",
                "id": ACCOUNT_ID,
                "userId": "AIDAEXAMPLE",
            }
        if token == "aws:cloudfront/getCachePolicy:getCachePolicy":
            return {"id": MANAGED_CACHE_POLICIES[call_args["name"]], "name": call_args["name"]}
        if token == "aws:cloudfront/getResponseHeadersPolicy:getResponseHeadersPolicy":
            name = call_args["name"]
            return {"id": MANAGED_RESPONSE_HEADERS_POLICIES[name], "name": name}
        if token == "aws:route53/getZone:getZone":
            return {
                "id": call_args.get("zoneId"),
                "zoneId": call_args.get("zoneId"),
                "name": self.existing_zone_name,
                "nameServers": ZONE_NAME_SERVERS,
                "privateZone": False,
            }
        raise NotImplementedError(f"RecordingMocks has no answer for data source {token}")

    def _outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict]:
        """A plausible id and state for each type the component declares."""
        state = dict(inputs)
        suffix = _digest(typ, name)
        region = inputs.get("region") or "us-east-1"
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{suffix}"[:63]
            state.update(
                bucket=bucket,
                arn=f"arn:aws:s3:::{bucket}",
                bucketDomainName=f"{bucket}.s3.amazonaws.com",
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
                region=region,
            )
            return bucket, state
        if typ == "aws:cloudfront/originAccessIdentity:OriginAccessIdentity":
            oai_id = "E" + _digest(name, length=13).upper()
            state.update(
                iamArn=f"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {oai_id}",
                cloudfrontAccessIdentityPath=f"origin-access-identity/cloudfront/{oai_id}",
                s3CanonicalUserId=_digest(name, length=64),
            )
            return oai_id, state
        if typ == "aws:route53/zone:Zone":
            zone_id = "Z" + _digest(name, length=20).upper()
            state.update(
                zoneId=zone_id,
                nameServers=ZONE_NAME_SERVERS,
                arn=f"arn:aws:route53:::hostedzone/{zone_id}",
            )
            return zone_id, state
        if typ == "aws:lambda/function:Function":
            function_name = inputs.get("name") or f"{name}-{suffix}"
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
            state.update(
                name=function_name, arn=arn, qualifiedArn=f"{arn}:1", version="1", invokeArn=arn
            )
            return function_name, state
        if typ == "aws:cloudfront/distribution:Distribution":
            dist_id = "E" + _digest(name, length=13).upper()
            state.update(
                arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{dist_id}",
                domainName=f"d{_digest(name, length=13)}.cloudfront.net",
                hostedZoneId="Z2FDTNDATAQYW2",
                status="Deployed",
            )
            return dist_id, state
        if typ == "aws:iam/role:Role":
            role_name = inputs.get("name") or f"{name}-{suffix}"
            state.update(name=role_name, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}")
            return role_name, state
        if typ == "aws:kms/key:Key":
            key_id = f"{_digest(name, length=8)}-1111-4000-8000-{_digest(name, 'k', length=12)}"
            state.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}")
            return key_id, state
        if typ == "aws:route53/healthCheck:HealthCheck":
            check_id = f"{_digest(name, length=8)}-0000-4000-8000-{_digest(name, 'h', length=12)}"
            state.update(arn=f"arn:aws:route53:::healthcheck/{check_id}")
            return check_id, state
        if typ == "aws:acm/certificate:Certificate":
            cert_id = _uuid(typ, name)
            names = [inputs["domainName"], *(inputs.get("subjectAlternativeNames") or [])]
            state.update(
                arn=f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{cert_id}",
                status="ISSUED",
                domainValidationOptions=[
                    {
                        "domainName": domain,
                        "resourceRecordName": f"_{_digest(domain, length=32)}."
                        f"{domain.removeprefix('*.')}.",
                        "resourceRecordType": "CNAME",
                        "resourceRecordValue": f"_{_digest(domain, 'v', length=32)}."
                        "acm-validations.aws.",
                    }
                    for domain in names
                ],
            )
            return state["arn"], state
        if typ in (
            "aws:cloudwatch/logDeliverySource:LogDeliverySource",
            "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination",
        ):
            kind = "delivery-source" if typ.endswith("Source") else "delivery-destination"
            state.update(arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:{kind}:{inputs['name']}")
            if kind == "delivery-source":
                state.update(service="cloudfront")
            else:
                state.update(deliveryDestinationType="S3")
            return inputs["name"], state
        if typ == "aws:cloudwatch/logDelivery:LogDelivery":
            delivery_id = _digest(typ, name, length=16)
            state.update(arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:delivery:{delivery_id}")
            return delivery_id, state
        if typ == "aws:sns/topic:Topic":
            topic_name = inputs.get("name") or f"{name}-{suffix}"
            state.update(name=topic_name, arn=f"arn:aws:sns:{region}:{ACCOUNT_ID}:{topic_name}")
            return state["arn"], state
        if typ == "aws:sns/topicSubscription:TopicSubscription":
            arn = f"{inputs['topic']}:{_uuid(typ, name)}"
            state.update(arn=arn, pendingConfirmation=inputs.get("protocol") == "email")
            return arn, state
        if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            alarm_name = inputs.get("name") or f"{name}-{suffix}"
            state.update(
                name=alarm_name, arn=f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{alarm_name}"
            )
            return alarm_name, state
        if typ == "aws:acm/certificateValidation:CertificateValidation":
            return "2026-12-01 00:00:00 +0000 UTC", state
        if typ == "aws:route53/record:Record":
            state.update(fqdn=str(inputs.get("name", "")).rstrip("."))
            parts = [inputs.get(k) for k in ("zoneId", "name", "type", "setIdentifier")]
            return "_".join(str(p).rstrip(".") for p in parts if p), state
        if typ in (
            "aws:cloudfront/cachePolicy:CachePolicy",
            "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        ):
            policy_id = _uuid(typ, name)
            state.update(etag="E" + _digest(name, "etag", length=13).upper())
            return policy_id, state
        if typ == "aws:wafv2/webAcl:WebAcl":
            acl_id = _uuid(typ, name)
            acl_name = inputs.get("name") or f"{inputs.get('namePrefix', name)}{suffix}"
            scope = "global" if inputs.get("scope") == "CLOUDFRONT" else region
            state.update(
                name=acl_name,
                arn=f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:{scope}/webacl/{acl_name}/{acl_id}",
                capacity=700,
                lockToken=_uuid(name, "lock"),
            )
            return acl_id, state
        return f"{name}-{suffix}", state


def config_text(value: Any) -> str:
    """Stack config as the Pulumi engine hands it to a program: text, objects as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` map of a ``Pulumi.<stack>.yaml`` file (keys with namespaces)."""
    import yaml

    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def run_with_mocks(
    body: Callable[[], Any],
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "test",
    project: str = "asset-delivery",
    mocks: RecordingMocks | None = None,
) -> RecordingMocks:
    """Run ``body`` (declares resources) under recording mocks with this stack config."""
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_all_config({key: config_text(v) for key, v in (config or {}).items()})
    mocks.install(project=project, stack=stack)

    @pulumi.runtime.test
    def _run() -> Any:
        result = body()
        return result if result is not None else pulumi.Output.from_input(None)

    _run()
    return mocks


def run_program(
    project_dir: Path,
    config: Mapping[str, Any],
    *,
    stack: str = "test",
    project: str = "asset-delivery",
    mocks: RecordingMocks | None = None,
) -> RecordingMocks:
    """Run the project's ``__main__.py`` as ``pulumi up`` would, under recording mocks.

    ``project`` is the project's name, the namespace of ``pulumi.Config()``.
    """
    program = Path(project_dir) / "__main__.py"
    return run_with_mocks(
        lambda: runpy.run_path(str(program), run_name="__main__") and None,
        config,
        stack=stack,
        project=project,
        mocks=mocks,
    )


def resource_counts(mocks: RecordingMocks) -> dict[str, int]:
    """How many resources of each type were declared, sorted by type token."""
    counts: dict[str, int] = {}
    for registration in mocks.registrations:
        counts[registration.type] = counts.get(registration.type, 0) + 1
    return dict(sorted(counts.items()))


def count_table(mocks: RecordingMocks) -> str:
    """The declared resources as a Markdown table (type token, count), with the total."""
    counts = resource_counts(mocks)
    rows = [f"| `{token}` | {count} |" for token, count in counts.items()]
    total = sum(counts.values())
    return "\n".join(["| resource type | count |", "| --- | --- |", *rows, f"| total | {total} |"])
