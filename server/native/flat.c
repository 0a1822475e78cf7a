/*
 * kernlife's flat parser: tree-sitter-c parses a JS string and the whole tree comes back as
 * one Uint32Array, so that JS walks plain numbers instead of asking the node binding for every
 * child, field and end offset (one N-API call each, plus an object per node).
 *
 * Built at install by scripts/build-flat.mjs from the tree-sitter runtime vendored in the
 * `tree-sitter` package and the grammar in `tree-sitter-c` (the same C the node binding runs),
 * as an N-API addon. Optional: server/src/syntax/flat.ts falls back to the node binding when it
 * is missing or disagrees with the binding on a probe parse.
 *
 * One record of REC words per visible node, in document pre-order (the order of a tree cursor):
 *   0  symbol (bits 0-15) | field id in the parent (bits 16-23) | flags (bits 24-31)
 *   1  start offset    2  end offset        (UTF-16 code units: string indices)
 *   3  start row       4  start column      (column in code units)
 *   5  end row         6  end column
 *   7  index one past the node's last descendant (so the next sibling, if any, is there)
 */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <node_api.h>
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include "tree_sitter/api.h"
#include "arena.h"
/* the runtime's own headers (this addon compiles that runtime): flatten walks subtrees directly */
#include "subtree.h"
#include "language.h"
#include "tree.h"

const TSLanguage *tree_sitter_c(void);

#define REC 8
enum { F_NAMED = 1, F_HAS_ERROR = 2, F_MISSING = 4, F_EXTRA = 8 };


typedef struct { struct timespec deadline; int stopped; } Budget;

static int past(const struct timespec *d) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec > d->tv_nsec);
}

static bool progress(TSParseState *state) {
  Budget *b = (Budget *)state->payload;
  if (past(&b->deadline)) { b->stopped = 1; return true; }
  return false;
}

typedef struct { const char *bytes; uint32_t length; } Text;

static const char *read_text(void *payload, uint32_t byte, TSPoint pos, uint32_t *n) {
  (void)pos;
  Text *t = (Text *)payload;
  if (byte >= t->length) { *n = 0; return ""; }
  *n = t->length - byte;
  return t->bytes + byte;
}

#define CHECK(call) do { if ((call) != napi_ok) goto fail; } while (0)

/*
 * One level of flatten's walk: a node whose children are being visited. Hidden nodes (rules
 * the grammar does not show, like `_expression`) get a frame too, but no record: their
 * children become children of the nearest visible ancestor, as a tree cursor shows them.
 */
typedef struct {
  Subtree node;
  Length pos;          /* start (past padding) of the child to visit next */
  uint32_t child;      /* next child's index */
  uint32_t structural; /* next child's index among the non-extra children */
  const TSSymbol *aliases;
  const TSFieldMapEntry *fields, *fields_end;
  TSFieldId chain;     /* for a hidden node: the field its visible descendants get when none is theirs */
  uint32_t record;     /* its record, or UINT32_MAX when hidden */
} Frame;

static TSFieldId field_at(const Frame *f, uint32_t structural) {
  for (const TSFieldMapEntry *m = f->fields; m < f->fields_end; m++)
    if (!m->inherited && m->child_index == structural) return m->field_id;
  return 0;
}

static void frame_open(Frame *f, const TSLanguage *l, Subtree node, Length pos, TSFieldId chain, uint32_t record) {
  f->node = node;
  f->pos = pos;
  f->child = 0;
  f->structural = 0;
  f->chain = chain;
  f->record = record;
  f->aliases = NULL;
  f->fields = f->fields_end = NULL;
  if (ts_subtree_child_count(node) > 0) {
    f->aliases = ts_language_alias_sequence(l, node.ptr->production_id);
    ts_language_field_map(l, node.ptr->production_id, &f->fields, &f->fields_end);
  }
}

/*
 * The records of every visible node of `tree`, in pre-order, the way ts_tree_cursor and
 * ts_node_* report them (symbol after aliases, field, named/error/missing/extra, positions),
 * walking the subtrees directly: the cursor's bookkeeping was a sixth of a parse. Returns the
 * number of records, or UINT32_MAX when `max` would be exceeded or memory runs out.
 */
