"""Make mutation testing (mutmut) test the mutated code, not the installed package.

mutmut copies ``components/`` and ``edge_handler/`` into ``mutants/`` and runs the tests
there, but ``asset_delivery`` is an editable install whose finder maps the name to the
ORIGINAL folders: without this hook every mutant would run against unmutated code and
"survive". mutmut names each mutant after the copied file's path
(``edge_handler.routing.x_rank__mutmut_3``, ``components.config.x_...``) and only
activates it in a module of that exact name, so the mutated folders are imported under
their folder names (``components``, ``edge_handler``: the latter is also the name the
function has in its Lambda archive) and ``asset_delivery`` / ``asset_delivery.edge_handler``
become aliases of them. ``asset_delivery.lab`` is not mutated and keeps resolving to the
original folder.

The hook is active only when mutmut runs the tests (it sets ``MUTANT_UNDER_TEST``) from a
``mutants/`` copy; a normal ``pytest`` run never touches the import system.
See docs/testing.md.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_TREE = Path(__file__).resolve().parent.parent
_PACKAGES = ("asset_delivery", "components", "edge_handler")
# Installed name prefix -> folder name in the mutated tree; the longest prefix wins.
_ALIASES = (
    ("asset_delivery.edge_handler", "edge_handler"),
    ("components.edge_handler", "edge_handler"),
    ("asset_delivery", "components"),
)


def _target(fullname: str) -> str | None:
    """The mutated tree's module name for an installed name, or None to leave it alone."""
    if fullname == "asset_delivery.lab" or fullname.startswith("asset_delivery.lab."):
        return None
    for prefix, folder in _ALIASES:
        if fullname == prefix or fullname.startswith(prefix + "."):
            return folder + fullname[len(prefix) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Loads an installed name by importing the mutated module and putting it in its place."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds after exec_module, so the
        # installed name and the folder name share one module object (and one set of
        # globals: patching either name patches both).
        sys.modules[module.__name__] = importlib.import_module(self.target)


class MutantTreeFinder(importlib.abc.MetaPathFinder):
    """Resolves the package's names to the mutated copies in ``tree``."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in _PACKAGES[1:]:
            # Top-level folder names load from the mutated tree, never from sys.path.
            return importlib.machinery.PathFinder.find_spec(fullname, [str(self.tree)])
        alias = _target(fullname)
        if alias is None:
            return None
        is_package = (self.tree / alias.replace(".", "/") / "__init__.py").is_file()
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(alias), is_package=is_package)


def _install_mutant_tree_finder() -> None:
    # mutmut sets the variable (possibly to "") in every process it runs tests in.
    if "MUTANT_UNDER_TEST" not in os.environ or _TREE.name != "mutants":
        return
    if os.environ["MUTANT_UNDER_TEST"] == "stats":
        # While mutmut maps tests to functions, the tests' own child interpreters (the
        # archive-layout tests) must run plain code: a trampoline there would look for
        # mutmut's configuration in the child's working directory. mutmut keeps the mode
        # in a process-local copy too, so this process still records. Mutant runs keep
        # the variable: child interpreters then run the mutant as well.
        del os.environ["MUTANT_UNDER_TEST"]
    if any(isinstance(finder, MutantTreeFinder) for finder in sys.meta_path):
        return
    # Anything imported before this point came from the original folders.
    for name in [n for n in sys.modules if n.split(".")[0] in _PACKAGES]:
        del sys.modules[name]
    sys.meta_path.insert(0, MutantTreeFinder(_TREE))


_install_mutant_tree_finder()
