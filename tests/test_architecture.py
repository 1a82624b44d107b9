"""Arrows run one way: the ground (territoire_hub/) ← sources, expectations, publish ← orchestration.

The import graph is read from the source with ``ast`` (imports inside functions included) through
pyproject's package-dir mapping; a cycle between files or packages, or an import against the
arrows, fails with the offending modules named.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = {"territoire_hub": 0, "sources": 1, "expectations": 1, "publish": 1, "dbt_project": 1, "orchestration": 2}
# the same layer may not import each other either: a reader knows nothing of the suites or of CKAN
SIBLINGS_FORBIDDEN = True


def _mapping() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-dir"]


def _module_path(module: str, mapping: dict[str, str]) -> str | None:
    for package in sorted(mapping, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            rest = module[len(package):].lstrip(".").replace(".", "/")
            return mapping[package].rstrip("/") + ("/" + rest if rest else "")
    return None


def import_graph() -> dict[str, set[str]]:
    """``{file: {imported file}}`` for every module of the hub (ckanext and tests excluded)."""
    mapping = _mapping()
    files = {p for folder in set(mapping.values()) for p in (ROOT / folder).rglob("*.py")
             if "ckanext" not in p.parts and ".venv" not in p.parts}
    known = {str(p.relative_to(ROOT))[:-3] for p in files}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in files:
        source = str(path.relative_to(ROOT))[:-3]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from package import module` uses the module; `from module import name`, the module
                names = [f"{node.module}.{a.name}" for a in node.names]
                submodules = [m for m in names if _module_path(m, mapping) in known]
                modules = submodules if len(submodules) == len(names) else [node.module] + submodules
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                target = _module_path(module, mapping)
                if target is None:
                    continue
                if target not in known and target + "/__init__" in known:
                    target += "/__init__"
                if target in known and target != source:
                    graph[source].add(target)
    return graph


def _top(path: str) -> str:
    return path.split("/")[0]


def test_no_import_runs_against_the_arrows():
    wrong = sorted(f"{a} imports {b}" for a, targets in import_graph().items() for b in targets
                   if _top(a) != _top(b) and (LAYER[_top(b)] > LAYER[_top(a)]
                                              or (SIBLINGS_FORBIDDEN and LAYER[_top(b)] == LAYER[_top(a)]
                                                  )))
    assert wrong == []


def test_no_import_cycle_between_files():
    graph = import_graph()

    def reachable(start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in reachable(b)})
    assert cycles == []


def test_the_graph_is_read_at_all():
    graph = import_graph()
    assert "territoire_hub/registry" in graph["orchestration/ingestion"]
    assert "expectations/gate" in graph["orchestration/ingestion"]      # the composition lives above both
