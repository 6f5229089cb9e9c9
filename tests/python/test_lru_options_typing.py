"""Stubs for lru_cache/cache's keyword options and cache_stats(): a sample
passes ``mypy --strict``, and misuse is reported on exactly the marked lines."""
import subprocess
import sys
import textwrap

from test_lru_typing import assert_mypy_errors, run_mypy

SAMPLE = textwrap.dedent(
    '''\
    import sys
    import time

    from weakcache import CacheStats, cache, lru_cache


    class Feed:
        @lru_cache(maxsize=64, ttl=30.0, lock=True)
        def fetch(self, url: str) -> bytes:
            return url.encode()

        @cache(maxweight=1_000_000, weigher=sys.getsizeof)
        def parse(self, raw: bytes) -> list[str]:
            return raw.decode().split()


    @lru_cache(maxsize=None, ttl=5, timer=time.monotonic)
    def double(x: int) -> int:
        return 2 * x


    @cache
    def plain(x: int) -> int:
        return x


    f = Feed()
    body: bytes = f.fetch("u")
    words: list[str] = f.parse(body)
    stats: CacheStats = f.fetch.cache_stats()
    total: int = stats.weight + stats.hits + stats.evictions["expired"]
    dropped: int = Feed.fetch.cache_expire()
    n: int = double(2) + plain(3) + double.cache_stats().currsize
    params = double.cache_parameters()
    print(body, words, total, dropped, n, params["maxsize"])
    '''
)

BAD = textwrap.dedent(
    '''\
    from weakcache import cache, lru_cache


    @lru_cache(ttl=1.0)
    def ok(x: int) -> int:
        return x


    lru_cache(ttl="60")  # E: No overload variant of "lru_cache" matches argument type "str"
    cache(weigher=len, maxweight=1.5)  # E: No overload variant of "cache" matches argument types
    lru_cache(lock=True, timer=5)  # E: No overload variant of "lru_cache" matches argument types "bool", "int"
    w: str = ok.cache_stats().weight  # E: Incompatible types in assignment
    ok.cache_stats().nothing  # E: has no attribute "nothing"
    e: str = ok.cache_expire()  # E: Incompatible types in assignment
    '''
)


def test_options_sample_passes_mypy_strict_and_runs(tmp_path):
    sample = tmp_path / "options_sample.py"
    sample.write_text(SAMPLE)
    proc = run_mypy(sample, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = subprocess.run([sys.executable, str(sample)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_rejects_misused_options(tmp_path):
    assert_mypy_errors(BAD, tmp_path, "bad_options.py")
