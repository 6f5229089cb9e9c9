"""Hard cases: address reuse by new owners, hostile __hash__/__eq__,
re-entrancy, owners dying during calls and lookups, resurrection, threads,
KeyboardInterrupt, huge and unhashable arguments."""
import functools
import gc
import sys
import threading
import time
import warnings
import weakref

import pytest

import weakcache
from weakcache import CacheInfo, cache, lru_cache

owner_count = weakcache._weakcache._owner_count


# --------------------------------------------- never a stale hit (address reuse)


class A:
    __slots__ = ("v", "__weakref__")

    def __init__(self, v):
        self.v = v

    @cache
    def m(self):
        return self.v

    @lru_cache(maxsize=3)
    def k(self, x):
        return self.v * 1000 + x


def test_a_million_short_lived_owners_never_get_a_stale_hit(owners):
    """New objects constantly reuse dead owners' addresses; each must compute
    with its own state."""
    m = A.m
    wrong = [i for i in range(1_000_000) if A(i).m() != i]
    assert wrong == []
    info = m.cache_info()
    assert info.hits == 0 and info.misses == 1_000_000 and info.currsize == 0
    A.m.cache_clear()


def test_interleaved_owners_and_bounded_cache_never_get_a_stale_hit(owners):
    """Owners die in varying order while others are alive; the bounded cache
    evicts entries of live owners too."""
    live = []
    wrong = []
    for i in range(200_000):
        a = A(i)
        if a.k(i & 3) != i * 1000 + (i & 3) or a.k(i & 3) != i * 1000 + (i & 3):
            wrong.append(i)
        live.append(a)
        if i % 7 == 0:
            del live[: i % 5]
        if len(live) > 6:
            del live[(i * 31) % len(live)]
        for b in live[-2:]:
            if b.k(1) != b.v * 1000 + 1 or b.m() != b.v:
                wrong.append(("live", b.v))
    assert wrong == []
    assert A.k.cache_info().currsize <= 3
    del live, a, b
    assert A.k.cache_info().currsize == 0
    assert A.m.cache_info().currsize == 0
    A.k.cache_clear()
    A.m.cache_clear()


# ------------------------------------------------------------ hostile keys


class SameHash:
    """Equal hashes force __eq__ to be called on lookups."""

    on_eq = None

    def __init__(self, v):
        self.v = v

    def __hash__(self):
        return 42

    def __eq__(self, other):
        if SameHash.on_eq is not None:
            SameHash.on_eq(self, other)
        return isinstance(other, SameHash) and self.v == other.v

    def __repr__(self):
        return f"SameHash({self.v})"


@pytest.fixture
def on_eq():
    yield
    SameHash.on_eq = None


class Owner:
    def __init__(self, v=0):
        self.v = v
        self.calls = 0

    @lru_cache(maxsize=16)
    def m(self, key):
        self.calls += 1
        return (self.v, key.v if isinstance(key, SameHash) else key)


@pytest.fixture(autouse=True)
def _clear_owner():
    yield
    Owner.m.cache_clear()


def test_hash_raising_propagates_and_cache_is_intact(owners):
    class BadHash:
        def __hash__(self):
            raise RuntimeError("boom")

    o = Owner(1)
    o.m(1)
    with pytest.raises(RuntimeError, match="boom"):
        o.m(BadHash())
    with pytest.raises(RuntimeError, match="boom"):
        Owner.m(o, BadHash())
    assert o.calls == 1
    assert Owner.m.cache_info() == CacheInfo(0, 1, 16, 1)
    assert o.m(1) == (1, 1) and o.calls == 1


@pytest.mark.parametrize("arg", [[], {}, {1}, bytearray(b"x")])
def test_unhashable_argument_to_a_method_is_a_functools_type_error(owners, arg):
    o = Owner()
    with pytest.raises(TypeError) as ours:
        o.m(arg)
    with pytest.raises(TypeError) as theirs:
        functools.lru_cache(lambda self, key: 0)(o, arg)
    assert str(ours.value) == str(theirs.value) == f"unhashable type: '{type(arg).__name__}'"
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        o.m(key=[])
    assert o.calls == 0 and Owner.m.cache_info().currsize == 0


def test_eq_raising_propagates_and_cache_is_intact(owners, on_eq):
    o = Owner()
    o.m(SameHash(1))

    def explode(a, b):
        raise LookupError("eq failed")

    SameHash.on_eq = explode
    with pytest.raises(LookupError, match="eq failed"):
        o.m(SameHash(2))
    SameHash.on_eq = None
    assert Owner.m.cache_info().currsize == 1
    assert o.m(SameHash(1)) == (0, 1)
    assert o.m(SameHash(2)) == (0, 2)
    assert o.calls == 2


