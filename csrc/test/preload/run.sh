#!/bin/sh
# run.sh <absolute path of libarenalloc.so> -- run real programs with arenalloc as their malloc.
#
# Each case runs a program once without the preload to get the expected output, then with
# LD_PRELOAD=<lib> (and sometimes a MALLOC_CONF), and compares. A case whose program is missing is
# skipped ("skipped: sqlite3 not found"). Ends with one plain line "N passed, N failed, N skipped";
# exit status 0 only if nothing failed.
#
#   python3   alloc.py under PYTHONMALLOC=malloc (every object through malloc), with threads;
#             also checks from inside that the library is mapped and is the global malloc
#   sqlite3   sqlite.sql on a fresh database file: 60k rows, indexes, joins, updates, VACUUM;
#             also checks that the library is mapped into the sqlite3 process
#   sort      GNU sort of 300k generated lines (big buffers, many small allocations)
#   conf      MALLOC_CONF / ARENALLOC_MALLOC_CONF / malloc_conf read by the shared library; a bad
#             pair is named on stderr, abort_conf:true aborts (a tiny C program built with $CC)
#   jemalloc client
#             jemalloc_client.c, written against <jemalloc/jemalloc.h> and linked with -ljemalloc
#             (Debian's libjemalloc-dev; skipped without it): run as built against real jemalloc
#             (the checks are jemalloc's contract), then under the preload, where arenalloc must
#             serve every jemalloc symbol and answer every mallctl the same way
#   jemalloc hooks
#             jemalloc_hooks.c (custom extent hooks through jemalloc's API), built against
#             Debian's jemalloc (skipped without it) and against include/jemalloc/jemalloc.h +
#             libarenalloc.a; both builds run and must pass, the first also under the preload
#   python3 ctypes stats
#             jemalloc_stats.py, a typical ctypes mallctl stats script, under the preload; and
#             under LD_PRELOAD of Debian's libjemalloc.so.2 as the reference, where installed
#
# Environment: PRELOAD_TIMEOUT (seconds per program run, default 300).

set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 <absolute path of libarenalloc.so>" >&2
    exit 2
