#!/usr/bin/env python3
"""The shape of the server package, read from its source (nothing is imported):
modules, package-level import cycles, SQL outside ``store/``, the longest
modules and functions.

    python scripts/structure.py [--root server/chairside] [--json]

A *package* is a sub-package (``dictation``, ``store``, …) or a top-level
module (``session``, ``events``, …).  Imports under ``if TYPE_CHECKING:``
are annotations only and do not count; imports inside functions do.
``tests/test_structure.py`` holds the two rules: no package-level cycle, no
SQL outside ``store/``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "server" / "chairside"
# A string that is SQL: a statement keyword in capitals, as the code writes them.
SQL = re.compile(r"^\s*(?:SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE |ALTER |DROP |TRUNCATE |WITH \w+ AS|LISTEN|NOTIFY)\b"
                 r"|\bpg_(?:notify|advisory)\w*\(")


@dataclass
class Shape:
    modules: dict[str, int] = field(default_factory=dict)  # dotted name → lines
    edges: dict[str, set[str]] = field(default_factory=dict)  # package → packages it imports
    sql: list[tuple[str, int, str]] = field(default_factory=list)  # module, line, first words
    functions: list[tuple[int, str]] = field(default_factory=list)  # lines, module:qualified name

    def cycles(self) -> list[list[str]]:
        return [sorted(c) for c in strongly_connected(self.edges) if len(c) > 1]

    def sql_outside_store(self) -> list[tuple[str, int, str]]:
        return [s for s in self.sql if not s[0].startswith("store.")]


def package_of(module: str) -> str:
    return module.split(".")[0]


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The dotted names (relative to chairside) an import statement names."""
    if node.level == 0:
        base = node.module or ""
        if not base.startswith("chairside"):
            return []
        parts = base.split(".")[1:]
    else:
        here = module.split(".") if is_package else module.split(".")[:-1]
        parts = here[: len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    if parts:
        return [".".join(parts)]
    return [alias.name for alias in node.names]  # "from . import events"


def _type_checking_only(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def read(root: Path = ROOT) -> Shape:
    shape = Shape()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        is_package = rel.name == "__init__.py"
        module = ".".join(rel.with_suffix("").parts[:-1] if is_package else rel.with_suffix("").parts) or "__init__"
        source = path.read_text()
        tree = ast.parse(source)
        shape.modules[module] = len(source.splitlines())
        annotations_only = _type_checking_only(tree)
        mine = package_of(module)
        shape.edges.setdefault(mine, set())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.lineno not in annotations_only:
                for target in _resolve(module, is_package, node):
                    other = package_of(target)
                    if other and other != mine and ((root / other).is_dir() or (root / f"{other}.py").exists()):
                        shape.edges[mine].add(other)
            elif isinstance(node, ast.Import) and node.lineno not in annotations_only:
                for alias in node.names:
                    if alias.name.startswith("chairside."):
                        other = alias.name.split(".")[1]
                        if other != mine:
                            shape.edges[mine].add(other)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                shape.sql.append((module, node.lineno, " ".join(node.value.split()[:4])))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                shape.functions.append(((node.end_lineno or node.lineno) - node.lineno + 1, f"{module}:{node.name}"))
    shape.functions.sort(reverse=True)
    return shape


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    shape = read(args.root)
    outside = shape.sql_outside_store()
    summary = {
        "modules": len(shape.modules),
        "lines": sum(shape.modules.values()),
        "package_cycles": shape.cycles(),
        "sql_statements": len(shape.sql),
        "sql_outside_store": len(outside),
        "sql_outside_store_by_module": {m: sum(1 for s in outside if s[0] == m) for m in sorted({s[0] for s in outside})},
        "longest_modules": sorted(((n, m) for m, n in shape.modules.items()), reverse=True)[: args.top],
        "longest_functions": shape.functions[: args.top],
        "imports": {k: sorted(v) for k, v in sorted(shape.edges.items())},
    }
    if args.json:
        print(json.dumps(summary, indent=1, ensure_ascii=False))
        return 0
    print(f"{summary['modules']} modules, {summary['lines']} lines")
    print(f"package-level import cycles: {summary['package_cycles'] or 'none'}")
    print(f"SQL statements: {summary['sql_statements']}, outside store/: {summary['sql_outside_store']} "
          f"{summary['sql_outside_store_by_module'] or ''}")
    print("longest modules: " + ", ".join(f"{m} {n}" for n, m in summary["longest_modules"]))
    print("longest functions: " + ", ".join(f"{f} {n}" for n, f in summary["longest_functions"]))
    print("imports (package → packages):")
    for package, targets in summary["imports"].items():
        print(f"  {package} → {', '.join(targets) or '—'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
