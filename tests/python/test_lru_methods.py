"""weakcache.lru_cache on methods: entries are keyed on the instance, held
weakly, and die with it at once (no gc.collect()); one LRU bound across all
instances; per-instance cache_clear()/cache_info(); the functools fallback
for instances that cannot be weakly referenced; OwnerCycleWarning."""
import collections
import copy
import functools
import gc
import pickle
import random
import sys
import warnings
import weakref

import pytest

import weakcache
from weakcache import CacheInfo, NotWeakrefableWarning, OwnerCycleWarning, cache, lru_cache

owner_count = weakcache._weakcache._owner_count


class Point:
    """Module level so that instances pickle."""

    def __init__(self, x):
        self.x = x
        self.calls = 0

    @lru_cache(maxsize=None)
    def scaled(self, k, *, offset=0):
        self.calls += 1
        return self.x * k + offset

    @lru_cache(maxsize=4)
    def plus(self, y):
        self.calls += 1
        return self.x + y


@pytest.fixture(autouse=True)
def _clear_point():
    yield
    Point.scaled.cache_clear()
    Point.plus.cache_clear()


# ------------------------------------------------------------------ keys


def test_instance_and_class_call_share_the_entry(owners):
    p = Point(3)
    assert p.scaled(2) == 6
    assert Point.scaled(p, 2) == 6
    assert p.scaled(k=2) == 6       # keyword call: its own entry, as in functools
    assert p.calls == 2
    assert Point.scaled.cache_info() == CacheInfo(1, 2, None, 2)
    assert p.scaled(2, offset=1) == 7
    assert p.scaled(2, offset=1) == 7
    assert p.calls == 3


def test_entries_depend_on_the_instance_not_just_arguments(owners):
    a, b = Point(1), Point(10)
    assert [a.plus(1), b.plus(1), a.plus(1), b.plus(1)] == [2, 11, 2, 11]
    assert (a.calls, b.calls) == (1, 1)
    assert Point.plus.cache_info() == CacheInfo(2, 2, 4, 2)


def test_bound_method_object_works_like_a_method(owners):
    p = Point(2)
    m = p.plus
    assert m(1) == 3
    assert m(1) == 3
    assert m.__self__ is p
    assert m.__func__ is Point.__dict__["plus"]
    assert m.__wrapped__ is Point.plus.__wrapped__
    assert m.__name__ == "plus"
    assert m == p.plus and hash(m) == hash(p.plus)
    assert m != Point(2).plus
    assert p.calls == 1
    assert list(map(p.plus, [1, 2, 1])) == [3, 4, 3]


@pytest.mark.parametrize("typed", [False, True])
@pytest.mark.parametrize("maxsize", [None, 0, 1, 3, 16])
def test_same_results_and_statistics_as_functools_on_live_instances(maxsize, typed):
    """While instances are alive, a cached method behaves exactly like
    functools' (whose key is (self, *args)): same results, same calls of the
    user function, same cache_info() after every call, one LRU across
    instances."""
    log = []

    def body(self, *args, **kwargs):
        log.append((self.name, args, kwargs))
        return [self.name, args, sorted(kwargs.items())]

    class Ours:
        def __init__(self, name):
            self.name = name

        m = lru_cache(maxsize=maxsize, typed=typed)(body)

    class Theirs(Ours):
        m = functools.lru_cache(maxsize=maxsize, typed=typed)(body)

    rng = random.Random(f"{maxsize}{typed}")
    ours = [Ours(i) for i in range(4)]
    theirs = [Theirs(i) for i in range(4)]
    values = [0, 1, 1.0, True, "a", None, (1,), ()]
    for _ in range(800):
        i = rng.randrange(4)
        kind = rng.randrange(4)
        if kind == 0:
            args, kwargs = (), {}
        elif kind == 1:
            args, kwargs = (rng.choice(values),), {}
        elif kind == 2:
            args, kwargs = (rng.choice(values), rng.choice(values)), {}
        else:
            args, kwargs = (rng.choice(values),), {"k": rng.choice(values)}
        del log[:]
        r1 = ours[i].m(*args, **kwargs) if rng.random() < 0.5 else Ours.m(ours[i], *args, **kwargs)
        n1 = len(log)
        r2 = theirs[i].m(*args, **kwargs)
        assert r1 == r2
        assert [type(a) for a in r1[1]] == [type(a) for a in r2[1]]
        assert n1 == len(log) - n1
        assert Ours.m.cache_info() == Theirs.m.cache_info()
    Ours.m.cache_clear()


