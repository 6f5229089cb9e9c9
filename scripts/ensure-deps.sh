#!/usr/bin/env bash
# Installs the Debian packages the build needs, if they are missing:
# uthash-dev (wc_bench's baseline), check (C tests), pkg-config, valgrind, cmake, ninja.
set -euo pipefail
need=()
[ -f /usr/include/uthash.h ] || need+=(uthash-dev)
[ -f /usr/include/check.h ] || need+=(check)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