@pytest.mark.parametrize("clear", ["class", "instance"])
def test_eq_that_clears_the_cache(owners, on_eq, clear):
    o = Owner()
    for i in range(3):
        o.m(SameHash(i))

    def clear_cache(a, b):
        SameHash.on_eq = None
        if clear == "class":
            Owner.m.cache_clear()
        else:
            o.m.cache_clear()

    SameHash.on_eq = clear_cache
    assert o.m(SameHash(1)) == (0, 1)     # was cached; cleared during the lookup
    assert o.m(SameHash(5)) == (0, 5)
    info = Owner.m.cache_info()
    assert info.currsize == 2
    assert o.m(SameHash(5)) == (0, 5) and o.m(SameHash(1)) == (0, 1)
    assert Owner.m.cache_info().currsize == 2


def test_eq_that_clears_a_function_cache(on_eq):
    @lru_cache
    def f(key):
        return key.v

    for i in range(3):
        f(SameHash(i))

    def clear_cache(a, b):
        SameHash.on_eq = None
        f.cache_clear()

    SameHash.on_eq = clear_cache
    assert f(SameHash(2)) == 2
    assert f(SameHash(7)) == 7
    assert f.cache_info().currsize == 2
    assert f(SameHash(7)) == 7


def test_eq_that_calls_the_cached_method_reentrantly(on_eq):
    # Re-entrant *hits* inside __eq__, on every comparison (functools: fine).
    before = owner_count()
    o = Owner()
    o.m(SameHash(1))
    o.m(SameHash(2))
    depth = []

    def reenter(a, b):
        if not depth:
            depth.append(1)
            assert o.m(SameHash(3)) == (0, 3)
            assert o.m(SameHash(1)) == (0, 1)
            depth.pop()

    SameHash.on_eq = reenter
    assert o.m(SameHash(2)) == (0, 2)
    SameHash.on_eq = None
    assert o.m(SameHash(3)) == (0, 3)
    assert o.calls == 3
    assert Owner.m.cache_info().currsize == 3
    del o
    assert owner_count() == before


def test_eq_that_calls_the_cached_function_reentrantly(on_eq):
    # Like CPython's test_need_for_rlock.
    @lru_cache(maxsize=10)
    def f(key):
        return key.v

    f(SameHash(1))
    f(SameHash(2))

    def reenter(a, b):
        SameHash.on_eq = None
        assert f(SameHash(3)) == 3

    SameHash.on_eq = reenter
    assert f(SameHash(2)) == 2
    assert f(SameHash(3)) == 3
    assert f.cache_info().currsize == 3


def test_eq_that_kills_another_owner_during_the_lookup(owners, on_eq):
    holder = [Owner(9)]
    for i in range(5):
        holder[0].m(SameHash(i))
    o = Owner(1)
    o.m(SameHash(1))
    victim = weakref.ref(holder[0])

    def kill(a, b):
        SameHash.on_eq = None
        holder.clear()      # the other owner dies: its 5 entries go now

    SameHash.on_eq = kill
    assert o.m(SameHash(2)) == (1, 2)
    assert victim() is None
    assert Owner.m.cache_info().currsize == 2
    assert o.m(SameHash(1)) == (1, 1) and o.m(SameHash(2)) == (1, 2)
    assert o.calls == 2


def test_eviction_running_python_code_that_reenters(owners):
    """A value whose __del__ calls the cached method while it is being
    evicted by the LRU."""

    class Value:
        def __init__(self, owner, n):
            self.owner, self.n = weakref.ref(owner), n

        def __del__(self):
            owner = self.owner()
            if owner is not None and self.n < 40:
                owner.make(self.n + 100)

    class B:
        @lru_cache(maxsize=2)
        def make(self, n):
            return Value(self, n)

    b = B()
    for n in range(30):
        assert b.make(n).n == n
        assert B.make.cache_info().currsize <= 2
    assert B.make.cache_info().currsize <= 2
    r = weakref.ref(b)
    del b
    assert r() is None
    assert B.make.cache_info().currsize == 0


# -------------------------------------------------------------- recursion


def test_method_that_calls_itself_recursively(owners):
    class Fib:
        def __init__(self, offset):
            self.offset = offset

        @lru_cache(maxsize=None)
        def fib(self, n):
            return n + self.offset if n < 2 else self.fib(n - 1) + self.fib(n - 2)

        @lru_cache(maxsize=2)
        def small(self, n):
            return n if n < 2 else self.small(n - 1) + self.small(n - 2)

    a, b = Fib(0), Fib(1)
    assert a.fib(80) == 23416728348467685
    assert b.fib(20) == 10946 + 6765   # offset 1 on both base cases
    assert Fib.fib.cache_info().currsize == 81 + 21
    assert a.small(25) == 75025
    assert Fib.small.cache_info().currsize == 2
    del a, b
    assert Fib.fib.cache_info().currsize == 0


