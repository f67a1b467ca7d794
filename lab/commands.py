"""The lab's commands: ``demo``, ``up`` and ``drill``, as plain functions.

``obtain_stack`` is the single place that turns a project and a stack name into a
``LabStack``: the project's Pulumi program under recording mocks
(``lab.stack.load_stack``).
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import threading
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from asset_delivery.ops.cli import summary_lines
from asset_delivery.ops.publish import publish
from asset_delivery.ops.stack import load_lab_profile
from asset_delivery.ops.verify import verify

from .drills import SCENARIOS, DrillOptions, catalog_keys, drill, publish_catalog, run_scenario
from .lab import Lab
from .model import LabStack
from .plots import plot_all, plot_drill
from .report import DrillOutcome, build_report, format_table
from .stack import load_stack
from .targets import target_failures


def obtain_stack(
    name: str = "prod",
    project_dir: Path | None = None,
    component: str | None = None,
    origin_auth: str | None = None,
    routing_mode: str | None = None,
) -> LabStack:
    """The declared stack: a project's program for ``name`` run under recording mocks.

    ``project_dir`` defaults to this repository; ``component`` picks one of several
    components in the stack; ``origin_auth`` sets ``originAuth`` (drills in either mode)
    and ``routing_mode`` sets ``routingMode``.
    """
    overrides = {
        key: value
        for key, value in (("originAuth", origin_auth), ("routingMode", routing_mode))
        if value
    }
    return load_stack(name, project_dir, component, overrides or None)


def _write_json(path: Path, report: dict[str, Any], out: TextIO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report          {path}", file=out)


def spread(values: list[float]) -> dict[str, float] | None:
    """min, median and max of repeated measurements (None when nothing was measured)."""
    if not values:
        return None
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def repeat_drill(
    stack: LabStack, scenario: str, *, options: DrillOptions, repeat: int, **lab_kwargs: Any
) -> tuple[dict[str, Any], list[str], DrillOutcome]:
    """Run a drill ``repeat`` times; the report is the last run plus the spread of all.

    With ``repeat`` > 1 the report gains ``runs`` (each run's verdict lines) and
    ``spread`` (min/median/max of ``shift_s`` and ``viewer_errors``); a target missed
    in any run is a failure, named with its run.
    """
    runs: list[dict[str, Any]] = []
    failures: list[str] = []
    outcome: DrillOutcome | None = None
    for index in range(repeat):
        outcome = drill(stack, scenario, options, **lab_kwargs)
        report = build_report(outcome)
        missed = target_failures(report)
        report["targets_met"] = not missed
        report["target_failures"] = missed
        runs.append(report)
        prefix = f"run {index + 1}: " if repeat > 1 else ""
        failures += [prefix + failure for failure in missed]
    assert outcome is not None
    report = dict(runs[-1])
    if repeat > 1:
        report["runs"] = [
            {
                "shift_s": r["shift_s"],
                "viewer_errors": r["viewer_errors"],
                "requests": r["requests"],
                "failovers": r["failovers"],
                "targets_met": r["targets_met"],
            }
            for r in runs
        ]
        shifts = [r["shift_s"] for r in runs if r["shift_s"] is not None]
        report["spread"] = {
            "runs": repeat,
            "shift_s": spread(shifts),
            "viewer_errors": spread([float(r["viewer_errors"]) for r in runs]),
        }
    report["targets_met"] = not failures
    report["target_failures"] = failures
    return report, failures, outcome


def format_spread(report: dict[str, Any]) -> str:
    """The repeat lines of the table: one per run, then the spread."""
    lines = []
    for index, run in enumerate(report.get("runs", []), 1):
        shift = "-" if run["shift_s"] is None else f"{run['shift_s']:.1f} s"
        lines.append(
            f"run {index:<12}shift {shift}, {run['viewer_errors']} viewer errors of "
            f"{run['requests']}, targets {'met' if run['targets_met'] else 'MISSED'}"
        )
    summary = report.get("spread")
    if summary:
        for key, unit in (("shift_s", " lab s"), ("viewer_errors", "")):
            values = summary[key]
            if values is not None:
                lines.append(
                    f"{key:<16}min {values['min']:g}, median {values['median']:g}, "
                    f"max {values['max']:g}{unit} over {summary['runs']} runs"
                )
    return "\n".join(lines)


def run_drill(
    stack: LabStack,
    scenario: str,
    *,
    options: DrillOptions,
    json_out: Path | None,
    plot_out: Path | None,
    out: TextIO,
    repeat: int = 1,
    **lab_kwargs: Any,
) -> tuple[dict[str, Any], list[str]]:
    """Run one drill (``repeat`` times), print its table, write its report and plot."""
    report, failures, outcome = repeat_drill(
        stack, scenario, options=options, repeat=repeat, **lab_kwargs
    )
    print(format_table(report), file=out)
    if repeat > 1:
        print(format_spread(report), file=out)
    if json_out is not None:
        _write_json(json_out, report, out)
    if plot_out is not None:
        plot_out.parent.mkdir(parents=True, exist_ok=True)
        plot_drill(report, outcome, plot_out, stack)
        print(f"timeline        {plot_out}", file=out)
    print(
        "targets         " + ("met" if not failures else "MISSED: " + "; ".join(failures)), file=out
    )
    return report, failures


def run_all(
    stack: LabStack,
    *,
    options: DrillOptions,
    json_out: Path | None,
    plot_dir: Path | None,
    combined_plot: Path | None,
    out: TextIO,
    repeat: int = 1,
    **lab_kwargs: Any,
) -> tuple[dict[str, Any], list[str]]:
    """Every drill in turn: one report covering them all, one figure each plus a combined one."""
    reports: dict[str, dict[str, Any]] = {}
    panels: list[tuple[dict[str, Any], DrillOutcome]] = []
    failures: list[str] = []
    for scenario in SCENARIOS:
        print(f"\n== {scenario}", file=out)
        report, missed, outcome = repeat_drill(
            stack, scenario, options=options, repeat=repeat, **lab_kwargs
        )
        print(format_table(report), file=out)
        if repeat > 1:
            print(format_spread(report), file=out)
        if plot_dir is not None:
            path = plot_dir / f"{scenario}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            plot_drill(report, outcome, path, stack)
            print(f"timeline        {path}", file=out)
        reports[scenario] = report
        panels.append((report, outcome))
        failures += [f"{scenario}: {failure}" for failure in missed]
    combined: dict[str, Any] = {
        "stack": stack.stack,
        "scenarios": reports,
        "targets_met": not failures,
        "target_failures": failures,
    }
    print("", file=out)
    if json_out is not None:
        _write_json(json_out, combined, out)
    if combined_plot is not None:
        combined_plot.parent.mkdir(parents=True, exist_ok=True)
        plot_all(panels, combined_plot, stack)
        print(f"combined figure {combined_plot}", file=out)
    print(
        "targets         " + ("met" if not failures else "MISSED: " + "; ".join(failures)), file=out
    )
    return combined, failures


def split_tolerance(weight_share: float, samples: int) -> float:
    """Allowed gap between observed and declared share: 3 sigma of a binomial, >= 5 %."""
    return max(0.05, 3 * math.sqrt(weight_share * (1 - weight_share) / max(1, samples)))


def demo_site(root: Path) -> Path:
    """A small static site for the demo's publish: a page, fingerprinted assets, a logo."""
    script = b"document.title = 'asset-delivery demo';\n"
    style = b"body { font-family: sans-serif; }\n"
    fingerprint = {
        name: hashlib.sha256(body).hexdigest()[:8]
        for name, body in (("js", script), ("css", style))
    }
    files = {
        "index.html": (
            f'<link rel="stylesheet" href="assets/style.{fingerprint["css"]}.css">'
            f'<script src="assets/app.{fingerprint["js"]}.js"></script><h1>demo</h1>\n'
        ).encode(),
        f"assets/app.{fingerprint['js']}.js": script,
        f"assets/style.{fingerprint['css']}.css": style,
        "img/logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "robots.txt": b"User-agent: *\n",
    }
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


def fetch_each_version(lab: Lab, key: str, out: TextIO) -> bool:
    """Fetch ``key`` through the edge once per region, draining every other region first.

    The URI alone decides the region, so one key always comes from the same bucket;
    weights in DNS are what move it. After each change the demo waits one routing TTL
    (lab time), the longest any function container keeps its table. True when every
    region served its own version with its name in the region header.
    """
    stack = lab.stack
    weights = {region: spec.weight for region, spec in stack.regions.items()}
    wait = stack.routing.ttl_s + 1.0
    cached = lab.edge is not None and lab.edge.cache_enabled
    ok = True
    try:
        for region in stack.regions:
            for other, weight in weights.items():
                lab.set_weight(other, weight if other == region else 0)
            lab.clock.wait_until(lab.clock.now() + wait)
            try:
                with urllib.request.urlopen(f"{lab.edge_url}/{key}") as answer:
                    status, body = answer.status, answer.read().decode().strip()
                    served = answer.headers.get("x-asset-region")
            except OSError as error:
                status, body, served = 0, f"error: {error}", None
            right = status == 200 and served == region and body == f"hello from {region}"
            ok &= right or cached
            print(
                f"GET {lab.edge_url}/{key}, every region but {region} drained -> {status} "
                f"'{body}' (x-asset-region: {served})" + ("" if right else "  UNEXPECTED"),
                file=out,
            )
    finally:
        for region, weight in weights.items():
            lab.set_weight(region, weight)
        lab.clock.wait_until(lab.clock.now() + wait)
    if cached:
        print("  (--cache: the edge answers a cached key from its cache, not a region)", file=out)
    return ok


def run_demo(stack: LabStack, *, out: TextIO, catalog_size: int = 160, **lab_kwargs: Any) -> int:
    """The proof of concept: per-region file versions, the split, a short outage drill."""
    with Lab(stack, **lab_kwargs) as lab:
        primary = stack.primary_region
        print(
            f"lab up: edge {lab.edge_url}, regions "
            + ", ".join(f"{r}={lab.endpoint(r)}" for r in stack.regions),
            file=out,
        )
        keys = catalog_keys(catalog_size)
        publish_catalog(lab, keys)
        print(f"published {len(keys)} catalog objects to {primary}; replicated", file=out)
        # The operator's command line, through the same boto3 calls it makes on AWS.
        target = load_lab_profile(lab.write_profile(lab.workdir / "operator-profile.json"))
        published, publish_code = publish(
            target, demo_site(lab.workdir / "site"), prefix="site", timeout_s=60, progress=False
        )
        print("\nasset-delivery publish ./site --prefix site:", file=out)
        for line in summary_lines("publish", published):
            print(f"  {line}", file=out)
        # The blog's proof of concept: one file, a different version in each region.
        lab.put_object("hello.txt", f"hello from {primary}\n".encode(), content_type="text/plain")
        lab.wait_replicated(["hello.txt"])
        for region in stack.regions:
            if region != primary:
                lab.put_object(
                    "hello.txt",
                    f"hello from {region}\n".encode(),
                    region=region,
                    content_type="text/plain",
                )
        for region, emulator in lab.emulators.items():
            held = emulator.client().get_object(Bucket=emulator.spec.bucket, Key="hello.txt")
            print(
                f"  {region} bucket holds hello.txt = '{held['Body'].read().decode().strip()}'",
                file=out,
            )
        versions_ok = fetch_each_version(lab, "hello.txt", out)
        errors = 0

        def fetch(key: str) -> str | None:
            try:
                with urllib.request.urlopen(f"{lab.edge_url}/{key}") as answer:
                    answer.read()
                    return answer.headers.get("x-asset-region") or "none"
            except OSError:
                return None

        with ThreadPoolExecutor(max_workers=4) as pool:
            regions = list(pool.map(fetch, keys))
        served: Counter[str] = Counter(region for region in regions if region is not None)
        errors += regions.count(None)
        total_weight = sum(spec.weight for spec in stack.regions.values()) or 1
        split_ok = True
        print(
            f"\nsplit over {len(keys)} objects (each URI is routed the same way every time):",
            file=out,
        )
        print(f"  {'region':<16}{'weight':>8}{'expected':>10}{'served':>8}{'share':>8}", file=out)
        for region, spec in stack.regions.items():
            expected = spec.weight / total_weight
            share = served[region] / len(keys)
            tolerance = split_tolerance(expected, len(keys))
            ok = abs(share - expected) <= tolerance
            split_ok &= ok
            print(
                f"  {region:<16}{spec.weight:>8}{100 * expected:>9.0f}%{served[region]:>8}"
                f"{100 * share:>7.1f}%  {'ok' if ok else f'OFF by more than {tolerance:.0%}'}",
                file=out,
            )
        print(f"  viewer errors: {errors}", file=out)
        verified, verify_code = verify(target, objects=40, timeout_s=60, progress=False)
        print("\nasset-delivery verify --objects 40 (canaries through the edge):", file=out)
        for line in summary_lines("verify", verified):
            print(f"  {line}", file=out)
        print("\nshort region-outage drill:", file=out)
        outcome = run_scenario(
            lab, "region-outage", DrillOptions(short=True, catalog_size=catalog_size)
        )
        report = build_report(outcome)
        failures = target_failures(report)
        print(format_table(report), file=out)
    ok = (
        split_ok
        and versions_ok
        and errors == 0
        and not failures
        and publish_code == 0
        and verify_code == 0
    )
    print(
        "\nsummary: publish "
        + ("complete" if publish_code == 0 else "INCOMPLETE")
        + "; verify "
        + verified["verdict"]
        + "; split "
        + ("within tolerance" if split_ok else "OUT of tolerance")
        + f"; {errors + report['viewer_errors']} viewer errors; region-outage targets "
        + ("met" if not failures else "missed: " + "; ".join(failures)),
        file=out,
    )
    print("demo " + ("passed" if ok else "FAILED"), file=out)
    return 0 if ok else 1


def run_up(
    stack: LabStack,
    *,
    out: TextIO,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    profile: Path | None = None,
    **lab_kwargs: Any,
) -> int:
    """Run the lab until interrupted (or for ``duration_s`` real seconds).

    With ``profile``, the lab profile for ``asset-delivery --lab`` is written there
    once everything is up (and removed when the lab stops: its endpoints die with it).
    """
    stop = stop or threading.Event()
    with Lab(stack, **lab_kwargs) as lab:
        keys = catalog_keys(8)
        publish_catalog(lab, keys)
        primary = stack.primary_region
        bucket = stack.regions[primary].bucket
        endpoint = lab.endpoint(primary)
        print(f"edge (the distribution): {lab.edge_url}", file=out)
        print(f"  try: curl -i {lab.edge_url}/{keys[0]}", file=out)
        for region, spec in stack.regions.items():
            print(f"region {region}: S3 API {lab.endpoint(region)}  bucket {spec.bucket}", file=out)
        print(
            f"DNS routing zone: 127.0.0.1:{lab.dns.port} "
            f"(dig @127.0.0.1 -p {lab.dns.port} TXT {stack.routing.record_name})",
            file=out,
        )
        print("publish to the primary (replicated to the others):", file=out)
        print(
            f"  AWS_ACCESS_KEY_ID=lab AWS_SECRET_ACCESS_KEY=lab aws --endpoint-url {endpoint} "
            f"s3 cp ./file.txt s3://{bucket}/file.txt",
            file=out,
        )
        print(
            f"  python -c \"import boto3; boto3.client('s3', endpoint_url='{endpoint}', "
            f"region_name='{primary}', aws_access_key_id='lab', aws_secret_access_key='lab')"
            f".put_object(Bucket='{bucket}', Key='file.txt', Body=b'hi')\"",
            file=out,
        )
        if profile is not None:
            lab.write_profile(profile)
            print(
                f"operator profile: {profile}  (try: asset-delivery status --lab {profile})",
                file=out,
            )
        print(f"time scale x{lab.clock.scale:g}; Ctrl-C stops everything", file=out, flush=True)
        try:
            stop.wait(duration_s)
        finally:
            if profile is not None:
                profile.unlink(missing_ok=True)
    return 0
