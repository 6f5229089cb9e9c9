"""Tracking objects weakly and judging them: ``LeakTracker``, ``collected()``, type watches.

PYTEST_DONT_REWRITE

What is held, and for how long, is described in the package docstring
(``weakcache.testing``) and on each class below.
"""

from __future__ import annotations

import gc
import types
import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple, Type, TypeVar

from ._base import (
    DEFAULT_GC_PASSES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES, MAX_EXPLAINED, LeakError,
    caller_location, not_weakrefable, short_repr, type_mro, type_name, type_qualname,
)
from .report import Finding, analyze, headline_only, render_report

_T = TypeVar("_T")


class _GcPause:
    """Reference-counted ``gc.disable()`` plus "is a collection running?".

    Memory: while at least one strict check is pending, automatic collection
    is off, so unreachable reference cycles accumulate until the check (which
    collects them) or until the pause ends and the collector runs again.
    """

    def __init__(self) -> None:
        self.count = 0
        self.was_enabled = True
        self.collecting = False

    def _on_gc(self, phase: str, info: Dict[str, int]) -> None:
        self.collecting = phase == "start"

    def acquire(self) -> None:
        if self.count == 0:
            self.was_enabled = gc.isenabled()
            gc.disable()
            self.collecting = False
            gc.callbacks.append(self._on_gc)
        self.count += 1

    def release(self) -> None:
        if self.count <= 0:
            return
        self.count -= 1
        if self.count == 0:
            try:
                gc.callbacks.remove(self._on_gc)
            except ValueError:  # pragma: no cover - someone cleared gc.callbacks
                pass
            self.collecting = False
            if self.was_enabled:
                gc.enable()


GC_PAUSE = _GcPause()


class _Entry:
    __slots__ = ("ref", "strict", "where", "type_name", "died_in_gc", "__weakref__")

    def __init__(self, strict: bool, where: str, type_name: str) -> None:
        self.ref: Optional[weakref.ref[Any]] = None
        self.strict = strict
        self.where = where
        self.type_name = type_name
        self.died_in_gc = False


def _death_callback(entry: _Entry) -> Callable[[object], None]:
    # The callback holds the entry weakly: no entry -> ref -> callback -> entry cycle.
    entry_ref = weakref.ref(entry)

    def on_death(_ref: object) -> None:
        alive = entry_ref()
        if alive is not None:
            alive.died_in_gc = GC_PAUSE.collecting

    return on_death


class _Watch:
    """``no_leaks(*types)``: instances of ``types`` created after ``start()``.

    Memory: remembers pre-existing instances by weak reference.  Instances
    of classes that cannot be weakly referenced are *held* from ``start()``
    until ``release()`` (the start of the check): an id alone proves nothing,
    since a new object may reuse the address of a dead one, and holding the
    old object keeps its address from being reused.  Their ``__del__`` runs
    at the check instead of during the test.
    """

    def __init__(self, kinds: Tuple[type, ...], strict: bool) -> None:
        self.kinds = kinds
        self.strict = strict
        self.before_weak: Dict[int, weakref.ref[Any]] = {}
        self.before_ids: Set[int] = set()
        self.before_held: List[object] = []
        self.started = False

    def _matches(self, obj: object) -> bool:
        if obj is self.before_weak or obj is self.before_ids or obj is self.before_held:
            return False
        try:
            return issubclass(type(obj), self.kinds)  # a metaclass __subclasscheck__ may run
        except Exception:  # a broken __subclasshook__: real subclasses still count
            mro = type_mro(type(obj))
            return any(kind in mro for kind in self.kinds)

    def start(self) -> None:
        for obj in gc.get_objects():
            if self._matches(obj):
                try:
                    self.before_weak[id(obj)] = weakref.ref(obj)
                except TypeError:
                    self.before_ids.add(id(obj))
                    self.before_held.append(obj)
        self.started = True

    def release(self) -> None:
        """Stop holding the pre-existing instances (ids stay valid: no user code runs until the scan)."""
        self.before_held = []

    def _is_new(self, obj: object) -> bool:
        if not self._matches(obj):
            return False
        ref = self.before_weak.get(id(obj))
        if ref is not None and ref() is obj:
            return False
        return id(obj) not in self.before_ids

    def new_instances(self) -> List[object]:
        """Instances alive now that did not exist at ``start()`` (strong refs!)."""
        return [obj for obj in gc.get_objects() if self._is_new(obj)]

    def describe(self) -> str:
        names = ", ".join(type_qualname(k) for k in self.kinds)
        return "no_leaks(%s%s)" % (names, ", strict=True" if self.strict else "")