static uint32_t flatten(const TSTree *tree, uint32_t *out, uint32_t max) {
  const TSLanguage *l = tree->language;
  size_t cap = 64, depth = 0;
  Frame *stack = malloc(cap * sizeof(Frame));
  if (!stack) return UINT32_MAX;
  uint32_t n = 0;
  /* the root: visible whatever its symbol, no alias, no field */
  Subtree root = tree->root;
  Length at = ts_subtree_padding(root);
  Subtree node = root;
  TSSymbol alias = 0;
  TSFieldId field = 0;
  int visible = 1;
  TSFieldId chain = 0;
  for (;;) {
    uint32_t record = UINT32_MAX;
    if (visible) {
      if (n >= max) { free(stack); return UINT32_MAX; }
      record = n++;
      uint32_t *r = out + (size_t)record * REC;
      TSSymbol sym = ts_language_public_symbol(l, alias ? alias : ts_subtree_symbol(node));
      int named = alias ? ts_language_symbol_metadata(l, alias).named : ts_subtree_named(node);
      uint32_t flags = (named ? F_NAMED : 0) | (ts_subtree_error_cost(node) > 0 ? F_HAS_ERROR : 0) |
                       (ts_subtree_missing(node) ? F_MISSING : 0) | (ts_subtree_extra(node) ? F_EXTRA : 0);
      Length end = length_add(at, ts_subtree_size(node));
      r[0] = (uint32_t)sym | ((uint32_t)(field & 0xff) << 16) | (flags << 24);
      r[1] = at.bytes >> 1; r[2] = end.bytes >> 1;
      r[3] = at.extent.row; r[4] = at.extent.column >> 1;
      r[5] = end.extent.row; r[6] = end.extent.column >> 1;
      r[7] = n;
    }
    if (ts_subtree_child_count(node) > 0) {
      if (depth == cap) {
        Frame *more = realloc(stack, (cap *= 2) * sizeof(Frame));
        if (!more) { free(stack); return UINT32_MAX; }
        stack = more;
      }
      frame_open(&stack[depth++], l, node, at, visible ? 0 : chain, record);
    }
    /* the next node: the next child of the innermost frame with one left */
    for (;;) {
      if (depth == 0) { free(stack); return n; }
      Frame *f = &stack[depth - 1];
      if (f->child == f->node.ptr->child_count) {
        if (f->record != UINT32_MAX) out[(size_t)f->record * REC + 7] = n;
        depth--;
        continue;
      }
      Subtree c = ts_subtree_children(f->node)[f->child];
      if (f->child > 0) f->pos = length_add(f->pos, ts_subtree_padding(c));
      at = f->pos;
      node = c;
      int extra = ts_subtree_extra(c);
      alias = 0;
      field = 0;
      visible = ts_subtree_visible(c);
      if (!extra) {
        if (f->aliases) { alias = f->aliases[f->structural]; if (alias) visible = 1; }
        field = field_at(f, f->structural);
        /* no field of its own: a hidden parent passes on its own (ts_tree_cursor_current_field_id) */
        if (!field && f->record == UINT32_MAX) field = f->chain;
        f->structural++;
      }
      chain = field; /* (for `c` itself when hidden: what its visible descendants inherit) */
      if (extra) chain = 0;
      f->pos = length_add(f->pos, ts_subtree_size(c));
      f->child++;
      break;
    }
  }
}

/* parse(text: string, budgetMs: number): Uint32Array | null (null: the budget ran out) */
static napi_value parse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result = NULL;
  char16_t *buf = NULL;
  TSTree *tree = NULL;
  TSParser *parser = NULL;
  /* In the arena (arena.c) a parse gets a parser of its own, and its tree and parser
   * are dropped with the arena, not freed piece by piece. Without memory for the arena, the
   * thread's parser (one per env, made outside any arena) parses with malloc as before. */
  int arena = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) { napi_throw_type_error(env, NULL, "parse(text, budgetMs)"); return NULL; }
  size_t len = 0;
  double budget = 0;
  CHECK(napi_get_value_string_utf16(env, argv[0], NULL, 0, &len));
  CHECK(napi_get_value_double(env, argv[1], &budget));
  buf = malloc((len + 1) * sizeof(char16_t));
  if (!buf) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  CHECK(napi_get_value_string_utf16(env, argv[0], buf, len + 1, &len));

  Budget b = { .stopped = 0 };
  clock_gettime(CLOCK_MONOTONIC, &b.deadline);
  long long ns = (long long)(budget * 1e6);
  b.deadline.tv_sec += ns / 1000000000LL;
  b.deadline.tv_nsec += ns % 1000000000LL;
  if (b.deadline.tv_nsec >= 1000000000L) { b.deadline.tv_sec++; b.deadline.tv_nsec -= 1000000000L; }
  if ((arena = arena_begin())) {
    parser = ts_parser_new();
    if (!ts_parser_set_language(parser, tree_sitter_c())) goto fail;
  } else CHECK(napi_get_instance_data(env, (void **)&parser));
  Text t = { (const char *)buf, (uint32_t)(len * 2) };
  TSInput input = { .payload = &t, .read = read_text, .encoding = TSInputEncodingUTF16LE, .decode = NULL };
  TSParseOptions opts = { .payload = &b, .progress_callback = progress };
  tree = ts_parser_parse_with_options(parser, NULL, input, opts);
  free(buf); buf = NULL;
  if (!tree) {
    if (!arena) ts_parser_reset(parser);
    napi_get_null(env, &result);
    goto done;
  }

  uint32_t count = ts_node_descendant_count(ts_tree_root_node(tree));
  napi_value ab;
  void *data;
  CHECK(napi_create_arraybuffer(env, (size_t)count * REC * 4, &data, &ab));
  uint32_t n = flatten(tree, (uint32_t *)data, count);
  if (n == UINT32_MAX) { napi_throw_error(env, NULL, "kernlife flat parser: more nodes than the tree counts, or no memory"); result = NULL; goto done; }
  CHECK(napi_create_typedarray(env, napi_uint32_array, (size_t)n * REC, ab, 0, &result));
  goto done;
