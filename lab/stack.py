"""Build the lab's :class:`LabStack` from the resources the Pulumi program declares.

``load_stack`` runs the project's ``__main__.py`` for one stack (reading
``Pulumi.<stack>.yaml``) under recording mocks, exactly as ``pulumi up`` would run
it, and reads regions, weights, records, health checks, origins, failover criteria,
timeouts and the function's built archive from the recorded registrations. Nothing
here restates a value the program declares.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from asset_delivery.edge_package import EDGE_CONFIG_NAME, zip_archive
from asset_delivery.testing import (
    HEALTH_CHECKER_CIDRS,
    RecordingMocks,
    Registration,
    read_stack_file,
    run_program,
)

from .bucket_policy import unsupported
from .model import (
    DistributionSpec,
    FunctionSpec,
    HealthCheckSpec,
    LabStack,
    OriginGroupSpec,
    OriginSpec,
    ProbeSpec,
    RegionSpec,
    ReplicationRule,
    RoutingSpec,
)
from .s3_access import EDGE_ROLE, OAI

PROJECT_DIR = Path(__file__).resolve().parent.parent

T_BUCKET = "aws:s3/bucket:Bucket"
T_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
T_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
T_RECORD = "aws:route53/record:Record"
T_HEALTH = "aws:route53/healthCheck:HealthCheck"
T_ZONE = "aws:route53/zone:Zone"
T_FUNCTION = "aws:lambda/function:Function"
T_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
T_COMPONENT = "asset-delivery:index:MultiRegionAssetDelivery"
T_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
T_ROLE = "aws:iam/role:Role"
T_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
T_OAI = "aws:cloudfront/originAccessIdentity:OriginAccessIdentity"

_RECORD_VALUE = re.compile(r"^v=1 region=(?P<region>[a-z0-9-]+) weight=(?P<weight>\d+)$")


class StackError(RuntimeError):
    """The stack cannot be run in the lab (missing file, unexpected declaration)."""


def archive_bytes(archive: pulumi.AssetArchive) -> dict[str, bytes]:
    """The file contents of an ``AssetArchive`` as the program declared it."""
    contents: dict[str, bytes] = {}
    for arcname, asset in archive.assets.items():
        if isinstance(asset, pulumi.StringAsset):
            contents[arcname] = asset.text.encode("utf-8")
        elif isinstance(asset, pulumi.FileAsset):
            contents[arcname] = Path(asset.path).read_bytes()
        else:
            raise StackError(
                f"archive entry {arcname!r} is a {type(asset).__name__}, "
                "expected a StringAsset or FileAsset"
            )
    return contents


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


class _Scope:
    """The registrations of one component: itself and everything parented below it."""

    def __init__(self, mocks: RecordingMocks, component: str | None) -> None:
        self.existing_zone_name = mocks.existing_zone_name
        self.outputs: dict[str, object] = {}  # the component's outputs (stack output names)
        components = mocks.of_type(T_COMPONENT)
        names = sorted(c.name for c in components)
        if component is None:
            if len(components) > 1:
                raise StackError(
                    f"the program declares {len(components)} components "
                    f"({', '.join(names)}); choose one with --component"
                )
            self.registrations = list(mocks.registrations)
            self.outputs = mocks.component_outputs.get(components[0].urn, {}) if components else {}
            return
        chosen = [c for c in components if c.name == component]
        if not chosen:
            raise StackError(
                f"--component {component}: the program declares no component of that "
                f"name; components: {', '.join(names) or 'none'}"
            )
        inside = {chosen[0].urn}
        registrations = list(mocks.registrations)
        grew = True
        while grew:  # children may register before their parents' descendants
            before = len(inside)
            inside |= {r.urn for r in registrations if r.parent in inside}
            grew = len(inside) > before
        self.registrations = [r for r in registrations if r.urn in inside]
        self.outputs = mocks.component_outputs.get(chosen[0].urn, {})

    def of_type(self, type_token: str) -> list[Registration]:
        """Every registration of this type inside the scope."""
        return [r for r in self.registrations if r.type == type_token]


def _only(mocks: _Scope, type_token: str) -> Registration:
    found = mocks.of_type(type_token)
    if len(found) != 1:
        raise StackError(
            f"the lab runs one {type_token} per stack; the program declared {len(found)}"
        )
    return found[0]


def stack_from_registrations(
    recorded: RecordingMocks, stack: str = "prod", component: str | None = None
) -> LabStack:
    """Translate recorded registrations into the lab's plain model.

    With several components in the stack, ``component`` names the one to run.
    """
    mocks = _Scope(recorded, component)
    function_reg = _only(mocks, T_FUNCTION)
    contents = archive_bytes(function_reg.inputs["code"])
    edge_config = json.loads(contents[EDGE_CONFIG_NAME])
    # The data buckets are the ones the function routes to (not, say, log buckets).
    data_domains = {spec["domain"] for spec in edge_config["regions"].values()}
    buckets = {
        r.inputs["region"]: r
        for r in mocks.of_type(T_BUCKET)
        if r.state["bucketRegionalDomainName"] in data_domains
    }
    bucket_region_by_arn = {r.state["arn"]: region for region, r in buckets.items()}
    bucket_region_by_id = {r.id: region for region, r in buckets.items()}

    function = FunctionSpec(
        name=function_reg.state["name"],
        handler=function_reg.inputs["handler"],
        runtime=function_reg.inputs["runtime"],
        timeout_s=_int(function_reg.inputs.get("timeout")),
        memory_mb=_int(function_reg.inputs.get("memorySize")),
        archive_zip=zip_archive(contents),
        qualified_arn=function_reg.state["qualifiedArn"],
    )

    checks_by_id = {r.id: r for r in mocks.of_type(T_HEALTH)}
    probes = {
        bucket_region_by_id[r.inputs["bucket"]]: ProbeSpec(
            key=r.inputs["key"], body=r.inputs["content"]
        )
        for r in mocks.of_type(T_OBJECT)
    }
    policies = {  # the data buckets' (log buckets have their own)
        bucket_region_by_id[r.inputs["bucket"]]: _policy(r)
        for r in mocks.of_type(T_POLICY)
        if r.inputs["bucket"] in bucket_region_by_id
    }
    # The routing table: TXT records (not, say, custom domains' alias or validation records).
    records = [r for r in mocks.of_type(T_RECORD) if r.inputs.get("type") == "TXT"]
    if not records:
        raise StackError("the program declared no routing records")
    regions: dict[str, RegionSpec] = {}
    for record in records:
        value = record.inputs["records"][0]
        match = _RECORD_VALUE.match(value)
        if match is None:
            raise StackError(f"routing record {record.name} has an unexpected value {value!r}")
        region = record.inputs["setIdentifier"]
        check_reg = checks_by_id.get(record.inputs.get("healthCheckId") or "")
        check = None
        if check_reg is not None:
            check = HealthCheckSpec(
                region=region,
                fqdn=check_reg.inputs["fqdn"],
                resource_path=check_reg.inputs["resourcePath"],
                search_string=check_reg.inputs.get("searchString"),
                request_interval_s=_int(check_reg.inputs["requestInterval"]),
                failure_threshold=_int(check_reg.inputs["failureThreshold"]),
                inverted=bool(check_reg.inputs.get("invertHealthcheck")),
                check_id=check_reg.id,
            )
        bucket = buckets[region]
        regions[region] = RegionSpec(
            region=region,
            bucket=bucket.state["bucket"],
            domain=bucket.state["bucketRegionalDomainName"],
            weight=int(match["weight"]),
            record_value=value,
            health_check=check,
            probe=probes.get(region),
            policy=policies.get(region),
        )
    # The baked topology keeps the configured order of the regions.
    regions = {region: regions[region] for region in edge_config["regions"] if region in regions}

    zones = mocks.of_type(T_ZONE)
    record_names = {r.inputs["name"] for r in records}
    if len(record_names) != 1:
        raise StackError(f"routing records must share one name, found {sorted(record_names)}")
    # A created zone, or the existing one the program looked up by id.
    zone_name = zones[0].state["name"] if zones else mocks.existing_zone_name
    routing = RoutingSpec(
        zone_name=zone_name.rstrip("."),
        record_name=record_names.pop().rstrip("."),
        ttl_s=_int(records[0].inputs["ttl"]),
        nameservers=tuple(edge_config["routing"]["nameservers"]),
    )

    rules: list[ReplicationRule] = []
    for config in mocks.of_type(T_REPLICATION):
        source = bucket_region_by_id[config.inputs["bucket"]]
        for rule in config.inputs["rules"]:
            if rule.get("status") != "Enabled":
                continue
            destination = bucket_region_by_arn[rule["destination"]["bucket"]]
            delete_markers = (rule.get("deleteMarkerReplication") or {}).get("status")
            rules.append(
                ReplicationRule(
                    rule_id=rule.get("id", f"to-{destination}"),
                    source_region=source,
                    source_bucket=buckets[source].state["bucket"],
                    destination_region=destination,
                    destination_bucket=buckets[destination].state["bucket"],
                    prefix=(rule.get("filter") or {}).get("prefix", "") or "",
                    delete_markers=delete_markers == "Enabled",
                )
            )

    distribution = _distribution(_only(mocks, T_DISTRIBUTION))
    principal_arns, edge_role_objects = _origin_access(mocks, function_reg.inputs["role"])
    return LabStack(
        stack=stack,
        primary_region=edge_config["primary_region"],
        replication_mode=edge_config["replication"],
        regions=regions,
        routing=routing,
        replication=tuple(rules),
        distribution=distribution,
        function=function,
        principal_arns=principal_arns,
        edge_role_objects=edge_role_objects,
        outputs=dict(mocks.outputs),
        health_checker_ip=str(next(ipaddress.ip_network(HEALTH_CHECKER_CIDRS[0]).hosts())),
    )


def _origin_access(mocks: _Scope, edge_role_arn: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The ARNs of the principals the lab acts as ("oai" when the stack declares an origin
    access identity, "edge-role"), and which object ARNs the edge role's own IAM policies
    allow it to ``s3:GetObject``. Whether a bucket admits them is its declared policy's
    call (``lab/bucket_policy.py``)."""
    arns = {EDGE_ROLE: edge_role_arn}
    for oai in mocks.of_type(T_OAI):
        arns[OAI] = oai.state["iamArn"]
    role_ids = {r.id for r in mocks.of_type(T_ROLE) if r.state.get("arn") == edge_role_arn}
    objects: list[str] = []
    for role_policy in mocks.of_type(T_ROLE_POLICY):
        if role_policy.inputs["role"] not in role_ids:
            continue
        for statement in json.loads(role_policy.inputs["policy"])["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            if statement["Effect"] == "Allow" and "s3:GetObject" in actions:
                resources = statement["Resource"]
                objects += [resources] if isinstance(resources, str) else resources
    return arns, tuple(sorted(objects))


def _policy(reg: Registration) -> str:
    """A declared bucket policy, refused when the lab could not enforce it faithfully."""
    text = reg.inputs["policy"]
    problems = unsupported(json.loads(text))
    if problems:
        raise StackError(
            f"bucket policy {reg.name}: the lab cannot enforce it: " + "; ".join(problems)
        )
    return str(text)


def _distribution(reg: Registration) -> DistributionSpec:
    inputs = reg.inputs
    origins = {}
    for origin in inputs["origins"]:
        headers = {h["name"].lower(): h["value"] for h in origin.get("customHeaders") or []}
        origins[origin["originId"]] = OriginSpec(
            origin_id=origin["originId"],
            domain=origin["domainName"],
            custom_headers=headers,
            connection_timeout_s=_int(origin.get("connectionTimeout") or 10),
            connection_attempts=_int(origin.get("connectionAttempts") or 3),
            origin_path=origin.get("originPath") or "",
            origin_access_identity=(origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
            or "",
        )
    group = None
    for declared in inputs.get("originGroups") or []:
        members = [m["originId"] for m in declared["members"]]
        group = OriginGroupSpec(
            group_id=declared["originId"],
            primary_origin_id=members[0],
            failover_origin_id=members[1],
            status_codes=tuple(
                sorted(_int(c) for c in declared["failoverCriteria"]["statusCodes"])
            ),
        )
    behaviour = inputs["defaultCacheBehavior"]
    associations = {
        a["eventType"]: a["lambdaArn"] for a in behaviour.get("lambdaFunctionAssociations") or []
    }
    return DistributionSpec(
        distribution_id=reg.id,
        domain_name=reg.state["domainName"],
        origins=origins,
        origin_group=group,
        target_origin_id=behaviour["targetOriginId"],
        allowed_methods=tuple(behaviour["allowedMethods"]),
        function_associations=associations,
        error_caching_ttl_s={
            _int(e["errorCode"]): _int(e.get("errorCachingMinTtl"))
            for e in inputs.get("customErrorResponses") or []
        },
        viewer_protocol_policy=behaviour["viewerProtocolPolicy"],
    )


def declared_stack(
    regions: Mapping[str, int],
    *,
    stack: str = "lab",
    project_dir: Path | None = None,
    **settings: Any,
) -> LabStack:
    """The lab model of the program run with these regions and settings.

    ``settings`` are ``asset-delivery`` config keys (``replication="bidirectional"``,
    ``healthCheckInterval=30``, ...), validated by the program as on ``pulumi up``.
    """
    config: dict[str, Any] = {
        "asset-delivery:regions": [{"region": r, "weight": w} for r, w in regions.items()]
    }
    config.update({f"asset-delivery:{key}": value for key, value in settings.items()})
    mocks = run_program(Path(project_dir or PROJECT_DIR), config, stack=stack)
    return stack_from_registrations(mocks, stack)


def project_name(project_dir: Path) -> str:
    """The project's name from ``Pulumi.yaml`` (the default config namespace)."""
    import yaml

    manifest = project_dir / "Pulumi.yaml"
    if not manifest.is_file():
        return project_dir.name
    document = yaml.safe_load(manifest.read_text()) or {}
    return str(document.get("name") or project_dir.name)


def load_stack(
    stack: str = "prod",
    project_dir: Path | None = None,
    component: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LabStack:
    """Run ``__main__.py`` for ``stack`` under recording mocks and return its lab model.

    ``overrides`` are ``asset-delivery`` keys set on top of the stack file (the lab's
    ``--origin-auth`` runs the same stack signed or through the OAI).

    Any project works: ``project_dir`` holds its ``__main__.py`` and
    ``Pulumi.<stack>.yaml`` (default: this repository). The program runs with the
    project directory as working directory and first on ``sys.path``, as
    ``pulumi up`` runs it; an error inside it becomes a :class:`StackError`.
    """
    project_dir = Path(project_dir or PROJECT_DIR).resolve()
    if not (project_dir / "__main__.py").is_file():
        reason = "does not exist" if not project_dir.exists() else "has no __main__.py"
        raise StackError(f"--project {project_dir}: {reason}; expected a Pulumi Python project")
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        available = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml")
        )
        raise StackError(
            f"no stack file {stack_file.name} in {project_dir}; "
            f"stacks here: {', '.join(available) or 'none'}"
        )
    try:
        config = read_stack_file(stack_file)
    except Exception as error:
        raise StackError(f"{stack_file} cannot be read: {error}") from None
    config.update({f"asset-delivery:{key}": value for key, value in (overrides or {}).items()})
    cwd, path = os.getcwd(), list(sys.path)
    try:
        os.chdir(project_dir)
        sys.path.insert(0, str(project_dir))
        mocks = run_program(project_dir, config, stack=stack, project=project_name(project_dir))
    except Exception as error:
        message = str(error).strip().splitlines()[-1] if str(error).strip() else repr(error)
        raise StackError(
            f"the program in {project_dir} failed for stack {stack}: {message}"
        ) from None
    finally:
        os.chdir(cwd)
        sys.path[:] = path
    return stack_from_registrations(mocks, stack, component)
