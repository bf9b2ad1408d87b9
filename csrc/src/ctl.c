/*
 * ctl.c -- expands ctl_tree.def into the leaf table, builds the tree from its paths, and walks
 * names and MIBs (contract in ctl.h).
 *
 * Call tree:
 *   ctl_byname(name, ...)         lock -> init once (tree + first snapshot) -> walk_name
 *                                 (whole name, must end at a leaf) -> leaf_access
 *   ctl_nametomib(name, mib, len) lock -> init -> walk_name (up to len components, any node)
 *   ctl_bymib(mib, len, ...)      lock -> init -> walk_mib (must end at a leaf) -> leaf_access
 *   leaf_access                   COND (ENOENT) -> direction (EPERM) -> sizes and NULLs (EINVAL)
 *                                 -> VALUE: evaluate under the lock; HANDLER: unlock, call it
 *                                 (a read with a wrong *oldlenp calls it read-only into a
 *                                 temporary and copies what fits: nothing changes)
 * Handlers therefore see only well-formed calls: oldp is NULL or holds exactly the read size
 * (*oldlenp == that size), newp is NULL (newlen 0) or holds exactly the written size.
 */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <sys/types.h>

#include "arena.h"
#include "background.h"
#include "conf.h"
#include "emap.h"
#include "msg.h"
#include "mutex.h"
#include "stats.h"
#include "tcache.h"
#include "tsd.h"

/* ---- the table's vocabulary ---- */

/* C type of each TYPE, and the bytes read (through oldp) and written (through newp). */
#define CTL_T_BOOL bool
#define CTL_T_UNSIGNED unsigned
#define CTL_T_U32 uint32_t
#define CTL_T_U64 uint64_t
#define CTL_T_I64 int64_t
#define CTL_T_SIZE size_t
#define CTL_T_SSIZE ssize_t
#define CTL_T_STR const char *
#define CTL_T_VOID char
#define CTL_T_U64_PTR uint64_t *
#define CTL_T_HOOKS extent_hooks_t *
#define CTL_T_LOOKUP unsigned
#define CTL_T_CREATE unsigned

#define CTL_RS_BOOL sizeof(bool)
#define CTL_RS_UNSIGNED sizeof(unsigned)
#define CTL_RS_U32 sizeof(uint32_t)
#define CTL_RS_U64 sizeof(uint64_t)
#define CTL_RS_I64 sizeof(int64_t)
#define CTL_RS_SIZE sizeof(size_t)
#define CTL_RS_SSIZE sizeof(ssize_t)
#define CTL_RS_STR sizeof(const char *)
#define CTL_RS_VOID 0
#define CTL_RS_U64_PTR sizeof(uint64_t *)
#define CTL_RS_HOOKS sizeof(extent_hooks_t *)
#define CTL_RS_LOOKUP sizeof(unsigned)
#define CTL_RS_CREATE sizeof(unsigned)

#define CTL_WS_BOOL CTL_RS_BOOL
#define CTL_WS_UNSIGNED CTL_RS_UNSIGNED
#define CTL_WS_U32 CTL_RS_U32
#define CTL_WS_U64 CTL_RS_U64
#define CTL_WS_I64 CTL_RS_I64
#define CTL_WS_SIZE CTL_RS_SIZE
#define CTL_WS_SSIZE CTL_RS_SSIZE
#define CTL_WS_STR CTL_RS_STR
#define CTL_WS_VOID 0
#define CTL_WS_U64_PTR CTL_RS_U64_PTR
#define CTL_WS_HOOKS CTL_RS_HOOKS
#define CTL_WS_LOOKUP sizeof(void *)
#define CTL_WS_CREATE sizeof(extent_hooks_t *)

/* A write that is an input of the read (the read-only retry of a short read keeps it). */
#define CTL_INPUT_LOOKUP true
#define CTL_INPUT_CREATE true
#define CTL_INPUT_BOOL false
#define CTL_INPUT_UNSIGNED false
#define CTL_INPUT_U32 false
#define CTL_INPUT_U64 false
#define CTL_INPUT_I64 false
#define CTL_INPUT_SIZE false
#define CTL_INPUT_SSIZE false
#define CTL_INPUT_STR false
#define CTL_INPUT_VOID false
#define CTL_INPUT_U64_PTR false
#define CTL_INPUT_HOOKS false

/* A read that creates something (an arena, a cache): without the read, or with a short one, the
 * new index would be lost, so that is EINVAL and nothing is created (jemalloc's VERIFY_READ). */
