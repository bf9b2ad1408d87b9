# shellcheck shell=bash
# lib.sh -- sourced by the bench scripts: where each allocator's shared library is, which of
# them are here, the quick mode, and building the C programs of benches/c.
# The caller sets ROOT (the repository) and OUT (a scratch directory for build logs and binaries).

log() { printf '%s\n' "$*" >&2; }

# find_lib SONAME: the library's path (ldconfig, then the usual directories), or nothing.
find_lib() {
    local p d
    p=$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n { print $NF; exit }')
    if [ -z "$p" ]; then
        for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
            [ -e "$d/$1" ] && { p=$d/$1; break; }
        done
    fi
    printf '%s' "$p"
}

# allocator_so NAME: the library to LD_PRELOAD for allocator NAME, "none" for glibc (no
# preload), nothing when it is not available. arenalloc is built with `make -C csrc` unless
# ARENALLOC_SO names a library; JEMALLOC_SO, MIMALLOC_SO, TCMALLOC_SO override the lookups.
# Returns 2 for an unknown name.
allocator_so() {
    case $1 in
    arenalloc)
        if [ -n "${ARENALLOC_SO:-}" ]; then
            printf '%s' "$ARENALLOC_SO"
        elif make -C "$ROOT/csrc" >"$OUT/make.log" 2>&1; then
            printf '%s' "$ROOT/csrc/build/libarenalloc.so"
        else
            log "make -C csrc failed (see $OUT/make.log):"
            tail -3 "$OUT/make.log" | sed 's/^/    /' >&2
        fi
        ;;
    jemalloc) printf '%s' "${JEMALLOC_SO:-$(find_lib libjemalloc.so.2)}" ;;
    mimalloc) printf '%s' "${MIMALLOC_SO:-$(find_lib libmimalloc.so.2)}" ;;
    tcmalloc) printf '%s' "${TCMALLOC_SO:-$(find_lib libtcmalloc_minimal.so.4)}" ;;
    glibc) printf 'none' ;;
    *) log "unknown allocator '$1' (arenalloc jemalloc mimalloc tcmalloc glibc)"; return 2 ;;
    esac
}

# quick_mode RUNS_DEFAULT: BENCH_QUICK (not empty or 0) means 1/10 of the work and 3 rounds.
# Sets QUICK (empty or not), Q (the divisor the scripts' tables apply: 10 or 1) and RUNS (as
# given, else 3 when quick, else RUNS_DEFAULT).
quick_mode() {
    QUICK=${BENCH_QUICK:-0}
    [ "$QUICK" = 0 ] && QUICK=
    # shellcheck disable=SC2034 # the callers read Q and RUNS
    if [ -n "$QUICK" ]; then Q=10; RUNS=${RUNS:-3}; else Q=1; RUNS=${RUNS:-$1}; fi
}

# find_allocators NAME...: SO[NAME] = its library (allocator_so; empty when missing, with a
# message) and ACTIVE = the names found, in order. The caller declares `declare -A SO`.
# shellcheck disable=SC2004 # SO is the caller's associative array, not an indexed one
find_allocators() {
    local a
    ACTIVE=()
    for a in "$@"; do
        SO[$a]=$(allocator_so "$a") || exit 2
        if [ "${SO[$a]}" != none ] && [ ! -f "${SO[$a]}" ]; then
            log "skipping $a: library not found${SO[$a]:+ (${SO[$a]})}"
            SO[$a]=
            continue
        fi
        ACTIVE+=("$a")
    done
}

# build_c SRC...: compiles each benches/c program into $OUT/<name> (cc -O2), unless the binary
# is newer than its source and bench.h.
build_c() {
    local src exe
    for src in "$@"; do
        exe=$OUT/$(basename "$src" .c)
        if [ ! -x "$exe" ] || [ "$src" -nt "$exe" ] || [ "$ROOT/benches/c/bench.h" -nt "$exe" ]; then
            ${CC:-cc} -O2 -g -Wall -Wextra -pthread -o "$exe" "$src" -ldl
        fi
    done
}
