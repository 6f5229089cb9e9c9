"""Bytes per instance of FastAPI's ``Dependant`` shape: a dataclass with six
list fields and nine cached properties, every property touched, with
functools.cached_property against each weakcache form.

    python bench/python/bench_dataclass.py [--n 20000]

The shape (FastAPI 0.139's ``fastapi.dependencies.models.Dependant``, cut to
what matters here): six ``list`` fields with ``default_factory=list`` and
nine cached properties, of which three return a new list, one a new tuple
(a cache key), and five a shared object (bools / None). Instances are all
created first and their properties touched afterwards (FastAPI builds them
at route registration and reads the properties later), then again with each
instance touched right after its creation. tracemalloc counts every byte the
instances, their lists and their cached values hold (the list that keeps the
instances is allocated before measuring).

Variants:

  functools          @dataclasses.dataclass + functools.cached_property (the reference)
  hand-slotted       a hand-written class: __slots__ = fields + weakcache.cached_slots(...)
  wc.dataclass       @weakcache.dataclass(slots=True) + weakcache.cached_property
  wc.attrs_define    @weakcache.attrs_define + weakcache.cached_property
  attrs+functools    @attrs.define + functools.cached_property (attrs' own slots)
  wc-dict            @dataclasses.dataclass + weakcache.cached_property (values in __dict__)
  wc-weak            @dataclasses.dataclass(slots=True, weakref_slot=True) (3.11+) +
                     weakcache.cached_property: the weak-keyed store

Goal (issue 10): every slotted weakcache form <= 0.87x functools (the
hand-written slots figure).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import platform
import sys
import warnings
from typing import Any, Callable

import attrs
from bench_cached_property import traced_bytes_per_instance

import weakcache

FIELDS = ("path_params", "query_params", "header_params", "cookie_params", "body_params",
          "dependencies")


def _sentinel() -> None:
    return None


# The nine properties: name -> function of the instance.
PROPERTIES: dict[str, Callable[[Any], Any]] = {
    "oauth_scopes": lambda self: list(self.dependencies),
    "_uses_scopes": lambda self: bool(self.path_params),
    "_is_security_scheme": lambda self: False,
    "_security_scheme": lambda self: None,
    "_security_dependencies": lambda self: [d for d in self.dependencies if d],
    "is_gen_callable": lambda self: False,
    "is_async_gen_callable": lambda self: False,
    "_flat_params": lambda self: self.path_params + self.query_params,
    "cache_key": lambda self: (_sentinel, tuple(self.dependencies), "function"),
}


def _body(deco: Callable[[Callable[[Any], Any]], Any],
          field: Callable[[], Any] = lambda: dataclasses.field(default_factory=list)) -> dict[str, Any]:
    ns: dict[str, Any] = {"__annotations__": {f: list for f in FIELDS}}
    for f in FIELDS:
        ns[f] = field()
    for name, func in PROPERTIES.items():
        ns[name] = deco(func)
    return ns


def _attrs_body(deco: Callable[[Callable[[Any], Any]], Any]) -> dict[str, Any]:
    return _body(deco, lambda: attrs.field(factory=list))


def make_functools() -> type:
    return dataclasses.dataclass(type("Dependant", (), _body(functools.cached_property)))


def make_hand_slotted() -> type:
    def __init__(self: Any) -> None:
        for f in FIELDS:
            setattr(self, f, [])

    ns: dict[str, Any] = {"__slots__": FIELDS + weakcache.cached_slots(*PROPERTIES),
                          "__init__": __init__}
    for name, func in PROPERTIES.items():
        ns[name] = weakcache.cached_property(func)
    return type("Dependant", (), ns)


def make_wc_dataclass() -> type:
    return weakcache.dataclass(slots=True)(type("Dependant", (), _body(weakcache.cached_property)))


def make_wc_attrs() -> type:
    return weakcache.attrs_define(type("Dependant", (), _attrs_body(weakcache.cached_property)))


def make_attrs_functools() -> type:
    return attrs.define(type("Dependant", (), _attrs_body(functools.cached_property)))


def make_wc_dict() -> type:
    return dataclasses.dataclass(type("Dependant", (), _body(weakcache.cached_property)))


def make_wc_weak() -> type:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", weakcache.WeakStoreWarning)  # the point of this variant
        return dataclasses.dataclass(slots=True, weakref_slot=True)(  # type: ignore[call-overload]
            type("Dependant", (), _body(weakcache.cached_property)))


VARIANTS: dict[str, Callable[[], type]] = {
    "functools": make_functools,
    "hand-slotted": make_hand_slotted,
    "wc.dataclass": make_wc_dataclass,
    "wc.attrs_define": make_wc_attrs,
    "attrs+functools": make_attrs_functools,
    "wc-dict": make_wc_dict,
}
if sys.version_info >= (3, 11):
    VARIANTS["wc-weak"] = make_wc_weak

EXPECTED_STORAGE = {"hand-slotted": "slot", "wc.dataclass": "slot", "wc.attrs_define": "slot",
                    "wc-dict": "dict", "wc-weak": "weak"}


def bytes_per_instance(cls: type, n: int, lazy: bool) -> float:
    per_instance, last = traced_bytes_per_instance(cls, tuple(PROPERTIES), n, lazy)
    assert getattr(last, "cache_key")[1:] == ((), "function")
    return per_instance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="instances per variant")
    args = ap.parse_args()
    print(f"Python {platform.python_version()}, weakcache {weakcache.__version__}, "
          f"attrs {attrs.__version__}")
    print(f"bytes per instance, {args.n} instances, 6 list fields + 9 cached properties, all touched")
    print(f"  {'':16s} {'created first, touched later':>30s} {'touched at creation':>24s}")
    results: dict[str, tuple[float, float]] = {}
    for name, make in VARIANTS.items():
        cls = make()
        if name in EXPECTED_STORAGE:
            storage = cls.__dict__["oauth_scopes"].storage
            assert storage == EXPECTED_STORAGE[name], (name, storage)
        results[name] = (bytes_per_instance(cls, args.n, True), bytes_per_instance(cls, args.n, False))
    ref = results["functools"]
    for name, (lazy, eager) in results.items():
        print(f"  {name:16s} {lazy:9.1f} B {lazy / ref[0]:5.2f}x {'':12s}"
              f"{eager:9.1f} B {eager / ref[1]:5.2f}x")


if __name__ == "__main__":
    main()