def test_maxsize_bounds_entries_across_all_instances(owners):
    ps = [Point(i) for i in range(10)]
    for p in ps:
        p.plus(1)
        p.plus(2)
    assert Point.plus.cache_info().currsize == 4
    # The LRU is global: the four most recent calls survive.
    calls = [p.calls for p in ps]
    ps[9].plus(2), ps[9].plus(1), ps[8].plus(2), ps[8].plus(1)
    assert [p.calls for p in ps] == calls
    ps[0].plus(1)
    assert ps[0].calls == 3
    assert sum(p.plus.cache_info().currsize for p in ps) == 4


# ------------------------------------------------------ owner lifetime


def test_entries_die_with_the_instance_without_gc(owners):
    p = Point(5)
    r = weakref.ref(p)
    for k in range(10):
        p.scaled(k)
        p.plus(k)
    assert Point.scaled.cache_info().currsize == 10
    assert owner_count() == owners + 1
    del p
    assert r() is None
    assert Point.scaled.cache_info().currsize == 0
    assert Point.plus.cache_info().currsize == 0
    assert owner_count() == owners


def test_instance_called_through_the_class_is_held_weakly(owners):
    p = Point(5)
    r = weakref.ref(p)
    Point.scaled(p, 1)
    del p
    assert r() is None
    assert Point.scaled.cache_info().currsize == 0


def test_arguments_and_results_are_released_with_the_instance(owners):
    class Obj:
        pass

    class A:
        @cache
        def m(self, arg):
            return Obj()

    a, arg = A(), Obj()
    res = a.m(arg)
    r_arg, r_res = weakref.ref(arg), weakref.ref(res)
    del arg, res
    assert r_arg() is not None and r_res() is not None
    del a
    assert r_arg() is None and r_res() is None


def test_statistics_survive_the_death_of_owners(owners):
    p = Point(1)
    p.plus(1), p.plus(1)
    del p
    assert Point.plus.cache_info() == CacheInfo(1, 1, 4, 0)


def test_many_instances_come_and_go(owners):
    for i in range(2000):
        assert Point(i).scaled(3) == 3 * i
    assert Point.scaled.cache_info() == CacheInfo(0, 2000, None, 0)
    assert owner_count() == owners


# ------------------------------------------- per-instance clear and info


def test_instance_cache_clear_only_clears_that_instance(owners):
    a, b = Point(1), Point(2)
    a.scaled(1), a.scaled(2), b.scaled(1)
    a.scaled.cache_clear()
    assert a.scaled.cache_info().currsize == 0
    assert b.scaled.cache_info().currsize == 1
    assert Point.scaled.cache_info().currsize == 1
    a.scaled(1), b.scaled(1)
    assert (a.calls, b.calls) == (3, 1)


def test_instance_cache_clear_leaves_other_methods_alone(owners):
    a = Point(1)
    a.scaled(1), a.plus(1)
    a.scaled.cache_clear()
    assert a.plus.cache_info().currsize == 1
    assert Point.plus.cache_info().currsize == 1


def test_class_cache_clear_clears_everything_and_resets_statistics(owners):
    a, b = Point(1), Point(2)
    a.scaled(1), b.scaled(1), b.scaled(1)
    Point.scaled.cache_clear()
    assert Point.scaled.cache_info() == CacheInfo(0, 0, None, 0)
    assert a.scaled.cache_info() == CacheInfo(0, 0, None, 0)
    a.scaled(1), b.scaled(1)
    assert (a.calls, b.calls) == (2, 2)


