"""weakcache.dataclass: dataclasses.dataclass with the same parameters and
behaviour, which with slots=True also reserves a slot for every
weakcache.cached_property; and what weakcache.cached_property does under the
standard library's dataclass(slots=True) (WeakStoreWarning, the TypeError)."""
import copy
import dataclasses
import inspect
import pickle
import sys
import typing
import warnings
import weakref

import pytest
from integration_helpers import (
    assert_dict_mode, assert_value_dies_with_instance, body, bytes_per_instance, set_name_error, three_properties,
)

import weakcache
from weakcache import WeakStoreWarning, cached_property

PY311 = sys.version_info >= (3, 11)


# Module level, so that instances pickle.
@weakcache.dataclass(slots=True)
class Point:
    x: float
    y: float = 0.0
    tags: list = dataclasses.field(default_factory=list)

    @cached_property
    def norm(self):
        self.tags.append("norm")
        return (self.x**2 + self.y**2) ** 0.5

    @cached_property
    def label(self):
        return [f"{self.x},{self.y}"]


@weakcache.dataclass(slots=True, frozen=True)
class FrozenPoint:
    x: float
    y: float = 0.0

    @cached_property
    def norm(self):
        return [(self.x**2 + self.y**2) ** 0.5]


# ------------------------------------------------------------- the decorator


def test_exported_and_documented():
    assert "dataclass" in weakcache.__all__ and "WeakStoreWarning" in weakcache.__all__
    assert issubclass(WeakStoreWarning, weakcache.WeakcacheWarning)
    assert "8 bytes" in weakcache.dataclass.__doc__


def test_same_signature_as_dataclasses_on_this_python():
    assert inspect.signature(weakcache.dataclass) == inspect.signature(dataclasses.dataclass)
    with pytest.raises(TypeError, match="bogus"):
        weakcache.dataclass(bogus=True)
    with pytest.raises(TypeError):
        dataclasses.dataclass(bogus=True)


@pytest.mark.skipif(PY311, reason="3.10 only: dataclasses rejects weakref_slot before 3.11")
def test_no_weakref_slot_before_3_11():
    with pytest.raises(TypeError):
        weakcache.dataclass(slots=True, weakref_slot=True)
    with pytest.raises(TypeError):
        dataclasses.dataclass(slots=True, weakref_slot=True)


def test_reserves_a_slot_per_cached_property():
    assert Point.__slots__ == ("x", "y", "tags", "_wc_cached_norm", "_wc_cached_label")
    assert Point.__dict__["norm"].storage == "slot"
    assert Point.__dict__["label"].storage == "slot"
    p = Point(3.0, 4.0)
    assert not hasattr(p, "__dict__")
    assert p.norm == 5.0 and p.norm == 5.0 and p.tags == ["norm"]  # computed once
    del p.norm
    assert p.norm == 5.0 and p.tags == ["norm", "norm"]
    p.norm = 1.5
    assert p.norm == 1.5


def test_the_pseudo_fields_are_gone():
    assert [f.name for f in dataclasses.fields(Point)] == ["x", "y", "tags"]
    assert list(Point.__dataclass_fields__) == ["x", "y", "tags"]
    assert list(Point.__annotations__) == ["x", "y", "tags"]
    assert list(typing.get_type_hints(Point)) == ["x", "y", "tags"]
    assert Point.__match_args__ == ("x", "y", "tags")
    assert "_wc_cached" not in str(inspect.signature(Point))
    p = Point(1.0)
    p.norm
    assert dataclasses.asdict(p) == {"x": 1.0, "y": 0.0, "tags": ["norm"]}
    assert dataclasses.astuple(p) == (1.0, 0.0, ["norm"])


def test_repr_eq_and_replace_ignore_cached_values():
    a, b = Point(3.0, 4.0), Point(3.0, 4.0)
    a.label
    assert repr(a) == "Point(x=3.0, y=4.0, tags=[])"
    assert a == b
    c = dataclasses.replace(a, x=6.0, tags=[])
    assert c.norm == pytest.approx(7.2111, rel=1e-4) and a.norm == 5.0


def test_copy_deepcopy_pickle_carry_the_value():
    p = Point(3.0, 4.0)
    label = p.label
    shallow, deep = copy.copy(p), copy.deepcopy(p)
    loaded = pickle.loads(pickle.dumps(p))
    assert shallow.label is label
    assert deep.label == label and deep.label is not label
    assert loaded.label == label
    assert shallow == deep == loaded == p


