#!/usr/bin/env bash
# arenas.sh -- programmable arenas (explicit arenas, explicit thread caches, arena reset and
# destroy) under arenalloc and jemalloc, side by side in one run.
#
#   benches/arenas.sh                       5 rounds (~15 s)
#   BENCH_QUICK=1 benches/arenas.sh         1/10 of the work, 3 rounds (a few seconds)
#   RUNS=9 benches/arenas.sh                rounds (default 5)
#   BENCH_FILTER='cycle|reset' ...          only modes whose id matches (grep -E)
#   ALLOCATORS='arenalloc jemalloc glibc'   others, in this order; the first is the baseline
#                                           (an allocator without mallctl/mallocx shows
#                                           `unsupported`)
#   REPORT_ONLY=1 benches/arenas.sh         print the table again from $OUT/results.tsv
#   JEMALLOC_SO=/path/libjemalloc.so ...    override a library (also ARENALLOC_SO, which skips
#                                           `make -C csrc`)
#
# benches/c/arenas.c is written against jemalloc's API only (mallctl, mallocx, sdallocx looked
# up with dlsym), built with cc -O2 and run under LD_PRELOAD of each allocator: every mode once
# per allocator per round, the allocators in a rotating order, RUNS rounds, so that a burst of
# load on the machine hits all of them alike. The table gives the best CPU and wall time per
# allocator (arenalloc's per operation or per cycle, the others as a ratio: > 1 means arenalloc
# is faster) and the median peak / final RSS. MALLOC_CONF and ARENALLOC_MALLOC_CONF are cleared.
# A crash, a hang (TIMEOUT s, default 60), a non-zero exit (e.g. a wrong result found by the
# program's checks) or another malloc than the one preloaded is printed in the table in bold,
# and the program's stderr is kept in $OUT/fail-<mode>-<allocator>.err.
#
# Output: markdown on stdout, progress on stderr, raw data in $OUT/results.tsv (mode, allocator,
# round, key, value); OUT defaults to target/bench-arenas.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-arenas}
# (SC1091: plain `shellcheck` does not follow the source; `shellcheck -x` from the root does.)
# shellcheck source=benches/lib.sh disable=SC1091
. "$ROOT/benches/lib.sh"
CC=${CC:-cc}
quick_mode 5
FILTER=${BENCH_FILTER:-.}
TIMEOUT=${TIMEOUT:-60}
ALLOCATORS=${ALLOCATORS:-arenalloc jemalloc}

mkdir -p "$OUT"

# ---- modes: id | description | arguments of benches/c/arenas.c ($Q divides the work) ----
MODES=$(cat <<EOF
auto|automatic arena + thread cache, flags 0 (reference)|auto $((2000000 / Q))
pairs|explicit arena per thread, MALLOCX_TCACHE_NONE|pairs $((2000000 / Q))
tcache|explicit arena + explicit cache per thread|tcache $((2000000 / Q))
cycle|arenas.create, 4 MiB in 16–1024 B pieces, arena.<i>.destroy|cycle $((200 / Q))
reset|one arena, 4 MiB in 16–1024 B pieces, arena.<i>.reset|reset $((200 / Q))
EOF
)

# ---- the allocators' libraries ----
declare -A SO
if [ -z "${REPORT_ONLY:-}" ]; then
    # shellcheck disable=SC2086 # a list of names
    find_allocators $ALLOCATORS
else
    read -r -a ACTIVE <<<"$ALLOCATORS"
