"""weakcache.cached_property: a drop-in for functools.cached_property that
also works on __slots__ classes (a reserved slot, or a weak-keyed store), in
each storage mode: computing once, del, assignment, inheritance, overrides,
copy/pickle, the errors functools raises, threads, leaks."""
import abc
import copy
import functools
import gc
import operator
import pickle
import sys
import threading
import time
import tracemalloc
import types
import weakref

import pytest

import weakcache
from weakcache import cached_property, cached_slots

PY312 = sys.version_info >= (3, 12)


class Value:
    """A cached value that can be weakly referenced and compared."""

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, Value) and other.n == self.n

    def __hash__(self):
        return hash(self.n)

    def __repr__(self):
        return f"Value({self.n})"


# Module-level classes, one per storage mode, so that instances pickle.


class DictBox:
    def __init__(self, n):
        self.n = n
        self.calls = 0

    @cached_property
    def value(self):
        """The value, computed once."""
        self.calls += 1
        return Value(self.n * 10)


class SlotBox:
    __slots__ = ("n", "calls", "__weakref__") + cached_slots("value")

    def __init__(self, n):
        self.n = n
        self.calls = 0

    @cached_property
    def value(self):
        """The value, computed once."""
        self.calls += 1
        return Value(self.n * 10)


class WeakBox:
    __slots__ = ("n", "calls", "__weakref__")

    def __init__(self, n):
        self.n = n
        self.calls = 0

    @cached_property
    def value(self):
        """The value, computed once."""
        self.calls += 1
        return Value(self.n * 10)


BOXES = {"dict": DictBox, "slot": SlotBox, "weak": WeakBox}


@pytest.fixture(params=sorted(BOXES))
def mode(request):
    return request.param


@pytest.fixture
def Box(mode):
    return BOXES[mode]


def make_class(mode, name="C", body=None):
    """A fresh class in the given storage mode with the cached properties in
    `body` (a dict of name -> function)."""
    body = dict(body or {})
    names = [k for k, v in body.items() if isinstance(v, cached_property)]
    if mode == "slot":
        body["__slots__"] = ("__weakref__", "state") + cached_slots(*names)
    elif mode == "weak":
        body["__slots__"] = ("__weakref__", "state")
    return type(name, (), body)


def test_installed_package_is_under_test():
    assert "site-packages" in weakcache.__file__
    assert weakcache.cached_property is weakcache._weakcache.cached_property
    assert "cached_property" in weakcache.__all__ and "cached_slots" in weakcache.__all__


# ------------------------------------------------------------- basics


def test_storage_chosen_per_class(mode, Box):
    assert Box.__dict__["value"].storage == mode
    assert isinstance(Box.__dict__["value"], cached_property)


def test_computed_once_per_instance(Box):
    a, b = Box(1), Box(2)
    assert a.value == Value(10)
    assert a.value is a.value
    assert a.calls == 1
    assert b.value == Value(20)
    assert a.calls == 1 and b.calls == 1


def test_class_access_returns_the_descriptor(Box):
    prop = Box.__dict__["value"]
    assert Box.value is prop
    assert prop.__get__(None, Box) is prop
    assert prop.__get__(None) is prop


def test_explicit_get(Box):
    obj = Box(3)
    prop = Box.__dict__["value"]
    assert prop.__get__(obj, Box) == Value(30)
    assert obj.value is prop.__get__(obj)
    assert obj.calls == 1


def test_del_resets(Box):
    obj = Box(1)
    first = obj.value
    del obj.value
    second = obj.value
    assert second == first and second is not first
    assert obj.calls == 2


def test_del_without_value_raises_attribute_error(Box):
    obj = Box(1)
    with pytest.raises(AttributeError):
        del obj.value
    obj.value
    del obj.value
    with pytest.raises(AttributeError):
        del obj.value


