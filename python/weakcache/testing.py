"""Prove that objects get freed, and show who holds them when they are not.

``weakcache.testing`` is both a pytest plugin (registered through the
``pytest11`` entry point when weakcache is installed) and a plain-Python
helper that needs neither pytest nor the weakcache C extension::

    def test_model_is_freed(leak_tracker):           # pytest fixture
        m = leak_tracker.track(Model())               # checked at teardown
        m.predict(1)
        del m

    @pytest.mark.no_leaks(Model, Session)            # pytest marker
    def test_request_cycle(): ...

    from weakcache.testing import collected          # unittest, scripts
    with collected() as track:
        m = track(Model())
        del m

Memory: the tracker only keeps *weak* references to what it tracks, so
tracking never extends an object's life.  When an object survives, the
referrer chain is searched while the object is alive, turned into text, and
every reference taken by the search is dropped before :class:`LeakError` is
raised: the exception (and the frames of its traceback that belong to this
module) hold strings only.

Two modes:

* default: the object must be gone after at most ``gc_passes`` calls to
  ``gc.collect()`` (reference cycles are allowed);
* strict: the object must be freed by reference counting alone, without any
  ``gc.collect()``: this proves it is not part of a reference cycle.  While a
  strict check is pending, automatic garbage collection is paused (and
  restored afterwards) so that a cycle can still be shown in the report.
"""

from __future__ import annotations

import gc
import os
import reprlib
import sys
import threading
import types
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    TypeVar,
)

__all__ = [
    "LeakError",
    "LeakTracker",
    "collected",
    "explain",
    "no_leaks",
]

_T = TypeVar("_T")

#: Default number of ``gc.collect()`` passes in default mode.
DEFAULT_GC_PASSES = 3
#: Default bound on the length of a referrer chain.
DEFAULT_MAX_DEPTH = 12
#: Default bound on the number of objects the referrer search visits.
DEFAULT_MAX_NODES = 20000
#: At most this many survivors are explained in detail in one report.
MAX_EXPLAINED = 5

_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
if _THIS_FILE.endswith((".pyc", ".pyo")):  # pragma: no cover - unusual layouts
    _THIS_FILE = _THIS_FILE[:-1]
_CO_OPTIMIZED = 0x0001
_ARROW = " \u2192 "


class LeakError(AssertionError):
    """Objects that were expected to be freed are still alive.

    The message is a plain string built while the objects were alive; the
    exception keeps no reference to them, so once the exception is all that
    remains (pytest keeps failed frames alive), the objects can be freed.
    """


# --------------------------------------------------------------------------
# Pausing automatic garbage collection for strict mode
# --------------------------------------------------------------------------


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


_GC_PAUSE = _GcPause()


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxtuple = 4
_REPR.maxlist = 4
_REPR.maxdict = 3
_REPR.maxset = 4
_REPR.maxfrozenset = 4
_REPR.maxdeque = 4
_REPR.maxstring = 40
_REPR.maxlong = 40
_REPR.maxother = 80


def _short_repr(obj: object, limit: int = 90) -> str:
    """``repr`` that never raises, never spans lines and stays short."""
    try:
        text = _REPR.repr(obj)
    except Exception:
        text = "<%s object at %#x (repr failed)>" % (_type_name(obj), id(obj))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 4] + " ...>" if text.startswith("<") else text[: limit - 3] + "..."
    return text


def _type_name(obj: object) -> str:
    tp = type(obj)
    return getattr(tp, "__qualname__", tp.__name__)


def _caller_location() -> str:
    """``file.py:LINE`` of the first frame outside this module."""
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None and _is_our_code(frame.f_code):
        frame = frame.f_back
    if frame is None:  # pragma: no cover
        return "?"
    location = "%s:%d" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
    del frame
    return location


def _is_our_code(code: types.CodeType) -> bool:
    return os.path.normcase(code.co_filename) == _THIS_FILE or code.co_filename == __file__


def _not_weakrefable(obj: object) -> TypeError:
    tp = type(obj)
    name = _type_name(obj)
    slots = any("__slots__" in vars(klass) for klass in tp.__mro__[:-1])
    if slots and tp.__module__ not in ("builtins",):
        fix = (
            "add '__weakref__' to the __slots__ of %s (e.g. __slots__ = (..., '__weakref__')), "
            "or track an object that contains it" % name
        )
    else:
        fix = (
            "track an object that contains it instead (the instance, list or "
            "namespace that owns it); values such as int, str, bytes and tuple "
            "can never be weakly referenced"
        )
    return TypeError(
        "weakcache.testing cannot track %s: instances of %s cannot be weakly "
        "referenced, so there is no way to observe when they are freed. Fix: %s."
        % (_short_repr(obj, 60), name, fix)
    )


# --------------------------------------------------------------------------
# Classification of objects met on a referrer chain
# --------------------------------------------------------------------------


def _is_functools_lru(obj: object) -> bool:
    tp = type(obj)
    if tp.__module__ == "functools" and tp.__name__ == "_lru_cache_wrapper":
        return True
    # Pure-Python fallback of functools (no _functools): a function with
    # cache_info/cache_clear attributes.
    return (
        isinstance(obj, types.FunctionType)
        and obj.__module__ == "functools"
        and hasattr(obj, "cache_info")
        and hasattr(obj, "cache_clear")
    )


def _is_weakcache_object(obj: object) -> bool:
    module = getattr(type(obj), "__module__", "") or ""
    return (module == "weakcache" or module.startswith("weakcache.")) and module != __name__


def _lru_kind(obj: object) -> str:
    try:
        params = obj.cache_parameters()  # type: ignore[attr-defined]
        if params.get("maxsize", 0) is None:
            return "cache"
    except Exception:
        pass
    return "lru_cache"


def _qualname(obj: object) -> str:
    name = getattr(obj, "__qualname__", None)
    if not isinstance(name, str):
        name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        name = _type_name(obj)
    return name


def _looks_like_method(func: object) -> bool:
    qualname = _qualname(func)
    parts = qualname.split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return True
    wrapped = getattr(func, "__wrapped__", func)
    code = getattr(wrapped, "__code__", None)
    if code is not None and code.co_argcount:
        return code.co_varnames[0] in ("self", "cls")
    return False


def _is_frame_like(obj: object) -> bool:
    return isinstance(obj, (types.FrameType, types.TracebackType)) or (
        isinstance(obj, BaseException) and obj.__traceback__ is not None
    )


