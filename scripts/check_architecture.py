"""The shape rules of harness/ that a linter does not check: no import circle between any two modules
(import-linter's layer contract covers imports between layers, not within one), no module over
MAX_MODULE_LINES and no function over MAX_FUNCTION_LINES. Prints each breach; exit 1 if any."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (or a node importing itself), each
    sorted: every import circle, found by Tarjan's algorithm (iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def import_cycles(package: str) -> list[list[str]]:
    import grimp

    graph = grimp.build_graph(package)
    return cycles({m: graph.find_modules_directly_imported_by(m) for m in graph.modules})


def size_breaches(root: Path) -> list[str]:
    """Modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES under ``root``."""
    breaches = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            breaches.append(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    breaches.append(
                        f"{path}:{node.lineno}: {node.name} has {length} lines (at most {MAX_FUNCTION_LINES})"
                    )
    return breaches


def main() -> int:
    problems = [f"import circle: {' <-> '.join(c)}" for c in import_cycles("harness")]
    problems += size_breaches(Path(__file__).parents[1] / "harness")
    for line in problems:
        print(f"check_architecture: {line}", file=sys.stderr)
    if not problems:
        print("check_architecture: no import circle; modules and functions within their limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
