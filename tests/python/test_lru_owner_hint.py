"""Owner records found through the owner's own list of weak references.

A cached method's hit needs the instance's owner record. The record is a
weak reference to the instance, so it sits in the instance's list of weak
references, first unless the instance has a plain weakref.ref or proxy, or a
weak reference made after the record. Hits read it from there and go to the
registry (an address-keyed table, one more cache miss at scale) only when
it is not first. These tests check that the shortcut is taken, that every
other arrangement of weak references falls back and stays right, and that
nothing the shortcut returns outlives its object.
"""
from __future__ import annotations

import gc
import sys
import weakref
from typing import Any, Callable

import pytest

import weakcache
from weakcache._weakcache import _owner_hint, _owner_registry_lookups

needs_hint = pytest.mark.skipif(
    not _owner_hint(), reason="this build does not read weak reference lists (3.15+, free-threaded)"
)


def make_class(kind: str) -> type:
    calls: list[Any] = []

    def m(self: Any, x: Any) -> tuple[int, Any]:
        calls.append(x)
        return (id(self), x)

    cached = weakcache.lru_cache(maxsize=None)(m)
    if kind == "plain":
        body: dict[str, Any] = {"m": cached}
        bases: tuple[type, ...] = ()
    elif kind == "slots":
        body = {"__slots__": ("__weakref__",), "m": cached}
        bases = ()
    elif kind == "slots+dict":
        body = {"__slots__": ("__weakref__", "__dict__", "a"), "m": cached}
        bases = ()
    elif kind == "subclass":
        class Base:
            __slots__ = ("__weakref__", "b")
        body = {"m": cached}
        bases = (Base,)
    elif kind == "set":   # a builtin with its own weakref field
        body = {"m": cached}
        bases = (set,)
    else:
        raise AssertionError(kind)
    cls = type(f"C_{kind.replace('+', '_')}", bases, body)
    cls.calls = calls   # type: ignore[attr-defined]
    return cls


KINDS = ["plain", "slots", "slots+dict", "subclass", "set"]


@needs_hint
@pytest.mark.parametrize("kind", KINDS)
def test_hits_on_many_instances_do_not_search_the_registry(kind: str, owners: int) -> None:
    C = make_class(kind)
    objs = [C() for _ in range(200)]
    for o in objs:
        assert o.m(1) == (id(o), 1)
    before, lookups = C.m.cache_info(), _owner_registry_lookups()
    for o in objs:
        assert o.m(1) == (id(o), 1)
        b = o.m          # a bound method object takes the same way
        assert b(1) == (id(o), 1)
    assert _owner_registry_lookups() == lookups
    after = C.m.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (400, 0)
    refs = [weakref.ref(o) for o in objs]
    del objs, o, b
    assert all(r() is None for r in refs)   # no gc.collect(): refcounting frees them
    assert C.m.cache_info().currsize == 0


def plain_ref(o: Any) -> Any:
    return weakref.ref(o)


def proxy(o: Any) -> Any:
    return weakref.proxy(o)


def ref_with_callback(o: Any) -> Any:
    return weakref.ref(o, lambda r: None)


def in_weakset(o: Any) -> Any:
    s: weakref.WeakSet[Any] = weakref.WeakSet()
    s.add(o)
    return s


def finalizer(o: Any) -> Any:
    return weakref.finalize(o, lambda: None)


def weak_key(o: Any) -> Any:
    d: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
    d[o] = 1
    return d


OTHERS: dict[str, Callable[[Any], Any]] = {
    "ref": plain_ref, "proxy": proxy, "ref+callback": ref_with_callback,
    "WeakSet": in_weakset, "finalize": finalizer, "WeakKeyDictionary": weak_key,
}


@pytest.mark.parametrize("when", ["before", "after", "both"])
@pytest.mark.parametrize("other", list(OTHERS))
@pytest.mark.parametrize("kind", ["plain", "slots"])
def test_other_weak_references_keep_every_answer_right(kind: str, other: str, when: str,
                                                       owners: int) -> None:
    C = make_class(kind)
    make = OTHERS[other]
    objs = [C() for _ in range(50)]
    held = []
    if when in ("before", "both"):
        held += [make(o) for o in objs]
    for o in objs:
        assert o.m(1) == (id(o), 1)
    if when in ("after", "both"):
        held += [make(o) for o in objs]
    lookups = _owner_registry_lookups()
    for _ in range(3):
        for o in objs:
            assert o.m(1) == (id(o), 1)
            assert o.m(2) == (id(o), 2)
    info = C.m.cache_info()
    assert (info.hits, info.misses, info.currsize) == (50 * 5, 50 * 2, 100)
    if when != "before" and other in ("ref", "ref+callback", "WeakSet", "finalize",
                                      "WeakKeyDictionary") and _owner_hint():
        # The other reference is first in the list: the registry served these.
        assert _owner_registry_lookups() > lookups
    refs = [weakref.ref(o) for o in objs]
    del objs, o
    gc.collect()   # finalize and WeakSet keep cycles through their callbacks
    assert all(r() is None for r in refs)
    assert C.m.cache_info().currsize == 0
    del held


