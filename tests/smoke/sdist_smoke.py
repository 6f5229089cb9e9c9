"""Smoke test of weakcache installed from its sdist into a fresh venv.

Run by scripts/test.sh (step "sdist") with that venv's interpreter, outside
the source tree, so it sees only what the sdist built and installed.
"""
from __future__ import annotations

import gc
import importlib.metadata
import pathlib
import subprocess
import sys
import weakref

import weakcache


def main() -> int:
    here = pathlib.Path(weakcache.__file__).resolve()
    assert "site-packages" in here.parts, f"imported from the source tree: {here}"
    version = importlib.metadata.version("weakcache")
    assert weakcache.__version__ == version == weakcache.build_info()["core"], version

    class Repo:
        @weakcache.lru_cache(maxsize=16)
        def lookup(self, key: int) -> int:
            return key * 2

        @weakcache.cached_property
        def name(self) -> str:
            return "repo"

    gc.disable()   # the instance must die by reference counting alone
    try:
        repo = Repo()
        assert repo.lookup(21) == 42 and repo.lookup(21) == 42
        assert repo.lookup.cache_info().hits == 1
        assert repo.name == "repo"
        ref = weakref.ref(repo)
        del repo
        assert ref() is None, "the instance outlived its last reference"
    finally:
        gc.enable()
    out = subprocess.run([sys.executable, "-m", "weakcache"], capture_output=True, text=True,
                         check=True).stdout
    assert f"weakcache {version}" in out, out
    print(f"sdist smoke test passed: weakcache {version} from {here.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