class _Candidate:
    """A survivor found by a type watch: weak if possible, else by id."""

    __slots__ = ("ref", "obj_id", "type_name", "watch")

    def __init__(self, obj: object, watch: _Watch) -> None:
        self.obj_id = id(obj)
        self.type_name = type_name(obj)
        self.watch = watch
        try:
            self.ref: Optional[weakref.ref[Any]] = weakref.ref(obj)
        except TypeError:
            self.ref = None


def _alive(entry: _Entry) -> bool:
    return entry.ref is not None and entry.ref() is not None


class _Judgement:
    """One check: the collection passes and every survivor described as text.

    Holds strings, weak references and ids only between its steps; strong
    references to survivors live in the locals of one step at a time.
    """

    def __init__(self, entries: List[_Entry], watches: List[_Watch], tracker: "LeakTracker") -> None:
        self.entries = entries
        self.watches = watches
        self.tracker = tracker
        self.findings: List[Tuple[Finding, str, bool]] = []  # (finding, note, cycle)
        self.lost: List[str] = []  # strict objects that died in an automatic collection
        self.pre: Dict[int, Finding] = {}  # id(entry or candidate) -> pre-gc analysis
        self.strict_candidates: List[_Candidate] = []
        self.explained = 0

    def analyze(self, obj: object, want_cycle: bool, extra_ignore: Iterable[int] = ()) -> Finding:
        return analyze(obj, want_cycle=want_cycle, extra_ignore=extra_ignore,
                       max_depth=self.tracker.max_depth, max_nodes=self.tracker.max_nodes)

    def explain_survivor(self, obj: object, extra_ignore: Iterable[int] = ()) -> Finding:
        if self.explained < MAX_EXPLAINED:
            self.explained += 1
            return self.analyze(obj, False, extra_ignore)
        return headline_only(obj)

    def strict_entries(self) -> None:
        """Strict objects must be gone now, without gc.collect()."""
        for entry in self.entries:
            if not entry.strict:
                continue
            obj = entry.ref() if entry.ref is not None else None
            if obj is None:
                if entry.died_in_gc:
                    self.lost.append("%s object (tracked at %s)" % (entry.type_name, entry.where))
                continue
            self.pre[id(entry)] = self.analyze(obj, True)
            del obj

    def strict_watches(self) -> None:
        seen: Set[int] = set()
        for watch in self.watches:
            if not watch.strict:
                continue
            found = [o for o in watch.new_instances() if id(o) not in seen]
            seen.update(id(o) for o in found)
            for index, obj in enumerate(found):
                candidate = _Candidate(obj, watch)
                self.strict_candidates.append(candidate)
                if index < MAX_EXPLAINED:
                    self.pre[id(candidate)] = self.analyze(obj, True, (id(found),))
            found = []
            obj = None

    def collect(self) -> None:
        """The collection passes (skipped when nothing can be alive)."""
        if self.watches or any(_alive(e) for e in self.entries):
            for _ in range(self.tracker.gc_passes):
                gc.collect()
                if not self.watches and not any(_alive(e) for e in self.entries):
                    break

    def surviving_entries(self) -> None:
        for entry in self.entries:
            obj = entry.ref() if entry.ref is not None else None
            note = " (tracked at %s%s)" % (entry.where, ", strict" if entry.strict else "")
            if obj is None:
                if id(entry) in self.pre:
                    self.findings.append((self.pre[id(entry)], note, True))
                continue
            self.findings.append((self.explain_survivor(obj), note, False))
            del obj

    def surviving_watched(self) -> Set[int]:
        """Survivors of the type watches; returns their ids."""
        still_alive_ids: Set[int] = set()
        reported = {id(e.ref()) for e in self.entries if e.ref is not None and e.ref() is not None}
        for watch in self.watches:
            found = [o for o in watch.new_instances() if id(o) not in reported]
            still_alive_ids.update(id(o) for o in found)
            reported.update(id(o) for o in found)
            note = " (created during the test; %s)" % watch.describe()
            for obj in found:
                self.findings.append((self.explain_survivor(obj, (id(found),)), note, False))
            del found
            obj = None
        return still_alive_ids

    def freed_by_gc_only(self, still_alive_ids: Set[int]) -> None:
        """Strict watched objects that needed the collector: reference cycles."""
        for candidate in self.strict_candidates:
            alive = candidate.ref() is not None if candidate.ref is not None else candidate.obj_id in still_alive_ids
            if not alive:
                finding = self.pre.get(id(candidate)) or Finding()
                if not finding.headline:
                    finding.headline = "%s object" % candidate.type_name
                note = " (created during the test; %s)" % candidate.watch.describe()
                self.findings.append((finding, note, True))

    def run(self) -> Optional[str]:
        for watch in self.watches:
            watch.release()
        self.strict_entries()
        self.strict_watches()
        self.collect()
        self.surviving_entries()
        self.freed_by_gc_only(self.surviving_watched())
        if not self.findings and not self.lost:
            return None
        return render_report(self.findings, self.lost, self.tracker.gc_passes)