def _generator_frame(obj: object) -> Optional[types.FrameType]:
    for attr in ("gi_frame", "cr_frame", "ag_frame"):
        if isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
            frame = getattr(obj, attr, None)
            if isinstance(frame, types.FrameType):
                return frame
    return None


_CONTAINERS = (dict, list, tuple, set, frozenset)


# --------------------------------------------------------------------------
# The referrer search
# --------------------------------------------------------------------------


class _Context:
    """What the search needs to know about the interpreter right now.

    Holds strong references to running frames while it lives; ``close()``
    drops them and removes the ``f_locals`` snapshots the search created
    (before Python 3.13 reading ``frame.f_locals`` stores a dict of the
    frame's locals on the frame, which would keep them alive).
    """

    def __init__(self) -> None:
        self.ignore: Set[int] = set()
        self.running: Dict[int, Tuple[types.FrameType, str]] = {}
        self.module_dicts: Dict[int, types.ModuleType] = {}
        self.locals_of: Dict[int, List[Tuple[types.FrameType, str]]] = {}
        self._touched: Dict[int, types.FrameType] = {}
        self.ignore.update(
            (id(self), id(self.ignore), id(self.running), id(self.module_dicts),
             id(self.locals_of), id(self._touched), id(self.__dict__))
        )
        names = {}
        for thread in threading.enumerate():
            names[thread.ident] = thread.name
        current = sys._current_frames()
        self.ignore.add(id(current))
        for ident, top in current.items():
            tname = names.get(ident, "thread %s" % ident)
            frame: Optional[types.FrameType] = top
            while frame is not None:
                if _is_our_code(frame.f_code):
                    self.ignore.add(id(frame))
                else:
                    self.running[id(frame)] = (frame, tname)
                frame = frame.f_back
        del current, top, frame
        for module in list(sys.modules.values()):
            if isinstance(module, types.ModuleType):
                try:
                    self.module_dicts[id(module.__dict__)] = module
                except Exception:  # pragma: no cover - exotic module objects
                    pass
        for frame, _tname in self.running.values():
            if not frame.f_code.co_flags & _CO_OPTIMIZED and frame.f_locals is frame.f_globals:
                continue  # module-level code: its module dict is a root of its own
            for name, value in self.frame_locals(frame):
                self.locals_of.setdefault(id(value), []).append((frame, name))
        self.ignore.update(id(v) for v in self.locals_of.values())
        self.ignore.update(id(pair) for pairs in self.locals_of.values() for pair in pairs)
        self.ignore.update(id(v) for v in self.running.values())

    def frame_locals(self, frame: types.FrameType) -> List[Tuple[str, object]]:
        try:
            if sys.version_info < (3, 13) and frame.f_code.co_flags & _CO_OPTIMIZED:
                self._touched[id(frame)] = frame
            namespace = frame.f_locals
            items = list(namespace.items())
        except Exception:  # pragma: no cover
            return []
        del namespace
        return items

    def is_root(self, obj: object) -> bool:
        return (
            isinstance(obj, (types.ModuleType, type))
            or id(obj) in self.module_dicts
            or id(obj) in self.running
        )

    def close(self) -> None:
        for frame in self._touched.values():
            try:
                frame.f_locals.clear()  # only snapshot dicts of function frames
            except Exception:  # pragma: no cover
                pass
        self._touched.clear()
        self.running.clear()
        self.locals_of.clear()
        self.module_dicts.clear()


class _SearchResult:
    def __init__(self) -> None:
        self.root_path: Optional[List[object]] = None
        self.cycle_path: Optional[List[object]] = None
        self.dead_end_path: Optional[List[object]] = None
        self.truncated = False
        self.visited = 0
        self.deepest_path: Optional[List[object]] = None


def _path_from(keep: Dict[int, object], parent: Dict[int, int], node_id: int, target_id: int) -> List[object]:
    """Nodes from ``node_id`` down to the target, following ``parent`` links."""
    path = [keep[node_id]]
    while node_id != target_id:
        node_id = parent[node_id]
        path.append(keep[node_id])
    return path


def _search(
    target: object,
    ctx: _Context,
    *,
    max_depth: int,
    max_nodes: int,
    want_cycle: bool,
    extra_ignore: Iterable[int] = (),
) -> _SearchResult:
    """Breadth-first search backwards over ``gc.get_referrers``.

    One ``gc.get_referrers(*frontier)`` call (one heap scan) per level.  The
    search's own containers, this module's frames and the running frames'
    bookkeeping are ignored by id.  Memory: strong references to every
    visited object are held in ``keep`` until the caller has rendered the
    result and dropped it.
    """
    result = _SearchResult()
    target_id = id(target)
    ignore = set(ctx.ignore)
    ignore.update(extra_ignore)
    keep: Dict[int, object] = {target_id: target}
    parent: Dict[int, int] = {}  # id(referrer) -> id(the object it refers to)
    cycle_child: Optional[int] = None
    root_id: Optional[int] = None
    dead_id: Optional[int] = None
    frontier: List[object] = [target]
    following: List[object] = []
    referrers: List[object] = []
    ignore.update((id(result), id(keep), id(parent), id(ignore), id(frontier)))

    for _depth in range(max_depth):
        if not frontier:
            break
        frontier_ids = {id(o) for o in frontier}
        has_referrer: Set[int] = set()
        following = []
        ignore.add(id(following))
        # Locals of running frames first (gc does not see them on 3.8+), then
        # everything the collector knows about; both lists are ours.
        local_frames: List[object] = []
        local_children: List[int] = []
        for node in frontier:
            for frame, _name in ctx.locals_of.get(id(node), ()):
                local_frames.append(frame)
                local_children.append(id(node))
        node = None
        ignore.update((id(local_frames), id(local_children)))
        # The argument tuple is ours too: build it here so its id is known.
        call_args = tuple(frontier)
        ignore.add(id(call_args))
        referrers = gc.get_referrers(*call_args)
        ignore.add(id(referrers))
        n_local = len(local_frames)
        for index in range(n_local + len(referrers)):
            referrer = local_frames[index] if index < n_local else referrers[index - n_local]
            rid = id(referrer)
            if rid in ignore:
                continue
            if isinstance(referrer, types.FrameType) and _is_our_code(referrer.f_code):
                continue
            if index < n_local:
                child_id = local_children[index]
            else:
                for referent in gc.get_referents(referrer):
                    if id(referent) in frontier_ids:
                        child_id = id(referent)
                        break
                else:
                    continue
                referent = None
            has_referrer.add(child_id)
            if rid == target_id:
                if cycle_child is None:
                    cycle_child = child_id
                continue
            if rid in keep:
                continue
            keep[rid] = referrer
            parent[rid] = child_id
            result.visited += 1
            if ctx.is_root(referrer):
                root_id = rid
                break
            following.append(referrer)
            if len(keep) >= max_nodes:
                result.truncated = True
                break
        referrer = None
        referrers = []
        local_frames = []
        call_args = ()
        if dead_id is None:
            for node in frontier:
                if id(node) not in has_referrer:
                    dead_id = id(node)
                    break
            node = None
        if root_id is not None or result.truncated:
            break
        frontier = following
        ignore.add(id(frontier))
    else:
        if frontier:
            result.truncated = True

    if root_id is not None:
        result.root_path = _path_from(keep, parent, root_id, target_id)
    if want_cycle and cycle_child is not None:
        result.cycle_path = [target] + _path_from(keep, parent, cycle_child, target_id)
    if dead_id is not None and root_id is None:
        result.dead_end_path = _path_from(keep, parent, dead_id, target_id)
    if root_id is None and dead_id is None and parent:
        result.deepest_path = _path_from(keep, parent, next(reversed(list(parent))), target_id)
    return result


