"""``python -m lab`` (or ``python -m asset_delivery.lab``): the local lab's command line.

Exit status: 0 the command did what it promised, 1 a drill or the demo missed its
target, 2 bad input (one line on stderr, nothing started), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import socket
import sys
from pathlib import Path
from typing import NoReturn

from asset_delivery.config import ORIGIN_AUTH_MODES, ROUTING_MODES
from asset_delivery.locality import EDGE_REGIONS

from .clock import DEFAULT_TIME_SCALE
from .containers import DEFAULT_CONTAINERS

# Modules of the ``lab`` extra, checked before anything starts; matplotlib only for plots.
LAB_MODULES = ("boto3", "botocore", "dnslib", "moto", "werkzeug", "yaml")
PLOT_MODULES = ("matplotlib",)
EXTRA_HINT = 'pip install "asset-delivery[lab]"'
PROG = f"python -m {__package__ or 'lab'}"


class UsageError(Exception):
    """Bad input: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad input as one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: a whole number >= 1")
    return value


def _edge_regions(text: str) -> list[str]:
    regions = [region.strip() for region in text.split(",")]
    for region in regions:
        if region not in EDGE_REGIONS:
            raise argparse.ArgumentTypeError(
                f"{region!r} is not allowed: a region where Lambda@Edge runs ("
                + ", ".join(EDGE_REGIONS)
                + ")"
            )
    return regions


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not allowed: a port from 0 to 65535")
    return value


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--project",
        type=Path,
        default=None,
        help="Pulumi project directory whose __main__.py declares the stack "
        "(default: the current directory if it holds Pulumi.yaml, else this repository)",
    )
    common.add_argument("--stack", default="prod", help="stack to run: Pulumi.<stack>.yaml")
    common.add_argument(
        "--component",
        default=None,
        help="the MultiRegionAssetDelivery to run when the stack declares several (its name)",
    )
    common.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"lab seconds per real second (default: {DEFAULT_TIME_SCALE:g})",
    )
    common.add_argument(
        "--containers",
        type=_positive_int,
        default=DEFAULT_CONTAINERS,
        help=f"function containers (default: {DEFAULT_CONTAINERS})",
    )
    common.add_argument("--cache", action="store_true", help="enable the edge content cache")
    common.add_argument("--seed", type=int, default=0, help="seed for the viewers' choices")
    common.add_argument(
        "--port", type=_port, default=0, help="the edge's port on 127.0.0.1 (default: any free)"
    )
    common.add_argument(
        "--origin-auth",
        choices=ORIGIN_AUTH_MODES,
        default=None,
        help="run the stack with this originAuth: oai (CloudFront signs with its origin "
        "access identity), sigv4 (the edge function signs) or oai-to-sigv4 (the migration "
        "step); default: as the stack declares",
    )
    common.add_argument(
        "--routing-mode",
        choices=ROUTING_MODES,
        default=None,
        help="run the stack with this routingMode (default: as the stack declares; "
        "latency for the locality drill)",
    )
    common.add_argument(
        "--edge-regions",
        type=_edge_regions,
        default=None,
        help="comma-separated execution regions (AWS_REGION) of the function containers, "
        "in turn (default: spread over the regional edge caches, us-east-1 first)",
    )

    parser = _Parser(
        prog=PROG,
        description="The whole delivery path on this machine, plus failure drills.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser(
        "demo",
        parents=[common],
        help="per-region versions, the split against the weights, an outage",
    )
    up = commands.add_parser("up", parents=[common], help="run until interrupted")
    up.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many real seconds (default: run until Ctrl-C)",
    )
    up.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the lab profile for `asset-delivery --lab FILE` (endpoints, credentials, "
        "stack outputs)",
    )
    run = commands.add_parser("drill", parents=[common], help="run a failure drill (or all)")
    run.add_argument("scenario", help="a drill's name (see the README's drill table), or all")
    run.add_argument(
        "--json-out",
        type=Path,
        default=None,
        help="report path (default: lab-out/<scenario>.json; 'all': one report for every drill)",
    )
    run.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="timeline PNG (default: lab-out/<scenario>.png; 'all': the combined figure)",
    )
    run.add_argument("--rate", type=float, default=40.0, help="viewer requests per real second")
    run.add_argument("--max-requests", type=_positive_int, default=6000, help="request budget")
    run.add_argument("--region", default=None, help="region to break (default per scenario)")
    run.add_argument(
        "--lag", type=float, default=None, help="replication lag in lab seconds (replication-lag)"
    )
    run.add_argument("--short", action="store_true", help="trim warm-up and tails")
    run.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        help="run each drill N times; the report gives min/median/max of shift and errors",
    )
    return parser


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every context manager stops what it started."""
    raise KeyboardInterrupt


def missing_module(modules: tuple[str, ...]) -> str | None:
    """The first of ``modules`` that cannot be imported, or None."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


