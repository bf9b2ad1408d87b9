/*
 * ctl.h -- the mallctl namespace: name -> MIB translation, the MIB walk, type and size checks,
 * and the handlers, all derived from ctl_tree.def (the one table of the namespace).
 *
 * The tree. Built once, at the first call, from the table's paths: one node per distinct path
 * prefix. A node is a leaf (one table line), a named node (children matched by name; in a MIB
 * a child is its ordinal among its siblings, in table order) or an indexed node (its one child
 * is reached by a number, which the MIB keeps as is, so `mib[k] = i` works as in jemalloc, and
 * which the prefix's CTL_INDEX validator checks).
 *
 * Errors, jemalloc 5.3's (reference notes §1.4), checked before anything changes:
 *   ENOENT  unknown name or component, a name or MIB that stops at an interior node or goes
 *           past a leaf, an index the validator rejects (out of range, an arena that did not
 *           exist at the last epoch), a key of a feature not built (COND);
 *   EPERM   a write to a read-only key, a read of a write-only key, any buffer passed to a
 *           command (NONE);
 *   EINVAL  newp != NULL with newlen != sizeof(type); a read with *oldlenp != sizeof(type): the
 *           first min(sizeof, *oldlenp) bytes of the value are copied, *oldlenp is set to that
 *           and nothing else happens (a write in the same call is not done); also two inputs
 *           jemalloc silently ignores: oldp without oldlenp, and newlen != 0 without newp;
 *           NULL name / mibp / miblenp; semantic errors of a key (arenas.lookup, a decay time
 *           below -1 or above DECAY_MS_MAX);
 *   EFAULT  an indexed MIB component above UINT_MAX; thread.arena beyond arenas.narenas;
 *           thread.tcache.flush without a cache; arena.<i>.* of MALLCTL_ARENAS_DESTROYED (no
 *           arena is destroyed yet); a read of arena.<i>.*_decay_ms of an arena not created;
 *   EAGAIN  the namespace or a snapshot could not be set up (out of memory); a background
 *           purge thread could not be created (background_thread, max_background_threads).
 * Also EINVAL: max_background_threads outside 1 .. 64.
 * mallctlnametomib: *miblenp is the capacity of mibp on entry and the MIB length on return;
 * a name longer than the capacity fills it and succeeds (a partial MIB, completed by the
 * caller), and a name of an interior node is legal there.
 *
 * Concurrency: one ctl lock serializes the tree walk, VALUE leaves and everything that reads or
 * refreshes the statistics snapshot. Lock order: init < ctl < background < arenas < registry <
 * decay < bin < pac < tcache pool < base < background worker (api.c's fork handlers take it in
 * that order). Handlers of thread.* keys touch only the calling thread and run without it.
 */
#ifndef AL_CTL_H
#define AL_CTL_H

#include "internal.h"

int ctl_byname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp);
int ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
              size_t newlen);

void ctl_prefork(void);
void ctl_postfork_parent(void);
void ctl_postfork_child(void);

#endif
