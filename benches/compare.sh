#!/usr/bin/env bash
# compare.sh -- C workloads (benches/c/*.c) under LD_PRELOAD of each allocator, side by side.
#
#   benches/compare.sh                      full run (a couple of minutes)
#   BENCH_QUICK=1 benches/compare.sh        shorter workloads, 3 runs each (well under a minute)
#   RUNS=9 benches/compare.sh               runs per workload and allocator (default 5)
#   BENCH_FILTER='pairs|larson' ...         only workloads whose id matches (grep -E)
#   ALLOCATORS='arenalloc jemalloc' ...     a subset, in this order; the first is the baseline
#   CLOCK=cpu benches/compare.sh            rank by the process's CPU time (all threads, user +
#                                           system) instead of wall time: on a busy machine time
#                                           spent descheduled then does not count; CLOCK=both
#                                           prints both tables (every run records both clocks)
#   REPORT_ONLY=1 benches/compare.sh        print the tables again from $OUT/results.tsv
#   JEMALLOC_SO=/path/libjemalloc.so ...    override a library (also MIMALLOC_SO, TCMALLOC_SO,
#                                           ARENALLOC_SO; ARENALLOC_SO skips `make -C csrc`)
#
# Every workload is a small program linked normally against libc's malloc (cc -O2) and run once
# per allocator per round, the allocators in a rotating order, RUNS rounds. Each program times
# its own measured part and prints its peak RSS (getrusage ru_maxrss); the table shows the best
# time and the median peak RSS per allocator. An allocator whose library is missing is skipped
# with a message; a run that crashes, hangs (TIMEOUT seconds, default 120) or turns out to be
# served by another malloc than the one preloaded is reported as such, not hidden.
#
# Output: markdown on stdout, progress on stderr, raw data in $OUT/results.tsv
# (OUT defaults to target/bench-c).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-c}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"
CC=${CC:-cc}
quick_mode 5
FILTER=${BENCH_FILTER:-.}
TIMEOUT=${TIMEOUT:-120}
ALLOCATORS=${ALLOCATORS:-arenalloc jemalloc mimalloc tcmalloc glibc}
CLOCK=${CLOCK:-wall}
case $CLOCK in wall | cpu | both) ;; *) echo "CLOCK must be wall, cpu or both" >&2; exit 2 ;; esac

mkdir -p "$OUT"

# ---- workloads: id | description | program and arguments ($Q divides the work in quick mode) ----
WORKLOADS=$(cat <<EOF
pairs-16|malloc/free pairs, 16 B|pairs 16 $((10000000 / Q))
pairs-64|malloc/free pairs, 64 B|pairs 64 $((10000000 / Q))
pairs-256|malloc/free pairs, 256 B|pairs 256 $((10000000 / Q))
pairs-1k|malloc/free pairs, 1 KiB|pairs 1024 $((10000000 / Q))
pairs-4k|malloc/free pairs, 4 KiB|pairs 4096 $((10000000 / Q))
pairs-32k|malloc/free pairs, 32 KiB|pairs 32768 $((10000000 / Q))
batch-64|batch 10000 × 64 B, alloc all then free|batch 64 10000 $((500 / Q))
batch-1k|batch 10000 × 1 KiB, alloc all then free|batch 1024 10000 $((200 / Q))
batch-mixed|batch 10000 × 16 B–4 KiB, alloc all then free|batch 0 10000 $((50 / Q))
prodcons|producer/consumer, cross-thread free, 16–512 B|prodcons 1 $((2000000 / Q))
larson|larson-style, 4 threads, shared slots, 16 B–1 KiB|larson 4 20000 $((500000 / Q)) 16 1024
realloc-step|8 buffers grown by realloc +1..256 B to 64 KiB|realloc step 8 65536 $((200 / Q))
realloc-double|realloc doubling 16 B → 8 MiB|realloc double 8388608 $((100 / Q))
frag|fragmentation: 200k mixed, keep 1/16, 200k again|frag $((200000 / Q)) 16
EOF
)

# ---- the allocators' libraries ----

