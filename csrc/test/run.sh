#!/bin/sh
# run.sh <testdir> <binary>... -- run C test binaries and add up their results.
#
# Each binary is a test/<kind>/<name>.c built into <testdir>/<kind>/<name>. If
# test/<kind>/<name>.conf exists, its non-comment lines (joined with ',') become MALLOC_CONF for
# that binary; otherwise MALLOC_CONF is passed through from the caller's environment.
#
# Every binary prints one line per test and a summary "== <name>: N passed, N failed, N skipped"
# (see test.h). This script prints their output as it comes, then the binaries that failed, then
# one plain line "N passed, N failed, N skipped" counting tests, not binaries. A binary that dies
# or exits non-zero without reporting a failure (crash, abort, timeout) counts as one failed test.
# Exit status: 0 only if nothing failed.
#
# Environment: RUN_TIMEOUT bounds each binary in seconds (default 900; the runner's own per-test
# TEST_TIMEOUT is the finer bound); TEST_FILTER, TEST_SEED, STRESS_SECONDS pass through.

set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 <testdir> <binary>..." >&2
    exit 2
fi
testdir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/arenalloc-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

timeout_cmd=
if command -v timeout >/dev/null 2>&1; then
    timeout_cmd="timeout -k 10 ${RUN_TIMEOUT:-900}"
fi

npass=0
nfail=0
nskip=0
failed_bins=

for bin in "$@"; do
    rel=${bin#"$testdir"/}
    conf_file=$here/$rel.conf
    conf=
    if [ -f "$conf_file" ]; then
        conf=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$conf_file" | grep -v '^$' | paste -sd, - |
            sed -e 's/,,*/,/g' -e 's/^,//' -e 's/,$//')
    fi

    echo "--- $rel${conf:+ (MALLOC_CONF=$conf)}"
    out=$tmp/out
    rcf=$tmp/rc
    : >"$out"
    echo 127 >"$rcf"
    if [ -n "$conf" ]; then
        { MALLOC_CONF=$conf $timeout_cmd "$bin" </dev/null; echo $? >"$rcf"; } 2>&1 | tee "$out"
    else
        { $timeout_cmd "$bin" </dev/null; echo $? >"$rcf"; } 2>&1 | tee "$out"
    fi
    rc=$(cat "$rcf")

    summary=$(sed -n 's/^== .*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed, \([0-9][0-9]*\) skipped$/\1 \2 \3/p' "$out" | tail -n 1)
    if [ -n "$summary" ]; then
        p=${summary%% *}
        rest=${summary#* }
        f=${rest%% *}
        s=${rest#* }
    else
        p=0
        f=0
        s=0
    fi
    npass=$((npass + p))
    nskip=$((nskip + s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # Crashed, aborted, timed out (124/137) or exited non-zero without a failed test.
        if [ -z "$summary" ]; then
            echo "$rel: FAIL (exit status $rc, no summary: crashed or timed out)"
        else
            echo "$rel: FAIL (exit status $rc although no test failed)"
        fi
        f=1
    elif [ "$rc" -eq 0 ] && [ -z "$summary" ]; then
        echo "$rel: FAIL (exit status 0 but no summary line: did it run its tests?)"
        f=1
    fi
    nfail=$((nfail + f))
    if [ "$f" -ne 0 ]; then
        failed_bins="$failed_bins $rel"
    fi
done

if [ -n "$failed_bins" ]; then
    echo "failed:$failed_bins"
fi
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
