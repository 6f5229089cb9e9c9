"""A referrer chain as text: edge labels (``.attr``, ``[0]``, ``cache key``), node titles, steps.

PYTEST_DONT_REWRITE

Nothing here calls user code: namespaces and attributes are read through
the built-in types' descriptors (see ``_base``), and every label or title
that could still fail falls back to a generic one.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ._base import (
    ARROW, CONTAINERS, GENERATOR_TYPES, MISSING, exception_attr, generator_frame, is_a,
    is_functools_lru, is_weakcache_object, lru_kind, module_name, module_namespace,
    namespace_of, qualname, short_repr, static_attr, type_mro, type_module, type_name,
    type_namespace, type_qualname, type_short_name,
)
from .search import Context


def is_namespace(owner: object, candidate: object) -> bool:
    """Is ``candidate`` the ``__dict__`` of ``owner`` (a class's: a dict with the same items)?"""
    if type(candidate) is not dict:
        return False
    if is_a(owner, type):
        proxy = type_namespace(owner)  # type: ignore[arg-type]
        if len(proxy) != len(candidate):
            return False
        try:
            return all(candidate.get(k, MISSING) is v for k, v in proxy.items())
        except Exception:  # pragma: no cover
            return False
    return namespace_of(owner) is candidate


def dict_label(mapping: Dict[Any, Any], child: object, attribute_style: bool) -> str:
    for key, value in dict.items(mapping):
        if value is child:
            if attribute_style and type(key) is str:
                return "." + key
            return "[%s]" % short_repr(key, 40)
    for key in dict.keys(mapping):
        if key is child:
            return "key"
    return "(item)"


def _sequence_label(parent: Any, child: object, kind: Any) -> Optional[str]:
    for index in range(kind.__len__(parent)):
        if kind.__getitem__(parent, index) is child:
            return "[%d]" % index
    return "(item)"


def _first_attr(parent: object, child: object, attrs: Sequence[str], read: Callable[[object, str], Any]) -> Optional[str]:
    for attr in attrs:
        if read(parent, attr) is child:
            return attr
    return None


def _frame_label(frame: types.FrameType, child: object, ctx: Context) -> Optional[str]:
    for name, value in ctx.frame_locals(frame):
        if value is child:
            return "local '%s'" % name
    for attr in ("f_back", "f_globals", "f_locals"):
        if getattr(frame, attr) is child:
            return attr
    return None


def _builtin_label(parent: object, child: object, ctx: Context) -> Optional[str]:
    """Labels for the interpreter's own types; None when ``parent`` is none of them."""
    if is_a(parent, dict):
        return dict_label(parent, child, id(parent) in ctx.module_dicts)  # type: ignore[arg-type]
    for kind in (list, tuple):
        if is_a(parent, kind):
            return _sequence_label(parent, child, kind)
    if is_a(parent, (set, frozenset)):
        return "(set element)"
    if is_a(parent, types.CellType):
        return "cell contents"
    if is_a(parent, types.MethodType):
        return _first_attr(parent, child, ("__self__", "__func__"), getattr)
    if is_a(parent, types.FunctionType):
        function_attrs = ("__closure__", "__defaults__", "__kwdefaults__", "__globals__", "__dict__", "__code__")
        return _first_attr(parent, child, function_attrs, static_attr)
    if is_a(parent, types.FrameType):
        return _frame_label(parent, child, ctx)  # type: ignore[arg-type]
    if is_a(parent, types.TracebackType):
        return _first_attr(parent, child, ("tb_frame", "tb_next"), getattr)
    if is_a(parent, BaseException):
        attrs = ("__traceback__", "__context__", "__cause__", "args")
        return _first_attr(parent, child, attrs, exception_attr)  # type: ignore[arg-type]
    frame = generator_frame(parent)
    if frame is not None:
        return "frame" if frame is child else _frame_label(frame, child, ctx)
    return None


def _class_label(parent: type, child: object) -> str:
    if is_namespace(parent, child):
        return "__dict__"
    if type_mro(parent) is child:
        return "__mro__"
    if type.__dict__["__bases__"].__get__(parent) is child:
        return "__bases__"
    return "(class internals)"


def _slot_names(tp: type) -> List[Tuple[type, str]]:
    names = []
    for klass in type_mro(tp):
        slots = type_namespace(klass).get("__slots__", ())
        if type(slots) is str:
            slots = (slots,)
        if not is_a(slots, (tuple, list, dict, set, frozenset)):
            continue
        for slot in slots:
            if type(slot) is str:
                if slot.startswith("__") and not slot.endswith("__"):
                    slot = "_%s%s" % (type_short_name(klass).lstrip("_"), slot)
                names.append((klass, slot))
    return names


def _instance_label(parent: object, child: object) -> str:
    if is_namespace(parent, child):
        return "__dict__"
    namespace = namespace_of(parent)
    if namespace is not None:
        for key, value in namespace.items():
            if value is child:
                return "." + str(key) if type(key) is str else "[%s]" % short_repr(key, 40)
    for klass, slot in _slot_names(type(parent)):
        descriptor = type_namespace(klass).get(slot)
        if type(descriptor) is types.MemberDescriptorType and descriptor.__get__(parent) is child:
            return "." + slot
    for attr in ("func", "args", "keywords"):  # functools.partial and friends
        if static_attr(parent, attr) is child:
            return "." + attr
    return "(internal reference of %s)" % type_name(parent)


def edge_label(parent: object, child: object, ctx: Context) -> str:
    """How ``parent`` refers to ``child`` (``.attr``, ``[0]``, ``cache key``...)."""
    try:
        if is_functools_lru(parent) or is_weakcache_object(parent):
            return _cache_label(parent, child)
        label = _builtin_label(parent, child, ctx)
        if label is not None:
            return label
        if is_a(parent, type):
            return _class_label(parent, child)  # type: ignore[arg-type]
        return _instance_label(parent, child)
    except Exception:
        return "(reference)"


def cache_dict(cache: object) -> Optional[Dict[Any, Any]]:
    """The hidden result dict of a functools/weakcache cache object, if visible."""
    own = namespace_of(cache)
    for referent in gc.get_referents(cache):
        if type(referent) is dict and referent is not own:
            return referent
    return None


def _cache_label(cache: object, child: object) -> str:
    if static_attr(cache, "__wrapped__") is child:
        return "__wrapped__"
    if namespace_of(cache) is child:
        return "__dict__"
    store = cache_dict(cache)
    if store is not None:
        if store is child:
            return "cache"
        for key in dict.keys(store):
            if key is child:
                return "cache key"
    return "cached value" if is_weakcache_object(cache) else "cached result"


def _code_where(code: types.CodeType, line: Optional[int]) -> str:
    return "%s (%s:%s)" % (code.co_name, os.path.basename(code.co_filename), line)


def _frame_title(obj: types.FrameType, ctx: Context) -> str:
    where = _code_where(obj.f_code, obj.f_lineno)
    if id(obj) in ctx.running:
        return "running frame %s in thread '%s'" % (where, ctx.running[id(obj)][1])
    return "frame %s (no longer running)" % where


def _node_title_impl(obj: object, ctx: Context) -> str:
    if id(obj) in ctx.module_dicts:
        return "module %s" % module_name(ctx.module_dicts[id(obj)])
    if is_a(obj, types.ModuleType):
        return "module %s" % module_name(obj)  # type: ignore[arg-type]
    if is_a(obj, type):
        return "class %s" % type_qualname(obj)  # type: ignore[arg-type]
    if is_functools_lru(obj):
        return "%s (functools %s)" % (qualname(obj), lru_kind(obj))
    if is_weakcache_object(obj):
        return "%s (weakcache %s)" % (qualname(obj), type_short_name(type(obj)))
    if is_a(obj, types.MethodType):
        return "bound method %s" % qualname(obj.__func__)  # type: ignore[attr-defined]
    if is_a(obj, types.FunctionType):
        return "function %s" % qualname(obj)
    if is_a(obj, types.FrameType):
        return _frame_title(obj, ctx)  # type: ignore[arg-type]
    if is_a(obj, types.TracebackType):
        code = obj.tb_frame.f_code  # type: ignore[attr-defined]
        return "traceback (%s, %s:%d)" % (code.co_name, os.path.basename(code.co_filename), obj.tb_lineno)  # type: ignore[attr-defined]
    if is_a(obj, BaseException):
        return "%s exception" % type_name(obj)
    if is_a(obj, GENERATOR_TYPES):
        return "%s %s" % (type_short_name(type(obj)), qualname(obj))
    if is_a(obj, types.CellType):
        return "cell"
    if is_a(obj, CONTAINERS):
        return type_name(obj)
    return "%s object" % type_name(obj)


def node_title(obj: object, ctx: Context) -> str:
    """Short human name of a node (``class Model``, ``module app``...)."""
    try:
        return _node_title_impl(obj, ctx)
    except Exception:
        return "%s object" % type_name(obj)


_NAMED = (types.ModuleType, type, types.MethodType, types.FunctionType, types.FrameType,
          types.TracebackType, BaseException) + GENERATOR_TYPES


def is_named(obj: object, ctx: Context) -> bool:
    return (
        id(obj) in ctx.module_dicts
        or is_a(obj, _NAMED)
        or is_functools_lru(obj)
        or is_weakcache_object(obj)
    )


class Step:
    __slots__ = ("label", "node", "title")

    def __init__(self, label: str, node: object, title: str) -> None:
        self.label = label
        self.node = node
        self.title = title


def _root_steps(root: object, ctx: Context) -> List[Step]:
    """``module app → .Model → class Model`` for a class defined in a module, else the root."""
    if id(root) in ctx.module_dicts:
        root = ctx.module_dicts[id(root)]
    if is_a(root, type):
        class_name = type_short_name(root)  # type: ignore[arg-type]
        module = sys.modules.get(type_module(root))  # type: ignore[arg-type]
        # The module's dict, never getattr(): a module __getattr__ may import or raise.
        if is_a(module, types.ModuleType) and module_namespace(module).get(class_name) is root:  # type: ignore[arg-type]
            return [Step("", module, node_title(module, ctx)), Step("." + class_name, root, node_title(root, ctx))]
    return [Step("", root, node_title(root, ctx))]


def _fold(previous: object, nodes: Sequence[object], i: int, ctx: Context) -> Optional[Tuple[Step, int]]:
    """Fold a namespace dict, a closure or a hidden cache dict into one step.

    ``owner -> dict -> value`` becomes ``owner -.name-> value``; ``function ->
    __closure__ -> cell -> value`` becomes ``closure variable 'x'``; ``cache
    -> dict -> key`` becomes ``cache key``.  Returns the step and how many
    nodes it consumed.
    """
    node = nodes[i]
    following = nodes[i + 1] if i + 1 < len(nodes) else None
    if following is None:
        return None
    if is_namespace(previous, node):
        return Step(dict_label(node, following, True), following, node_title(following, ctx)), 2  # type: ignore[arg-type]
    closure: Any = static_attr(previous, "__closure__") if is_a(previous, types.FunctionType) else None
    if closure is not None and node is closure and is_a(following, types.CellType) and i + 2 < len(nodes):
        value = nodes[i + 2]
        cells: Tuple[Any, ...] = previous.__closure__  # type: ignore[attr-defined]
        index = [cell is following for cell in cells].index(True)
        name = static_attr(previous, "__code__").co_freevars[index]
        return Step("closure variable '%s'" % name, value, node_title(value, ctx)), 3
    if (is_functools_lru(previous) or is_weakcache_object(previous)) and cache_dict(previous) is node:
        label = "cache key" if any(k is following for k in dict.keys(node)) else "cached result"  # type: ignore[arg-type]
        return Step(label, following, node_title(following, ctx)), 2
    return None


def steps_of(path: Sequence[object], ctx: Context) -> List[Step]:
    """Turn a root-first node list into labelled steps, folding namespaces (see ``_fold``)."""
    nodes = list(path)
    steps = _root_steps(nodes[0], ctx)
    i = 1
    previous = nodes[0]
    while i < len(nodes):
        folded = _fold(previous, nodes, i, ctx)
        if folded is not None:
            step, used = folded
            steps.append(step)
            previous = step.node
            i += used
            continue
        node = nodes[i]
        if id(previous) in ctx.module_dicts:
            label = dict_label(previous, node, True)  # type: ignore[arg-type]
        else:
            label = edge_label(previous, node, ctx)
        steps.append(Step(label, node, node_title(node, ctx)))
        previous = node
        i += 1
    return steps


def path_line(steps: Sequence[Step], ctx: Context) -> str:
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
        elif is_named(step.node, ctx):
            name = step.title.split(" (")[0].split(" ")[-1].split(".")[-1]
            if label and not is_index and label != "." + name and label not in ("__func__",):
                parts.append(label)
            parts.append(step.title)
        else:
            parts.append("%s (%s)" % (label, step.title) if label else step.title)
    return ARROW.join(parts)


def detail_lines(steps: Sequence[Step], ctx: Context) -> List[str]:
    lines = []
    for index, step in enumerate(steps):
        extra = ""
        if not is_named(step.node, ctx) or is_a(step.node, BaseException):
            extra = "  " + short_repr(step.node)
        if index == 0:
            lines.append("%s%s" % (step.title, extra))
        else:
            lines.append("  %s%s%s%s" % (step.label, ARROW, step.title, extra))
    return lines


def where(steps: Sequence[Step], upto: int) -> str:
    """Dotted name of the holder at ``steps[upto]`` (``app.registry``)."""
    names: List[str] = []
    for step in steps[: upto + 1]:
        if is_a(step.node, types.ModuleType):
            names = [module_name(step.node)]  # type: ignore[arg-type]
        elif is_a(step.node, type) and not step.label:
            names = [type_qualname(step.node)]  # type: ignore[arg-type]
        elif step.label.startswith("."):
            names.append(step.label[1:])
        elif step.label.startswith("["):
            if names:
                names[-1] += step.label
            else:
                names.append(step.label)
        else:
            names.append(step.title)
    return ".".join(names) if names else steps[upto].title
