"""A typed usage sample of weakcache: must pass ``mypy --strict`` and run.

Checked by test_lru_typing.py (which also runs main()).
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Coroutine

from weakcache import CacheInfo, cache, lru_cache


class Vector:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y

    @lru_cache(maxsize=256)
    def scaled(self, factor: float, *, round_to: int | None = None) -> tuple[float, float]:
        x, y = self.x * factor, self.y * factor
        if round_to is not None:
            return round(x, round_to), round(y, round_to)
        return x, y

    @lru_cache
    def norm(self) -> float:
        return float((self.x**2 + self.y**2) ** 0.5)

    @cache
    def label(self, prefix: str, /, sep: str = ":") -> str:
        return f"{prefix}{sep}{self.x},{self.y}"

    @lru_cache(maxsize=None, typed=True)
    def dot(self, other: Vector) -> float:
        return self.x * other.x + self.y * other.y


@lru_cache
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@lru_cache(maxsize=32, typed=True)
def describe(value: int | str, *, verbose: bool = False) -> str:
    return f"{type(value).__name__}={value}" if verbose else str(value)


@cache
def squares(limit: int) -> list[int]:
    return [i * i for i in range(limit)]


@lru_cache(maxsize=None)
def greet(name: str) -> str:
    return "hello " + name


class Client:
    @lru_cache(maxsize=64)
    async def fetch(self, path: str, *, retries: int = 0) -> bytes:
        await asyncio.sleep(0)
        return path.encode() * (retries + 1)

    @cache
    async def status(self) -> int:
        return 200


@lru_cache
async def resolve(host: str) -> list[str]:
    return [host, "127.0.0.1"]


async def use_async() -> None:
    c = Client()
    body: bytes = await c.fetch("/a", retries=1)
    again: Coroutine[Any, Any, bytes] = c.fetch("/a", retries=1)
    task: asyncio.Task[int] = asyncio.create_task(c.status())
    pending: Awaitable[list[str]] = resolve("example.org")
    fetch: Callable[[str], Awaitable[bytes]] = c.fetch
    assert body == b"/a/a" and await again == body and await task == 200
    assert await pending == ["example.org", "127.0.0.1"] and await fetch("/b") == b"/b"
    assert c.fetch.cache_info().currsize == 2 and Client.status.cache_info().hits == 0
    c.fetch.cache_clear()
    resolve.cache_clear()


def main() -> None:
    asyncio.run(use_async())
    v = Vector(3.0, 4.0)
    w = Vector(1.0, 0.0)

    pair: tuple[float, float] = v.scaled(2.0)
    rounded: tuple[float, float] = v.scaled(1.0 / 3.0, round_to=2)
    length: float = v.norm()
    text: str = v.label("v")
    text2: str = v.label("v", sep="=")
    d: float = v.dot(w)
    through_class: float = Vector.norm(v)
    assert pair == (6.0, 8.0) and rounded == (1.0, 1.33)
    assert length == 5.0 and d == 3.0 and through_class == 5.0
    assert text == "v:3.0,4.0" and text2 == "v=3.0,4.0"

    # Per-instance and class-wide cache control.
    v.scaled.cache_clear()
    mine: CacheInfo = v.norm.cache_info()
    everyone: CacheInfo = Vector.norm.cache_info()
    hits: int = everyone.hits
    size: int | None = Vector.scaled.cache_info().maxsize
    assert mine.currsize == 1 and hits == 1 and size == 256
    Vector.label.cache_clear()
    params = Vector.dot.cache_parameters()
    typed: bool = params["typed"]
    assert typed

    # A bound cached method is an ordinary callable.
    method: Callable[[], float] = w.norm
    assert method() == 1.0

    # Functions.
    n: int = fib(30)
    s: str = describe(3, verbose=True)
    sq: list[int] = squares(4)
    g: str = greet("you")
    info: CacheInfo = fib.cache_info()
    fib.cache_clear()
    original: Callable[[int], int] = fib.__wrapped__
    assert n == 832040 and s == "int=3" and sq == [0, 1, 4, 9] and g == "hello you"
    assert info.misses == 31 and original(10) == 55
    assert describe.cache_parameters() == {"maxsize": 32, "typed": True}
    assert greet.cache_info().maxsize is None


if __name__ == "__main__":
    main()
