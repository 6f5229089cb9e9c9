"""Fixtures shared by the lru_cache suites."""
from __future__ import annotations

import gc
import sys
from typing import Iterator

import pytest

from weakcache._weakcache import _owner_count


def _forget_earlier_failures() -> None:
    # pytest keeps the last failure's traceback (sys.last_traceback), whose
    # frames may hold owners of an earlier test.
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)
    gc.collect()   # hygiene before the baseline; tests themselves never rely on it


@pytest.fixture
def owners() -> Iterator[int]:
    """Asserts that a test leaves no owner record behind; yields the baseline."""
    _forget_earlier_failures()
    before = _owner_count()
    yield before
    assert _owner_count() == before
