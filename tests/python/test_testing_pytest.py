"""The pytest plugin of weakcache.testing is invisible until used.

* importing weakcache before pytest starts gives no "cannot be rewritten" warning;
* a run where no test uses the fixture or the marker never calls the plugin per test;
* public pytest API only, new-style hook wrappers;
* works under pytest-xdist (``-n 2``) and can be disabled with ``-p no:weakcache.testing``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List

import pytest

from test_testing_plugin import _plugin_args, run

pytest_plugins = ["pytester"]

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "weakcache" / "testing"


def _environ(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(extra)
    return env


def _run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=str(cwd), env=_environ(**env),
        capture_output=True, text=True, timeout=300,
    )


# ---------------------------------------------------------------------------
# Source rules
# ---------------------------------------------------------------------------


def _trees() -> Dict[str, ast.AST]:
    return {p.name: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.glob("*.py"))}


def test_no_private_pytest_imports() -> None:
    private = []
    for name, tree in _trees().items():
        for node in ast.walk(tree):
            modules: List[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("_pytest"):
                modules = [node.value]  # importlib.import_module("_pytest...")
            private += ["%s: %s" % (name, m) for m in modules if m == "_pytest" or m.startswith("_pytest.")]
    assert private == []


def test_new_style_hook_wrappers_only() -> None:
    keywords = {
        (name, kw.arg)
        for name, tree in _trees().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg in ("hookwrapper", "wrapper")
    }
    assert keywords and {arg for _name, arg in keywords} == {"wrapper"}


# ---------------------------------------------------------------------------
# Imported before pytest: no assertion-rewrite warning
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["entry point", "-p weakcache.testing"])
def test_no_rewrite_warning_when_weakcache_was_imported_first(tmp_path: Path, how: str) -> None:
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    env: Dict[str, str] = {}
    if how == "entry point":
        imports, args = "import weakcache", []
    else:
        imports, args = "import weakcache, weakcache.testing, weakcache.testing.plugin", ["-p", "weakcache.testing"]
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    done = _run(
        """
        %s
        import sys, pytest
        sys.exit(pytest.main(%r + ["-W", "error", "-p", "no:cacheprovider", "-q", "test_ok.py"]))
        """ % (imports, args),
        tmp_path, **env,
    )
    output = done.stdout + done.stderr
    assert "cannot be rewritten" not in output
    assert done.returncode == 0, output
    assert "1 passed" in output


# ---------------------------------------------------------------------------
# Nothing per test where the plugin is unused
# ---------------------------------------------------------------------------

COUNTING_CONFTEST = """
import json, os, sys
import pytest

PACKAGE = os.path.dirname(__import__("weakcache.testing").testing.__file__) + os.sep
calls = {"plugin": 0, "tests": 0}