#define CTL_CREATES_CREATE true
#define CTL_CREATES_LOOKUP false
#define CTL_CREATES_BOOL false
#define CTL_CREATES_UNSIGNED false
#define CTL_CREATES_U32 false
#define CTL_CREATES_U64 false
#define CTL_CREATES_I64 false
#define CTL_CREATES_SIZE false
#define CTL_CREATES_SSIZE false
#define CTL_CREATES_STR false
#define CTL_CREATES_VOID false
#define CTL_CREATES_U64_PTR false
#define CTL_CREATES_HOOKS false

#define CTL_READ 1u
#define CTL_WRITE 2u
#define CTL_ACC_RO CTL_READ
#define CTL_ACC_WO CTL_WRITE
#define CTL_ACC_RW (CTL_READ | CTL_WRITE)
#define CTL_ACC_NONE 0u

enum { CTL_COND_ALWAYS, CTL_COND_STATS };

static bool cond_holds(unsigned cond) {
    switch (cond) {
    case CTL_COND_STATS: return config_stats;
    default: return true;
    }
}

typedef int ctl_handler_t(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                          void *newp, size_t newlen);
typedef void ctl_value_t(size_t i, size_t j, void *out);
typedef bool ctl_validator_t(const size_t *mib, size_t k);

/* Largest value any TYPE reads (temporaries for short reads). */
typedef union {
    uint64_t u64;
    size_t size;
    void *ptr;
    char bytes[16];
} ctl_buf_t;

/* ---- what VALUE expressions and validators use ---- */

/* Serializes arenas.create, arena.<i>.reset and arena.<i>.destroy (taken before the ctl lock). */
static mutex_t arenas_admin_lock = {PTHREAD_MUTEX_INITIALIZER};
static mutex_t ctl_lock = {PTHREAD_MUTEX_INITIALIZER};
static bool ctl_initialized;   /* the ctl lock */
static uint64_t ctl_epoch_now; /* the ctl lock */

/* The snapshot of arena i (or of all, i = MALLCTL_ARENAS_ALL): validated by
 * ctl_index_stats_arena under the same hold of the lock. */
static stats_arena_t *ctl_sarena(size_t i) { return stats_arena(i); }

static bool ctl_arena_initialized(size_t i) { return stats_arena(i) != NULL; }

static bool ctl_index_arena(const size_t *mib, size_t k) {
    return mib[k] < arena_narenas() || mib[k] == MALLCTL_ARENAS_ALL ||
           mib[k] == MALLCTL_ARENAS_DESTROYED;
}
static bool ctl_index_stats_arena(const size_t *mib, size_t k) {
    return stats_arena(mib[k]) != NULL;
}
static bool ctl_index_bin(const size_t *mib, size_t k) { return mib[k] < SC_NBINS; }
static bool ctl_index_lextent(const size_t *mib, size_t k) { return mib[k] < SC_NLARGE; }

/* ---- expansion 1: handler prototypes and one value function per VALUE leaf ---- */

#define CTL_CAT_(a, b) a##b
#define CTL_CAT(a, b) CTL_CAT_(a, b)
/* Every CTL line is one line of the .def, so its line number names its value function. */
#define CTL_VALUE_FN CTL_CAT(ctl_value_line_, __LINE__)

#define VALUE(expr) VALUE_, expr
#define HANDLER(name) HANDLER_, name
#define CTL(path, type, access, cond, impl, doc) CTL_DEF_(type, impl)
#define CTL_DEF_(type, kind, x) CTL_DEF_##kind(type, x)
#define CTL_DEF_VALUE_(type, x)                                                                 \
    static void CTL_VALUE_FN(size_t i, size_t j, void *out) {                                  \
        (void)i;                                                                                \
        (void)j;                                                                                \
        CTL_T_##type v_ = (x);                                                                  \
        memcpy(out, &v_, sizeof(v_));                                                           \
    }
#define CTL_DEF_HANDLER_(type, x) static ctl_handler_t x;
#include "ctl_tree.def"
#undef CTL_DEF_
#undef CTL_DEF_VALUE_
#undef CTL_DEF_HANDLER_

/* ---- expansion 2: the leaf table, in file order ---- */

typedef struct ctl_leaf_s {
    const char *path;
    unsigned access;         /* CTL_READ | CTL_WRITE */
    unsigned cond;           /* CTL_COND_* */
    size_t rsize, wsize;     /* bytes through oldp / newp */
    bool write_is_input;     /* LOOKUP, CREATE */
    bool read_creates;       /* CREATE: the read must be there, of exactly rsize (else EINVAL) */
    ctl_value_t *value;      /* VALUE leaves */
    ctl_handler_t *handler;  /* HANDLER leaves */
} ctl_leaf_t;

