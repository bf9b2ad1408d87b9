#include "eset.h"

void eset_init(eset_t *set) { memset(set, 0, sizeof(*set)); }

static bool less(const edata_t *a, const edata_t *b) {
    if (a->size != b->size) return a->size < b->size;
    return (uintptr_t)a->addr < (uintptr_t)b->addr;
}

/* Splits t into the members less than key (*l) and the rest (*r). */
static void split(edata_t *t, const edata_t *key, edata_t **l, edata_t **r) {
    if (t == NULL) {
        *l = *r = NULL;
    } else if (less(t, key)) {
        split(t->right, key, &t->right, r);
        *l = t;
    } else {
        split(t->left, key, l, &t->left);
        *r = t;
    }
}

/* Joins two treaps where every member of a is less than every member of b. */
static edata_t *join(edata_t *a, edata_t *b) {
    if (a == NULL) return b;
    if (b == NULL) return a;
    if (a->prio > b->prio) {
        a->right = join(a->right, b);
        return a;
    }
    b->left = join(a, b->left);
    return b;
}

static edata_t *remove_rec(edata_t *t, const edata_t *e) {
    al_assert(t != NULL);
    if (t == e) return join(t->left, t->right);
    if (less(e, t)) t->left = remove_rec(t->left, e);
    else t->right = remove_rec(t->right, e);
    return t;
}

void eset_insert(eset_t *set, edata_t *e) {
    edata_t *l, *r;
    e->left = e->right = NULL;
    e->prio = (uint32_t)(((uintptr_t)e->addr >> LG_PAGE) * 0x9E3779B97F4A7C15ull >> 32);
    split(set->root, e, &l, &r);
    set->root = join(join(l, e), r);
    edata_list_append(&set->lru, e);
    set->npages += e->size >> LG_PAGE;
}

void eset_remove(eset_t *set, edata_t *e) {
    set->root = remove_rec(set->root, e);
    e->left = e->right = NULL;
    edata_list_remove(&set->lru, e);
    set->npages -= e->size >> LG_PAGE;
}

void eset_make_oldest(eset_t *set, edata_t *e) {
    edata_list_remove(&set->lru, e);
    edata_list_prepend(&set->lru, e);
}

static bool fits(const edata_t *e, size_t size, size_t alignment) {
    uintptr_t start = ALIGNMENT_CEILING((uintptr_t)e->addr, alignment);
    return start + size <= (uintptr_t)edata_end(e) && start >= (uintptr_t)e->addr;
}

static edata_t *lower_bound(const eset_t *set, size_t size) {
    edata_t *best = NULL;
    for (edata_t *t = set->root; t != NULL;) {
        if (t->size >= size) {
            best = t;
            t = t->left;
        } else {
            t = t->right;
        }
    }
    return best;
}

edata_t *eset_fit(eset_t *set, size_t size, size_t alignment) {
    edata_t *best = lower_bound(set, size);
    if (best == NULL || alignment <= PAGE || fits(best, size, alignment)) return best;
    /* Any extent of size + alignment - PAGE bytes fits whatever its address. */
    size_t sure = size + alignment - PAGE;
    return sure < size ? NULL : lower_bound(set, sure);
}
