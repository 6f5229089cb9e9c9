"""lru_cache / cache on ``async def``: detection and the miss path.

A hit never comes here: the C wrapper returns an awaitable of the stored
result (see python/src/async.c and HIT_IS_COROUTINE below). A call that
finds nothing stored returns the coroutine ``miss(wrapper, owner, key, hash,
*args, **kwargs)`` made by :func:`_make_miss` (key and hash as the call
computed them, python/src/key.c). Awaited, it

1. looks in the cache again (a call made before an earlier computation of
   the same key finished is served its result),
2. joins the computation of (owner, key) in flight on the running event
   loop, or starts one in a Task of its own,
3. waits for it on a Future of its own, so that a cancelled waiter leaves
   the computation to the others; when the last waiter is cancelled the
   computation is cancelled and nothing is stored.

The computation stores its result with ``wrapper._async_store`` as soon as
it returns and leaves the flight table at once, so a failure is never handed
to a later caller and a later call after a failure runs again. Flights are
per event loop: a call on another loop starts its own computation, and a
loop that is closed with a computation in flight is forgotten the next time
a loop starts one. The flight table holds the owner weakly; the computation's
coroutine holds it as any coroutine holds its arguments.
"""
from __future__ import annotations

import functools
import inspect
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:   # asyncio itself is imported by the first async wrapper only
    from asyncio import AbstractEventLoop, Future, Task

_MISSING = object()


def _target_function(func: Any) -> Any:
    """The function object behind methods and functools.partial, as
    inspect.iscoroutinefunction looks through them."""
    while True:
        if inspect.ismethod(func):
            func = func.__func__
        elif isinstance(func, functools.partial):
            func = func.func
        else:
            return func


if hasattr(inspect, "markcoroutinefunction"):  # 3.12+

    def _mark(wrapper: Any, func: Any) -> None:
        """Make inspect.iscoroutinefunction() true for the wrapper and, through
        attribute forwarding, for ``obj.method``."""
        inspect.markcoroutinefunction(wrapper)

else:  # 3.10, 3.11: inspect looks at __code__.co_flags of a function-like object

    def _mark(wrapper: Any, func: Any) -> None:
        """The wrapper becomes function-like for inspect (as Cython's functions
        are): the code object, defaults and keyword defaults of the function
        it calls. ``obj.method`` forwards them."""
        target = _target_function(func)
        wrapper.__code__ = target.__code__
        wrapper.__defaults__ = getattr(target, "__defaults__", None)
        wrapper.__kwdefaults__ = getattr(target, "__kwdefaults__", None)


#: What a hit returns. 3.10/3.11 await other awaitables through am_send, so
#: the C _ready object returns its value without raising anything. 3.12+ step
#: everything but coroutines and generators through tp_iternext, where the
#: value can only come back in a StopIteration (an exception object, its args
#: tuple, and several thread-state look-ups per hit): there a coroutine that
#: returns the value at once is about twice as fast (docs/benchmarks.md).
#: Read at decoration time.
HIT_IS_COROUTINE = sys.version_info >= (3, 12)


def _make_hit(wrapper: Any) -> Callable[[Any], Any]:
    async def hit(value: Any) -> Any:
        return value

    _name_like(hit, wrapper)
    return hit


def _name_like(coroutine_function: Any, wrapper: Any) -> None:
    """Its coroutines are named after the cached function (reprs, "never
    awaited" warnings)."""
    for attr in ("__module__", "__name__", "__qualname__"):
        try:
            setattr(coroutine_function, attr, getattr(wrapper, attr))
        except (AttributeError, TypeError):
            pass


def setup(wrapper: Any, func: Callable[..., Any]) -> Any:
    """Called by lru_cache on every new wrapper: refuse an async generator
    function, switch the wrapper to awaited results for a coroutine function
    (including one marked with inspect.markcoroutinefunction), leave any other
    function alone. Returns the wrapper."""
    if inspect.isasyncgenfunction(func):
        name = getattr(func, "__qualname__", None) or repr(func)
        raise TypeError(
            f"weakcache.lru_cache cannot cache the async generator function {name}: "
            "each call returns an async iterator that can be consumed only once, so "
            "there is no result to cache. Cache an async def that collects the items "
            "(return [x async for x in ...]) instead."
        )
    if not inspect.iscoroutinefunction(func):
        return wrapper
    if wrapper.cache_parameters().get("lock"):
        raise TypeError(
            "lock=True is for threads; an async cached function already runs one "
            "computation per key and event loop, and a thread-blocking lock would "
            "stall the loop. Drop lock=True."
        )
    wrapper._async_enable(_make_miss(func, wrapper), _make_hit(wrapper) if HIT_IS_COROUTINE else None)
    _mark(wrapper, func)
    return wrapper


