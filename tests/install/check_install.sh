#!/bin/sh
# check_install.sh <build_dir> <source_dir> [config]
#
# Installs the weakcache build in <build_dir> into a temporary prefix, then
# builds the C examples (<source_dir>/examples/c) against that installed copy
#   1. as a CMake project using find_package(weakcache CONFIG REQUIRED)
#      (shared library, then WEAKCACHE_PREFER_STATIC=ON if libweakcache.a
#      was installed), and
#   2. with plain `cc $(pkg-config --cflags --libs weakcache)`,
# and runs every program, which must exit 0 and print "<name>: OK".
#
# Environment: CMAKE (cmake executable, default `cmake`), CC (C compiler,
# default `cc`), PKG_CONFIG (default `pkg-config`), KEEP_TMP=1 to keep the
# temporary directory. Registered with CTest as `install_consumer`.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 <build_dir> <source_dir> [config]" >&2
    exit 2
fi
build_dir=$1
source_dir=$2
config=${3:-}

CMAKE=${CMAKE:-cmake}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
examples="memoize sessions server"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-install-test.XXXXXX")
cleanup() {
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
    echo "check_install: FAIL: $*" >&2
    exit 1
}

step() {
    echo
    echo "== $*"
}

# Run program $1 (named $2) and require exit 0 and the line "$2: OK".
run_example() {
    prog=$1
    name=$2
    [ -x "$prog" ] || fail "$prog was not built"
    status=0
    "$prog" >"$tmp/out.txt" 2>&1 || status=$?
    if [ $status -ne 0 ]; then
        cat "$tmp/out.txt"
        fail "$prog exited with status $status"
    fi
    cat "$tmp/out.txt"
    grep -qx "$name: OK" "$tmp/out.txt" || fail "$prog did not print '$name: OK'"
}

# ----------------------------------------------------------------------
step "install $build_dir into a temporary prefix"
prefix=$tmp/prefix
if [ -n "$config" ]; then
    "$CMAKE" --install "$build_dir" --prefix "$prefix" --config "$config"
else
    "$CMAKE" --install "$build_dir" --prefix "$prefix"
fi

pc_file=$(find "$prefix" -name weakcache.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc_file" ] || fail "weakcache.pc was not installed"
libdir=$(dirname "$(dirname "$pc_file")")
[ -f "$prefix/include/weakcache.h" ] || fail "weakcache.h was not installed"
[ -f "$libdir/cmake/weakcache/weakcacheConfig.cmake" ] || fail "weakcacheConfig.cmake was not installed"
[ -f "$libdir/cmake/weakcache/weakcacheConfigVersion.cmake" ] || fail "weakcacheConfigVersion.cmake was not installed"
echo "installed files:"
(cd "$prefix" && find . -type f -o -type l | sort)

have_shared=0
have_static=0
[ -e "$libdir/libweakcache.so" ] && have_shared=1
[ -e "$libdir/libweakcache.a" ] && have_static=1
[ $have_shared = 1 ] || [ $have_static = 1 ] || fail "no libweakcache installed in $libdir"

# The shared library must export the wc_ API and nothing else.
if [ $have_shared = 1 ] && command -v nm >/dev/null 2>&1; then
    step "exported symbols of libweakcache.so"
    nm -D --defined-only "$libdir/libweakcache.so" | awk '{print $3}' | sort >"$tmp/syms.txt"
    cat "$tmp/syms.txt" | tr '\n' ' '
    echo
    grep -qx wc_cache_new "$tmp/syms.txt" || fail "wc_cache_new is not exported"
    if grep -v '^wc_' "$tmp/syms.txt" | grep -v '^_init$' | grep -v '^_fini$' | grep -q .; then
        fail "libweakcache.so exports non-wc_ symbols: $(grep -v '^wc_' "$tmp/syms.txt" | tr '\n' ' ')"
    fi
fi

# ----------------------------------------------------------------------
# 1. CMake consumer: find_package(weakcache CONFIG REQUIRED)
cmake_consumer() {
    variant=$1
    shift
    bdir=$tmp/cmake-$variant
    step "CMake consumer ($variant): configure examples/c with CMAKE_PREFIX_PATH=$prefix"
    "$CMAKE" -S "$source_dir/examples/c" -B "$bdir" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_COMPILER="$CC" \
        -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        "$@"
    found=$(sed -n 's/^weakcache_DIR:PATH=//p' "$bdir/CMakeCache.txt")
    case "$found" in
        "$prefix"/*) ;;
        *) fail "find_package found weakcache in '$found', not under $prefix" ;;
    esac
    step "CMake consumer ($variant): build"
    "$CMAKE" --build "$bdir"
    for ex in $examples; do
        step "CMake consumer ($variant): run $ex"
        run_example "$bdir/$ex" "$ex"
        if command -v ldd >/dev/null 2>&1; then
            linked=$(ldd "$bdir/$ex" | sed -n 's/.*libweakcache[^ ]* => \([^ ]*\).*/\1/p')
            if [ "$variant" = static ]; then
                [ -z "$linked" ] || fail "$ex ($variant) is linked to $linked"
            else
                case "$linked" in
                    "$libdir"/*) ;;
                    *) fail "$ex ($variant) uses libweakcache from '$linked', not $libdir" ;;
                esac
            fi
        fi
    done
}

if [ $have_shared = 1 ]; then
    cmake_consumer shared
fi
if [ $have_static = 1 ]; then
    cmake_consumer static -DWEAKCACHE_PREFER_STATIC=ON
fi

# ----------------------------------------------------------------------
# 2. pkg-config consumer
step "pkg-config consumer"
PKG_CONFIG_PATH=$libdir/pkgconfig
PKG_CONFIG_LIBDIR=$libdir/pkgconfig
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR
"$PKG_CONFIG" --exists --print-errors weakcache || fail "pkg-config cannot find weakcache"
echo "version: $("$PKG_CONFIG" --modversion weakcache)"
pc_flags=$("$PKG_CONFIG" --cflags --libs weakcache)
echo "flags:   $pc_flags"
pc_incdir=$("$PKG_CONFIG" --variable=includedir weakcache)
pc_libdir=$("$PKG_CONFIG" --variable=libdir weakcache)
[ -d "$pc_incdir" ] && [ "$(cd "$pc_incdir" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] \
    || fail "pkg-config includedir '$pc_incdir' is not $prefix/include"
[ -d "$pc_libdir" ] && [ "$(cd "$pc_libdir" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] \
    || fail "pkg-config libdir '$pc_libdir' is not $libdir"
mkdir -p "$tmp/pc"
for ex in $examples; do
    step "pkg-config consumer: build and run $ex"
    threads=""
    [ "$ex" = server ] && threads=-pthread   # the example's own threads
    # shellcheck disable=SC2086  # word splitting of the flags is intended
    "$CC" -std=c11 -Wall -Wextra -O2 $threads -o "$tmp/pc/$ex" \
        "$source_dir/examples/c/$ex.c" $pc_flags
    LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
    run_example "$tmp/pc/$ex" "$ex"
done

echo
echo "check_install: all consumers built and ran against $prefix"