def test_instance_cache_info_reports_its_own_currsize(owners):
    a, b, c = Point(1), Point(2), Point(3)
    a.scaled(1), a.scaled(2), a.scaled(2), b.scaled(1)
    total = Point.scaled.cache_info()
    assert total == CacheInfo(1, 3, None, 3)
    assert a.scaled.cache_info() == CacheInfo(1, 3, None, 2)
    assert b.scaled.cache_info() == CacheInfo(1, 3, None, 1)
    assert c.scaled.cache_info() == CacheInfo(1, 3, None, 0)
    assert c.scaled.cache_parameters() == {"maxsize": None, "typed": False}


def test_cache_clear_on_an_instance_without_entries(owners):
    p = Point(1)
    p.scaled.cache_clear()
    assert p.scaled.cache_info().currsize == 0
    assert owner_count() == owners


# ---------------------------------------------------- unusual owners


def test_unhashable_owner(owners):
    class A:
        __hash__ = None

        def __init__(self, v):
            self.v = v

        @cache
        def m(self):
            return self.v

    a = A(4)
    with pytest.raises(TypeError):
        hash(a)
    assert a.m() == 4 and a.m() == 4
    assert A.m.cache_info() == CacheInfo(1, 1, None, 1)
    r = weakref.ref(a)
    del a
    assert r() is None and A.m.cache_info().currsize == 0


def test_equal_owners_never_share_entries(owners):
    class A:
        def __init__(self, v):
            self.v = v

        def __eq__(self, other):
            return True

        def __hash__(self):
            return 1

        @cache
        def m(self, x):
            return (self.v, x)

    a, b = A(1), A(2)
    assert a == b
    assert [a.m(0), b.m(0), a.m(0), b.m(0)] == [(1, 0), (2, 0), (1, 0), (2, 0)]
    assert A.m.cache_info() == CacheInfo(2, 2, None, 2)


def test_copy_of_an_instance_uses_its_own_state(owners):
    p = Point(2)
    assert p.scaled(10) == 20
    q = copy.copy(p)
    q.x = 3
    assert q.scaled(10) == 30
    assert p.scaled(10) == 20
    d = copy.deepcopy(p)
    d.x = 4
    assert d.scaled(10) == 40


def test_instances_pickle_after_cached_calls(owners):
    p = Point(7)
    p.scaled(2), p.plus(1)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        q = pickle.loads(pickle.dumps(p, proto))
        assert q.x == 7
        q.x = 8
        assert q.scaled(2) == 16
        assert p.scaled(2) == 14
    assert p.calls == 2


def test_slots_with_weakref(owners):
    class S:
        __slots__ = ("v", "__weakref__")

        def __init__(self, v):
            self.v = v

        @cache
        def m(self, k):
            return self.v * k

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = S(3)
        assert s.m(2) == 6 and s.m(2) == 6
    assert S.m.cache_info() == CacheInfo(1, 1, None, 1)
    r = weakref.ref(s)
    del s
    assert r() is None and S.m.cache_info().currsize == 0


def test_two_methods_on_one_instance(owners):
    class A:
        @cache
        def m1(self, x):
            return ("m1", x)

        @lru_cache(maxsize=2)
        def m2(self, x):
            return ("m2", x)

        @lru_cache(typed=True)
        def m3(self, x):
            return ("m3", x)

    a = A()
    assert a.m1(1) == ("m1", 1)
    assert a.m2(1) == ("m2", 1)
    assert a.m3(1) == ("m3", 1)
    assert owner_count() == owners + 1   # ONE owner record for all three
    a.m1.cache_clear()
    assert a.m2(1) == ("m2", 1) and a.m3(1) == ("m3", 1)
    assert A.m2.cache_info().hits == 1 and A.m3.cache_info().hits == 1
    b = A()
    b.m1(1)
    assert owner_count() == owners + 2
    r = weakref.ref(a)
    del a
    assert r() is None
    assert owner_count() == owners + 1
    assert (A.m1.cache_info().currsize, A.m2.cache_info().currsize, A.m3.cache_info().currsize) == (1, 0, 0)


