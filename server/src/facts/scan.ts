/**
 * Function definitions found without a parse: what `check`'s first pass needs of a file that
 * defines no ops table and calls no pin API (a *partial* file, see analysis.ts): which functions
 * it defines, whether they are static, and where. A call that resolves to one of them makes the
 * file worth extracting in full; nothing else is read from it. The scan works on the text with
 * comments, strings, character literals and preprocessor lines blanked out, and takes a `{` at
 * brace depth 0 whose header (the text since the previous `;`, `}` or `{` at depth 0) reads like
 * a declarator: a parenthesised parameter list, no `=` (an initializer), no `struct x {`.
 *
 * Compared with the tree-sitter front end on the CI directories (test/corpus), this finds the
 * same names in the files it is used for; where it differs, it errs towards more names (a file
 * extracted without need), not fewer. It sees every `#if` branch: check's first pass hands it the
 * normalised text (analysis.ts), which keeps the first live branch as the parser does, so that
 * a call never resolves to an `#else` stub the parse does not have.
 */
import type { FunctionFacts, Loc, Term } from './types';

/** Names before a parenthesised group that are attributes, not the function's name. */
const ATTRIBUTE = /^(?:__attribute__|__attribute|__declspec|__printf|__scanf|__aligned|__section|__alloc_size|__malloc|__acquires|__releases|__must_hold|__cond_acquires|__cond_releases|__no_sanitize_\w+|__diag_\w+|__counted_by|__nocfi|__weak|__packed|__ro_after_init|__cacheline_aligned\w*|__visible|noinline|__always_inline|__init|__exit|__cold|__hot|__noreturn|asm|__asm__|__asm|_Alignas|alignas)$/;
const NOT_A_NAME = new Set(['if', 'while', 'for', 'switch', 'return', 'sizeof', 'do', 'else', 'case', 'typeof', '__typeof__', '_Generic', 'defined']);

/** The text with comments, string and char literals and preprocessor lines replaced by spaces (newlines kept). */
export function blankNonCode(text: string): string {
  // (UTF-16 units edited in place and decoded once: a string per character was most of the scan)
  const b = Buffer.from(text, 'utf16le');
  const out = new Uint16Array(b.buffer, b.byteOffset, text.length);
  const n = text.length;
  const NL = 10, SP = 32, TAB = 9, HASH = 35, SLASH = 47, STAR = 42, BSL = 92, DQ = 34, SQ = 39;
  const blank = (from: number, to: number) => { for (let k = from; k < to; k++) if (out[k] !== NL) out[k] = SP; };
  const closeComment = (from: number) => { const end = text.indexOf('*/', from); return end < 0 ? n : end + 2; };
  let i = 0;
  let lineStart = true;
  while (i < n) {
    const c = out[i];
    if (c === NL) { lineStart = true; i++; continue; }
    if (lineStart && (c === SP || c === TAB)) { i++; continue; }
    if (lineStart && c === HASH) {
      // a directive, with its backslash continuations (and comments inside it)
      while (i < n && out[i] !== NL) {
        if (out[i] === BSL && out[i + 1] === NL) { out[i] = SP; i += 2; continue; }
        if (out[i] === SLASH && out[i + 1] === STAR) { const stop = closeComment(i + 2); blank(i, stop); i = stop; continue; }
        out[i] = SP;
        i++;
      }
      continue;
    }
    lineStart = false;
    if (c === SLASH && out[i + 1] === STAR) { const stop = closeComment(i + 2); blank(i, stop); i = stop; continue; }
    if (c === SLASH && out[i + 1] === SLASH) {
      while (i < n && out[i] !== NL) { out[i] = SP; i++; }
      continue;
    }
    if (c === DQ || c === SQ) {
      out[i] = SP;
      i++;
      while (i < n && out[i] !== c && out[i] !== NL) {
        if (out[i] === BSL && i + 1 < n) { out[i] = SP; i++; if (out[i] === NL) continue; }
        out[i] = SP;
        i++;
      }
      if (i < n && out[i] === c) { out[i] = SP; i++; }
      continue;
    }
    i++;
  }
  return b.toString('utf16le');
}

/** Function definitions by scanning (see the file comment); effects, params and locals are left empty. */
export function scanFunctions(file: string, text: string): FunctionFacts[] {
  const code = blankNonCode(text);
  const lineAt = lineIndex(code);
  const out: FunctionFacts[] = [];
  let depth = 0;
  let paren = 0;
  let headerStart = 0;
  /** the last line start at depth 0 that is not indented (a header begins at one) */
  let lastTop = 0;
  let pending: { name: string; at: number; isStatic: boolean; start: number } | null = null;
  const n = code.length;
  for (let i = 0; i < n; i++) {
    const c = code.charCodeAt(i);
    // (only these characters matter; everything else is skipped at once)
    if (c !== 40 && c !== 41 && c !== 123 && c !== 125 && c !== 59 && c !== 10) continue;
    // parentheses count only between definitions (`#ifdef` halves leave bodies unbalanced)
    if (c === 40) { if (depth === 0) paren++; }
    else if (c === 41) { if (depth === 0 && paren > 0) paren--; }
    else if (c === 123) {
      // kernel style opens a definition with `{` in column 0 and closes it with `}` there: an
      // `#ifdef` with a brace in each half cannot push a column-0 brace off depth 0
      const col0 = i === 0 || code.charCodeAt(i - 1) === 10;
      if (col0 && depth > 0) { depth = 0; pending = null; headerStart = lastTop; paren = 0; }
      if (depth === 0) {
        pending = paren === 0 ? declarator(code, headerStart, i) : null;
        paren = 0;
      }
      depth++;
    } else if (c === 125) {
      if (i === 0 || code.charCodeAt(i - 1) === 10) depth = Math.min(depth, 1);
      if (depth > 0) depth--;
      if (depth === 0) {
        if (pending) {
          const s = lineAt(pending.start), e = lineAt(i + 1), nm = lineAt(pending.at);
          const loc: Loc = { file, line: s.line, col: s.col, endLine: e.line, endCol: e.col };
          const nameLoc: Loc = { file, line: nm.line, col: nm.col, endLine: nm.line, endCol: nm.col + pending.name.length };
          out.push({ name: pending.name, loc, nameLoc, isStatic: pending.isStatic, params: [], locals: [], effects: [] });
        }
        pending = null;
        headerStart = i + 1;
        paren = 0;
      }
    } else if (c === 59) {
      if (depth === 0) { headerStart = i + 1; paren = 0; }
    } else if (depth === 0 && i + 1 < n) {
      // a newline: the next line starts at the top when it is not indented
      const d = code.charCodeAt(i + 1);
      if (d !== 32 && d !== 9 && d !== 10) lastTop = i + 1;
    }
  }
  return out;
}