#define CTL(path, type, access, cond, impl, doc) CTL_ROW_(path, type, access, cond, impl)
#define CTL_ROW_(path, type, access, cond, kind, x)                                             \
    {path, CTL_ACC_##access, CTL_COND_##cond, CTL_RS_##type, CTL_WS_##type, CTL_INPUT_##type,  \
     CTL_CREATES_##type, CTL_ROW_##kind(x)},
#define CTL_ROW_VALUE_(x) CTL_VALUE_FN, NULL
#define CTL_ROW_HANDLER_(x) NULL, x
static const ctl_leaf_t leaves[] = {
#include "ctl_tree.def"
};
#undef CTL_ROW_
#undef CTL_ROW_VALUE_
#undef CTL_ROW_HANDLER_
#undef VALUE
#undef HANDLER

#define CTL_NLEAVES (sizeof(leaves) / sizeof(leaves[0]))

typedef struct ctl_index_decl_s {
    const char *prefix;
    ctl_validator_t *validator;
} ctl_index_decl_t;

#define CTL_INDEX(prefix, validator) {prefix, validator},
static const ctl_index_decl_t index_decls[] = {
#include "ctl_tree.def"
};

/* ---- the tree ---- */

#define CTL_DEPTH_MAX 8

enum { NODE_NAMED, NODE_INDEXED, NODE_LEAF };

typedef struct ctl_node_s {
    const char *name;           /* the component, inside a leaf's path (not NUL-terminated) */
    uint8_t namelen;
    uint8_t kind;               /* NODE_* */
    uint16_t first, n;          /* children: nodes[first, first + n); indexed: n == 1 */
    uint16_t leaf;              /* NODE_LEAF: index in leaves[] */
    ctl_validator_t *validator; /* NODE_INDEXED */
} ctl_node_t;

/* Depths of the {i} and {j} components of each leaf (CTL_DEPTH_MAX if none). */
typedef struct ctl_leaf_pos_s {
    uint8_t ipos, jpos;
} ctl_leaf_pos_t;

static ctl_node_t nodes[CTL_NLEAVES * CTL_DEPTH_MAX + 1];
static unsigned nnodes;
static ctl_leaf_pos_t leaf_pos[CTL_NLEAVES];

/* Component `depth` of path: *start and *len; false if the path has fewer components. */
static bool path_component(const char *path, unsigned depth, const char **start, size_t *len) {
    const char *p = path;
    for (unsigned d = 0; d < depth; d++) {
        p = strchr(p, '.');
        if (p == NULL) return false;
        p++;
    }
    const char *dot = strchr(p, '.');
    *start = p;
    *len = dot != NULL ? (size_t)(dot - p) : strlen(p);
    return true;
}

static bool comp_eq(const char *a, size_t alen, const char *b, size_t blen) {
    return alen == blen && memcmp(a, b, alen) == 0;
}

static bool comp_is_index(const char *c, size_t len) {
    return comp_eq(c, len, "{i}", 3) || comp_eq(c, len, "{j}", 3);
}

static void tree_error(const char *path, const char *what) {
    al_printf("ctl_tree.def: %s: %s\n", path, what);
}

/* Lays out the children of node (whose leaves are leaves[lo, hi), sharing their first depth
 * components) contiguously, then recurses. True on a malformed table. */
static bool build_node(unsigned node, unsigned lo, unsigned hi, unsigned depth) {
    const char *c;
    size_t len;
    if (depth >= CTL_DEPTH_MAX) {
        tree_error(leaves[lo].path, "too deep");
        return true;
    }
    if (!path_component(leaves[lo].path, depth, &c, &len)) {
        if (hi - lo != 1) {
            tree_error(leaves[lo].path, "a leaf is also an interior node");
            return true;
        }
        nodes[node].kind = NODE_LEAF;
        nodes[node].leaf = (uint16_t)lo;
        return false;
    }
    /* Children: runs of equal component `depth` (runs, because the table is sorted). */
    unsigned first = nnodes, n = 0;
    for (unsigned k = lo; k < hi;) {
        const char *ck;
        size_t lk;
        if (!path_component(leaves[k].path, depth, &ck, &lk)) {
            tree_error(leaves[k].path, "a leaf is also an interior node");
            return true;
        }
        unsigned end = k + 1;
        const char *ce;
        size_t le;
        while (end < hi && path_component(leaves[end].path, depth, &ce, &le) &&
               comp_eq(ck, lk, ce, le)) {
            end++;
        }
        if (nnodes >= sizeof(nodes) / sizeof(nodes[0]) || lk > UINT8_MAX) {
            tree_error(leaves[k].path, "too many nodes");
            return true;
        }
        ctl_node_t *child = &nodes[nnodes++];
        child->name = ck;
        child->namelen = (uint8_t)lk;
        n++;
        k = end;
    }
    ctl_node_t *self = &nodes[node];
    self->first = (uint16_t)first;
    self->n = (uint16_t)n;
    self->kind = NODE_NAMED;
    if (comp_is_index(c, len)) {
        if (n != 1) {
            tree_error(leaves[lo].path, "an indexed component has named siblings");
            return true;
        }
        size_t plen = (size_t)(c - leaves[lo].path) + len;
        self->kind = NODE_INDEXED;
        self->validator = NULL;
        for (size_t d = 0; d < sizeof(index_decls) / sizeof(index_decls[0]); d++) {
            if (comp_eq(index_decls[d].prefix, strlen(index_decls[d].prefix), leaves[lo].path,
                        plen)) {
                self->validator = index_decls[d].validator;
            }
        }
        if (self->validator == NULL) {
            tree_error(leaves[lo].path, "no CTL_INDEX for this indexed prefix");
            return true;
        }
    }
    for (unsigned k = lo, child = first; k < hi; child++) {
        unsigned end = k + 1;
        const char *ce;
        size_t le;
        while (end < hi && path_component(leaves[end].path, depth, &ce, &le) &&
               comp_eq(nodes[child].name, nodes[child].namelen, ce, le)) {
            end++;
        }
        if (build_node(child, k, end, depth + 1)) return true;
        k = end;
    }
    return false;
}

static bool tree_build(void) {
    for (unsigned k = 0; k < CTL_NLEAVES; k++) {
        if (k > 0 && strcmp(leaves[k - 1].path, leaves[k].path) >= 0) {
            tree_error(leaves[k].path, "not sorted after the line before");
            return true;
        }
        leaf_pos[k].ipos = leaf_pos[k].jpos = CTL_DEPTH_MAX;
        const char *c;
        size_t len;
        for (unsigned d = 0; path_component(leaves[k].path, d, &c, &len); d++) {
            if (d >= CTL_DEPTH_MAX) break;
            if (comp_eq(c, len, "{i}", 3)) leaf_pos[k].ipos = (uint8_t)d;
            if (comp_eq(c, len, "{j}", 3)) leaf_pos[k].jpos = (uint8_t)d;
        }
    }
    nnodes = 1;
    memset(&nodes[0], 0, sizeof(nodes[0]));
    return build_node(0, 0, CTL_NLEAVES, 0);
}

/* First call: the tree and the first snapshot (epoch 1, as in jemalloc). The ctl lock is held. */
static bool ctl_init_locked(void) {
    if (LIKELY(ctl_initialized)) return false;
    if (tree_build() || stats_refresh()) return true;
    ctl_epoch_now = 1;
    ctl_initialized = true;
    return false;
}

/* ---- walking ---- */

/* A decimal index component (digits only) that fits unsigned. */
static bool parse_index(const char *s, size_t len, size_t *out) {
    if (len == 0 || len > 10) return false;
    uint64_t v = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] < '0' || s[k] > '9') return false;
        v = v * 10 + (uint64_t)(s[k] - '0');
    }
    if (v > UINT_MAX) return false;
    *out = (size_t)v;
    return true;
}