def test_assignment_overrides_the_cached_value(Box):
    obj = Box(1)
    obj.value = "set"
    assert obj.value == "set"
    assert obj.calls == 0
    obj.value = "again"
    assert obj.value == "again"
    del obj.value
    assert obj.value == Value(10)


def test_exceptions_are_not_cached(mode):
    calls = []

    def flaky(self):
        calls.append(1)
        if len(calls) < 3:
            raise ValueError(len(calls))
        return "ok"

    C = make_class(mode, body={"x": cached_property(flaky)})
    obj = C()
    for i in (1, 2):
        with pytest.raises(ValueError, match=str(i)):
            obj.x
    assert obj.x == "ok"
    assert obj.x == "ok"
    assert len(calls) == 3


def test_none_and_falsy_values_are_cached(mode):
    calls = []

    def f(self):
        calls.append(1)
        return None

    C = make_class(mode, body={"x": cached_property(f)})
    obj = C()
    assert obj.x is None and obj.x is None
    assert len(calls) == 1


def test_many_properties_are_independent(mode):
    body = {f"p{i}": cached_property(lambda self, i=i: i * 2) for i in range(12)}
    C = make_class(mode, body=body)
    obj = C()
    assert [getattr(obj, f"p{i}") for i in range(12)] == [i * 2 for i in range(12)]
    del obj.p3
    assert obj.p2 == 4 and obj.p3 == 6 and obj.p4 == 8


# ------------------------------------------------------ functools parity


def test_attributes_like_functools():
    def total(self):
        """Sum it."""
        return 1

    ours, theirs = cached_property(total), functools.cached_property(total)
    assert ours.func is total and ours.__wrapped__ is total
    assert ours.__doc__ == theirs.__doc__ == "Sum it."
    assert ours.__module__ == total.__module__
    assert ours.attrname is None and theirs.attrname is None
    assert ours.storage is None

    class C:
        x = ours

    assert ours.attrname == "x"
    assert DictBox.value.__doc__ == "The value, computed once."
    assert SlotBox.value.__doc__ == "The value, computed once."
    ours.extra = 1  # like functools, the object takes attributes
    assert ours.__dict__["extra"] == 1


def test_set_name_called_explicitly():
    prop = cached_property(lambda self: 5)

    class C:
        pass

    C.y = prop
    with pytest.raises(TypeError) as ours:
        C().y
    fprop = functools.cached_property(lambda self: 5)
    C.z = fprop
    with pytest.raises(TypeError) as theirs:
        C().z
    assert str(ours.value) == str(theirs.value)
    prop.__set_name__(C, "y")
    assert C().y == 5


def set_name_error(exc_info):
    """The TypeError raised by __set_name__ during class creation: 3.10-3.11
    wrap it in RuntimeError (with __cause__), 3.12+ add a note."""
    err = exc_info.value
    if PY312:
        assert isinstance(err, TypeError)
        assert any("__set_name__" in note for note in getattr(err, "__notes__", []))
        return err
    assert isinstance(err, RuntimeError)
    assert "__set_name__" in str(err)
    assert isinstance(err.__cause__, TypeError)
    return err.__cause__


def test_same_property_under_two_names_like_functools():
    def f(self):
        return 1

    errors = []
    for deco in (cached_property, functools.cached_property):
        prop = deco(f)
        with pytest.raises((TypeError, RuntimeError)) as info:

            class C:
                a = prop
                b = prop

        errors.append(str(set_name_error(info)))
    assert errors[0] == errors[1]
    assert errors[0] == (
        "Cannot assign the same cached_property to two different names ('a' and 'b')."
    )


def test_same_name_in_two_classes_is_fine():
    prop = cached_property(lambda self: id(self))

    class A:
        x = prop

    class B:
        x = prop

    a, b = A(), B()
    assert a.x == id(a) and b.x == id(b)