/** The function a header `[start, brace)` declares, if it reads like a definition's declarator. */
function declarator(code: string, start: number, brace: number): { name: string; at: number; isStatic: boolean; start: number } | null {
  const header = code.slice(start, brace);
  if (!header.includes('(')) return null;
  // the last parenthesised group at depth 0 preceded by a name that is not an attribute
  const groups: { open: number; close: number }[] = [];
  let d = 0;
  let o = -1;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i];
    if (ch === '(') { if (d === 0) o = i; d++; }
    else if (ch === ')') { d--; if (d === 0 && o >= 0) groups.push({ open: o, close: i }); if (d < 0) return null; }
    // an initializer (`x = {`, `t[] = {`)
    else if (d === 0 && ch === '=') return null;
  }
  if (d !== 0 || !groups.length) return null;
  for (let g = groups.length - 1; g >= 0; g--) {
    const before = header.slice(0, groups[g].open);
    const m = /([A-Za-z_]\w*)\s*$/.exec(before);
    if (!m) continue;
    const name = m[1];
    if (ATTRIBUTE.test(name)) continue;
    if (NOT_A_NAME.has(name)) return null;
    // after the parameters only attributes may follow (`__acquires(x)`, `__must_hold(..)`)
    const rest = header.slice(groups[g].close + 1).replace(/\b__\w+\s*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?/g, '').replace(/\b(?:const|noexcept)\b/g, '').trim();
    if (rest) return null;
    const lead = before.slice(0, m.index);
    if (/\b(?:struct|union|enum)\s*$/.test(lead)) return null;
    const at = start + m.index;
    const first = start + (header.length - header.trimStart().length);
    return { name, at, isStatic: /\bstatic\b/.test(lead), start: first };
  }
  return null;
}

function lineIndex(text: string): (off: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (off: number) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (starts[mid] <= off) lo = mid; else hi = mid - 1; }
    return { line: lo + 1, col: off - starts[lo] + 1 };
  };
}

/**
 * One-line predicates of a file's text: `bool f(const struct T *p) { return p->field == CONST; }`
 * (or `!=`, or the constant first), as FunctionFacts.predicate by function name. Read off the
 * (normalised) text the same way for files extracted in full and for files only scanned, so a
 * predicate is the same whichever way the file came in.
 */
export function predicatesIn(text: string): Map<string, NonNullable<FunctionFacts['predicate']>> {
  const out = new Map<string, NonNullable<FunctionFacts['predicate']>>();
  if (!text.includes('return')) return out;
  PRED.lastIndex = 0;
  for (let m = PRED.exec(text); m; m = PRED.exec(text)) {
    const [, name, struct, param, expr] = m;
    const e = PRED_EXPR.exec(expr.trim()) ?? PRED_EXPR_REV.exec(expr.trim());
    if (!e?.groups || e.groups.p !== param || out.has(name)) continue;
    const root: Term = { t: 'root', name: param, kind: 'param', param: 0, type: `struct ${struct} *` };
    out.set(name, { path: { t: 'field', base: root, name: e.groups.f, arrow: true }, nonnull: e.groups.op === '==', value: e.groups.c });
  }
  return out;
}
const PRED = /\b(?:bool|int)\s+(\w+)\s*\(\s*(?:const\s+)?struct\s+(\w+)\s*\*\s*(?:const\s+)?(\w+)\s*\)\s*\{\s*return\s+([^;{}]{1,160});\s*\}/g;
const PRED_EXPR = /^\(?\s*(?<p>\w+)\s*->\s*(?<f>\w+)\s*(?<op>==|!=)\s*(?<c>[A-Z][A-Z0-9_]*[A-Z0-9])\s*\)?$/;
const PRED_EXPR_REV = /^\(?\s*(?<c>[A-Z][A-Z0-9_]*[A-Z0-9])\s*(?<op>==|!=)\s*(?<p>\w+)\s*->\s*(?<f>\w+)\s*\)?$/;

/** Set FunctionFacts.predicate on the functions `predicatesIn(text)` named (`preds`). */
export function attachPredicates(functions: FunctionFacts[], preds: ReturnType<typeof predicatesIn>): void {
  if (!preds.size) return;
  for (const f of functions) { const p = preds.get(f.name); if (p) f.predicate = p; }
}
