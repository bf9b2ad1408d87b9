# shellcheck shell=bash
# lib.sh -- sourced by the bench scripts: where each allocator's shared library is.
# The caller sets ROOT (the repository) and OUT (a scratch directory for build logs).

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
