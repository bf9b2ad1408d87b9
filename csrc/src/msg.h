/*
 * msg.h -- diagnostics without allocation.
 *
 * Owns: a tiny formatter that never calls malloc, the arenalloc_malloc_message hook, and the
 * fatal-error path. Every message the allocator prints starts with "<arenalloc>: ".
 *
 * al_snprintf understands a subset of printf: conversions s c d i u x p %; length modifiers
 * l, ll, z; flags '-' (left-justify) and '0' (zero-pad numbers); a width as digits or '*'.
 * No precision, no floating point. Like snprintf it returns the length the full output would
 * have and always NUL-terminates when size > 0.
 */
#ifndef AL_MSG_H
#define AL_MSG_H

#include <stdarg.h>
#include "internal.h"

size_t al_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
size_t al_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes "<arenalloc>: " + the formatted text through the message hook. */
void al_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints like al_printf, then aborts. */
void al_fatal(const char *fmt, ...) COLD __attribute__((noreturn, format(printf, 1, 2)));
/* Writes raw text through the message hook. */
void al_write(const char *s);

extern void (*arenalloc_malloc_message)(void *cbopaque, const char *s);

#endif
