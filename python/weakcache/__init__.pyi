# Type stubs for weakcache. The decorated callable keeps its parameters
# (ParamSpec); on an instance, the first parameter (self) is bound away.
# On an `async def` returning T, _R is Coroutine[Any, Any, T]: a call returns
# a coroutine on a miss and a weakcache._ready on a hit, which is a
# collections.abc.Coroutine too, so `await obj.m(x)` is a T and
# asyncio.create_task(obj.m(x)) a Task[T] either way.
from typing import Any, Callable, Concatenate, Generic, NamedTuple, ParamSpec, TypedDict, TypeVar, overload

__version__: str

_P = ParamSpec("_P")
_P2 = ParamSpec("_P2")
_R = TypeVar("_R")
_S = TypeVar("_S")

class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int | None
    currsize: int

class _CacheParametersBase(TypedDict):
    maxsize: int | None
    typed: bool

class _CacheParameters(_CacheParametersBase, total=False):
    # Present only when the option was given.
    lock: bool
    ttl: float
    timer: Callable[[], float]
    maxweight: int
    weigher: Callable[[Any], int]

class CacheStats(NamedTuple):
    """cache_stats(): hits and misses as in cache_info(); currsize and the
    total weight of the entries (of ``obj`` only, on ``obj.method``);
    evictions by cause since the cache was made ("capacity", "weight",
    "owner", "removed", "replaced", "cleared", "expired")."""
    hits: int
    misses: int
    currsize: int
    weight: int
    evictions: dict[str, int]

class WeakcacheWarning(UserWarning): ...
class NotWeakrefableWarning(WeakcacheWarning): ...
class OwnerCycleWarning(WeakcacheWarning): ...

class _bound_method(Generic[_P, _R]):
    """``obj.method`` for a cached method: call it like the method; its
    cache_clear() and cache_info() concern ``obj`` only."""
    __self__: object
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_stats(self) -> CacheStats: ...
    def cache_clear(self) -> None: ...
    def cache_parameters(self) -> _CacheParameters: ...

class _lru_cache_wrapper(Generic[_P, _R]):
    __wrapped__: Callable[_P, _R]
    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...
    def cache_info(self) -> CacheInfo: ...
    def cache_stats(self) -> CacheStats: ...
    def cache_clear(self) -> None: ...
    def cache_parameters(self) -> _CacheParameters: ...
    def cache_expire(self) -> int: ...
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> _lru_cache_wrapper[_P, _R]: ...
    @overload
    def __get__(
        self: _lru_cache_wrapper[Concatenate[_S, _P2], _R], instance: _S, owner: type[Any] | None = None
    ) -> _bound_method[_P2, _R]: ...

@overload
def lru_cache(
    maxsize: int | None = 128,
    typed: bool = False,
    *,
    lock: bool = False,
    ttl: float | None = None,
    timer: Callable[[], float] | None = ...,
    maxweight: int | None = None,
    weigher: Callable[[Any], int] | None = None,
) -> Callable[[Callable[_P, _R]], _lru_cache_wrapper[_P, _R]]: ...
@overload
def lru_cache(
    maxsize: Callable[_P, _R],
    typed: bool = False,
    *,
    lock: bool = False,
    ttl: float | None = None,
    timer: Callable[[], float] | None = ...,
    maxweight: int | None = None,
    weigher: Callable[[Any], int] | None = None,
) -> _lru_cache_wrapper[_P, _R]: ...
@overload
def cache(user_function: Callable[_P, _R], /) -> _lru_cache_wrapper[_P, _R]: ...
@overload
def cache(
    *,
    lock: bool = False,
    ttl: float | None = None,
    timer: Callable[[], float] | None = ...,
    maxweight: int | None = None,
    weigher: Callable[[Any], int] | None = None,
) -> Callable[[Callable[_P, _R]], _lru_cache_wrapper[_P, _R]]: ...
def build_info() -> dict[str, str]: ...

# ---------------------------------------------------------------- cached_property
# Generic like functools.cached_property: on an instance, `obj.attr` has the
# function's return type; on the class, the descriptor itself.
from types import GenericAlias
from typing import Literal

_T = TypeVar("_T")
_T2 = TypeVar("_T2")

