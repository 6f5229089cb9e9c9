"""What the weakcache.testing pytest plugin costs a suite that does not use it.

Generates a suite of plain tests (2,000 by default: 20 modules x 100 tests,
a few with a fixture or a parametrize) in a temporary directory and runs it
with ``python -m pytest``:

* ``plugin``: weakcache installed, plugin loaded by its entry point, unused;
* ``no plugin``: the same with ``-p no:weakcache.testing``;
* ``plugin, 1 user``: the same suite plus one test that uses ``leak_tracker``
  (so the plugin's per-test hooks are registered for the whole run).

Wall clock and CPU time (user + sys of the child) are measured in
interleaved rounds (the order alternates) and the medians compared.  Because
timings are noisy on a shared machine, the script also counts, in one
profiled run per mode, the Python function calls made during the test loop
(``sys.setprofile``): total per test, and those in weakcache.testing.

    python bench/python/bench_plugin_overhead.py [--tests 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

PER_MODULE = 100

MODULE = '''
import pytest

@pytest.fixture
def value():
    return 3
{tests}
'''

TEST = '''
def test_{i}({arg}):
    assert {i} * 2 - {i} == {i}
'''

USER = '''
def test_uses_the_plugin(leak_tracker):
    leak_tracker.track(type("T", (), {{}})())
'''

COUNT = '''
import json, os, sys
import pytest
import weakcache.testing

package = os.path.dirname(weakcache.testing.__file__) + os.sep
counts = {"calls": 0, "plugin": 0, "session calls": 0, "session plugin": 0, "tests": 0}
in_loop = [False]

def profile(frame, event, arg):
    if event == "call":
        ours = frame.f_code.co_filename.startswith(package)
        counts["session calls"] += 1
        counts["session plugin"] += ours
        if in_loop[0]:
            counts["calls"] += 1
            counts["plugin"] += ours

class Counter:
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session):
        counts["tests"] = len(session.items)
        in_loop[0] = True
        try:
            return (yield)
        finally:
            in_loop[0] = False

sys.setprofile(profile)
code = pytest.main(sys.argv[1:], plugins=[Counter()])
sys.setprofile(None)
print(json.dumps(counts))
sys.exit(code)
'''

MODES: Dict[str, Tuple[str, List[str]]] = {
    "plugin": ("plain", []),
    "no plugin": ("plain", ["-p", "no:weakcache.testing"]),
    "plugin, 1 user": ("user", []),
}


def make_suite(root: Path, n_tests: int, with_user: bool) -> Path:
    root.mkdir()
    for m in range(0, n_tests, PER_MODULE):
        tests = []
        for i in range(m, min(m + PER_MODULE, n_tests)):
            arg = "value" if i % 10 == 0 else ""
            tests.append(TEST.format(i=i, arg=arg))
        (root / ("test_m%03d.py" % (m // PER_MODULE))).write_text(MODULE.format(tests="".join(tests)))
    if with_user:
        (root / "test_user.py").write_text(USER.format())
    return root


def pytest_args(extra: List[str]) -> List[str]:
    return ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *extra]


def run_once(suite: Path, extra: List[str]) -> Tuple[float, float]:
    """(wall seconds, child CPU seconds) of one pytest run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args(extra)], cwd=str(suite),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit("pytest failed in %s: %s" % (suite, done.stderr[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def count_calls(suite: Path, extra: List[str]) -> Dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, *pytest_args(extra)], cwd=str(suite),
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit("pytest failed in %s: %s" % (suite, done.stdout[-2000:] + done.stderr[-2000:]))
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def count_instructions(suite: Path, extra: List[str]) -> int:
    """Instructions of one whole pytest run under valgrind's callgrind (the
    same on a loaded machine, unlike the times)."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s/out" % tmp,
             sys.executable, "-m", "pytest", *pytest_args(extra)], cwd=str(suite),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit("callgrind run failed in %s: %s" % (suite, done.stderr[-2000:]))
    return int(found.group(1))


def callgrind(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        suite = make_suite(Path(tmp) / "plain", options.tests, False)
        run_once(suite, [])   # bytecode caches
        counts = {mode: count_instructions(suite, MODES[mode][1]) for mode in ("plugin", "no plugin")}
    base = counts["no plugin"]
    print("python %s, %d tests, instructions of the whole run (callgrind)" % (sys.version.split()[0], options.tests))
    for mode, n in counts.items():
        print("%-10s %16d  %.4f" % (mode, n, n / base))
    print("plugin overhead: %.2f%% (%.0f instructions per test, start-up included)" % (
        100.0 * (counts["plugin"] - base) / base, (counts["plugin"] - base) / options.tests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions of one run per mode instead of timing (needs valgrind; minutes)")
    options = parser.parse_args()
    if options.callgrind:
        callgrind(options)
        return
    env_note = os.environ.get("PYTEST_ADDOPTS")
    if env_note:
        print("note: PYTEST_ADDOPTS=%r applies to every run" % env_note)
    with tempfile.TemporaryDirectory() as tmp:
        suites = {
            "plain": make_suite(Path(tmp) / "plain", options.tests, False),
            "user": make_suite(Path(tmp) / "user", options.tests, True),
        }
        for suite in suites.values():  # warm-up: bytecode caches
            run_once(suite, [])
        times: Dict[str, List[Tuple[float, float]]] = {mode: [] for mode in MODES}
        for round_ in range(options.rounds):
            order = list(MODES) if round_ % 2 == 0 else list(reversed(MODES))
            for mode in order:
                suite, extra = MODES[mode]
                times[mode].append(run_once(suites[suite], extra))
        counts = {mode: count_calls(suites[suite], extra) for mode, (suite, extra) in MODES.items()}
    report(times, counts, options)


def report(times: Dict[str, List[Tuple[float, float]]], counts: Dict[str, Dict[str, int]], options: argparse.Namespace) -> None:
    print("python %s, %d tests, %d interleaved rounds (medians)" % (sys.version.split()[0], options.tests, options.rounds))
    base_wall = statistics.median(w for w, _ in times["no plugin"])
    base_cpu = statistics.median(c for _, c in times["no plugin"])
    print("%-16s %8s %6s %8s %6s | %11s %11s | %13s %13s" % (
        "mode", "wall s", "ratio", "cpu s", "ratio", "calls/test", "plugin", "session/test", "plugin"))
    for mode in MODES:
        wall = statistics.median(w for w, _ in times[mode])
        cpu = statistics.median(c for _, c in times[mode])
        c = counts[mode]
        n = c["tests"]
        print("%-16s %8.3f %6.3f %8.3f %6.3f | %11.1f %11.2f | %13.1f %13.2f" % (
            mode, wall, wall / base_wall, cpu, cpu / base_cpu, c["calls"] / n, c["plugin"] / n,
            c["session calls"] / n, c["session plugin"] / n))
    print("cpu s of each round: " + "; ".join(
        "%s: %s" % (mode, " ".join("%.2f" % c for _, c in times[mode])) for mode in MODES))
    print("lowest cpu s: " + "; ".join(
        "%s %.3f (%.3f)" % (mode, min(c for _, c in times[mode]), min(c for _, c in times[mode]) / min(
            c for _, c in times["no plugin"])) for mode in MODES))
    print("calls/test: Python function calls in the test loop (setup, call, teardown, reports);")
    print("session/test: the whole pytest.main (start-up and collection included), per test;")
    print("plugin: of those, calls of functions in weakcache/testing/.")


if __name__ == "__main__":
    main()
