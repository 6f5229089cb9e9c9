"""Differential test: weakcache.lru_cache against functools.lru_cache, call for call.

Random sequences of calls on a function and on the methods of three classes
(B a subclass of A sharing A's wrapper, C with its own), on several
instances, with random arguments of equal-but-different types (ints, bools,
floats, Decimal, Fraction, IntEnum, int/str subclasses, tuples, None) and
keywords in random orders, typed on and off, maxsize 0, 1, 2, 8 and None,
interleaved with cache_clear() on the wrapper and on one instance, and with
instances dying. After every call: the result, hits, misses and currsize
must be functools', and so must the set of calls that reached the function
(so eviction order is functools').

functools keeps every instance it saw alive (it is in the key), so an
instance cannot die there; and it has no per-instance cache_clear. So the
reference is a model of functools' cache (an OrderedDict keyed by
functools._make_key on (self, *args), with functools' LRU rules) that is
itself checked against the real functools.lru_cache call for call until the
first death or per-instance clear among that wrapper's instances; weakcache
is checked against the model always, and against functools directly
whenever the two still agree.
"""
from __future__ import annotations

import collections
import enum
import functools
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weakcache


class Color(enum.IntEnum):
    RED = 1
    GREEN = 2


class IntSub(int):
    pass


class StrSub(str):
    pass


# Groups of equal values of different types, so that calls collide often.
VALUES = [
    1, 1.0, True, Decimal(1), Fraction(1), Color.RED, IntSub(1),
    2, 2.0, Decimal(2), Fraction(2), Color.GREEN, IntSub(2),
    0, False, 0.0, -0.0, 2.5, Decimal("2.5"), Fraction(5, 2),
    "a", StrSub("a"), "b", None,
    (), (1,), (1.0,), (True,), (1, 2), (1.0, 2), ((1,),),
]
values = st.sampled_from(VALUES)
positional = st.one_of(
    st.tuples(values), st.tuples(values), st.just(()),
    st.lists(values, min_size=2, max_size=3).map(tuple),
)
keywords = st.one_of(
    st.just({}), st.just({}),
    st.lists(st.tuples(st.sampled_from("xyz"), values), min_size=1, max_size=3,
             unique_by=lambda kv: kv[0]).map(dict),
)
TARGETS = ("A", "B", "C")

operation = st.one_of(
    st.tuples(st.just("f"), positional, keywords),
    st.tuples(st.just("f"), positional, keywords),
    st.tuples(st.just("m"), st.integers(0, 7), positional, keywords),
    st.tuples(st.just("m"), st.integers(0, 7), positional, keywords),
    st.tuples(st.just("m"), st.integers(0, 7), positional, keywords),
    st.tuples(st.just("via_class"), st.integers(0, 7), positional),
    st.tuples(st.just("new"), st.sampled_from(TARGETS)),
    st.tuples(st.just("kill"), st.integers(0, 7)),
    st.tuples(st.just("clear"), st.sampled_from(("f",) + TARGETS)),
    st.tuples(st.just("clear_instance"), st.integers(0, 7)),
)


class Model:
    """functools.lru_cache's bookkeeping, with deaths and per-owner clears."""

    def __init__(self, maxsize, typed):
        self.maxsize, self.typed = maxsize, typed
        self.entries = collections.OrderedDict()
        self.hits = self.misses = 0

    def call(self, args, kwargs, compute):
        if self.maxsize == 0:
            self.misses += 1
            return compute()
        key = functools._make_key(args, kwargs, self.typed)
        if key in self.entries:
            self.hits += 1
            self.entries.move_to_end(key)
            return self.entries[key]
        self.misses += 1
        result = compute()
        self.entries[key] = result
        if self.maxsize is not None and len(self.entries) > self.maxsize:
            self.entries.popitem(last=False)
        return result

    def drop_owner(self, token):
        for key in [k for k in self.entries if isinstance(k, list) and k and k[0] is token]:
            del self.entries[key]

    def owner_size(self, token):
        return sum(1 for k in self.entries if isinstance(k, list) and k and k[0] is token)

    def clear(self):
        self.entries.clear()
        self.hits = self.misses = 0

    def info(self):
        return (self.hits, self.misses, len(self.entries))


