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
unset MALLOC_CONF

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
    if [ $rc -eq 0 ] && [ "$out" = "checksum: $expected" ]; then
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
        run_python "python3 (MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0)" "dirty_decay_ms:0,muzzy_decay_ms:0"
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

echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
