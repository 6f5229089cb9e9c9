"""The report: one survivor analysed into strings (``Finding``), and the LeakError text.

PYTEST_DONT_REWRITE

A report is always built: anything that fails while one survivor is being
described (user code the guards did not foresee, an interpreter oddity)
turns into a line of that survivor's entry, never into an exception in
place of the :class:`LeakError`.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

from ._base import DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES, MAX_EXPLAINED, short_repr, type_name
from .chain import detail_lines, path_line, steps_of
from .culprits import Culprit, culprits
from .search import Context, SearchResult, search


class Finding:
    """Everything about one survivor, as text (no reference to the object)."""

    __slots__ = ("headline", "path", "chain", "culprits", "cycle_path", "cycle_chain", "cycle_culprits")

    def __init__(self) -> None:
        self.headline = ""
        self.path = ""
        self.chain: List[str] = []
        self.culprits: List[Culprit] = []
        self.cycle_path = ""
        self.cycle_chain: List[str] = []
        self.cycle_culprits: List[Culprit] = []


def headline(obj: object) -> str:
    return "%s object %s" % (type_name(obj), short_repr(obj))


def _describe(finding: Finding, path: Sequence[object], ctx: Context, cycle: Optional[bool]) -> str:
    """Fill the path, chain (and culprits unless ``cycle`` is None) from a node list.

    Returns the title of the chain's top.
    """
    steps = steps_of(path, ctx)
    line, chain, top = path_line(steps, ctx), detail_lines(steps, ctx), steps[0].title
    named = culprits(steps, ctx, cycle=bool(cycle)) if cycle is not None else None
    del steps
    if cycle:
        finding.cycle_path, finding.cycle_chain = line, chain
        finding.cycle_culprits = named or []
    else:
        finding.path, finding.chain = line, chain
        if named is not None:
            finding.culprits = named
    return top


def _no_root(finding: Finding, result: SearchResult, ctx: Context, obj: object, limits: Tuple[int, int]) -> None:
    """The search met no module, class or running frame: say why."""
    if result.dead_end_path is not None and len(result.dead_end_path) == 1:
        finding.culprits = [(
            "nothing visible to the garbage collector refers to the %s: it is held by "
            "an object that does not take part in garbage collection (a C extension "
            "type, an interpreter-internal cache) or leaked by a missing Py_DECREF" % type_name(obj),
            "look for C extensions that store it; the referrer chain cannot be shown",
        )]
    elif result.dead_end_path is not None:
        top = _describe(finding, result.dead_end_path, ctx, None)
        finding.culprits = [(
            "no module, class or running frame holds the chain: its top (%s) is held by "
            "something invisible to the garbage collector (a C extension object or an "
            "interpreter-internal reference)" % top,
            "look for C extensions or caches that store %s" % top,
        )]
    else:
        if result.deepest_path is not None:
            _describe(finding, result.deepest_path, ctx, None)
        if result.truncated:
            finding.culprits = [(
                "no module, class or running frame found within %d steps / %d objects "
                "(search limit); the longest chain searched is shown" % limits,
                "call weakcache.testing.explain(obj, max_depth=...) with a larger limit",
            )]
        else:
            finding.culprits = [(
                "no module, class or running frame holds it: it is kept by a group of "
                "objects that refer to each other and that something invisible to the "
                "garbage collector (a C extension) holds",
                "look for C extensions or caches that store the objects shown",
            )]


def _failed(finding: Finding, error: BaseException) -> None:
    reason = "%s: %s" % (type_name(error), short_repr(error.args[0] if error.args else "", 120))
    finding.culprits = finding.culprits or [(
        "the referrer chain could not be shown: %s was raised while describing it" % reason,
        "call weakcache.testing.explain(obj) on the object to see its referrers",
    )]


def analyze(
    obj: object,
    *,
    want_cycle: bool,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    extra_ignore: Iterable[int] = (),
) -> Finding:
    """Describe who holds ``obj``; returns strings only, and never raises an Exception."""
    finding = Finding()
    finding.headline = headline(obj)
    ctx: Optional[Context] = None
    try:
        ctx = Context()
        result = search(obj, ctx, max_depth=max_depth, max_nodes=max_nodes, want_cycle=want_cycle,
                        extra_ignore=extra_ignore)
        if result.root_path is not None:
            _describe(finding, result.root_path, ctx, False)
        else:
            _no_root(finding, result, ctx, obj, (max_depth, max_nodes))
        if result.cycle_path is not None:
            _describe(finding, result.cycle_path, ctx, True)
        del result
    except Exception as error:
        _failed(finding, error)
        del error
    finally:
        if ctx is not None:
            ctx.close()
    return finding


def headline_only(obj: object) -> Finding:
    finding = Finding()
    finding.headline = headline(obj)
    finding.culprits = [("(not explained: only the first %d survivors are)" % MAX_EXPLAINED, "fix the ones above first")]
    return finding


def format_finding(index: int, finding: Finding, note: str, cycle: bool) -> List[str]:
    lines = ["", "[%d] %s%s" % (index, finding.headline, note)]
    if cycle:
        path, chain, named = finding.cycle_path, finding.cycle_chain, finding.cycle_culprits
        if not path:
            named = named or [(
                "it was freed only by the cyclic garbage collector: it is part of a "
                "reference cycle",
                "break the cycle with weakref.ref()/weakref.proxy() for back-references, or "
                "clear them in close()",
            )]
        lines.append("    freed only by gc.collect(): it is part of a reference cycle (strict mode)")
    else:
        path, chain, named = finding.path, finding.chain, finding.culprits
    if path:
        lines.append("    path: %s" % path)
        lines.append("    referrer chain (root first):")
        lines.extend("      " + line for line in chain)
    for culprit, fix in named:
        lines.append("    culprit: %s" % culprit)
        lines.append("    fix: %s" % fix)
    return lines


def _summary(findings: Sequence[Tuple[Finding, str, bool]], lost: Sequence[str], gc_passes: int) -> str:
    leaks = sum(1 for _f, _n, cycle in findings if not cycle)
    cycles = len(findings) - leaks + len(lost)
    parts = []
    if leaks:
        parts.append("%d object%s still alive after %d gc.collect() pass%s"
                     % (leaks, "" if leaks == 1 else "s", gc_passes, "" if gc_passes == 1 else "es"))
    if cycles:
        parts.append("%d object%s freed only by the cyclic garbage collector (strict mode)"
                     % (cycles, "" if cycles == 1 else "s"))
    names = []
    for finding, _note, cycle in findings:
        tag = finding.headline.split(" <")[0]
        named = finding.cycle_culprits if cycle else finding.culprits
        if named:
            tag += " (%s)" % named[0][0].split(": ")[0]
        names.append(tag)
    names.extend(text.split(" (tracked")[0] + " (reference cycle)" for text in lost)
    shown = "; ".join(names[:3]) + ("; ..." if len(names) > 3 else "")
    return "%s: %s" % ("; ".join(parts), shown)


def render_report(findings: Sequence[Tuple[Finding, str, bool]], lost: Sequence[str], gc_passes: int) -> str:
    """The whole LeakError message: a summary line, then one entry per survivor."""
    lines = [_summary(findings, lost, gc_passes)]
    for index, (finding, note, cycle) in enumerate(findings, 1):
        lines.extend(format_finding(index, finding, note, cycle))
    for index, text in enumerate(lost, len(findings) + 1):
        lines.append("")
        lines.append("[%d] %s" % (index, text))
        lines.append(
            "    freed only by an automatic or explicit gc.collect() during the test: it was "
            "part of a reference cycle (strict mode); the cycle is no longer there to show"
        )
        lines.append(
            "    fix: break the cycle (weakref.ref()/weakref.proxy() for back-references), "
            "or avoid calling gc.collect() in a strict test to see the cycle"
        )
    return "\n".join(lines)


def explain(obj: object, *, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """Text showing who keeps ``obj`` alive right now (no ``gc.collect()``).

    Memory: the search holds temporary references to the referrers it
    visits; all are dropped before this returns.  The returned string holds
    no reference to ``obj``.
    """
    finding = analyze(obj, want_cycle=True, max_depth=max_depth, max_nodes=max_nodes)
    lines = format_finding(1, finding, "", cycle=False)[1:]
    if finding.cycle_path:
        lines.append("    also part of a reference cycle: %s" % finding.cycle_path)
    return "\n".join(lines)