/*
 * Translates up to cap components of name into mib. On success *depthp is the number translated,
 * *nodep the node reached and *complete whether the whole name was used.
 */
static int walk_name(const char *name, size_t *mib, size_t cap, size_t *depthp, unsigned *nodep,
                     bool *complete) {
    unsigned node = 0;
    size_t depth = 0;
    const char *p = name;
    while (p != NULL && depth < cap) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
        const ctl_node_t *n = &nodes[node];
        if (len == 0 || n->kind == NODE_LEAF) return ENOENT;
        if (n->kind == NODE_INDEXED) {
            if (!parse_index(p, len, &mib[depth])) return ENOENT;
            if (!n->validator(mib, depth)) return ENOENT;
            node = n->first;
        } else {
            unsigned c = 0;
            while (c < n->n && !comp_eq(nodes[n->first + c].name, nodes[n->first + c].namelen, p,
                                        len)) {
                c++;
            }
            if (c == n->n) return ENOENT;
            mib[depth] = c;
            node = n->first + c;
        }
        depth++;
        p = dot != NULL ? dot + 1 : NULL;
    }
    *depthp = depth;
    *nodep = node;
    *complete = p == NULL;
    return 0;
}

static int walk_mib(const size_t *mib, size_t miblen, unsigned *nodep) {
    unsigned node = 0;
    for (size_t k = 0; k < miblen; k++) {
        const ctl_node_t *n = &nodes[node];
        if (n->kind == NODE_LEAF) return ENOENT;
        if (n->kind == NODE_INDEXED) {
            if (mib[k] > UINT_MAX) return EFAULT;
            if (!n->validator(mib, k)) return ENOENT;
            node = n->first;
        } else {
            if (mib[k] >= n->n) return ENOENT;
            node = n->first + (unsigned)mib[k];
        }
    }
    if (nodes[node].kind != NODE_LEAF) return ENOENT;
    *nodep = node;
    return 0;
}

/* ---- one access to a leaf: entered with the ctl lock held, returns with it released ---- */


