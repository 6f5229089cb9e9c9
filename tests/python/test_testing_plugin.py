"""Tests of weakcache.testing: the pytest plugin (through pytester) and collected().

The plugin is loaded in the inner pytest runs either by its ``pytest11``
entry point (weakcache installed) or with ``-p weakcache.testing`` (source
tree on PYTHONPATH); see ``_plugin_args``.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import textwrap
import weakref
from typing import Any, List

import pytest

from weakcache.testing import LeakError, LeakTracker, collected, explain

pytest_plugins = ["pytester"]


def _plugin_args() -> List[str]:
    """``-p weakcache.testing`` unless an installed entry point already loads it.

    Passing ``-p`` for a module that an entry point registers under another
    name makes pytest fail with "Plugin already registered".
    """
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return ["-p", "weakcache.testing"]
    from importlib import metadata

    if sys.version_info >= (3, 10):
        eps: Any = metadata.entry_points(group="pytest11")
    else:
        eps = metadata.entry_points().get("pytest11", [])
    for ep in eps:
        if ep.value.split(":")[0].strip() == "weakcache.testing":
            return []
    return ["-p", "weakcache.testing"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(*_plugin_args(), "-p", "no:cacheprovider", *args)


# ---------------------------------------------------------------------------
# The plugin catches leaks and names the culprit
# ---------------------------------------------------------------------------

SLOW_ADDER = """
import functools

class SlowAdder:
    @functools.lru_cache(maxsize=128)
    def add(self, a, b):
        return a + b

def test_slow_adder(leak_tracker):
    adder = leak_tracker.track(SlowAdder())
    assert adder.add(2, 3) == 5
"""


def test_functools_lru_cache_on_method_is_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_slow=SLOW_ADDER)
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_slow_adder*",
        "LeakError: 1 object still alive after 3 gc.collect() passes: SlowAdder object "
        "(functools.lru_cache on the method SlowAdder.add)",
        "[[]1[]] SlowAdder object <test_slow.SlowAdder object at 0x*> (tracked at test_slow.py:9)",
        "    path: module test_slow \u2192 class SlowAdder \u2192 SlowAdder.add (functools lru_cache)"
        " \u2192 cache key (tuple) \u2192 SlowAdder object",
        "    referrer chain (root first):",
        "      module test_slow",
        "        .SlowAdder \u2192 class SlowAdder",
        "        .add \u2192 SlowAdder.add (functools lru_cache)",
        "        cache key \u2192 tuple  (<test_slow.SlowAdder object at 0x*>, 2, 3)",
        "        [[]0[]] \u2192 SlowAdder object  <test_slow.SlowAdder object at 0x*>",
        "    culprit: functools.lru_cache on the method SlowAdder.add: the cache keeps every "
        "`self` it was called with*",
        "    fix: decorate the method with weakcache.lru_cache instead*holds `self` weakly",
    ])


def test_functools_cache_on_method_is_caught(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cache="""
        import functools

        class Model:
            @functools.cache
            def predict(self, x):
                return x * 2

        def test_predict(leak_tracker):
            m = leak_tracker.track(Model())
            m.predict(1)
            del m
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*path: module test_cache \u2192 class Model \u2192 Model.predict (functools cache)"
        " \u2192 cache key (tuple) \u2192 Model object",
        "*fix: decorate the method with weakcache.cache instead*",
    ])


