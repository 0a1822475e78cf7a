/* The flat parser's allocator (arena.c). The build force-includes this header into every
 * source, with ts_malloc & co. defined as these, so the tree-sitter runtime allocates here. */
#ifndef KERNLIFE_ARENA_H
#define KERNLIFE_ARENA_H
#include <stddef.h>
void *kl_ts_malloc(size_t n);
void *kl_ts_calloc(size_t count, size_t size);
void *kl_ts_realloc(void *p, size_t n);
void kl_ts_free(void *p);
int arena_begin(void);
void arena_end(void);
#endif