fi
[ ${#ACTIVE[@]} -gt 0 ] || { log "no allocator to compare"; exit 1; }
BASE=${ACTIVE[0]}

# ---- run ----
RES=$OUT/results.tsv
run_one() { # mode alloc round args...
    local m=$1 a=$2 r=$3 status=ok rc=0 outf=$OUT/run.out errf=$OUT/run.err
    shift 3
    local envs=(-u MALLOC_CONF -u ARENALLOC_MALLOC_CONF)
    [ "${SO[$a]}" != none ] && envs+=("LD_PRELOAD=${SO[$a]}")
    timeout "$TIMEOUT" env "${envs[@]}" "$OUT/arenas" "$@" >"$outf" 2>"$errf" || rc=$?
    if [ $rc = 124 ]; then
        status="timeout(${TIMEOUT}s)"
    elif [ $rc -gt 128 ]; then
        status="signal-$((rc - 128))"
    elif [ $rc != 0 ]; then
        status="exit-$rc"
    elif ! grep -q " allocator=$a " "$outf"; then
        status="served-by-$(sed -n 's/.* allocator=\([^ ]*\).*/\1/p' "$outf")"
    elif grep -q ' unsupported=' "$outf"; then
        status=unsupported
    fi
    if [ "$status" != ok ] && [ "$status" != unsupported ]; then
        log "  !! $m under $a: $status ($*)"
        [ -s "$errf" ] && tail -5 "$errf" | sed 's/^/     /' >&2
        cp "$errf" "$OUT/fail-$m-$a.err" 2>/dev/null || true
    fi
    printf '%s\t%s\t%s\tstatus\t%s\n' "$m" "$a" "$r" "$status" >>"$RES"
    if [ "$status" = ok ]; then
        tr ' ' '\n' <"$outf" | awk -F= -v m="$m" -v a="$a" -v r="$r" -v OFS='\t' \
            'NF == 2 && $1 != "mode" && $1 != "allocator" { print m, a, r, $1, $2 }' >>"$RES"
    fi
    return 0
}

if [ -n "${REPORT_ONLY:-}" ]; then
    [ -s "$RES" ] || { log "no $RES to report"; exit 1; }
    elapsed='?'
else
    exe=$OUT/arenas
    build_c "$ROOT/benches/c/arenas.c"
    : >"$RES"
    rm -f "$OUT"/fail-*.err
    started=$(date +%s)
    n=${#ACTIVE[@]}
    for ((r = 0; r < RUNS; r++)); do
        log "round $((r + 1))/$RUNS"
        while IFS='|' read -r m _ args; do
            [ -n "$m" ] || continue
            echo "$m" | grep -Eq -- "$FILTER" || continue
            for ((k = 0; k < n; k++)); do
                a=${ACTIVE[$(((r + k) % n))]}
                # shellcheck disable=SC2086
                run_one "$m" "$a" "$r" $args
            done
        done <<<"$MODES"
    done
    elapsed=$(($(date +%s) - started))
fi

# ---- report ----
printf '%s\n' "$MODES" | awk -F'|' '{ print $1 "\t" $2 }' >"$OUT/modes.tsv"
awk -F'\t' -v base="$BASE" -v allocs="${ACTIVE[*]}" -v runs="$RUNS" -v elapsed="$elapsed" '
function median(list,   v, m, i, j, t) {
    m = split(list, v, " ")
    for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
function mib(kb) { return sprintf("%.1f", kb / 1024) }
# arenalloc'"'"'s figure: per op (pair modes) or per cycle (cycle modes), from a total in ns
# (wall time of the pair modes per operation of one thread: the threads run side by side)
function per(m, t, key) {
    if (cyc[m]) return sprintf("%.2f ms/cycle", t / unit[m] / 1e6)
    return sprintf("%.1f ns/op", t / unit[m] * (key == "time_ns" ? nthr[m] : 1))
}
function ok(m, a) { return ((m, a, "time_ns") in best) && !((m, a) in bad) }
function timecell(m, a, key) {
    if ((m, a) in bad) return "**" bad[m, a] "**"
    if (!ok(m, a)) return "–"
    if (a == base) return per(m, best[m, a, key], key)
    if (!ok(m, base)) return per(m, best[m, a, key], key)
    return sprintf("%.2f×", best[m, a, key] / best[m, base, key])
}
function rsscell(m, key,   i, a, s) {
    s = ""
    for (i = 1; i <= na; i++) {
        a = al[i]
        s = s (i > 1 ? " / " : "") (((m, a, key) in vals && !((m, a) in bad)) ? mib(median(vals[m, a, key])) : "–")
    }
    return s
}
FNR == NR { desc[$1] = $2; next }
{
    m = $1; a = $2; k = $4; v = $5
    if (!(m in seen)) { seen[m] = 1; order[++nm] = m }
    if (k == "status") { if (v != "ok") bad[m, a] = v; next }
    if (k == "time_ns" || k == "cpu_ns") {
        if (!((m, a, k) in best) || v + 0 < best[m, a, k]) best[m, a, k] = v + 0
        if (!((m, a, k) in worst) || v + 0 > worst[m, a, k]) worst[m, a, k] = v + 0
    }
    if (k == "cycles") { cyc[m] = 1; unit[m] = v }
    if (k == "ops" && !cyc[m]) unit[m] = v
    if (k == "threads") nthr[m] = v
    vals[m, a, k] = vals[m, a, k] " " v
}
END {
    na = split(allocs, al, " ")
    others = ""
    for (i = 2; i <= na; i++) others = others (i > 2 ? ", " : "") al[i]
    hdr = "| mode | what |"; rule = "| --- | --- |"
    for (c = 1; c <= 2; c++) {
        clk = (c == 1) ? "cpu" : "wall"
        for (i = 1; i <= na; i++) {
            hdr = hdr " " (i == 1 ? al[i] " " clk : al[i] " ÷ " base " (" clk ")") " |"
            rule = rule " ---: |"
        }
    }
    rss = ""
    for (i = 1; i <= na; i++) rss = rss (i > 1 ? " / " : "") al[i]
    hdr = hdr " peak RSS, MiB (" rss ") | final RSS, MiB (" rss ") | spread |"
    rule = rule " ---: | ---: | ---: |"
    q = "\047"
    printf "Best of %s runs: %s%ss time per operation (one mallocx + one sdallocx) or per cycle", runs, base, q
    if (others != "") printf ", %s as a ratio to it (> 1: %s is faster)", others, base
    printf ". cpu: CPU time (pair modes: the sum of the worker threads%s clocks; cycle modes: ", q
    printf "the process%ss) ÷ all operations; wall: CLOCK_MONOTONIC ÷ the operations of one thread ", q
    printf "(the pair modes run 2 threads side by side). RSS: median of the runs. spread: the largest "
    printf "(slowest − fastest) ÷ median CPU time of the row%ss allocators, a noise gauge.\n", q
    print ""
    print hdr; print rule
    for (x = 1; x <= nm; x++) {
        m = order[x]; line = "| " m " | " desc[m] " |"
        for (i = 1; i <= na; i++) line = line " " timecell(m, al[i], "cpu_ns") " |"
        for (i = 1; i <= na; i++) line = line " " timecell(m, al[i], "time_ns") " |"
        line = line " " rsscell(m, "peak_rss_kb") " | " rsscell(m, "final_rss_kb") " |"
        sp = ""
        for (i = 1; i <= na; i++) {
            a = al[i]
            if (!ok(m, a)) continue
            s = (worst[m, a, "cpu_ns"] - best[m, a, "cpu_ns"]) / median(vals[m, a, "cpu_ns"])
            if (sp == "" || s > sp) sp = s
        }
        line = line " " (sp == "" ? "–" : sprintf("%.0f %%", 100 * sp)) " |"
        print line
    }
    # where the time of a cycle goes: inside arenas.create + destroy/reset, the rest is mallocx
    first = 1
    for (x = 1; x <= nm; x++) {
        m = order[x]
        if (!cyc[m]) continue
        for (i = 1; i <= na; i++) {
            a = al[i]
            if (!((m, a, "ctl_ns_per_cycle") in vals) || (m, a) in bad) continue
            if (first) {
                printf "\nMedian wall time per cycle inside `arenas.create` + `arena.<i>.destroy`/`reset`:"
                first = 0
            } else printf ";"
            printf " %s %s %.2f ms", m, a, median(vals[m, a, "ctl_ns_per_cycle"]) / 1e6
        }
    }
    if (!first) print "."
    print ""
    printf "(%s rounds, allocators interleaved; %s s in all. final RSS: pair modes after every ", runs, elapsed
    print "object is freed, cycle modes after the last destroy/reset.)"
}' "$OUT/modes.tsv" "$RES"
