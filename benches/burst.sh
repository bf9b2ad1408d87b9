#!/usr/bin/env bash
# burst.sh -- giving memory back: the 1 GiB burst under each allocator, RSS every 250 ms.
#
#   benches/burst.sh                        all variants, 1 GiB, 11 s window (~2.5 min)
#   BENCH_QUICK=1 benches/burst.sh          256 MiB and a 3 s window (~40 s)
#   IDLE_S=30 benches/burst.sh              another window (seconds from the start of the free)
#   TOTAL=536870912 benches/burst.sh        another burst size in bytes
#   INTERVAL_MS=100 benches/burst.sh        another sampling interval (default 250)
#   BENCH_FILTER='jemalloc' ...             only variants whose id matches (grep -E)
#   REPORT_ONLY=1 benches/burst.sh          print the table again from $OUT/*.tsv
#   JEMALLOC_SO=/path/libjemalloc.so ...    override a library (also MIMALLOC_SO, TCMALLOC_SO,
#                                           ARENALLOC_SO; ARENALLOC_SO skips `make -C csrc`)
#
# benches/c/burst.c (linked normally against libc's malloc) allocates TOTAL bytes in pieces of
# random size 4-64 KiB, touching every page, frees them all in random order, then does nothing
# until IDLE_S seconds after the start of the free while a sampler thread records RSS
# (/proc/self/statm). It runs once per variant, one after another (never two at a time), under
# LD_PRELOAD of the allocator's library (glibc: no preload), with MALLOC_CONF and
# ARENALLOC_MALLOC_CONF cleared except where the variant sets MALLOC_CONF itself. Variants:
# every allocator with its defaults; arenalloc and jemalloc with dirty_decay_ms:0 and
# dirty_decay_ms:-1; arenalloc and jemalloc calling mallctl("arena.4096.purge") right after
# the free. A run that crashes, hangs or is served by another malloc than the one preloaded is
# reported as such; an allocator's messages on stderr (e.g. a rejected MALLOC_CONF pair) are kept
# in $OUT/<variant>.err and listed under the table.
#
# Output: markdown on stdout, progress on stderr; one TSV per variant in $OUT/<variant>.tsv
# (t_ms, rss_mib, then `# key value` summary lines; see benches/c/burst.c). OUT defaults to
# target/bench-burst. benches/plot_burst.py draws them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/bench-burst}
# shellcheck source=benches/lib.sh
. "$ROOT/benches/lib.sh"
CC=${CC:-cc}
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
    TOTAL=${TOTAL:-268435456}; IDLE_S=${IDLE_S:-3}
else
    TOTAL=${TOTAL:-1073741824}; IDLE_S=${IDLE_S:-11}
fi
INTERVAL_MS=${INTERVAL_MS:-250}
FILTER=${BENCH_FILTER:-.}
TIMEOUT=${TIMEOUT:-$((IDLE_S + 120))}

mkdir -p "$OUT"

# ---- variants: id | allocator | MALLOC_CONF (- for none) | mode ----
VARIANTS=$(cat <<'EOF'
arenalloc|arenalloc|-|idle
jemalloc|jemalloc|-|idle
mimalloc|mimalloc|-|idle
tcmalloc|tcmalloc|-|idle
glibc|glibc|-|idle
arenalloc-decay0|arenalloc|dirty_decay_ms:0|idle
arenalloc-decay-1|arenalloc|dirty_decay_ms:-1|idle
jemalloc-decay0|jemalloc|dirty_decay_ms:0|idle
jemalloc-decay-1|jemalloc|dirty_decay_ms:-1|idle
arenalloc-purge|arenalloc|-|purge
jemalloc-purge|jemalloc|-|purge
arenalloc-2arenas|arenalloc|-|twoarenas
jemalloc-2arenas|jemalloc|-|twoarenas
EOF
)

# ---- the allocators' libraries (the same lookup as benches/compare.sh) ----

