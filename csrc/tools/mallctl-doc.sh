#!/bin/sh
# mallctl-doc.sh [ctl_tree.def] -- writes the mallctl reference (docs/mallctl.md) to stdout.
#
# The page is derived from the table alone: one section per top-level component, one row per
# CTL line, in the table's order. `make doc` writes it to ../docs/mallctl.md; `make check` fails
# when that file differs from what this script prints.
set -eu
def=${1:-src/ctl_tree.def}
LC_ALL=C awk '
function md(s) { gsub(/\|/, "\\|", s); return s }
function ctype(t, a) {
    if (t == "BOOL") return "bool"
    if (t == "UNSIGNED") return "unsigned"
    if (t == "U32") return "uint32_t"
    if (t == "U64") return "uint64_t"
    if (t == "I64") return "int64_t"
    if (t == "SIZE") return "size_t"
    if (t == "SSIZE") return "ssize_t"
    if (t == "STR") return "const char *"
    if (t == "VOID") return "void"
    if (t == "U64_PTR") return "uint64_t *"
    if (t == "HOOKS") return "extent_hooks_t *"
    if (t == "CREATE") return a == "RW" ? "extent_hooks_t * (optional) -> unsigned" : "unsigned (created by the read)"
    if (t == "LOOKUP") return "void * -> unsigned"
    printf("mallctl-doc.sh: unknown TYPE %s\n", t) > "/dev/stderr"; exit 1
}
function access(a) {
    if (a == "RO") return "r-"
    if (a == "WO") return "-w"
    if (a == "RW") return "rw"
    if (a == "NONE") return "--"
    printf("mallctl-doc.sh: unknown ACCESS %s\n", a) > "/dev/stderr"; exit 1
}
function cond(c) {
    if (c == "ALWAYS") return ""
    if (c == "STATS") return "stats"
    printf("mallctl-doc.sh: unknown COND %s\n", c) > "/dev/stderr"; exit 1
}
BEGIN {
    print "# mallctl reference"
    print ""
    print "<!-- Generated from csrc/src/ctl_tree.def by `make -C csrc doc`. Do not edit: edit the table. -->"
    print ""
    print "Every key of arenalloc'"'"'s `mallctl` namespace (`mallctl`, `mallctlnametomib`, `mallctlbymib`;"
    print "`arenalloc_mallctl` etc. in the prefixed build; the typed handles of the `arenalloc-ctl` crate)."
    print "Names, types and error codes follow jemalloc 5.3, so existing clients work unchanged."
    print ""
    print "- **Key**: `<i>` is an arena index below `arenas.narenas`; where the key says so, 4096"
    print "  (`MALLCTL_ARENAS_ALL`) selects all arenas merged. Under `stats.arenas` an arena that did not"
    print "  exist at the last `epoch` refresh is not found. `<j>` is a small size-class index (below"
    print "  `arenas.nbins`) under `bin`/`bins`, a large size-class index (below `arenas.nlextents`) under"
    print "  `lextent`/`lextents`. In a MIB these components hold the number itself, so `mib[k] = i`"
    print "  selects another index."
    print "- **Type**: what `oldp` receives and `newp` supplies; `*oldlenp` and `newlen` must be its size."
    print "  `void * -> unsigned`: write a pointer, read an index."
    print "- **Access**: `r-` read only, `-w` write only, `rw` both (a read returns the value before the"
    print "  write, except for `epoch`), `--` neither: calling the key is the action."
    print "- **Build**: `stats` keys exist only when arenalloc is built with statistics (the default;"
    print "  cargo feature `stats`); otherwise they return ENOENT."
    print "- Statistics are a snapshot taken at the last write to `epoch`."
    print ""
    print "Errors: `ENOENT` unknown key, component or index, a name that stops at an interior node;"
    print "`EPERM` wrong direction (including any buffer passed to a `--` key); `EINVAL` a size"
    print "mismatch (a read with the wrong `*oldlenp` copies what fits, sets `*oldlenp` to that and"
    print "does nothing else), `oldp` without `oldlenp`, `newlen` without `newp`, or a bad value;"
    print "`EFAULT` an indexed MIB component above `UINT_MAX`, and the cases the key describes;"
    print "`EAGAIN` out of memory for the namespace or a snapshot."
    section = ""
}
/^CTL\("/ {
    line = $0
    sub(/^CTL\("/, "", line)
    p = index(line, "\"")
    path = substr(line, 1, p - 1)
    rest = substr(line, p + 3)               # after `", `
    n = split(rest, f, ", ")
    type = f[1]; acc = f[2]; cnd = f[3]
    d = rest
    q = index(d, ", \"")
    while (q > 0 && substr(d, q + 3) ~ /, "/) { d = substr(d, q + 3); q = index(d, ", \"") }
    doc = substr(d, q + 3)
    sub(/"\)[;]?[ \t]*$/, "", doc)
    top = path; sub(/\..*/, "", top)
    if (top != section) {
        section = top
        print ""
        print "## " top
        print ""
        print "| Key | Type | Access | Build | Description |"
        print "| --- | --- | --- | --- | --- |"
    }
    key = path; gsub(/\{i\}/, "<i>", key); gsub(/\{j\}/, "<j>", key)
    c = cond(cnd)
    printf("| `%s` | `%s` | `%s` | %s | %s |\n", key, ctype(type, acc), access(acc), (c == "" ? "" : "`" c "`"), md(doc))
}
' "$def"