# --------------------------------------------------------------------------
# Labelling edges and nodes
# --------------------------------------------------------------------------


def _namespace_of(obj: object) -> Optional[Dict[str, Any]]:
    """The real ``__dict__`` of a module, class or instance (no user code)."""
    try:
        if isinstance(obj, type):
            return None  # class namespaces are checked in _is_namespace
        namespace = object.__getattribute__(obj, "__dict__")
    except Exception:
        return None
    return namespace if type(namespace) is dict else None


def _is_namespace(owner: object, candidate: object) -> bool:
    if type(candidate) is not dict:
        return False
    if isinstance(owner, type):
        proxy = owner.__dict__
        if len(proxy) != len(candidate):
            return False
        try:
            return all(candidate.get(k, _MISSING) is v for k, v in proxy.items())
        except Exception:  # pragma: no cover
            return False
    return _namespace_of(owner) is candidate


_MISSING = object()


def _dict_label(mapping: Dict[Any, Any], child: object, attribute_style: bool) -> str:
    for key, value in dict.items(mapping):
        if value is child:
            if attribute_style and isinstance(key, str):
                return "." + key
            return "[%s]" % _short_repr(key, 40)
    for key in dict.keys(mapping):
        if key is child:
            return "key"
    return "(item)"


def _edge_label(parent: object, child: object, ctx: _Context) -> str:
    """How ``parent`` refers to ``child`` (``.attr``, ``[0]``, ``cache key``...)."""
    try:
        return _edge_label_impl(parent, child, ctx)
    except Exception:
        return "(reference)"


def _edge_label_impl(parent: object, child: object, ctx: _Context) -> str:
    if _is_functools_lru(parent) or _is_weakcache_object(parent):
        return _cache_label(parent, child)
    if isinstance(parent, dict):
        return _dict_label(parent, child, id(parent) in ctx.module_dicts)
    if isinstance(parent, list):
        for index in range(list.__len__(parent)):
            if list.__getitem__(parent, index) is child:
                return "[%d]" % index
        return "(item)"
    if isinstance(parent, tuple):
        for index in range(tuple.__len__(parent)):
            if tuple.__getitem__(parent, index) is child:
                return "[%d]" % index
        return "(item)"
    if isinstance(parent, (set, frozenset)):
        return "(set element)"
    if isinstance(parent, types.CellType):
        return "cell contents"
    if isinstance(parent, types.MethodType):
        if parent.__self__ is child:
            return "__self__"
        if parent.__func__ is child:
            return "__func__"
    if isinstance(parent, types.FunctionType):
        for attr in ("__closure__", "__defaults__", "__kwdefaults__", "__globals__", "__dict__", "__code__"):
            if getattr(parent, attr, None) is child:
                return attr
    if isinstance(parent, types.FrameType):
        for name, value in ctx.frame_locals(parent):
            if value is child:
                return "local '%s'" % name
        if parent.f_back is child:
            return "f_back"
        if parent.f_globals is child:
            return "f_globals"
        if parent.f_locals is child:
            return "f_locals"
    if isinstance(parent, types.TracebackType):
        if parent.tb_frame is child:
            return "tb_frame"
        if parent.tb_next is child:
            return "tb_next"
    if isinstance(parent, BaseException):
        for attr in ("__traceback__", "__context__", "__cause__", "args"):
            if getattr(parent, attr, None) is child:
                return attr
    frame = _generator_frame(parent)
    if frame is not None:
        if frame is child:
            return "frame"
        for name, value in ctx.frame_locals(frame):
            if value is child:
                return "local '%s'" % name
    if isinstance(parent, type):
        if _is_namespace(parent, child):
            return "__dict__"
        for attr in ("__mro__", "__bases__"):
            if getattr(parent, attr, None) is child:
                return attr
        return "(class internals)"
    if _is_namespace(parent, child):
        return "__dict__"
    namespace = _namespace_of(parent)
    if namespace is not None:
        for key, value in namespace.items():
            if value is child:
                return "." + str(key)
    for klass in type(parent).__mro__:
        slots = vars(klass).get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        for slot in slots:
            if slot.startswith("__") and not slot.endswith("__"):
                slot = "_%s%s" % (klass.__name__.lstrip("_"), slot)
            try:
                if object.__getattribute__(parent, slot) is child:
                    return "." + str(slot)
            except Exception:
                pass
    for attr in ("func", "args", "keywords"):  # functools.partial and friends
        try:
            if object.__getattribute__(parent, attr) is child:
                return "." + attr
        except Exception:
            pass
    return "(internal reference of %s)" % _type_name(parent)


def _cache_dict(cache: object) -> Optional[Dict[Any, Any]]:
    """The hidden result dict of a functools/weakcache cache object, if visible."""
    own = _namespace_of(cache)
    for referent in gc.get_referents(cache):
        if type(referent) is dict and referent is not own:
            return referent
    return None


def _cache_label(cache: object, child: object) -> str:
    if getattr(cache, "__wrapped__", None) is child:
        return "__wrapped__"
    if _namespace_of(cache) is child:
        return "__dict__"
    store = _cache_dict(cache)
    if store is not None:
        if store is child:
            return "cache"
        for key in dict.keys(store):
            if key is child:
                return "cache key"
    kind = "cached value" if _is_weakcache_object(cache) else "cached result"
    return kind