@pytest.mark.parametrize("other", list(OTHERS))
def test_an_address_reused_after_death_never_sees_the_old_entries(other: str, owners: int) -> None:
    # Instances of one size die and new ones take their addresses; whichever
    # weak references the new ones have, a hit must be their own.
    C = make_class("slots")
    make = OTHERS[other]
    seen: dict[int, int] = {}
    for i in range(300):
        o = C()
        extra = make(o) if i % 2 else None
        r = o.m(1)
        assert r == (id(o), 1)
        assert o.m(1) is r
        seen[id(o)] = seen.get(id(o), 0) + 1
        del o, r, extra
    assert max(seen.values()) > 1   # addresses were reused
    assert len(C.calls) == 300      # one miss per instance, never a stale hit
    gc.collect()
    assert C.m.cache_info().currsize == 0


def test_eq_that_adds_weak_references_to_the_owner_mid_lookup(owners: int) -> None:
    # The record found first stays the owner's record when __eq__ puts other
    # weak references in front of it during the lookup.
    C = make_class("slots")
    o = C()
    held: list[Any] = []

    class K:
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            held.append(weakref.ref(o))
            held.append(weakref.ref(o, lambda r: None))
            return isinstance(other, K)

    k1, k2 = K(), K()
    assert o.m(k1) == (id(o), k1)
    assert o.m(k2) == (id(o), k1)        # equal: a hit, through __eq__
    assert o.m(k2) == (id(o), k1)
    assert C.m.cache_info()[:2] == (2, 1)
    assert held
    r = weakref.ref(o)
    del o, held
    gc.collect()
    assert r() is None
    assert C.m.cache_info().currsize == 0


def test_the_owner_is_a_class(owners: int) -> None:
    # Classes keep their list elsewhere for static builtin types (3.12+):
    # type objects always take the registry, and stay right.
    class Meta(type):
        @weakcache.lru_cache(maxsize=None)
        def m(cls, x: int) -> tuple[str, int]:
            return (cls.__name__, x)

    A = Meta("A", (), {})
    B = Meta("B", (), {})
    for _ in range(3):
        assert A.m(1) == ("A", 1)
        assert B.m(1) == ("B", 1)
    assert Meta.m.cache_info()[:2] == (4, 2)
    del A, B
    gc.collect()
    assert Meta.m.cache_info().currsize == 0


@needs_hint
def test_the_weak_store_of_cached_property_takes_the_hint(owners: int) -> None:
    class C:
        __slots__ = ("__weakref__",)

        @weakcache.cached_property
        def p(self) -> list[int]:
            return [id(self)]

    objs = [C() for _ in range(100)]
    firsts = [o.p for o in objs]
    lookups = _owner_registry_lookups()
    assert all(o.p is v for o, v in zip(objs, firsts))
    assert _owner_registry_lookups() == lookups
    refs = [weakref.ref(o) for o in objs]
    del objs, firsts
    assert all(r() is None for r in refs)


def test_records_are_not_constructible_from_python() -> None:
    # The shortcut trusts any record it finds in a list: none can be made by
    # hand and pointed at an object.
    class C:
        pass

    o = C()
    C.m = weakcache.lru_cache(maxsize=None)(lambda self: 1)   # type: ignore[attr-defined]
    C.m.__set_name__(C, "m")                                 # type: ignore[attr-defined]
    assert o.m() == 1                                        # type: ignore[attr-defined]
    tp = next(type(r) for r in weakref.getweakrefs(o) if type(r).__name__ == "_OwnerRef")
    with pytest.raises(TypeError):
        tp(o)
    with pytest.raises(TypeError):
        weakref.ref.__new__(tp, o)
    with pytest.raises(TypeError):
        type("Sub", (tp,), {})
    del C.m    # type: ignore[attr-defined]
    del o
    assert sys.getrefcount(tp) > 0