static int leaf_access(unsigned node, const size_t *mib, size_t miblen, void *oldp,
                       size_t *oldlenp, void *newp, size_t newlen) {
    const ctl_leaf_t *leaf = &leaves[nodes[node].leaf];
    int ret = 0;
    if (!cond_holds(leaf->cond)) {
        ret = ENOENT;
    } else if (!(leaf->access & CTL_READ) && (oldp != NULL || oldlenp != NULL)) {
        ret = EPERM;
    } else if (!(leaf->access & CTL_WRITE) && (newp != NULL || newlen != 0)) {
        ret = EPERM;
    } else if (oldp != NULL && oldlenp == NULL) {
        ret = EINVAL;
    } else if (leaf->read_creates && (oldp == NULL || *oldlenp != leaf->rsize)) {
        if (oldlenp != NULL) *oldlenp = 0;
        ret = EINVAL;
    } else if (newp != NULL ? newlen != leaf->wsize : newlen != 0) {
        ret = EINVAL;
    }
    if (ret != 0) {
        mutex_unlock(&ctl_lock);
        return ret;
    }

    bool reading = oldp != NULL;
    bool shortread = reading && *oldlenp != leaf->rsize;
    ctl_buf_t buf;
    void *out = shortread ? (void *)&buf : oldp;
    if (leaf->value != NULL) {
        if (reading) {
            const ctl_leaf_pos_t *pos = &leaf_pos[nodes[node].leaf];
            size_t i = pos->ipos < miblen ? mib[pos->ipos] : 0;
            size_t j = pos->jpos < miblen ? mib[pos->jpos] : 0;
            leaf->value(i, j, out);
        }
        mutex_unlock(&ctl_lock);
    } else {
        mutex_unlock(&ctl_lock);
        size_t rsize = leaf->rsize;
        if (shortread && !leaf->write_is_input) { /* read only: change nothing */
            newp = NULL;
            newlen = 0;
        }
        ret = leaf->handler(mib, miblen, reading ? out : NULL, reading ? &rsize : NULL, newp,
                            newlen);
    }
    if (ret == 0 && shortread) {
        size_t n = *oldlenp < leaf->rsize ? *oldlenp : leaf->rsize;
        memcpy(oldp, &buf, n);
        *oldlenp = n;
        ret = EINVAL;
    }
    return ret;
}

/* ---- entry points ---- */

int ctl_byname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    if (name == NULL) return EINVAL;
    mutex_lock(&ctl_lock);
    if (ctl_init_locked()) {
        mutex_unlock(&ctl_lock);
        return EAGAIN;
    }
    size_t mib[CTL_DEPTH_MAX], depth;
    unsigned node;
    bool complete;
    int ret = walk_name(name, mib, CTL_DEPTH_MAX, &depth, &node, &complete);
    if (ret == 0 && (!complete || nodes[node].kind != NODE_LEAF)) ret = ENOENT;
    if (ret != 0) {
        mutex_unlock(&ctl_lock);
        return ret;
    }
    return leaf_access(node, mib, depth, oldp, oldlenp, newp, newlen);
}

int ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (name == NULL || miblenp == NULL || (mibp == NULL && *miblenp != 0)) return EINVAL;
    mutex_lock(&ctl_lock);
    if (ctl_init_locked()) {
        mutex_unlock(&ctl_lock);
        return EAGAIN;
    }
    size_t mib[CTL_DEPTH_MAX], depth;
    unsigned node;
    bool complete;
    size_t cap = *miblenp < CTL_DEPTH_MAX ? *miblenp : CTL_DEPTH_MAX;
    int ret = walk_name(name, mib, cap, &depth, &node, &complete);
    /* A name that is complete within the capacity is fine at any node; one that is not must
     * have filled all of the caller's capacity (deeper than any path: ENOENT). */
    if (ret == 0 && !complete && depth < *miblenp) ret = ENOENT;
    mutex_unlock(&ctl_lock);
    if (ret != 0) return ret;
    memcpy(mibp, mib, depth * sizeof(size_t));
    *miblenp = depth;
    return 0;
}

int ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
              size_t newlen) {
    if (mib == NULL && miblen != 0) return EINVAL;
    mutex_lock(&ctl_lock);
    if (ctl_init_locked()) {
        mutex_unlock(&ctl_lock);
        return EAGAIN;
    }
    unsigned node;
    int ret = walk_mib(mib, miblen, &node);
    if (ret != 0) {
        mutex_unlock(&ctl_lock);
        return ret;
    }
    return leaf_access(node, mib, miblen, oldp, oldlenp, newp, newlen);
}

