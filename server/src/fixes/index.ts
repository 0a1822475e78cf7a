/**
 * Fixes: text edits that turn a finding's code into the kernel's own idiom. Built here, in the
 * core, so the editor's code actions and `kernlife check --diff` offer the same edits. The core
 * does no IO: the caller hands in each file's current text.
 *
 * A fix is `safe` when it cannot change behaviour beyond the finding (adding `.owner =
 * THIS_MODULE`, adding FOLL_LONGTERM to a pin that is already kept long term); only safe fixes
 * are applied by "fix all" and printed by `--diff`. Every edit is checked against the text it
 * replaces (`expect`), so a fix computed on a stale text is refused instead of corrupting the
 * file.
 */
import type { Finding } from '../rules/types';
import { KERNEL_KNOWLEDGE } from '../knowledge/kernel';

export interface TextEdit {
  file: string;
  /** 1-based line and column of the start, inclusive; end exclusive (same convention as Loc). */
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  /** The text the range holds now; the edit applies only if it still does. */
  expect: string;
  newText: string;
}

export interface Fix {
  title: string;
  rule: string;
  safe: boolean;
  edits: TextEdit[];
}

type Texts = (file: string) => string | undefined;

/** 0-based offset of a 1-based line/column in `text` (columns count UTF-16 units, as tree-sitter's do for ASCII). */
function offsetOf(text: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return -1;
    off = nl + 1;
  }
  return off + col - 1;
}

function positionOf(text: string, off: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < off; i = text.indexOf('\n', i + 1)) { line++; start = i + 1; }
  return { line, col: off - start + 1 };
}

function editAt(file: string, text: string, from: number, to: number, newText: string): TextEdit {
  const a = positionOf(text, from);
  const b = positionOf(text, to);
  return { file, line: a.line, col: a.col, endLine: b.line, endCol: b.col, expect: text.slice(from, to), newText };
}

/** Top-level argument spans of the call starting at `open` (the index of its '('). */
function argSpans(text: string, open: number): [number, number][] | null {
  const out: [number, number][] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) { out.push([start, i]); return out; }
    } else if (c === ',' && depth === 1) { out.push([start, i]); start = i + 1; }
  }
  return null;
}

const FLAGS_ARG = new Map(KERNEL_KNOWLEDGE.apis.filter((r) => r.effect === 'pin' && r.flagsArg !== undefined && !r.gup && /^pin_user_pages/.test(r.name)).map((r) => [r.name, r.flagsArg!]));

export function fixesFor(f: Finding, texts: Texts): Fix[] {
  const out: Fix[] = [];
  const text = texts(f.loc.file);
  if (text === undefined) return out;
  const at = offsetOf(text, f.loc.line, f.loc.col);
  if (at < 0) return out;
  switch (f.rule) {
    case 'fops-missing-owner': {
      // the table's initializer: the first '{' after the declaration's start
      const brace = text.indexOf('{', at);
      const semi = text.indexOf(';', at);
      if (brace < 0 || (semi >= 0 && semi < brace)) break;
      const nl = text.indexOf('\n', brace);
      const lineEnd = nl < 0 ? text.length : nl;
      // keep whatever trails the brace on its line (a comment); indent like the next field
      const next = text.slice(lineEnd + 1, text.indexOf('\n', lineEnd + 1) >= 0 ? text.indexOf('\n', lineEnd + 1) : text.length);
      const indent = /^\s*/.exec(next)?.[0] || '\t';
      out.push({ title: 'Add .owner = THIS_MODULE', rule: f.rule, safe: true, edits: [editAt(f.loc.file, text, lineEnd, lineEnd, `\n${indent}.owner = THIS_MODULE,`)] });
      break;
    }
    case 'longterm-pin-without-lease': {
      // pin_user_pages*(..., flags, ...) kept past the call: add FOLL_LONGTERM to the flags
      const m = /^([A-Za-z_]\w*)\s*\(/.exec(text.slice(at));
      const argIdx = m ? FLAGS_ARG.get(m[1]) : undefined;
      if (!m || argIdx === undefined) break;
      const spans = argSpans(text, at + m[0].length - 1);
      const span = spans?.[argIdx];
      if (!span) break;
      const arg = text.slice(span[0], span[1]);
      if (/FOLL_LONGTERM/.test(arg)) break;
      const trimmed = arg.trim();
      const lead = arg.indexOf(trimmed);
      const s = span[0] + lead;
      const e = s + trimmed.length;
      const val = trimmed === '0' ? 'FOLL_LONGTERM' : `${/[?:|&]/.test(trimmed) && !/^\(.*\)$/.test(trimmed) ? `(${trimmed})` : trimmed} | FOLL_LONGTERM`;
      out.push({ title: `Pin long term: add FOLL_LONGTERM to ${m[1]}()`, rule: f.rule, safe: true, edits: [editAt(f.loc.file, text, s, e, val)] });
      break;
    }
    default: break;
  }
  // every finding: suppress it on its line, with a reason to fill in (never applied by fix-all)
  const lineStart = offsetOf(text, f.loc.line, 1);
  const indent = /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
  out.push({ title: `Suppress ${f.rule} on this line`, rule: f.rule, safe: false, edits: [editAt(f.loc.file, text, lineStart, lineStart, `${indent}/* kernlife-ignore ${f.rule}: REASON */\n`)] });
  return out;
}

/** Apply edits to a text (edits of one file, any order). Returns null if one no longer matches. */
export function applyEdits(text: string, edits: TextEdit[]): string | null {
  const spans = edits.map((e) => ({ e, s: offsetOf(text, e.line, e.col), t: offsetOf(text, e.endLine, e.endCol) }));
  if (spans.some((x) => x.s < 0 || x.t < x.s || text.slice(x.s, x.t) !== x.e.expect)) return null;
  spans.sort((a, b) => b.s - a.s);
  for (let i = 1; i < spans.length; i++) if (spans[i].t > spans[i - 1].s) return null; // overlapping
  let out = text;
  for (const x of spans) out = out.slice(0, x.s) + x.e.newText + out.slice(x.t);
  return out;
}

/** A unified diff of one file's change (the `--diff` output), 3 lines of context. */
export function unifiedDiff(file: string, before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let sa = a.length - 1;
  let sb = b.length - 1;
  while (sa >= p && sb >= p && a[sa] === b[sb]) { sa--; sb--; }
  const from = Math.max(0, p - 3);
  const toA = Math.min(a.length - 1, sa + 3);
  const toB = Math.min(b.length - 1, sb + 3);
  const lines = [`--- a/${file}`, `+++ b/${file}`, `@@ -${from + 1},${toA - from + 1} +${from + 1},${toB - from + 1} @@`];
  for (let i = from; i < p; i++) lines.push(` ${a[i]}`);
  for (let i = p; i <= sa; i++) lines.push(`-${a[i]}`);
  for (let i = p; i <= sb; i++) lines.push(`+${b[i]}`);
  for (let i = sa + 1; i <= toA; i++) lines.push(` ${a[i]}`);
  return lines.join('\n') + '\n';
}
