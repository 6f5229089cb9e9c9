"""weakcache.testing never misses a survivor and always raises a LeakError with a report.

The report describes arbitrary objects: each test here puts one nasty object
(a proxy whose ``__class__`` raises, a module with a lazy ``__getattr__``,
reprs that raise...) where the report has to describe it, and checks that the
result is still a LeakError naming the right holder.  No C extension needed.
"""

from __future__ import annotations

import abc
import re
import sys
import types
from typing import Any, Callable, Iterator, List

import pytest

from weakcache.testing import LeakError, LeakTracker, collected, explain

_held: List[Any] = []


@pytest.fixture(autouse=True)
def _clear_held() -> Iterator[None]:
    yield
    _held.clear()


class Thing:
    pass


class Slotted:
    """Instances cannot be weakly referenced."""

    __slots__ = ("n",)


def keep(obj: Any) -> Any:
    _held.append(obj)
    return obj


def leak_report(make: Callable[[], object]) -> str:
    """Track what ``make()`` returns (it must store it somewhere) and return the LeakError text.

    The object is never a local of a running frame when the check runs.
    """
    with pytest.raises(LeakError) as info:
        with collected() as track:
            track(make())
    assert type(info.value) is LeakError
    return str(info.value)


# ---------------------------------------------------------------------------
# Pre-existing instances of classes that cannot be weakly referenced
# ---------------------------------------------------------------------------


def test_a_survivor_reusing_a_dead_instance_address_is_reported() -> None:
    tracker = LeakTracker()
    before = [Slotted() for _ in range(2000)]
    tracker.watch_types(Slotted)
    del before  # free: without a hold, the new objects below reuse these addresses
    _held.extend(Slotted() for _ in range(2000))
    with pytest.raises(LeakError) as info:
        tracker.check()
    assert str(info.value).startswith("2000 objects still alive after 3 gc.collect() passes: Slotted object")


def test_pre_existing_instances_are_not_reported_and_are_released() -> None:
    survivor = Slotted()
    dying = [Slotted() for _ in range(100)]
    tracker = LeakTracker()
    tracker.watch_types(Slotted)
    del dying
    tracker.check()  # nothing new survives: no report
    assert survivor is not None


def test_a_metaclass_subclasscheck_that_raises_does_not_hide_real_instances() -> None:
    class Picky(abc.ABC):
        @classmethod
        def __subclasshook__(cls, other: type) -> bool:
            raise RuntimeError("no questions")

    class Model(Picky):
        pass

    tracker = LeakTracker()
    tracker.watch_types(Picky)
    _held.append(Model())
    with pytest.raises(LeakError, match="1 object still alive"):
        tracker.check()


# ---------------------------------------------------------------------------
# User code the report meets
# ---------------------------------------------------------------------------


class OutOfContextProxy:
    """Like a werkzeug LocalProxy used outside its context: ``__class__`` raises."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        raise RuntimeError("working outside of application context")

    def __repr__(self) -> str:
        raise RuntimeError("working outside of application context")


def test_tracked_object_whose_class_attribute_raises() -> None:
    text = leak_report(lambda: keep(OutOfContextProxy()))
    assert "path: module test_testing_robust \u2192 ._held (list) \u2192 OutOfContextProxy object" in text
    assert "(repr failed)" in text


def test_holder_whose_class_attribute_raises() -> None:
    def make() -> Thing:
        holder = keep(OutOfContextProxy())
        holder.target = Thing()
        return holder.target  # type: ignore[no-any-return]

    text = leak_report(make)
    assert "._held (list) \u2192 [0] (OutOfContextProxy object) \u2192 .target \u2192 Thing object" in text


def test_a_proxy_in_sys_modules() -> None:
    sys.modules["_wc_proxy_module"] = OutOfContextProxy()  # type: ignore[assignment]
    try:
        text = leak_report(lambda: keep(Thing()))
    finally:
        del sys.modules["_wc_proxy_module"]
    assert "._held (list)" in text


class LazyModule(types.ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.calls: List[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError("lazy import of %s failed" % name)


@pytest.mark.parametrize("kind", ["raises", "imports lazily"])
def test_module_getattr_is_never_called(kind: str) -> None:
    module = LazyModule("_wc_lazy_module")
    if kind == "imports lazily":
        imported: List[str] = []

        def lazy(name: str) -> Any:
            imported.append(name)
            value = types.SimpleNamespace()
            setattr(module, name, value)  # as a lazy import would cache it
            return value

        module.__getattr__ = lazy  # type: ignore[method-assign]
    holder = type("Holder", (), {"__module__": "_wc_lazy_module", "items": []})
    sys.modules["_wc_lazy_module"] = module
    try:
        text = leak_report(lambda: holder.items.append(Thing()) or holder.items[0])
    finally:
        del sys.modules["_wc_lazy_module"]
    assert "class Holder" in text and ".items (list)" in text
    assert "Holder" not in vars(module)
    assert module.calls == []


class Meta(type):
    @property
    def __name__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("metaclass name")

    @property
    def __module__(cls) -> str:  # type: ignore[override]
        raise RuntimeError("metaclass module")


def test_metaclass_properties_that_raise() -> None:
    class Odd(metaclass=Meta):
        pass

    text = leak_report(lambda: keep(Odd()))
    assert "Odd object" in text and "._held (list)" in text


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("repr is broken")


class NotAString:
    def __repr__(self) -> str:
        return 42  # type: ignore[return-value]


@pytest.mark.parametrize("kind", [BadRepr, NotAString])
def test_reprs_that_fail_on_the_target_and_on_a_holder(kind: type) -> None:
    def make() -> object:
        holder = keep(kind())
        holder.target = kind()
        return holder.target

    text = leak_report(make)
    name = kind.__qualname__
    # reprlib's own fallback, or ours when reprlib lets the error through
    assert re.search(r"\[1\] %s object <%s (instance|object) at 0x[0-9a-f]+( \(repr failed\))?>" % (name, name), text)
    assert "\u2192 .target \u2192 %s object" % kind.__qualname__ in text


class GuardedException(Exception):
    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError("no attribute access")


def test_exception_whose_getattribute_raises_holds_a_frame() -> None:
    def fail(target: Thing) -> None:
        raise GuardedException()

    def make() -> Thing:
        target = Thing()
        try:
            fail(target)
        except GuardedException as exc:
            keep(exc)
        return target

    text = leak_report(make)
    assert "GuardedException exception \u2192 __traceback__" in text
    assert "culprit: a frame or traceback is kept alive (GuardedException exception)" in text


def test_explain_with_a_broken_proxy() -> None:
    text = explain(keep(OutOfContextProxy()))
    assert "._held (list)" in text


def test_a_failure_while_describing_still_gives_a_leak_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from weakcache.testing import report

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("unforeseen")

    monkeypatch.setattr(report, "steps_of", broken)
    text = leak_report(lambda: keep(Thing()))
    assert text.startswith("1 object still alive")
    assert "the referrer chain could not be shown: KeyError: 'unforeseen' was raised" in text