def test_frozen_hash_and_pickle():
    f = FrozenPoint(3.0, 4.0)
    assert f.norm == [5.0] and f.norm is f.norm  # frozen, yet cached (a slot write)
    assert hash(f) == hash(FrozenPoint(3.0, 4.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.x = 1.0
    # del of a non-field attribute of a frozen slotted dataclass: whatever
    # the standard library's generated __delattr__ raises there (3.10-3.13:
    # TypeError from super(), its methods still name the class it replaced)
    @dataclasses.dataclass(slots=True, frozen=True)
    class Std:
        x: float

    with pytest.raises(Exception) as std_error:
        del Std(1.0).missing
    with pytest.raises(type(std_error.value)):
        del f.norm
    # frozen slotted dataclasses pickle their fields only: the copy recomputes
    loaded = pickle.loads(pickle.dumps(f))
    assert loaded == f and loaded.norm == [5.0] and loaded.norm is not f.norm
    assert copy.deepcopy(f) == f


def test_without_slots_it_is_dataclasses_itself():
    D = assert_dict_mode(weakcache.dataclass)
    assert not hasattr(D, "__slots__")

    @weakcache.dataclass(order=True, frozen=True)
    class E:
        x: int

    assert E(1) < E(2)


def test_reserved_slots_with_weakref_slot():
    if not PY311:
        pytest.skip("weakref_slot exists from 3.11 on")
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        W = weakcache.dataclass(slots=True, weakref_slot=True)(
            type("W", (), body(double=cached_property(lambda self: [self.x * 2]))))

    w = W(2)
    assert W.__dict__["double"].storage == "slot"
    assert weakref.ref(w)() is w
    assert w.double == [4]


def test_every_option_gives_the_class_dataclasses_gives():
    # Differential: the same class through both decorators (no cached
    # property, so the standard library can make it) gives the same class.
    options = [
        {}, {"frozen": True}, {"order": True}, {"unsafe_hash": True}, {"eq": False},
        {"kw_only": True}, {"match_args": False}, {"init": False}, {"repr": False},
    ]
    if PY311:
        options.append({"weakref_slot": True})
    for opts in options:
        made = []
        for deco in (dataclasses.dataclass, weakcache.dataclass):

            class C:
                x: int = 1
                y: list = dataclasses.field(default_factory=list)

                def method(self):
                    return self.x

            made.append(deco(slots=True, **opts)(C))
        std, ours = made
        assert ours.__slots__ == std.__slots__, opts
        assert sorted(ours.__dict__) == sorted(std.__dict__), opts
        assert repr(ours.__dataclass_params__) == repr(std.__dataclass_params__), opts
        assert [f.name for f in dataclasses.fields(ours)] == ["x", "y"]
        if opts.get("init", True) and opts.get("repr", True):
            assert repr(ours(x=2)).replace(ours.__qualname__, "") == repr(std(x=2)).replace(
                std.__qualname__, "")


# ------------------------------------------------------------- inheritance


def test_slotted_base_and_subclass_with_properties_in_both():
    @weakcache.dataclass(slots=True)
    class Base:
        a: int

        @cached_property
        def double(self):
            return [self.a * 2]

    @weakcache.dataclass(slots=True)
    class Sub(Base):
        b: int = 0

        @cached_property
        def total(self):
            return [self.a + self.b]

    s = Sub(1, 2)
    assert not hasattr(s, "__dict__")
    # the field slots dataclasses gives the same subclass (3.10 declares
    # inherited fields again), plus the reserved one
    std_sub = dataclasses.dataclass(slots=True)(
        type("StdSub", (Base,), {"__annotations__": {"b": int}, "b": 0}))
    assert Sub.__slots__ == std_sub.__slots__ + ("_wc_cached_total",)
    assert Base.__dict__["double"].storage == "slot" and Sub.__dict__["total"].storage == "slot"
    assert s.double == [2] and s.total == [3]
    assert [f.name for f in dataclasses.fields(Sub)] == ["a", "b"]
    assert repr(s).endswith("Sub(a=1, b=2)") and s == Sub(1, 2)
    loaded = pickle.loads(pickle.dumps(s)) if Sub.__qualname__ == "Sub" else copy.copy(s)
    assert loaded.double == [2] and loaded.total == [3]


def test_an_override_in_a_subclass_shares_the_base_slot():
    calls = []

    @weakcache.dataclass(slots=True)
    class Base:
        a: int

        @cached_property
        def value(self):
            calls.append("base")
            return self.a

    @weakcache.dataclass(slots=True)
    class Sub(Base):
        @cached_property
        def value(self):
            calls.append("sub")
            return super(Sub, self).value + 100

    assert Sub.__dict__["value"].storage == "slot"
    assert "_wc_cached_value" not in Sub.__slots__
    s = Sub(1)
    assert s.value == 101 and s.value == 101
    assert calls == ["sub", "base"]
    assert Base(2).value == 2


def test_init_subclass_runs_as_with_dataclasses():
    log = []

    class Registry:
        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__()
            log.append((cls.__name__, sorted(kwargs), "x" in getattr(cls, "__slots__", ())))

    def body():
        return {"__annotations__": {"x": int}, "x": 0}

    std = dataclasses.dataclass(slots=True)(type("A", (Registry,), body()))
    std_log, log[:] = log[:], []
    ns = body()
    ns["p"] = cached_property(lambda self: self.x)
    ours = weakcache.dataclass(slots=True)(type("A", (Registry,), ns))
    assert log == std_log == [("A", [], False), ("A", [], True)]
    assert ours(3).p == 3 and std(3).x == 3


# ---------------------------------------------------------- memory, lifetime


def test_memory_is_the_hand_written_slots_figure():
    Converted = weakcache.dataclass(slots=True)(type("Converted", (), three_properties(cached_property)))

    def init(self, x):
        self.x = x

    HandWritten = type("HandWritten", (), {
        **three_properties(cached_property), "__init__": init,
        "__slots__": ("x",) + weakcache.cached_slots("p0", "p1", "p2")})
    converted, hand = bytes_per_instance(Converted), bytes_per_instance(HandWritten)
    assert converted == pytest.approx(hand, abs=2)
    assert converted < 80  # 32 B of object + 4 slots: no __dict__, nothing else


def test_values_die_with_the_instance_at_refcount_zero():
    assert_value_dies_with_instance(weakcache.dataclass(slots=True))


# ------------------------------------------------- the standard decorator


def stdlib_weakref_slot_class():
    class P:
        __annotations__ = {"x": int}
        a = cached_property(lambda self: self.x)
        b = cached_property(lambda self: self.x)

    return dataclasses.dataclass(slots=True, weakref_slot=True)(P)


@pytest.mark.skipif(not PY311, reason="weakref_slot exists from 3.11 on")
def test_stdlib_weakref_slot_warns_once_per_class_naming_cost_and_fix():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        P = stdlib_weakref_slot_class()

    assert [w.category for w in caught] == [WeakStoreWarning]
    message = str(caught[0].message)
    assert "weak-keyed store" in message and "bytes per instance" in message
    assert "weakcache.dataclass(slots=True" in message and "'a'" in message
    assert P.__dict__["a"].storage == "weak" and P(2).b == 2


@pytest.mark.skipif(not PY311, reason="weakref_slot exists from 3.11 on")
def test_the_warning_can_be_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", WeakStoreWarning)
        with pytest.raises((WeakStoreWarning, RuntimeError)):
            stdlib_weakref_slot_class()


def test_no_warning_for_hand_written_slots_with_weakref():
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class C:
            __slots__ = ("__weakref__",)

            @cached_property
            def a(self):
                return 1

    assert C.__dict__["a"].storage == "weak"


def test_stdlib_slots_type_error_names_weakcache_dataclass():
    with pytest.raises((TypeError, RuntimeError)) as info:

        @dataclasses.dataclass(slots=True)
        class P:
            x: int

            @cached_property
            def double(self):
                return self.x * 2

    message = str(set_name_error(info))
    assert "weakcache.dataclass(slots=True" in message and "'__weakref__'" in message


def test_hand_written_slots_are_dataclasses_error():
    with pytest.raises(TypeError, match="already specifies __slots__"):

        @weakcache.dataclass(slots=True)
        class P:
            __slots__ = ("x", "__weakref__")
            x: int

            @cached_property
            def double(self):
                return self.x * 2


def test_a_dataclasses_error_leaves_no_pseudo_field_behind():
    class P:
        __annotations__ = {"x": int, "y": int}
        x = 0  # a default before a field without one

        @cached_property
        def double(self):
            return 2

    with pytest.raises(TypeError, match="non-default argument"):
        weakcache.dataclass(slots=True)(P)
    assert "_wc_cached_double" not in P.__dict__
    assert list(P.__annotations__) == ["x", "y"]


def test_private_names():
    @weakcache.dataclass(slots=True)
    class C:
        x: int

        @cached_property
        def __secret(self):
            return [self.x]

        def peek(self):
            return self.__secret

    assert C(4).peek() == [4]
    assert C.__dict__["_C__secret"].storage == "slot"
