"""Prove that objects get freed, and show who holds them when they are not.

PYTEST_DONT_REWRITE (pytest: this package has no test code to rewrite, and
it may be imported before pytest starts)

``weakcache.testing`` is a plain-Python library that needs neither pytest nor
the weakcache C extension, and a pytest plugin (``weakcache.testing.plugin``,
registered through the ``pytest11`` entry point named ``weakcache.testing``
when weakcache is installed)::

    def test_model_is_freed(leak_tracker):           # pytest fixture
        m = leak_tracker.track(Model())               # checked at teardown
        m.predict(1)
        del m

    @pytest.mark.no_leaks(Model, Session)            # pytest marker
    def test_request_cycle(): ...

    from weakcache.testing import collected          # unittest, scripts
    with collected() as track:
        m = track(Model())
        del m

Memory: the tracker only keeps *weak* references to what it tracks, so
tracking never extends an object's life.  When an object survives, the
referrer chain is searched while the object is alive, turned into text, and
every reference taken by the search is dropped before :class:`LeakError` is
raised: the exception (and the frames of its traceback that belong to this
package) hold strings only.

Two modes:

* default: the object must be gone after at most ``gc_passes`` calls to
  ``gc.collect()`` (reference cycles are allowed);
* strict: the object must be freed by reference counting alone, without any
  ``gc.collect()``: this proves it is not part of a reference cycle.  While a
  strict check is pending, automatic garbage collection is paused (and
  restored afterwards) so that a cycle can still be shown in the report.

The package: ``tracker`` (LeakTracker, collected, type watches), ``search``
(the referrer search), ``chain`` (labels and titles of a chain), ``culprits``
(the table of culprit rules), ``report`` (the LeakError text, explain) and
``plugin`` (the pytest fixtures, marker and hooks).  The submodules load on
first use: importing the plugin costs pytest nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Optional

from ._base import (  # noqa: F401  (public constants)
    DEFAULT_GC_PASSES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES, MAX_EXPLAINED, LeakError,
)

if TYPE_CHECKING:
    import pytest

    from .report import explain
    from .tracker import LeakTracker, collected

__all__ = [
    "LeakError",
    "LeakTracker",
    "collected",
    "explain",
    "no_leaks",
]

# ``-p weakcache.testing`` (source trees, PYTEST_DISABLE_PLUGIN_AUTOLOAD) loads
# this module as a plugin; pytest then loads the real one from here.
pytest_plugins = ["weakcache.testing.plugin"]

_LAZY = {"LeakTracker": "tracker", "collected": "tracker", "explain": "report"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> Any:
    return sorted(set(globals()) | set(_LAZY))


def no_leaks(*kinds: type, strict: Optional[bool] = None) -> pytest.MarkDecorator:
    """The ``no_leaks`` marker, safe with a single class (needs pytest).

    ``@pytest.mark.no_leaks(Model)`` with exactly one class and no keyword
    is read by pytest as "apply the mark to the class Model", not as an
    argument; ``@no_leaks(Model)`` (or ``@pytest.mark.no_leaks(Model,
    strict=False)``) avoids that.
    """
    import pytest

    if strict is None:
        return pytest.mark.no_leaks.with_args(*kinds)
    return pytest.mark.no_leaks.with_args(*kinds, strict=strict)

