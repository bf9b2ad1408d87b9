#include "base.h"

#include "mutex.h"
#include "platform.h"

#define BASE_CHUNK_MIN ((size_t)256 << 10)

static mutex_t base_lock;
static uintptr_t cur, end;
static base_stats_t stats;

bool base_boot(void) { return mutex_init(&base_lock); }

void *base_alloc(size_t size, size_t alignment) {
    al_assert(IS_POW2(alignment) && alignment <= PAGE);
    mutex_lock(&base_lock);
    uintptr_t p = ALIGNMENT_CEILING(cur, alignment);
    if (cur == 0 || p + size > end || p + size < p) {
        size_t chunk = PAGE_CEILING(size) > BASE_CHUNK_MIN ? PAGE_CEILING(size) : BASE_CHUNK_MIN;
        void *m = platform_map(NULL, chunk, PAGE);
        if (m == NULL) {
            mutex_unlock(&base_lock);
            return NULL;
        }
        stats.mapped += chunk;
        cur = (uintptr_t)m;
        end = cur + chunk;
        p = cur;
    }
    cur = p + size;
    stats.allocated += size;
    mutex_unlock(&base_lock);
    return (void *)p; /* fresh mappings are zeroed and base memory is never reused */
}

void base_stats_read(base_stats_t *out) {
    mutex_lock(&base_lock);
    *out = stats;
    mutex_unlock(&base_lock);
}

void base_prefork(void) { mutex_prefork(&base_lock); }
void base_postfork_parent(void) { mutex_postfork_parent(&base_lock); }
void base_postfork_child(void) { mutex_postfork_child(&base_lock); }
