"""Shared pieces of weakcache.testing: the error, limits, and helpers that never run user code.

PYTEST_DONT_REWRITE

The report describes arbitrary objects: proxies whose ``__class__`` raises,
modules with a lazy ``__getattr__``, reprs that fail.  Every helper here reads
types and namespaces through the descriptors of the built-in types
(``type.__dict__["__qualname__"]``, ``ModuleType.__dict__["__dict__"]``...)
and tests kinds with ``issubclass(type(obj), ...)``, which never calls user
code; the few calls that must run user code (``repr``) are guarded.
"""

from __future__ import annotations

import os
import reprlib
import sys
import types
from typing import Any, Dict, Optional, Tuple, Union

#: Default number of ``gc.collect()`` passes in default mode.
DEFAULT_GC_PASSES = 3
#: Default bound on the length of a referrer chain.
DEFAULT_MAX_DEPTH = 12
#: Default bound on the number of objects the referrer search visits.
DEFAULT_MAX_NODES = 20000
#: At most this many survivors are explained in detail in one report.
MAX_EXPLAINED = 5

PACKAGE = __name__.rpartition(".")[0]  # "weakcache.testing"
_PACKAGE_DIR = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))
CO_OPTIMIZED = 0x0001
ARROW = " \u2192 "
MISSING: Any = object()


class LeakError(AssertionError):
    """Objects that were expected to be freed are still alive.

    The message is a plain string built while the objects were alive; the
    exception keeps no reference to them, so once the exception is all that
    remains (pytest keeps failed frames alive), the objects can be freed.
    """


# --------------------------------------------------------------------------
# Reading types, modules and namespaces without running user code
# --------------------------------------------------------------------------

_type_name_get = type.__dict__["__name__"].__get__
_type_qualname_get = type.__dict__["__qualname__"].__get__
_type_module_get = type.__dict__["__module__"].__get__
_type_dict_get = type.__dict__["__dict__"].__get__
_type_mro_get = type.__dict__["__mro__"].__get__
_MODULE_TYPE: Any = types.ModuleType
_module_dict_get = _MODULE_TYPE.__dict__["__dict__"].__get__
_C_DESCRIPTORS = (types.MemberDescriptorType, types.GetSetDescriptorType)


def is_a(obj: object, kinds: Union[type, Tuple[type, ...]]) -> bool:
    """``isinstance`` by the real type: never reads ``obj.__class__``."""
    return issubclass(type(obj), kinds)


def type_qualname(tp: type) -> str:
    try:
        name = _type_qualname_get(tp)
    except Exception:  # pragma: no cover - not a type
        name = None
    return name if type(name) is str else "?"


def type_short_name(tp: type) -> str:
    name = _type_name_get(tp)
    return name if type(name) is str else "?"


def type_module(tp: type) -> str:
    try:
        module = _type_module_get(tp)
    except Exception:  # a heap type whose __module__ was deleted
        return ""
    return module if type(module) is str else ""


def type_namespace(tp: type) -> Any:
    """The mappingproxy of ``tp`` (not a metaclass's ``__dict__`` override)."""
    return _type_dict_get(tp)


def type_mro(tp: type) -> Tuple[type, ...]:
    mro: Tuple[type, ...] = _type_mro_get(tp)
    return mro


def type_name(obj: object) -> str:
    """Qualified name of the real type of ``obj``."""
    return type_qualname(type(obj))


def module_namespace(module: types.ModuleType) -> Dict[str, Any]:
    namespace: Dict[str, Any] = _module_dict_get(module)
    return namespace


def module_name(module: types.ModuleType) -> str:
    name = module_namespace(module).get("__name__")
    return name if type(name) is str else "?"


def namespace_of(obj: object) -> Optional[Dict[str, Any]]:
    """The real ``__dict__`` of a module or instance (no user code); None for classes."""
    if is_a(obj, type):
        return None  # class namespaces are checked in is_namespace
    if is_a(obj, types.ModuleType):
        return module_namespace(obj)  # type: ignore[arg-type]
    for klass in type_mro(type(obj)):
        descriptor = type_namespace(klass).get("__dict__")
        if descriptor is not None:
            if type(descriptor) is not types.GetSetDescriptorType:
                return None  # a property or other user descriptor named __dict__
            try:
                namespace = descriptor.__get__(obj)
            except Exception:  # pragma: no cover
                return None
            return namespace if type(namespace) is dict else None
    return None


