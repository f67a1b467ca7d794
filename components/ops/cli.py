"""``asset-delivery``: the operator's command line for a live stack.

Standard output carries data only: with ``--json`` exactly one JSON object. People
read standard error: a short summary, progress bars when it is a terminal, and
errors as one line. Exit codes (also in the README):

* 0: done / healthy / verified.
* 1: something failed and is named (an upload, a key not replicated in time, a
  fetch), or ``status`` found the stack degraded.
* 2: bad input (flags, files, an unknown region, no credentials), or ``status``
  found the stack down.
* 130: interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .stack import (
    Target,
    UsageError,
    aws_session,
    load_lab_profile,
    outputs_from_file,
    outputs_from_pulumi,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES_HELP = """exit codes:
  0    done / status healthy / verify ok
  1    something failed and is named (upload, replication in time, fetch, invalidation);
       status degraded
  2    bad input (one line on stderr, nothing on stdout); status down
  130  interrupted"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("asset-delivery").strip()  # "publish", or ""
        raise UsageError(f"{command}: {message}" if command else message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (every flag is documented in the README)."""
    common = _Parser(add_help=False)
    where = common.add_argument_group("which stack (exactly one)")
    source = where.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--stack-outputs",
        type=Path,
        metavar="FILE",
        help="JSON from `pulumi stack output --json`",
    )
    source.add_argument(
        "--stack", metavar="NAME", help="run `pulumi stack output --json --stack NAME`"
    )
    source.add_argument(
        "--lab", type=Path, metavar="PROFILE", help="a running lab (`python -m lab up --profile`)"
    )
    common.add_argument("--profile", help="AWS named profile (default: the usual credential chain)")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    common.add_argument(
        "--no-progress", action="store_true", help="no progress bars even on a terminal"
    )

    parser = _Parser(
        prog="asset-delivery",
        description="Operate a live asset-delivery stack: publish, status, verify, backfill.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    publish = commands.add_parser(
        "publish", parents=[common], help="upload a directory, wait for replication, invalidate"
    )
    publish.add_argument("directory", type=Path, metavar="DIR", help="the directory to upload")
    publish.add_argument("--prefix", default="", help="key prefix (default: the bucket root)")
    publish.add_argument(
        "--delete", action="store_true", help="delete keys under the prefix that DIR lacks"
    )
    publish.add_argument(
        "--cache-control",
        action="append",
        default=[],
        metavar="PATTERN=VALUE",
        help="Cache-Control rule, first match wins (repeatable; 'fingerprinted=' and "
        "'default=' replace the built-ins)",
    )
    publish.add_argument(
        "--no-wait", action="store_true", help="do not wait for replication to every region"
    )
    publish.add_argument(
        "--no-invalidate", action="store_true", help="do not invalidate the changed paths"
    )
    publish.add_argument(
        "--replication-timeout",
        type=_positive_float,
        default=900.0,
        metavar="SECONDS",
        help="how long to wait for every region (default: 900)",
    )
    publish.add_argument(
        "--concurrency", type=_positive_int, default=8, help="parallel uploads (default: 8)"
    )

    commands.add_parser(
        "status", parents=[common], help="health, routing table, backlog, distribution"
    ).add_argument(
        "--max-keys",
        type=_positive_int,
        default=10_000,
        help="count the replication backlog only for buckets up to this size (default: 10000)",
    )

    verify = commands.add_parser(
        "verify", parents=[common], help="canary objects fetched through the distribution"
    )
    verify.add_argument(
        "--objects", type=_positive_int, default=50, metavar="N", help="canaries (default: 50)"
    )
    verify.add_argument(
        "--replication-timeout",
        type=_positive_float,
        default=900.0,
        metavar="SECONDS",
        help="how long to wait for every region (default: 900)",
    )

    backfill = commands.add_parser(
        "backfill", parents=[common], help="copy the primary's objects a region lacks"
    )
    backfill.add_argument("region", metavar="REGION", help="a secondary region of the stack")
    backfill.add_argument("--prefix", default="", help="only keys under this prefix")
    backfill.add_argument(
        "--concurrency", type=_positive_int, default=8, help="parallel copies (default: 8)"
    )
    return parser


def resolve_target(args: argparse.Namespace) -> Target:
    """The stack and a session, from --lab, --stack-outputs or --stack (+ --profile)."""
    if args.lab is not None:
        if args.profile:
            raise UsageError("--profile does not apply to --lab (the lab has its own credentials)")
        return load_lab_profile(args.lab)
    outputs = (
        outputs_from_file(args.stack_outputs)
        if args.stack_outputs is not None
        else outputs_from_pulumi(args.stack)
    )
    return Target(outputs, aws_session(args.profile), max_pool=getattr(args, "concurrency", 8) * 4)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Run the chosen command; returns its JSON summary and exit code."""
    target = resolve_target(args)
    progress = False if args.no_progress or args.json else None
    if args.command == "publish":
        from .content import RuleError, parse_cache_rules
        from .publish import publish

        try:
            rules = parse_cache_rules(args.cache_control)
        except RuleError as error:
            raise UsageError(str(error)) from None
        return publish(
            target,
            args.directory,
            prefix=args.prefix,
            delete=args.delete,
            rules=rules,
            wait=not args.no_wait,
            invalidate=not args.no_invalidate,
            timeout_s=args.replication_timeout,
            concurrency=args.concurrency,
            progress=progress,
        )
    if args.command == "status":
        from .status import status

        return status(target, max_keys=args.max_keys)
    if args.command == "verify":
        from .verify import verify

        return verify(
            target,
            objects=args.objects,
            timeout_s=args.replication_timeout,
            progress=progress,
        )
    from .backfill import backfill

    target.outputs.region(args.region, secondary=True)
    return backfill(
        target,
        args.region,
        prefix=args.prefix,
        concurrency=args.concurrency,
        progress=progress,
    )


def summary_lines(command: str, result: dict[str, Any]) -> list[str]:
    """The people's version of a result (stderr)."""
    if command == "publish":
        lines = [
            f"uploaded {result['uploaded']}, unchanged {result['unchanged']}, "
            f"deleted {result['deleted']}, failed {len(result['failed'])} "
            f"in {result['seconds']:.1f} s"
        ]
        lines += [f"  FAILED {f['key']}: {f['reason']}" for f in result["failed"]]
        if result["replicated"] is not None:
            lines.append(
                "replicated: "
                + ", ".join(f"{r} {n}" for r, n in result["replicated"].items())
                + ("" if not result["not_replicated"] else "  (INCOMPLETE)")
            )
        for region, keys in result["not_replicated"].items():
            why = result["region_errors"].get(region, "timed out")
            lines.append(f"  NOT in {region} ({why}): {len(keys)} keys, e.g. {', '.join(keys[:5])}")
        if result["invalidation_id"]:
            lines.append(
                f"invalidation {result['invalidation_id']} "
                f"({len(result['invalidated_paths'])} paths)"
            )
        if "invalidation_error" in result:
            lines.append(f"  invalidation FAILED: {result['invalidation_error']}")
        return lines
    if command == "status":
        lines = [f"{'region':<16}{'healthy':>9}{'in table':>10}{'weight':>8}{'pending':>9}"]
        for region, entry in result["regions"].items():
            cells = [entry["healthy"], entry["in_table"], entry["weight"]]
            text = ["-" if c is None else str(c).lower() for c in cells]
            pending = entry["replication_pending"]
            lines.append(
                f"{region:<16}{text[0]:>9}{text[1]:>10}{text[2]:>8}"
                f"{'?' if pending is None else pending:>9}"
            )
        dist = result["distribution"]
        lines.append(
            f"distribution {dist.get('status') or dist.get('error')}, "
            f"function version {dist.get('function_version')}"
        )
        lines += [f"  note: {note}" for note in result["notes"]]
        lines.append(f"verdict: {result['verdict']}")
        return lines
    if command == "verify":
        lines = [
            f"{result['objects']} canaries: "
            + ", ".join(
                f"{r} {n} (expected {100 * result['expected_share'].get(r, 0):.0f} %)"
                for r, n in result["by_region"].items()
            ),
            f"max deviation {result['max_deviation_pp']} points; errors {len(result['errors'])}",
        ]
        lines += [f"  {e['stage']} {e['key']}: {e['error']}" for e in result["errors"][:10]]
        lines += [f"  note: {note}" for note in result["notes"]]
        lines.append(f"verdict: {result['verdict']}")
        return lines
    lines = [
        f"backfill {result['region']}: copied {result['copied']}, skipped {result['skipped']}, "
        f"failed {len(result['failed'])} in {result['seconds']:.1f} s"
    ]
    return lines + [f"  FAILED {f['key']}: {f['reason']}" for f in result["failed"]]


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Entry point of ``asset-delivery`` and ``python -m asset_delivery``."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if stdout is None:
            signal.signal(signal.SIGTERM, _terminate)
        result, code = run(args)
    except UsageError as error:
        print(f"asset-delivery: {error}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("asset-delivery: interrupted", file=err)
        return EXIT_INTERRUPTED
    except Exception as error:  # an AWS call that failed outright: one line, no traceback
        from .objects import describe_error

        print(f"asset-delivery: {describe_error(error)}", file=err)
        return EXIT_FAILED
    for line in summary_lines(args.command, result):
        print(line, file=err)
    if args.json:
        out.write(json.dumps(result, sort_keys=False) + "\n")
        out.flush()
    return code
