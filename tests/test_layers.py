"""The layering rule: lower modules never import higher ones (file schema -> engine -> model -> ...)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "forecast"
# each module and the package modules it may import (besides the ones listed before it)
LOWER = {
    "errors": set(),
    "words": set(),
    "memory": {"errors"},
    "present": {"spec"},  # only for a type hint
    "safeio": {"errors"},
    "yamlio": {"errors", "safeio"},
    "canonical": {"errors"},  # CPT forms of our own (noisy-MAX), compiled for spec
    "spec": {"errors", "memory", "yamlio", "canonical"},
    "engine": {"errors", "memory"},
    "evidence": {"errors", "present", "spec", "yamlio"},
}


def imported(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("forecast."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("forecast.")}
    return found


@pytest.mark.parametrize("module", sorted(LOWER))
def test_lower_layers_import_only_lower_layers(module):
    assert imported(module) <= LOWER[module], f"forecast/{module}.py imports a higher layer"
