"""weakcache.testing is a package of small modules with small functions, and no private pytest API."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "weakcache" / "testing"
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 60


def sources() -> Dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.glob("*.py"))}


def test_the_package_has_one_module_per_job() -> None:
    assert {"__init__.py", "tracker.py", "search.py", "report.py", "culprits.py", "plugin.py"} <= set(sources())
    assert not (PACKAGE.parent / "testing.py").exists()


@pytest.mark.parametrize("name", sorted(sources()))
def test_no_module_over_700_lines(name: str) -> None:
    assert len(sources()[name].splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("name", sorted(sources()))
def test_no_function_over_60_lines(name: str) -> None:
    tree = ast.parse(sources()[name])
    too_long = {
        node.name: node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES  # type: ignore[operator]
    }
    assert too_long == {}


def test_culprit_rules_are_a_table() -> None:
    from weakcache.testing import culprits

    assert len(culprits.STEP_RULES) >= 5 and all(callable(rule) for rule in culprits.STEP_RULES)
    assert culprits.FALLBACK_RULES[-1] is culprits.reachable