def _node_title(obj: object, ctx: _Context) -> str:
    """Short human name of a node (``class Model``, ``module app``...)."""
    try:
        return _node_title_impl(obj, ctx)
    except Exception:
        return "%s object" % _type_name(obj)


def _node_title_impl(obj: object, ctx: _Context) -> str:
    if id(obj) in ctx.module_dicts:
        return "module %s" % ctx.module_dicts[id(obj)].__name__
    if isinstance(obj, types.ModuleType):
        return "module %s" % obj.__name__
    if isinstance(obj, type):
        return "class %s" % obj.__qualname__
    if _is_functools_lru(obj):
        return "%s (functools %s)" % (_qualname(obj), _lru_kind(obj))
    if _is_weakcache_object(obj):
        return "%s (weakcache %s)" % (_qualname(obj), type(obj).__name__)
    if isinstance(obj, types.MethodType):
        return "bound method %s" % _qualname(obj.__func__)
    if isinstance(obj, types.FunctionType):
        return "function %s" % obj.__qualname__
    if isinstance(obj, types.FrameType):
        where = "%s (%s:%d)" % (obj.f_code.co_name, os.path.basename(obj.f_code.co_filename), obj.f_lineno)
        if id(obj) in ctx.running:
            return "running frame %s in thread '%s'" % (where, ctx.running[id(obj)][1])
        return "frame %s (no longer running)" % where
    if isinstance(obj, types.TracebackType):
        code = obj.tb_frame.f_code
        return "traceback (%s, %s:%d)" % (code.co_name, os.path.basename(code.co_filename), obj.tb_lineno)
    if isinstance(obj, BaseException):
        return "%s exception" % _type_name(obj)
    if _generator_frame(obj) is not None or isinstance(
        obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
    ):
        return "%s %s" % (type(obj).__name__, _qualname(obj))
    if isinstance(obj, types.CellType):
        return "cell"
    if isinstance(obj, _CONTAINERS):
        return _type_name(obj)
    return "%s object" % _type_name(obj)


def _is_named(obj: object, ctx: _Context) -> bool:
    return (
        id(obj) in ctx.module_dicts
        or isinstance(
            obj,
            (types.ModuleType, type, types.MethodType, types.FunctionType, types.FrameType,
             types.TracebackType, BaseException, types.GeneratorType, types.CoroutineType,
             types.AsyncGeneratorType),
        )
        or _is_functools_lru(obj)
        or _is_weakcache_object(obj)
    )


class _Step:
    __slots__ = ("label", "node", "title")

    def __init__(self, label: str, node: object, title: str) -> None:
        self.label = label
        self.node = node
        self.title = title


def _steps(path: Sequence[object], ctx: _Context) -> List[_Step]:
    """Turn a root-first node list into labelled steps, folding namespaces.

    ``module dict`` / ``class dict`` / ``instance dict`` nodes, closure tuples
    and cells, and hidden cache dicts are folded into the label of the next
    step (``.name``, ``closure variable 'x'``, ``cache key``).
    """
    nodes = list(path)
    steps: List[_Step] = []
    root = nodes[0]
    if id(root) in ctx.module_dicts:
        root = ctx.module_dicts[id(root)]
    if isinstance(root, type):
        class_name = str(root.__name__)
        module = sys.modules.get(str(root.__module__))
        if module is not None and getattr(module, class_name, None) is root:
            steps.append(_Step("", module, _node_title(module, ctx)))
            steps.append(_Step("." + class_name, root, _node_title(root, ctx)))
    if not steps:
        steps.append(_Step("", root, _node_title(root, ctx)))
    i = 1
    previous = nodes[0]
    while i < len(nodes):
        node = nodes[i]
        following = nodes[i + 1] if i + 1 < len(nodes) else None
        # Folding a namespace dict: owner -> dict -> value  =>  owner -.name-> value
        if following is not None and _is_namespace(previous, node):
            label = _dict_label(node, following, True)  # type: ignore[arg-type]
            steps.append(_Step(label, following, _node_title(following, ctx)))
            previous = following
            i += 2
            continue
        # Folding a closure: function -> __closure__ tuple -> cell -> value
        if (
            isinstance(previous, types.FunctionType)
            and previous.__closure__ is not None
            and node is previous.__closure__
            and isinstance(following, types.CellType)
            and i + 2 < len(nodes)
        ):
            value = nodes[i + 2]
            index = [cell is following for cell in previous.__closure__].index(True)
            name = previous.__code__.co_freevars[index]
            steps.append(_Step("closure variable '%s'" % name, value, _node_title(value, ctx)))
            previous = value
            i += 3
            continue
        # Folding a hidden cache dict: cache -> dict -> key/result
        if (
            following is not None
            and (_is_functools_lru(previous) or _is_weakcache_object(previous))
            and isinstance(node, dict)
            and _cache_dict(previous) is node
        ):
            label = "cache key" if any(k is following for k in dict.keys(node)) else "cached result"
            steps.append(_Step(label, following, _node_title(following, ctx)))
            previous = following
            i += 2
            continue
        if id(previous) in ctx.module_dicts:
            label = _dict_label(previous, node, True)  # type: ignore[arg-type]
        else:
            label = _edge_label(previous, node, ctx)
        steps.append(_Step(label, node, _node_title(node, ctx)))
        previous = node
        i += 1
    return steps


def _path_line(steps: Sequence[_Step], ctx: _Context) -> str:
    """One-line summary: ``module app → class Model → ... → Model object``."""
    parts: List[str] = []
    last = len(steps) - 1
    for index, step in enumerate(steps):
        label = step.label
        is_index = label.startswith("[") or label in ("(item)", "(set element)", "key")
        if index == 0:
            parts.append(step.title)
        elif index == last:
            if label and not is_index and label != "__self__":
                parts.append(label)
            parts.append(step.title)
        elif _is_named(step.node, ctx):
            name = step.title.split(" (")[0].split(" ")[-1].split(".")[-1]
            if label and not is_index and label != "." + name and label not in ("__func__",):
                parts.append(label)
            parts.append(step.title)
        else:
            parts.append("%s (%s)" % (label, step.title) if label else step.title)
    return _ARROW.join(parts)


def _detail_lines(steps: Sequence[_Step], ctx: _Context) -> List[str]:
    lines = []
    for index, step in enumerate(steps):
        extra = ""
        if not _is_named(step.node, ctx) or isinstance(step.node, BaseException):
            extra = "  " + _short_repr(step.node)
        if index == 0:
            lines.append("%s%s" % (step.title, extra))
        else:
            lines.append("  %s%s%s%s" % (step.label, _ARROW, step.title, extra))
    return lines


