#!/usr/bin/env python3
"""Validate a malloc_stats_print JSON report (opts with J) and check values in it.

usage: stats_json.py FILE [CHECK ...]

FILE is parsed by Python's json module, strictly (any syntax error, a duplicate key, NaN or
Infinity fails), then the shape
of the document is checked against csrc/src/stats_print.h:
  - one top key, "arenalloc", whose sections are among version, config, opt, arenas, stats,
    stats.arenas, in that order;
  - every number is an integer (no floats), none negative except ssize_t/int64 options;
  - arenas: len(bin) == nbins and len(lextent) == nlextents, each entry with its keys;
  - stats: allocated <= active <= resident <= mapped;
  - stats.arenas: keys "merged", "destroyed" or arena numbers; in each arena "small" and
    "large" objects, and "bins" / "lextents" arrays of nbins / nlextents objects when present;
    the merged arena's small, large, bins and lextents counters are the sums of the numbered
    arenas' (the report reads one snapshot).
Then each CHECK:
  path=value   the value at path equals value (value parsed as JSON, else taken as a string)
  path?        path exists
  path!        path does not exist
A path is '/'-separated keys from the top, e.g. arenalloc/stats.arenas/0/bins/3/curregs;
numeric components index arrays.

Exit status 0 when everything holds; otherwise 1, with one line per problem on stderr.
"""
import json
import sys

SECTIONS = ["version", "config", "opt", "arenas", "stats", "stats.arenas"]
problems = []


def problem(msg):
    problems.append(msg)


def walk(doc, path):
    """The value at a '/'-separated path, or raise KeyError."""
    cur = doc
    for comp in path.split("/"):
        if isinstance(cur, list):
            if not comp.isdigit() or int(comp) >= len(cur):
                raise KeyError(path)
            cur = cur[int(comp)]
        elif isinstance(cur, dict) and comp in cur:
            cur = cur[comp]
        else:
            raise KeyError(path)
    return cur


def check_numbers(value, where):
    if isinstance(value, dict):
        for k, v in value.items():
            check_numbers(v, where + "/" + k)
    elif isinstance(value, list):
        for k, v in enumerate(value):
            check_numbers(v, where + "/" + str(k))
    elif isinstance(value, float):
        problem(f"{where}: {value} is not an integer")


def check_arenas(arenas):
    for key in ("narenas", "nbins", "nhbins", "nlextents", "page", "quantum", "tcache_max"):
        if not isinstance(arenas.get(key), int) or isinstance(arenas.get(key), bool):
            problem(f"arenas/{key}: missing or not an integer")
    bins, lextents = arenas.get("bin"), arenas.get("lextent")
    if not isinstance(bins, list) or len(bins) != arenas.get("nbins"):
        problem("arenas/bin: not an array of nbins entries")
    else:
        for j, b in enumerate(bins):
            if set(b) != {"size", "nregs", "slab_size"}:
                problem(f"arenas/bin/{j}: keys {sorted(b)}")
        sizes = [b.get("size", 0) for b in bins]
        if sizes != sorted(sizes):
            problem("arenas/bin: sizes not increasing")
    if not isinstance(lextents, list) or len(lextents) != arenas.get("nlextents"):
        problem("arenas/lextent: not an array of nlextents entries")


def check_stats(stats):
    order = ["allocated", "active", "resident", "mapped"]
    if all(isinstance(stats.get(k), int) for k in order):
        vals = [stats[k] for k in order]
        if vals != sorted(vals):
            problem(f"stats: allocated <= active <= resident <= mapped fails: {vals}")
    else:
        problem("stats: allocated, active, resident or mapped missing")
    for k, v in stats.items():
        if k == "background_thread" and isinstance(v, dict):
            # jemalloc's nested object: num_threads, num_runs, run_interval.
            for kk, vv in v.items():
                if not isinstance(vv, int) or vv < 0:
                    problem(f"stats/{k}/{kk}: {vv!r} is not a non-negative integer")
            continue
        if not isinstance(v, int) or v < 0:
            problem(f"stats/{k}: {v!r} is not a non-negative integer")