def test_recursion_overflow_leaves_the_method_cache_usable(owners):
    class R:
        @cache
        def down(self, n):
            return 0 if n == 0 else self.down(n - 1) + 1

    r = R()
    with pytest.raises(RecursionError):
        r.down(sys.getrecursionlimit() * 10)
    assert r.down(50) == 50
    del r
    assert R.down.cache_info().currsize == 0


# --------------------------------------------------- owner dying mid-call


def test_last_reference_dropped_inside_the_call(owners):
    registry = []
    seen = []

    class C:
        def __init__(self):
            self.data = "alive"

        @cache
        def m(self, x):
            del registry[0]            # the only other reference
            seen.append(self.data)     # self must still be valid
            return x * 2

    registry.append(C())
    r = weakref.ref(registry[0])
    assert registry[0].m(4) == 8
    assert seen == ["alive"]
    assert r() is None                 # freed right after the call
    assert C.m.cache_info() == CacheInfo(0, 1, None, 0)

    registry.append(C())
    r = weakref.ref(registry[0])
    bound = registry[0].m
    assert bound(5) == 10
    assert r() is not None
    assert C.m.cache_info().currsize == 1
    del bound
    assert r() is None
    assert C.m.cache_info().currsize == 0


def test_last_reference_dropped_inside_the_call_through_the_class(owners):
    registry = []

    class C:
        @lru_cache(maxsize=4)
        def m(self):
            registry.clear()
            return id(self)

    registry.append(C())
    r = weakref.ref(registry[0])
    C.m(registry[0])
    assert r() is None
    assert C.m.cache_info().currsize == 0


def test_resurrecting_del_keeps_entries_until_final_death(owners):
    graveyard = []

    class Phoenix:
        resurrected = False

        def __init__(self, v):
            self.v = v
            self.calls = 0

        def __del__(self):
            if not self.resurrected:
                self.resurrected = True
                graveyard.append(self)

        @cache
        def m(self, x):
            self.calls += 1
            return self.v + x

    p = Phoenix(10)
    assert p.m(1) == 11
    r = weakref.ref(p)
    del p
    assert r() is not None and graveyard            # resurrected
    assert Phoenix.m.cache_info().currsize == 1    # its entries live on
    q = graveyard[0]
    assert q.m(1) == 11 and q.calls == 1           # served from the cache
    q.m(2)
    del q
    graveyard.clear()                               # final death
    assert r() is None
    assert Phoenix.m.cache_info().currsize == 0


# ------------------------------------------------------- KeyboardInterrupt


def test_keyboard_interrupt_in_a_method(owners):
    class K:
        interrupt = True
        calls = 0

        @cache
        def m(self, x):
            K.calls += 1
            if K.interrupt:
                raise KeyboardInterrupt
            return x

    k = K()
    with pytest.raises(KeyboardInterrupt):
        k.m(1)
    assert K.m.cache_info().currsize == 0
    assert k.m.cache_info().currsize == 0
    K.interrupt = False
    assert k.m(1) == 1 and k.m(1) == 1
    assert K.calls == 2


def test_del_calling_its_own_cached_method(owners):
    class D:
        @cache
        def m(self, x):
            return x

        def __del__(self):
            assert self.m(99) == 99     # during deallocation

    d = D()
    d.m(1)
    r = weakref.ref(d)
    del d
    assert r() is None
    assert D.m.cache_info() == CacheInfo(0, 2, None, 0)


def test_cache_dies_before_its_owners(owners):
    class E:
        @cache
        def m(self, x):
            return [x]

    e = E()
    e.m(1)
    r = weakref.ref(E.__dict__["m"])
    del E.m
    gc.collect()
    assert r() is None
    del e      # releasing the owner must not touch the freed cache


# --------------------------------------------------------- huge arguments


def test_huge_arguments_to_a_method(owners):
    class H:
        @lru_cache(maxsize=2)
        def size(self, x):
            return len(x)

    h = H()
    big = b"\x01" * (10 * 1024 * 1024)
    t = tuple(range(100_000))
    assert h.size(big) == len(big)
    assert h.size(bytes(bytearray(big))) == len(big)
    assert h.size(t) == 100_000
    assert h.size(tuple(list(t))) == 100_000
    assert h.size(t, ) == 100_000
    assert H.size.cache_info() == CacheInfo(3, 2, 2, 2)
    r = weakref.ref(h)
    del h
    assert r() is None and H.size.cache_info().currsize == 0


# ------------------------------------------------------------------ threads