def test_same_method_on_subclass_instances(owners):
    class Base:
        def __init__(self, v):
            self.v = v

        @cache
        def m(self):
            return (type(self).__name__, self.v)

    class Sub(Base):
        pass

    assert Base(1).m() == ("Base", 1)
    assert Sub(1).m() == ("Sub", 1)
    s = Sub(2)
    assert s.m() == ("Sub", 2) and Base.m(s) == ("Sub", 2)
    assert Base.m.cache_info() == CacheInfo(1, 3, None, 1)


def test_method_defined_with_positional_only_and_keyword_only_params(owners):
    class A:
        @cache
        def m(self, a, /, b=2, *, c=3):
            return (a, b, c)

    a = A()
    assert a.m(1) == (1, 2, 3)
    assert a.m(1, c=4) == (1, 2, 4)
    assert a.m(1, b=5) == (1, 5, 3)
    assert a.m(1, 5) == (1, 5, 3)
    with pytest.raises(TypeError):
        a.m()
    assert A.m.cache_info().currsize == 4


def test_calling_through_the_class_without_an_instance():
    class A:
        @cache
        def m(self, x=0):
            return x

    with pytest.raises(TypeError):
        A.m()


def test_bound_method_repr_and_class_repr(owners):
    p = Point(1)
    p.scaled(1), p.scaled(2)
    q = Point(2)
    q.scaled(1)
    text = repr(Point.scaled)
    assert "Point.scaled" in text
    assert "owners=2" in text and "entries=3" in text
    assert "Point.scaled" in repr(p.scaled) and repr(p) in repr(p.scaled)
    del q
    assert "owners=1" in repr(Point.scaled) and "entries=2" in repr(Point.scaled)


# ------------------------------------- owners that cannot be weakly referenced


class Pair(collections.namedtuple("Pair", "a b")):
    __slots__ = ()

    @cache
    def total(self):
        return self.a + self.b


class Slotted:
    __slots__ = ("v",)
    deaths = []

    def __init__(self, v):
        self.v = v

    def __del__(self):
        Slotted.deaths.append(self.v)

    @cache
    def m(self, k):
        return self.v * k

    @cache
    def other(self):
        return -self.v

    @lru_cache(maxsize=2)
    def bounded(self, k):
        return self.v + k


class Int(int):
    @cache
    def double(self):
        return 2 * self


def _not_weakrefable_warnings(record):
    return [w for w in record if issubclass(w.category, NotWeakrefableWarning)]


def test_not_weakrefable_owner_warns_once_per_unbounded_method():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        s = Slotted(3)
        assert s.m(2) == 6
        assert Slotted(4).m(2) == 8
        assert s.m(2) == 6
        assert s.other() == -3
    ws = _not_weakrefable_warnings(record)
    assert len(ws) == 2, [str(w.message) for w in ws]
    first, second = (str(w.message) for w in ws)
    assert "Slotted.m" in first and "Slotted.other" in second
    for text in first, second:
        assert "Slotted" in text and "__weakref__" in text and "maxsize" in text
    # The warning points at the caller's line, in this file.
    assert ws[0].filename == __file__
    assert issubclass(NotWeakrefableWarning, weakcache.WeakcacheWarning)
    assert issubclass(weakcache.WeakcacheWarning, UserWarning)
    Slotted.m.cache_clear()
    Slotted.other.cache_clear()


def test_not_weakrefable_owner_falls_back_to_functools():
    # The owner is part of the key and held strongly until evicted: equal
    # owners share entries (tuple equality), and the owner lives on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotWeakrefableWarning)
        assert Pair(1, 2).total() == 3
        assert Pair(1, 2).total() == 3
        assert Pair.total.cache_info() == CacheInfo(1, 1, None, 1)
        Pair.total.cache_clear()

        del Slotted.deaths[:]
        s = Slotted(5)
        s.m(1)
        del s
        assert Slotted.deaths == []          # kept alive by the cache
        assert Slotted.m.cache_info().currsize == 1
        Slotted.m.cache_clear()
        assert Slotted.deaths == [5]         # freed once evicted

        i = Int(21)
        assert i.double() == 42 and Int(21).double() == 42
        assert Int.double.cache_info() == CacheInfo(1, 1, None, 1)
        Int.double.cache_clear()


