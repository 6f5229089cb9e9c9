"""weakcache.dataclass: ``dataclasses.dataclass`` that, with ``slots=True``,
also reserves a slot for every ``weakcache.cached_property`` of the class.

``dataclasses.dataclass(slots=True)`` re-creates the class with ``__slots__``
made of the field names (and ``'__weakref__'`` with ``weakref_slot=True``);
nothing else can be added, and a hand-written ``__slots__`` is an error. So a
cached property of such a class has nowhere cheap to keep its value: with
``weakref_slot=True`` it falls to the weak-keyed store (hundreds of bytes per
instance), without it creating the class raises ``TypeError``.

How the slots are reserved, with the standard library doing all the rest:
before calling ``dataclasses.dataclass``, each cached property ``name``
defined in the class body gets a pseudo-field ``_wc_cached_<name>`` (the name
``weakcache.cached_slots(name)`` returns) that takes no part in anything
(``init=False, repr=False, compare=False, hash=False``, no default), so the
standard library's own slots step declares its slot. Once the class exists
the pseudo-fields are removed from ``__dataclass_fields__`` and the
annotations: ``fields()``, ``asdict()``, ``replace()``, ``repr`` and ``==``
see the real fields only, and the class is created exactly once, as with
``dataclasses.dataclass(slots=True)`` (``__init_subclass__`` and
``__set_name__`` run the same number of times, with the same arguments).

What happens to memory: each reserved slot costs 8 bytes per instance,
whether the property was computed or not, and holds the value (a strong
reference) until ``del obj.name``, or until the instance dies. The slot is
part of the instance's state: ``copy.copy``, ``copy.deepcopy`` and ``pickle``
carry a computed value along (frozen slotted dataclasses pickle their fields
only, so there a copy recomputes).
"""
from __future__ import annotations

import dataclasses
import inspect
import sys
from typing import Any

from ._weakcache import cached_property, cached_slots

__all__ = ["dataclass"]

_RESERVED_PREFIX = "_wc_cached_"
_SIGNATURE = inspect.signature(dataclasses.dataclass)


def _declared_slots(cls: type) -> set[str]:
    """The slot names declared by cls's bases (as dataclasses reads them)."""
    names: set[str] = set()
    for base in cls.__mro__[1:-1]:
        slots = base.__dict__.get("__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    return names


def _own_annotations(cls: type) -> dict[str, Any]:
    """The class's own annotations dict, the one dataclasses reads fields
    from (created if the class has none)."""
    if sys.version_info >= (3, 14):  # PEP 649: annotations are evaluated lazily
        import annotationlib

        ann = dict(annotationlib.get_annotations(cls, format=annotationlib.Format.FORWARDREF))
        cls.__annotations__ = ann
        return ann
    ann = cls.__dict__.get("__annotations__")
    if ann is None:
        ann = {}
        cls.__annotations__ = ann
    return ann


def _with_reserved_slots(cls: type, options: dict[str, Any]) -> type:
    names = [name for name, value in cls.__dict__.items() if isinstance(value, cached_property)]
    if not names or "__slots__" in cls.__dict__:  # nothing to do, or dataclasses' own error
        return dataclasses.dataclass(cls, **options)
    # A slot that a base class declares already is shared by an override
    # (weakcache.cached_property's rule), and dataclasses would drop it anyway.
    taken = _declared_slots(cls)
    reserved = [slot for slot in cached_slots(*names) if slot not in taken and slot not in cls.__dict__]
    ann = _own_annotations(cls)
    for slot in reserved:
        ann[slot] = object
        setattr(cls, slot, dataclasses.field(init=False, repr=False, compare=False, hash=False))
    try:
        new = dataclasses.dataclass(cls, **options)
    finally:
        for slot in reserved:
            ann.pop(slot, None)
            if isinstance(cls.__dict__.get(slot), dataclasses.Field):  # dataclasses raised
                delattr(cls, slot)
    fields = new.__dict__["__dataclass_fields__"]  # the same dict as cls's
    for slot in reserved:
        fields.pop(slot, None)
    new_ann = new.__dict__.get("__annotations__")
    if isinstance(new_ann, dict):
        for slot in reserved:
            new_ann.pop(slot, None)
    return new


def dataclass(cls: Any = None, /, **options: Any) -> Any:
    """``dataclasses.dataclass`` with the same parameters and behaviour; with
    ``slots=True`` it also reserves a slot for every
    ``weakcache.cached_property`` defined in the class body, so that
    converting a ``functools.cached_property`` dataclass to slots is one line::

        @weakcache.dataclass(slots=True)
        class Dependant:
            path: list[str] = dataclasses.field(default_factory=list)

            @weakcache.cached_property
            def depth(self) -> int:
                return len(self.path)

    Memory: each reserved slot costs 8 bytes per instance and holds the
    computed value until ``del obj.name`` or until the instance dies; no
    ``__dict__``, no weak-keyed store. The pseudo-fields used to declare the
    slots are removed once the class exists: ``dataclasses.fields()``,
    ``replace()``, ``repr`` and ``==`` see the real fields only. Without
    ``slots=True`` this is ``dataclasses.dataclass`` itself (the values go to
    the instance ``__dict__``, as functools' do).
    """
    _SIGNATURE.bind(None, **options)  # TypeError for what dataclasses rejects

    def wrap(cls: type) -> type:
        if not options.get("slots", False):
            return dataclasses.dataclass(cls, **options)
        return _with_reserved_slots(cls, options)

    if cls is None:
        return wrap
    return wrap(cls)


dataclass.__signature__ = _SIGNATURE  # type: ignore[attr-defined]
