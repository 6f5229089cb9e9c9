"""weakcache.attrs_define: ``attrs.define`` that also reserves a slot for
every ``weakcache.cached_property`` of a slotted class.

attrs (>= 23.2) builds a slotted class anew, with ``__slots__`` made of the
field names, ``'__weakref__'`` (``weakref_slot=True``, the default of
``attrs.define``) and one slot per ``functools.cached_property``, which it
turns into a slot of the same name plus a ``__getattr__`` that computes it.
It has no hook for other descriptors, so a ``weakcache.cached_property``
there falls to the weak-keyed store (``WeakStoreWarning``), or raises
``TypeError`` with ``weakref_slot=False``.

This helper uses that documented support: before calling ``attrs.define`` it
adds, for each cached property ``name`` of the class body, a
``functools.cached_property`` named ``_wc_cached_<name>`` (the name
``weakcache.cached_slots(name)`` returns) whose function only raises
``AttributeError``. attrs turns it into the slot ``_wc_cached_<name>``, and
``weakcache.cached_property`` then keeps its value there. The class gets the
``__getattr__`` that attrs adds for any ``functools.cached_property`` (it
serves reads of missing attributes only, never a hit).

What happens to memory: each reserved slot costs 8 bytes per instance and
holds the value until ``del obj.name`` or until the instance dies. attrs'
``__getstate__`` covers the fields only, so ``copy`` and ``pickle`` do not
carry cached values (a copy recomputes), exactly as for attrs' own
``functools.cached_property`` support; ``attrs.evolve`` recomputes too.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, NoReturn

from ._weakcache import cached_property, cached_slots

__all__ = ["attrs_define"]


def _empty_slot(slot: str) -> Callable[[Any], NoReturn]:
    def read(self: Any) -> NoReturn:
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{slot}'")

    read.__name__ = read.__qualname__ = slot
    read.__annotations__ = {}  # attrs copies a return annotation into the class's
    return read


def _reserve_slots(cls: type) -> None:
    names = [name for name, value in cls.__dict__.items() if isinstance(value, cached_property)]
    taken: set[str] = set()
    for base in cls.__mro__[1:-1]:
        slots = base.__dict__.get("__slots__", ())
        taken.update((slots,) if isinstance(slots, str) else slots)
    for slot in cached_slots(*names):
        # a slot declared by a base is shared by an override (and attrs
        # would reuse it anyway)
        if slot not in taken and slot not in cls.__dict__:
            setattr(cls, slot, functools.cached_property(_empty_slot(slot)))


def _rebind_class_cells(new: type, old: type) -> None:
    """attrs re-creates a slotted class and points the ``__class__`` cells
    of its methods (zero-argument ``super()``) at the new class, including
    the functions of the ``functools.cached_property`` it rewrites; it does
    not know weakcache.cached_property, so do the same for its functions."""
    for value in new.__dict__.values():
        if not isinstance(value, cached_property):
            continue
        for cell in getattr(value.func, "__closure__", None) or ():
            try:
                if cell.cell_contents is old:
                    cell.cell_contents = new
            except ValueError:  # an empty cell
                pass


def attrs_define(maybe_cls: Any = None, /, **options: Any) -> Any:
    """``attrs.define`` with the same parameters and behaviour; for a slotted
    class (``slots=True``, attrs' default) it also reserves a slot for every
    ``weakcache.cached_property`` defined in the class body::

        @weakcache.attrs_define
        class Dependant:
            path: list[str] = attrs.Factory(list)

            @weakcache.cached_property
            def depth(self) -> int:
                return len(self.path)

    Memory: each reserved slot costs 8 bytes per instance and holds the value
    until ``del obj.name`` or until the instance dies (no weak-keyed store).
    Requires attrs >= 23.2 (its support of ``functools.cached_property`` on
    slotted classes, which makes the slots). ``frozen=True`` gives
    ``attrs.frozen``'s behaviour when combined with ``on_setattr=None``, as
    ``attrs.frozen`` itself does.
    """
    import attrs

    if attrs.__version_info__ < (23, 2):
        raise RuntimeError(
            f"weakcache.attrs_define needs attrs >= 23.2 (found {attrs.__version__}): "
            "older versions do not make slots for cached properties"
        )

    def wrap(cls: type) -> type:
        if not options.get("slots", True):
            return attrs.define(cls, **options)
        _reserve_slots(cls)
        new = attrs.define(cls, **options)
        if new is not cls:
            _rebind_class_cells(new, cls)
        return new

    if maybe_cls is None:
        return wrap
    return wrap(maybe_cls)
