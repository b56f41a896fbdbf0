# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The layout rules of docs/architecture.txt that import-linter's contracts (in
setup.cfg, run by bin/test) do not express: no import cycle between
vdetwist's modules (function-level imports included), no module over 1,000
lines, codecs that use no reactor, and C{test-case-name} headers that name
test modules which exist.
"""

import ast
import importlib.util
import os
import re
from typing import Dict, Iterator, List, Set, Tuple

from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "vdetwist")

#: The longest a module may be, in lines.
MAX_MODULE_LINES = 1000


def sourceFiles() -> Iterator[Tuple[str, str]]:
    """
    Every Python module of vdetwist.

    @return: an iterator of C{(dotted name, path)}.
    """
    for directory, subdirectories, names in os.walk(PACKAGE):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if relative[-1] == "__init__":
                relative = relative[:-1]
            yield ".".join(relative), path


def importedModules(name: str, path: str, known: Set[str]) -> Set[str]:
    """
    The vdetwist modules that one module imports anywhere in its text (at
    the top, in functions, under C{TYPE_CHECKING}).

    @param name: the module's dotted name.
    @param path: its file.
    @param known: every vdetwist module's dotted name.
    @return: the names of the modules it imports.
    """
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    isPackage = path.endswith("__init__.py")
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                if not isPackage:
                    parts = parts[:-1]
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [base + "." + alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target in known and target != name:
                found.add(target)
    return found


def findCycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """
    The strongly connected components of more than one module (Tarjan).

    @param graph: module name to the modules it imports.
    @return: each cycle's modules, sorted.
    """
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    onStack: Set[str] = set()
    cycles: List[List[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        onStack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in onStack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                onStack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def importGraph() -> Dict[str, Set[str]]:
    """
    vdetwist's import graph.  A package's C{__init__} importing its own
    submodules is the package's normal shape, so edges from a package to its
    own descendants are left out; everything else counts.

    @return: module name to the modules it imports.
    """
    modules = dict(sourceFiles())
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        graph[name] = {target for target in importedModules(name, path, known)
                       if not target.startswith(name + ".")}
    return graph


class ImportCycleTests(SynchronousTestCase):
    """
    No import cycle in vdetwist, function-level imports included.
    """

    def test_findCycles(self) -> None:
        """
        L{findCycles} finds a cycle of three and ignores a chain.
        """
        graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
        self.assertEqual(findCycles(graph), [["a", "b", "c"]])
        self.assertEqual(findCycles({"a": {"b"}, "b": set()}), [])

    def test_functionLevelImportsCount(self) -> None:
        """
        An import inside a function body is an edge of the graph.
        """
        path = os.path.join(self.mktemp() + ".py")
        with open(path, "w") as f:
            f.write("def f():\n    from vdetwist.wire import frames\n    return frames\n")
        self.assertEqual(importedModules("vdetwist.x", path,
                                         {"vdetwist.wire", "vdetwist.wire.frames"}),
                         {"vdetwist.wire", "vdetwist.wire.frames"})

    def test_noCycles(self) -> None:
        """
        vdetwist's modules import each other without a cycle.
        """
        self.assertEqual(findCycles(importGraph()), [])


class ModuleSizeTests(SynchronousTestCase):
    """
    Modules stay small enough to read in one sitting.
    """

    def test_noModuleOverLimit(self) -> None:
        """
        No module of vdetwist is over L{MAX_MODULE_LINES} lines.
        """
        tooLong = {}
        for name, path in sourceFiles():
            with open(path, encoding="utf-8") as f:
                count = sum(1 for _ in f)
            if count > MAX_MODULE_LINES:
                tooLong[name] = count
        self.assertEqual(tooLong, {})


class CodecTests(SynchronousTestCase):
    """
    The codecs in vdetwist.wire use no reactor and read no clock.
    """

    def test_wireUsesNoReactor(self) -> None:
        """
        No module of vdetwist.wire imports C{twisted.internet} or C{time}.
        """
        offending = {}
        for name, path in sourceFiles():
            if not name.startswith("vdetwist.wire"):
                continue
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                names: List[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for imported in names:
                    if imported.startswith("twisted.internet") or imported == "time":
                        offending.setdefault(name, []).append(imported)
        self.assertEqual(offending, {})


class TestCaseNameTests(SynchronousTestCase):
    """
    Each C{test-case-name} header names test modules that exist.
    """

    def test_headersNameRealModules(self) -> None:
        """
        Every module named in a C{-*- test-case-name: ... -*-} header of
        vdetwist, twisted/plugins and tests can be found.
        """
        header = re.compile(r"-\*-\s*test-case-name:\s*([^*]+?)\s*-\*-")
        missing = {}
        roots = [PACKAGE, os.path.join(ROOT, "twisted", "plugins"), os.path.join(ROOT, "tests")]
        for top in roots:
            for directory, subdirectories, names in os.walk(top):
                subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
                for fileName in names:
                    if not fileName.endswith(".py"):
                        continue
                    path = os.path.join(directory, fileName)
                    with open(path, encoding="utf-8") as f:
                        first = f.readline() + f.readline()
                    match = header.search(first)
                    if match is None:
                        continue
                    for target in match.group(1).split(","):
                        target = target.strip()
                        if importlib.util.find_spec(target) is None:
                            missing[os.path.relpath(path, ROOT)] = target
        self.assertEqual(missing, {})