class Side:
    """One implementation: a function and three classes, and its call log."""

    def __init__(self, decorator):
        self.logs = logs = {"f": [], "A": [], "C": []}

        @decorator
        def f(*args, **kwargs):
            logs["f"].append(("f", args, tuple(kwargs.items())))
            return len(logs["f"])

        class A:
            @decorator
            def m(self, *args, **kwargs):
                logs["A"].append((self.name, args, tuple(kwargs.items())))
                return len(logs["A"])

        class B(A):
            pass

        class C:
            @decorator
            def m(self, *args, **kwargs):
                logs["C"].append((self.name, args, tuple(kwargs.items())))
                return len(logs["C"])

        self.f = f
        self.classes = {"A": A, "B": B, "C": C}


def wrapper_of(target):
    return "A" if target in ("A", "B") else target


def info(wrapper):
    i = wrapper.cache_info()
    return (i.hits, i.misses, i.currsize)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(maxsize=st.sampled_from([0, 1, 2, 8, None]), typed=st.booleans(),
       ops=st.lists(operation, max_size=40))
def test_weakcache_matches_functools(maxsize, typed, ops):
    ours = Side(weakcache.lru_cache(maxsize=maxsize, typed=typed))
    theirs = Side(functools.lru_cache(maxsize=maxsize, typed=typed))
    model_logs = {"f": [], "A": [], "C": []}
    models = {w: Model(maxsize, typed) for w in ("f", "A", "C")}
    functools_agrees = {w: True for w in models}
    pool = []   # [name, target, our instance, their instance, model token]
    serial = 0

    def instance(i):
        nonlocal serial
        if not pool:
            new("A")
        return pool[i % len(pool)]

    def new(target):
        nonlocal serial
        serial += 1
        name = f"{target}{serial}"
        objs = []
        for side in (ours, theirs):
            o = side.classes[target]()
            o.name = name
            objs.append(o)
        pool.append([name, target, objs[0], objs[1], object()])

    def compute(w, tag, args, kwargs):
        def run():
            model_logs[w].append((tag, args, tuple(kwargs.items())))
            return len(model_logs[w])
        return run

    def check(w, our_wrapper, their_wrapper, got, expected_from_model, theirs_got):
        assert got == expected_from_model
        assert info(our_wrapper) == models[w].info()
        assert ours.logs[w] == model_logs[w]   # the same calls computed: eviction order
        if functools_agrees[w]:
            assert theirs.logs[w] == model_logs[w]
            assert theirs_got == expected_from_model
            assert info(their_wrapper) == models[w].info()

    for op in ops:
        kind = op[0]
        if kind == "f":
            _, args, kwargs = op
            expected = models["f"].call(args, kwargs, compute("f", "f", args, kwargs))
            got, theirs_got = ours.f(*args, **kwargs), theirs.f(*args, **kwargs)
            check("f", ours.f, theirs.f, got, expected, theirs_got)
        elif kind in ("m", "via_class"):
            args = op[2]
            kwargs = op[3] if kind == "m" else {}
            name, target, mine, its, token = instance(op[1])
            w = wrapper_of(target)
            expected = models[w].call((token,) + args, kwargs, compute(w, name, args, kwargs))
            if kind == "m":
                got, theirs_got = mine.m(*args, **kwargs), its.m(*args, **kwargs)
            else:
                got = ours.classes[target].m(mine, *args)
                theirs_got = theirs.classes[target].m(its, *args)
            check(w, ours.classes[w].m, theirs.classes[w].m, got, expected, theirs_got)
            assert mine.m.cache_info().currsize == models[w].owner_size(token)
        elif kind == "new":
            new(op[1])
        elif kind == "kill" and pool:
            name, target, mine, its, token = pool.pop(op[1] % len(pool))
            w = wrapper_of(target)
            del mine
            models[w].drop_owner(token)
            functools_agrees[w] = False
            assert info(ours.classes[w].m) == models[w].info()
        elif kind == "clear":
            w = wrapper_of(op[1])
            for side in (ours, theirs):
                (side.f if w == "f" else side.classes[w].m).cache_clear()
            models[w].clear()
        elif kind == "clear_instance" and pool:
            name, target, mine, its, token = instance(op[1])
            w = wrapper_of(target)
            mine.m.cache_clear()
            models[w].drop_owner(token)
            functools_agrees[w] = False
            assert info(ours.classes[w].m) == models[w].info()