declare -A SO
if [ -z "${REPORT_ONLY:-}" ]; then
    # shellcheck disable=SC2046 # a list of names
    find_allocators $(printf '%s\n' "$VARIANTS" | awk -F'|' -v f="$FILTER" '$1 ~ f { print $2 }' | sort -u)

    # ---- build the program ----
    exe=$OUT/burst
    build_c "$ROOT/benches/c/burst.c"

    # ---- run: one variant at a time ----
    rm -f "$OUT"/*.tsv "$OUT"/*.err "$OUT"/*.status
    while IFS='|' read -r id a conf mode; do
        [ -n "$id" ] || continue
        echo "$id" | grep -Eq -- "$FILTER" || continue
        so=${SO[$a]:-}
        if [ -z "$so" ]; then
            echo "missing-library" >"$OUT/$id.status"
            continue
        fi
        envs=(-u MALLOC_CONF -u ARENALLOC_MALLOC_CONF)
        [ "$conf" != - ] && envs+=("MALLOC_CONF=$conf")
        [ "$so" != none ] && envs+=("LD_PRELOAD=$so")
        log "$id: $a, MALLOC_CONF=${conf/#-/(unset)}, mode $mode"
        rc=0
        timeout "$TIMEOUT" env "${envs[@]}" "$OUT/burst" "$TOTAL" "$IDLE_S" "$mode" "$INTERVAL_MS" \
            >"$OUT/$id.tsv" 2>"$OUT/$id.err" || rc=$?
        status=ok
        if [ $rc = 124 ]; then
            status="timeout(${TIMEOUT}s)"
        elif [ $rc -gt 128 ]; then
            status="signal-$((rc - 128))"
        elif [ $rc != 0 ]; then
            status="exit-$rc"
        else
            served=$(awk '$1 == "#" && $2 == "allocator" { print $3 }' "$OUT/$id.tsv")
            [ "$served" = "$a" ] || status="served-by-$served"
        fi
        echo "$status" >"$OUT/$id.status"
        [ "$status" = ok ] || log "  !! $id: $status"
        [ -s "$OUT/$id.err" ] && sed 's/^/  stderr: /' "$OUT/$id.err" | head -5 >&2
        [ -s "$OUT/$id.err" ] || rm -f "$OUT/$id.err"
    done <<<"$VARIANTS"
fi

# ---- report ----
printf '%s\n' "$VARIANTS" >"$OUT/variants.txt"
awk -F'|' -v out="$OUT" -v filter="$FILTER" '
function kv(file,   line, f, k) {
    delete S
    while ((getline line < file) > 0) {
        if (substr(line, 1, 2) != "# ") continue
        split(line, f, " "); k = f[2]; S[k] = f[3]
    }
    close(file)
}
function mib(x) { return (x == "" || x == "-") ? "–" : x " MiB" }
function secs(x) { return (x == "never") ? "never" : ((x == "" || x == "-") ? "–" : sprintf("%.2f s", x / 1000)) }
BEGIN {
    print "| variant | MALLOC_CONF | peak RSS | right after free | RSS at 1 s | RSS at 5 s | RSS at end | time to < 10 % of peak | right after `arena.4096.purge` | dirty_decay_ms read back |"
    print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
}
$1 != "" && $1 ~ filter {
    id = $1; conf = ($3 == "-") ? "(default)" : "`" $3 "`"
    st = ""
    if ((getline st < (out "/" id ".status")) <= 0) st = "not run"
    close(out "/" id ".status")
    if (st != "ok") { printf "| %s | %s | **%s** | | | | | | | |\n", id, conf, st; next }
    kv(out "/" id ".tsv")
    purge = ($4 == "purge") ? (S["purge"] == "ok" ? mib(S["rss_after_purge_mib"]) " (" S["purge_ms"] " ms)" : "**" S["purge"] "**") : "–"
    dd = S["opt.dirty_decay_ms"]; if (dd == "absent") dd = "–"
    end = mib(S["rss_end_mib"]); if (S["t_end_ms"] != "") end = end " (" sprintf("%.0f", S["t_end_ms"] / 1000) " s)"
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", id, conf, mib(S["peak_rss_mib"]), mib(S["rss_after_free_mib"]), mib(S["rss_1s_mib"]), mib(S["rss_5s_mib"]), end, secs(S["t_below_10pct_ms"]), purge, dd
    if (tot == "") { tot = S["total_bytes"]; win = S["idle_s"]; iv = S["interval_ms"] }
}
END {
    if (tot != "") printf "\n(%d MiB in 4–64 KiB pieces; RSS every %s ms for %s s from the start of the free; one run per variant.)\n", tot / 1048576, iv, win
}' "$OUT/variants.txt"
errs=$(ls "$OUT"/*.err 2>/dev/null || true)
if [ -n "$errs" ]; then
    echo
    echo "Messages on stderr:"
    echo
    for f in $errs; do
        # shellcheck disable=SC2016
        printf -- '- %s: `%s`\n' "$(basename "$f" .err)" "$(head -1 "$f")"
    done
fi
