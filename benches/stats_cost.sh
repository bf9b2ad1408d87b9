#!/usr/bin/env bash
# stats_cost.sh -- what statistics cost: libarenalloc.so built with stats (the default) against
# the same sources built with STATS=0 (-DARENALLOC_STATS=0), measured in one run.
#
#   benches/stats_cost.sh                   full run (a few minutes)
#   BENCH_QUICK=1 benches/stats_cost.sh     workloads at 1/10 of the work, 3 rounds
#   RUNS=11 benches/stats_cost.sh           rounds per workload (default 7)
#   BENCH_FILTER='pairs|batch' ...          only workloads whose id matches (grep -E)
#   SKIP_CALLGRIND=1 ...                    only the timed workloads
#
# 1. Builds both libraries: `make -C csrc BUILD=build` and `make -C csrc BUILD=build-nostats
#    STATS=0`, and checks that each says what it is (mallctl "config.stats").
# 2. Instructions per warm malloc(64)+free and mallocx(64,0)+sdallocx pair of each build:
#    benches/callgrind.sh with ARENALLOC_SO pointing at each (deterministic counts).
# 3. Static size of the exported fast-path entry points (instructions in `objdump -d`).
# 4. The C workloads of benches/compare.sh (its WORKLOADS table, read from that script so the two
#    never drift), each run under LD_PRELOAD of both builds, the order alternating every round;
#    best of RUNS for wall time and for CPU time. compare.sh itself has one column per allocator
#    and cannot hold two arenalloc builds, hence this loop.
#
# Cost = (stats on − stats off) / stats off, in %. Timings on a shared machine carry noise of a
# few %; the callgrind counts carry none. Output: markdown on stdout, progress on stderr, raw data
# in $OUT/results.tsv (OUT defaults to target/bench-stats).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-stats}
CC=${CC:-cc}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"
quick_mode 7
FILTER=${BENCH_FILTER:-.}
TIMEOUT=${TIMEOUT:-120}

mkdir -p "$OUT"

# ---- 1. the two builds ----
declare -A SO=([on]=$ROOT/csrc/build/libarenalloc.so [off]=$ROOT/csrc/build-nostats/libarenalloc.so)
log "building: make -C csrc BUILD=build; make -C csrc BUILD=build-nostats STATS=0"
make -C "$ROOT/csrc" BUILD=build >"$OUT/make-on.log" 2>&1 ||
    { log "make failed (see $OUT/make-on.log)"; tail -5 "$OUT/make-on.log" >&2; exit 1; }
make -C "$ROOT/csrc" BUILD=build-nostats STATS=0 >"$OUT/make-off.log" 2>&1 ||
    { log "make STATS=0 failed (see $OUT/make-off.log)"; tail -5 "$OUT/make-off.log" >&2; exit 1; }

cat >"$OUT/config_stats.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
int main(void) {
    mallctl_fn f = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
    bool v = false;
    size_t len = sizeof(v);
    if (!f || !dlsym(RTLD_DEFAULT, "arenalloc_malloc") || f("config.stats", &v, &len, 0, 0)) return 1;
    printf("%d\n", v);
    return 0;
}
EOF
$CC -O2 -o "$OUT/config_stats" "$OUT/config_stats.c" -ldl
for b in on off; do
    want=1
    [ $b = off ] && want=0
    got=$(LD_PRELOAD=${SO[$b]} "$OUT/config_stats" || echo "?")
    [ "$got" = $want ] || { log "${SO[$b]}: config.stats is $got, expected $want"; exit 1; }
done

echo "# Stats cost: arenalloc with statistics (\`csrc/build\`) vs without (\`csrc/build-nostats\`, STATS=0)"
echo
echo "Sources: $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown); $(uname -m), $(nproc) CPUs."
echo

