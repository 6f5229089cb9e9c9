"""Helpers shared by the suites of weakcache's integrations (dataclasses,
attrs, pydantic)."""
from __future__ import annotations

import gc
import tracemalloc
import weakref
from typing import Any, Callable


def set_name_error(info: Any) -> BaseException:
    """The TypeError raised by a __set_name__ (3.10/3.11 wrap it in a
    RuntimeError whose __cause__ it is)."""
    err = info.value
    return err if isinstance(err, TypeError) else err.__cause__


def bytes_per_entry(deco: Callable[..., Any], keys: list[Any], first: Any) -> float:
    """tracemalloc bytes per entry of a function cache made with `deco`,
    filled with `keys` (which exist before tracing, as does the result,
    None) after a first call with `first` (the cache's first allocations)."""
    @deco
    def f(x: Any) -> None:
        return None

    f(first)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in keys:
            f(k)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert f.cache_info().currsize == len(keys) + 1
    return used / len(keys)


def bytes_per_instance(cls: type, names: tuple[str, ...] = ("p0", "p1", "p2"), n: int = 3000) -> float:
    """tracemalloc bytes per instance of cls(0), each with `names` read."""
    objs: list[Any] = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            o = cls(0)
            for name in names:
                getattr(o, name)
            objs[i] = o
        return (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()


class Payload:
    """A weakly referenceable cached value."""


def body(**properties: Any) -> dict[str, Any]:
    """A class namespace with one field `x: int` and the given attributes."""
    return {"__annotations__": {"x": int}, **properties}


def three_properties(deco: Callable[[Any], Any]) -> dict[str, Any]:
    """A namespace with `x: int` and p0, p1, p2 = deco(...) returning 0, 1, 2."""
    return body(p0=deco(lambda self: 0), p1=deco(lambda self: 1), p2=deco(lambda self: 2))


def assert_value_dies_with_instance(class_decorator: Callable[[type], type]) -> None:
    """In a class made by class_decorator, a cached value is freed as soon
    as its instance's last reference goes (no collector)."""
    from weakcache import cached_property

    cls = class_decorator(type("C", (), body(payload=cached_property(lambda self: Payload()))))
    gc.disable()
    try:
        obj = cls(1)
        ref = weakref.ref(obj.payload)
        del obj
        assert ref() is None
    finally:
        gc.enable()


def assert_dict_mode(class_decorator: Callable[[type], type]) -> type:
    """Without slots, the value goes to the instance __dict__ as functools'
    does; returns the class."""
    from weakcache import cached_property

    cls = class_decorator(type("D", (), body(double=cached_property(lambda self: self.x * 2))))
    d = cls(2)
    assert cls.__dict__["double"].storage == "dict"
    assert d.double == 4 and d.__dict__["double"] == 4
    assert not hasattr(cls, "_wc_cached_double")
    return cls