fi
lib=$1
here=$(cd "$(dirname "$0")" && pwd)
case $lib in
/*) ;;
*) lib=$(pwd)/$lib ;;
esac
if [ ! -f "$lib" ]; then
    echo "preload: $lib not found (run make first)" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/arenalloc-preload.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

npass=0
nfail=0
nskip=0
to=
if command -v timeout >/dev/null 2>&1; then
    to="timeout -k 10 ${PRELOAD_TIMEOUT:-300}"
fi

pass() { npass=$((npass + 1)); echo "$1: pass"; }
fail() { nfail=$((nfail + 1)); echo "$1: FAIL ($2)"; }
skip() { nskip=$((nskip + 1)); echo "$1: skipped: $2"; }

# Show the last lines of a file, indented, after a failure.
show() { sed -e 's/^/    | /' "$1" | tail -n "${2:-20}"; }

# Every run leaves the environment otherwise alone; MALLOC_CONF is set only where asked.
unset MALLOC_CONF ARENALLOC_MALLOC_CONF

# ---- python3 ----
run_python() { # name, MALLOC_CONF value or ""
    name=$1
    conf=$2
    if [ -n "$conf" ]; then
        out=$(MALLOC_CONF=$conf LD_PRELOAD=$lib PYTHONHASHSEED=0 PYTHONMALLOC=malloc \
            $to "$py" "$here/alloc.py" --expect "$expected" --require-lib "$lib" 2>"$tmp/err")
    else
        out=$(LD_PRELOAD=$lib PYTHONHASHSEED=0 PYTHONMALLOC=malloc \
            $to "$py" "$here/alloc.py" --expect "$expected" --require-lib "$lib" 2>"$tmp/err")
    fi
    rc=$?
    echo "$out" >"$tmp/out"
    if [ $rc -eq 0 ] && [ "$out" = "checksum: $expected" ] && grep -q '^<arenalloc>: ' "$tmp/err"; then
        # The allocator complained (e.g. a MALLOC_CONF pair it does not know): not a clean run.
        fail "$name" "arenalloc printed diagnostics"
        show "$tmp/err"
    elif [ $rc -eq 0 ] && [ "$out" = "checksum: $expected" ]; then
        pass "$name"
    else
        fail "$name" "exit $rc"
        show "$tmp/out"
        show "$tmp/err"
    fi
}

if ! command -v python3 >/dev/null 2>&1; then
    skip python3 "python3 not found"
else
    # The real interpreter, not a wrapper script (pyenv shims are bash scripts).
    py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
    [ -n "$py" ] || py=$(command -v python3)
    expected=$(PYTHONHASHSEED=0 PYTHONMALLOC=malloc $to "$py" "$here/alloc.py" 2>"$tmp/err")
    rc=$?
    case $expected in
    "checksum: "*)
        expected=${expected#checksum: }
        run_python python3 ""
        run_python "python3 (MALLOC_CONF=tcache:false,narenas:1)" "tcache:false,narenas:1"
        run_python "python3 (MALLOC_CONF=narenas:64,tcache_max:4096)" "narenas:64,tcache_max:4096"
        ;;
    *)
        fail python3 "the reference run without the preload failed (exit $rc)"
        show "$tmp/err"
        ;;
    esac
fi

# ---- sqlite3 ----
if ! command -v sqlite3 >/dev/null 2>&1; then
    skip sqlite3 "sqlite3 not found"
else
    $to sqlite3 -batch "$tmp/ref.db" <"$here/sqlite.sql" >"$tmp/sqlite-ref.txt" 2>&1
    rc_ref=$?
    LD_PRELOAD=$lib $to sqlite3 -batch "$tmp/pre.db" <"$here/sqlite.sql" >"$tmp/sqlite-pre.txt" 2>&1
    rc_pre=$?
    # Is the library really in the sqlite3 process? .shell runs sh -c, whose parent is sqlite3.
    mapped=$(LD_PRELOAD=$lib $to sqlite3 -batch :memory: \
        ".shell grep -c libarenalloc /proc/\$PPID/maps" 2>/dev/null | head -n 1)
    if [ $rc_ref -ne 0 ]; then
        fail sqlite3 "the reference run without the preload failed (exit $rc_ref)"
        show "$tmp/sqlite-ref.txt"
    elif [ $rc_pre -ne 0 ]; then
        fail sqlite3 "exit $rc_pre under the preload"
        show "$tmp/sqlite-pre.txt"
    elif ! cmp -s "$tmp/sqlite-ref.txt" "$tmp/sqlite-pre.txt"; then
        fail sqlite3 "output differs under the preload"
        diff "$tmp/sqlite-ref.txt" "$tmp/sqlite-pre.txt" | head -n 20 | sed -e 's/^/    | /'
    elif [ -z "$mapped" ] || [ "$mapped" = 0 ]; then
        fail sqlite3 "libarenalloc is not mapped into the sqlite3 process"
    else
        pass sqlite3
    fi
fi

# ---- sort ----
if ! command -v sort >/dev/null 2>&1 || ! command -v awk >/dev/null 2>&1; then
    skip sort "sort or awk not found"
else
    awk 'BEGIN { x = 12345; for (i = 0; i < 300000; i++) {
            x = (x * 1103515245 + 12345) % 2147483648;
            printf "%d %s%d\n", x % 1000, substr("qwertyuiopasdfghjklzxcvbnm", 1 + x % 26), x } }' \
        >"$tmp/lines.txt"
    LC_ALL=C $to sort -k2,2 -k1,1n "$tmp/lines.txt" >"$tmp/sort-ref.txt" 2>&1
    rc_ref=$?
    LC_ALL=C LD_PRELOAD=$lib $to sort -k2,2 -k1,1n "$tmp/lines.txt" >"$tmp/sort-pre.txt" 2>&1
    rc_pre=$?
    if [ $rc_ref -ne 0 ] || [ $rc_pre -ne 0 ]; then
        fail sort "exit $rc_ref without, $rc_pre with the preload"
        show "$tmp/sort-pre.txt" 5
    elif ! cmp -s "$tmp/sort-ref.txt" "$tmp/sort-pre.txt"; then
        fail sort "output differs under the preload"
    else
        pass sort
    fi
fi

# ---- MALLOC_CONF through the shared library ----
# A tiny C program under LD_PRELOAD: the environment variables are read and a bad pair is named
# on stderr; abort_conf:true aborts. The same program linked against the library reads the
# malloc_conf variable it defines (the library's weak reference finds the program's definition).
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
    skip conf "$cc not found"
else
    cat >"$tmp/conf.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef DEFINE_MALLOC_CONF
const char *malloc_conf = "confirm_conf:true,narenas:3,from_symbol:1";
#endif
int main(void) {
    char *p = malloc(100);
    if (p == NULL) return 1;
    strcpy(p, "conf ok");
    puts(p);
    free(p);
    return 0;
}
CEOF
    libdir=$(dirname "$lib")
    if ! "$cc" -o "$tmp/conf-plain" "$tmp/conf.c" 2>"$tmp/err" ||
        ! "$cc" -DDEFINE_MALLOC_CONF -o "$tmp/conf-linked" "$tmp/conf.c" -L"$libdir" -larenalloc \
            -Wl,-rpath,"$libdir" 2>>"$tmp/err"; then
        fail conf "cannot compile the test program"
        show "$tmp/err"
    else
        # run_conf <name> <expected exit> <stderr substring> <command...>
        run_conf() {
            name=$1 want_rc=$2 want_err=$3
            shift 3
            # An inner shell, so that its report of a death by signal lands in err; no core file.
            sh -c 'ulimit -c 0 2>/dev/null; "$@"; exit $?' sh "$@" >"$tmp/out" 2>"$tmp/err"
            rc=$?
            if [ $rc -ne "$want_rc" ]; then
                fail "$name" "exit $rc, expected $want_rc"
                show "$tmp/err"
            elif ! grep -qF -- "$want_err" "$tmp/err"; then
                fail "$name" "stderr lacks: $want_err"
                show "$tmp/err"
            elif [ "$want_rc" -eq 0 ] && [ "$(cat "$tmp/out")" != "conf ok" ]; then
                fail "$name" "wrong output"
                show "$tmp/out"
            else
                pass "$name"
            fi
        }
        run_conf "conf (MALLOC_CONF bad pair, LD_PRELOAD)" 0 \
            "<arenalloc>: Invalid conf pair: bogus_key:1" \
            env MALLOC_CONF=narenas:2,bogus_key:1 LD_PRELOAD="$lib" "$tmp/conf-plain"
        run_conf "conf (ARENALLOC_MALLOC_CONF, LD_PRELOAD)" 0 \
            "<arenalloc>: Out-of-range conf value: narenas:0" \
            env ARENALLOC_MALLOC_CONF=narenas:0 LD_PRELOAD="$lib" "$tmp/conf-plain"
        run_conf "conf (abort_conf:true aborts, LD_PRELOAD)" 134 \
            "<arenalloc>: Abort (abort_conf:true) on invalid conf value (see above)." \
            env MALLOC_CONF=abort_conf:true,bogus_key:1 LD_PRELOAD="$lib" "$tmp/conf-plain"
        run_conf "conf (malloc_conf defined by a linked program)" 0 \
            "<arenalloc>: Invalid conf pair: from_symbol:1" \
            "$tmp/conf-linked"
        run_conf "conf (MALLOC_CONF after malloc_conf)" 0 \
            '<arenalloc>: malloc_conf #4 (value of the environment variable MALLOC_CONF): "narenas:2"' \
            env MALLOC_CONF=narenas:2 "$tmp/conf-linked"
    fi
fi

# ---- jemalloc's own API: a C client linked against jemalloc, and a python ctypes script ----
# The C program is built against Debian's jemalloc exactly as a jemalloc user builds it. Run as
# built it talks to jemalloc (proving that its checks are jemalloc's contract); under the preload
# arenalloc must win every symbol (the program checks where each one resolves, and that
# `version` and arenalloc_malloc say arenalloc) and give the same answers.
# run_client <name> <expected allocator> <command...>
run_client() {
    name=$1 want=$2
    shift 2
    "$@" "$want" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    last=$(tail -n 1 "$tmp/out")
    case $rc:$last in
    "0:"*" passed, 0 failed, "*) pass "$name" ;;
    *)
        fail "$name" "exit $rc: $last"
        grep -v '^ok ' "$tmp/out" >"$tmp/notok"
        show "$tmp/notok"
        show "$tmp/err" 5
        ;;
    esac
}

if ! command -v "$cc" >/dev/null 2>&1; then
    skip "jemalloc client" "$cc not found"
else
    printf '#include <jemalloc/jemalloc.h>\nint main(void) { return mallctl("version", 0, 0, 0, 0); }\n' \
        >"$tmp/je-probe.c"
    if ! "$cc" -o "$tmp/je-probe" "$tmp/je-probe.c" -ljemalloc >/dev/null 2>&1; then
        skip "jemalloc client" "jemalloc's header or library not found (apt-get install libjemalloc-dev)"
    elif ! "$cc" -O2 -g -Wall -Wextra -o "$tmp/jemalloc_client" "$here/jemalloc_client.c" \
        -ljemalloc -ldl 2>"$tmp/err"; then
        fail "jemalloc client" "cannot compile jemalloc_client.c"
        show "$tmp/err"
    else
        run_client "jemalloc client (Debian's jemalloc, no preload)" jemalloc $to "$tmp/jemalloc_client"
        run_client "jemalloc client (LD_PRELOAD)" arenalloc env LD_PRELOAD="$lib" $to "$tmp/jemalloc_client"
    fi
fi

# ---- custom extent hooks written against jemalloc's API ----
# jemalloc_hooks.c (arenas.create with counting hooks that forward to the default ones,
# MALLOCX_ARENA, arena.<i>.purge/destroy) includes <jemalloc/jemalloc.h> and nothing else of
# arenalloc: built once against Debian's jemalloc (the reference: its checks are jemalloc's
# contract) and once against arenalloc's include/jemalloc/jemalloc.h shim and libarenalloc.a
# (beside the shared library), so jemalloc code compiles and behaves the same on arenalloc.
if ! command -v "$cc" >/dev/null 2>&1; then
    skip "jemalloc hooks" "$cc not found"
else
    incdir=$(cd "$here/../../include" && pwd)
    static=$(dirname "$lib")/libarenalloc.a
    if ! "$cc" -o "$tmp/je-probe" "$tmp/je-probe.c" -ljemalloc >/dev/null 2>&1; then
        skip "jemalloc hooks (Debian's jemalloc)" \
            "jemalloc's header or library not found (apt-get install libjemalloc-dev)"
    elif ! "$cc" -O2 -g -Wall -Wextra -Wno-unused-parameter -o "$tmp/jemalloc_hooks-je" \
        "$here/jemalloc_hooks.c" -ljemalloc 2>"$tmp/err"; then
        fail "jemalloc hooks (Debian's jemalloc)" "cannot compile jemalloc_hooks.c"
        show "$tmp/err"
    else
        run_client "jemalloc hooks (Debian's jemalloc)" jemalloc $to "$tmp/jemalloc_hooks-je"
        run_client "jemalloc hooks (-ljemalloc build, LD_PRELOAD)" arenalloc \
            env LD_PRELOAD="$lib" $to "$tmp/jemalloc_hooks-je"
    fi
    if [ ! -f "$static" ]; then
        fail "jemalloc hooks (arenalloc)" "$static not found (run make first)"
    elif ! "$cc" -O2 -g -Wall -Wextra -Wno-unused-parameter -I"$incdir" \
        -o "$tmp/jemalloc_hooks-al" "$here/jemalloc_hooks.c" "$static" -pthread 2>"$tmp/err"; then
        fail "jemalloc hooks (arenalloc)" "cannot compile jemalloc_hooks.c against include/jemalloc/jemalloc.h"
        show "$tmp/err"
    else
        run_client "jemalloc hooks (arenalloc, static)" arenalloc $to "$tmp/jemalloc_hooks-al"
    fi
fi

# The stats script a jemalloc user runs through ctypes: under the preload, and under real
# jemalloc (LD_PRELOAD of Debian's libjemalloc.so.2) as the reference.
# run_stats_py <name> <expected allocator> <library to preload>
run_stats_py() {
    LD_PRELOAD=$3 $to "$jpy" "$here/jemalloc_stats.py" --expect "$2" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = "jemalloc_stats: ok" ]; then
        pass "$1"
    else
        fail "$1" "exit $rc"
        show "$tmp/out"
        show "$tmp/err" 5
    fi
}

if ! command -v python3 >/dev/null 2>&1; then
    skip "python3 ctypes stats" "python3 not found"
else
    jpy=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
    [ -n "$jpy" ] || jpy=$(command -v python3)
    run_stats_py "python3 ctypes stats (LD_PRELOAD)" arenalloc "$lib"
    jelib=
    if command -v "$cc" >/dev/null 2>&1; then
        jelib=$("$cc" -print-file-name=libjemalloc.so.2 2>/dev/null)
    fi
    case $jelib in
    /*) ;;
    *) jelib=$(ldconfig -p 2>/dev/null | awk '$1 == "libjemalloc.so.2" { print $NF; exit }') ;;
    esac
    if [ -n "$jelib" ] && [ -f "$jelib" ]; then
        run_stats_py "python3 ctypes stats (Debian's jemalloc, reference)" jemalloc "$jelib"
    else
        skip "python3 ctypes stats (Debian's jemalloc, reference)" "libjemalloc.so.2 not found"
    fi
fi

echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