def test_global_list_closure_bound_method_and_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_holders="""
        import pytest

        class Model:
            def on_event(self):
                pass

        class Session:
            pass

        registry = []
        callbacks = {}
        handlers = []
        saved_errors = []

        def make_callback(model):
            def callback():
                return model
            return callback

        @pytest.mark.no_leaks(Model, Session)
        def test_global_list():
            registry.append(Model())

        def test_closure_in_registry(leak_tracker):
            callbacks["save"] = make_callback(leak_tracker.track(Model()))

        def test_bound_method(leak_tracker):
            handlers.append(leak_tracker.track(Model()).on_event)

        def test_traceback(leak_tracker):
            m = leak_tracker.track(Model())
            try:
                raise ValueError("boom")
            except ValueError as exc:
                saved_errors.append(exc)
        """
    )
    result = run(pytester, "--strict-markers")
    result.assert_outcomes(passed=4, errors=4)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_global_list*",
        "*Model object <*> (created during the test; no_leaks(Model, Session))",
        "    path: module test_holders \u2192 .registry (list) \u2192 Model object",
        "    culprit: a module-level container test_holders.registry (list) holds it",
        "    fix: remove it in teardown, or use weakref.WeakSet*",
        "*ERROR at teardown of test_closure_in_registry*",
        "    path: module test_holders \u2192 .callbacks (dict) \u2192 function make_callback.<locals>.callback"
        " \u2192 closure variable 'model' \u2192 Model object",
        "    culprit: a closure (function make_callback.<locals>.callback) holds it through its "
        "closure variable 'model', and the function is kept in test_holders.callbacks",
        "*ERROR at teardown of test_bound_method*",
        "    path: module test_holders \u2192 .handlers (list) \u2192 bound method Model.on_event \u2192 Model object",
        "    culprit: a bound method (bound method Model.on_event) is kept in test_holders.handlers*",
        "    fix: register weakref.WeakMethod(obj.method) instead*",
        "*ERROR at teardown of test_traceback*",
        "    path: module test_holders \u2192 .saved_errors (list) \u2192 ValueError exception \u2192 __traceback__"
        " \u2192 traceback (test_traceback, test_holders.py:*) \u2192 tb_frame"
        " \u2192 frame test_traceback (test_holders.py:*) (no longer running) \u2192 local 'm' \u2192 Model object",
        "    culprit: a frame or traceback is kept alive (ValueError exception)*",
        "    fix: do not store exceptions, tracebacks or sys.exc_info()*",
    ])


CYCLE = """
import pytest

class Node:
    def __init__(self):
        self.peer = None

def make_cycle():
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    return a

def test_track_cycle(leak_tracker):
    leak_tracker.track(make_cycle())

@pytest.mark.no_leaks(Node, strict=False)
def test_marker_cycle():
    make_cycle()
"""


def test_cycle_passes_in_default_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cycle=CYCLE)
    result = run(pytester)
    result.assert_outcomes(passed=2)


def test_cycle_fails_in_strict_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cyc=CYCLE
        + """
def test_track_cycle_strict(leak_tracker):
    leak_tracker.track(make_cycle(), strict=True)

@pytest.mark.no_leaks(Node, strict=True)
def test_marker_cycle_strict():
    make_cycle()
"""
    )
    gc_was_enabled = gc.isenabled()
    result = run(pytester, "-k", "strict")
    assert gc.isenabled() == gc_was_enabled
    result.assert_outcomes(passed=2, errors=2, deselected=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_track_cycle_strict*",
        "LeakError: 1 object freed only by the cyclic garbage collector (strict mode): "
        "Node object (a reference cycle*",
        "*(tracked at test_cyc.py:*, strict)",
        "    freed only by gc.collect(): it is part of a reference cycle (strict mode)",
        "    path: Node object \u2192 .peer (Node object) \u2192 .peer \u2192 Node object",
        "    culprit: a reference cycle: *",
        "    fix: break the cycle: keep back-references as weakref.ref()/weakref.proxy()*",
        "*ERROR at teardown of test_marker_cycle_strict*",
        "*(created during the test; no_leaks(Node, strict=True))",
        "    path: Node object \u2192 .peer (Node object) \u2192 .peer \u2192 Node object",
    ])


def test_strict_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cycle=CYCLE)
    pytester.makeini("[pytest]\nleak_tracker_strict = true\n")
    result = run(pytester)
    # test_marker_cycle says strict=False explicitly, which wins over the ini option.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_track_cycle*",
        "*freed only by gc.collect(): it is part of a reference cycle*",
    ])
    pytester.makeini("[pytest]\nleak_tracker_strict = false\n")
    run(pytester).assert_outcomes(passed=2)


def test_failed_test_is_not_judged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_failing="""
        import pytest

        class Model:
            pass

        held = []

        def test_fails(leak_tracker):
            m = leak_tracker.track(Model())
            held.append(m)
            assert m is None, "the test's own failure"

        @pytest.mark.no_leaks(Model, strict=True)
        def test_fails_with_marker():
            held.append(Model())
            raise RuntimeError("own failure")

        @pytest.mark.xfail(strict=True)
        def test_xfail(leak_tracker):
            held.append(leak_tracker.track(Model()))
            assert False

        def test_skipped(leak_tracker):
            held.append(leak_tracker.track(Model()))
            pytest.skip("not today")
        """
    )
    gc_was_enabled = gc.isenabled()
    result = run(pytester)
    assert gc.isenabled() == gc_was_enabled
    result.assert_outcomes(failed=2, xfailed=1, skipped=1)
    assert "LeakError" not in result.stdout.str()


