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
 *    which keeps their block as a loop body instead of an ERROR.
 */

export interface NormalizeOptions {
  annotations: ReadonlySet<string>;
  annotationsWithArgs: ReadonlySet<string>;
}

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
    let k = pos;
    for (;;) {
      const c = src.charCodeAt(k);
      if (k < end && (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12)) { k++; continue; }
      break;
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

function isIdStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdChar(c: number): boolean {
  return isIdStart(c) || (c >= 48 && c <= 57);
}

/** Index just past the `)` matching the `(` at `open`, skipping strings and comments; -1 if none within `limit`. */
function matchParen(s: string, open: number, limit: number): number {
  let depth = 0;
  const end = Math.min(s.length, open + limit);
  for (let i = open; i < end; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') { if (--depth === 0) return i + 1; }
    else if (c === '"' || c === "'") { i = skipQuoted(s, i); }
    else if (c === '/' && s[i + 1] === '*') { const e = s.indexOf('*/', i + 2); if (e < 0) return -1; i = e + 1; }
    else if (c === '/' && s[i + 1] === '/') { const e = s.indexOf('\n', i); if (e < 0) return -1; i = e; }
    else if (c === ';' || c === '{' || c === '}') return -1; // a statement boundary: not a macro argument list
  }
  return -1;
}

function skipQuoted(s: string, i: number): number {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') { j++; continue; }
    if (c === q || c === '\n') return j;
  }
  return s.length - 1;
}

function nextNonSpace(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) { i++; continue; }
    if (c === 47 && s[i + 1] === '*') { const e = s.indexOf('*/', i + 2); if (e < 0) return s.length; i = e + 2; continue; }
    if (c === 47 && s[i + 1] === '/') { const e = s.indexOf('\n', i); if (e < 0) return s.length; i = e; continue; }
    return i;
  }
  return i;
}

/** Pass 2: token-level rewrites outside comments, strings and directive lines. */
/** Per options: which characters an annotation can start with (ASCII code -> true). */
const FIRSTS = new WeakMap<NormalizeOptions, boolean[]>();
function firstChars(opts: NormalizeOptions): boolean[] {
  let f = FIRSTS.get(opts);
  if (!f) {
    f = new Array<boolean>(128).fill(false);
    for (const set of [opts.annotations, opts.annotationsWithArgs]) {
      for (const w of set) { const c = w.charCodeAt(0); if (c < 128) f[c] = true; }
    }
    FIRSTS.set(opts, f);
  }
  return f;
}

function tokens(buf: Buf, opts: NormalizeOptions): void {
  const firsts = firstChars(opts);
  const s = decode(buf);
  const n = s.length;
  let i = 0;
  let lineStart = true; // only whitespace seen since the last newline
  let indented = false;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 10) { lineStart = true; indented = false; i++; continue; }
    if (c === 32 || c === 9 || c === 13) { if (lineStart) indented = true; i++; continue; }
    if (c === 47 && s.charCodeAt(i + 1) === 42) { const e = s.indexOf('*/', i + 2); i = e < 0 ? n : e + 2; continue; }
    if (c === 47 && s.charCodeAt(i + 1) === 47) { const e = s.indexOf('\n', i); i = e < 0 ? n : e; continue; }
    if (c === 35 && lineStart) {
      // a directive line (with continuations): leave #define bodies alone
      let e = i;
      for (;;) { const nl = s.indexOf('\n', e); if (nl < 0) { e = n; break; } if (s[nl - 1] === '\\' || (s[nl - 1] === '\r' && s[nl - 2] === '\\')) { e = nl + 1; continue; } e = nl; break; }
      i = e; continue;
    }
    if (c === 34 || c === 39) { i = skipQuoted(s, i) + 1; lineStart = false; continue; }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(s.charCodeAt(j))) j++;
      const atLineStart = lineStart && indented;
      lineStart = false;
      // most words can be neither an annotation nor a statement macro: skip the string
      if (!firsts[c] && !(atLineStart && j - i >= 5)) { i = j; continue; }
      const word = s.slice(i, j);
      if (opts.annotations.has(word)) { blank(buf, i, j); i = j; continue; }
      if (opts.annotationsWithArgs.has(word)) {
        const p = nextNonSpace(s, j);
        if (s[p] === '(') { const e = matchParen(s, p, 4000); if (e > 0) { blank(buf, i, e); i = e; continue; } }
        blank(buf, i, j); i = j; continue;
      }
      if (atLineStart && word.length >= 5 && !KEYWORDS.has(word)) {
        const p = nextNonSpace(s, j);
        if (s[p] === '(') {
          const e = matchParen(s, p, 4000);
          if (e > 0) {
            const after = nextNonSpace(s, e);
            const loopy = word.includes('for_each');
            if (s[after] === '{' || (loopy && after < n && s[after] !== ';' && s[after] !== ')' && s[after] !== ',' && !/[=+\-*/%&|<>?:.]/.test(s[after]))) {
              buf[i] = 119; buf[i + 1] = 104; buf[i + 2] = 105; buf[i + 3] = 108; buf[i + 4] = 101; // 'while'
              blank(buf, i + 5, j);
            }
          }
        }
      }
      i = j; continue;
    }
    lineStart = false;
    i++;
  }
}

export function normalize(src: string, opts: NormalizeOptions): Normalized {
  const bytes = Buffer.from(src, 'utf16le');
  const buf = new Uint16Array(bytes.buffer, bytes.byteOffset, src.length);
  const guards = src.includes('#') ? conditionals(src, buf) : [];
  tokens(buf, opts);
  return { text: decode(buf), guards };
}
