#!/usr/bin/env bash
# Quick start, command 2: every test, C and Python.
#   1. C core, `dev` preset (-Werror), ctest (unit, model, install tests)
#   2. C core, `sanitize` preset (ASan+UBSan), ctest
#   3. C tests under valgrind memcheck (CK_FORK=no), no errors, no leaks
#   3b. C: `tsan` preset (ThreadSanitizer), the threaded tests and the
#      examples that use threads (ctest -L threads)
#   4. Python suite on each interpreter in $PYTHONS (default: python3 plus
#      3.9 and 3.13 from pyenv), each in its own venv under build/
#   5. Python suite against an ASan+UBSan build of the extension
# Set WC_SKIP=asan,valgrind,tsan,... to leave steps out while iterating
# (c, sanitize, valgrind, tsan, python, asan).
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

find_pythons() {
    local p
    echo "$(command -v python3)"
    for v in 3.9 3.13; do
        for p in /root/.pyenv/versions/$v.*/bin/python "$(command -v python$v || true)"; do
            if [ -x "$p" ]; then echo "$p"; break; fi
        done
    done
}
pythons=${PYTHONS:-$(find_pythons | tr '\n' ' ')}

run_pytest() {  # venv-dir, extra env...
    local venv=$1; shift
    (cd tests/python && env "$@" "$OLDPWD/$venv/bin/python" -m pytest -q -p no:cacheprovider)
}

if [[ $skip != *,python,* ]]; then
    for py in $pythons; do
        ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        venv=build/venv-$ver
        step "Python $ver ($py)"
        [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$venv/bin/python" -m pip install -q ".[test]" typing_extensions >/dev/null
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
    # our own leaks are covered by the allocated-blocks tests.
    run_pytest "$venv" LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 WC_TEST_SLOW_OK=1
fi
step "all tests passed"