def test_explicit_check_inside_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_explicit="""
        import pytest
        from weakcache.testing import LeakError

        class Model:
            pass

        def test_check(leak_tracker):
            m = leak_tracker.track(Model())
            with pytest.raises(LeakError, match="local 'm'"):
                leak_tracker.check()
            del m
            leak_tracker.track(Model())
            leak_tracker.check()
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_bad_marker_arguments(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.no_leaks("Model", strict=False)
        def test_bad():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TypeError: no_leaks() takes classes*"])


# ---------------------------------------------------------------------------
# Clean code passes
# ---------------------------------------------------------------------------


def test_clean_code_passes_with_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_clean="""
        import pytest
        from weakcache.testing import collected, no_leaks

        class Model:
            def predict(self, x):
                return x + 1

        @pytest.fixture
        def model():
            m = Model()
            yield m

        def test_fixture_value(leak_tracker, model):
            leak_tracker.track(model)          # freed when the fixture is torn down
            assert model.predict(1) == 2

        def test_tracked(leak_tracker):
            m = leak_tracker.track(Model(), strict=True)
            m.predict(1)

        @no_leaks(Model)
        def test_single_class_helper():
            Model().predict(1)

        @pytest.mark.no_leaks(Model, strict=True)
        def test_marker_strict(model):
            Model().predict(2)

        def test_collected():
            with collected(strict=True) as track:
                track(Model()).predict(3)
        """
    )
    result = run(pytester, "--strict-markers", "-W", "error::DeprecationWarning")
    result.assert_outcomes(passed=5)


def test_weakcache_lru_cache_methods_pass(pytester: pytest.Pytester) -> None:
    # Needs the C extension: weakcache.lru_cache must not keep `self` alive.
    pytester.makepyfile(
        test_weak="""
        import pytest
        from weakcache import cache, lru_cache

        class FastAdder:
            @lru_cache(maxsize=128)
            def add(self, a, b):
                return a + b

            @cache
            def double(self, a):
                return 2 * a

        def test_tracked(leak_tracker):
            adder = leak_tracker.track(FastAdder())
            assert adder.add(2, 3) == 5
            assert adder.double(4) == 8

        def test_tracked_strict(leak_tracker):
            adder = leak_tracker.track(FastAdder(), strict=True)
            assert adder.add(2, 3) == 5
            assert adder.double(4) == 8

        @pytest.mark.no_leaks(FastAdder, strict=True)
        def test_marker():
            for i in range(10):
                FastAdder().add(i, i)
        """
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=3)


def test_weakcache_entry_referencing_its_owner_is_named(pytester: pytest.Pytester) -> None:
    # Needs the C extension: the owner is held weakly, but the cached value holds it.
    pytester.makepyfile(
        test_owner="""
        import warnings
        from weakcache import lru_cache

        class Result:
            def __init__(self, owner):
                self.owner = owner

        class Model:
            @lru_cache(maxsize=16)
            def compute(self, x):
                return Result(self)

        def test_owner(leak_tracker):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # weakcache's OwnerCycleWarning
                leak_tracker.track(Model()).compute(1)
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*path: module test_owner \u2192 class Model \u2192 Model.compute (weakcache *)"
        " \u2192 * (Result object) \u2192 .owner \u2192 Model object",
        "*culprit: a weakcache entry whose value references its owner: *",
    ])


def test_example_file_passes(pytester: pytest.Pytester) -> None:
    example = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python", "test_leaks_example.py"
    )
    with open(example, encoding="utf-8") as source:
        pytester.makepyfile(test_leaks_example=source.read())
    run(pytester, "--strict-markers").assert_outcomes(passed=6)


MANY_CLEAN = """
import logging
import re

import pytest

log = logging.getLogger("app")

class Model:
    def __init__(self, i):
        self.i = i
        self.pattern = re.compile(r"item-%d-(\\d+)" % (i % 40))

    def predict(self, text):
        match = self.pattern.match(text)
        log.warning("model %r predicted %r", self, match)
        return int(match.group(1)) if match else None

@pytest.fixture
def model(request):
    m = Model(request.param if hasattr(request, "param") else 0)
    yield m
    log.info("done with %r", m)

@pytest.fixture(scope="module")
def shared():
    return {"calls": 0}

@pytest.mark.parametrize("i", range(250))
def test_tracked(leak_tracker, i, caplog, shared):
    m = leak_tracker.track(Model(i), strict=(i % 2 == 0))
    assert m.predict("item-%d-%d" % (i % 40, i)) == i
    assert re.search(r"\\d+", "abc %d" % i)
    shared["calls"] += 1
    assert caplog.records

@pytest.mark.parametrize("i", range(50))
@pytest.mark.no_leaks(Model, strict=False)
def test_marker(model, i):
    m = Model(i)
    m.predict("nothing")
    model.predict("item-0-%d" % i)
"""


