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


# --------------------------------------------------------------------------
# Invisible until used: no autouse fixture, no per-test hook unless a test needs us
# --------------------------------------------------------------------------

_GUARD = "_weakcache_leak_guard"
_ACTIVE = "weakcache.testing.active"


def _marked(node: Optional[pytest.Item | pytest.Collector], memo: Dict[int, bool]) -> bool:
    """Does ``node`` or a parent of it carry a ``no_leaks`` mark? (memoised per node)"""
    if node is None:
        return False
    known = memo.get(id(node))
    if known is None:
        known = any(mark.name == "no_leaks" for mark in node.own_markers) or _marked(node.parent, memo)
        memo[id(node)] = known
    return known


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Give the guard fixture, first, to the tests that use the fixture or the marker.

    First in ``item.fixturenames`` means set up first among the test's
    function fixtures, so torn down last: the check sees every other
    function fixture gone.  Other tests get nothing (no autouse fixture).
    This runs over every collected test, so it makes no Python call per
    test: marks are read from ``own_markers``, the parents' once each.
    """
    used = False
    memo: Dict[int, bool] = {}
    for item in items:
        names = getattr(item, "fixturenames", None)
        if type(names) is not list:
            continue  # an item without fixtures (not a test function)
        wanted = "leak_tracker" in names or _GUARD in names
        if not wanted:
            for mark in item.own_markers:
                if mark.name == "no_leaks":
                    wanted = True
                    break
            else:
                known = memo.get(id(item.parent))
                wanted = known if known is not None else _marked(item.parent, memo)
        if wanted:
            if _GUARD in names:
                names.remove(_GUARD)
            names.insert(0, _GUARD)
            used = True
    if used and _WRAPPERS:
        _activate(config)


try:
    _wrapper = pytest.hookimpl(wrapper=True)
except TypeError:  # pragma: no cover - pluggy < 1.1 has no new-style wrappers
    _WRAPPERS = False
    _wrapper = pytest.hookimpl()
else:
    _WRAPPERS = True


def _activate(config: pytest.Config) -> None:
    """Register the per-test hooks, once, when a test of this run uses the plugin."""
    if not _WRAPPERS:  # pragma: no cover - only the tests that use the plugin fail
        raise pytest.UsageError("weakcache.testing needs pluggy >= 1.1 (pip install -U pluggy)")
    if not config.pluginmanager.has_plugin(_ACTIVE):
        config.pluginmanager.register(_ActiveHooks(), _ACTIVE)


class _ActiveHooks:
    """The per-test hooks; registered only once some test uses the plugin."""

    @_wrapper
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        state = item.stash.get(_STATE, None)
        if state is None:
            return report
        if report.when in ("setup", "call") and not report.passed:
            state.judge = False
        if report.when == "teardown" and call.excinfo is not None and isinstance(call.excinfo.value, LeakError):
            # Show the report itself, not the plugin's frames.
            report.longrepr = "LeakError: %s" % (call.excinfo.value,)
        return report

    @_wrapper
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        state = item.stash.get(_STATE, None)
        if state is not None and state.marks and state.tracker is not None:
            for kinds, strict in state.marks:
                state.tracker.watch_types(*kinds, strict=strict)
        return (yield)


def _caplog(request: pytest.FixtureRequest) -> Optional[pytest.LogCaptureFixture]:
    try:
        caplog: pytest.LogCaptureFixture = request.getfixturevalue("caplog")
    except LookupError:  # pytest -p no:logging
        return None
    return caplog


def _release_pytest_state(item: pytest.Item, caplog: Optional[pytest.LogCaptureFixture]) -> None:
    """Drop what pytest itself would drop right after teardown.

    ``item.funcargs`` (fixture values) and the captured log records of
    the test (whose ``args`` may hold tracked objects) are released by
    pytest only after all teardown hooks; we release them a little earlier.
    """
    funcargs = getattr(item, "funcargs", None)
    if isinstance(funcargs, dict):
        funcargs.clear()
    if caplog is not None:
        for when in ("setup", "call", "teardown"):
            try:
                del caplog.get_records(when)[:]
            except KeyError:  # after the teardown: pytest has dropped them already
                break


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


def _finish(item: pytest.Item, tracker: LeakTracker, judge: bool, caplog: Optional[pytest.LogCaptureFixture]) -> None:
    """Judge (or forget, if the test failed or tracked nothing) what the test tracked."""
    __tracebackhide__ = True
    if not judge or (tracker.pending == 0 and not tracker.watching):
        tracker.reset()
        return
    _release_pytest_state(item, caplog)
    del item, caplog
    tracker.check()


_LATE = pytest.StashKey[Tuple["LeakTracker", Optional[pytest.LogCaptureFixture]]]()


class _LateCheck:
    """The check of a test that asked for ``leak_tracker`` only while running.

    Its guard was set up after the test's other fixtures, so it is torn down
    before them: the check waits for the end of the teardown instead.
    Registered the first time that happens.
    """

    @_wrapper
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        __tracebackhide__ = True
        try:
            result = yield
        finally:
            late = item.stash.get(_LATE, None)
            if late is not None:
                del item.stash[_LATE]
        if late is not None:
            _finish(item, late[0], _state(item).judge, late[1])
        return result


@pytest.fixture
def _weakcache_leak_guard(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Runs the leak checks after every other function fixture is gone."""
    __tracebackhide__ = True
    _activate(request.config)  # also when leak_tracker is requested dynamically
    item = request.node
    late = item.fixturenames[:1] != [_GUARD]  # requested by getfixturevalue() in the test
    if late and not request.config.pluginmanager.has_plugin(_ACTIVE + ".late"):
        request.config.pluginmanager.register(_LateCheck(), _ACTIVE + ".late")  # before the teardown starts
    state = _state(item)
    state.judge = True
    _read_marks(item, state)
    if state.marks and state.tracker is None:
        state.tracker = _new_tracker(request.config)
    caplog = _caplog(request)
    try:
        yield
    finally:
        tracker, state.tracker = state.tracker, None
        state.marks = []
        judge = state.judge
    del item, state
    if tracker is None:
        return
    if late:
        request.node.stash[_LATE] = (tracker, caplog)
        return
    _finish(request.node, tracker, judge, caplog)


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