void ctl_prefork(void) {
    mutex_prefork(&arenas_admin_lock);
    mutex_prefork(&ctl_lock);
}
void ctl_postfork_parent(void) {
    mutex_postfork_parent(&ctl_lock);
    mutex_postfork_parent(&arenas_admin_lock);
}
void ctl_postfork_child(void) {
    mutex_postfork_child(&ctl_lock);
    mutex_postfork_child(&arenas_admin_lock);
}

/* ---- handlers (well-formed calls only: see leaf_access) ---- */

static void out_put(void *oldp, const void *v, size_t size) {
    if (oldp != NULL) memcpy(oldp, v, size);
}

static int ctl_epoch(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                     size_t newlen) {
    int ret = 0;
    mutex_lock(&ctl_lock);
    if (newp != NULL) { /* any value: jemalloc ignores it too */
        if (stats_refresh()) ret = EAGAIN;
        else ctl_epoch_now++;
    }
    uint64_t epoch = ctl_epoch_now;
    mutex_unlock(&ctl_lock);
    if (ret == 0) out_put(oldp, &epoch, sizeof(epoch));
    return ret;
}

static int ctl_thread_allocated(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                void *newp, size_t newlen) {
    uint64_t v = tsd_fetch()->thread_allocated;
    out_put(oldp, &v, sizeof(v));
    return 0;
}

static int ctl_thread_allocatedp(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                 void *newp, size_t newlen) {
    uint64_t *p = &tsd_fetch()->thread_allocated;
    out_put(oldp, &p, sizeof(p));
    return 0;
}

static int ctl_thread_deallocated(const size_t *mib, size_t miblen, void *oldp,
                                  size_t *oldlenp, void *newp, size_t newlen) {
    uint64_t v = tsd_deallocated_refresh(tsd_fetch());
    out_put(oldp, &v, sizeof(v));
    return 0;
}

static int ctl_thread_deallocatedp(const size_t *mib, size_t miblen, void *oldp,
                                   size_t *oldlenp, void *newp, size_t newlen) {
    tsd_t *tsd = tsd_fetch();
    tsd_deallocated_refresh(tsd);
    uint64_t *p = &tsd->thread_deallocated;
    out_put(oldp, &p, sizeof(p));
    return 0;
}