# ---- 2. callgrind ----
if [ -z "${SKIP_CALLGRIND:-}" ]; then
    declare -A CG
    harness='?'
    for b in on off; do
        log "callgrind: stats $b"
        ALLOCATORS="arenalloc glibc" ARENALLOC_SO=${SO[$b]} OUT=$OUT/callgrind-$b \
            "$ROOT/benches/callgrind.sh" >"$OUT/callgrind-$b.md" 2>"$OUT/callgrind-$b.log" ||
            { log "benches/callgrind.sh failed (see $OUT/callgrind-$b.log)"; exit 1; }
        CG[$b]=$(awk -F'|' '$2 ~ /^ *arenalloc *$/ { gsub(/ /, ""); print $3, $4, $5, $6 }' "$OUT/callgrind-$b.md")
        harness=$(sed -n 's/.*harness (loop + two calls): \([0-9.]*\) instructions.*/\1/p' "$OUT/callgrind-$b.md")
    done
    echo "## Instructions per pair (callgrind, warm fast path)"
    echo
    echo "benches/callgrind.sh for each build; the figures include the harness ($harness instructions per pair)."
    echo
    echo "| pair | stats on | stats off | cost |"
    echo "| --- | ---: | ---: | ---: |"
    read -r -a on <<<"${CG[on]}"
    read -r -a off <<<"${CG[off]}"
    row() { # what on off
        awk -v w="$1" -v a="$2" -v b="$3" 'BEGIN {
            if (a + 0 > 0 && b + 0 > 0) printf "| %s | %s | %s | %+.1f %% (%+.1f instructions) |\n", w, a, b, (a - b) / b * 100, a - b
            else printf "| %s | %s | %s | – |\n", w, a, b }'
    }
    k=0
    for what in "malloc(64)+free, nothing else live" "malloc(64)+free, 16 × 64 B live" \
        "mallocx(64,0)+sdallocx(p,64,0), nothing else live" "mallocx+sdallocx, 16 × 64 B live"; do
        row "$what" "${on[$k]:-?}" "${off[$k]:-?}"
        k=$((k + 1))
    done
    echo

    # The same method on the whole pairs program at every size of compare.sh's pairs-*
    # workloads: (Ir(N2) − Ir(N1)) / (N2 − N1) over the entire process, so periodic work that
    # depends on the bytes allocated (the tcache GC event every opt.tcache_gc_incr_bytes) is
    # counted in proportion to the block size.
    $CC -O2 -g -Wall -Wextra -pthread -o "$OUT/pairs" "$ROOT/benches/c/pairs.c" -ldl
    PN1=50000 PN2=100000
    pairs_ir() { # build size n -> total instructions
        LD_PRELOAD=${SO[$1]} valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.pairs.$1.$2.$3" \
            "$OUT/pairs" "$2" "$3" >"$OUT/pairs.out" 2>"$OUT/pairs.err" ||
            { log "valgrind pairs $2 $3 (stats $1) failed: see $OUT/pairs.err"; exit 1; }
        grep -qx "allocator arenalloc" "$OUT/pairs.out" || { log "pairs not served by arenalloc"; exit 1; }
        awk '$1 == "summary:" { print $2 }' "$OUT/callgrind.pairs.$1.$2.$3"
    }
    echo "The whole \`benches/c/pairs SIZE N\` process under callgrind, per pair: (Ir(N=$PN2) − Ir(N=$PN1)) / $((PN2 - PN1))."
    echo
    echo "| malloc(SIZE)+free, benches/c/pairs | stats on | stats off | cost |"
    echo "| --- | ---: | ---: | ---: |"
    for size in 16 64 256 1024 4096 32768; do
        log "callgrind: pairs $size"
        declare -A PP=()
        for b in on off; do
            i1=$(pairs_ir $b $size $PN1)
            i2=$(pairs_ir $b $size $PN2)
            PP[$b]=$(awk -v a="$i1" -v b="$i2" -v n="$((PN2 - PN1))" 'BEGIN { printf "%.1f", (b - a) / n }')
        done
        row "$size B" "${PP[on]}" "${PP[off]}"
    done
    echo
fi

# ---- 3. static size of the entry points ----
# Instructions between a symbol's address and its end (nm -S): the inlined fast path plus the
# jumps to the slow paths. Writes each build's disassembly to $OUT/<function>-<on|off>.s, so
# `diff $OUT/free-off.s $OUT/free-on.s` shows what stats add.
ninsns() { # library function -> instruction count (and the .s file)
    local start size
    read -r start size < <(nm -D -S --defined-only "$1" | awk -v f="$2" '$4 == f { print $1, $2 }')
    [ -n "${start:-}" ] || { echo "–"; return; }
    objdump -d --no-show-raw-insn --start-address=0x"$start" \
        --stop-address="$(printf '0x%x' $((0x$start + 0x$size)))" "$1" |
        grep -E '^ +[0-9a-f]+:' | sed -E 's/^ +[0-9a-f]+:\s+//; s/ +#.*//; s/[0-9a-f]+ <[^>]*>/<target>/; s/-?0x[0-9a-f]+\(%rip\)/(%rip)/; s/ +/ /g' \
        >"$OUT/$2-$3.s"
    grep -cvE '^(nop|cs nop|xchg +%ax,%ax)' "$OUT/$2-$3.s" || true
}
if command -v objdump >/dev/null && command -v nm >/dev/null; then
    echo "## Entry points (instructions in \`objdump -d\`, nops left out)"
    echo
    echo "| function | stats on | stats off | only with stats |"
    echo "| --- | ---: | ---: | --- |"
    for f in malloc free mallocx sdallocx; do
        a=$(ninsns "${SO[on]}" $f on)
        b=$(ninsns "${SO[off]}" $f off)
        # shellcheck disable=SC2016 # backquotes for markdown, not expansions
        extra=$(diff "$OUT/$f-off.s" "$OUT/$f-on.s" 2>/dev/null | sed -n 's/^> //p' | grep -vE '^(nop|cs nop)' |
            sed 's/.*/`&`/' | paste -sd ' ' - || true)
        echo "| \`$f\` | $a | $b | ${extra:-–} |"
    done
    echo
