/*
 * thp_common.h -- helpers of the thp tests (thp.c, thp_never.c): the system's THP mode and the
 * /proc/self/smaps entry of the mapping that holds an address.
 */
#ifndef THP_COMMON_H
#define THP_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled, or "" without THP. */
static const char *system_thp(void) {
    static char mode[32];
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    mode[0] = '\0';
    if (f == NULL) return mode;
    char line[256];
    if (fgets(line, sizeof(line), f) != NULL) {
        char *b = strchr(line, '['), *e = b ? strchr(b, ']') : NULL;
        if (b && e && (size_t)(e - b - 1) < sizeof(mode)) {
            memcpy(mode, b + 1, (size_t)(e - b - 1));
            mode[e - b - 1] = '\0';
        }
    }
    fclose(f);
    return mode;
}

static bool system_thp_usable(void) {
    const char *m = system_thp();
    return strcmp(m, "always") == 0 || strcmp(m, "madvise") == 0;
}

/*
 * Copies the value of field (e.g. "THPeligible:", "VmFlags:") of the smaps entry whose range
 * holds p into out. False if there is no such entry or field.
 */
static bool smaps_field(const void *p, const char *field, char *out, size_t cap) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL) return false;
    char line[512];
    bool in = false, found = false;
    uintptr_t a = (uintptr_t)p;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char c;
        /* A mapping's header ("lo-hi perms ..."); field names never read as "hex-hex x". */
        if (sscanf(line, "%lx-%lx %c", &lo, &hi, &c) == 3) {
            in = a >= lo && a < hi;
            continue;
        }
        if (in && strncmp(line, field, strlen(field)) == 0) {
            const char *v = line + strlen(field);
            while (*v == ' ' || *v == '\t') v++;
            snprintf(out, cap, "%s", v);
            size_t n = strlen(out);
            if (n > 0 && out[n - 1] == '\n') out[n - 1] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Whether the VmFlags of p's mapping include the two-letter flag (hg, nh). */
static bool vmflag(const void *p, const char *flag, bool *known) {
    char v[256];
    *known = smaps_field(p, "VmFlags:", v, sizeof(v));
    if (!*known) return false;
    for (char *t = strtok(v, " "); t != NULL; t = strtok(NULL, " ")) {
        if (strcmp(t, flag) == 0) return true;
    }
    return false;
}

#endif
