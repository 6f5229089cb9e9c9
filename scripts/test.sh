#!/usr/bin/env bash
# Quick start, command 2: every test, C and Python.
#   1. C core, `dev` preset (-Werror), ctest (unit, model, install tests)
#   2. C core, `sanitize` preset (ASan+UBSan), ctest
#   3. C tests under valgrind memcheck (CK_FORK=no), no errors, no leaks
#   3b. C: `tsan` preset (ThreadSanitizer), the threaded tests and the
#      examples that use threads (ctest -L threads)
#   4. Python suite on each interpreter in $PYTHONS (default: every CPython
#      3.10-3.13, from pyenv or PATH; a missing one is an error), each in its
#      own venv under build/, with the real pydantic, attrs, hypothesis and
#      pytest-xdist from PyPI (the `test` extra)
#   5. Python suite against an ASan+UBSan build of the extension
#   6. sdist: `python -m build --sdist`, pip-installed into a fresh venv,
#      smoke-tested there
# Set WC_SKIP=asan,valgrind,tsan,... to leave steps out while iterating
# (c, sanitize, valgrind, tsan, python, asan, sdist).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
skip=",${WC_SKIP:-},"
step() { printf '\n=== %s\n' "$*"; }

if [[ $skip != *,c,* ]]; then
    step "C: dev preset (warnings are errors)"
    cmake --preset dev >/dev/null
    cmake --build --preset dev
    ctest --preset dev --output-on-failure
fi
if [[ $skip != *,sanitize,* ]]; then
    step "C: sanitize preset (ASan + UBSan)"
    cmake --preset sanitize >/dev/null
    cmake --build --preset sanitize
    ctest --preset sanitize --output-on-failure
fi
if [[ $skip != *,valgrind,* ]]; then
    step "C: valgrind memcheck"
    [ -d build/dev ] || { cmake --preset dev >/dev/null && cmake --build --preset dev; }
    bash tests/c/run_valgrind.sh build/dev
fi

if [[ $skip != *,tsan,* ]]; then
    step "C: tsan preset (ThreadSanitizer), threaded tests"
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan
    ctest --preset tsan --output-on-failure -L threads
fi

SUPPORTED_PYTHONS="3.10 3.11 3.12 3.13"
find_pythons() {
    local v p found
    for v in $SUPPORTED_PYTHONS; do
        found=""
        for p in /root/.pyenv/versions/$v.*/bin/python "$(command -v python$v || true)"; do
            if [ -x "$p" ]; then found=$p; break; fi
        done
        if [ -z "$found" ]; then
            echo "scripts/test.sh: no CPython $v found (pyenv or PATH); set PYTHONS to choose" >&2
            return 1
        fi
        echo "$found"
    done
}
if [ -z "${PYTHONS:-}" ] && [[ $skip != *,python,* ]]; then
    PYTHONS=$(find_pythons | tr '\n' ' ')
fi
pythons=${PYTHONS:-}

# The suite runs on every core (pytest-xdist, from the `test` extra); set
# WC_PYTEST_WORKERS=0 to run it in one process.
workers=${WC_PYTEST_WORKERS:-$(nproc 2>/dev/null || echo 1)}
run_pytest() {  # venv-dir, extra env...
    local venv=$1; shift
    local par=()
    [ "$workers" -gt 1 ] && par=(-n "$workers")
    (cd tests/python && env "$@" "$OLDPWD/$venv/bin/python" -m pytest -q -p no:cacheprovider "${par[@]}")
}

if [[ $skip != *,python,* ]]; then
    for py in $pythons; do
        ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        venv=build/venv-$ver
        step "Python $ver ($py)"
        [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$venv/bin/python" -m pip install -q ".[test]" >/dev/null
        run_pytest "$venv"
    done
fi

if [[ $skip != *,asan,* ]]; then
    step "Python suite against the ASan+UBSan build of the extension"
    py=$(command -v python3)
    venv=build/venv-asan
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install -q ".[test]" \
        -Ccmake.define.WC_SANITIZE=ON -Ccmake.build-type=Debug \
        -Cbuild-dir=build/asan-{wheel_tag} >/dev/null
    # The interpreter is not instrumented: preload the ASan runtime. Leak
    # detection is off because CPython deliberately keeps memory at exit;
    # our own leaks are covered by the allocated-blocks tests. CPython's
    # debug allocator fills freed blocks, so that a use after free inside the
    # (uninstrumented) interpreter, on an object we released too early,
    # crashes instead of reading stale memory (tests/python/test_lru_flat.py).
    run_pytest "$venv" PYTHONMALLOC=debug LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 WC_TEST_SLOW_OK=1
fi
if [[ $skip != *,sdist,* ]]; then
    step "sdist: build, install into a fresh venv, smoke test"
    py=$(command -v python3)
    tools=build/venv-tools
    [ -x "$tools/bin/python" ] || "$py" -m venv "$tools"
    "$tools/bin/python" -m pip install -q --upgrade pip build >/dev/null
    rm -rf build/sdist build/venv-sdist
    "$tools/bin/python" -m build --sdist -o build/sdist . >/dev/null
    "$py" -m venv build/venv-sdist
    build/venv-sdist/bin/python -m pip install -q build/sdist/weakcache-*.tar.gz >/dev/null
    (cd build && venv-sdist/bin/python "$OLDPWD/tests/smoke/sdist_smoke.py")
fi
step "all tests passed"
