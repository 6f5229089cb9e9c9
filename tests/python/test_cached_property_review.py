"""cached_property defects from issue 9 and their siblings: nothing may run
while the descriptor is half-updated (defect 3), and functools' constructor
signature (defect 6)."""
import functools
import gc
import sys

import pytest

import weakcache
from weakcache import cached_property, cached_slots


class _Observed(str):
    """A str subclass whose __del__ looks at the property it named: the
    moment the property drops it is in the middle of __set_name__."""

    seen: list = []

    def __del__(self):
        prop, obj = self.probe
        try:
            # storage and repr must describe one consistent binding, and a
            # __get__ from here must read the slot of obj's own class.
            self.seen.append((prop.storage, repr(prop), prop.__get__(obj)))
        except BaseException as e:  # recorded, not raised from __del__
            self.seen.append(e)


def _rebind_with_observer(first_owner, second_owner, obj_of_second):
    prop = cached_property(lambda self: "computed")
    name = _Observed("x")
    name.probe = (prop, obj_of_second)
    prop.__set_name__(first_owner, name)
    del name   # only the property holds it now
    _Observed.seen = []
    prop.__set_name__(second_owner, "x")   # drops the _Observed name
    seen = _Observed.seen
    _Observed.seen = []
    return prop, seen


def test_set_name_drops_the_old_name_only_when_the_new_binding_is_complete():
    class Big:   # the slot sits far into the instance
        __slots__ = tuple(f"a{i}" for i in range(30)) + cached_slots("x")

    class Small:   # weak mode, a much smaller instance
        __slots__ = ("__weakref__",)

    small = Small()
    prop, seen = _rebind_with_observer(Big, Small, small)
    assert len(seen) == 1, seen
    assert not isinstance(seen[0], BaseException), seen
    storage, text, value = seen[0]
    assert storage == "weak"
    assert "Small.x" in text and "storage=weak" in text
    assert value == "computed"
    assert prop.storage == "weak" and prop.__get__(small) == "computed"


def test_set_name_from_slot_to_dict_mode_under_a_dropped_name():
    class Big:
        __slots__ = tuple(f"a{i}" for i in range(30)) + cached_slots("x")

    class Plain:
        pass

    plain = Plain()
    prop, seen = _rebind_with_observer(Big, Plain, plain)
    assert len(seen) == 1 and not isinstance(seen[0], BaseException), seen
    storage, text, value = seen[0]
    assert storage == "dict" and "Plain.x" in text
    assert value == "computed"
    # dict mode: the value went into the instance __dict__, not past the object
    assert plain.__dict__ == {"x": "computed"}


def test_set_name_from_dict_to_slot_mode_under_a_dropped_name():
    class Plain:
        pass

    class Big:
        __slots__ = tuple(f"a{i}" for i in range(30)) + cached_slots("x")

    big = Big()
    prop, seen = _rebind_with_observer(Plain, Big, big)
    assert len(seen) == 1 and not isinstance(seen[0], BaseException), seen
    storage, text, value = seen[0]
    assert storage == "slot" and "Big.x" in text and value == "computed"
    # the value went into big's reserved slot, and the property was already a
    # data descriptor (slot mode) when the name was dropped
    assert Big.__dict__["_wc_cached_x"].__get__(big) == "computed"
    assert hasattr(type(prop), "__set__")


def test_reinit_drops_the_old_function_after_the_new_state_is_complete():
    # A guard (this passed before the audit too): __init__ on a live property
    # replaces func and lock; the old function's finalizer sees the new pair.
    seen = []

    class Func:
        def __call__(self, obj):
            return "old"

        def __del__(self):
            seen.append((prop.lock is not None, prop.func is new_func))

    def new_func(obj):
        return "new"

    prop = cached_property(Func())

    class C:
        x = prop

    prop.__init__(new_func, lock=True)
    gc.collect()
    assert seen == [(True, True)]
    assert C().x == "new"


# ------------------------------------------- defect 6: functools' signature


def test_func_keyword_makes_a_property_like_functools():
    def f(self):
        return 42

    for deco in (cached_property, functools.cached_property):
        prop = deco(func=f)
        assert isinstance(prop, deco)
        assert prop.func is f

        class C:
            x = prop

        assert C().x == 42
        assert C.x is prop


def test_func_keyword_with_lock():
    prop = cached_property(func=len, lock=True)
    assert isinstance(prop, cached_property) and prop.func is len and prop.lock is not None


@pytest.mark.parametrize(
    "kwargs",
    [{"bogus": 1}, {"lock": True, "bogus": 1}, {"func": len, "bogus": 1}, {"Lock": True}],
)
def test_unknown_keywords_raise_at_once(kwargs):
    with pytest.raises(TypeError) as theirs:
        functools.cached_property(**{k: v for k, v in kwargs.items() if k != "lock"})
    with pytest.raises(TypeError) as ours:
        cached_property(**kwargs)
    bad = next(k for k in kwargs if k not in ("func", "lock"))
    assert repr(bad) in str(ours.value) and repr(bad) in str(theirs.value)


def test_missing_func_and_extra_positional_raise_like_functools():
    for call in (lambda d: d(), lambda d: d(len, 1)):
        with pytest.raises(TypeError):
            call(functools.cached_property)
        with pytest.raises(TypeError):
            call(cached_property)


def test_lock_alone_is_still_a_decorator_factory():
    deco = cached_property(lock=True)
    assert not isinstance(deco, cached_property)
    prop = deco(len)
    assert isinstance(prop, cached_property) and prop.lock is not None
    assert isinstance(cached_property(lock=False)(len), cached_property)
    with pytest.raises(TypeError):
        cached_property(lock=True)(bogus=len)
