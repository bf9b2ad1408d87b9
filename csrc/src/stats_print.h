/*
 * stats_print.h -- malloc_stats_print: the statistics report, as human text or as JSON, written
 * with emitter.h. (stats.h owns the snapshot; this module only reads it, through mallctl.)
 *
 * stats_print(write_cb, cbopaque, opts) advances the epoch once, then reads every value it
 * prints by mallctl name (ctl.h), so the report shows the snapshot that `epoch` just refreshed,
 * with the same names and types as the mallctl keys. What it prints is derived from the two
 * tables: config.*, opt.* and arenas.* are every readable leaf of ctl_tree.def under those
 * prefixes (table order); stats.* and stats.arenas.<i>.* are the fields of stats_fields.def (in
 * that file's order). A key that cannot be read (a feature not built: ENOENT) is left out.
 *
 * opts, jemalloc's characters (anything else is ignored):
 *   J  JSON instead of text            g  omit version, config.*, opt.*, arenas.*
 *   m  omit the merged arenas          a  omit each arena
 *   d  omit destroyed arenas (none exist yet: nothing is printed for them either way)
 *   b  omit the per-bin tables         l  omit the per-large-class tables
 *   x, e, h  mutex, extent and HPA statistics: arenalloc has none to print yet
 * Without stats (config.stats false) only the general part is printed.
 *
 * The JSON document (keys are the mallctl names below each prefix):
 *
 *   {"arenalloc": {
 *      "version": "0.1.0",
 *      "config": {"cache_oblivious": false, "debug": false, ...},          config.*
 *      "opt": {"abort": false, ..., "zero_realloc": "free"},             opt.*
 *      "arenas": {"narenas": 16, "nbins": 36, "nhbins": 41, "nlextents": 196, "page": 4096,
 *                 "quantum": 16, "tcache_max": 32768,                   arenas.*
 *                 "bin": [{"nregs": 512, "size": 8, "slab_size": 4096}, ...],  j < nbins
 *                 "lextent": [{"size": 16384}, ...]},                   j < nlextents
 *      "stats": {"allocated": ..., "active": ..., "metadata": ..., "resident": ...,
 *                "mapped": ..., "retained": ..., "zero_reallocs": ...},  stats.*
 *      "stats.arenas": {                                                 stats.arenas.<i>.*
 *        "merged": {"nthreads": 1, "uptime": ..., "pactive": ..., ..., "muzzy_purged": ...,
 *                   "small": {"allocated": ..., "nmalloc": ..., ..., "nflushes": ...},
 *                   "large": {...same keys...},
 *                   "bins": [{"nmalloc": ..., ..., "nonfull_slabs": ...}, ...],   j < nbins
 *                   "lextents": [{"nmalloc": ..., ..., "curlextents": ...}, ...]}, j < nlextents
 *        "0": {...same shape...}, "1": ...}}}                             initialized arenas
 *
 * "version", "config", "opt" and "arenas" go with `g`; "merged" with `m`; the numbered arenas
 * with `a` ("stats.arenas" itself when both go); "bins" with `b`; "lextents" with `l`. The bin
 * and lextent arrays are indexed like the mallctl keys: entry j of "bins" is
 * stats.arenas.<i>.bins.<j>.*, whose size is "arenas"."bin"[j]."size".
 *
 * The text report has the same content (jemalloc's layout): a "___ Begin arenalloc statistics
 * ___" line; `Version: "..."`; the sections "Build-time option settings" (config.* lines),
 * "Run-time option settings" (opt.*) and "Arena settings" (arenas.*, without the per-class
 * arrays); a "Totals:" line with stats.*; a "Stacked view:" line, allocated <= active <= resident
 * <= mapped and the overhead resident - allocated; then "Merged arenas stats:" and "Arena <i>
 * stats:", each with one "name: value" line per arena field, a small/large/total table, the
 * "bins:" table (size ind allocated nmalloc ... nonfull_slabs regs pgs util) and the
 * "lextents:" table (size ind allocated nmalloc ndalloc nrequests curlextents), where rows with
 * no activity are left out and each run of them shows as one "---" line; and a "--- End
 * arenalloc statistics ---" line. `allocated` in the tables is curregs (curlextents) x size;
 * util is curregs / (curslabs x regs), in thousandths.
 *
 * No allocation: values go through a buffer on the stack to write_cb (see emitter.h), and ctl
 * reads never call malloc. write_cb is called with no lock held. Values come from several
 * mallctl reads: a concurrent `epoch` write by another thread can mix two snapshots (as in
 * jemalloc).
 */
#ifndef AL_STATS_PRINT_H
#define AL_STATS_PRINT_H

#include "emitter.h"

/* write_cb NULL: arenalloc_malloc_message (with cbopaque), or stderr if that is NULL too; opts
 * NULL: "". The caller has initialized the allocator. */
void stats_print(emitter_write_cb_t *write_cb, void *cbopaque, const char *opts);

/* Bytes of the stack buffer behind write_cb: every chunk has at most this minus one. */
#define STATS_PRINT_BUFSIZE 4096

#endif
