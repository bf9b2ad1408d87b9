#!/usr/bin/env bash
# callgrind.sh -- instructions per malloc(64)+free pair on the warm fast path, per allocator.
#
#   benches/callgrind.sh                   every allocator found, N1=100000, N2=200000
#   ALLOCATORS='arenalloc jemalloc' ...    a subset (also ARENALLOC_SO / JEMALLOC_SO / ... as in
#                                          compare.sh; ARENALLOC_SO skips `make -C csrc`)
#   N1=... N2=...                          the two loop lengths
#
# benches/c/fastpath.c runs the pair in a loop inside bench_*(); valgrind --tool=callgrind
# collects only inside that function (--toggle-collect), once with N1 and once with N2 pairs,
# and the figure is (Ir(N2) - Ir(N1)) / (N2 - N1): start-up, warm-up and the call into the loop
# cancel, leaving the amortised cost of one pair including any periodic slow path. Instruction
# counts do not depend on machine load, so the figures are repeatable.
#
# Each figure includes the harness: the loop, the two calls and returns (through the PLT for
# malloc/free, through a pointer for mallocx/sdallocx). The "harness" line measures that
# alone with two do-nothing functions.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-c}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"
CC=${CC:-cc}
N1=${N1:-100000}
N2=${N2:-200000}
ALLOCATORS=${ALLOCATORS:-arenalloc jemalloc mimalloc tcmalloc glibc}

mkdir -p "$OUT"
command -v valgrind >/dev/null || { log "valgrind not found (apt-get install valgrind)"; exit 1; }


declare -A SO
# shellcheck disable=SC2086 # a list of names
find_allocators $ALLOCATORS

EXE=$OUT/fastpath
$CC -O2 -g -Wall -Wextra -pthread -o "$EXE" "$ROOT/benches/c/fastpath.c" -ldl

# ir ALLOC API LIVE N -> collected instruction count, or a word saying why there is none
ir() {
    local a=$1 api=$2 live=$3 n=$4 rc=0 cg=$OUT/callgrind.out.$1.$2.$3.$4
    local pre=()
    [ "${SO[$a]}" = none ] || pre=(env LD_PRELOAD="${SO[$a]}")
    "${pre[@]}" valgrind --tool=callgrind --toggle-collect="bench_$api" \
        --callgrind-out-file="$cg" "$EXE" "$api" "$live" "$n" \
        >"$OUT/fastpath.out" 2>"$OUT/fastpath.err" || rc=$?
    if grep -qx absent "$OUT/fastpath.out"; then echo absent; return; fi
    if [ $rc != 0 ]; then
        log "  !! $a $api live=$live N=$n: exit $rc (valgrind log: $OUT/fastpath-$a-$api-$live.err)"
        tail -5 "$OUT/fastpath.err" | sed 's/^/     /' >&2
        cp "$OUT/fastpath.err" "$OUT/fastpath-$a-$api-$live.err"
        echo "exit-$rc"
        return
    fi
    local served
    served=$(awk '$1 == "allocator" { print $2 }' "$OUT/fastpath.out")
    if [ "$served" != "$a" ] && [ "$api" != empty ]; then echo "served-by-$served"; return; fi
    awk '$1 == "summary:" { print $2 }' "$cg"
}

per_pair() { # ALLOC API LIVE -> instructions per pair
    local s1 s2
    s1=$(ir "$1" "$2" "$3" "$N1")
    case $s1 in *[!0-9]*) echo "$s1"; return ;; esac
    s2=$(ir "$1" "$2" "$3" "$N2")
    case $s2 in *[!0-9]*) echo "$s2"; return ;; esac
    awk -v a="$s1" -v b="$s2" -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }'
}

log "callgrind: ${ACTIVE[*]} (N1=$N1, N2=$N2)"
harness=$(per_pair glibc empty 0)
echo "Instructions per pair on the warm fast path (callgrind, (Ir(N2) − Ir(N1)) / (N2 − N1), N1=$N1, N2=$N2)."
echo "Figures include the harness (loop + two calls): $harness instructions with do-nothing functions."
echo
echo "| allocator | malloc(64)+free, nothing else live | malloc(64)+free, 16 × 64 B live | mallocx(64,0)+sdallocx(p,64,0), nothing else live | mallocx+sdallocx, 16 × 64 B live |"
echo "| --- | ---: | ---: | ---: | ---: |"
for a in "${ACTIVE[@]}"; do
    log "  $a"
    row="| $a |"
    for v in "malloc 0" "malloc 16" "mallocx 0" "mallocx 16"; do
        # shellcheck disable=SC2086
        x=$(per_pair "$a" $v)
        [ "$x" = absent ] && x="–"
        row="$row $x |"
    done
    echo "$row"
done
