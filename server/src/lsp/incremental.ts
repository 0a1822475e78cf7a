/**
 * What the language server keeps per open document between two extractions of it, so that an
 * edit costs what it changed: the previous parse tree (tree-sitter reparses incrementally from
 * it) and each function's facts by where it was (a function whose text and start position did
 * not change is not walked again).
 *
 * The edit between two versions is the common prefix and suffix of the texts, taken over both
 * the source and the normalised text (normalize.ts keeps offsets, so both have the file's
 * length; an edit of a `#if` elsewhere can change the normalised text of a function whose
 * source did not change). A function lying wholly in the common prefix or suffix has the same
 * text in both; it is reused only if it also starts at the same row and column, so every
 * location and line number in its facts (`ret@88`) is still right.
 */
import { parseTree, reparseC, releaseTree, type ParseResult, type Tree } from '../syntax';
import type { FunctionCache } from '../facts/extract';
import type { FunctionFacts } from '../facts/types';

interface Kept { end: number; row: number; col: number; clean: boolean; facts: FunctionFacts }

function commonPrefix(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let i = 0;
  while (i < max && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
function commonSuffix(a: string, b: string, room: number): number {
  let i = 0;
  while (i < room && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

export interface ReuseStats { walked: number; kept: number; incremental: boolean }

export class DocumentState {
  private src: string | null = null;
  private norm: string | null = null;
  private tree: Tree | null = null;
  private fns = new Map<number, Kept>();
  /** Filled during one extraction. */
  private next = new Map<number, Kept>();
  private srcPrefix = 0;
  private srcSuffix = 0;
  private prefix = 0;
  private suffix = 0;
  private delta = 0;
  private newLength = 0;
  stats: ReuseStats = { walked: 0, kept: 0, incremental: false };

  /**
   * The hooks for `extract(..., { incremental })` for the new text of this document. Call
   * `commit()` after the extraction succeeded, `reset()` if it failed.
   */
  begin(src: string): { parse: (norm: string, budgetMs: number | undefined) => ParseResult; functions: FunctionCache } {
    const old = this.src;
    this.next = new Map();
    this.stats = { walked: 0, kept: 0, incremental: false };
    this.newLength = src.length;
    if (old !== null) {
      this.srcPrefix = commonPrefix(old, src);
      this.srcSuffix = commonSuffix(old, src, Math.min(old.length, src.length) - this.srcPrefix);
      this.delta = src.length - old.length;
    } else {
      this.fns.clear();
    }
    this.prefix = 0;
    this.suffix = 0;
    this.src = src;
    const parse = (norm: string, budgetMs: number | undefined): ParseResult => {
      const oldNorm = this.norm;
      const oldTree = this.tree;
      this.tree = null;
      this.norm = null;
      let r: ParseResult;
      if (oldNorm !== null && oldTree && old !== null && oldNorm.length === old.length && norm.length === src.length) {
        const p = commonPrefix(oldNorm, norm);
        const s = commonSuffix(oldNorm, norm, Math.min(oldNorm.length, norm.length) - p);
        this.prefix = Math.min(p, this.srcPrefix);
        this.suffix = Math.min(s, this.srcSuffix);
        r = reparseC(oldTree, oldNorm, norm, budgetMs);
        releaseTree(oldTree); // (wasm: its memory now; the new tree shares nothing the old one frees)
        this.stats.incremental = true;
      } else {
        if (oldTree) releaseTree(oldTree);
        this.fns.clear();
        r = parseTree(norm, budgetMs);
      }
      if (r.tree) { this.tree = r.tree; this.norm = norm; }
      return r;
    };
    const functions: FunctionCache = {
      get: (start, end, row, col, clean) => {
        let oldStart: number;
        if (end <= this.prefix) oldStart = start;
        else if (start >= this.newLength - this.suffix) oldStart = start - this.delta;
        else return undefined;
        const k = this.fns.get(oldStart);
        if (!k || k.end !== oldStart + (end - start) || k.row !== row || k.col !== col || k.clean !== clean) return undefined;
        this.next.set(start, { ...k, end }); // where it is now
        this.stats.kept++;
        return k.facts;
      },
      set: (start, end, row, col, clean, facts) => {
        this.next.set(start, { end, row, col, clean, facts });
        this.stats.walked++;
      },
    };
    return { parse, functions };
  }

  /** The extraction went through: its functions are what the next one may reuse. */
  commit(): void {
    this.fns = this.next;
    this.next = new Map();
  }

  /**
   * Use these objects instead of equal ones this document's last extraction made (the index
   * keeps the objects it summarised; an edit that reuses them compares by identity).
   */
  adopt(equal: Map<FunctionFacts, FunctionFacts>): void {
    if (!equal.size) return;
    for (const k of this.fns.values()) { const o = equal.get(k.facts); if (o) k.facts = o; }
  }

  /** Forget everything (a failed extraction, other settings): the next extraction is from scratch. */
  reset(): void {
    if (this.tree) releaseTree(this.tree);
    this.tree = null;
    this.src = null;
    this.norm = null;
    this.fns.clear();
    this.next = new Map();
  }
}
