#!/usr/bin/env python3
"""A typical jemalloc stats script: mallctl through ctypes, as people paste it into services.

    LD_PRELOAD=libarenalloc.so python3 jemalloc_stats.py --expect arenalloc
    LD_PRELOAD=libjemalloc.so.2 python3 jemalloc_stats.py --expect jemalloc

It finds mallctl in the process's global scope (ctypes.CDLL(None); --lib PATH opens that library
instead), advances the epoch, reads stats.allocated / active / resident / mapped as size_t,
checks jemalloc's documented relations between them, allocates a big bytes object, advances the
epoch again and checks that stats.allocated grew by at least its size (and fell back once it is
freed). It prints the values and ends with "jemalloc_stats: ok" (exit 0) or a line per problem
(exit 1). --expect says which allocator must be answering (checked through `version` and the
arenalloc_malloc symbol), so a preload that silently did not take effect fails.

Relations checked: allocated <= active <= resident and active <= mapped (jemalloc's manual);
under arenalloc also resident <= mapped (its stacked view; jemalloc does not promise it, since
its `mapped` leaves out dirty pages that `resident` counts).
"""
import argparse
import ctypes
import sys

BIG = 48 << 20


class Mallctl:
    def __init__(self, lib):
        self.lib = lib
        self.fn = lib.mallctl
        self.fn.restype = ctypes.c_int
        self.fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                            ctypes.c_void_p, ctypes.c_size_t]

    def read(self, name, ctype):
        value = ctype()
        size = ctypes.c_size_t(ctypes.sizeof(value))
        rc = self.fn(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
        if rc != 0:
            raise OSError(rc, "mallctl(%r) failed" % name)
        return value.value

    def write(self, name, ctype, v):
        value = ctype(v)
        rc = self.fn(name.encode(), None, None, ctypes.byref(value), ctypes.sizeof(value))
        if rc != 0:
            raise OSError(rc, "mallctl(%r) write failed" % name)

    def advance_epoch(self):
        self.write("epoch", ctypes.c_uint64, 1)

    def stats(self):
        self.advance_epoch()
        return {k: self.read("stats." + k, ctypes.c_size_t)
                for k in ("allocated", "active", "resident", "mapped")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", help="open this library instead of the global scope")
    ap.add_argument("--expect", choices=("arenalloc", "jemalloc", "any"), default="any")
    args = ap.parse_args()

    lib = ctypes.CDLL(args.lib) if args.lib else ctypes.CDLL(None)
    problems = []
    try:
        m = Mallctl(lib)
    except AttributeError:
        print("jemalloc_stats: no mallctl in %s" % (args.lib or "the process"))
        return 1

    version = m.read("version", ctypes.c_char_p).decode()
    try:
        lib.arenalloc_malloc
        arenalloc = True
    except AttributeError:
        arenalloc = False
    print("version: %s%s" % (version, " (arenalloc)" if arenalloc else ""))
    if args.expect == "arenalloc" and (not arenalloc or version.startswith("5.")):
        problems.append("expected arenalloc to answer mallctl, got version %s" % version)
    if args.expect == "jemalloc" and (arenalloc or not version.startswith("5.")):
        problems.append("expected jemalloc to answer mallctl, got version %s" % version)

    def relations(s, when):
        print("%-16s allocated %d, active %d, resident %d, mapped %d"
              % (when + ":", s["allocated"], s["active"], s["resident"], s["mapped"]))
        if not (0 < s["allocated"] <= s["active"] <= s["resident"] and s["active"] <= s["mapped"]):
            problems.append("%s: want 0 < allocated <= active <= resident, active <= mapped" % when)
        if arenalloc and not s["resident"] <= s["mapped"]:
            problems.append("%s: want resident <= mapped (arenalloc)" % when)

    before = m.stats()
    relations(before, "before")
    blob = b"\x01" * BIG  # one big malloc, every page written
    during = m.stats()
    relations(during, "with %d MiB" % (BIG >> 20))
    grew = during["allocated"] - before["allocated"]
    print("stats.allocated grew by %d for a %d-byte bytes object" % (grew, len(blob)))
    if grew < BIG:
        problems.append("stats.allocated grew by %d, less than the %d-byte object" % (grew, BIG))
    del blob
    after = m.stats()
    relations(after, "after del")
    if after["allocated"] > during["allocated"] - BIG:
        problems.append("stats.allocated did not fall back after del (%d)" % after["allocated"])

    narenas = m.read("arenas.narenas", ctypes.c_uint)
    page = m.read("arenas.page", ctypes.c_size_t)
    print("arenas.narenas %d, arenas.page %d" % (narenas, page))
    if narenas < 1 or page < 4096:
        problems.append("arenas.narenas %d, arenas.page %d" % (narenas, page))

    for p in problems:
        print("problem: " + p)
    print("jemalloc_stats: %s" % ("ok" if not problems else "FAILED"))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
