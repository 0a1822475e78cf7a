/**
 * Offset-preserving normalisation of kernel C before tree-sitter sees it.
 *
 * tree-sitter-c knows C, not the kernel's macro dialect. Rather than teach the grammar, we
 * rewrite the text so that every byte keeps its offset (replacements are padded with spaces,
 * newlines are never touched): locations in the normalised text are locations in the file.
 *
 *  - conditional directives: the first live branch of each #if group is kept (`#if 0` is dead),
 *    other branches and the directive lines become blank, so a function split across
 *    `#ifdef`/`#else` and `#ifdef` members of initializers parse as one piece of C;
 *  - annotation macros (`__rcu`, `__init`, `__printf(1, 2)`) become blank;
 *  - statement macros (`list_for_each_entry(p, h, m) {`, `scoped_guard(x) {`) become `while (...)`,
 *    which keeps their block as a loop body instead of an ERROR;
 *  - long numeric data (`= { 0x00, 0x01, ... }`: code page tables, firmware) keeps its braces and
 *    loses its inside (see dataEnd);
 *  - a function-defining macro's header (`SYSCALL_DEFINE2(close_range, unsigned int, fd, ...)`
 *    before its body) becomes the prototype it stands for, `long sys_close_range(unsigned int fd,
 *    ...)` (see definerHeader): tree-sitter would read a call and a block, and lose the function.
 */

export interface NormalizeOptions {
  annotations: ReadonlySet<string>;
  annotationsWithArgs: ReadonlySet<string>;
  /** Function-defining macros by name (knowledge's DefinerRow): see definerHeader. */
  definers: ReadonlyMap<string, Definer>;
}

/** `SYSCALL_DEFINE3` defines `long sys_<its first argument>(...)`. */
export interface Definer { returns: string; prefix: string }

export interface Normalized {
  text: string;
  /** For each 0-based line, the #if conditions it sits under (shared arrays; empty when none). */
  guards: ReadonlyArray<readonly string[]>;
}

const NO_GUARDS: readonly string[] = Object.freeze([]);
const KEYWORDS = new Set([
  'if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'goto', 'typeof', '__typeof__',
  '_Generic', 'defined', '__attribute__', 'asm', '__asm__', 'alignof', '_Alignof', '_Static_assert', 'static_assert',
]);

type Buf = Uint16Array;
const decoder = new TextDecoder('utf-16le');
const decode = (buf: Buf): string => decoder.decode(buf);

function blank(buf: Buf, from: number, to: number): void {
  for (let i = from; i < to; i++) if (buf[i] !== 10 && buf[i] !== 13) buf[i] = 32;
}

