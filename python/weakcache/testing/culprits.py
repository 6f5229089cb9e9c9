"""Naming the culprit of a referrer chain: a table of rules.

PYTEST_DONT_REWRITE

A rule looks at the chain (root first) and returns ``(culprit, fix)`` or
None.  Three tables, applied in order:

* ``STEP_RULES``: tried on every step; the first rule that matches a step
  names it (a chain can have several culprits, e.g. a cache inside a frame);
* ``CHAIN_RULES``: tried once on the whole chain, each may add a culprit;
* ``FALLBACK_RULES``: only when nothing matched so far; the first match wins.

To teach the report a new culprit, add a function to the right table.
"""

from __future__ import annotations

import types
from typing import Callable, List, Optional, Sequence, Tuple

from ._base import (
    is_a, is_frame_like, is_functools_lru, is_weakcache_object, looks_like_method, lru_kind, qualname,
    type_short_name,
)
from .chain import Step, where
from .search import Context

Culprit = Tuple[str, str]
StepRule = Callable[[Sequence[Step], int, Context], Optional[Culprit]]
ChainRule = Callable[[Sequence[Step], Context], Optional[Culprit]]

CYCLE: Culprit = (
    "a reference cycle: the %s refers back to itself through the chain above, so "
    "reference counting can never free it; only the cyclic garbage collector "
    "(gc.collect()) does",
    "break the cycle: keep back-references as weakref.ref()/weakref.proxy(), or "
    "clear them in a close() method; or use the default (non-strict) mode if "
    "cycles are acceptable here",
)


# --------------------------------------------------------------------------
# Rules on one step
# --------------------------------------------------------------------------


def functools_cache(steps: Sequence[Step], index: int, ctx: Context) -> Optional[Culprit]:
    node = steps[index].node
    if not is_functools_lru(node):
        return None
    name, kind = qualname(node), lru_kind(node)
    if looks_like_method(node):
        return (
            "functools.%s on the method %s: the cache keeps every `self` it was "
            "called with (and the arguments and results) alive until the entry is "
            "evicted or %s.cache_clear() is called" % (kind, name, name),
            "decorate the method with weakcache.%s instead (`from weakcache import %s`): "
            "a drop-in for functools.%s that holds `self` weakly" % (kind, kind, kind),
        )
    return (
        "functools.%s on %s keeps its arguments and results alive until the entry "
        "is evicted" % (kind, name),
        "call %s.cache_clear() when done, lower maxsize, or do not pass "
        "objects with a lifetime through the cache" % name,
    )


def weakcache_entry(steps: Sequence[Step], index: int, ctx: Context) -> Optional[Culprit]:
    node = steps[index].node
    if not is_weakcache_object(node):
        return None
    name, target = qualname(node), steps[-1].title
    if index + 2 < len(steps):
        return (
            "a weakcache entry whose value references its owner: %s holds `self` "
            "weakly, but the cached value (%s) refers back to the %s, so the owner "
            "stays alive until the entry is evicted" % (name, steps[index + 1].title, target),
            "do not return objects that keep `self` from a cached method (return plain "
            "data, or hold the owner through weakref.proxy/weakref.ref), or call "
            "%s.cache_clear()" % name,
        )
    return (
        "%s (weakcache) holds the %s as an argument or result" % (name, target),
        "call %s.cache_clear() when done, or lower maxsize" % name,
    )


def bound_method(steps: Sequence[Step], index: int, ctx: Context) -> Optional[Culprit]:
    if not (is_a(steps[index].node, types.MethodType) and index + 1 == len(steps) - 1 and index > 0):
        return None
    return (
        "a bound method (%s) is kept in %s: a bound method holds its `self` strongly"
        % (steps[index].title, where(steps, index - 1)),
        "register weakref.WeakMethod(obj.method) instead, or unregister it in "
        "close()/teardown",
    )