def _profile(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.startswith(PACKAGE):
        calls["plugin"] += 1

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    calls["tests"] = len(session.items)
    sys.setprofile(_profile)
    try:
        return (yield)
    finally:
        sys.setprofile(None)
        calls["active"] = session.config.pluginmanager.has_plugin("weakcache.testing.active")
        calls["guarded"] = sum("_weakcache_leak_guard" in item.fixturenames for item in session.items)
        calls["tracker_imported"] = "weakcache.testing.tracker" in sys.modules
        with open("calls.json", "w") as out:
            json.dump(calls, out)
"""

PLAIN_TESTS = """
import pytest

@pytest.fixture
def value():
    return 3

@pytest.mark.parametrize("i", range(50))
def test_plain(i, value):
    assert i * value == value * i
"""


def _counted_run(pytester: pytest.Pytester, passed: int) -> Dict[str, Any]:
    pytester.makeconftest(COUNTING_CONFTEST)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=passed)
    return json.loads((pytester.path / "calls.json").read_text())  # type: ignore[no-any-return]


def test_unused_plugin_costs_no_call_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=PLAIN_TESTS)
    calls = _counted_run(pytester, 50)
    assert calls["tests"] == 50
    assert calls == {"plugin": 0, "tests": 50, "active": False, "guarded": 0, "tracker_imported": False}


def test_the_plugin_wakes_up_for_the_test_that_uses_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain=PLAIN_TESTS,
        test_uses="def test_tracked(leak_tracker):\n    leak_tracker.track(type('T', (), {})())\n",
    )
    calls = _counted_run(pytester, 51)
    assert calls["active"] is True and calls["guarded"] == 1 and calls["tracker_imported"] is True
    assert calls["plugin"] > 0


# ---------------------------------------------------------------------------
# pytest-xdist and -p no:weakcache.testing
# ---------------------------------------------------------------------------

# The start of every generated test module below: a class to leak, a list to leak it in.
HEADER = """
import pytest

class Model:
    pass

held = []
"""

XDIST_SUITE = HEADER + """
@pytest.mark.parametrize("i", range(6))
def test_clean(leak_tracker, i):
    leak_tracker.track(Model())

@pytest.mark.no_leaks(Model, strict=False)
def test_marker_clean():
    Model()
"""

XDIST_LEAKS = """
def test_fixture_leak(leak_tracker):
    held.append(leak_tracker.track(Model()))

@pytest.mark.no_leaks(Model, strict=False)
def test_marker_leak():
    held.append(Model())
"""


def assert_leaks(result: pytest.RunResult, passed: int, *leaking: str) -> None:
    """``passed`` tests passed and each test named in ``leaking`` failed its leak check."""
    result.assert_outcomes(passed=passed, errors=len(leaking))
    result.stdout.fnmatch_lines_random(["*ERROR at teardown of %s*" % name for name in leaking])


def test_xdist_clean_suite_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=XDIST_SUITE)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "-n", "2", "--strict-markers")
    result.assert_outcomes(passed=7)
    assert result.ret == 0


def test_xdist_reports_leaks_and_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=XDIST_SUITE + XDIST_LEAKS)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "-n", "2", "--strict-markers")
    assert_leaks(result, 9, "test_fixture_leak", "test_marker_leak")
    assert result.ret == 1
    result.stdout.fnmatch_lines_random([
        "LeakError: 1 object still alive after 3 gc.collect() passes: Model object*",
        "*path: module test_suite \u2192 .held (list) \u2192 Model object",
        "*(created during the test; no_leaks(Model))",
    ])


def test_disabled_with_p_no(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_off="""
        import pytest

        def test_fixture(leak_tracker):
            pass

        @pytest.mark.no_leaks(int, strict=False)
        def test_marker():
            pass
        """
    )
    on = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "--strict-markers")
    on.assert_outcomes(passed=2)
    off = pytester.runpytest_subprocess("-p", "no:weakcache.testing", "-p", "no:cacheprovider")
    off.assert_outcomes(passed=1, errors=1, warnings=1)
    off.stdout.fnmatch_lines_random(["*fixture 'leak_tracker' not found*", "*Unknown pytest.mark.no_leaks*"])


def test_marks_on_the_module_class_and_param_are_all_found(pytester: pytest.Pytester) -> None:
    # The guard is given at collection by reading marks: every place a mark can sit.
    pytester.makepyfile(
        test_module_mark=HEADER + """
pytestmark = pytest.mark.no_leaks(Model, strict=False)

def test_module_level():
    held.append(Model())
""",
        test_other_marks=HEADER + """
@pytest.mark.no_leaks(Model, strict=False)
class TestClass:
    def test_class_level(self):
        held.append(Model())

@pytest.mark.parametrize("n", [0, pytest.param(1, marks=pytest.mark.no_leaks(Model, strict=False))])
def test_param_level(n):
    held.extend(Model() for _ in range(n))
""",
    )
    assert_leaks(run(pytester, "--strict-markers"), 4, "test_module_level", "TestClass.test_class_level",
                 "test_param_level[[]1[]]")


def test_leak_tracker_requested_while_the_test_runs(pytester: pytest.Pytester) -> None:
    # Its guard is set up last, yet the check still waits for every fixture's teardown.
    pytester.makepyfile(
        test_late=HEADER + """
@pytest.fixture
def model():
    yield Model()

def test_fixture_value_is_freed(request, model):
    request.getfixturevalue("leak_tracker").track(model)

def test_leak_is_reported(request):
    held.append(request.getfixturevalue("leak_tracker").track(Model()))

def test_failed_test_is_not_judged(request):
    held.append(request.getfixturevalue("leak_tracker").track(Model()))
    assert False
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=1, errors=1)
    result.stdout.fnmatch_lines_random([
        "*ERROR at teardown of test_leak_is_reported*",
        "*path: module test_late \u2192 .held (list) \u2192 Model object",
    ])
