"""Non-str __qualname__ / __name__ / __module__ (issue 9, defect 2).

repr() of the wrapper and of obj.m, and the text of both warnings, used to
pass __qualname__ to "%U" unchecked (abort or segfault). functools' reprs
work whatever these attributes hold; so must ours, and pickling must fail
or succeed as functools' does.
"""
from __future__ import annotations

import functools
import pickle
import warnings

import pytest

import weakcache
from weakcache import NotWeakrefableWarning, OwnerCycleWarning

ODD = [5, None, b"bytes", object(), ("a", "b")]
ODD_IDS = ["int", "None", "bytes", "object", "tuple"]


class OddNames:
    """A callable whose every unknown attribute is a non-str object."""

    def __init__(self, value):
        self.value = value

    def __call__(self, *args):
        return len(args)

    def __getattr__(self, name):
        if name.startswith("__") and name in {"__qualname__", "__name__", "__module__", "__doc__"}:
            return self.value
        raise AttributeError(name)


@pytest.mark.parametrize("odd", ODD, ids=ODD_IDS)
@pytest.mark.parametrize("attr", ["__qualname__", "__name__", "__module__"])
def test_wrapper_repr_with_odd_attribute(attr, odd):
    @weakcache.lru_cache
    def f(x):
        return x

    setattr(f, attr, odd)
    text = repr(f)
    assert text.startswith("<weakcache.lru_cache ")
    if attr == "__qualname__":
        assert "f maxsize=128" in text   # falls back to __name__
    f.__name__ = odd
    f.__qualname__ = odd
    assert "? maxsize" in repr(f)


@pytest.mark.parametrize("odd", ODD, ids=ODD_IDS)
def test_callable_object_with_odd_names(odd):
    f = weakcache.lru_cache(OddNames(odd))
    g = functools.lru_cache(OddNames(odd))
    assert f.__qualname__ is odd and g.__qualname__ is odd
    assert "?" in repr(f)
    assert f(1, 2) == g(1, 2) == 2
    for obj in (f, g):   # pickling fails the same way for both
        with pytest.raises(Exception) as ours:
            pickle.dumps(f)
        with pytest.raises(Exception) as theirs:
            pickle.dumps(g)
        assert type(ours.value) is type(theirs.value)


@pytest.mark.parametrize("odd", ODD, ids=ODD_IDS)
def test_bound_method_repr_with_odd_qualname(odd):
    class A:
        @weakcache.lru_cache
        def m(self):
            return 1

    A.m.__qualname__ = odd
    a = A()
    text = repr(a.m)
    assert text.startswith("<weakcache bound method m of ")
    A.m.__name__ = odd
    assert repr(a.m).startswith("<weakcache bound method ? of ")
    assert a.m() == 1


def test_warnings_with_odd_names():
    class Slotted:
        __slots__ = ()

        @weakcache.cache
        def m(self):
            return 1

    class Cyclic:
        @weakcache.cache
        def m(self):
            return self

    for cls in (Slotted, Cyclic):
        cls.m.__qualname__ = 5
        cls.m.__name__ = object()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Slotted().m()
        c = Cyclic()
        c.m()
    kinds = {w.category: str(w.message) for w in record}
    assert kinds[NotWeakrefableWarning].startswith("?: instances of Slotted")
    assert kinds[OwnerCycleWarning].startswith("? returned a value")
    Cyclic.m.cache_clear()


def test_qualname_lookup_that_raises_is_not_fatal():
    class Raising:
        armed = False

        def __call__(self):
            return 7

        def __getattr__(self, name):
            if name == "__qualname__" and self.armed:
                raise RuntimeError("no name today")
            raise AttributeError(name)

    func = Raising()
    f = weakcache.lru_cache(maxsize=None)(func)
    func.armed = True
    f.__dict__.pop("__qualname__", None)
    f.__dict__.pop("__name__", None)
    assert "?" in repr(f)
    assert f() == 7