/** Pass 1: conditional compilation. Works on lines (with `\` continuations). */
function conditionals(src: string, buf: Buf): ReadonlyArray<readonly string[]> {
  interface Group { anyTaken: boolean; live: boolean; parentLive: boolean; conds: readonly string[]; base: readonly string[] }
  const stack: Group[] = [];
  const guards: (readonly string[])[] = [];
  let live = true;
  let conds: readonly string[] = NO_GUARDS;
  let pos = 0;
  const n = src.length;
  while (pos <= n) {
    // logical line [pos, end) possibly spanning continuations
    let end = pos;
    let physical = 1;
    for (;;) {
      const nl = src.indexOf('\n', end);
      if (nl < 0) { end = n; break; }
      let k = nl - 1;
      if (k >= pos && src[k] === '\r') k--;
      if (k >= pos && src[k] === '\\') { end = nl + 1; physical++; continue; }
      end = nl;
      break;
    }
    // only a line whose first non-blank is `#` can be a directive (the regex then decides)
    // (bounds before the read: a read past the text's end makes the optimised code bail out)
    let k = pos;
    while (k < end) {
      const c = src.charCodeAt(k);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12) k++;
      else break;
    }
    const first = k < end ? src.charCodeAt(k) : -1;
    const m = first === 35 || first >= 128 ? /^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$/s.exec(src.slice(pos, end)) : null;
    let isDirective = false;
    if (m) {
      isDirective = true;
      const kw = m[1];
      const arg = m[2].replace(/\/\*.*?\*\/|\/\/.*$/gs, '').replace(/\\\r?\n/g, ' ').trim();
      if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') {
        const cond = kw === 'if' ? arg : kw === 'ifdef' ? arg : `!${arg}`;
        const dead = kw === 'if' && /^0\b/.test(arg);
        const g: Group = { anyTaken: !dead, live: live && !dead, parentLive: live, conds: [...conds, cond], base: conds };
        stack.push(g);
        live = g.live;
        conds = g.conds;
      } else if (stack.length > 0) {
        const g = stack[stack.length - 1];
        if (kw === 'endif') {
          stack.pop();
          live = g.parentLive;
          conds = g.base;
        } else {
          // #elif / #else: live only when no earlier branch of the group was taken.
          const take = !g.anyTaken;
          g.anyTaken = true;
          g.live = g.parentLive && take;
          g.conds = [...g.base, kw === 'else' ? `!(${g.conds[g.conds.length - 1] ?? ''})` : arg];
          live = g.live;
          conds = g.conds;
        }
      }
    }
    if (isDirective || !live) blank(buf, pos, end);
    for (let i = 0; i < physical; i++) guards.push(conds.length ? conds : NO_GUARDS);
    if (end >= n) break;
    pos = end + 1;
  }
  return guards;
}

/** ASCII character classes: 1 starts an identifier, 2 only continues one (digits). */
const ID = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) ID[c] = 1;
  else if (c >= 48 && c <= 57) ID[c] = 2;
}

/** Index of the `*` of the next `*` `/` at or after `from`, or -1. */
function commentEnd(b: Buf, from: number): number {
  for (let k = b.indexOf(42, from); k >= 0; k = b.indexOf(42, k + 1)) if (b[k + 1] === 47) return k;
  return -1;
}

/** Index just past the `)` matching the `(` at `open`, skipping strings and comments; -1 if none within `limit`. */
function matchParen(b: Buf, open: number, limit: number): number {
  let depth = 0;
  const end = Math.min(b.length, open + limit);
  for (let i = open; i < end; i++) {
    const c = b[i];
    if (c === 40) depth++;
    else if (c === 41) { if (--depth === 0) return i + 1; }
    else if (c === 34 || c === 39) { i = skipQuoted(b, i); }
    else if (c === 47 && b[i + 1] === 42) { const e = commentEnd(b, i + 2); if (e < 0) return -1; i = e + 1; }
    else if (c === 47 && b[i + 1] === 47) { const e = b.indexOf(10, i); if (e < 0) return -1; i = e; }
    else if (c === 59 || c === 123 || c === 125) return -1; // a statement boundary: not a macro argument list
  }
  return -1;
}

function skipQuoted(b: Buf, i: number): number {
  const q = b[i];
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j];
    if (c === 92) { j++; continue; }
    if (c === q || c === 10) return j;
  }
  return b.length - 1;
}

function nextNonSpace(b: Buf, i: number): number {
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c === 32 || c === 9 || c === 10 || c === 13) { i++; continue; }
    if (c === 47 && b[i + 1] === 42) { const e = commentEnd(b, i + 2); if (e < 0) return n; i = e + 2; continue; }
    if (c === 47 && b[i + 1] === 47) { const e = b.indexOf(10, i); if (e < 0) return n; i = e; continue; }
    return i;
  }
  return i;
}

/** The hash tokens() computes while it scans a word (31 * h + c over its characters, 32-bit). */
function hashWord(w: string): number {
  let h = 0;
  for (let k = 0; k < w.length; k++) h = (Math.imul(h, 31) + w.charCodeAt(k)) | 0;
  return h;
}

