"""weakcache.cached_property with attrs (the real package): attrs.define
makes slotted classes; weakcache.attrs_define reserves a slot for each
weakcache.cached_property through attrs' own support of
functools.cached_property on slotted classes. Each behaviour is checked
against attrs + functools.cached_property, the reference."""
import copy
import functools
import pickle
import warnings

import attrs
import pytest
from integration_helpers import (
    assert_dict_mode, assert_value_dies_with_instance, body, bytes_per_instance, set_name_error, three_properties,
)

import weakcache
from weakcache import WeakStoreWarning, cached_property


# Module level so that instances pickle; one class per implementation.
@weakcache.attrs_define
class Ours:
    x: int
    items: list = attrs.Factory(list)

    @cached_property
    def double(self):
        self.items.append("double")
        return [self.x * 2]

    @cached_property
    def triple(self):
        return [self.x * 3]


@attrs.define
class Reference:
    x: int
    items: list = attrs.Factory(list)

    @functools.cached_property
    def double(self):
        self.items.append("double")
        return [self.x * 2]

    @functools.cached_property
    def triple(self):
        return [self.x * 3]


@pytest.fixture(params=[Ours, Reference], ids=["weakcache", "functools"])
def C(request):
    return request.param


def test_the_value_lives_in_a_reserved_slot():
    assert Ours.__dict__["double"].storage == "slot"
    assert "_wc_cached_double" in Ours.__slots__ and "_wc_cached_triple" in Ours.__slots__
    o = Ours(2)
    assert not hasattr(o, "__dict__")
    o.double
    assert o._wc_cached_double == [4]
    with pytest.raises(AttributeError, match="_wc_cached_triple"):
        o._wc_cached_triple  # not computed yet: an empty slot reads as missing


def test_computed_once(C):
    o = C(2)
    assert o.double == [4] and o.double is o.double
    assert o.items == ["double"]


def test_del_resets_and_assignment_sets(C):
    o = C(2)
    first = o.double
    del o.double
    assert o.double == first and o.double is not first and o.items == ["double", "double"]
    o.double = "set"
    assert o.double == "set"


def test_fields_repr_eq_asdict_see_fields_only(C):
    o = C(2)
    o.double
    assert [a.name for a in attrs.fields(C)] == ["x", "items"]
    assert repr(o) == f"{C.__name__}(x=2, items=['double'])"
    assert o == C(2, ["double"])
    assert attrs.asdict(o) == {"x": 2, "items": ["double"]}
    assert list(C.__annotations__) == ["x", "items"]


def test_evolve_recomputes(C):
    o = C(2)
    o.double
    e = attrs.evolve(o, x=5)
    assert e.double == [10]


def test_copy_and_pickle_carry_fields_only(C):
    # attrs' __getstate__ covers the fields: cached values are recomputed,
    # with weakcache's slots as with attrs' own cached_property slots
    o = C(2)
    value = o.triple
    for clone in (copy.copy(o), copy.deepcopy(o), pickle.loads(pickle.dumps(o))):
        assert clone == o
        assert clone.triple == value and clone.triple is not value


def test_inheritance_properties_in_base_and_subclass():
    @weakcache.attrs_define
    class Sub(Ours):
        y: int = 0

        @cached_property
        def total(self):
            return [self.x + self.y]

    s = Sub(1, y=2)
    assert not hasattr(s, "__dict__")
    assert Sub.__dict__["total"].storage == "slot"
    assert s.double == [2] and s.total == [3] and s.triple == [3]
    assert "_wc_cached_double" not in Sub.__slots__  # inherited, not re-declared
    assert [a.name for a in attrs.fields(Sub)] == ["x", "items", "y"]


def test_an_override_shares_the_base_slot_as_attrs_does_for_functools():
    calls = []

    @weakcache.attrs_define
    class Base:
        x: int

        @cached_property
        def value(self):
            calls.append("base")
            return self.x

    @weakcache.attrs_define
    class Sub(Base):
        @cached_property
        def value(self):
            calls.append("sub")
            return super().value + 100

    assert Sub.__dict__["value"].storage == "slot"
    s = Sub(1)
    assert s.value == 101 and s.value == 101 and calls == ["sub", "base"]
    assert Base(2).value == 2


def test_frozen():
    F = weakcache.attrs_define(frozen=True, on_setattr=None)(
        type("F", (), body(double=cached_property(lambda self: [self.x * 2]))))

    f = F(2)
    assert f.double == [4] and f.double is f.double
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        f.x = 3
    assert hash(f) == hash(F(2))


def test_a_users_getattr_still_runs():
    @weakcache.attrs_define
    class G:
        x: int

        @cached_property
        def double(self):
            return self.x * 2

        def __getattr__(self, name):
            return f"fallback {name}"

    g = G(2)
    assert g.double == 4 and g.anything == "fallback anything"


def test_without_slots_the_dict_is_used():
    assert_dict_mode(weakcache.attrs_define(slots=False))


def test_values_die_with_the_instance_at_refcount_zero():
    assert_value_dies_with_instance(weakcache.attrs_define)


def test_memory_per_instance_equals_attrs_own_support():
    Mine = weakcache.attrs_define(type("Mine", (), three_properties(cached_property)))
    Theirs = attrs.define(type("Theirs", (), three_properties(functools.cached_property)))
    mine, theirs = bytes_per_instance(Mine), bytes_per_instance(Theirs)
    assert mine == pytest.approx(theirs, abs=2)
    assert mine < 90  # object + x + __weakref__ + 3 slots


# ------------------------------------------------------ plain attrs.define


def two_properties():
    return {"__annotations__": {"x": int}, "a": cached_property(lambda self: self.x),
            "b": cached_property(lambda self: self.x)}


def test_plain_define_falls_to_the_weak_store_and_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        P = attrs.define(type("P", (), two_properties()))

    assert [w.category for w in caught] == [WeakStoreWarning]
    assert "weakcache.attrs_define" in str(caught[0].message)
    assert P.__dict__["a"].storage == "weak" and P(3).b == 3


def test_plain_define_without_weakref_slot_names_the_helper():
    with pytest.raises((TypeError, RuntimeError)) as info:
        attrs.define(weakref_slot=False)(type("P", (), two_properties()))
    assert "weakcache.attrs_define" in str(set_name_error(info))


def test_no_warning_with_the_helper():
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @weakcache.attrs_define(weakref_slot=False)
        class P:
            x: int

            @cached_property
            def a(self):
                return self.x

    assert P(1).a == 1 and "__weakref__" not in P.__slots__