# --------------------------------------------------------------------------
# Naming the culprit
# --------------------------------------------------------------------------


def _where(steps: Sequence[_Step], upto: int) -> str:
    """Dotted name of the holder at ``steps[upto]`` (``app.registry``)."""
    names: List[str] = []
    for step in steps[: upto + 1]:
        if isinstance(step.node, types.ModuleType):
            names = [step.node.__name__]
        elif isinstance(step.node, type) and not step.label:
            names = [step.node.__qualname__]
        elif step.label.startswith("."):
            names.append(step.label[1:])
        elif step.label.startswith("["):
            names.append(step.label) if not names else names.__setitem__(-1, names[-1] + step.label)
        else:
            names.append(step.title)
    return ".".join(names) if names else steps[upto].title


def _culprits(steps: Sequence[_Step], ctx: _Context, cycle: bool) -> List[Tuple[str, str]]:
    found: List[Tuple[str, str]] = []
    target_title = steps[-1].title
    if cycle:
        found.append((
            "a reference cycle: the %s refers back to itself through the chain above, so "
            "reference counting can never free it; only the cyclic garbage collector "
            "(gc.collect()) does" % target_title,
            "break the cycle: keep back-references as weakref.ref()/weakref.proxy(), or "
            "clear them in a close() method; or use the default (non-strict) mode if "
            "cycles are acceptable here",
        ))
    for index, step in enumerate(steps):
        node = step.node
        if _is_functools_lru(node):
            name = _qualname(node)
            kind = _lru_kind(node)
            if _looks_like_method(node):
                found.append((
                    "functools.%s on the method %s: the cache keeps every `self` it was "
                    "called with (and the arguments and results) alive until the entry is "
                    "evicted or %s.cache_clear() is called" % (kind, name, name),
                    "decorate the method with weakcache.%s instead (`from weakcache import %s`): "
                    "a drop-in for functools.%s that holds `self` weakly"
                    % (kind, kind, kind),
                ))
            else:
                found.append((
                    "functools.%s on %s keeps its arguments and results alive until the entry "
                    "is evicted" % (kind, name),
                    "call %s.cache_clear() when done, lower maxsize, or do not pass "
                    "objects with a lifetime through the cache" % name,
                ))
        elif _is_weakcache_object(node):
            name = _qualname(node)
            if index + 2 < len(steps):
                found.append((
                    "a weakcache entry whose value references its owner: %s holds `self` "
                    "weakly, but the cached value (%s) refers back to the %s, so the owner "
                    "stays alive until the entry is evicted" % (name, steps[index + 1].title, target_title),
                    "do not return objects that keep `self` from a cached method (return plain "
                    "data, or hold the owner through weakref.proxy/weakref.ref), or call "
                    "%s.cache_clear()" % name,
                ))
            else:
                found.append((
                    "%s (weakcache) holds the %s as an argument or result" % (name, target_title),
                    "call %s.cache_clear() when done, or lower maxsize" % name,
                ))
        elif isinstance(node, types.MethodType) and index + 1 == len(steps) - 1 and index > 0:
            found.append((
                "a bound method (%s) is kept in %s: a bound method holds its `self` strongly"
                % (step.title, _where(steps, index - 1)),
                "register weakref.WeakMethod(obj.method) instead, or unregister it in "
                "close()/teardown",
            ))
        elif isinstance(node, types.FunctionType) and index + 1 < len(steps) and steps[
            index + 1
        ].label.startswith("closure variable"):
            if index and isinstance(steps[index - 1].node, type):
                found.append((
                    "the decorated method %s holds it through its %s (a decorator's "
                    "closure, e.g. a hand-written cache)"
                    % (_qualname(node), steps[index + 1].label),
                    "a cache on a method must not hold `self` strongly: use weakcache.lru_cache "
                    "/ weakcache.cache / weakcache.cached_property, or clear what the "
                    "closure holds",
                ))
            else:
                found.append((
                    "a closure (%s) holds it through its %s, and the function is kept in %s"
                    % (step.title, steps[index + 1].label, _where(steps, index - 1) if index else "?"),
                    "unregister the callback when done, or capture weakref.ref(obj) instead of obj",
                ))
        elif (
            _is_frame_like(node)
            and not (isinstance(node, types.FrameType) and id(node) in ctx.running)
            and not any(_is_frame_like(s.node) for s in steps[:index])
        ):
            found.append((
                "a frame or traceback is kept alive (%s): it keeps every local variable of "
                "its frames alive" % step.title,
                "do not store exceptions, tracebacks or sys.exc_info(); `del` them when done, "
                "or call traceback.clear_frames(tb)",
            ))
    root = steps[0].node
    if isinstance(root, types.FrameType) and id(root) in ctx.running and len(steps) > 1:
        found.append((
            "%s of the %s, which is still running" % (steps[1].label, steps[0].title),
            "`del` the variable (or let the function return) before the check",
        ))
    if not found and len(steps) == 2 and isinstance(root, (types.ModuleType, type)):
        found.append((
            "the %s %s holds it" % (
                "class attribute" if isinstance(root, type) else "module global",
                _where(steps, 1)),
            "`del` it or set it to None when done (or keep a weakref.ref() there)",
        ))
    if not found and len(steps) > 2:
        first = steps[1] if not isinstance(steps[1].node, type) or len(steps) < 4 else steps[2]
        first_index = list(steps).index(first)
        if isinstance(first.node, (dict, list, set)) or type(first.node).__name__ in ("deque", "OrderedDict"):
            found.append((
                "a %s-level container %s (%s) holds it"
                % ("class" if isinstance(steps[first_index - 1].node, type) else "module",
                   _where(steps, first_index), first.title),
                "remove it in teardown, or use weakref.WeakSet / WeakValueDictionary / "
                "WeakKeyDictionary",
            ))
    if not found:
        found.append((
            "the %s is reachable from %s" % (target_title, steps[0].title),
            "drop that reference (del, .clear(), close()) or hold the object through weakref",
        ))
    unique: List[Tuple[str, str]] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    return unique


# --------------------------------------------------------------------------
# Analysis of one survivor: strings only
# --------------------------------------------------------------------------