class LeakTracker:
    """Tracks objects weakly and checks that they are freed.

    ``track(obj)`` returns ``obj`` unchanged and keeps only a weak reference
    to it; ``check()`` raises :class:`LeakError` listing every tracked object
    still alive, each with the chain of referrers that keeps it alive.

    Also a context manager (``with LeakTracker() as track: ...``) and
    callable (``track(obj)`` is ``tracker.track(obj)``).  The pytest fixture
    ``leak_tracker`` is an instance checked after the test's fixtures are torn
    down.

    Memory: in strict mode, automatic garbage collection is paused from the
    first strict ``track()`` until ``check()``/``reset()``.
    """

    def __init__(
        self,
        *,
        strict: bool = False,
        gc_passes: int = DEFAULT_GC_PASSES,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_nodes: int = DEFAULT_MAX_NODES,
    ) -> None:
        self.strict = strict
        self.gc_passes = max(1, gc_passes)
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self._entries: List[_Entry] = []
        self._watches: List[_Watch] = []
        self._paused = False

    # -- tracking ---------------------------------------------------------

    def track(self, obj: _T, *, strict: Optional[bool] = None) -> _T:
        """Start watching ``obj`` (weakly) and return it unchanged.

        ``strict`` overrides the tracker's mode for this object: strict means
        it must be freed by reference counting alone (no ``gc.collect()``).
        Raises ``TypeError`` if ``obj`` cannot be weakly referenced.
        """
        is_strict = self.strict if strict is None else bool(strict)
        entry = _Entry(is_strict, caller_location(), type_name(obj))
        try:
            entry.ref = weakref.ref(obj, _death_callback(entry))
        except TypeError:
            raise not_weakrefable(obj) from None
        if is_strict:
            self._pause()
        self._entries.append(entry)
        return obj

    def __call__(self, obj: _T, *, strict: Optional[bool] = None) -> _T:
        """Same as :meth:`track`."""
        return self.track(obj, strict=strict)

    def watch_types(self, *kinds: type, strict: Optional[bool] = None) -> None:
        """Judge every instance of ``kinds`` created from now until ``check()``.

        This is what the ``no_leaks`` marker uses.  Memory: scans
        ``gc.get_objects()`` now and at the check; holds no strong references
        (except to pre-existing instances that cannot be weakly referenced,
        until the check: see the docs).
        """
        flat = flatten_types(kinds)
        is_strict = self.strict if strict is None else bool(strict)
        watch = _Watch(flat, is_strict)
        if is_strict:
            self._pause()
        watch.start()
        self._watches.append(watch)

    @property
    def pending(self) -> int:
        """Number of tracked objects not checked yet (alive or not)."""
        return len(self._entries)

    @property
    def watching(self) -> bool:
        """True while a ``watch_types()`` watch waits for the check."""
        return bool(self._watches)

    def _pause(self) -> None:
        if not self._paused:
            GC_PAUSE.acquire()
            self._paused = True

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            GC_PAUSE.release()

    def reset(self) -> None:
        """Forget everything tracked without judging it; resume gc if paused."""
        for entry in self._entries:
            entry.ref = None
        self._entries = []
        self._watches = []
        self._resume()

    # -- judging ----------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`LeakError` if a tracked object is still alive.

        Default-mode objects get up to ``gc_passes`` ``gc.collect()`` calls;
        strict-mode objects must already be gone (a strict object that is
        freed only by the collector is reported as a reference cycle).
        Everything tracked so far is forgotten afterwards, pass or fail.
        """
        __tracebackhide__ = True
        entries, watches = self._entries, self._watches
        self._entries, self._watches = [], []
        try:
            message = _Judgement(entries, watches, self).run()
        finally:
            for entry in entries:
                entry.ref = None
            del entries, watches
            self._resume()
        if message is not None:
            raise LeakError(message)

    # -- context manager --------------------------------------------------

    def __enter__(self) -> LeakTracker:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[types.TracebackType],
    ) -> None:
        __tracebackhide__ = True
        if exc_type is not None:
            self.reset()  # the block failed: its objects are not judged
            return
        self.check()

    def __del__(self) -> None:
        # Safety net: a strict tracker dropped without check()/reset() must
        # not leave automatic garbage collection paused.
        if getattr(self, "_paused", False):
            self._resume()

    def __repr__(self) -> str:
        mode = "strict" if self.strict else "default"
        return "<LeakTracker %s mode, %d tracked>" % (mode, len(self._entries))


def flatten_types(kinds: Iterable[Any]) -> Tuple[type, ...]:
    """``(A, (B, C))`` -> ``(A, B, C)``; TypeError for anything but classes."""
    flat: List[type] = []
    for kind in kinds:
        if issubclass(type(kind), tuple):
            flat.extend(flatten_types(kind))
        elif issubclass(type(kind), type):
            flat.append(kind)
        else:
            raise TypeError(
                "no_leaks() takes classes, got %s; write no_leaks(Model, Session)"
                % short_repr(kind, 60)
            )
    if not flat:
        raise TypeError("no_leaks() needs at least one class, e.g. no_leaks(Model)")
    return tuple(flat)


def collected(
    *objects: object,
    strict: bool = False,
    gc_passes: int = DEFAULT_GC_PASSES,
) -> LeakTracker:
    """Context manager: everything tracked inside must be freed at the end.

    ::

        with collected() as track:
            model = track(Model())
            model.predict(1)
            del model            # a local still naming it would keep it alive

    ``objects`` passed here are tracked right away.  On a clean exit the
    block's tracked objects are checked (``LeakError`` if one survives); if
    the block raises, nothing is judged and the exception propagates.  Works
    without pytest (unittest, scripts).  Memory: only weak references are
    kept; with ``strict=True`` automatic gc is paused inside the block.
    """
    tracker = LeakTracker(strict=strict, gc_passes=gc_passes)
    for obj in objects:
        tracker.track(obj)
    return tracker