static int ctl_thread_arena(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                            void *newp, size_t newlen) {
    tsd_t *tsd = tsd_fetch();
    bool percpu = opt_percpu_arena_mode != PERCPU_DISABLED;
    if (percpu) tsd_percpu_update(tsd); /* read the CPU's arena, as jemalloc's arena_choose */
    unsigned old = tsd_arena(tsd)->ind;
    if (newp != NULL) {
        unsigned ind;
        memcpy(&ind, newp, sizeof(ind));
        if (ind >= arena_narenas()) return EFAULT;
        if (percpu && ind < narenas_auto) return EPERM; /* the CPU decides (jemalloc) */
        if (tsd->state != TSD_NOMINAL) return EAGAIN; /* exiting: no longer bound anywhere */
        arena_t *arena = arena_get(ind, true);
        if (arena == NULL) return EAGAIN;
        tsd_arena_set(tsd, arena);
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

static int ctl_thread_tcache_enabled(const size_t *mib, size_t miblen, void *oldp,
                                     size_t *oldlenp, void *newp, size_t newlen) {
    tsd_t *tsd = tsd_fetch();
    bool old = tsd->tcache_enabled && tsd->tcache.slots != NULL;
    if (newp != NULL) {
        bool enable;
        memcpy(&enable, newp, sizeof(enable));
        if (tsd_tcache_set_enabled(tsd, enable)) return EAGAIN;
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

/* ---- background purge threads: background_thread, max_background_threads ---- */

static int ctl_background_thread(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                 void *newp, size_t newlen) {
    bool old = background_enabled();
    if (newp != NULL) {
        bool enable;
        memcpy(&enable, newp, sizeof(enable));
        int err = background_set(enable);
        if (err != 0) return err;
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

static int ctl_max_background_threads(const size_t *mib, size_t miblen, void *oldp,
                                      size_t *oldlenp, void *newp, size_t newlen) {
    size_t old = background_max();
    if (newp != NULL) {
        size_t n;
        memcpy(&n, newp, sizeof(n));
        int err = background_max_set(n);
        if (err != 0) return err;
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

/* Flushes the calling thread's cache; false if it has none. */
static bool flush_own_cache(void) {
    tsd_t *tsd = tsd_fetch();
    if (tsd->state != TSD_NOMINAL || tsd->tcache.slots == NULL) return false;
    tcache_flush_all(&tsd->tcache);
    if (config_stats) tsd_deallocated_refresh(tsd);
    return true;
}

static int ctl_thread_tcache_flush(const size_t *mib, size_t miblen, void *oldp,
                                   size_t *oldlenp, void *newp, size_t newlen) {
    return flush_own_cache() ? 0 : EFAULT;
}

static int ctl_thread_idle(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                           void *newp, size_t newlen) {
    flush_own_cache();
    return 0;
}

static int ctl_arenas_lookup(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                             void *newp, size_t newlen) {
    if (newp == NULL) return EINVAL;
    void *ptr;
    memcpy(&ptr, newp, sizeof(ptr));
    emap_entry_t entry = emap_lookup(ptr);
    if (emap_entry_szind1(entry) == 0) return EINVAL;
    unsigned ind = edata_arena_ind(emap_entry_edata(entry));
    out_put(oldp, &ind, sizeof(ind));
    return 0;
}

/* ---- decay: arena.<i>.{decay, purge, dirty_decay_ms, muzzy_decay_ms}, arenas.*_decay_ms ---- */

/* Runs f on every arena that exists (MALLCTL_ARENAS_ALL), or on arena i if it exists. */
static int arena_each(size_t i, void (*f)(arena_t *, void *), void *arg) {
    if (i == MALLCTL_ARENAS_DESTROYED) return EFAULT;
    if (i != MALLCTL_ARENAS_ALL) {
        arena_t *a = arena_get((unsigned)i, false);
        if (a != NULL) f(a, arg);
        return 0;
    }
    for (unsigned k = 0; k < arena_narenas(); k++) {
        arena_t *a = arena_get(k, false);
        if (a != NULL) f(a, arg);
    }
    return 0;
}

static void do_decay(arena_t *a, void *all) { arena_decay(a, *(bool *)all); }

static int ctl_arena_decay(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                           void *newp, size_t newlen) {
    bool all = false;
    return arena_each(mib[1], do_decay, &all);
}

static int ctl_arena_purge(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                           void *newp, size_t newlen) {
    bool all = true;
    return arena_each(mib[1], do_decay, &all);
}

typedef struct {
    extent_state_t which;
    ssize_t ms;
} decay_ms_arg_t;

static void do_set_decay_ms(arena_t *a, void *arg) {
    decay_ms_arg_t *d = arg;
    arena_set_decay_ms(a, d->which, d->ms);
}

/* arena.<i>.{dirty,muzzy}_decay_ms. The value is checked before anything else. */
static int arena_decay_ms_ctl(const size_t *mib, void *oldp, void *newp, extent_state_t which) {
    decay_ms_arg_t arg = {which, 0};
    if (newp != NULL) {
        memcpy(&arg.ms, newp, sizeof(arg.ms));
        if (!decay_ms_valid(arg.ms)) return EINVAL;
    }
    size_t i = mib[1];
    if (i == MALLCTL_ARENAS_DESTROYED) return EFAULT;
    arena_t *a;
    if (i == MALLCTL_ARENAS_ALL) {
        a = arena_get(0, false); /* reads give arena 0's */
    } else {
        /* A write creates an automatic arena (as thread.arena does); a read does not. */
        a = arena_get((unsigned)i, newp != NULL);
        if (a == NULL) return newp != NULL ? EAGAIN : EFAULT;
    }
    ssize_t old = arena_decay_ms(a, which);
    if (newp != NULL) {
        if (i == MALLCTL_ARENAS_ALL) arena_each(i, do_set_decay_ms, &arg);
        else arena_set_decay_ms(a, which, arg.ms);
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

static int ctl_arena_dirty_decay_ms(const size_t *mib, size_t miblen, void *oldp,
                                    size_t *oldlenp, void *newp, size_t newlen) {
    return arena_decay_ms_ctl(mib, oldp, newp, EXTENT_DIRTY);
}

static int ctl_arena_muzzy_decay_ms(const size_t *mib, size_t miblen, void *oldp,
                                    size_t *oldlenp, void *newp, size_t newlen) {
    return arena_decay_ms_ctl(mib, oldp, newp, EXTENT_MUZZY);
}

static int arenas_decay_ms_ctl(void *oldp, void *newp, extent_state_t which) {
    ssize_t old = arena_decay_ms_default(which);
    if (newp != NULL) {
        ssize_t ms;
        memcpy(&ms, newp, sizeof(ms));
        if (arena_decay_ms_default_set(which, ms)) return EINVAL;
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

static int ctl_arenas_dirty_decay_ms(const size_t *mib, size_t miblen, void *oldp,
                                     size_t *oldlenp, void *newp, size_t newlen) {
    return arenas_decay_ms_ctl(oldp, newp, EXTENT_DIRTY);
}

static int ctl_arenas_muzzy_decay_ms(const size_t *mib, size_t miblen, void *oldp,
                                     size_t *oldlenp, void *newp, size_t newlen) {
    return arenas_decay_ms_ctl(oldp, newp, EXTENT_MUZZY);
}

/* ---- explicit arenas: arenas.create, arena.<i>.{extent_hooks, reset, destroy,
 * retain_grow_limit} ---- */

static int ctl_arenas_create(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                             void *newp, size_t newlen) {
    extent_hooks_t *hooks = NULL; /* none written, or NULL: the default hooks */
    if (newp != NULL) memcpy(&hooks, newp, sizeof(hooks));
    mutex_lock(&arenas_admin_lock);
    arena_t *a = arena_create(hooks);
    mutex_unlock(&arenas_admin_lock);
    if (a == NULL) return EAGAIN;
    out_put(oldp, &a->ind, sizeof(a->ind));
    return 0;
}

/* The arena at index i (not ALL or DESTROYED), or NULL. */
static arena_t *arena_at(size_t i) { return i < ARENAS_MAX ? arena_get((unsigned)i, false) : NULL; }

static int ctl_arena_extent_hooks(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                                  void *newp, size_t newlen) {
    extent_hooks_t *hooks = NULL;
    if (newp != NULL) {
        memcpy(&hooks, newp, sizeof(hooks));
        if (hooks == NULL) return EINVAL;
    }
    size_t i = mib[1];
    arena_t *a = arena_at(i);
    if (a == NULL && newp != NULL && i < ARENAS_MAX) {
        /* Writing to an automatic arena not created yet creates it (jemalloc). */
        a = arena_get((unsigned)i, true);
        if (a == NULL && (i < narenas_auto || i == arena_huge_ind)) return EAGAIN;
    }
    if (a == NULL) return EFAULT;
    extent_hooks_t *old = newp != NULL ? arena_set_extent_hooks(a, hooks) : ehooks_get(&a->ehooks);
    out_put(oldp, &old, sizeof(old));
    return 0;
}

static int ctl_arena_retain_grow_limit(const size_t *mib, size_t miblen, void *oldp,
                                       size_t *oldlenp, void *newp, size_t newlen) {
    arena_t *a = arena_at(mib[1]);
    if (a == NULL) return EFAULT;
    size_t old = pac_grow_limit(&a->pac);
    if (newp != NULL) {
        size_t limit;
        memcpy(&limit, newp, sizeof(limit));
        if (pac_grow_limit_set(&a->pac, limit)) return EINVAL;
    }
    out_put(oldp, &old, sizeof(old));
    return 0;
}

/* The explicit arena at index i that reset and destroy may act on (the admin lock is held), or
 * NULL: automatic arenas, ALL, DESTROYED and unused indices are EFAULT, as in jemalloc. */
static arena_t *explicit_arena_at(size_t i) {
    arena_t *a = arena_at(i);
    return a != NULL && !arena_is_auto(a) ? a : NULL;
}

static int ctl_arena_reset(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                           void *newp, size_t newlen) {
    mutex_lock(&arenas_admin_lock);
    arena_t *a = explicit_arena_at(mib[1]);
    if (a != NULL) {
        flush_own_cache(); /* the caller's cached objects of the arena go first */
        arena_reset(a);
    }
    mutex_unlock(&arenas_admin_lock);
    return a != NULL ? 0 : EFAULT;
}

static int ctl_arena_destroy(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                             void *newp, size_t newlen) {
    mutex_lock(&arenas_admin_lock);
    arena_t *a = explicit_arena_at(mib[1]);
    /* A thread bound to it would allocate from it again (jemalloc: EFAULT too). */
    if (a != NULL && __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED) != 0) a = NULL;
    if (a != NULL) {
        flush_own_cache();
        arena_destroy_begin(a);
        mutex_lock(&ctl_lock);
        stats_arena_destroyed(a);
        mutex_unlock(&ctl_lock);
        arena_destroy_end(a);
    }
    mutex_unlock(&arenas_admin_lock);
    return a != NULL ? 0 : EFAULT;
}

/* ---- explicit thread caches: tcache.{create, flush, destroy} ---- */

static int ctl_tcache_create(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                             void *newp, size_t newlen) {
    unsigned ind;
    if (tcache_explicit_create(tsd_arena(tsd_fetch()), &ind)) return EAGAIN;
    out_put(oldp, &ind, sizeof(ind));
    return 0;
}

/* tcache.flush / tcache.destroy: the index written (none or unknown: EFAULT, as jemalloc). */
static int tcache_index_ctl(void *newp, bool (*op)(unsigned)) {
    if (newp == NULL) return EFAULT;
    unsigned ind;
    memcpy(&ind, newp, sizeof(ind));
    return op(ind) ? EFAULT : 0;
}

static int ctl_tcache_flush(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                            void *newp, size_t newlen) {
    return tcache_index_ctl(newp, tcache_explicit_flush);
}

static int ctl_tcache_destroy(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                              void *newp, size_t newlen) {
    return tcache_index_ctl(newp, tcache_explicit_destroy);
}
