#!/bin/sh
# Instructions per hit, repeatable on a noisy machine: runs wc_bench
# --callgrind (section a at 65,536 entries, one round of 100,000 random hits
# per variant, no warm-up) under callgrind and divides each hit loop's
# inclusive instruction count by the number of hits.
#   bench/c/callgrind.sh [build/release/bench/c/wc_bench]
set -eu
bench=${1:-build/release/bench/c/wc_bench}
out=$(mktemp /tmp/wc-callgrind.XXXXXX)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" --callgrind >/dev/null 2>&1
# hits_ut_find runs once (the uthash baseline); hits_wc_int runs four times
# (LRU, SIEVE, LRU thread-safe, SIEVE thread-safe), so its count is the
# average of the four; mutex_lock/mutex_unlock are the thread-safe
# variants' lock hooks (200,000 locked hits).
callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    awk -v n=100000 '
        { gsub(",", "", $1) }
        /:hits_ut_find/ { ut = $1 }
        /:hits_wc_int/ { wc = $1 }
        /\?\?\?:mutex_lock / || /:mutex_lock \[/ { lk += $1 }
        /\?\?\?:mutex_unlock / || /:mutex_unlock \[/ { lk += $1 }
        END {
            printf "uthash HASH_FIND:                     %6.1f instructions/hit\n", ut / n
            printf "wc_get int key (avg of 4 variants):   %6.1f instructions/hit\n", wc / (4 * n)
            printf "  of which lock+unlock per locked hit: %6.1f instructions\n", lk / (2 * n)
            printf "  so unlocked wc_get:                 %6.1f instructions/hit\n", (wc - lk) / (4 * n)
        }'