declare -A SO
# shellcheck disable=SC2086 # a list of names
find_allocators $ALLOCATORS
[ ${#ACTIVE[@]} -gt 0 ] || { log "no allocator to compare"; exit 1; }
BASE=${ACTIVE[0]}
[ "$BASE" = arenalloc ] || log "note: arenalloc is not available; ratios are to $BASE"

# ---- build the workloads ----
build_c "$ROOT"/benches/c/*.c

# ---- run: for each workload, RUNS rounds, allocators interleaved in rotating order ----
RES=$OUT/results.tsv
run_one() { # wid alloc round cmd...
    local wid=$1 a=$2 r=$3 status=ok rc=0
    shift 3
    local outf=$OUT/run.out errf=$OUT/run.err
    if [ "${SO[$a]}" = none ]; then
        timeout "$TIMEOUT" env "$@" >"$outf" 2>"$errf" || rc=$?
    else
        timeout "$TIMEOUT" env LD_PRELOAD="${SO[$a]}" "$@" >"$outf" 2>"$errf" || rc=$?
    fi
    if [ $rc = 124 ]; then
        status="timeout(${TIMEOUT}s)"
    elif [ $rc -gt 128 ]; then
        status="signal-$((rc - 128))"
    elif [ $rc != 0 ]; then
        status="exit-$rc"
    elif ! grep -qx "allocator $a" "$outf"; then
        status="served-by-$(awk '$1 == "allocator" { print $2 }' "$outf")"
    fi
    if [ "$status" != ok ]; then
        log "  !! $wid under $a: $status${*:+ ($*)}"
        [ -s "$errf" ] && tail -5 "$errf" | sed 's/^/     /' >&2
        cp "$errf" "$OUT/fail-$wid-$a.err" 2>/dev/null || true
    fi
    printf '%s\t%s\t%s\tstatus\t%s\n' "$wid" "$a" "$r" "$status" >>"$RES"
    [ "$status" = ok ] && awk -v w="$wid" -v a="$a" -v r="$r" -v OFS='\t' \
        'NF == 2 && $1 != "allocator" { print w, a, r, $1, $2 }' "$outf" >>"$RES"
    return 0
}

if [ -n "${REPORT_ONLY:-}" ]; then
    [ -s "$RES" ] || { log "no $RES to report"; exit 1; }
    elapsed='?'
else
    : >"$RES"
    started=$(date +%s)
    n=${#ACTIVE[@]}
    while IFS='|' read -r wid desc cmd; do
        [ -n "$wid" ] || continue
        echo "$wid" | grep -Eq -- "$FILTER" || continue
        log "$wid: $desc"
        read -r prog args <<<"$cmd"
        for ((r = 0; r < RUNS; r++)); do
            for ((k = 0; k < n; k++)); do
                a=${ACTIVE[$(((r + k) % n))]}
                # shellcheck disable=SC2086
                run_one "$wid" "$a" "$r" "$OUT/$prog" $args
            done
        done
    done <<<"$WORKLOADS"
    elapsed=$(($(date +%s) - started))
fi

# ---- report ----
printf '%s\n' "$WORKLOADS" | awk -F'|' '{ print $1 "\t" $2 }' >"$OUT/workloads.tsv"
report() { # TKEY CLOCK-NAME: one table, ranked by that clock
awk -F'\t' -v base="$BASE" -v allocs="${ACTIVE[*]}" -v runs="$RUNS" -v elapsed="$elapsed" \
    -v tkey="$1" -v clock="$2" -v detail="$3" '
function median(list,   v, m, i, j, t) {
    m = split(list, v, " ")
    for (i = 2; i <= m; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
function mib(kb) { return sprintf("%.1f", kb / 1024) }
FNR == NR { desc[$1] = $2; next }
{
    w = $1; a = $2; k = $4; v = $5
    if (!(w in seen)) { seen[w] = 1; order[++nw] = w }
    if (k == "status") { if (v != "ok") bad[w, a] = v; next }
    if (k == tkey) { if (!((w, a) in best) || v + 0 < best[w, a]) best[w, a] = v + 0; next }
    vals[w, a, k] = vals[w, a, k] " " v
    keys[w, k] = 1
}
END {
    na = split(allocs, al, " ")
    # main table
    hdr = "| workload |"; rule = "| --- |"
    for (i = 1; i <= na; i++) { hdr = hdr " " al[i] " |"; rule = rule " ---: |" }
    if (base == "arenalloc" && na > 1) {
        hdr = hdr " arenalloc / fastest other | arenalloc RSS / jemalloc RSS |"; rule = rule " ---: | ---: |"
    }
    print "Time (" clock " clock): " base " in ms (best of " runs "), the others as their time ÷ " base "'"'"'s (> 1: " base " is faster)."
    print "Each cell also gives the median peak RSS (MiB)."
    print ""
    print hdr; print rule
    for (x = 1; x <= nw; x++) {
        w = order[x]; line = "| " desc[w] " |"
        fastest = ""
        for (i = 1; i <= na; i++) {
            a = al[i]
            rss = ((w, a, "maxrss_kb") in vals) ? mib(median(vals[w, a, "maxrss_kb"])) " MiB" : "–"
            if ((w, a) in bad) { line = line " **" bad[w, a] "** |"; continue }
            if (!((w, a) in best)) { line = line " – |"; continue }
            if (a == base) cell = sprintf("%.1f ms", best[w, a] / 1e6)
            else if ((w, base) in best && !((w, base) in bad)) {
                cell = sprintf("%.2f×", best[w, a] / best[w, base])
                lr[a] += log(best[w, a] / best[w, base]); nr[a]++
                if (fastest == "" || best[w, a] < fastest) fastest = best[w, a]
            } else cell = sprintf("%.1f ms", best[w, a] / 1e6)
            line = line " " cell " · " rss " |"
        }
        if (base == "arenalloc" && na > 1) {
            if (fastest != "" && (w, base) in best && !((w, base) in bad)) {
                t = best[w, base] / fastest; lt += log(t); nt++
                line = line sprintf(" %.2f |", t)
            } else line = line " – |"
            if (((w, "arenalloc", "maxrss_kb") in vals) && ((w, "jemalloc", "maxrss_kb") in vals) && !((w, "arenalloc") in bad))
                line = line sprintf(" %.2f |", median(vals[w, "arenalloc", "maxrss_kb"]) / median(vals[w, "jemalloc", "maxrss_kb"]))
            else line = line " – |"
        }
        print line
    }
    line = "| **geometric mean of time ratios** |"
    for (i = 1; i <= na; i++) {
        a = al[i]
        if (a == base) line = line " 1 |"
        else if (nr[a]) line = line sprintf(" **%.2f×** |", exp(lr[a] / nr[a]))
        else line = line " – |"
    }
    if (base == "arenalloc" && na > 1) line = line (nt ? sprintf(" **%.2f** |", exp(lt / nt)) : " – |") " |"
    print line
    # fragmentation detail
    if (detail && ("frag", "rss_sparse_kb") in keys) {
        w = "frag"
        print ""
        printf "Fragmentation (frag): resident memory at each phase, MiB (program holds %s MiB after step 1, %s MiB after step 2, %s MiB after step 3).\n", mib(median(vals[w, al[1], "live_kb1"])), mib(median(vals[w, al[1], "live_sparse_kb"])), mib(median(vals[w, al[1], "live_kb3"]))
        print ""
        print "| allocator | RSS after freeing 15/16 | RSS at end | peak RSS | peak ÷ live at end |"
        print "| --- | ---: | ---: | ---: | ---: |"
        for (i = 1; i <= na; i++) {
            a = al[i]
            if ((w, a) in bad || !((w, a, "rss_end_kb") in vals)) { printf "| %s | %s | | | |\n", a, ((w, a) in bad) ? bad[w, a] : "–"; continue }
            printf "| %s | %s | %s | %s | %.2f |\n", a, mib(median(vals[w, a, "rss_sparse_kb"])), mib(median(vals[w, a, "rss_end_kb"])), mib(median(vals[w, a, "maxrss_kb"])), median(vals[w, a, "maxrss_kb"]) / median(vals[w, a, "live_kb3"])
        }
    }
    if (detail) { print ""; print "(" runs " runs per allocator and workload, interleaved; " elapsed " s in all.)" }
}' "$OUT/workloads.tsv" "$RES"
}
case $CLOCK in
wall) report time_ns wall 1 ;;
cpu) report cpu_ns cpu 1 ;;
both) report time_ns wall 0 && echo && report cpu_ns cpu 1 ;;
esac