def test_isabstractmethod():
    class Base(abc.ABC):
        @cached_property
        @abc.abstractmethod
        def x(self):
            ...

    assert Base.__dict__["x"].__isabstractmethod__ is True
    with pytest.raises(TypeError, match="abstract"):
        Base()

    class Impl(Base):
        @cached_property
        def x(self):
            return 3

    assert Impl.__dict__["x"].__isabstractmethod__ is False
    assert Impl().x == 3


def test_class_getitem_like_functools():
    alias = cached_property[int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is cached_property
    assert alias.__args__ == (int,)
    assert type(functools.cached_property[int]) is type(alias)


def test_repr():
    assert "unbound" in repr(cached_property(len))
    assert repr(SlotBox.value) == "<weakcache.cached_property SlotBox.value, storage=slot>"
    assert "storage=dict" in repr(DictBox.value)
    assert "storage=weak" in repr(WeakBox.value)


def test_vars_and_getattr_static_in_dict_mode():
    obj = DictBox(1)
    v = obj.value
    assert vars(obj)["value"] is v  # stored under the attribute name, as functools


def test_dict_mode_is_a_non_data_descriptor_and_other_modes_are_data():
    # dict hits are then plain attribute reads, as with functools
    assert not hasattr(type(DictBox.value), "__set__")
    assert hasattr(type(SlotBox.value), "__set__")
    assert hasattr(type(SlotBox.value), "__delete__")
    assert hasattr(type(WeakBox.value), "__set__")


def test_metaclass_dict_is_read_only_like_functools():
    errors = []
    for deco in (cached_property, functools.cached_property):

        class Meta(type):
            @deco
            def x(cls):
                return 1

        class C(metaclass=Meta):
            pass

        with pytest.raises(TypeError) as info:
            C.x
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_dict_mode_without_dict_at_runtime_like_functools():
    # A property explicitly applied to an object that has no __dict__.
    errors = []
    for prop in (DictBox.__dict__["value"], functools.cached_property(lambda self: 1)):
        if prop.attrname is None:
            prop.__set_name__(DictBox, "value")
        with pytest.raises(TypeError) as info:
            prop.__get__(WeakBox(1))
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert "No '__dict__' attribute on 'WeakBox' instance" in errors[0]


# ----------------------------------------------------------- inheritance


def test_inherited(Box):
    class Sub(Box):
        __slots__ = ()

    obj = Sub(4)
    assert obj.value == Value(40) and obj.value is obj.value
    assert obj.calls == 1
    del obj.value
    obj.value
    assert obj.calls == 2


def test_subclass_with_dict_of_a_slotted_class_still_uses_the_slot():
    class Sub(SlotBox):
        pass  # has a __dict__

    obj = Sub(2)
    assert obj.value == Value(20)
    assert "value" not in obj.__dict__
    assert obj.value is obj.value and obj.calls == 1


@pytest.mark.parametrize("mode", ["dict", "slot", "weak"])
def test_subclass_override_calling_super(mode):
    calls = []

    def base_x(self):
        calls.append("base")
        return 10

    def sub_x(self):
        calls.append("sub")
        return super(Sub, self).x + 1

    Base = make_class(mode, "Base", {"x": cached_property(base_x)})
    ns = {"x": cached_property(sub_x)}
    if mode == "slot":
        ns["__slots__"] = cached_slots("x")
    elif mode == "weak":
        ns["__slots__"] = ()
    Sub = type("Sub", (Base,), ns)
    assert Sub.__dict__["x"].storage == mode

    obj = Sub()
    assert obj.x == 11
    assert obj.x == 11
    assert calls == ["sub", "base"]
    base = Base()
    assert base.x == 10
    assert calls == ["sub", "base", "base"]


def test_subclass_override_with_plain_property():
    class Base:
        @cached_property
        def x(self):
            return 1

    class Sub(Base):
        @property
        def x(self):
            return 100

    assert Sub().x == 100
    assert Base().x == 1


def test_slotted_override_without_a_slot_of_its_own_shares_the_base_slot():
    # As functools' overrides share the __dict__ key: the override's value
    # is the one cached; the base's function, reached through super(),
    # computes without caching; Base instances keep their own values.
    calls = []

    class Base:
        __slots__ = cached_slots("x")

        @cached_property
        def x(self):
            calls.append("base")
            return 1

    class Sub(Base):
        __slots__ = ()

        @cached_property
        def x(self):
            calls.append("sub")
            return super().x + 10

    assert Sub.__dict__["x"].storage == "slot"
    obj = Sub()
    assert obj.x == 11 and obj.x == 11
    assert calls == ["sub", "base"]
    assert obj._wc_cached_x == 11
    del obj.x
    assert obj.x == 11 and calls == ["sub", "base", "sub", "base"]
    assert Base().x == 1
    assert sys.getsizeof(obj) == sys.getsizeof(Base())  # no second slot


def test_a_base_slot_is_not_shared_with_a_subclass_that_has_a_dict():
    class Base:
        __slots__ = cached_slots("x")

        @cached_property
        def x(self):
            return 1

    class Sub(Base):
        @cached_property
        def x(self):
            return super().x + 10

    assert Sub.__dict__["x"].storage == "dict"
    obj = Sub()
    assert obj.x == 11 and obj.__dict__["x"] == 11
    assert obj._wc_cached_x == 1  # the base's value, in its own slot


@pytest.mark.parametrize("mode", ["slot", "weak"])
def test_private_names_are_mangled_consistently(mode):

    class C:
        __slots__ = ("__weakref__",) + (cached_slots("__secret") if mode == "slot" else ())

        @cached_property
        def __secret(self):
            return 42

        def peek(self):
            return self.__secret

    assert C.__dict__["_C__secret"].storage == mode
    assert C().peek() == 42


@pytest.mark.parametrize("with_slots", [False, True])
def test_subclassing_cached_property_itself(mode, with_slots):
    log = []

    class logged_property(cached_property):
        if with_slots:
            __slots__ = ("tag2",)

        def __init__(self, func, tag):
            super().__init__(func)
            self.tag = tag

        def __get__(self, obj, owner=None):
            log.append(self.tag)
            return super().__get__(obj, owner)

    prop = logged_property(lambda self: 7, "t")
    C = make_class(mode, body={"x": prop})
    assert isinstance(C.__dict__["x"], logged_property)
    assert C.__dict__["x"] is prop
    obj = C()
    assert obj.x == 7
    if mode != "dict":
        del obj.x
        obj.x = 8
        assert obj.x == 8
    assert "t" in log and prop.tag == "t"


# -------------------------------------------------------------- errors


def test_slots_without_storage_is_a_type_error_at_class_creation():
    with pytest.raises((TypeError, RuntimeError)) as info:

        class Point:
            __slots__ = ("x", "y")

            @cached_property
            def norm(self):
                return 0

    msg = str(set_name_error(info))
    assert "'norm'" in msg and "Point" in msg
    assert "weakcache.cached_slots('norm')" in msg
    assert "'__weakref__'" in msg


def test_reserved_name_taken_by_something_else():
    with pytest.raises((TypeError, RuntimeError)) as info:

        class C:
            __slots__ = ("__weakref__",)
            _wc_cached_x = 5

            @cached_property
            def x(self):
                return 1

    assert "reserved" in str(set_name_error(info))


def test_cached_slots():
    assert cached_slots() == ()
    assert cached_slots("a", "b") == ("_wc_cached_a", "_wc_cached_b")
    with pytest.raises(TypeError):
        cached_slots(1)
    with pytest.raises(ValueError):
        cached_slots("not an identifier")


def test_descriptor_on_a_foreign_object_is_an_error_not_a_crash():
    prop = SlotBox.__dict__["value"]
    for obj in (object(), DictBox(1), 5):
        with pytest.raises(TypeError):
            prop.__get__(obj)
        with pytest.raises(TypeError):
            prop.__set__(obj, 1)
        with pytest.raises(TypeError):
            prop.__delete__(obj)
    with pytest.raises(TypeError, match="weakly referenced"):
        WeakBox.__dict__["value"].__get__(5)


# ------------------------------------------------------ no __dict__, memory


def test_no_dict_is_ever_created_on_slotted_instances():
    for Box in (SlotBox, WeakBox):
        obj = Box(1)
        obj.value
        obj.value = 3
        del obj.value
        obj.value
        assert not hasattr(obj, "__dict__")


def test_slot_mode_size_is_that_of_a_plain_slotted_class():
    class Plain:
        __slots__ = ("n", "calls", "__weakref__", "cached")

    obj = SlotBox(1)
    obj.value
    assert sys.getsizeof(obj) == sys.getsizeof(Plain())


def test_slot_mode_allocates_nothing_per_instance():
    class C:
        __slots__ = cached_slots(*(f"p{i}" for i in range(10)))
        for i in range(10):
            locals()[f"p{i}"] = cached_property(lambda self, i=i: i)
        del i

    getters = [operator.attrgetter(f"p{i}") for i in range(10)]
    objs = [C() for _ in range(2000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for obj in objs:
            for get in getters:
                get(obj)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert [get(objs[-1]) for get in getters] == list(range(10))
    assert grown < 2000  # less than a byte per instance: nothing is allocated


# ------------------------------------------------------------ weak store


def test_weak_store_value_dies_with_the_instance():
    gc.disable()
    try:
        obj = WeakBox(1)
        value_ref = weakref.ref(obj.value)
        obj_ref = weakref.ref(obj)
        assert value_ref() is not None
        del obj
        assert obj_ref() is None
        assert value_ref() is None  # freed at once, no gc.collect()
    finally:
        gc.enable()


def test_weak_store_del_frees_the_value():
    obj = WeakBox(1)
    value_ref = weakref.ref(obj.value)
    del obj.value
    assert value_ref() is None


def test_weak_store_does_not_keep_the_instance_alive():
    obj = WeakBox(1)
    obj.value
    ref = weakref.ref(obj)
    del obj
    assert ref() is None


def test_weak_store_under_address_reuse():
    # Instances die and new ones are allocated at the same addresses: a new
    # instance never sees a dead one's value.
    for i in range(2000):
        obj = WeakBox(i)
        assert obj.value == Value(i * 10)
        assert obj.calls == 1


def test_weak_store_entries_leave_with_the_instance():
    store = cached_property._wc_store  # one store for every weak-mode property
    C = make_class("weak", body={f"p{i}": cached_property(lambda self, i=i: i) for i in range(3)})
    before, owners = len(store), weakcache._owner_count()
    obj = C()
    assert [obj.p0, obj.p1, obj.p2] == [0, 1, 2]
    assert len(store) == before + 3
    assert weakcache._owner_count() == owners + 1  # one owner record per instance
    del obj.p1
    assert len(store) == before + 2
    del obj
    assert len(store) == before
    assert weakcache._owner_count() == owners


def test_weak_store_shares_the_owner_with_lru_cache_methods():
    class C:
        __slots__ = ("__weakref__",)

        @cached_property
        def x(self):
            return Value(1)

        @weakcache.lru_cache(maxsize=None)
        def m(self, k):
            return Value(k)

    owners = weakcache._owner_count()
    obj = C()
    refs = [weakref.ref(obj.x), weakref.ref(obj.m(2))]
    assert weakcache._owner_count() == owners + 1
    del obj
    assert [r() for r in refs] == [None, None]
    assert weakcache._owner_count() == owners


def test_weak_store_reentrant_eviction():
    # A value whose finaliser uses weak-mode properties of other instances
    # while the store is evicting it.
    log = []

    class Noisy:
        def __init__(self, other):
            self.other = other

        def __del__(self):
            log.append(self.other.x)
            del self.other.x
            log.append(self.other.x)

    class C:
        __slots__ = ("__weakref__", "other")

        @cached_property
        def x(self):
            return Noisy(Other()) if self.other is None else len(log)

    class Other:
        __slots__ = ("__weakref__",)

        @cached_property
        def x(self):
            return Value(len(log))

    obj = C()
    obj.other = None
    obj.x
    del obj
    assert log == [Value(0), Value(1)]


# ------------------------------------------------------- copy and pickle


@pytest.mark.parametrize("mode", ["dict", "slot"])
def test_copy_and_pickle_carry_the_value_in_dict_and_slot_modes(mode):
    Box = BOXES[mode]
    obj = Box(2)
    v = obj.value
    shallow = copy.copy(obj)
    assert shallow.value is v
    deep = copy.deepcopy(obj)
    assert deep.value == v and deep.value is not v
    loaded = pickle.loads(pickle.dumps(obj))
    assert loaded.value == v
    for clone in (shallow, deep, loaded):
        assert clone.calls == 1  # not recomputed: the counter was copied as 1


def test_copy_and_pickle_recompute_in_weak_mode():
    obj = WeakBox(2)

    def getstate(self):  # WeakBox has only slots: copy them by hand
        return {"n": self.n, "calls": self.calls}

    v = obj.value
    state = getstate(obj)
    assert "value" not in state
    clone = copy.copy(obj)
    assert clone.calls == 1
    assert clone.value == v and clone.value is not v
    assert clone.calls == 2  # recomputed
    loaded = pickle.loads(pickle.dumps(obj))
    assert loaded.value == v and loaded.calls == 2


def test_copy_of_an_uncomputed_slot_instance():
    obj = SlotBox(1)
    clone = copy.copy(obj)
    assert clone.value == Value(10)
    assert obj.calls == 0


# ----------------------------------------------------------- re-entrancy


def test_value_stored_during_the_call_wins(mode):
    def f(self):
        self.x = "stored during the call"
        return "computed"

    C = make_class(mode, body={"x": cached_property(f)})
    obj = C()
    assert obj.x == "stored during the call"
    assert obj.x == "stored during the call"


def test_recursive_access_raises_recursion_error(mode):
    C = make_class(mode, body={"x": cached_property(lambda self: self.x)})
    with pytest.raises(RecursionError):
        C().x


def test_del_during_the_call(mode):
    def f(self):
        try:
            del self.x
        except AttributeError:
            pass
        return 5

    C = make_class(mode, body={"x": cached_property(f)})
    obj = C()
    assert obj.x == 5 and obj.x == 5


# ---------------------------------------------------------------- threads


def _race(C, nthreads=8):
    barrier = threading.Barrier(nthreads)
    results = [None] * nthreads
    obj = C()

    def reader(i):
        barrier.wait()
        results[i] = obj.x

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return obj, results


def test_threads_all_see_the_single_stored_value(mode):
    calls = []

    def slow(self):
        calls.append(1)
        time.sleep(0.01)  # releases the GIL: other threads compute too
        return object()

    C = make_class(mode, body={"x": cached_property(slow)})
    for _ in range(5):
        obj, results = _race(C)
        assert all(r is results[0] for r in results)
        assert obj.x is results[0]
    assert len(calls) >= 5


def test_lock_runs_the_function_exactly_once(mode):
    calls = []

    def slow(self):
        calls.append(1)
        time.sleep(0.01)
        return object()

    prop = cached_property(slow, lock=True)
    assert prop.lock is not None
    C = make_class(mode, body={"x": prop})
    for i in range(5):
        obj, results = _race(C)
        assert all(r is results[0] for r in results)
        assert len(calls) == i + 1


def test_lock_decorator_form():
    class C:
        @cached_property(lock=True)
        def x(self):
            """doc"""
            return 1

    assert C.__dict__["x"].lock is not None
    assert C.x.__doc__ == "doc"
    assert C().x == 1
    assert cached_property(len).lock is None


def test_threads_hammering_del_and_get(mode):
    C = make_class(mode, body={"x": cached_property(lambda self: object())})
    obj = C()
    stop = time.monotonic() + 0.3
    errors = []

    def work():
        try:
            while time.monotonic() < stop:
                obj.x
                try:
                    del obj.x
                except AttributeError:
                    pass
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []


# ------------------------------------- GC, leaks (dataclasses: test_dataclass.py)


def test_class_and_property_are_collected():
    def build():
        class C:
            __slots__ = ("__weakref__",)

            @cached_property
            def x(self):
                return Value(1)

        obj = C()
        obj.x
        return weakref.ref(C), weakref.ref(C.__dict__["x"])

    cref, pref = build()
    gc.collect()
    assert cref() is None and pref() is None


def _blocks_per_round(fn, rounds=5_000):
    """Allocated blocks gained per call of fn, once `rounds` calls have
    filled the caches CPython keeps (type caches, free lists)."""

    def blocks():
        gc.collect()
        return sys.getallocatedblocks()

    for _ in range(rounds):
        fn()
    start = blocks()
    for _ in range(2 * rounds):
        fn()
    return (blocks() - start) / (2 * rounds)


def test_no_leak(mode, Box):
    def once():
        obj = Box(1)
        obj.value
        obj.value
        del obj.value
        obj.value = 3
        obj.value

    assert _blocks_per_round(once) < 0.05


def test_no_leak_on_errors(mode):
    def fail(self):
        raise KeyError("x")

    C = make_class(mode, body={"x": cached_property(fail)})

    def once():
        try:
            C().x
        except KeyError:
            pass

    assert _blocks_per_round(once) < 0.05


def test_no_leak_creating_classes(mode):
    last = [None]

    def once():
        C = make_class(mode, body={"x": cached_property(lambda self: Value(1))})
        C().x
        last[0] = weakref.ref(C)

    assert _blocks_per_round(once, rounds=1000) < 0.25
    gc.collect()
    assert last[0]() is None


# ------------------------------------------------------------------ typing

TYPED_SAMPLE = '''\
import math

import weakcache
from weakcache import cached_property, cached_slots


class Point:
    __slots__ = ("x", "y") + cached_slots("norm", "label")

    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y

    @cached_property
    def norm(self) -> float:
        return math.hypot(self.x, self.y)

    def _label(self) -> str:
        return f"({self.x}, {self.y})"

    label = cached_property(_label, lock=True)


p = Point(3, 4)
n: float = p.norm
s: str = p.label
prop: cached_property[float] = Point.norm
name: "str | None" = prop.attrname
p.norm = 2.0
del p.norm
slots: "tuple[str, ...]" = weakcache.cached_slots("a")
bad: str = p.norm  # E: Incompatible types in assignment
p.norm = "x"  # E: Incompatible types in assignment
cached_slots(1)  # E: incompatible type "int"
'''


def test_stubs_with_mypy(tmp_path):
    pytest.importorskip("mypy")
    import re
    import subprocess

    sample = tmp_path / "cp_sample.py"
    sample.write_text(TYPED_SAMPLE)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(tmp_path / "mypy_cache"), str(sample)],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
    )
    expected = {
        lineno: line.split("# E: ", 1)[1]
        for lineno, line in enumerate(TYPED_SAMPLE.splitlines(), 1)
        if "# E: " in line
    }
    errors = {}
    for line in proc.stdout.splitlines():
        m = re.match(r".*cp_sample\.py:(\d+): error: (.*)", line)
        if m:
            errors.setdefault(int(m.group(1)), []).append(m.group(2))
    assert set(errors) == set(expected), proc.stdout + proc.stderr
    for lineno, text in expected.items():
        assert any(text in msg for msg in errors[lineno]), (lineno, errors[lineno])
    # and the sample runs, minus the deliberate mistakes
    code = "\n".join(line for line in TYPED_SAMPLE.splitlines() if "# E: " not in line)
    exec(compile(code, str(sample), "exec"), {"__name__": "cp_sample"})
