#!/bin/sh
# Run every C test executable under valgrind memcheck.
#
#   tests/c/run_valgrind.sh BUILD_DIR
#
# check runs without fork (CK_FORK=no) so valgrind sees the tests themselves,
# and WC_TEST_QUICK=1 scales the randomized tests down. Any memcheck error,
# any definite or indirect leak, and any failing test make the script exit
# non-zero. Extra valgrind options can be passed in WC_VALGRIND_ARGS.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
build=$1
if [ ! -d "$build" ]; then
    echo "$0: $build is not a directory" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "$0: valgrind not found" >&2
    exit 2
fi

suites="cache owner reentrancy oom model bytes hash contract threads policy hitpath"
status=0

for suite in $suites; do
    name=test_$suite
    # Prefer the tests/c build directory; multi-config generators add a
    # per-configuration subdirectory, hence find.
    exe=$(find "$build" -type f -name "$name" -path "*tests/c*" -perm -u+x 2>/dev/null | head -n 1)
    if [ -z "$exe" ]; then
        exe=$(find "$build" -type f -name "$name" -perm -u+x 2>/dev/null | head -n 1)
    fi
    if [ -z "$exe" ]; then
        echo "FAIL: $name not found under $build (build the tests first)" >&2
        status=1
        continue
    fi
    echo "== valgrind $exe"
    # shellcheck disable=SC2086
    if CK_FORK=no WC_TEST_QUICK=1 valgrind \
            --error-exitcode=1 \
            --leak-check=full \
            --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect \
            --quiet \
            ${WC_VALGRIND_ARGS:-} \
            "$exe"; then
        echo "ok: $name"
    else
        echo "FAIL: $name (exit status $?)" >&2
        status=1
    fi
done

if [ $status -eq 0 ]; then
    echo "valgrind: all C test suites clean"
fi
exit $status
