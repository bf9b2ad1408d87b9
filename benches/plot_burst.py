#!/usr/bin/env python3
"""plot_burst.py -- draw the RSS curves recorded by benches/burst.sh.

    python3 benches/plot_burst.py [DIR [OUT.png]]

Reads every DIR/*.tsv (default target/bench-burst: `t_ms  rss_mib` rows, then `# key value`
summary lines, as written by benches/c/burst.c) and writes OUT.png (default BENCHMARKS-burst.png
at the repository root): RSS over time on a log scale, one line per variant, in two panels --
the five allocators with their default settings, and the decay / explicit-purge variants of
arenalloc and jemalloc. Each curve also has the readings taken right after the free and right
after the explicit purge, at the times they were taken. A dotted line marks 10 % of arenalloc's
peak.

Needs matplotlib; without it the script says so and exits 0 (CI does not run it).
"""
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = ["arenalloc", "jemalloc", "mimalloc", "tcmalloc", "glibc"]
VARIANTS = ["arenalloc-decay0", "arenalloc-decay-1", "arenalloc-purge", "arenalloc-2arenas",
            "jemalloc-decay0", "jemalloc-decay-1", "jemalloc-purge", "jemalloc-2arenas"]
COLOURS = {"arenalloc": "tab:red", "jemalloc": "tab:blue", "mimalloc": "tab:green",
           "tcmalloc": "tab:purple", "glibc": "tab:gray"}
STYLES = {"decay0": ("--", "dirty_decay_ms:0"), "decay-1": (":", "dirty_decay_ms:-1"),
          "purge": ("-.", "arena.4096.purge after the free"),
          "2arenas": ("-", "two arenas: decay 1000 ms / -1")}


def read_tsv(path):
    t, rss, meta = [], [], {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# "):
                parts = line[2:].split(" ", 1)
                meta[parts[0]] = parts[1] if len(parts) > 1 else ""
            elif line and not line.startswith("t_ms"):
                a, b = line.split("\t")
                t.append(float(a) / 1000.0)
                rss.append(float(b))
    return t, rss, meta


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "bench-burst")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "BENCHMARKS-burst.png")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_burst.py: matplotlib is not installed (pip install matplotlib); no plot written")
        return 0

    runs = {}
    for path in sorted(glob.glob(os.path.join(src, "*.tsv"))):
        t, rss, meta = read_tsv(path)
        if t:
            runs[os.path.basename(path)[:-4]] = (t, rss, meta)
    if not runs:
        print(f"plot_burst.py: no TSV in {src}; run benches/burst.sh first")
        return 0

    any_meta = next(iter(runs.values()))[2]
    total_mib = int(any_meta.get("total_bytes", "0")) // (1 << 20)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    panels = [(axes[0], DEFAULTS, "default settings"),
              (axes[1], VARIANTS, "arenalloc and jemalloc: decay 0 / -1, explicit purge, two arenas")]
    ref = runs.get("arenalloc")
    ymin = min(min(r[1]) for r in runs.values())
    for ax, names, title in panels:
        for name in names:
            if name not in runs:
                continue
            t, rss, meta = runs[name]
            alloc = name.split("-", 1)[0]
            style, label = "-", name
            # the readings right after the free (and the purge), at the time they were taken,
            # so that a drop during the first interval is drawn where it happened
            extra = [(float(meta["free_ms"]) / 1000.0, float(meta["rss_after_free_mib"]))]
            if meta.get("purge_end_ms", "-") != "-":
                extra.append((float(meta["purge_end_ms"]) / 1000.0,
                              float(meta["rss_after_purge_mib"])))
            pts = sorted(list(zip(t, rss)) + extra)
            t, rss = [p[0] for p in pts], [p[1] for p in pts]
            if "-" in name:
                style, what = STYLES.get(name.split("-", 1)[1], ("-", ""))
                label = f"{alloc}, {what}"
            label += f" ({rss[-1]:.0f} MiB at {t[-1]:.0f} s)"
            ax.plot(t, rss, style, color=COLOURS.get(alloc, "black"), label=label,
                    linewidth=2 if alloc == "arenalloc" else 1.5, marker=".", markersize=4)
        if ref:
            peak = float(ref[2].get("peak_rss_mib", "0") or 0)
            if peak:
                ax.axhline(0.1 * peak, color="black", linestyle=":", linewidth=0.8)
                ax.text(0.03, 0.1 * peak * 1.08, "10 % of arenalloc's peak", fontsize=8,
                        transform=ax.get_yaxis_transform())
        ax.set_yscale("log")
        ax.set_ylim(max(0.5, ymin * 0.7), None)
        ax.set_xlabel("seconds since the start of the free")
        ax.set_title(title, fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.5), framealpha=0.95)
    axes[0].set_ylabel("RSS (MiB, log scale)")
    fig.suptitle(f"RSS after freeing a {total_mib} MiB burst of 4–64 KiB pieces "
                 f"(sampled every {any_meta.get('interval_ms', '?')} ms; the program then does nothing)",
                 fontsize=12)
    fig.tight_layout()
    fig.savefig(dst, dpi=100)
    print(f"plot_burst.py: wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
