"""Mutation testing tests the mutated code (tests/conftest.py, docs/testing.md).

mutmut runs the suite from a ``mutants/`` copy of the sources, while ``asset_delivery``
is an editable install that points at the original folders. These tests build such a
copy with a planted bug and check that a test run there sees the bug when mutmut's
variable is set, and the original code otherwise, without running mutmut itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PROBE = """
from pathlib import Path

import asset_delivery
from asset_delivery import edge_package
from asset_delivery.edge_handler import routing
from asset_delivery.lab import cloudfront_rules

TREE = Path(__file__).resolve().parent.parent


def test_the_weight_limit_is_route53s():
    assert routing.MAX_WEIGHT == 255


def test_names_share_the_mutated_modules():
    import components
    import edge_handler.routing

    assert asset_delivery is components
    assert routing is edge_handler.routing
    assert edge_package.edge_handler is edge_handler
    assert Path(routing.__file__).is_relative_to(TREE)
    assert not Path(cloudfront_rules.__file__).is_relative_to(TREE)
"""


@pytest.fixture(scope="module")
def mutants_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``mutants/`` copy whose routing module carries a planted bug."""
    tree = tmp_path_factory.mktemp("copy") / "mutants"
    for package in ("components", "edge_handler"):
        shutil.copytree(
            REPO / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    routing = tree / "edge_handler" / "routing.py"
    source = routing.read_text()
    assert "MAX_WEIGHT = 255\n" in source
    routing.write_text(source.replace("MAX_WEIGHT = 255\n", "MAX_WEIGHT = 254\n"))
    (tree / "tests").mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", tree / "tests" / "conftest.py")
    (tree / "tests" / "test_probe.py").write_text(PROBE)
    return tree


def run_probe(tree: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_under_mutmut_the_planted_bug_is_caught(mutants_tree: Path) -> None:
    env = {**os.environ, "MUTANT_UNDER_TEST": ""}
    result = run_probe(mutants_tree, env)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "test_the_weight_limit_is_route53s" in result.stdout


def test_without_mutmut_the_installed_package_is_used(mutants_tree: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    result = run_probe(mutants_tree, env)
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "test_names_share_the_mutated_modules" in result.stdout


MUTATED_MODULE = """
def x_check__mutmut_orig(doc):
    if doc.get("weight") > 255:
        raise ValueError("weight above 255")
    return doc


def x_check__mutmut_1(doc):
    if doc.get("weight") > 255:
        raise ValueError("XXweight above 255XX")
    return doc


def x_check__mutmut_2(doc):
    if doc.get("WEIGHT") > 255:
        raise ValueError("weight above 255")
    return doc


def x_check__mutmut_3(doc):
    if doc.get("weight") >= 255:
        raise ValueError("weight above 255")
    return doc


def x_check__mutmut_4(doc):
    if doc.get("weight") > 256:
        raise ValueError("weight above 255")
    return doc
"""


def test_the_score_counts_message_only_mutants_apart(tmp_path: Path) -> None:
    """``tools/mutation_score.py``: a changed message is not logic, a changed key is."""
    module = tmp_path / "mutants" / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text(MUTATED_MODULE)
    verdicts = {"pkg.mod.x_check__mutmut_1": 0, "pkg.mod.x_check__mutmut_2": 0}
    verdicts |= {"pkg.mod.x_check__mutmut_3": 1, "pkg.mod.x_check__mutmut_4": None}
    module.with_name("mod.py.meta").write_text(json.dumps({"exit_code_by_key": verdicts}))
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "mutation_score.py"), "--survivors"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # 1 of 4 killed; 3 mutants are logic, 1 of them killed
    assert "| `pkg/mod.py` | 1 / 4 | 25.0 | 1 / 3 | 33.3 |" in lines
    assert "1 mutants not run yet: the table counts them as survivors" in lines
    assert (
        "survived\tmessage\tpkg.mod.x_check__mutmut_1: raise ValueError('XXweight above 255XX')"
        in lines
    )
    assert "survived\tlogic\tpkg.mod.x_check__mutmut_2: if doc.get('WEIGHT') > 255:" in lines
