"""The owner-cycle check behind OwnerCycleWarning (issue 9, defects 7 and 8).

Defect 7: an owner that is a class (lru_cache on __new__, as
importlib.metadata.FastPath does) must not warn: every instance references
its class. Defect 8: the check does bounded work, a fixed number of visited
references in total, whatever the size of the value.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pytest

import weakcache
from weakcache import OwnerCycleWarning

BOUND = 256   # WC_CYCLE_VISITS in python/src/lru.h


def cycle_warnings(fn):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fn()
    return [w for w in record if issubclass(w.category, OwnerCycleWarning)]


def test_lru_cache_on_new_does_not_warn():
    class FastPath:
        @weakcache.lru_cache()
        def __new__(cls, root):
            return super().__new__(cls)

        def __init__(self, root):
            self.root = root

    class Sub(FastPath):
        pass

    assert cycle_warnings(lambda: (FastPath("a"), FastPath("a"), Sub("b"))) == []
    assert FastPath("a") is FastPath("a")
    assert FastPath.__new__.cache_info().hits >= 2


def test_classmethod_style_owner_returning_instances_does_not_warn():
    class Registry:
        @weakcache.cache
        def make(cls, n):
            return [cls.__new__(cls) for _ in range(n)]

    assert cycle_warnings(lambda: Registry.make(Registry, 3)) == []


def test_importlib_metadata_with_weakcache_under_W_error():
    code = textwrap.dedent(
        """
        import functools, sys, weakcache
        assert "importlib.metadata" not in sys.modules
        functools.lru_cache = weakcache.lru_cache
        import importlib.metadata as md
        assert type(md.FastPath.__dict__["__new__"]).__module__.startswith("weakcache")
        names = [d.metadata["Name"] for d in md.distributions()]
        assert "pytest" in [n.lower() for n in names if n], names
        assert md.version("pytest")
        print("ok")
        """
    )
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


class Node:
    def __init__(self, parent=None):
        self.parent = parent


@pytest.mark.parametrize("make", [
    lambda self: self,
    lambda self: [self],
    lambda self: {"k": (1, self)},
    lambda self: Node(self),
    lambda self: [Node(self)],
    lambda self: [1, 2, 3, [4, [self]]],
    lambda self: self.helper,
], ids=["self", "list", "dict-tuple", "parent", "list-of-children", "nested", "bound-method"])
def test_near_references_are_found(make):
    class A:
        def helper(self):
            return 1

        @weakcache.lru_cache(maxsize=4)
        def m(self):
            return make(self)

    a = A()
    ws = cycle_warnings(a.m)
    assert len(ws) == 1
    assert A.m._debug_stats()["cycle_visits_max"] <= BOUND
    A.m.cache_clear()


def test_big_values_cost_a_bounded_number_of_visits():
    class A:
        @weakcache.lru_cache(maxsize=2)
        def m(self, k):
            if k == "flat":
                return [0] * 500_000 + [self] + [0] * 500_000
            return [list(range(100_000)) for _ in range(100)]

    a = A()
    assert cycle_warnings(lambda: (a.m("flat"), a.m("nested"))) == []   # too far: not found
    stats = A.m._debug_stats()
    assert stats["cycle_checks"] == 2
    assert 0 < stats["cycle_visits_max"] <= BOUND


def test_value_referencing_owner_past_the_budget_is_not_found_and_documented():
    import pathlib
    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text()
    assert "OwnerCycleWarning: what is checked" in text
    assert str(BOUND) in text.split("OwnerCycleWarning: what is checked", 1)[1][:3000]
