"""The version is written once (include/weakcache.h); everything else derives it."""
from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import weakcache

HEADER = Path(__file__).resolve().parents[2] / "include" / "weakcache.h"


def header_version() -> str:
    text = HEADER.read_text()
    parts = [re.search(rf"^#define WC_VERSION_{p} (\d+)$", text, re.M) for p in ("MAJOR", "MINOR", "PATCH")]
    assert all(parts), "WC_VERSION_MAJOR/MINOR/PATCH must be plain #defines"
    return ".".join(m.group(1) for m in parts)  # type: ignore[union-attr]


def test_every_version_string_agrees() -> None:
    expected = header_version()
    info = weakcache.build_info()
    assert weakcache.__version__ == expected
    assert info["core"] == expected            # wc_version() of the linked C core
    assert info["package"] == expected         # SKBUILD_PROJECT_VERSION, from pyproject's regex
    assert importlib.metadata.version("weakcache") == expected


def test_no_other_file_spells_the_version() -> None:
    root = HEADER.parents[1]
    expected = header_version()
    for rel in ("CMakeLists.txt", "pyproject.toml", "python/weakcache/__init__.py"):
        assert expected not in (root / rel).read_text(), f"{rel} repeats the version {expected}"