def test_no_false_alarms_across_hundreds_of_clean_tests(pytester: pytest.Pytester) -> None:
    # In a subprocess: in-process, the outer pytest's own log capture would
    # (rightly) be reported as holding the models the inner tests log.
    pytester.makepyfile(test_many=MANY_CLEAN)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "-q", "--strict-markers")
    result.assert_outcomes(passed=300)


# ---------------------------------------------------------------------------
# collected() and LeakTracker without pytest machinery
# ---------------------------------------------------------------------------


class Thing:
    def __init__(self) -> None:
        self.peer: Any = None


_held: List[Any] = []


def test_collected_passes_when_freed() -> None:
    with collected() as track:
        thing = track(Thing())
        assert isinstance(thing, Thing)
        del thing


def test_collected_reports_survivor() -> None:
    with pytest.raises(LeakError) as info:
        with collected() as track:
            _held.append(track(Thing()))
    try:
        message = str(info.value)
        assert isinstance(info.value, AssertionError)
        assert message.startswith("1 object still alive after 3 gc.collect() passes: Thing object")
        assert "path: module test_testing_plugin \u2192 ._held (list) \u2192 Thing object" in message
        assert "module-level container test_testing_plugin._held (list)" in message
    finally:
        _held.clear()


def test_collected_reports_local_variable_of_running_frame() -> None:
    with pytest.raises(LeakError) as info:
        with collected() as track:
            thing = track(Thing())
    message = str(info.value)
    assert "local 'thing'" in message
    assert "running frame test_collected_reports_local_variable_of_running_frame" in message
    assert "`del` the variable" in message
    del thing


def test_collected_does_not_judge_a_failing_block() -> None:
    with pytest.raises(KeyError):
        with collected() as track:
            _held.append(track(Thing()))
            raise KeyError("the block's own error")
    _held.clear()


def test_collected_strict_cycle_and_gc_state() -> None:
    def cycle() -> Thing:
        a, b = Thing(), Thing()
        a.peer, b.peer = b, a
        return a

    enabled = gc.isenabled()
    with collected() as track:  # default mode: cycles are fine
        track(cycle())
    with pytest.raises(LeakError, match="reference cycle") as info:
        with collected(strict=True) as track:
            track(cycle())
            assert not gc.isenabled()  # paused while a strict check is pending
    assert gc.isenabled() == enabled
    assert "path: Thing object \u2192 .peer (Thing object) \u2192 .peer \u2192 Thing object" in str(info.value)


def test_collected_strict_reports_cycle_collected_during_block() -> None:
    tracker = LeakTracker(strict=True)
    a, b = Thing(), Thing()
    a.peer, b.peer = b, a
    tracker.track(a)
    del a, b
    gc.collect()  # the test itself collects: the cycle is gone, but was there
    with pytest.raises(LeakError, match="reference cycle"):
        tracker.check()


def test_tracker_objects_passed_to_collected() -> None:
    thing = Thing()
    with collected(thing):
        del thing


@pytest.mark.parametrize(
    "value, fix",
    [
        (42, "track an object that contains it"),
        ("text", "track an object that contains it"),
        ((1, 2), "track an object that contains it"),
    ],
)
def test_track_rejects_non_weakrefable(value: object, fix: str) -> None:
    tracker = LeakTracker()
    with pytest.raises(TypeError, match="cannot be weakly referenced") as info:
        tracker.track(value)
    assert fix in str(info.value)
    assert tracker.pending == 0


def test_track_rejects_slots_without_weakref() -> None:
    class Slotted:
        __slots__ = ("x",)

    class SlottedOk:
        __slots__ = ("x", "__weakref__")

    with pytest.raises(TypeError) as info:
        LeakTracker().track(Slotted())
    assert "add '__weakref__' to the __slots__ of" in str(info.value)
    with collected() as track:
        track(SlottedOk())