def check_stats_arenas(sa, nbins, nlextents):
    numbered = []
    for key, arena in sa.items():
        if key not in ("merged", "destroyed") and not key.isdigit():
            problem(f"stats.arenas/{key}: not merged, destroyed or an arena number")
            continue
        if key.isdigit():
            numbered.append(arena)
        for part in ("small", "large"):
            if not isinstance(arena.get(part), dict):
                problem(f"stats.arenas/{key}/{part}: missing")
        for table, n in (("bins", nbins), ("lextents", nlextents)):
            if table in arena:
                rows = arena[table]
                if not isinstance(rows, list) or (n is not None and len(rows) != n):
                    problem(f"stats.arenas/{key}/{table}: not an array of {n} objects")
    merged = sa.get("merged")
    if merged is None or not numbered:
        return
    for part in ("small", "large"):
        for field, total in merged.get(part, {}).items():
            got = sum(a.get(part, {}).get(field, 0) for a in numbered)
            if got != total:
                problem(f"stats.arenas/merged/{part}/{field}: {total} != sum {got}")
    for table in ("bins", "lextents"):
        if table not in merged:
            continue
        for j, row in enumerate(merged[table]):
            for field, total in row.items():
                got = sum(a[table][j].get(field, 0) for a in numbered if table in a)
                if got != total:
                    problem(f"stats.arenas/merged/{table}/{j}/{field}: {total} != sum {got}")


def check_shape(doc):
    if not isinstance(doc, dict) or list(doc) != ["arenalloc"]:
        problem("the top level is not {\"arenalloc\": ...}")
        return
    top = doc["arenalloc"]
    keys = list(top)
    if any(k not in SECTIONS for k in keys):
        problem(f"unknown sections: {[k for k in keys if k not in SECTIONS]}")
    elif keys != [k for k in SECTIONS if k in keys]:
        problem(f"sections out of order: {keys}")
    check_numbers(top, "arenalloc")
    if "version" in top and not isinstance(top["version"], str):
        problem("version is not a string")
    for sec in ("config", "opt"):
        if sec in top and not isinstance(top[sec], dict):
            problem(f"{sec} is not an object")
    if "config" in top:
        for k, v in top["config"].items():
            if not isinstance(v, (bool, str)):
                problem(f"config/{k}: {v!r} is neither a boolean nor a string")
    nbins = nlextents = None
    if "arenas" in top:
        check_arenas(top["arenas"])
        nbins, nlextents = top["arenas"].get("nbins"), top["arenas"].get("nlextents")
    if "stats" in top:
        check_stats(top["stats"])
    if "stats.arenas" in top:
        check_stats_arenas(top["stats.arenas"], nbins, nlextents)


def run_check(doc, check):
    if check.endswith("?") or check.endswith("!"):
        path, want_present = check[:-1], check.endswith("?")
        try:
            walk(doc, path)
            present = True
        except KeyError:
            present = False
        if present != want_present:
            problem(f"{path}: {'missing' if want_present else 'present'}")
        return
    path, sep, text = check.partition("=")
    if not sep:
        problem(f"bad check {check!r}")
        return
    try:
        want = json.loads(text)
    except ValueError:
        want = text
    try:
        got = walk(doc, path)
    except KeyError:
        problem(f"{path}: missing (want {want!r})")
        return
    if got != want or type(got) is not type(want):
        problem(f"{path}: {got!r} != {want!r}")


def strict_object(pairs):
    """json object hook: duplicate keys are an error (the json module keeps the last)."""
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            doc = json.load(f, object_pairs_hook=strict_object, parse_constant=reject_constant)
    except (ValueError, UnicodeDecodeError) as e:
        print(f"{argv[1]}: not valid JSON: {e}", file=sys.stderr)
        return 1
    check_shape(doc)
    for check in argv[2:]:
        run_check(doc, check)
    for p in problems:
        print(f"{argv[1]}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