def test_threads_calling_while_owners_die(owners):
    class T:
        def __init__(self, v):
            self.v = v

        @lru_cache(maxsize=64)
        def bounded(self, k):
            return self.v * 100 + k

        @cache
        def unbounded(self, k):
            return self.v * 100 + k

    nthreads, rounds = 8, 3000
    calls = [0] * nthreads
    errors = []
    shared = [T(-1) for _ in range(16)]
    lock = threading.Lock()
    start = threading.Barrier(nthreads)

    def worker(n):
        try:
            start.wait()
            for i in range(rounds):
                t = T(n * rounds + i)
                for k in (i % 5, i % 3):
                    if t.bounded(k) != t.v * 100 + k or t.unbounded(k) != t.v * 100 + k:
                        errors.append(("own", t.v, k))
                    calls[n] += 1
                # Share owners between threads; another thread drops them.
                with lock:
                    victim = shared[(i * 7 + n) % len(shared)]
                    shared[(i * 7 + n) % len(shared)] = t
                if victim.bounded(1) != victim.v * 100 + 1 or victim.unbounded(1) != victim.v * 100 + 1:
                    errors.append(("shared", victim.v))
                calls[n] += 1
                del victim, t
                info = T.bounded.cache_info()
                if info.currsize > 64:
                    errors.append(("currsize", info))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(nthreads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    finally:
        sys.setswitchinterval(old)
    assert not any(th.is_alive() for th in threads)
    assert errors == []
    total = sum(calls)
    for method in (T.bounded, T.unbounded):
        info = method.cache_info()
        assert info.hits + info.misses == total
    assert T.bounded.cache_info().currsize <= 64
    shared.clear()
    assert T.bounded.cache_info().currsize == 0
    assert T.unbounded.cache_info().currsize == 0
    assert owner_count() == owners


def test_threads_calling_functions_and_clearing():
    @lru_cache(maxsize=32)
    def f(x):
        time.sleep(0)
        return x * 2

    errors = []
    stop = threading.Event()

    def caller(n):
        try:
            for i in range(5000):
                if f((i + n) % 50) != ((i + n) % 50) * 2:
                    errors.append(i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def clearer():
        while not stop.is_set():
            f.cache_clear()
            time.sleep(0.0005)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=caller, args=(n,)) for n in range(6)]
        c = threading.Thread(target=clearer)
        c.start()
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        stop.set()
        c.join(120)
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert f.cache_info().currsize <= 32


# ------------------------------------------------- many live owners at once


def test_many_live_owners_then_dying_in_random_order(owners):
    """The owner registry grows to 50,000 live owners and shrinks again;
    survivors keep their entries (hits, no recomputation) throughout."""
    import random

    class W:
        __slots__ = ("v", "calls", "__weakref__")

        def __init__(self, v):
            self.v, self.calls = v, 0

        @cache
        def m(self, x):
            self.calls += 1
            return self.v * 10 + x

    objs = [W(i) for i in range(50_000)]
    for o in objs:
        assert o.m(1) == o.v * 10 + 1
    assert owner_count() == owners + 50_000
    rng = random.Random(7)
    rng.shuffle(objs)
    while len(objs) > 10:
        del objs[len(objs) // 2:]
        for o in objs[:200]:
            assert o.m(1) == o.v * 10 + 1 and o.calls == 1
        for i in range(50):
            assert W(-i).m(2) == -i * 10 + 2
        assert W.m.cache_info().currsize == len(objs)
        assert owner_count() == owners + len(objs)
    del objs, o
    assert W.m.cache_info().currsize == 0


def test_class_owner_entries_die_with_the_class():
    class Meta(type):
        @cache
        def describe(cls, x):
            return (cls.__name__, x)

    def make():
        class K(metaclass=Meta):
            pass

        assert K.describe(1) == ("K", 1)
        return weakref.ref(K)

    r = make()
    assert Meta.describe.cache_info().currsize == 1
    gc.collect()    # a class is always in a reference cycle
    assert r() is None
    assert Meta.describe.cache_info().currsize == 0


def test_hash_calling_the_cached_method_reentrantly(owners):
    class K:
        def __init__(self, owner, v):
            self.owner, self.v = owner, v

        def __hash__(self):
            if self.v < 3:
                self.owner.m(K(self.owner, self.v + 1))
            return hash(self.v)

        def __eq__(self, other):
            return self.v == other.v

    class O:
        @lru_cache(maxsize=2)
        def m(self, k):
            return k.v

    o = O()
    assert o.m(K(o, 0)) == 0
    assert O.m.cache_info().currsize == 2
    assert o.m(K(o, 3)) == 3
    # The keys reference their owner, so (like a value would) they keep it
    # alive until their entries are evicted.
    r = weakref.ref(o)
    del o
    assert r() is not None
    O.m.cache_clear()
    assert r() is None
