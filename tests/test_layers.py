"""The package layering of docs/architecture.md holds: each subpackage imports only the
ones to its left (at module level or inside functions), and none imports the top-level
``cliffkit`` package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cliffkit

LAYERS = [("utils", "errors", "_version"), ("data",), ("similarity",), ("cliffs",), ("split",),
          ("loss",), ("models", "train"), ("evaluate",), ("experiment",), ("report",),
          ("bench",), ("cli",)]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
ROOT = Path(cliffkit.__file__).parent


def _imports(path: Path):
    """(line, imported cliffkit subpackage or '' for the top level) of every relative import."""
    pkg = path.relative_to(ROOT).parts
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(pkg[:-1])[: len(pkg) - node.level]
            target = base + (node.module.split(".") if node.module else [])
            if target:
                yield node.lineno, target[0]
            else:
                for alias in node.names:
                    yield node.lineno, "" if alias.name == "__version__" else alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cliffkit":
            parts = node.module.split(".")
            yield node.lineno, parts[1] if len(parts) > 1 else ""


FILES = sorted(p for p in ROOT.rglob("*.py") if len(p.relative_to(ROOT).parts) > 1)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_left(path):
    own = path.relative_to(ROOT).parts[0]
    for line, target in _imports(path):
        assert target != "", f"{path.name}:{line} imports the top-level cliffkit package"
        if target in RANK and own in RANK:
            assert RANK[target] <= RANK[own], (
                f"{own}/{path.name}:{line} imports cliffkit.{target}, a layer to its right")