const BLOOM_BITS = 4095;
/** A filter by word hash: 1 where some word of `words` hashes (so a 0 rules a word out without a string). */
function bloom(words: Iterable<string>): Uint8Array {
  const f = new Uint8Array(BLOOM_BITS + 1);
  for (const w of words) f[hashWord(w) & BLOOM_BITS] = 1;
  return f;
}

const DEFINERS = new WeakMap<NormalizeOptions, Uint8Array>();
function definerFilter(opts: NormalizeOptions): Uint8Array {
  let f = DEFINERS.get(opts);
  if (!f) { f = bloom(opts.definers.keys()); DEFINERS.set(opts, f); }
  return f;
}

/** Per options: the filter of annotation words, so that a word becomes a string only when it may be one. */
const ANNOTATIONS = new WeakMap<NormalizeOptions, Uint8Array>();
function annotationFilter(opts: NormalizeOptions): Uint8Array {
  let f = ANNOTATIONS.get(opts);
  if (!f) { f = bloom([...opts.annotations, ...opts.annotationsWithArgs]); ANNOTATIONS.set(opts, f); }
  return f;
}
const KEYWORD_FILTER = bloom(KEYWORDS);

/** The word at [i, j) of the buffer (identifiers are short: no decoder round trip). */
function word(b: Buf, i: number, j: number): string {
  return String.fromCharCode.apply(null, b.subarray(i, j) as unknown as number[]);
}

/**
 * The inside of a long initializer made of numbers only is not code: no fact reads it, and
 * tree-sitter would spend a few nodes on every number (fs/nls's code page tables are 3 MB of
 * fs/'s 42). From the `{` at `open`: number literals, commas, signs, nested braces, comments and
 * blanks, up to the matching `}`. Returns that `}`'s index when the inside is longer than
 * DATA_MIN characters with a number in it, else -1 - (where the scan stopped), so that the caller does not
 * scan the same stretch again from a nested `{`.
 */
const DATA_MIN = 1024;
function dataEnd(b: Buf, open: number): number {
  const n = b.length;
  let depth = 0;
  let numbers = 0;
  let i = open;
  while (i < n) {
    const c = b[i];
    if (c === 123) { depth++; i++; continue; }
    if (c === 125) {
      if (--depth === 0) return i - open > DATA_MIN && numbers > 0 ? i : -1 - i;
      i++; continue;
    }
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 44 || c === 45 || c === 43) { i++; continue; }
    if (c >= 48 && c <= 57) {
      numbers++;
      // a literal: digits, hex digits, suffixes (and the dot of a float)
      for (i++; i < n; i++) { const d = b[i]; if (!(d < 128 && (ID[d] !== 0 || d === 46))) break; }
      continue;
    }
    if (c === 47 && b[i + 1] === 42) { const e = commentEnd(b, i + 2); if (e < 0) return -1 - i; i = e + 2; continue; }
    return -1 - i;
  }
  return -1 - n;
}

/** Whether the nearest character before `i` that is not blank is `=` (an initializer's brace). */
function afterAssign(b: Buf, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && (b[k] === 32 || b[k] === 9 || b[k] === 10 || b[k] === 13)) k--;
  return k >= 0 && b[k] === 61;
}

/**
 * A function-defining macro `d` at column 0, `SYSCALL_DEFINE3(open, const char __user *, filename,
 * int, flags, umode_t, mode)` from `i` (the macro's name ends at `j`), when a body follows:
 * rewritten in place to the function it defines, `long    sys_open(const char __user *  filename,
 * int  flags, umode_t  mode)`, as include/linux/syscalls.h expands it (the kernel calls it
 * `sys_open`; its body is `__do_sys_open`). The macro's name becomes the return type and the
 * prefix, which ends where the first argument starts, so the name keeps its place; of the commas
 * after the name, the first opens the parameter list and those between a type and its name become
 * blanks. Without arguments there is no comma to open the list: the header, on one line, is
 * written again as `long sys_NAME()` and blanks. Returns where the header ends, or -1 (left as it
 * is: no body, or no room for the return type).
 */
