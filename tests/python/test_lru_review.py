"""Regressions for defects found in review: each scenario once crashed,
leaked or lost entries."""
from __future__ import annotations

import gc
import weakref

import weakcache
from weakcache._weakcache import _owner_count


def owner_ref_of(obj: object) -> weakref.ref:
    return next(r for r in weakref.getweakrefs(obj) if type(r).__name__ == "_OwnerRef")


def test_owner_callback_called_by_hand_on_a_live_owner_is_ignored() -> None:
    # The callback is reachable from Python; calling it while the owner lives
    # once dropped a record that a running lookup was still using.
    class K:
        def __init__(self, n: int) -> None:
            self.n = n

        def __hash__(self) -> int:
            return 7

        def __eq__(self, other: object) -> bool:
            if self.n == 1 and isinstance(other, K):
                r = owner_ref_of(c)
                r.__callback__(r)  # type: ignore[misc]
                del r
                gc.collect()
            return False

    class C:
        @weakcache.lru_cache(maxsize=None)
        def m(self, k: K) -> int:
            return k.n

    c = C()
    before = _owner_count()
    assert c.m(K(1)) == 1
    assert c.m(K(2)) == 2          # __eq__ fires the callback by hand
    assert c.m(K(3)) == 3
    assert c.m.cache_info().currsize == 3   # all of c's entries are still c's
    ref = weakref.ref(c)
    del c
    assert ref() is None
    assert C.m.cache_info().currsize == 0
    assert _owner_count() == before


def test_wrapper_deleted_while_its_cache_releases_entries_frees_everything() -> None:
    # A value's __del__ drops the last reference to the wrapper while the
    # wrapper's cache is releasing entries: the cache must still be freed,
    # and with it every other value it held.
    class V:
        def __del__(self) -> None:
            if "m" in C.__dict__:
                del C.m

    class Other:
        pass

    class C:
        @weakcache.lru_cache(maxsize=None)
        def m(self, x: int) -> object:
            return V() if x == 0 else Other()

    c1, c2 = C(), C()
    c1.m(0)
    other = c2.m(1)
    other_ref = weakref.ref(other)
    del other
    wrapper_ref = weakref.ref(C.__dict__["m"])
    del c1                          # releases c1's entry -> V.__del__ -> del C.m
    gc.collect()                    # the wrapper sits in a cycle with its function
    assert wrapper_ref() is None
    assert other_ref() is None      # c2 is alive, but the cache holding Other is gone
    assert isinstance(c2, C)


def test_a_finalizer_registering_the_owner_first_does_not_split_it_in_two() -> None:
    # Creating an owner record may run the collector; a finalizer that calls
    # another cached method of the same object registers it first. There
    # must still be one record per object, holding both methods' entries.
    class G:
        def __del__(self) -> None:
            c.n(1)

    class C:
        @weakcache.lru_cache(maxsize=None)
        def m(self, x: int) -> int:
            g = G()
            g.self = g  # type: ignore[attr-defined]
            return x

        @weakcache.lru_cache(maxsize=None)
        def n(self, x: int) -> int:
            return x

    c = C()
    before = _owner_count()
    gc.collect()
    old = gc.get_threshold()
    gc.set_threshold(1)
    try:
        c.m(1)
    finally:
        gc.set_threshold(*old)
    gc.collect()
    assert _owner_count() == before + 1
    assert c.m.cache_info().currsize == 1
    hits = C.m.cache_info().hits
    c.m(1)
    assert C.m.cache_info().hits == hits + 1
    del c
    assert _owner_count() == before
