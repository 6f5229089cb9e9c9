"""The referrer search: who keeps an object alive, walked backwards over ``gc.get_referrers``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import gc
import sys
import threading
import types
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ._base import CO_OPTIMIZED, is_a, is_our_code, module_namespace


class Context:
    """What the search needs to know about the interpreter right now.

    Holds strong references to running frames while it lives; ``close()``
    drops them and removes the ``f_locals`` snapshots the search created
    (before Python 3.13 reading ``frame.f_locals`` stores a dict of the
    frame's locals on the frame, which would keep them alive).
    """

    def __init__(self) -> None:
        self.ignore: Set[int] = set()
        self.running: Dict[int, Tuple[types.FrameType, str]] = {}
        self.module_dicts: Dict[int, types.ModuleType] = {}
        self.locals_of: Dict[int, List[Tuple[types.FrameType, str]]] = {}
        self._touched: Dict[int, types.FrameType] = {}
        self.ignore.update(
            (id(self), id(self.ignore), id(self.running), id(self.module_dicts),
             id(self.locals_of), id(self._touched), id(self.__dict__))
        )
        self._find_running_frames()
        self._find_module_dicts()
        self._index_locals()

    def _find_running_frames(self) -> None:
        names = {}
        for thread in threading.enumerate():
            try:
                names[thread.ident] = str(thread.name)
            except Exception:  # a Thread subclass with a broken name
                names[thread.ident] = "thread %s" % thread.ident
        current = sys._current_frames()
        self.ignore.add(id(current))
        for ident, top in current.items():
            tname = names.get(ident, "thread %s" % ident)
            frame: Optional[types.FrameType] = top
            while frame is not None:
                if is_our_code(frame.f_code):
                    self.ignore.add(id(frame))
                else:
                    self.running[id(frame)] = (frame, tname)
                frame = frame.f_back
        # ``current`` holds this very frame: drop it, or the frame outlives the call.
        del current, top, frame

    def _find_module_dicts(self) -> None:
        for module in list(sys.modules.values()):
            if is_a(module, types.ModuleType):
                self.module_dicts[id(module_namespace(module))] = module

    def _index_locals(self) -> None:
        for frame, _tname in self.running.values():
            if not frame.f_code.co_flags & CO_OPTIMIZED and frame.f_locals is frame.f_globals:
                continue  # module-level code: its module dict is a root of its own
            for name, value in self.frame_locals(frame):
                self.locals_of.setdefault(id(value), []).append((frame, name))
        self.ignore.update(id(v) for v in self.locals_of.values())
        self.ignore.update(id(pair) for pairs in self.locals_of.values() for pair in pairs)
        self.ignore.update(id(v) for v in self.running.values())

    def frame_locals(self, frame: types.FrameType) -> List[Tuple[str, object]]:
        try:
            if sys.version_info < (3, 13) and frame.f_code.co_flags & CO_OPTIMIZED:
                self._touched[id(frame)] = frame
            namespace = frame.f_locals
            items = list(namespace.items())
        except Exception:  # pragma: no cover
            return []
        del namespace
        return items

    def is_root(self, obj: object) -> bool:
        return (
            is_a(obj, (types.ModuleType, type))
            or id(obj) in self.module_dicts
            or id(obj) in self.running
        )

    def close(self) -> None:
        for frame in self._touched.values():
            try:
                frame.f_locals.clear()  # only snapshot dicts of function frames
            except Exception:  # pragma: no cover
                pass
        self._touched.clear()
        self.running.clear()
        self.locals_of.clear()
        self.module_dicts.clear()


class SearchResult:
    def __init__(self) -> None:
        self.root_path: Optional[List[object]] = None
        self.cycle_path: Optional[List[object]] = None
        self.dead_end_path: Optional[List[object]] = None
        self.truncated = False
        self.visited = 0
        self.deepest_path: Optional[List[object]] = None


class _Search:
    """State of one breadth-first search; see :func:`search`.

    Every container of the search that may hold a visited object is listed
    in ``ignore`` by id, so it is never mistaken for a referrer.
    """

    def __init__(self, target: object, ctx: Context, max_nodes: int, extra_ignore: Iterable[int]) -> None:
        self.result = SearchResult()
        self.ctx = ctx
        self.max_nodes = max_nodes
        self.target_id = id(target)
        self.ignore = set(ctx.ignore)
        self.ignore.update(extra_ignore)
        self.keep: Dict[int, object] = {self.target_id: target}
        self.parent: Dict[int, int] = {}  # id(referrer) -> id(the object it refers to)
        self.cycle_child: Optional[int] = None
        self.root_id: Optional[int] = None
        self.dead_id: Optional[int] = None
        self.frontier: List[object] = [target]
        self.following: List[object] = []
        self.ignore.update((id(self), id(self.__dict__), id(self.result), id(self.keep),
                            id(self.parent), id(self.ignore), id(self.frontier)))

    def level(self) -> None:
        """Visit the referrers of every node of the frontier (one heap scan)."""
        frontier_ids = {id(o) for o in self.frontier}
        has_referrer: Set[int] = set()
        self.following = []
        self.ignore.add(id(self.following))
        # Locals of running frames first (gc does not see them on 3.8+), then
        # everything the collector knows about; both lists are ours.
        local_frames: List[object] = []
        local_children: List[int] = []
        for node in self.frontier:
            for frame, _name in self.ctx.locals_of.get(id(node), ()):
                local_frames.append(frame)
                local_children.append(id(node))
        node = None
        self.ignore.update((id(local_frames), id(local_children)))
        # The argument tuple is ours too: build it here so its id is known.
        call_args = tuple(self.frontier)
        self.ignore.add(id(call_args))
        referrers = gc.get_referrers(*call_args)
        self.ignore.add(id(referrers))
        n_local = len(local_frames)
        for index in range(n_local + len(referrers)):
            referrer = local_frames[index] if index < n_local else referrers[index - n_local]
            child_id = local_children[index] if index < n_local else self._child_of(referrer, frontier_ids)
            if child_id is not None and self.visit(referrer, child_id, has_referrer):
                break
        referrer = None
        referrers = []
        local_frames = []
        call_args = ()
        if self.dead_id is None:
            self.dead_id = next((id(n) for n in self.frontier if id(n) not in has_referrer), None)

    def _child_of(self, referrer: object, frontier_ids: Set[int]) -> Optional[int]:
        if id(referrer) in self.ignore:
            return None
        for referent in gc.get_referents(referrer):
            if id(referent) in frontier_ids:
                return id(referent)
        return None

    def visit(self, referrer: object, child_id: int, has_referrer: Set[int]) -> bool:
        """Record one edge; True when the search must stop (root found, limit hit)."""
        rid = id(referrer)
        if rid in self.ignore:
            return False
        if is_a(referrer, types.FrameType) and is_our_code(referrer.f_code):  # type: ignore[attr-defined]
            return False
        has_referrer.add(child_id)
        if rid == self.target_id:
            if self.cycle_child is None:
                self.cycle_child = child_id
            return False
        if rid in self.keep:
            return False
        self.keep[rid] = referrer
        self.parent[rid] = child_id
        self.result.visited += 1
        if self.ctx.is_root(referrer):
            self.root_id = rid
            return True
        self.following.append(referrer)
        if len(self.keep) >= self.max_nodes:
            self.result.truncated = True
            return True
        return False

    def path_from(self, node_id: int) -> List[object]:
        """Nodes from ``node_id`` down to the target, following ``parent`` links."""
        path = [self.keep[node_id]]
        while node_id != self.target_id:
            node_id = self.parent[node_id]
            path.append(self.keep[node_id])
        return path

    def finish(self, want_cycle: bool) -> SearchResult:
        result = self.result
        if self.root_id is not None:
            result.root_path = self.path_from(self.root_id)
        if want_cycle and self.cycle_child is not None:
            result.cycle_path = [self.keep[self.target_id]] + self.path_from(self.cycle_child)
        if self.dead_id is not None and self.root_id is None:
            result.dead_end_path = self.path_from(self.dead_id)
        if self.root_id is None and self.dead_id is None and self.parent:
            result.deepest_path = self.path_from(next(reversed(list(self.parent))))
        return result

    def close(self) -> None:
        self.keep.clear()
        self.frontier = []
        self.following = []


def search(
    target: object,
    ctx: Context,
    *,
    max_depth: int,
    max_nodes: int,
    want_cycle: bool,
    extra_ignore: Iterable[int] = (),
) -> SearchResult:
    """Breadth-first search backwards over ``gc.get_referrers``.

    One ``gc.get_referrers(*frontier)`` call (one heap scan) per level.  The
    search's own containers, this package's frames and the running frames'
    bookkeeping are ignored by id.  Memory: strong references to every
    visited object are held until the caller has rendered the result and
    dropped it.
    """
    state = _Search(target, ctx, max_nodes, extra_ignore)
    try:
        for _depth in range(max_depth):
            if not state.frontier:
                break
            state.level()
            if state.root_id is not None or state.result.truncated:
                break
            state.frontier = state.following
            state.ignore.add(id(state.frontier))
        else:
            if state.frontier:
                state.result.truncated = True
        return state.finish(want_cycle)
    finally:
        state.close()
