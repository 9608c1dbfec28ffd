"""Every import between the package's modules, and the layer order they must follow.

Reads source with `ast`, so it sees what `sys.modules` cannot: imports inside
functions and under `if TYPE_CHECKING:` count like any other, because a deferred
import is still a dependency.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What must stay inside `runner/`: the heavy libraries and what pulls them in.
HEAVY = ("torch", "transformers", "trl", "datasets", "accelerate", "peft", "vllm", "liger_kernel")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as seen in `source`."""

    source: str
    target: str
    line: int


@dataclass(frozen=True)
class Layers:
    """The layer order: `order[i]` holds stages that may import only lower lines.

    Stages on one line are peers and independent of each other. Modules under no
    stage (the package roots' `__init__`) may import only the lowest line.
    """

    package: str
    order: tuple[tuple[str, ...], ...]
    entry_points: frozenset[str]

    @classmethod
    def from_pyproject(cls, pyproject: Path) -> Layers:
        table = tomllib.loads(pyproject.read_text("utf-8"))["tool"]["gkd"]["layers"]
        order = tuple(tuple(s.strip() for s in line.split("|")) for line in table["order"])
        return cls(table["package"], order, frozenset(table["entry_points"]))

    def stage_of(self, module: str) -> tuple[int, str] | None:
        """(line index, stage) of `module`, or None for a module outside every stage."""
        for index, stages in enumerate(self.order):
            for stage in stages:
                if module == stage or module.startswith(stage + "."):
                    return index, stage
        return None


def module_name(root: Path, path: Path) -> str:
    """Dotted name of the module in `path` (a package's `__init__` names the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(root: Path, package: str) -> dict[str, Path]:
    return {module_name(root, p): p for p in sorted((root / package).rglob("*.py"))}


def _absolute(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(root: Path, package: str) -> Iterator[Import]:
    """Every import of every module under `root/package`, at any depth of the code."""
    known = _modules(root, package)
    for source, path in known.items():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(source, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(source, path.name == "__init__.py", node)
                for alias in node.names:
                    # `from pkg import mod` depends on the module, not only on pkg.
                    sub = f"{target}.{alias.name}"
                    yield Import(source, sub if sub in known else target, node.lineno)


def layer_violations(root: Path, layers: Layers) -> list[str]:
    """Each import that goes up the order or sideways between peers, one line each."""
    found = []
    lowest = layers.order[0]
    for imp in imports(root, layers.package):
        if not imp.target.startswith(layers.package) or imp.source in layers.entry_points:
            continue
        source, target = layers.stage_of(imp.source), layers.stage_of(imp.target)
        if target is None or (source is not None and source[1] == target[1]):
            continue
        ok = target[1] in lowest if source is None else target[0] < source[0]
        if not ok:
            where = source[1] if source else "a package root"
            found.append(f"{imp.source}:{imp.line} imports {imp.target} ({where} may not import {target[1]})")
    return found


def heavy_imports_outside(root: Path, package: str, inside: str) -> list[str]:
    """Imports of torch and its kin from modules outside `inside`."""
    return [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in imports(root, package)
        if imp.target.split(".")[0] in HEAVY
        and not (imp.source == inside or imp.source.startswith(inside + "."))
    ]


def cycles(root: Path, package: str) -> list[list[str]]:
    """Circles of module imports (strongly connected components of more than one module)."""
    graph: dict[str, set[str]] = {name: set() for name in _modules(root, package)}
    for imp in imports(root, package):
        if imp.target in graph and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is small
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found
