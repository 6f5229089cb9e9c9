"""weakcache declares Py_mod_multiple_interpreters = per-interpreter GIL
supported: it must import and work in an isolated subinterpreter (own GIL,
own module state), and each interpreter's caches must be its own."""
from __future__ import annotations

import sys
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.version_info < (3, 12), reason="per-interpreter GIL needs 3.12")

WORKLOAD = """
import gc, weakref, weakcache
gc.disable()
class A:
    __slots__ = ("__weakref__",) + weakcache.cached_slots("p")
    @weakcache.lru_cache(maxsize=None)
    def m(self, x):
        return [x * 2]
    @weakcache.cached_property
    def p(self):
        return [1]
a = A()
assert a.m(2) == [4] and a.m(2) == [4] and a.p == [1]
assert A.m.cache_info().hits == 1
r = weakref.ref(a)
del a
assert r() is None, "owner kept alive"
assert weakcache._weakcache._owner_count() == 0
"""


def run_isolated(code: str) -> Any:
    """Run code in a new isolated interpreter; the error it raised, or None."""
    if sys.version_info >= (3, 13):
        import _interpreters as interpreters

        config = interpreters.new_config("isolated")
        assert config.gil == "own" and config.check_multi_interp_extensions
        interp = interpreters.create(config)
        try:
            return interpreters.run_string(interp, code)
        finally:
            interpreters.destroy(interp)
    import _xxsubinterpreters as interpreters  # 3.12: isolated (own GIL) by default

    interp = interpreters.create(isolated=True)
    try:
        interpreters.run_string(interp, code)
        return None
    except interpreters.RunFailedError as e:
        return e
    finally:
        interpreters.destroy(interp)


def test_the_runner_reports_failures() -> None:
    assert run_isolated("raise ValueError('boom')") is not None


def test_weakcache_works_in_an_isolated_subinterpreter() -> None:
    import weakcache

    @weakcache.cache
    def here(x: int) -> int:
        return x

    here(1)
    assert run_isolated(WORKLOAD) is None
    assert run_isolated(WORKLOAD) is None    # a second interpreter starts fresh
    assert here.cache_info().currsize == 1   # the main interpreter's cache is untouched