class _Finding:
    """Everything about one survivor, as text (no reference to the object)."""

    __slots__ = ("headline", "path", "chain", "culprits", "cycle_path", "cycle_chain", "cycle_culprits")

    def __init__(self) -> None:
        self.headline = ""
        self.path = ""
        self.chain: List[str] = []
        self.culprits: List[Tuple[str, str]] = []
        self.cycle_path = ""
        self.cycle_chain: List[str] = []
        self.cycle_culprits: List[Tuple[str, str]] = []


def _analyze(
    obj: object,
    *,
    want_cycle: bool,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    extra_ignore: Iterable[int] = (),
) -> _Finding:
    """Describe who holds ``obj``; returns strings only."""
    finding = _Finding()
    ctx = _Context()
    try:
        finding.headline = "%s object %s" % (_type_name(obj), _short_repr(obj))
        result = _search(
            obj, ctx, max_depth=max_depth, max_nodes=max_nodes, want_cycle=want_cycle,
            extra_ignore=extra_ignore,
        )
        if result.root_path is not None:
            steps = _steps(result.root_path, ctx)
            finding.path = _path_line(steps, ctx)
            finding.chain = _detail_lines(steps, ctx)
            finding.culprits = _culprits(steps, ctx, cycle=False)
            del steps
        elif result.dead_end_path is not None and len(result.dead_end_path) == 1:
            finding.culprits = [(
                "nothing visible to the garbage collector refers to the %s: it is held by "
                "an object that does not take part in garbage collection (a C extension "
                "type, an interpreter-internal cache) or leaked by a missing Py_DECREF"
                % _type_name(obj),
                "look for C extensions that store it; the referrer chain cannot be shown",
            )]
        elif result.dead_end_path is not None:
            steps = _steps(result.dead_end_path, ctx)
            finding.path = _path_line(steps, ctx)
            finding.chain = _detail_lines(steps, ctx)
            finding.culprits = [(
                "no module, class or running frame holds the chain: its top (%s) is held by "
                "something invisible to the garbage collector (a C extension object or an "
                "interpreter-internal reference)" % steps[0].title,
                "look for C extensions or caches that store %s" % steps[0].title,
            )]
            del steps
        else:
            if result.deepest_path is not None:
                steps = _steps(result.deepest_path, ctx)
                finding.path = _path_line(steps, ctx)
                finding.chain = _detail_lines(steps, ctx)
                del steps
            if result.truncated:
                finding.culprits = [(
                    "no module, class or running frame found within %d steps / %d objects "
                    "(search limit); the longest chain searched is shown" % (max_depth, max_nodes),
                    "call weakcache.testing.explain(obj, max_depth=...) with a larger limit",
                )]
            else:
                finding.culprits = [(
                    "no module, class or running frame holds it: it is kept by a group of "
                    "objects that refer to each other and that something invisible to the "
                    "garbage collector (a C extension) holds",
                    "look for C extensions or caches that store the objects shown",
                )]
        if result.cycle_path is not None:
            steps = _steps(result.cycle_path, ctx)
            finding.cycle_path = _path_line(steps, ctx)
            finding.cycle_chain = _detail_lines(steps, ctx)
            finding.cycle_culprits = _culprits(steps, ctx, cycle=True)
            del steps
        del result
    finally:
        ctx.close()
    return finding


def _format_finding(index: int, finding: _Finding, note: str, cycle: bool) -> List[str]:
    lines = ["", "[%d] %s%s" % (index, finding.headline, note)]
    if cycle:
        path, chain, culprits = finding.cycle_path, finding.cycle_chain, finding.cycle_culprits
        if not path:
            culprits = culprits or [(
                "it was freed only by the cyclic garbage collector: it is part of a "
                "reference cycle",
                "break the cycle with weakref.ref()/weakref.proxy() for back-references, or "
                "clear them in close()",
            )]
        lines.append("    freed only by gc.collect(): it is part of a reference cycle (strict mode)")
    else:
        path, chain, culprits = finding.path, finding.chain, finding.culprits
    if path:
        lines.append("    path: %s" % path)
        lines.append("    referrer chain (root first):")
        lines.extend("      " + line for line in chain)
    for culprit, fix in culprits:
        lines.append("    culprit: %s" % culprit)
        lines.append("    fix: %s" % fix)
    return lines


# --------------------------------------------------------------------------
# Tracking
# --------------------------------------------------------------------------


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
            alive.died_in_gc = _GC_PAUSE.collecting

    return on_death


