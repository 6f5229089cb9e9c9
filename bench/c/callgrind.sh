#!/bin/sh
# Instructions per hit, repeatable on a noisy machine: runs
# `wc_bench --callgrind=N` (section a at N entries, one round of 100,000
# random hits per variant, no warm-up) under callgrind, collecting only
# inside the hit loops, and divides each loop's instruction count by the
# number of hits. Every loop does the same bench-side work (read the access
# order, the hash and the key; sum the values), so the counts compare the
# lookups themselves.
#   bench/c/callgrind.sh [WC_BENCH [N...]]
#   default: build/release/bench/c/wc_bench 1000 65536 1000000
set -eu
bench=${1:-build/release/bench/c/wc_bench}
[ $# -gt 0 ] && shift
sizes=${*:-1000 65536 1000000}
out=$(mktemp /tmp/wc-callgrind.XXXXXX)
trap 'rm -f "$out"' EXIT
printf '%-9s %8s %8s %8s %8s %8s %8s %10s\n' entries "uthash" "wc LRU" "wc SIEVE" \
    "LRU+ts" "SIEVE+ts" "boxed" "SIEVE/ut"
for n in $sizes; do
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect='hits_*' "$bench" --callgrind="$n" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
        awk -v n="$n" -v hits=100000 '
            { gsub(",", "", $1) }
            /:hits_ut_find[ .]/ { ut = $1 }
            /:hits_wc_lru[ .]/ { lru = $1 }
            /:hits_wc_sieve[ .]/ { sieve = $1 }
            /:hits_wc_lru_ts[ .]/ { lts = $1 }
            /:hits_wc_sieve_ts[ .]/ { sts = $1 }
            /:hits_wc_boxed[ .]/ { boxed = $1 }
            END {
                printf "%-9s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %9.2fx\n", n,
                    ut / hits, lru / hits, sieve / hits, lts / hits, sts / hits,
                    boxed / hits, sieve / ut
            }'
done
echo "(instructions per hit, callgrind; ts = WC_THREAD_SAFE, single thread)"
