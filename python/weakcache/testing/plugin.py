"""The pytest plugin of weakcache.testing: the ``leak_tracker`` fixture and the ``no_leaks`` marker.

PYTEST_DONT_REWRITE (pytest: no test code here; weakcache may be imported
before pytest starts)

Registered by the ``pytest11`` entry point named ``weakcache.testing``:
``-p no:weakcache.testing`` disables it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Generator, List, Optional, Tuple

import pytest

from ._base import LeakError

if TYPE_CHECKING:
    from .tracker import LeakTracker


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


def _new_tracker(config: pytest.Config) -> LeakTracker:
    from .tracker import LeakTracker

    return LeakTracker(strict=_ini_strict(config))


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when in ("setup", "call") and not report.passed:
        state = item.stash.get(_STATE, None)
        if state is not None:
            state.judge = False
    if report.when == "teardown" and call.excinfo is not None and isinstance(call.excinfo.value, LeakError):
        # Show the report itself, not the plugin's frames.
        report.longrepr = "LeakError: %s" % (call.excinfo.value,)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    state = item.stash.get(_STATE, None)
    if state is not None and state.marks:
        tracker = state.tracker
        if tracker is not None:
            for kinds, strict in state.marks:
                tracker.watch_types(*kinds, strict=strict)
    return (yield)


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


def _read_marks(item: pytest.Item, state: _ItemState) -> None:
    """The item's ``no_leaks`` marks, merged by mode, into ``state.marks``."""
    from .tracker import flatten_types

    for mark in item.iter_markers("no_leaks"):
        strict = mark.kwargs.get("strict", None)
        unknown = set(mark.kwargs) - {"strict"}
        if unknown:
            raise TypeError("no_leaks() got unexpected keyword arguments: %s" % ", ".join(sorted(unknown)))
        state.marks.append((flatten_types(mark.args), None if strict is None else bool(strict)))
    merged: Dict[Optional[bool], Tuple[type, ...]] = {}
    for kinds, strict in state.marks:
        merged[strict] = merged.get(strict, ()) + tuple(k for k in kinds if k not in merged.get(strict, ()))
    state.marks = list((kinds, strict) for strict, kinds in merged.items())


@pytest.fixture(autouse=True)
def _weakcache_leak_guard(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Runs the leak checks after every other function fixture is gone."""
    __tracebackhide__ = True
    item = request.node
    state = _state(item)
    state.judge = True
    _read_marks(item, state)
    if state.marks and state.tracker is None:
        state.tracker = _new_tracker(request.config)
    try:
        yield
    finally:
        tracker, state.tracker = state.tracker, None
        state.marks = []
        judge = state.judge
    if tracker is None:
        return
    if not judge or (tracker.pending == 0 and not tracker.watching):
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
        state.tracker = _new_tracker(request.config)
    return state.tracker
