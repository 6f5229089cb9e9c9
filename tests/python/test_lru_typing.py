"""The type stubs: typed_sample.py passes ``mypy --strict`` (and runs), and a
sample with deliberate mistakes is rejected on exactly the faulty lines."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "typed_sample.py")

# Each line marked "# E: <text>" must produce a mypy error containing <text>;
# no other line may produce one.
BAD_SAMPLE = textwrap.dedent(
    '''\
    from weakcache import cache, lru_cache


    class Shape:
        @lru_cache(maxsize=16)
        def area(self, scale: int, *, exact: bool = False) -> float:
            return 1.0 * scale

        @cache
        def name(self) -> str:
            return "shape"


    @lru_cache
    def double(x: int) -> int:
        return 2 * x


    s = Shape()
    ok: float = s.area(2, exact=True)
    s.area("2")  # E: incompatible type "str"
    s.area(2, exact="yes")  # E: incompatible type "str"
    s.area(2, precise=True)  # E: Unexpected keyword argument "precise"
    s.area()  # E: Missing positional argument "scale"
    Shape.area(s, 2.5)  # E: incompatible type "float"
    bad_result: str = s.area(2)  # E: Incompatible types in assignment
    n: int = s.name().upper()  # E: Incompatible types in assignment
    s.name.cache_clear(1)  # E: Too many arguments
    s.name.no_such_method()  # E: has no attribute "no_such_method"
    d: str = double(3)  # E: Incompatible types in assignment
    double("3")  # E: incompatible type "str"
    hits: str = double.cache_info().hits  # E: Incompatible types in assignment
    Shape.name.cache_info().currsize + ""  # E: Unsupported operand types


    class Client:
        @lru_cache(maxsize=8)
        async def fetch(self, path: str) -> bytes:
            return path.encode()


    @cache
    async def resolve(host: str) -> list[str]:
        return [host]


    async def use(c: Client) -> None:
        body: bytes = await c.fetch("/")
        not_awaited: bytes = c.fetch("/")  # E: Incompatible types in assignment
        await c.fetch(1)  # E: incompatible type "int"
        wrong: str = await c.fetch("/")  # E: Incompatible types in assignment
        hosts: list[int] = await resolve("h")  # E: Incompatible types in assignment
        await resolve("h", port=1)  # E: Unexpected keyword argument "port"
        c.fetch.cache_clear(True)  # E: Too many arguments
    '''
)


def run_mypy(target, tmp_path):
    cmd = [
        sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
        "--show-error-codes", "--cache-dir", str(tmp_path / "mypy_cache"), target,
    ]
    # Run outside the source tree so that the installed package (with its
    # stubs) is the one mypy sees.
    return subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)


def assert_mypy_errors(source, tmp_path, name="bad_sample.py"):
    """Run mypy --strict on `source`: every line marked "# E: <text>" must
    have an error containing <text>, and no other line may have one."""
    bad = tmp_path / name
    bad.write_text(source)
    proc = run_mypy(str(bad), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    expected = {
        n: line.split("# E: ", 1)[1]
        for n, line in enumerate(source.splitlines(), 1) if "# E: " in line
    }
    errors = {}
    for line in proc.stdout.splitlines():
        m = re.match(r".*%s:(\d+): error: (.*)" % re.escape(name), line)
        if m:
            errors.setdefault(int(m.group(1)), []).append(m.group(2))
    assert set(errors) == set(expected), proc.stdout
    for n, text in expected.items():
        assert any(text in message for message in errors[n]), (n, text, errors[n])


def test_typed_sample_passes_mypy_strict(tmp_path):
    proc = run_mypy(SAMPLE, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error" not in proc.stdout


def test_typed_sample_runs():
    proc = subprocess.run([sys.executable, SAMPLE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_rejects_misuse(tmp_path):
    assert_mypy_errors(BAD_SAMPLE, tmp_path)
