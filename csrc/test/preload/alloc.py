#!/usr/bin/env python3
"""Allocation-heavy, deterministic Python workload for the LD_PRELOAD check.

Prints "checksum: <hex>" of everything it computed. Run it once without the preload to learn the
expected value, then under LD_PRELOAD=libarenalloc.so with --expect <hex>: any difference (or a
crash) means the allocator corrupted something. With --require-lib <path> it also checks that the
preloaded library is really the malloc in use: mapped into this process, exporting
arenalloc_malloc, and the process-wide `malloc` symbol resolving into it.

Run with PYTHONMALLOC=malloc so that every Python object goes through malloc, not pymalloc's
arenas, and PYTHONHASHSEED=0.
"""
import argparse
import collections
import ctypes
import gc
import hashlib
import json
import os
import random
import re
import sys
import threading
import zlib


def work_dicts(rng, h):
    d = {}
    for i in range(60000):
        k = "key-%d-%s" % (i, "x" * (i % 37))
        d[k] = [i, str(i * 7), (i, i + 1)]
        if i % 3 == 0:
            d.pop("key-%d-%s" % (i // 2, "x" * ((i // 2) % 37)), None)
    for k in sorted(d):
        h.update(k.encode())
        h.update(repr(d[k]).encode())
    nested = collections.defaultdict(lambda: collections.defaultdict(list))
    for i in range(40000):
        nested[i % 97][rng.randrange(50)].append(rng.random())
    for a in sorted(nested):
        for b in sorted(nested[a]):
            h.update(("%d:%d:%.12f" % (a, b, sum(nested[a][b]))).encode())


def work_lists(rng, h):
    lists = [[rng.randrange(1 << 30) for _ in range(rng.randrange(1, 2000))] for _ in range(300)]
    for lst in lists:
        lst.sort()
        lst.extend(lst[: len(lst) // 2])  # growth -> realloc
        del lst[::3]
        h.update(str(sum(lst)).encode())
    big = []
    for i in range(200000):
        big.append(i * i)
        if i % 1000 == 999:
            big = big[::2]
    h.update(str(len(big)).encode())
    h.update(str(sum(big)).encode())


def work_strings(rng, h):
    parts = []
    s = ""
    for i in range(20000):
        piece = "".join(chr(97 + rng.randrange(26)) for _ in range(rng.randrange(1, 40)))
        parts.append(piece)
        s += piece[:3]  # quadratic-ish growth through realloc
    joined = "|".join(parts)
    h.update(joined.encode())
    h.update(s.encode())
    words = re.findall(r"[aeiou][a-z]{2,5}", joined)
    h.update(str(len(words)).encode())
    h.update(" ".join(sorted(set(words))[:500]).encode())
    blob = json.dumps({"parts": parts[:5000], "n": list(range(3000))})
    back = json.loads(blob)
    h.update(str(len(back["parts"])).encode())
    comp = zlib.compress(joined.encode() * 4, 6)
    h.update(zlib.decompress(comp)[:1000])
    h.update(str(len(comp)).encode())
    ba = bytearray()
    for i in range(50000):
        ba += bytes([i & 0xFF]) * (i % 7)
    h.update(hashlib.sha256(ba).digest())


def work_bigints(rng, h):
    f = 1
    for i in range(1, 3000):
        f *= i
    h.update(str(f % (10 ** 40)).encode())
    a, b = 0, 1
    for _ in range(20000):
        a, b = b, a + b
    h.update(str(a.bit_length()).encode())
    x = pow(3, 100000) - pow(7, 30000)
    h.update(hex(x)[-64:].encode())
    vals = [rng.getrandbits(4096) for _ in range(300)]
    acc = 1
    for v in vals:
        acc = (acc * v) % ((1 << 8191) - 1)
    h.update(str(acc % 1000000007).encode())


def thread_work(index, out):
    rng = random.Random(1000 + index)
    h = hashlib.sha256()
    objs = {}
    for i in range(15000):
        k = rng.randrange(2000)
        if k in objs and rng.random() < 0.4:
            h.update(repr(objs.pop(k))[:20].encode())
        else:
            objs[k] = [rng.random() for _ in range(rng.randrange(1, 30))] + ["s" * rng.randrange(200)]
    h.update(str(sorted(objs)).encode())
    out[index] = h.hexdigest()


def work_threads(h):
    out = [None] * 6
    threads = [threading.Thread(target=thread_work, args=(i, out)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for v in out:
        h.update(v.encode())


def check_preload(lib):
    problems = []
    real = os.path.realpath(lib)
    with open("/proc/self/maps") as f:
        maps = f.read()
    if real not in maps and lib not in maps:
        problems.append("%s is not mapped into the process" % lib)
    everything = ctypes.CDLL(None)
    try:
        everything.arenalloc_malloc
    except AttributeError:
        problems.append("arenalloc_malloc is not visible in the global symbol scope")
    try:
        ours = ctypes.CDLL(lib)
        global_malloc = ctypes.cast(everything.malloc, ctypes.c_void_p).value
        lib_malloc = ctypes.cast(ours.malloc, ctypes.c_void_p).value
        if global_malloc != lib_malloc:
            problems.append("the global malloc (%#x) is not the library's (%#x)" % (global_malloc, lib_malloc))
        # A block from the global malloc is one the library knows: its usable size is sane.
        everything.malloc.restype = ctypes.c_void_p
        everything.malloc.argtypes = [ctypes.c_size_t]
        everything.free.argtypes = [ctypes.c_void_p]
        ours.malloc_usable_size.restype = ctypes.c_size_t
        ours.malloc_usable_size.argtypes = [ctypes.c_void_p]
        q = everything.malloc(1000)
        usable = ours.malloc_usable_size(q)
        if usable < 1000:
            problems.append("malloc_usable_size of a 1000-byte block is %d" % usable)
        everything.free(q)
    except (AttributeError, OSError) as e:
        problems.append("cannot inspect %s: %s" % (lib, e))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", help="expected checksum (from a run without the preload)")
    ap.add_argument("--require-lib", help="path of the preloaded library that must be in use")
    args = ap.parse_args()

    if args.require_lib:
        problems = check_preload(args.require_lib)
        for p in problems:
            print("preload check: " + p)
        if problems:
            return 1

    rng = random.Random(12345)
    h = hashlib.sha256()
    for step in (work_dicts, work_lists, work_strings, work_bigints):
        step(rng, h)
        gc.collect()
    work_threads(h)
    digest = h.hexdigest()
    print("checksum: " + digest)
    if args.expect is not None and args.expect != digest:
        print("checksum mismatch: expected %s" % args.expect)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
