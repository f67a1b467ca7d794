"""``python -m lab``: the local lab's command line (demo, up, drill)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .commands import obtain_stack, run_demo, run_drill, run_up
from .drills import SCENARIOS, DrillOptions
from .lab import DEFAULT_CONTAINERS, DEFAULT_TIME_SCALE


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default="prod", help="Pulumi stack to run (default: prod)")
    common.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"lab seconds per real second (default: {DEFAULT_TIME_SCALE:g})",
    )
    common.add_argument(
        "--containers",
        type=int,
        default=DEFAULT_CONTAINERS,
        help="simulated function containers (default: 3)",
    )
    common.add_argument("--cache", action="store_true", help="enable the edge content cache")
    common.add_argument("--seed", type=int, default=0, help="seed for the viewers' choices")

    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="The whole delivery path on this machine, plus failure drills.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
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
    run = commands.add_parser("drill", parents=[common], help="run one failure drill")
    run.add_argument("scenario", choices=SCENARIOS)
    run.add_argument(
        "--json-out", type=Path, default=None, help="report path (default: lab-out/<scenario>.json)"
    )
    run.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="timeline PNG path (default: lab-out/<scenario>.png)",
    )
    run.add_argument("--rate", type=float, default=40.0, help="viewer requests per real second")
    run.add_argument("--max-requests", type=int, default=6000, help="request budget")
    run.add_argument("--region", default=None, help="region to break (default per scenario)")
    run.add_argument(
        "--lag", type=float, default=None, help="replication lag in lab seconds (replication-lag)"
    )
    run.add_argument("--short", action="store_true", help="trim warm-up and tails")
    return parser


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every context manager stops what it started."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; the exit status is the verdict."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    stack = obtain_stack(args.stack)
    lab_kwargs = {
        "time_scale": args.time_scale,
        "containers": args.containers,
        "cache": args.cache,
        "seed": args.seed,
    }
    try:
        if args.command == "demo":
            return run_demo(stack, out=sys.stdout, **lab_kwargs)
        if args.command == "up":
            return run_up(stack, out=sys.stdout, duration_s=args.duration, **lab_kwargs)
        options = DrillOptions(
            rate_per_s=args.rate,
            max_requests=args.max_requests,
            region=args.region,
            replication_lag_s=args.lag,
            short=args.short,
        )
        out_dir = Path("lab-out")
        _report, failures = run_drill(
            stack,
            args.scenario,
            options=options,
            json_out=args.json_out or out_dir / f"{args.scenario}.json",
            plot_out=args.plot or out_dir / f"{args.scenario}.png",
            out=sys.stdout,
            **lab_kwargs,
        )
        return 1 if failures else 0
    except KeyboardInterrupt:
        print("\ninterrupted; everything the lab started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
