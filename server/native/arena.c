/*
 * The flat parser's allocator: while one parse runs on a thread (arena_begin .. arena_end), every
 * allocation the tree-sitter runtime makes comes from a bump arena of that thread, and freeing is
 * (nearly) free. The tree, the parser made for that parse and everything else go away at once
 * when the parse is over and its nodes are copied out. Outside that window, and on threads
 * that never begin one, the C library's allocator is used as before.
 *
 * Why: freeing a tree node by node (ts_tree_delete walks and releases every subtree) and
 * malloc/free themselves took about a tenth of a parse (perf on kernel/). The runtime is built
 * with ts_malloc & co. pointing here (scripts/build-flat.mjs), so the node binding's own copy of
 * tree-sitter is not affected.
 *
 * Within a window every pointer the runtime frees or reallocates was allocated in it: the
 * parser is created after arena_begin (flat.c), so no allocation of the C library's is handed
 * to the arena's free or realloc.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16 /* bytes before each block: its size (keeps 16-byte alignment) */
#define FIRST_CHUNK ((size_t)8 << 20)

typedef struct Chunk {
  struct Chunk *prev;
  char *top; /* next free byte */
  char *end;
  size_t pad; /* (header of 32 bytes: data stays 16-byte aligned) */
  char data[];
} Chunk;

static _Thread_local Chunk *cur;   /* the chunk allocations come from; older ones via prev */
static _Thread_local Chunk *first; /* kept between parses */
static _Thread_local int active;
/* Freed blocks by size (16-byte classes up to SMALL bytes), reused before the arena grows:
 * error recovery frees and makes nodes at a high rate, and without reuse a garbage file took
 * twice the memory and, from the cache misses, longer. The link sits in the block itself. */
#define SMALL 4096
static _Thread_local void *freed[SMALL / 16 + 1];

static inline size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static Chunk *chunk_new(size_t bytes, Chunk *prev) {
  Chunk *c = malloc(sizeof(Chunk) + bytes);
  if (!c) return NULL;
  c->prev = prev;
  c->top = c->data;
  c->end = c->data + bytes;
  return c;
}

/* Begins a window; 0 when no memory for the first chunk (then nothing changes). */
int arena_begin(void) {
  if (!first && !(first = chunk_new(FIRST_CHUNK, NULL))) return 0;
  first->top = first->data;
  cur = first;
  memset(freed, 0, sizeof freed);
  active = 1;
  return 1;
}

/* Ends the window: every block of it is gone; chunks past the first go back to the system. */
void arena_end(void) {
  while (cur && cur != first) { Chunk *p = cur->prev; free(cur); cur = p; }
  if (first) first->top = first->data;
  active = 0;
}

static void *bump(size_t n) {
  size_t r = round16(n ? n : 1);
  if (r <= SMALL) {
    void *p = freed[r / 16];
    if (p) { freed[r / 16] = *(void **)p; ((size_t *)p)[-1] = n; return p; }
  }
  size_t need = HDR + r;
  if ((size_t)(cur->end - cur->top) < need) {
    size_t size = (size_t)(cur->end - cur->data) * 2;
    while (size < need) size *= 2;
    Chunk *c = chunk_new(size, cur);
    if (!c) abort(); /* (as the runtime's own allocator does when malloc fails) */
    cur = c;
  }
  char *p = cur->top + HDR;
  ((size_t *)p)[-1] = n;
  cur->top = p + round16(n ? n : 1);
  return p;
}

void *kl_ts_malloc(size_t n) {
  if (!active) { void *p = malloc(n); if (!p && n) abort(); return p; }
  return bump(n);
}

void *kl_ts_calloc(size_t count, size_t size) {
  if (!active) { void *p = calloc(count, size); if (!p && count && size) abort(); return p; }
  if (size && count > SIZE_MAX / size) abort();
  void *p = bump(count * size);
  memset(p, 0, count * size);
  return p;
}

void kl_ts_free(void *p) {
  if (!active) { free(p); return; }
  if (!p) return;
  /* the newest block goes back to the arena (stack-like use: a cursor, a scratch array),
   * a small one to its size's list; a large one waits for the end of the parse */
  size_t r = round16(((size_t *)p)[-1] ? ((size_t *)p)[-1] : 1);
  if ((char *)p + r == cur->top) cur->top = (char *)p - HDR;
  else if (r <= SMALL) { *(void **)p = freed[r / 16]; freed[r / 16] = p; }
}

void *kl_ts_realloc(void *p, size_t n) {
  if (!active) { void *q = realloc(p, n); if (!q && n) abort(); return q; }
  if (!p) return bump(n);
  size_t old = ((size_t *)p)[-1];
  char *after = (char *)p + round16(old ? old : 1);
  if (after == cur->top && (size_t)(cur->end - (char *)p) >= round16(n ? n : 1)) {
    /* the newest block grows (or shrinks) in place */
    ((size_t *)p)[-1] = n;
    cur->top = (char *)p + round16(n ? n : 1);
    return p;
  }
  void *q = bump(n);
  memcpy(q, p, old < n ? old : n);
  kl_ts_free(p);
  return q;
}
