#include "base.h"

#include "mutex.h"
#include "platform.h"

#define BASE_CHUNK_MIN ((size_t)256 << 10)

static mutex_t base_lock;
static uintptr_t cur, end;
static base_stats_t stats;

const char *opt_metadata_thp = "disabled";
metadata_thp_t opt_metadata_thp_mode = METADATA_THP_DISABLED;

/* Whether the next chunk goes on huge pages (base.h). Called locked. */
static bool chunk_huge(void) {
    if (opt_metadata_thp_mode == METADATA_THP_DISABLED) return false;
    platform_thp_t sys = platform_thp_mode();
    if (sys != PLATFORM_THP_ALWAYS && sys != PLATFORM_THP_MADVISE) return false;
    return opt_metadata_thp_mode == METADATA_THP_ALWAYS || stats.mapped >= BASE_AUTO_THP_BYTES;
}

bool base_boot(void) { return mutex_init(&base_lock); }

void *base_alloc(size_t size, size_t alignment) {
    al_assert(IS_POW2(alignment) && alignment <= PAGE);
    mutex_lock(&base_lock);
    uintptr_t p = ALIGNMENT_CEILING(cur, alignment);
    if (cur == 0 || p + size > end || p + size < p) {
        size_t chunk = PAGE_CEILING(size) > BASE_CHUNK_MIN ? PAGE_CEILING(size) : BASE_CHUNK_MIN;
        bool huge = chunk_huge();
        if (huge) chunk = HUGEPAGE_CEILING(chunk);
        void *m = platform_map(NULL, chunk, huge ? HUGEPAGE : PAGE);
        if (m == NULL) {
            mutex_unlock(&base_lock);
            return NULL;
        }
        if (huge && !platform_hugepage(m, chunk, true)) stats.thp += chunk;
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