class _Flight:
    """One computation in flight: its Task and the Futures of its waiters."""

    __slots__ = ("owner_ref", "task", "runner", "waiters", "abandoned")

    def __init__(self, owner_ref: weakref.ref[Any] | None) -> None:
        self.owner_ref = owner_ref
        self.task: Task[Any] | None = None
        self.runner: Task[Any] | None = None   # set by the Task itself (eager tasks too)
        self.waiters: set[Future[Any]] | None = set()
        self.abandoned = False

    def is_for(self, owner: Any) -> bool:
        # The table is keyed by id(owner): never join a flight of a dead owner
        # whose address was reused.
        return self.owner_ref is None or self.owner_ref() is owner

    def settle(self, task: Task[Any]) -> None:
        """Done callback of the Task: hand its outcome to every waiter."""
        waiters, self.waiters = self.waiters or (), None
        if task.cancelled():
            for waiter in waiters:
                waiter.cancel()
            return
        exc = task.exception()
        for waiter in waiters:
            if waiter.done():
                continue
            if exc is not None:
                waiter.set_exception(exc)
            else:
                waiter.set_result(task.result())


def _drop_closed_loops(by_loop: dict[AbstractEventLoop, dict[Any, _Flight]]) -> None:
    """Forget the flights of loops that were closed while they ran (their
    Tasks can never finish); the list() is taken in one step, so threads
    running other loops may add theirs meanwhile."""
    for loop, _ in list(by_loop.items()):
        if loop.is_closed():
            by_loop.pop(loop, None)


def _make_miss(func: Callable[..., Any], wrapper: Any) -> Callable[..., Any]:
    """The miss coroutine function of one wrapper, with its flight table:
    {loop: {(id(owner) or None, key): _Flight}}."""
    # Imported here, not at the top: `import weakcache` (and the pytest
    # plugin, in every test run) would otherwise pay for asyncio's import.
    from asyncio import CancelledError, current_task, get_running_loop

    by_loop: dict[AbstractEventLoop, dict[Any, _Flight]] = {}

    async def compute(
        wrapper: Any, flights: dict[Any, _Flight], fkey: Any, flight: _Flight,
        loop: AbstractEventLoop, key: Any, hash_: int, awaitable: Any,
    ) -> Any:
        flight.runner = current_task()
        try:
            result = await awaitable
            if not flight.abandoned:
                if flight.owner_ref is None:
                    wrapper._async_store(None, key, hash_, result)
                else:
                    owner = flight.owner_ref()
                    if owner is not None:   # a dead owner's entries would go at once
                        wrapper._async_store(owner, key, hash_, result)
                    del owner
            return result
        finally:
            forget(loop, flights, fkey, flight)

    def forget(loop: AbstractEventLoop, flights: dict[Any, _Flight], fkey: Any, flight: _Flight) -> None:
        if flights.get(fkey) is flight:
            del flights[fkey]
            if not flights and by_loop.get(loop) is flights:
                del by_loop[loop]

    async def miss(wrapper: Any, owner: Any, key: Any, hash_: int, /, *args: Any, **kwargs: Any) -> Any:
        value = wrapper._async_peek(owner, key, hash_, _MISSING)
        if value is not _MISSING:
            return value
        loop = get_running_loop()
        flights = by_loop.get(loop)
        if flights is None:
            _drop_closed_loops(by_loop)
            flights = by_loop[loop] = {}
        fkey = (None, key) if owner is None else (id(owner), key)
        flight = flights.get(fkey)
        if flight is not None and flight.runner is current_task() and flight.is_for(owner):
            # The computation awaits its own key (recursion): waiting for
            # itself would hang, so compute as without single flight.
            result = await func(*args, **kwargs)
            wrapper._async_store(owner, key, hash_, result)
            return result
        if flight is None or not flight.is_for(owner):
            awaitable = func(*args, **kwargs)   # errors of the call itself go to this caller
            flight = _Flight(None if owner is None else weakref.ref(owner))
            flights[fkey] = flight
            flight.task = loop.create_task(
                compute(wrapper, flights, fkey, flight, loop, key, hash_, awaitable))
            del awaitable
            flight.task.add_done_callback(flight.settle)
        # From here on this frame holds no owner: only the computation's own
        # coroutine does (as it holds its arguments), and the flight weakly.
        del owner, args, kwargs
        waiter = loop.create_future()
        assert flight.waiters is not None   # settled flights are out of the table
        flight.waiters.add(waiter)
        try:
            return await waiter
        except CancelledError:
            waiters = flight.waiters
            if waiters is not None and waiter in waiters:   # this waiter was cancelled
                waiters.discard(waiter)
                if not waiters and flight.task is not None and not flight.task.done():
                    flight.abandoned = True   # nothing is stored, even if it finishes
                    flight.task.cancel()
                    forget(loop, flights, fkey, flight)
            raise

    _name_like(miss, wrapper)
    return miss
