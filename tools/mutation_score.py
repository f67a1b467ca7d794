"""Per-file mutation score from mutmut's results in ``mutants/`` (docs/testing.md).

Prints, for every mutated file, killed / total, the score, and the score without the
mutants that only change a message's wording (a string literal in a raise, an
exception or a log call); ``--survivors`` also
lists every surviving mutant with the line it changes. Reads what ``mutmut run`` left
behind; runs nothing.

    .venv/bin/python tools/mutation_score.py [--survivors]
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

KILLED = {1, 3}  # mutmut: tests failed, or pytest failed internally
NOT_RUN = {None}
STATUS = {0: "survived", 33: "no tests", 5: "no tests", 34: "skipped", None: "not run"}
TIMEOUTS = {24, -24, 36, 152, 255}


@dataclass
class FileScore:
    path: str
    total: int = 0
    killed: int = 0
    string_only: int = 0
    string_only_killed: int = 0
    not_run: int = 0
    survivors: list[tuple[str, str, bool, str]] = field(default_factory=list)

    def pct(self, killed: int, total: int) -> str:
        return f"{100.0 * killed / total:.1f}" if total else "-"

    def row(self) -> str:
        non_string = self.total - self.string_only
        non_string_killed = self.killed - self.string_only_killed
        return (
            f"| `{self.path}` | {self.killed} / {self.total} | {self.pct(self.killed, self.total)}"
            f" | {non_string_killed} / {non_string} | {self.pct(non_string_killed, non_string)} |"
        )


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _without_strings(node: ast.AST) -> str:
    """The function's shape with every string literal blanked and its name dropped."""
    copy = ast.parse(ast.unparse(node)).body[0]
    copy.name = "_"  # type: ignore[attr-defined]
    for child in ast.walk(copy):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            child.value = ""
    return ast.dump(copy)


def _is_message_call(node: ast.AST) -> bool:
    """A call that builds a message: an exception, a log line, an error list entry."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name.endswith(("Error", "Failed", "anomaly")) or name in ("append", "renamed")


def _only_changes_messages(orig: ast.AST, mutant: ast.AST) -> bool:
    """True when the mutant differs only in string literals that are part of a message.

    A string the code compares, looks up or returns (a key, a header name, a mode) is
    logic; a string inside a ``raise``, an exception's or a log call's arguments is a
    message.
    """
    if _without_strings(orig) != _without_strings(mutant):
        return False
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(orig):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    for before, after in zip(ast.walk(orig), ast.walk(mutant), strict=True):
        if isinstance(before, ast.Constant) and before.value != after.value:  # type: ignore[attr-defined]
            node: ast.AST | None = before
            while node is not None and not (isinstance(node, ast.Raise) or _is_message_call(node)):
                node = parents.get(id(node))
            if node is None:
                return False
    return True


def _changed_line(orig: ast.AST, mutant: ast.AST) -> str:
    before = ast.unparse(orig).splitlines()[1:]
    after = ast.unparse(mutant).splitlines()[1:]
    changed = [
        line[1:].strip()
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    return " / ".join(changed) or "(signature)"


def score_file(meta: Path, root: Path) -> FileScore:
    source_path = meta.with_suffix("")  # x.py.meta -> x.py
    relative = source_path.relative_to(root).as_posix()
    functions = _functions(ast.parse(source_path.read_text(encoding="utf-8")))
    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    result = FileScore(relative)
    if not any(name.endswith("__mutmut_orig") for name in functions):
        return result  # no longer mutated (do_not_mutate): results left from earlier runs
    for key, code in sorted(exit_codes.items()):
        name = key.rpartition(".")[2]
        mutant = functions[name]
        orig = functions[name.partition("__mutmut_")[0] + "__mutmut_orig"]
        string_only = _only_changes_messages(orig, mutant)
        result.total += 1
        result.string_only += string_only
        if code in NOT_RUN:
            result.not_run += 1
        if code in KILLED:
            result.killed += 1
            result.string_only_killed += string_only
        else:
            status = "timeout" if code in TIMEOUTS else STATUS.get(code, f"exit {code}")
            result.survivors.append((key, status, string_only, _changed_line(orig, mutant)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"), help="mutmut's folder")
    args = parser.parse_args(argv)
    metas = sorted(args.mutants.rglob("*.py.meta"))
    if not metas:
        print(f"no mutmut results under {args.mutants}/: run mutmut first", file=sys.stderr)
        return 2
    scores = [score_file(meta, args.mutants) for meta in metas]
    scores = [score for score in scores if score.total]
    total = FileScore("all")
    for score in scores:
        for name in ("total", "killed", "string_only", "string_only_killed", "not_run"):
            setattr(total, name, getattr(total, name) + getattr(score, name))
    print("| file | killed / total | % | non-string killed / total | non-string % |")
    print("|---|---|---|---|---|")
    for score in [*scores, total]:
        print(score.row())
    if total.not_run:
        print(f"\n{total.not_run} mutants not run yet: the table counts them as survivors")
    if args.survivors:
        for score in scores:
            for key, status, string_only, change in score.survivors:
                if status != "not run":
                    kind = "message" if string_only else "logic"
                    print(f"{status}\t{kind}\t{key}: {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