def test_int_subclass_owner_warns_once():
    class Big(int):
        @cache
        def half(self):
            return self // 2

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert Big(8).half() == 4
        assert Big(10).half() == 5
        assert Big(8).half() == 4       # functools fallback: equal ints share
    ws = _not_weakrefable_warnings(record)
    assert len(ws) == 1
    assert "Big.half" in str(ws[0].message) and "Big" in str(ws[0].message)
    assert Big.half.cache_info() == CacheInfo(1, 2, None, 2)


def test_namedtuple_owner_warns_on_a_fresh_method():
    class P(collections.namedtuple("P", "a")):
        __slots__ = ()

        @cache
        def m(self):
            return self.a

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        P(1).m(), P(2).m(), P(1).m()
    ws = _not_weakrefable_warnings(record)
    assert len(ws) == 1 and "P.m" in str(ws[0].message) and "P" in str(ws[0].message)


def test_not_weakrefable_owner_with_bounded_maxsize_does_not_warn():
    del Slotted.deaths[:]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        objs = [Slotted(i) for i in range(5)]
        assert [o.bounded(1) for o in objs] == [1, 2, 3, 4, 5]
        del objs
        # Bounded by maxsize: the three evicted owners are gone.
        assert sorted(Slotted.deaths) == [0, 1, 2]
        assert Slotted.bounded.cache_info().currsize == 2
        Slotted.bounded.cache_clear()
        assert sorted(Slotted.deaths) == [0, 1, 2, 3, 4]


def test_not_weakrefable_owner_per_instance_clear_and_info():
    # obj.m.cache_clear() / cache_info() concern obj's entries also when obj
    # is held in the key (the fallback).
    del Slotted.deaths[:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotWeakrefableWarning)
        a, b = Slotted(1), Slotted(2)
        a.bounded(10)
        b.bounded(10)
        assert Slotted.bounded.cache_info().currsize == 2
        assert a.bounded.cache_info().currsize == 1
        a.bounded.cache_clear()
        assert Slotted.bounded.cache_info().currsize == 1
        assert b.bounded.cache_info().currsize == 1
        del a
        assert Slotted.deaths == [1]
    Slotted.bounded.cache_clear()


# ------------------------------------------------ values referencing self


class Node:
    def __init__(self, parent=None):
        self.parent = parent


def _cycle_warnings(record):
    return [w for w in record if issubclass(w.category, OwnerCycleWarning)]


def test_returning_self_warns_once_and_frees_on_cache_clear(owners):
    class A:
        @cache
        def me(self):
            return self

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        a = A()
        assert a.me() is a
        assert A().me() is not None
        assert a.me() is a
    ws = _cycle_warnings(record)
    assert len(ws) == 1
    assert "A.me" in str(ws[0].message)
    assert ws[0].filename == __file__
    r = weakref.ref(a)
    del a
    # Documented: the entry keeps its owner alive until it is evicted...
    assert r() is not None
    assert A.me.cache_info().currsize == 2
    A.me.cache_clear()
    # ...and then the owner is freed at once.
    assert r() is None
    assert A.me.cache_info().currsize == 0


def test_instance_cache_clear_frees_a_self_referencing_owner(owners):
    class A:
        @cache
        def me(self):
            return [self]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OwnerCycleWarning)
        a = A()
        a.me()
    r = weakref.ref(a)
    a.me.cache_clear()
    del a
    assert r() is None


def test_bound_method_of_self_warns_and_lru_eviction_frees(owners):
    class A:
        def helper(self):
            return 1

        @lru_cache(maxsize=1)
        def get(self):
            return self.helper

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        a = A()
        assert a.get()() == 1
    ws = _cycle_warnings(record)
    assert len(ws) == 1 and "A.get" in str(ws[0].message)
    r = weakref.ref(a)
    del a
    assert r() is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OwnerCycleWarning)
        b = A()
        b.get()          # maxsize=1: evicts a's entry
    assert r() is None
    A.get.cache_clear()