def test_leak_error_holds_no_reference_to_the_object() -> None:
    holder = [Thing()]
    ref = weakref.ref(holder[0])
    tracker = LeakTracker()
    tracker.track(holder[0])
    try:
        tracker.check()
    except LeakError as exc:
        error = exc
    else:  # pragma: no cover
        raise AssertionError("expected a LeakError")
    assert "Thing object" in str(error)
    holder.clear()  # only the exception (with its traceback) remains
    assert error.__traceback__ is not None
    assert ref() is None
    assert error.__context__ is None and error.__cause__ is None


def test_leak_error_in_pytest_keeps_no_reference(pytester: pytest.Pytester) -> None:
    # pytest keeps the frames of failed tests alive (pytest#2798); the report must not.
    pytester.makepyfile(
        test_ref="""
        import gc, weakref
        import pytest
        from weakcache.testing import LeakError, collected

        class Thing:
            pass

        holder = []
        refs = []

        def test_leak():
            holder.append(Thing())
            refs.append(weakref.ref(holder[0]))
            with collected() as track:
                track(holder[0])

        def test_after():
            holder.clear()
            gc.collect()
            assert refs[0]() is None
        """
    )
    run(pytester).assert_outcomes(failed=1, passed=1)


def test_explain_describes_a_live_object() -> None:
    _held.append(Thing())
    try:
        text = explain(_held[0])
    finally:
        _held.clear()
    assert "module test_testing_plugin \u2192 ._held (list) \u2192 Thing object" in text


def test_weakcache_entry_whose_value_references_its_owner() -> None:
    # A stand-in for a weakcache C cache object: only its type's module matters.
    class _lru_cache_wrapper:
        __module__ = "weakcache._weakcache"
        __qualname__ = "Owner.compute"

        def __init__(self) -> None:
            self.values: List[Any] = []

    class Result:
        def __init__(self, owner: Any) -> None:
            self.owner = owner

    class Owner:
        compute = _lru_cache_wrapper()

    owner = Owner()
    Owner.compute.values.append(Result(owner))
    with pytest.raises(LeakError) as info:
        with collected() as track:
            track(owner)
            del owner
    message = str(info.value)
    assert "a weakcache entry whose value references its owner" in message
    assert "Owner.compute (weakcache _lru_cache_wrapper)" in message


def test_object_held_outside_the_collectors_view() -> None:
    # An extra reference the collector cannot see (as a C extension would hold).
    import ctypes

    thing = Thing()
    ref = weakref.ref(thing)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(thing))
    try:
        with pytest.raises(LeakError) as info:
            with collected() as track:
                track(thing)
                del thing
        assert "nothing visible to the garbage collector refers to the Thing" in str(info.value), str(info.value)
    finally:
        leaked = ref()
        if leaked is not None:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(leaked))
        del leaked
    assert ref() is None


def test_strict_tracker_dropped_unchecked_resumes_gc() -> None:
    enabled = gc.isenabled()
    tracker = LeakTracker(strict=True)
    keep = Thing()
    tracker.track(keep)
    assert not gc.isenabled()
    del tracker
    assert gc.isenabled() == enabled


def test_duplicate_marks_and_tracked_instances_reported_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_dup="""
        import pytest

        class Model:
            pass

        held = []

        @pytest.mark.no_leaks(Model, strict=False)
        class TestModels:
            @pytest.mark.no_leaks(Model, strict=False)
            def test_leak(self, leak_tracker):
                held.append(leak_tracker.track(Model()))
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["LeakError: 1 object still alive*"])


def test_testing_module_imports_without_pytest_and_extension(tmp_path: Any) -> None:
    # A copy of weakcache.testing in a fresh package without _weakcache, with
    # pytest made unimportable.
    import weakcache.testing as testing_module

    package = tmp_path / "weakcache"
    package.mkdir()
    (package / "__init__.py").write_text('"""stub without the C extension"""\n')
    shutil.copytree(
        os.path.dirname(testing_module.__file__), package / "testing",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pytest"] = None  # ImportError on import
        from weakcache.testing import collected, LeakError, LeakTracker, explain
        assert "weakcache._weakcache" not in sys.modules

        class Thing:
            pass

        keep = []
        with collected() as track:
            track(Thing())
        try:
            with collected() as track:
                keep.append(track(Thing()))
        except LeakError as exc:
            assert "keep (list)" in str(exc), str(exc)
        else:
            raise SystemExit("no LeakError")
        print("ok")
        """
    )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
