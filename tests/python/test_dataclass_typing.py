"""Type stubs of weakcache.dataclass and weakcache.attrs_define
(typing.dataclass_transform): a good sample passes ``mypy --strict`` and
runs; a sample with deliberate mistakes is rejected on exactly the faulty
lines (the style of test_lru_typing.py)."""
import subprocess
import sys
import textwrap

from test_lru_typing import assert_mypy_errors, run_mypy

GOOD_SAMPLE = textwrap.dedent(
    '''\
    from __future__ import annotations

    import dataclasses

    import attrs

    import weakcache


    @weakcache.dataclass(slots=True, frozen=True)
    class Point:
        x: float
        y: float = 0.0
        tags: list[str] = dataclasses.field(default_factory=list)

        @weakcache.cached_property
        def norm(self) -> float:
            return float((self.x**2 + self.y**2) ** 0.5)


    @weakcache.dataclass
    class Plain:
        name: str


    @weakcache.attrs_define
    class Node:
        label: str
        children: list[Node] = attrs.field(factory=list)

        @weakcache.cached_property
        def size(self) -> int:
            return 1 + sum(c.size for c in self.children)


    @weakcache.attrs_define(frozen=True, on_setattr=None)
    class Frozen:
        value: int


    def main() -> None:
        p = Point(3.0, 4.0)
        n: float = p.norm
        q: Point = dataclasses.replace(p, x=6.0)
        assert n == 5.0 and q.norm > 7
        assert Plain("a").name == "a"
        tree = Node("root", [Node("leaf")])
        size: int = tree.size
        assert size == 2 and Frozen(1).value == 1
        names: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(p))
        assert names == ("x", "y", "tags")


    main()
    '''
)

BAD_SAMPLE = textwrap.dedent(
    '''\
    import weakcache


    @weakcache.dataclass(slots=True)
    class Point:
        x: float
        y: float = 0.0

        @weakcache.cached_property
        def norm(self) -> float:
            return 1.0


    @weakcache.attrs_define
    class Node:
        label: str


    Point()  # E: Missing positional argument "x"
    Point("a")  # E: incompatible type "str"
    Point(1.0, 2.0, 3.0)  # E: Too many arguments
    Point(1.0, z=2.0)  # E: Unexpected keyword argument "z"
    s: str = Point(1.0).norm  # E: Incompatible types in assignment
    Node()  # E: Missing positional argument "label"
    Node(label=1)  # E: incompatible type "int"
    weakcache.dataclass(slots="yes")  # E: No overload variant
    '''
)


def test_good_sample_passes_mypy_strict_and_runs(tmp_path):
    good = tmp_path / "good_sample.py"
    good.write_text(GOOD_SAMPLE)
    proc = run_mypy(str(good), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = subprocess.run([sys.executable, str(good)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_rejects_misuse(tmp_path):
    assert_mypy_errors(BAD_SAMPLE, tmp_path)