def static_attr(obj: object, name: str) -> Any:
    """``obj.name`` when it is a C-level slot/getset or an instance-dict entry, else MISSING.

    Never calls ``__getattr__``, ``__getattribute__`` or Python descriptors.
    """
    for klass in type_mro(type(obj)):
        descriptor = type_namespace(klass).get(name, MISSING)
        if descriptor is MISSING:
            continue
        if type(descriptor) in _C_DESCRIPTORS:
            try:
                return descriptor.__get__(obj, type(obj))
            except Exception:
                return MISSING
        break
    namespace = namespace_of(obj)
    if namespace is not None:
        return namespace.get(name, MISSING)
    return MISSING


# --------------------------------------------------------------------------
# Short reprs and our own frames
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


def short_repr(obj: object, limit: int = 90) -> str:
    """``repr`` that never raises, never spans lines and stays short."""
    try:
        text = _REPR.repr(obj)
        if type(text) is not str:  # pragma: no cover - reprlib returns str
            raise TypeError("repr returned a non-string")
    except Exception:
        text = "<%s object at %#x (repr failed)>" % (type_name(obj), id(obj))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 4] + " ...>" if text.startswith("<") else text[: limit - 3] + "..."
    return text


def is_our_code(code: types.CodeType) -> bool:
    """True for code of this package (its frames are never a referrer)."""
    filename = code.co_filename
    return os.path.normcase(os.path.dirname(os.path.abspath(filename))) == _PACKAGE_DIR


def caller_location() -> str:
    """``file.py:LINE`` of the first frame outside this package."""
    frame: Optional[types.FrameType] = sys._getframe(1)
    while frame is not None and is_our_code(frame.f_code):
        frame = frame.f_back
    if frame is None:  # pragma: no cover
        return "?"
    location = "%s:%d" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
    del frame
    return location


def not_weakrefable(obj: object) -> TypeError:
    """The TypeError ``track()`` raises for an object it cannot observe."""
    tp = type(obj)
    name = type_name(obj)
    slots = any("__slots__" in type_namespace(klass) for klass in type_mro(tp)[:-1])
    if slots and type_module(tp) != "builtins":
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
        % (short_repr(obj, 60), name, fix)
    )


# --------------------------------------------------------------------------
# Classification of objects met on a referrer chain
# --------------------------------------------------------------------------

GENERATOR_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
CONTAINERS = (dict, list, tuple, set, frozenset)


def is_functools_lru(obj: object) -> bool:
    tp = type(obj)
    if type_module(tp) == "functools" and type_short_name(tp) == "_lru_cache_wrapper":
        return True
    # Pure-Python fallback of functools (no _functools): a function with
    # cache_info/cache_clear attributes.
    if tp is not types.FunctionType:
        return False
    namespace = namespace_of(obj) or {}
    return (
        static_attr(obj, "__module__") == "functools"
        and "cache_info" in namespace
        and "cache_clear" in namespace
    )


def is_weakcache_object(obj: object) -> bool:
    module = type_module(type(obj))
    ours = module == PACKAGE or module.startswith(PACKAGE + ".")
    return (module == "weakcache" or module.startswith("weakcache.")) and not ours


def lru_kind(obj: object) -> str:
    try:
        params = obj.cache_parameters()  # type: ignore[attr-defined]
        if params.get("maxsize", 0) is None:
            return "cache"
    except Exception:
        pass
    return "lru_cache"


def qualname(obj: object) -> str:
    """``__qualname__`` (or ``__name__``) of a function-like object, never raising."""
    for attr in ("__qualname__", "__name__"):
        name = static_attr(obj, attr)
        if type(name) is str:
            return name
    return type_name(obj)


def looks_like_method(func: object) -> bool:
    parts = qualname(func).split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return True
    wrapped = static_attr(func, "__wrapped__")
    code = static_attr(func if wrapped is MISSING else wrapped, "__code__")
    if type(code) is types.CodeType and code.co_argcount:
        return code.co_varnames[0] in ("self", "cls")
    return False


def exception_attr(exc: BaseException, name: str) -> Any:
    """``__traceback__``, ``__context__``, ``__cause__`` or ``args`` of a real exception."""
    return BaseException.__dict__[name].__get__(exc)


def is_frame_like(obj: object) -> bool:
    if is_a(obj, (types.FrameType, types.TracebackType)):
        return True
    return is_a(obj, BaseException) and exception_attr(obj, "__traceback__") is not None  # type: ignore[arg-type]


def generator_frame(obj: object) -> Optional[types.FrameType]:
    if not is_a(obj, GENERATOR_TYPES):
        return None
    for attr in ("gi_frame", "cr_frame", "ag_frame"):
        frame = static_attr(obj, attr)
        if type(frame) is types.FrameType:
            return frame
    return None
