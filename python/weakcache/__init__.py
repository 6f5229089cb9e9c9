"""weakcache: memoization that never keeps ``self`` alive.

``weakcache.lru_cache``, ``weakcache.cache`` and ``weakcache.cached_property``
are drop-ins for their ``functools`` namesakes. On a method, the instance is
held *weakly*: its cache entries are evicted the moment the instance dies, so
a cached method no longer leaks every object it was called on. One LRU bound
(``maxsize``) still caps memory across all instances. The cache itself is a C
library (libweakcache) wrapped by the extension ``weakcache._weakcache``.

What happens to memory
----------------------
* On functions, entries hold their arguments and result strongly until they
  are evicted (LRU), cleared, or the function object dies: exactly as
  functools does.
* On methods (a function decorated in a class body), entries hold the other
  arguments and the result strongly, but the instance only weakly. When the
  last outside reference to the instance goes, its entries go with it, at
  once, with no ``gc.collect()`` needed.
* An instance that cannot be weakly referenced (a namedtuple, a ``__slots__``
  class without ``'__weakref__'``) falls back to functools' behaviour: it is
  part of the key and held strongly until evicted. With ``maxsize=None`` that
  is a leak, so :class:`NotWeakrefableWarning` is issued once per method.
* A result that references its own instance (``return self``, a bound
  method, a child with a parent pointer) keeps the instance alive until the
  entry is evicted: :class:`OwnerCycleWarning` is issued once per method.

PYTEST_DONT_REWRITE: the pytest plugin's entry point makes pytest mark this
package for assertion rewriting; it holds no tests, and may be imported
before pytest starts (then pytest would warn that it cannot be rewritten).
"""
from __future__ import annotations

import functools
import time
from typing import Any, Callable

from . import _async
from ._weakcache import (
    CacheInfo,
    CacheStats,
    NotWeakrefableWarning,
    OwnerCycleWarning,
    WeakcacheWarning,
    __version__,
    _build_info,
    _check_options,
    _lru_cache_wrapper,
    _owner_count,
    cached_property,
    cached_slots,
)

__all__ = [
    "CacheInfo",
    "CacheStats",
    "NotWeakrefableWarning",
    "OwnerCycleWarning",
    "WeakcacheWarning",
    "cache",
    "lru_cache",
    "build_info",
    "cached_property",
    "cached_slots",
]


def _wrap(user_function: Callable[..., Any], maxsize: int | None, typed: bool, options: dict[str, Any]) -> Any:
    wrapper = _lru_cache_wrapper(user_function, maxsize, typed, CacheInfo, **options)
    params: dict[str, Any] = {"maxsize": maxsize, "typed": typed}
    params.update(options)
    wrapper.cache_parameters = lambda: dict(params)
    return _async.setup(functools.update_wrapper(wrapper, user_function), user_function)


def _options(lock: bool, ttl: Any, timer: Any, maxweight: Any, weigher: Any) -> dict[str, Any]:
    """The keyword options that differ from the defaults, validated now (a
    bad one raises when the decorator is made, naming the parameter)."""
    _check_options(lock, ttl, timer, maxweight, weigher)
    options: dict[str, Any] = {}
    if lock:
        options["lock"] = True
    if ttl is not None:
        options["ttl"] = ttl
        options["timer"] = timer
    if weigher is not None:
        options["weigher"] = weigher
    if maxweight is not None:
        options["maxweight"] = maxweight
    return options


def lru_cache(
    maxsize: Any = 128,
    typed: bool = False,
    *,
    lock: bool = False,
    ttl: float | None = None,
    timer: Callable[[], float] = time.monotonic,
    maxweight: int | None = None,
    weigher: Callable[[Any], int] | None = None,
) -> Any:
    """Memoize a function or method in a bounded LRU cache.

    Same signature and behaviour as :func:`functools.lru_cache`, except on
    methods: the instance is held weakly and its entries die with it.
    ``maxsize`` bounds the number of entries across all instances
    (``None``: unbounded, ``0``: no caching). ``typed=True`` caches
    arguments of different types separately. ``obj.method.cache_clear()``
    drops that instance's entries; ``Class.method.cache_clear()`` drops all.

    Keyword options (docs/options.md):

    * ``lock=True``: concurrent calls of one key from several threads run
      the function once; the others wait (without the GIL) for its result
      or its exception.
    * ``ttl=seconds``: an entry older than ``ttl`` is never served; ``timer``
      (default :func:`time.monotonic`) is the clock.
    * ``maxweight=n, weigher=f``: ``f(value)`` (an int >= 0) is each entry's
      weight and the total stays <= ``n``; a value heavier than ``n`` is
      returned but not stored. ``weigher`` alone records weights (see
      ``cache_stats()``) without bounding them.
    """
    options = _options(lock, ttl, timer, maxweight, weigher)
    if isinstance(maxsize, int):
        if maxsize < 0:
            maxsize = 0
    elif callable(maxsize) and isinstance(typed, bool):
        user_function, maxsize = maxsize, 128
        return _wrap(user_function, maxsize, typed, options)
    elif maxsize is not None:
        raise TypeError("Expected first argument to be an integer, a callable, or None")

    def decorating_function(user_function: Callable[..., Any]) -> Any:
        return _wrap(user_function, maxsize, typed, options)

    return decorating_function


def cache(
    user_function: Callable[..., Any] | None = None,
    /,
    *,
    lock: bool = False,
    ttl: float | None = None,
    timer: Callable[[], float] = time.monotonic,
    maxweight: int | None = None,
    weigher: Callable[[Any], int] | None = None,
) -> Any:
    """``lru_cache(maxsize=None)``: unbounded, but on methods each instance's
    entries still die with the instance. ``@cache`` or ``@cache(ttl=...,
    ...)`` with the keyword options of :func:`lru_cache`."""
    decorator = lru_cache(
        maxsize=None, lock=lock, ttl=ttl, timer=timer, maxweight=maxweight, weigher=weigher
    )
    if user_function is None:
        return decorator
    return decorator(user_function)


def build_info() -> dict[str, str]:
    """Versions of the package and the C core, and the build flags."""
    return dict(_build_info())


# ----------------------------------------------------------------------------
# cached_property integrations: dataclasses, attrs, pydantic (branch "prop";
# this section only, the lru parts above are edited elsewhere)
# ----------------------------------------------------------------------------
from ._attrs import attrs_define  # noqa: E402
from ._dataclass import dataclass  # noqa: E402
from ._weakcache import WeakStoreWarning  # noqa: E402

#: For pydantic v2 models: ``model_config = ConfigDict(ignored_types=
#: weakcache.pydantic_ignored_types)``. pydantic accepts a non-annotated class
#: attribute only if it is a function, property, classmethod, staticmethod,
#: one of its own descriptors, an instance of ``ignored_types``, or an object
#: whose class's ``__module__`` is ``"functools"``; weakcache's decorators are
#: none of these (see docs/cached_property.md, "pydantic").
pydantic_ignored_types: tuple[type, ...] = (cached_property, _lru_cache_wrapper)

__all__ += ["WeakStoreWarning", "attrs_define", "dataclass", "pydantic_ignored_types"]
# ---------------------------------------------------------------- end of "prop"
