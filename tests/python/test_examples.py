"""The README's demo and the example files keep working."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import weakcache

ROOT = Path(__file__).resolve().parents[2]


def test_leak_demo_shows_the_functools_leak_and_none_for_weakcache() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples/python/leak_demo.py"), "--requests", "400"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = {line.split("  ")[0].strip(): line.split() for line in out.stdout.splitlines() if "  " in line}
    # columns: decorator, instances alive, memory, unit, CacheInfo...
    assert lines["functools.cache"][1] == "400"
    assert lines["functools.lru_cache(maxsize=128)"][1] == "128"
    assert lines["weakcache.cache"][1] == "0"
    assert lines["weakcache.lru_cache(maxsize=128)"][1] == "0"
    assert "functools.cache kept 400 of 400 Report objects alive; weakcache.cache kept 0." in out.stdout


def test_python_dash_m_weakcache_prints_versions() -> None:
    out = subprocess.run([sys.executable, "-m", "weakcache"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"libweakcache (C core) {weakcache.__version__}" in out.stdout
    assert "uthash" not in out.stdout   # the core has its own index
    assert "build flags:" in out.stdout