def closure(steps: Sequence[Step], index: int, ctx: Context) -> Optional[Culprit]:
    node = steps[index].node
    if not (is_a(node, types.FunctionType) and index + 1 < len(steps)
            and steps[index + 1].label.startswith("closure variable")):
        return None
    variable = steps[index + 1].label
    if index and is_a(steps[index - 1].node, type):
        return (
            "the decorated method %s holds it through its %s (a decorator's "
            "closure, e.g. a hand-written cache)" % (qualname(node), variable),
            "a cache on a method must not hold `self` strongly: use weakcache.lru_cache "
            "/ weakcache.cache / weakcache.cached_property, or clear what the "
            "closure holds",
        )
    return (
        "a closure (%s) holds it through its %s, and the function is kept in %s"
        % (steps[index].title, variable, where(steps, index - 1) if index else "?"),
        "unregister the callback when done, or capture weakref.ref(obj) instead of obj",
    )


def kept_frame(steps: Sequence[Step], index: int, ctx: Context) -> Optional[Culprit]:
    node = steps[index].node
    running = is_a(node, types.FrameType) and id(node) in ctx.running
    if not is_frame_like(node) or running or any(is_frame_like(s.node) for s in steps[:index]):
        return None
    return (
        "a frame or traceback is kept alive (%s): it keeps every local variable of "
        "its frames alive" % steps[index].title,
        "do not store exceptions, tracebacks or sys.exc_info(); `del` them when done, "
        "or call traceback.clear_frames(tb)",
    )


STEP_RULES: Tuple[StepRule, ...] = (functools_cache, weakcache_entry, bound_method, closure, kept_frame)


# --------------------------------------------------------------------------
# Rules on the whole chain
# --------------------------------------------------------------------------


def running_frame(steps: Sequence[Step], ctx: Context) -> Optional[Culprit]:
    root = steps[0].node
    if not (is_a(root, types.FrameType) and id(root) in ctx.running and len(steps) > 1):
        return None
    return (
        "%s of the %s, which is still running" % (steps[1].label, steps[0].title),
        "`del` the variable (or let the function return) before the check",
    )


CHAIN_RULES: Tuple[ChainRule, ...] = (running_frame,)


def module_or_class_attribute(steps: Sequence[Step], ctx: Context) -> Optional[Culprit]:
    root = steps[0].node
    if not (len(steps) == 2 and is_a(root, (types.ModuleType, type))):
        return None
    return (
        "the %s %s holds it" % ("class attribute" if is_a(root, type) else "module global", where(steps, 1)),
        "`del` it or set it to None when done (or keep a weakref.ref() there)",
    )


def global_container(steps: Sequence[Step], ctx: Context) -> Optional[Culprit]:
    if len(steps) <= 2:
        return None
    first_index = 1 if not is_a(steps[1].node, type) or len(steps) < 4 else 2
    first = steps[first_index]
    container = is_a(first.node, (dict, list, set)) or type_short_name(type(first.node)) in ("deque", "OrderedDict")
    if not container:
        return None
    return (
        "a %s-level container %s (%s) holds it"
        % ("class" if is_a(steps[first_index - 1].node, type) else "module", where(steps, first_index), first.title),
        "remove it in teardown, or use weakref.WeakSet / WeakValueDictionary / WeakKeyDictionary",
    )


def reachable(steps: Sequence[Step], ctx: Context) -> Optional[Culprit]:
    return (
        "the %s is reachable from %s" % (steps[-1].title, steps[0].title),
        "drop that reference (del, .clear(), close()) or hold the object through weakref",
    )


FALLBACK_RULES: Tuple[ChainRule, ...] = (module_or_class_attribute, global_container, reachable)


def culprits(steps: Sequence[Step], ctx: Context, cycle: bool) -> List[Culprit]:
    """Every culprit the tables name for this chain, without duplicates."""
    found: List[Culprit] = []
    if cycle:
        found.append((CYCLE[0] % steps[-1].title, CYCLE[1]))
    for index in range(len(steps)):
        for step_rule in STEP_RULES:
            culprit = step_rule(steps, index, ctx)
            if culprit is not None:
                found.append(culprit)
                break
    for chain_rule in CHAIN_RULES:
        culprit = chain_rule(steps, ctx)
        if culprit is not None:
            found.append(culprit)
    if not found:
        for chain_rule in FALLBACK_RULES:
            culprit = chain_rule(steps, ctx)
            if culprit is not None:
                found.append(culprit)
                break
    unique: List[Culprit] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    return unique