fi

# ---- 4. the C workloads of compare.sh ----
# Read compare.sh's WORKLOADS table (a here-document with $Q in it) without running the script.
# shellcheck disable=SC2016 # a sed address, not an expansion
WORKLOADS=$(eval "$(sed -n '/^WORKLOADS=\$(cat <<EOF$/,/^)$/p' "$ROOT/benches/compare.sh")"
    printf '%s' "$WORKLOADS")
[ -n "$WORKLOADS" ] || { log "cannot read WORKLOADS from benches/compare.sh"; exit 1; }

build_c "$ROOT"/benches/c/*.c

RES=$OUT/results.tsv
: >"$RES"
run_one() { # wid build round cmd...
    local wid=$1 b=$2 r=$3 rc=0
    shift 3
    timeout "$TIMEOUT" env LD_PRELOAD="${SO[$b]}" "$@" >"$OUT/run.out" 2>"$OUT/run.err" || rc=$?
    if [ $rc != 0 ] || ! grep -qx "allocator arenalloc" "$OUT/run.out"; then
        log "  !! $wid, stats $b: exit $rc"
        tail -5 "$OUT/run.err" | sed 's/^/     /' >&2
        printf '%s\t%s\t%s\tstatus\tfailed\n' "$wid" "$b" "$r" >>"$RES"
        return 0
    fi
    awk -v w="$wid" -v b="$b" -v r="$r" -v OFS='\t' \
        '$1 == "time_ns" || $1 == "cpu_ns" { print w, b, r, $1, $2 }' "$OUT/run.out" >>"$RES"
}

started=$(date +%s)
while IFS='|' read -r wid desc cmd; do
    [ -n "$wid" ] || continue
    echo "$wid" | grep -Eq -- "$FILTER" || continue
    log "$wid: $desc"
    read -r prog args <<<"$cmd"
    for ((r = 0; r < RUNS; r++)); do
        if ((r % 2 == 0)); then order="on off"; else order="off on"; fi
        for b in $order; do
            # shellcheck disable=SC2086
            run_one "$wid" "$b" "$r" "$OUT/$prog" $args
        done
    done
done <<<"$WORKLOADS"
elapsed=$(($(date +%s) - started))

printf '%s\n' "$WORKLOADS" | awk -F'|' '{ print $1 "\t" $2 }' >"$OUT/workloads.tsv"
echo "## C workloads (compare.sh's), best of $RUNS, builds alternating"
echo
echo "Time of stats on in ms; cost = (on − off) / off. Positive: stats cost that much; within a"
echo "few % either way is the noise of a shared machine."
echo
awk -F'\t' -v runs="$RUNS" -v elapsed="$elapsed" '
FNR == NR { desc[$1] = $2; next }
{
    w = $1; b = $2; k = $4; v = $5 + 0
    if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
    if (k == "status") { bad[w] = 1; next }
    if (!((w, b, k) in best) || v < best[w, b, k]) best[w, b, k] = v
}
function cost(w, k) {
    if (!((w, "on", k) in best) || !((w, "off", k) in best)) return "–"
    c = (best[w, "on", k] - best[w, "off", k]) / best[w, "off", k] * 100
    if (c > worst[k] || worst_w[k] == "") { worst[k] = c; worst_w[k] = w }
    s[k] += log(best[w, "on", k] / best[w, "off", k]); n[k]++
    return sprintf("%+.1f %%", c)
}
END {
    print "| workload | wall: on | wall: off | wall cost | CPU: on | CPU: off | CPU cost |"
    print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for (x = 1; x <= nw; x++) {
        w = order[x]
        if (w in bad) { printf "| %s | **a run failed** | | | | | |\n", desc[w]; continue }
        printf "| %s | %.1f ms | %.1f ms | %s | %.1f ms | %.1f ms | %s |\n", desc[w],
            best[w, "on", "time_ns"] / 1e6, best[w, "off", "time_ns"] / 1e6, cost(w, "time_ns"),
            best[w, "on", "cpu_ns"] / 1e6, best[w, "off", "cpu_ns"] / 1e6, cost(w, "cpu_ns")
    }
    printf "| **geometric mean** | | | **%+.1f %%** | | | **%+.1f %%** |\n",
        n["time_ns"] ? (exp(s["time_ns"] / n["time_ns"]) - 1) * 100 : 0,
        n["cpu_ns"] ? (exp(s["cpu_ns"] / n["cpu_ns"]) - 1) * 100 : 0
    print ""
    printf "Largest cost: wall %+.1f %% (%s), CPU %+.1f %% (%s).\n", worst["time_ns"], worst_w["time_ns"], worst["cpu_ns"], worst_w["cpu_ns"]
    print ""
    print "(" runs " rounds per build and workload, alternating; " elapsed " s in all.)"
}' "$OUT/workloads.tsv" "$RES"