function definerHeader(b: Buf, i: number, j: number, d: Definer): number {
  const prefix = d.prefix;
  if (b[j] !== 40) return -1;
  const e = matchParen(b, j, 4000);
  if (e < 0 || b[nextNonSpace(b, e)] !== 123) return -1;
  let ns = j + 1;
  while (b[ns] === 32 || b[ns] === 9) ns++;
  if (!(b[ns] < 128 && ID[b[ns]] === 1)) return -1;
  let ne = ns + 1;
  while (b[ne] < 128 && ID[b[ne]] !== 0) ne++;
  const next = nextNonSpace(b, ne);
  const put = (at: number, s: string): void => { for (let k = 0; k < s.length; k++) b[at + k] = s.charCodeAt(k); };
  if (b[next] === 41) {
    // SYSCALL_DEFINE0(name): on one line, `long sys_name()`
    for (let k = i; k < e; k++) if (b[k] === 10 || b[k] === 13) return -1;
    const head = `${d.returns} ${prefix}${word(b, ns, ne)}()`;
    if (head.length > e - i) return -1;
    blank(b, i, e);
    put(i, head);
    return e;
  }
  if (b[next] !== 44 || ns - i < d.returns.length + 1 + prefix.length) return -1;
  blank(b, i, ns);
  put(i, d.returns);
  put(ns - prefix.length, prefix);
  b[next] = 40;
  // the top-level commas after the first: type, name, type, name, ... A macro in a type's place
  // (`SC_ARG64(mask)`, `compat_arg_u64_dual(len)`: a 64-bit argument in two registers) is a
  // parameter by itself.
  let depth = 0;
  let typeNext = true;
  let last = 0; // the last character that is not blank
  for (let k = next + 1; k < e - 1; k++) {
    const c = b[k];
    if (c === 47 && b[k + 1] === 42) { const ce = commentEnd(b, k + 2); if (ce < 0) break; k = ce + 1; continue; }
    if (c === 40) depth++;
    else if (c === 41) depth--;
    else if (c === 44 && depth === 0) {
      if (typeNext && last !== 41) { b[k] = 32; typeNext = false; } else typeNext = true;
    }
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) last = c;
  }
  return e;
}

/**
 * Blanks the block comments of a directive that goes on over several lines, [from, to).
 * tree-sitter-c ends a `#define`'s value at a comment, so in
 *
 *     #define FLAGS           \
 *             pf(A)   /* a *\/ \
 *             pf(B)   /* b *\/ \
 *
 * the `\` after the first comment no longer continues the directive and the lines after it are
 * read as code (net/core/pktgen.c lost 70 of its 71 functions to one such list). A comment that
 * goes on past the directive is left.
 */
function directiveComments(b: Buf, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    const c = b[k];
    if (c === 34 || c === 39) k = skipQuoted(b, k);
    else if (c === 47 && b[k + 1] === 42) {
      const ce = commentEnd(b, k + 2);
      if (ce < 0 || ce + 2 > to) return;
      blank(b, k, ce + 2);
      k = ce + 1;
    } else if (c === 47 && b[k + 1] === 47) return;
  }
}