fail:
  napi_throw_error(env, NULL, "kernlife flat parser: N-API call failed");
  result = NULL;
done:
  free(buf);
  if (arena) arena_end(); /* (the tree and the parser with it) */
  else if (tree) ts_tree_delete(tree);
  return result;
}

static napi_value names(napi_env env, napi_callback_info info, int fields) {
  (void)info;
  const TSLanguage *l = tree_sitter_c();
  uint32_t count = fields ? ts_language_field_count(l) + 1 : ts_language_symbol_count(l);
  napi_value arr, s, nul;
  napi_get_null(env, &nul);
  if (napi_create_array_with_length(env, count, &arr) != napi_ok) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    const char *name = fields ? ts_language_field_name_for_id(l, (TSFieldId)i) : ts_language_symbol_name(l, (TSSymbol)i);
    if (name) napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &s); else s = nul;
    napi_set_element(env, arr, i, s);
  }
  return arr;
}
static napi_value symbol_names(napi_env env, napi_callback_info info) { return names(env, info, 0); }
static napi_value field_names(napi_env env, napi_callback_info info) { return names(env, info, 1); }

/* symbolNamed(): 1 where the symbol is a named node type, per symbol id */
static napi_value symbol_named(napi_env env, napi_callback_info info) {
  (void)info;
  const TSLanguage *l = tree_sitter_c();
  uint32_t count = ts_language_symbol_count(l);
  napi_value arr, v;
  if (napi_create_array_with_length(env, count, &arr) != napi_ok) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_get_boolean(env, ts_language_symbol_type(l, (TSSymbol)i) == TSSymbolTypeRegular, &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

/*
 * latin1(bytes: Uint8Array): string | null. A string over a copy of `bytes` (Latin-1, one byte
 * per character) kept outside the JS heap: V8's external string. A source the facts keep slices
 * of then costs the collector nothing, where a heap string is copied twice by the scavenger and
 * marked at every full collection. null when this Node has no external strings
 * (node_api_create_external_string_latin1 is an experimental N-API call, looked up at run time
 * so that the addon still loads without it) or the call fails: the caller keeps a heap string.
 */
typedef napi_status (*external_latin1_fn)(napi_env, char *, size_t, void (*)(napi_env, void *, void *), void *, napi_value *, bool *);
static external_latin1_fn external_latin1;
static int external_looked_up;

static void free_text(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static napi_value latin1(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result = NULL, nul;
  napi_get_null(env, &nul);
  if (!external_looked_up) {
    external_looked_up = 1;
    external_latin1 = (external_latin1_fn)dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");
  }
  if (!external_latin1) return nul;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return nul;
  bool is_typed = false;
  if (napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed) return nul;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) return nul;
  char *copy = malloc(length ? length : 1);
  if (!copy) return nul;
  if (length) memcpy(copy, data, length);
  bool copied = false;
  /* (when it copies instead, it has already called free_text on our copy) */
  if (external_latin1(env, copy, length, free_text, NULL, &result, &copied) != napi_ok) { if (!copied) free(copy); return nul; }
  return result;
}

static void free_parser(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  ts_parser_delete((TSParser *)data);
}

NAPI_MODULE_INIT() {
  TSParser *parser = ts_parser_new();
  if (!ts_parser_set_language(parser, tree_sitter_c())) { ts_parser_delete(parser); return NULL; }
  if (napi_set_instance_data(env, parser, free_parser, NULL) != napi_ok) { ts_parser_delete(parser); return NULL; }
  napi_property_descriptor d[] = {
    { "parse", NULL, parse, NULL, NULL, NULL, napi_default, NULL },
    { "symbolNames", NULL, symbol_names, NULL, NULL, NULL, napi_default, NULL },
    { "fieldNames", NULL, field_names, NULL, NULL, NULL, napi_default, NULL },
    { "symbolNamed", NULL, symbol_named, NULL, NULL, NULL, napi_default, NULL },
    { "latin1", NULL, latin1, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties(env, exports, sizeof d / sizeof d[0], d) != napi_ok) return NULL;
  return exports;
}