class _Watch:
    """``no_leaks(*types)``: instances of ``types`` created after ``start()``.

    Memory: remembers pre-existing instances by weak reference (or by id for
    types that cannot be weakly referenced), never strongly.
    """

    def __init__(self, kinds: Tuple[type, ...], strict: bool) -> None:
        self.kinds = kinds
        self.strict = strict
        self.before_weak: Dict[int, weakref.ref[Any]] = {}
        self.before_ids: Set[int] = set()
        self.started = False

    def start(self) -> None:
        for obj in gc.get_objects():
            if issubclass(type(obj), self.kinds):
                try:
                    self.before_weak[id(obj)] = weakref.ref(obj)
                except TypeError:
                    self.before_ids.add(id(obj))
        self.started = True

    def new_instances(self) -> List[object]:
        """Instances alive now that did not exist at ``start()`` (strong refs!)."""
        found = []
        for obj in gc.get_objects():
            if not issubclass(type(obj), self.kinds):
                continue
            ref = self.before_weak.get(id(obj))
            if ref is not None and ref() is obj:
                continue
            if id(obj) in self.before_ids:
                continue
            found.append(obj)
        return found

    def describe(self) -> str:
        names = ", ".join(k.__qualname__ for k in self.kinds)
        return "no_leaks(%s%s)" % (names, ", strict=True" if self.strict else "")


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
        entry = _Entry(is_strict, _caller_location(), _type_name(obj))
        try:
            entry.ref = weakref.ref(obj, _death_callback(entry))
        except TypeError:
            raise _not_weakrefable(obj) from None
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
        ``gc.get_objects()`` now and at the check; holds no strong references.
        """
        flat = _flatten_types(kinds)
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

    def _pause(self) -> None:
        if not self._paused:
            _GC_PAUSE.acquire()
            self._paused = True

    def reset(self) -> None:
        """Forget everything tracked without judging it; resume gc if paused."""
        for entry in self._entries:
            entry.ref = None
        self._entries = []
        self._watches = []
        if self._paused:
            self._paused = False
            _GC_PAUSE.release()

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
            message = _judge(entries, watches, self)
        finally:
            for entry in entries:
                entry.ref = None
            del entries, watches
            if self._paused:
                self._paused = False
                _GC_PAUSE.release()
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
            self._paused = False
            _GC_PAUSE.release()

    def __repr__(self) -> str:
        mode = "strict" if self.strict else "default"
        return "<LeakTracker %s mode, %d tracked>" % (mode, len(self._entries))


def _flatten_types(kinds: Iterable[Any]) -> Tuple[type, ...]:
    flat: List[type] = []
    for kind in kinds:
        if isinstance(kind, tuple):
            flat.extend(_flatten_types(kind))
        elif isinstance(kind, type):
            flat.append(kind)
        else:
            raise TypeError(
                "no_leaks() takes classes, got %s; write no_leaks(Model, Session)"
                % _short_repr(kind, 60)
            )
    if not flat:
        raise TypeError("no_leaks() needs at least one class, e.g. no_leaks(Model)")
    return tuple(flat)


class _Candidate:
    """A survivor found by a type watch: weak if possible, else by id."""

    __slots__ = ("ref", "obj_id", "type_name", "watch")

    def __init__(self, obj: object, watch: _Watch) -> None:
        self.obj_id = id(obj)
        self.type_name = _type_name(obj)
        self.watch = watch
        try:
            self.ref: Optional[weakref.ref[Any]] = weakref.ref(obj)
        except TypeError:
            self.ref = None


def _alive(entry: _Entry) -> bool:
    return entry.ref is not None and entry.ref() is not None


def _judge(entries: List[_Entry], watches: List[_Watch], tracker: LeakTracker) -> Optional[str]:
    """Run the collection passes and build the report text (or None)."""
    findings: List[Tuple[_Finding, str, bool]] = []  # (finding, note, cycle)
    lost: List[str] = []  # strict objects that died in an automatic collection
    pre: Dict[int, _Finding] = {}  # id(entry or candidate) -> pre-gc analysis
    strict_candidates: List[_Candidate] = []
    explained = 0

    # 1. strict objects: must be gone now, without gc.collect()
    for entry in entries:
        if not entry.strict:
            continue
        obj = entry.ref() if entry.ref is not None else None
        if obj is None:
            if entry.died_in_gc:
                lost.append("%s object (tracked at %s)" % (entry.type_name, entry.where))
            continue
        pre[id(entry)] = _analyze(obj, want_cycle=True, max_depth=tracker.max_depth, max_nodes=tracker.max_nodes)
        del obj
    seen: Set[int] = set()
    for watch in watches:
        if not watch.strict:
            continue
        found = [o for o in watch.new_instances() if id(o) not in seen]
        seen.update(id(o) for o in found)
        for obj in found[:MAX_EXPLAINED]:
            candidate = _Candidate(obj, watch)
            strict_candidates.append(candidate)
            pre[id(candidate)] = _analyze(obj, want_cycle=True, extra_ignore=(id(found),), max_depth=tracker.max_depth, max_nodes=tracker.max_nodes)
        for obj in found[MAX_EXPLAINED:]:
            strict_candidates.append(_Candidate(obj, watch))
        found = []
        obj = None

    # 2. collection passes (skipped when nothing can be alive)
    if watches or any(_alive(e) for e in entries):
        for _ in range(tracker.gc_passes):
            gc.collect()
            if not watches and not any(_alive(e) for e in entries):
                break

    # 3. survivors and strict objects that needed the collector
    for entry in entries:
        obj = entry.ref() if entry.ref is not None else None
        note = " (tracked at %s%s)" % (entry.where, ", strict" if entry.strict else "")
        if obj is None:
            if id(entry) in pre:
                findings.append((pre[id(entry)], note, True))
            continue
        if explained < MAX_EXPLAINED:
            findings.append((_analyze(obj, want_cycle=False, max_depth=tracker.max_depth, max_nodes=tracker.max_nodes), note, False))
            explained += 1
        else:
            findings.append((_headline_only(obj), note, False))
        del obj
    still_alive_ids: Set[int] = set()
    reported = {id(e.ref()) for e in entries if e.ref is not None and e.ref() is not None}
    for watch in watches:
        found = [o for o in watch.new_instances() if id(o) not in reported]
        still_alive_ids.update(id(o) for o in found)
        reported.update(id(o) for o in found)
        note = " (created during the test; %s)" % watch.describe()
        for obj in found:
            if explained < MAX_EXPLAINED:
                findings.append((_analyze(obj, want_cycle=False, extra_ignore=(id(found),), max_depth=tracker.max_depth, max_nodes=tracker.max_nodes), note, False))
                explained += 1
            else:
                findings.append((_headline_only(obj), note, False))
        del found
        obj = None
    for candidate in strict_candidates:
        alive = candidate.ref() is not None if candidate.ref is not None else candidate.obj_id in still_alive_ids
        if not alive:
            finding = pre.get(id(candidate)) or _Finding()
            if not finding.headline:
                finding.headline = "%s object" % candidate.type_name
            note = " (created during the test; %s)" % candidate.watch.describe()
            findings.append((finding, note, True))

    if not findings and not lost:
        return None
    return _render_report(findings, lost, tracker)


def _headline_only(obj: object) -> _Finding:
    finding = _Finding()
    finding.headline = "%s object %s" % (_type_name(obj), _short_repr(obj))
    finding.culprits = [("(not explained: only the first %d survivors are)" % MAX_EXPLAINED, "fix the ones above first")]
    return finding


def _render_report(findings: List[Tuple[_Finding, str, bool]], lost: List[str], tracker: LeakTracker) -> str:
    leaks = sum(1 for _f, _n, cycle in findings if not cycle)
    cycles = len(findings) - leaks + len(lost)
    parts = []
    if leaks:
        parts.append(
            "%d object%s still alive after %d gc.collect() pass%s"
            % (leaks, "" if leaks == 1 else "s", tracker.gc_passes, "" if tracker.gc_passes == 1 else "es")
        )
    if cycles:
        parts.append(
            "%d object%s freed only by the cyclic garbage collector (strict mode)"
            % (cycles, "" if cycles == 1 else "s")
        )
    names = []
    for finding, _note, cycle in findings:
        tag = finding.headline.split(" <")[0]
        culprits = finding.cycle_culprits if cycle else finding.culprits
        if culprits:
            tag += " (%s)" % culprits[0][0].split(": ")[0]
        names.append(tag)
    names.extend(text.split(" (tracked")[0] + " (reference cycle)" for text in lost)
    shown = "; ".join(names[:3]) + ("; ..." if len(names) > 3 else "")
    lines = ["%s: %s" % ("; ".join(parts), shown)]
    for index, (finding, note, cycle) in enumerate(findings, 1):
        lines.extend(_format_finding(index, finding, note, cycle))
    for index, text in enumerate(lost, len(findings) + 1):
        lines.append("")
        lines.append("[%d] %s" % (index, text))
        lines.append(
            "    freed only by an automatic or explicit gc.collect() during the test: it was "
            "part of a reference cycle (strict mode); the cycle is no longer there to show"
        )
        lines.append(
            "    fix: break the cycle (weakref.ref()/weakref.proxy() for back-references), "
            "or avoid calling gc.collect() in a strict test to see the cycle"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Plain-Python API
# --------------------------------------------------------------------------


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


def explain(obj: object, *, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """Text showing who keeps ``obj`` alive right now (no ``gc.collect()``).

    Memory: the search holds temporary references to the referrers it
    visits; all are dropped before this returns.  The returned string holds
    no reference to ``obj``.
    """
    finding = _analyze(obj, want_cycle=True, max_depth=max_depth, max_nodes=max_nodes)
    lines = _format_finding(1, finding, "", cycle=False)[1:]
    if finding.cycle_path:
        lines.append("    also part of a reference cycle: %s" % finding.cycle_path)
    return "\n".join(lines)


def no_leaks(*kinds: type, strict: Optional[bool] = None) -> pytest.MarkDecorator:
    """The ``no_leaks`` marker, safe with a single class (needs pytest).

    ``@pytest.mark.no_leaks(Model)`` with exactly one class and no keyword
    is read by pytest as "apply the mark to the class Model", not as an
    argument; ``@no_leaks(Model)`` (or ``@pytest.mark.no_leaks(Model,
    strict=False)``) avoids that.
    """
    import pytest

    if strict is None:
        return pytest.mark.no_leaks.with_args(*kinds)
    return pytest.mark.no_leaks.with_args(*kinds, strict=strict)


# --------------------------------------------------------------------------
# pytest plugin (only defined when pytest is importable)
# --------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

if _HAVE_PYTEST or TYPE_CHECKING:

    class _ItemState:
        def __init__(self) -> None:
            self.tracker: Optional[LeakTracker] = None
            self.marks: List[Tuple[Tuple[type, ...], Optional[bool]]] = []
            self.judge = True

    _STATE = pytest.StashKey[_ItemState]()

    def _state(item: pytest.Item) -> _ItemState:
        state = item.stash.get(_STATE, None)
        if state is None:
            state = _ItemState()
            item.stash[_STATE] = state
        return state

    def _ini_strict(config: pytest.Config) -> bool:
        try:
            return bool(config.getini("leak_tracker_strict"))
        except ValueError:  # pragma: no cover - option not registered
            return False

    def pytest_addoption(parser: pytest.Parser) -> None:
        parser.addini(
            "leak_tracker_strict",
            type="bool",
            default=False,
            help="weakcache.testing: objects tracked by leak_tracker / no_leaks must be "
            "freed without gc.collect() (proves there is no reference cycle)",
        )

    def pytest_configure(config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers",
            "no_leaks(*types, strict=False): no instance of these classes created while the "
            "test runs may survive it (weakcache.testing)",
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        if report.when in ("setup", "call") and not report.passed:
            state = item.stash.get(_STATE, None)
            if state is not None:
                state.judge = False
        if report.when == "teardown" and call.excinfo is not None and isinstance(call.excinfo.value, LeakError):
            # Show the report itself, not the plugin's frames.
            report.longrepr = "LeakError: %s" % (call.excinfo.value,)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(_STATE, None)
        if state is not None and state.marks:
            tracker = state.tracker
            if tracker is not None:
                for kinds, strict in state.marks:
                    tracker.watch_types(*kinds, strict=strict)
        yield

    def _release_pytest_state(item: pytest.Item) -> None:
        """Drop what pytest itself would drop right after teardown.

        ``item.funcargs`` (fixture values) and the captured log records of
        the test (whose ``args`` may hold tracked objects) are released by
        pytest only after all teardown hooks; we release them a little earlier.
        """
        funcargs = getattr(item, "funcargs", None)
        if isinstance(funcargs, dict):
            funcargs.clear()
        try:
            from _pytest.logging import caplog_records_key
        except ImportError:  # pragma: no cover - pytest internals moved
            return
        records = item.stash.get(caplog_records_key, None)
        if records:
            for value in records.values():
                del value[:]

    @pytest.fixture(autouse=True)
    def _weakcache_leak_guard(request: pytest.FixtureRequest) -> Generator[None, None, None]:
        """Runs the leak checks after every other function fixture is gone."""
        __tracebackhide__ = True
        item = request.node
        state = _state(item)
        state.judge = True
        strict_ini = _ini_strict(request.config)
        for mark in item.iter_markers("no_leaks"):
            strict = mark.kwargs.get("strict", None)
            unknown = set(mark.kwargs) - {"strict"}
            if unknown:
                raise TypeError("no_leaks() got unexpected keyword arguments: %s" % ", ".join(sorted(unknown)))
            state.marks.append((_flatten_types(mark.args), None if strict is None else bool(strict)))
        merged: Dict[Optional[bool], Tuple[type, ...]] = {}
        for kinds, strict in state.marks:
            merged[strict] = merged.get(strict, ()) + tuple(k for k in kinds if k not in merged.get(strict, ()))
        state.marks = list((kinds, strict) for strict, kinds in merged.items())
        if state.marks and state.tracker is None:
            state.tracker = LeakTracker(strict=strict_ini)
        try:
            yield
        finally:
            tracker, state.tracker = state.tracker, None
            state.marks = []
            judge = state.judge
        if tracker is None:
            return
        if not judge or (tracker.pending == 0 and not tracker._watches):
            tracker.reset()
            return
        _release_pytest_state(item)
        del item, state
        tracker.check()

    @pytest.fixture
    def leak_tracker(request: pytest.FixtureRequest, _weakcache_leak_guard: None) -> LeakTracker:
        """A :class:`LeakTracker`; everything it tracks must be freed by the end of the test.

        The check runs after all function-scoped fixtures are torn down and
        is skipped if the test itself failed.  Strict by default when the ini
        option ``leak_tracker_strict = true`` is set.
        """
        state = _state(request.node)
        if state.tracker is None:
            state.tracker = LeakTracker(strict=_ini_strict(request.config))
        return state.tracker