class cached_property(Generic[_T]):
    """functools.cached_property that also works on __slots__ classes: the
    value lives in a reserved slot (``weakcache.cached_slots``), the instance
    ``__dict__``, or a weak-keyed store freed with the instance."""
    func: Callable[[Any], _T]
    __wrapped__: Callable[[Any], _T]
    attrname: str | None
    lock: Any
    storage: Literal["dict", "slot", "weak"] | None
    __isabstractmethod__: bool
    @overload
    def __new__(cls, func: Callable[[Any], _T], *, lock: bool = False) -> cached_property[_T]: ...
    # @cached_property(lock=True): understood by checkers that honour a
    # __new__ returning another type (mypy >= 2, pyright); with older mypy,
    # write name = cached_property(func, lock=True).
    @overload
    def __new__(cls, *, lock: bool) -> Callable[[Callable[[Any], _T2]], cached_property[_T2]]: ...  # type: ignore[misc]
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> cached_property[_T]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> _T: ...
    def __set__(self, instance: object, value: _T) -> None: ...
    def __delete__(self, instance: object) -> None: ...
    def __set_name__(self, owner: type[Any], name: str) -> None: ...
    def __class_getitem__(cls, item: Any, /) -> GenericAlias: ...

def cached_slots(*names: str) -> tuple[str, ...]:
    """The __slots__ entries reserving a slot for each named cached_property:
    ``__slots__ = ("x", "y") + weakcache.cached_slots("norm")``."""
    ...

# ------------------------------------------------------------------------------
# cached_property integrations: dataclasses, attrs, pydantic (branch "prop";
# this section only)
# ------------------------------------------------------------------------------
import sys
from dataclasses import Field as _DataclassField, field as _dataclass_field
from typing_extensions import dataclass_transform as _dataclass_transform

from attr import attrib as _attrs_attrib, field as _attrs_field

class WeakStoreWarning(WeakcacheWarning):
    """A cached_property fell to the weak-keyed store (hundreds of bytes per
    instance) in a dataclass or attrs class where weakcache.dataclass or
    weakcache.attrs_define would have reserved a slot (8 bytes per value)."""

#: For pydantic v2: ``model_config = ConfigDict(ignored_types=weakcache.pydantic_ignored_types)``.
pydantic_ignored_types: tuple[type, ...]

# dataclasses.dataclass's parameters on the running Python (weakref_slot: 3.11+).
@overload
@_dataclass_transform(field_specifiers=(_dataclass_field, _DataclassField))
def dataclass(cls: type[_T], /) -> type[_T]: ...

if sys.version_info >= (3, 11):
    @overload
    def dataclass(
        cls: None = None, /, *, init: bool = True, repr: bool = True, eq: bool = True,
        order: bool = False, unsafe_hash: bool = False, frozen: bool = False,
        match_args: bool = True, kw_only: bool = False, slots: bool = False,
        weakref_slot: bool = False,
    ) -> Callable[[type[_T]], type[_T]]: ...

else:
    @overload
    def dataclass(
        cls: None = None, /, *, init: bool = True, repr: bool = True, eq: bool = True,
        order: bool = False, unsafe_hash: bool = False, frozen: bool = False,
        match_args: bool = True, kw_only: bool = False, slots: bool = False,
    ) -> Callable[[type[_T]], type[_T]]: ...

# attrs.define's parameters, passed through (see attrs' own stubs).
@overload
@_dataclass_transform(field_specifiers=(_attrs_attrib, _attrs_field))
def attrs_define(maybe_cls: type[_T], /) -> type[_T]: ...
@overload
def attrs_define(
    maybe_cls: None = None,
    /,
    *,
    these: dict[str, Any] | None = None,
    repr: bool | None = None,
    unsafe_hash: bool | None = None,
    hash: bool | None = None,
    init: bool | None = None,
    slots: bool = True,
    frozen: bool = False,
    weakref_slot: bool = True,
    str: bool = False,
    auto_attribs: bool | None = None,
    kw_only: bool = False,
    cache_hash: bool = False,
    auto_exc: bool = True,
    eq: bool | None = None,
    order: bool = False,
    auto_detect: bool = True,
    getstate_setstate: bool | None = None,
    on_setattr: Any = None,
    field_transformer: Any = None,
    match_args: bool = True,
) -> Callable[[type[_T]], type[_T]]: ...