def test_child_with_parent_pointer_warns_per_method(owners):
    class A:
        @cache
        def child(self):
            return Node(self)

        @cache
        def children(self):
            return [Node(self), Node(self)]

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        a = A()
        a.child(), a.children(), A().child(), A().children()
    ws = _cycle_warnings(record)
    assert sorted(str(w.message).split(" ")[0] for w in ws) == [
        A.child.__qualname__, A.children.__qualname__]
    r = weakref.ref(a)
    del a
    assert r() is not None
    A.child.cache_clear()
    assert r() is not None
    A.children.cache_clear()
    assert r() is None


def test_values_not_referencing_self_do_not_warn(owners):
    class A:
        def __init__(self):
            self.data = [1, 2]

        @cache
        def m(self, x):
            return (self.data, Node(Node()), x)   # shares self's data, not self

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = A()
        a.m(1)
        r = weakref.ref(a)
        del a
        assert r() is None


# ---------------------------- obj.method behaves like functools' bound method


class Doc:
    def __init__(self, v):
        self.v = v

    @lru_cache
    def m(self, x, y=0):
        """Add things."""
        return self.v + x + y

    @functools.lru_cache
    def fm(self, x, y=0):
        """Add things."""
        return self.v + x + y


def test_bound_method_called_every_way(owners):
    class A:
        @lru_cache
        def m(self, *args, **kwargs):
            return (args, sorted(kwargs.items()))

    a = A()
    b = a.m
    many = tuple(range(20))
    kw = {f"k{i}": i for i in range(12)}
    assert b(*many) == (many, [])
    assert b(*many, **kw) == (many, sorted(kw.items()))
    assert a.m(*many, **kw) == (many, sorted(kw.items()))
    assert A.m(a, *many, **kw) == (many, sorted(kw.items()))
    assert functools.partial(b, 1)(2, z=3) == ((1, 2), [("z", 3)])
    assert list(map(b, [1, 2, 1])) == [((1,), []), ((2,), []), ((1,), [])]
    import operator

    assert operator.methodcaller("m", 5, q=1)(a) == ((5,), [("q", 1)])
    assert A.m.cache_info() == CacheInfo(hits=3, misses=6, maxsize=128, currsize=6)


def test_bound_method_metadata_is_the_functions(owners):
    d = Doc(1)
    for attr in ("__doc__", "__name__", "__qualname__", "__module__"):
        assert getattr(d.m, attr) == getattr(d.fm, attr).replace("fm", "m"), attr
    assert d.m.__doc__ == "Add things."
    assert d.m.__module__ == __name__


def test_bound_method_signature_excludes_self(owners):
    import inspect

    d = Doc(1)
    assert str(inspect.signature(d.fm)) == "(x, y=0)"
    assert str(inspect.signature(d.m)) == "(x, y=0)"
    assert str(inspect.signature(Doc.m)) == "(self, x, y=0)"


@pytest.mark.parametrize("proto", range(pickle.HIGHEST_PROTOCOL + 1))
def test_bound_method_pickles_like_functools(owners, proto):
    d = Doc(5)
    assert pickle.loads(pickle.dumps(d.fm, proto))(1) == 6
    clone = pickle.loads(pickle.dumps(d.m, proto))
    assert clone(1) == 6
    assert clone.__self__ is not d and clone.__self__.v == 5


def test_bound_method_copies_like_functools(owners):
    d = Doc(5)
    assert copy.copy(d.fm)(1) == 6
    assert copy.copy(d.m)(1) == 6
    assert copy.copy(d.m).__self__ is d
    assert copy.deepcopy(d.m)(1) == 6
    Doc.fm.cache_clear()  # functools holds d in its keys: the leak we fix


def test_weak_method_of_a_cached_method(owners):
    d = Doc(2)
    wm = weakref.WeakMethod(d.fm)
    assert wm()(1) == 3
    Doc.fm.cache_clear()  # functools holds d in its keys: the leak we fix
    wm = weakref.WeakMethod(d.m)
    assert wm()(1) == 3
    del d
    assert wm() is None