def default_project() -> Path:
    """The current directory when it is a Pulumi project, else this source checkout."""
    here = Path.cwd()
    if (here / "Pulumi.yaml").is_file():
        return here
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "Pulumi.yaml").is_file() else here


def check_port_free(port: int) -> None:
    """Refuse a fixed edge port that is taken before anything starts."""
    if port == 0:
        return
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError as error:
        raise UsageError(
            f"--port {port}: 127.0.0.1:{port} is not available ({error.strerror})"
        ) from None
    finally:
        probe.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; the exit status is the verdict."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; everything the lab started is stopped", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    wanted = LAB_MODULES + (PLOT_MODULES if args.command == "drill" else ())
    missing = missing_module(wanted)
    if missing is not None:
        raise UsageError(f"the lab needs the '{missing}' module of the lab extra: {EXTRA_HINT}")
    if args.time_scale <= 0:
        raise UsageError(f"--time-scale {args.time_scale:g} is not allowed: a number > 0")
    from .commands import obtain_stack, run_all, run_demo, run_drill, run_up
    from .drills import SCENARIOS, DrillOptions
    from .stack import StackError

    scenario = getattr(args, "scenario", None)
    if scenario is not None and scenario not in (*SCENARIOS, "all"):
        raise UsageError(
            f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)} or all"
        )
    try:
        routing_mode = args.routing_mode or ("latency" if scenario == "locality" else None)
        stack = obtain_stack(
            args.stack,
            args.project or default_project(),
            args.component,
            args.origin_auth,
            routing_mode,
        )
    except StackError as error:
        raise UsageError(str(error)) from None
    region = getattr(args, "region", None)
    if region is not None and region not in stack.regions:
        raise UsageError(
            f"--region {region} is not a region of stack {stack.stack}: " + ", ".join(stack.regions)
        )
    check_port_free(args.port)
    signal.signal(signal.SIGTERM, _terminate)
    lab_kwargs = {
        "time_scale": args.time_scale,
        "containers": args.containers,
        "cache": args.cache,
        "seed": args.seed,
        "edge_port": args.port,
        "edge_regions": args.edge_regions,
    }
    if args.command == "demo":
        return run_demo(stack, out=sys.stdout, **lab_kwargs)
    if args.command == "up":
        return run_up(
            stack, out=sys.stdout, duration_s=args.duration, profile=args.profile, **lab_kwargs
        )
    options = DrillOptions(
        rate_per_s=args.rate,
        max_requests=args.max_requests,
        region=args.region,
        replication_lag_s=args.lag,
        short=args.short,
    )
    out_dir = Path("lab-out")
    if args.scenario == "all":
        _report, failures = run_all(
            stack,
            options=options,
            json_out=args.json_out or out_dir / "all.json",
            plot_dir=out_dir,
            combined_plot=args.plot or out_dir / "all.png",
            repeat=args.repeat,
            out=sys.stdout,
            **lab_kwargs,
        )
    else:
        _report, failures = run_drill(
            stack,
            args.scenario,
            options=options,
            json_out=args.json_out or out_dir / f"{args.scenario}.json",
            plot_out=args.plot or out_dir / f"{args.scenario}.png",
            repeat=args.repeat,
            out=sys.stdout,
            **lab_kwargs,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
