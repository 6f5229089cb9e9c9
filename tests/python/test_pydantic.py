"""weakcache in pydantic v2 models (the real package). pydantic rejects a
non-annotated class attribute unless it is one of its known kinds or its
class's module is 'functools'; weakcache's decorators need
``model_config = ConfigDict(ignored_types=weakcache.pydantic_ignored_types)``.
Each behaviour is checked against functools' decorators in the same model."""
import copy
import functools
import gc
import pickle
import weakref

import pydantic
import pytest
from pydantic import BaseModel, ConfigDict

import weakcache

CONFIG = ConfigDict(ignored_types=weakcache.pydantic_ignored_types)


class Ours(BaseModel):
    model_config = CONFIG
    x: int
    tags: tuple[str, ...] = ()

    @weakcache.cached_property
    def double(self) -> list[int]:
        return [self.x * 2]

    @weakcache.lru_cache(maxsize=None)
    def scaled(self, k: int) -> list[int]:
        return [self.x * k]

    @weakcache.cache
    def label(self) -> str:
        return f"x={self.x}"


class Reference(BaseModel):
    x: int
    tags: tuple[str, ...] = ()

    @functools.cached_property
    def double(self) -> list[int]:
        return [self.x * 2]

    @functools.lru_cache(maxsize=None)  # noqa: B019 - the reference
    def scaled(self, k: int) -> list[int]:
        return [self.x * k]

    @functools.cache  # noqa: B019 - the reference
    def label(self) -> str:
        return f"x={self.x}"


@pytest.fixture(params=[Ours, Reference], ids=["weakcache", "functools"])
def M(request):
    return request.param


def test_pydantic_v2_is_under_test():
    assert pydantic.VERSION.startswith("2.")
    assert weakcache.pydantic_ignored_types == (
        weakcache.cached_property, weakcache._weakcache._lru_cache_wrapper)


@pytest.mark.parametrize("decorator", [
    weakcache.cached_property, weakcache.lru_cache, weakcache.cache,
    weakcache.lru_cache(maxsize=4),
], ids=["cached_property", "lru_cache", "cache", "lru_cache(4)"])
def test_without_configuration_pydantic_refuses(decorator):
    with pytest.raises(pydantic.PydanticUserError, match="non-annotated attribute"):

        class Model(BaseModel):
            x: int

            @decorator
            def attr(self):
                return 1


def test_the_configuration_is_inherited():
    class Sub(Ours):
        @weakcache.cached_property
        def more(self) -> int:
            return self.x + 1

    assert Sub(x=1).more == 2


def test_validates_dumps_and_schema_as_before(M):
    m = M(x="2")
    assert m.x == 2
    m.double
    assert m.model_dump() == {"x": 2, "tags": ()}
    assert m.model_dump_json() == '{"x":2,"tags":[]}'
    assert list(M.model_fields) == ["x", "tags"]
    assert set(M.model_json_schema()["properties"]) == {"x", "tags"}
    with pytest.raises(pydantic.ValidationError):
        M(x="not a number")


def test_cached_property_lives_in_the_dict_like_functools(M):
    m = M(x=2)
    assert m.double == [4] and m.double is m.double
    assert m.__dict__["double"] == [4]
    assert m == M(x=2)  # pydantic compares fields only
    del m.double
    assert "double" not in m.__dict__ and m.double == [4]


def test_copies_carry_the_cached_value_like_functools(M):
    m = M(x=2)
    value = m.double
    for clone in (m.model_copy(), copy.copy(m)):
        assert clone.double is value
    for clone in (m.model_copy(deep=True), copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert clone.double == value and clone.double is not value
    updated = m.model_copy(update={"x": 5})
    assert updated.x == 5 and updated.double is value  # pydantic copies __dict__ as is


def test_cached_methods_compute_once_per_model():
    a, b = Ours(x=2), Ours(x=3)
    assert a.scaled(10) == [20] and a.scaled(10) is a.scaled(10)
    assert b.scaled(10) == [30] and a.label() == "x=2" and b.label() == "x=3"
    a.model_dump()
    assert a.scaled.cache_info().hits == 2


def test_functools_cannot_cache_methods_of_a_mutable_model():
    # A non-frozen model is unhashable (pydantic defines __eq__): functools'
    # key (self, ...) fails; weakcache keys the instance by identity.
    with pytest.raises(TypeError, match="unhashable"):
        Reference(x=2).scaled(3)
    assert Ours(x=2).scaled(3) == [6]


def test_a_cached_method_holds_its_model_weakly():
    gc.disable()
    try:
        m = Ours(x=2)
        assert m.scaled(3) == [6]
        m.label()
        ref = weakref.ref(m)
        del m
        assert ref() is None  # refcount 0, no gc.collect()
    finally:
        gc.enable()


def test_functools_keeps_a_frozen_model_alive_for_comparison():
    class RF(Reference):
        model_config = ConfigDict(frozen=True)

    m = RF(x=2)
    m.scaled(3)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is not None  # the cache's key holds self
    RF.scaled.cache_clear()
    gc.collect()
    assert ref() is None


def test_a_frozen_models_cached_method_is_freed_at_refcount_zero():
    class OF(Ours):
        model_config = ConfigDict(frozen=True)

    gc.disable()
    try:
        m = OF(x=2)
        assert m.scaled(3) == [6] and m.label() == "x=2"
        ref = weakref.ref(m)
        del m
        assert ref() is None
    finally:
        gc.enable()


def test_a_copy_computes_with_its_own_state():
    m = Ours(x=2)
    assert m.scaled(3) == [6]
    c = m.model_copy(update={"x": 10})
    assert c.scaled(3) == [30]


def test_frozen_model(M):
    class F(M):
        model_config = ConfigDict(frozen=True)

    f = F(x=3)
    assert f.double == [6] and f.double is f.double
    assert f.scaled(2) == [6]
    assert hash(f) == hash(F(x=3))


# Where pydantic special-cases functools.cached_property by type (its
# BaseModel.__setattr__ / __delattr__ check isinstance(attr,
# functools.cached_property)): weakcache's property is not one, so pydantic
# treats the name as an unknown attribute. The documented way around it
# writes the instance __dict__ directly, which is where the value lives.


def test_assignment_differs_from_functools():
    r = Reference(x=2)
    r.double = [0]
    assert r.double == [0]
    m = Ours(x=2)
    with pytest.raises(ValueError, match='no field "double"'):
        m.double = [0]
    object.__setattr__(m, "double", [0])  # documented workaround
    assert m.double == [0]


def test_frozen_delete_differs_from_functools():
    class RF(Reference):
        model_config = ConfigDict(frozen=True)

    class OF(Ours):
        model_config = ConfigDict(frozen=True)

    r, o = RF(x=1), OF(x=1)
    r.double, o.double
    del r.double  # pydantic lets functools' through even when frozen
    with pytest.raises(pydantic.ValidationError):
        del o.double
    o.__dict__.pop("double")  # documented workaround
    assert o.double == [2]