/** Pass 2: token-level rewrites outside comments, strings and directive lines. Works on the buffer in place. */
function tokens(b: Buf, opts: NormalizeOptions): void {
  const annotations = annotationFilter(opts);
  const definers = definerFilter(opts);
  const n = b.length;
  let i = 0;
  let lineStart = true; // only whitespace seen since the last newline
  let indented = false;
  let dataFrom = 0; // a `{` before this was scanned as part of a longer stretch that is not data
  let depth = 0; // braces open (a stray `}` does not take it below 0)
  while (i < n) {
    const c = b[i];
    if (c === 10) { lineStart = true; indented = false; i++; continue; }
    if (c === 32 || c === 9 || c === 13) { if (lineStart) indented = true; i++; continue; }
    if (c === 47 && b[i + 1] === 42) { const e = commentEnd(b, i + 2); i = e < 0 ? n : e + 2; continue; }
    if (c === 47 && b[i + 1] === 47) { const e = b.indexOf(10, i); i = e < 0 ? n : e; continue; }
    if (c === 35 && lineStart) {
      // a directive line (with continuations): leave #define bodies alone, but for their comments
      let e = i;
      let continued = false;
      for (;;) { const nl = b.indexOf(10, e); if (nl < 0) { e = n; break; } if (b[nl - 1] === 92 || (b[nl - 1] === 13 && b[nl - 2] === 92)) { e = nl + 1; continued = true; continue; } e = nl; break; }
      if (continued) directiveComments(b, i, e);
      i = e; continue;
    }
    if (c === 34 || c === 39) { i = skipQuoted(b, i) + 1; lineStart = false; continue; }
    if (c < 128 && ID[c] === 1) {
      let j = i + 1;
      let h = c;
      for (let d = b[j]; j < n && d < 128 && ID[d] !== 0; d = b[++j]) h = (Math.imul(h, 31) + d) | 0;
      const atLineStart = lineStart && indented;
      if (lineStart && !indented && definers[h & BLOOM_BITS] === 1) {
        // a function-defining macro at column 0 (only the header is rewritten: the scan goes on
        // inside it, where `__user` still goes)
        const d = opts.definers.get(word(b, i, j));
        if (d) definerHeader(b, i, j, d);
      }
      lineStart = false;
      // most words can be neither an annotation nor a statement macro: no string for them
      if (annotations[h & BLOOM_BITS] === 1) {
        const w = word(b, i, j);
        if (opts.annotations.has(w)) { blank(b, i, j); i = j; continue; }
        if (opts.annotationsWithArgs.has(w)) {
          const p = nextNonSpace(b, j);
          if (b[p] === 40) { const e = matchParen(b, p, 4000); if (e > 0) { blank(b, i, e); i = e; continue; } }
          blank(b, i, j); i = j; continue;
        }
      }
      // (inside braces: at the top level an indented `name(...)` before `{` is a function's
      // declarator on its own line, `static inline struct x *\n\tx_of(struct y *y)\n{`)
      if (atLineStart && depth > 0 && j - i >= 5 && !(KEYWORD_FILTER[h & BLOOM_BITS] === 1 && KEYWORDS.has(word(b, i, j)))) {
        const p = nextNonSpace(b, j);
        if (b[p] === 40) {
          const e = matchParen(b, p, 4000);
          if (e > 0) {
            const after = nextNonSpace(b, e);
            if (b[after] === 123 || (after < n && !AFTER_EXPR[b[after]] && word(b, i, j).includes('for_each'))) {
              b[i] = 119; b[i + 1] = 104; b[i + 2] = 105; b[i + 3] = 108; b[i + 4] = 101; // 'while'
              blank(b, i + 5, j);
            }
          }
        }
      }
      i = j; continue;
    }
    lineStart = false;
    if (c === 123) {
      if (i >= dataFrom && afterAssign(b, i)) {
        const e = dataEnd(b, i);
        if (e >= 0) { blank(b, i + 1, e); i = e + 1; continue; }
        dataFrom = -1 - e;
      }
      depth++;
    } else if (c === 125 && depth > 0) depth--;
    i++;
  }
}

/** Characters after `name(...)` that make it part of an expression, not a loop head: ; ) , and operators. */
const AFTER_EXPR = new Uint8Array(65536);
for (const ch of ';),=+-*/%&|<>?:.') AFTER_EXPR[ch.charCodeAt(0)] = 1;

export function normalize(src: string, opts: NormalizeOptions): Normalized {
  const bytes = Buffer.from(src, 'utf16le');
  const buf = new Uint16Array(bytes.buffer, bytes.byteOffset, src.length);
  const guards = src.includes('#') ? conditionals(src, buf) : [];
  tokens(buf, opts);
  return { text: decode(buf), guards };
}
