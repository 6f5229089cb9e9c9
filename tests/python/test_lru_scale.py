"""The C core's table keeps expanding on the keys Python hands it (issue 9,
defect 1, fixed in the core; checked here from Python).

Small ints hash to themselves and instances hash by address, so (owner,
key) pairs are highly regular; uthash stops doubling its buckets for good
("ineffective expansion", wc_stats.noexpand) when they collide, and every
hit then walks one long chain. _debug_stats() exposes the counter.
"""
from __future__ import annotations

import pytest

import weakcache


def make_class():
    class A:
        __slots__ = ("__weakref__",)

        @weakcache.cache
        def m(self, x):
            return x

    return A


@pytest.mark.parametrize("owners,per,key", [
    (1, 100_000, int), (1_000, 100, int), (100_000, 1, int),
    (1, 50_000, float), (500, 100, str),
])
def test_no_ineffective_expansion(owners, per, key):
    A = make_class()
    objs = [A() for _ in range(owners)]
    keys = [key(j) for j in range(per)]
    for o in objs:
        for k in keys:
            o.m(k)
    stats = A.m._debug_stats()
    assert stats["size"] == owners * per
    assert stats["noexpand"] == 0


def test_no_ineffective_expansion_on_functions():
    @weakcache.cache
    def f(x):
        return x

    for j in range(100_000):
        f(j)
        f(j + 0.5)
    assert f._debug_stats() == {**f._debug_stats(), "noexpand": 0, "size": 200_000}
