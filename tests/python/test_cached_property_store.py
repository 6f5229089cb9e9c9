"""The weak store of weakcache.cached_property (slotted classes with
'__weakref__' and no reserved slot): one entry per instance holding that
instance's (property, value) pairs. Its structure, growth, re-entrancy, and
what it keeps alive."""
import gc
import operator
import tracemalloc
import weakref

import pytest

import weakcache
from weakcache import cached_property

Py_TPFLAGS_IMMUTABLETYPE = 1 << 8


def weak_class(n, name="C", make=lambda i: [i]):
    body = {"__slots__": ("__weakref__",)}
    for i in range(n):
        body[f"p{i}"] = cached_property(lambda self, i=i: make(i))
    return type(name, (), body)


def store():
    return cached_property._wc_store


def test_the_values_type_is_internal():
    C = weak_class(1)
    obj = C()
    obj.p0
    tp = next(type(v) for v in gc.get_referents(store()) if type(v).__name__ == "_CachedValues")
    assert tp.__flags__ & Py_TPFLAGS_IMMUTABLETYPE
    with pytest.raises(TypeError):
        tp()
    with pytest.raises(TypeError):
        tp.attribute = 1
    # opaque: nothing to iterate or print that could expose its internals
    assert "_CachedValues" in repr(next(v for v in gc.get_referents(store()) if type(v) is tp))


def test_len_counts_values_and_the_entry_goes_with_the_last_value():
    C = weak_class(3)
    before = len(store())
    obj = C()
    assert [obj.p0, obj.p1, obj.p2] == [[0], [1], [2]]
    assert len(store()) == before + 3
    assert "values=" in repr(store())
    instances = repr(store())
    del obj.p0, obj.p1
    assert len(store()) == before + 1
    del obj.p2
    assert len(store()) == before
    assert repr(store()) != instances  # one instance fewer
    with pytest.raises(AttributeError):
        del obj.p2
    assert obj.p2 == [2]  # recomputed
    assert len(store()) == before + 1


def test_more_properties_than_the_first_allocation():
    C = weak_class(2)
    obj = C()
    assert obj.p0 == [0] and obj.p1 == [1]
    # properties added after instances exist: the pairs array grows
    for i in range(2, 40):
        prop = cached_property(lambda self, i=i: [i])
        setattr(C, f"p{i}", prop)
        prop.__set_name__(C, f"p{i}")
        assert C.__dict__[f"p{i}"].storage == "weak"
    assert [getattr(obj, f"p{i}") for i in range(40)] == [[i] for i in range(40)]
    values = [getattr(obj, f"p{i}") for i in range(40)]
    assert all(getattr(obj, f"p{i}") is values[i] for i in range(40))
    for i in range(0, 40, 2):
        delattr(obj, f"p{i}")
    assert all(getattr(obj, f"p{i}") is values[i] for i in range(1, 40, 2))
    assert all(getattr(obj, f"p{i}") == [i] and getattr(obj, f"p{i}") is not values[i]
               for i in range(0, 40, 2))


def test_assignment_and_deletion_keep_the_other_values():
    C = weak_class(4)
    obj = C()
    got = [obj.p0, obj.p1, obj.p2, obj.p3]
    obj.p1 = "one"
    del obj.p0
    assert [obj.p1, obj.p2, obj.p3] == ["one", got[2], got[3]]
    assert obj.p2 is got[2] and obj.p3 is got[3]
    obj.p0 = "zero"
    assert obj.p0 == "zero"


def test_a_property_outlives_its_values_so_its_address_is_never_reused():
    C = weak_class(0)
    obj = C()
    prop = cached_property(lambda self: "old")
    C.x = prop
    prop.__set_name__(C, "x")
    assert obj.x == "old"
    prop_ref = weakref.ref(prop)
    del C.x, prop
    gc.collect()
    assert prop_ref() is not None  # the instance's pair holds it
    for _ in range(200):  # new properties, possibly at freed addresses
        new = cached_property(lambda self: "new")
        C.y = new
        new.__set_name__(C, "y")
        assert obj.y == "new"
        del obj.y
        del C.y, new
    del obj
    gc.collect()
    assert prop_ref() is None


def test_a_value_finaliser_that_uses_the_same_instance():
    log = []

    class Noisy:
        def __init__(self, owner):
            self.owner = weakref.ref(owner)

        def __del__(self):
            owner = self.owner()
            if owner is not None:
                log.append(owner.p1)   # reads the same Values while it changes
                owner.p2 = "set from __del__"
                del owner.p1

    C = weak_class(3)
    C.p0 = cached_property(lambda self: Noisy(self))
    C.p0.__set_name__(C, "p0")
    obj = C()
    obj.p0
    p1 = obj.p1
    obj.p0 = "replaced"      # drops Noisy: its __del__ runs at the end
    assert log == [p1]
    assert obj.p2 == "set from __del__"
    assert obj.p0 == "replaced"
    assert obj.p1 == [1] and obj.p1 is not p1

    obj.p0 = Noisy(obj)
    del obj.p0               # the same from a deletion
    assert len(log) == 2


class Box:
    def __init__(self, i):
        self.i = i


def test_values_die_with_the_instance_at_refcount_zero():
    C = weak_class(5, make=Box)
    gc.disable()
    try:
        obj = C()
        refs = [weakref.ref(getattr(obj, f"p{i}")) for i in range(5)]
        del obj
        assert [r() for r in refs] == [None] * 5
    finally:
        gc.enable()


def test_the_collector_sees_the_values_through_the_store():
    # gc.get_referrers() and the cycle collector find a value through the
    # store and the instance's Values object (both traverse what they hold).
    C = weak_class(1)
    obj = C()
    value = obj.p0
    holders = [v for v in gc.get_referents(store()) if type(v).__name__ == "_CachedValues"]
    assert any(value in gc.get_referents(h) for h in holders)


def test_memory_per_instance_ten_values():
    C = weak_class(10, make=lambda i: i)  # small shared ints: the storage only
    getters = [operator.attrgetter(f"p{i}") for i in range(10)]
    objs = [None] * 5000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(len(objs)):
            o = C()
            for get in getters:
                get(o)
            objs[k] = o
        per_instance = (tracemalloc.get_traced_memory()[0] - before) / len(objs)
    finally:
        tracemalloc.stop()
    # the instance (32 B) + owner record (128 B) + one entry + one Values of
    # ten pairs: about 500 B (one entry per value used to cost about 1 000 B)
    assert 300 < per_instance < 650, per_instance
