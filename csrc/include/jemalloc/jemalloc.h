/* <jemalloc/jemalloc.h> for code written against jemalloc: with -I<arenalloc>/csrc/include it
 * compiles unchanged against arenalloc (arenalloc.h maps jemalloc's names: mallocx, mallctl, ...). */
#include "../arenalloc.h"
