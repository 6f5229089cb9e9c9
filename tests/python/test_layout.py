"""The extension's structure: one job per file, one direction of dependency,
public C API only, and types that Python code cannot tamper with."""
from __future__ import annotations

import re
import weakref
from pathlib import Path

import pytest

import weakcache
from weakcache import _weakcache

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "python" / "src"
Py_TPFLAGS_IMMUTABLETYPE = 1 << 8


def includes(path: Path) -> set[str]:
    return set(re.findall(r'^#include "([^"]+)"', path.read_text(), re.M))


def test_no_file_under_python_is_over_900_lines() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "python").rglob("*")
        if p.is_file() and p.suffix in {".c", ".h", ".py", ".pyi"}
        and (n := len(p.read_text().splitlines())) > 900
    }
    assert too_long == {}


def test_dependencies_point_one_way() -> None:
    # owners is the bottom layer: Python and the core's public header only.
    assert includes(SRC / "owners.h") <= {"compat.h", "weakcache.h"}
    assert includes(SRC / "owners.c") <= {"owners.h"}
    # the features use owners.h and never each other
    for f in ("lru.h", "lru.c", "bound.c"):
        assert not includes(SRC / f) & {"property.h"}, f
    for f in ("property.h", "property.c", "property_class.c"):
        assert not includes(SRC / f) & {"lru.h"}, f
    assert "owners.h" in includes(SRC / "lru.h") and "owners.h" in includes(SRC / "property.h")
    # nothing includes module.c's state, and nothing reaches into src/
    for f in SRC.iterdir():
        assert not includes(f) & {"module.h", "internal.h"}, f.name


def test_public_c_api_only_and_version_ifs_in_compat_h() -> None:
    for f in SRC.iterdir():
        text = f.read_text()
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        assert not re.search(r"\b_Py[A-Za-z]", code), f"{f.name} uses private _Py* API"
        if f.name != "compat.h":
            assert "PY_VERSION_HEX" not in code, f"{f.name} has a version #if"


def internal_types() -> list[type]:
    class Slotted:
        __slots__ = ("__weakref__",)

        @weakcache.cached_property
        def p(self) -> int:
            return 1

    class Owner:
        @weakcache.lru_cache
        def m(self) -> int:
            return 1

    o = Owner()
    o.m()
    ownerref = next(r for r in weakref.getweakrefs(o) if type(r).__name__ == "_OwnerRef")
    return [
        _weakcache._lru_cache_wrapper, _weakcache._bound_method, type(ownerref),
        weakcache.cached_property, type(Slotted.__dict__["p"]), type(weakcache.cached_property._wc_store),
    ]


@pytest.mark.parametrize("tp", internal_types(), ids=lambda t: t.__name__)
def test_every_type_is_immutable(tp: type) -> None:
    assert tp.__flags__ & Py_TPFLAGS_IMMUTABLETYPE
    with pytest.raises(TypeError):
        tp.some_attribute = 1  # type: ignore[attr-defined]


def test_internal_types_cannot_be_instantiated_from_python() -> None:
    _, _, ownerref_type, _, twin_type, store_type = internal_types()

    class Target:
        pass

    for tp, args in ((ownerref_type, (Target(),)), (twin_type, (lambda self: 1,)), (store_type, ())):
        with pytest.raises(TypeError):
            tp(*args)
    with pytest.raises(TypeError):
        weakref.ref.__new__(ownerref_type, Target())


def test_the_store_cannot_be_replaced_from_python() -> None:
    # It used to be a mutable type attribute that the C code read back.
    with pytest.raises(TypeError):
        weakcache.cached_property._wc_store = object()  # type: ignore[attr-defined]

    class Slotted:
        __slots__ = ("__weakref__",)

        @weakcache.cached_property
        def p(self) -> list[int]:
            return [1]

    assert Slotted().p == [1]


def test_a_replaced_twin_of_a_python_subclass_is_never_trusted() -> None:
    class MyProperty(weakcache.cached_property):
        pass

    MyProperty.__wc_data_twin__ = dict  # type: ignore[attr-defined]
    # 3.10/3.11 wrap errors of __set_name__ in a RuntimeError
    with pytest.raises((TypeError, RuntimeError)) as info:
        class Slotted:
            __slots__ = ("__weakref__",)

            @MyProperty
            def p(self) -> int:
                return 1
    error = info.value if isinstance(info.value, TypeError) else info.value.__cause__
    assert isinstance(error, TypeError)
    assert "super().__init_subclass__()" in str(error)
