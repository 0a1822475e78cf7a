/**
 * syntax -> facts for one file: ops tables, functions, and per-function lifecycle effects
 * with access paths. Never throws on bad C: what cannot be recovered becomes a Problem.
 */
import { normalize, parseC, type Node, type Normalized, type NormalizeOptions, type ParseResult } from '../syntax';
import type { ApiRow, Knowledge, OpsStructRow, TableMacroRow, ValueRow } from '../knowledge/types';
import type { Effect, EffectGuard, EffectKind, ExtractLevel, FileFacts, FunctionFacts, Loc, OpsTable, Param, Problem, ReachLit, TableField, Term } from './types';
import { addr, deref, field, render, root, rootOf, substitute, TermTable, up } from './terms';
import { attachPredicates, predicatesIn } from './scan';

export interface ExtractOptions {
  level: ExtractLevel;
  /** Time budget for one parse; a file that takes longer is reported and skipped. */
  parseBudgetMs?: number;
  /** At `tables` level too: the predicates read off the text (check's first pass, for files it parses but does not walk). */
  predicates?: boolean;
  /** `normalize(src)`, done already (on another thread: see cli/pool.ts). */
  normalized?: Normalized;
  /** What extractFile reads off the text alone, read already (on another thread: see cli/pool.ts). */
  scan?: { tables: boolean; predicates: ReturnType<typeof predicatesIn> };
  /** Parses the normalised text instead of parseC (the language server reparses incrementally). */
  parse?: (normText: string, budgetMs: number | undefined) => ParseResult;
  /**
   * Facts of functions from an earlier extraction of the same file (the language server): a
   * function `get` answers for is not walked again. `get` must answer only when the function's
   * text (source and normalised) and start position are those it was walked at; `set` is told
   * every function walked here.
   */
  functions?: FunctionCache;
}

/** Per-function facts kept between extractions of one file, by node range and start position. */
export interface FunctionCache {
  get(start: number, end: number, row: number, col: number, clean: boolean): FunctionFacts | undefined;
  set(start: number, end: number, row: number, col: number, clean: boolean, facts: FunctionFacts): void;
}

/** Lookup tables derived from Knowledge once per process. */
export interface CompiledKnowledge {
  k: Knowledge;
  apis: Map<string, ApiRow[]>;
  values: Map<string, ValueRow>;
  structs: Map<string, OpsStructRow>;
  macros: Map<string, TableMacroRow>;
  normalizeOpts: NormalizeOptions;
  /** Cheap textual pre-filter: files without any of these cannot hold a table. */
  tableWords: string[];
  /** tableWords as one search (one pass over a file instead of one per word). */
  tableWordsRe: RegExp;
}

/** A search for any of `words` (literally): one regex pass instead of one `includes` per word. */
export function anyWord(words: readonly string[]): RegExp {
  if (words.length === 0) return /(?!)/;
  return new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
}

export function compileKnowledge(k: Knowledge): CompiledKnowledge {
  const apis = new Map<string, ApiRow[]>();
  for (const r of k.apis) {
    const list = apis.get(r.name) ?? [];
    list.push(r);
    apis.set(r.name, list);
  }
  // Rows with argument constraints are more specific: try them first (stable otherwise).
  for (const list of apis.values()) list.sort((a, b) => (b.when?.length ?? 0) - (a.when?.length ?? 0));
  const tableWords = [...k.structs.map((s) => s.struct), ...k.macros.map((m) => m.macro)];
  return {
    k,
    apis,
    values: new Map(k.values.map((v) => [v.name, v])),
    structs: new Map(k.structs.map((s) => [s.struct, s])),
    macros: new Map(k.macros.map((m) => [m.macro, m])),
    normalizeOpts: {
      annotations: new Set(k.annotations),
      annotationsWithArgs: new Set(k.annotationsWithArgs),
      definers: new Map(k.definers.map((d) => [d.macro, d])),
    },
    tableWords,
    tableWordsRe: anyWord(tableWords),
  };
}

/**
 * Whitespace runs as one space, none at the ends. Most texts (a type, a condition on one line)
 * have nothing to squash: those come back as they are, with no regex pass and no new string.
 */
function squash(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  let prev = 32; // (a space before the start: a leading blank is squashed)
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) { if (prev === 32) return squashAll(s); }
    else if ((c <= 13 && c >= 9) || c >= 128) return squashAll(s); // (\s has non-ASCII blanks too)
    prev = c;
  }
  return prev === 32 ? squashAll(s) : s;
}
const squashAll = (s: string): string => s.replace(/\s+/g, ' ').trim();

const JUMPS = new Set(['break_statement', 'return_statement', 'goto_statement', 'continue_statement']);
/** Whether control can run off the end of a case's code into the next case (an empty label does). */
function fallsThrough(n: Node, value: Node | null): boolean {
  let last: Node | null = null;
  for (const c of n.namedChildren) if (c.type !== 'comment' && (!value || c.startIndex !== value.startIndex)) last = c;
  for (let depth = 0; last && last.type === 'compound_statement' && depth < 8; depth++) {
    const kids = last.namedChildren.filter((k) => k.type !== 'comment');
    last = kids.length ? kids[kids.length - 1] : null;
  }
  if (!last) return true;
  return !JUMPS.has(last.type);
}

export function extractFile(file: string, src: string, ck: CompiledKnowledge, opts: ExtractOptions): FileFacts {
  const problems: Problem[] = [];
  const facts: FileFacts = {
    file, functions: [], tables: [], problems,
    stats: { bytes: src.length, errorNodes: 0, functions: 0, parseMs: 0, extractMs: 0 },
  };
  const norm = opts.normalized ?? normalize(src, ck.normalizeOpts);
  const parsed = opts.parse ? opts.parse(norm.text, opts.parseBudgetMs) : parseC(norm.text, opts.parseBudgetMs);
  facts.stats.parseMs = parsed.ms;
  if (!parsed.tree) {
    problems.push({ severity: 'error', message: `parse stopped after ${Math.round(parsed.ms)} ms (budget); file skipped` });
    return facts;
  }
  const t0 = performance.now();
  ATOM_IDS.clear();
  const rootNode = parsed.root!;
  const loc = (n: Node): Loc => {
    const s = n.startPosition, e = n.endPosition;
    return { file, line: s.row + 1, col: s.column + 1, endLine: e.row + 1, endCol: e.column + 1 };
  };
  const st = new SourceText(src, norm.text);
  st.treeEnds = parsed.cheapNodes === true;
  const text = (n: Node): string => st.text(n);
  /** `loc` for a node whose end offset is known (read off the text): no native call. */
  const locTo = (n: Node, end: number): Loc => {
    const s = n.startPosition;
    const endLine = st.lineOf(end);
    return { file, line: s.row + 1, col: s.column + 1, endLine, endCol: end - st.lineStart(endLine) + 1 };
  };
  try {
    // Counting ERROR nodes costs a tree walk; whether the file has any is free.
    if (rootNode.hasError) facts.stats.errorNodes = 1;
    const top = rootNode.namedChildren;
    const share = new FileShare();
    const functions = findFunctions(top, st, share, file);
    facts.stats.functions = functions.length;
    // One collection over the whole tree, bucketed by function body below: one native call per
    // function costs about 3x more in the node binding (a call has a fixed cost of tens of µs).
    // With a function cache (an edited file) most functions are kept: one collection per
    // function walked is then less than one over the whole tree.
    const effects = opts.level === 'facts' && functions.length > 0;
    const cache = effects ? opts.functions : undefined;
    const nodes = effects && !cache ? rootNode.descendantsOfType(EFFECT_NODE_TYPES) : null;
    if (opts.scan ? opts.scan.tables : ck.tableWordsRe.test(src)) {
      const decls = nodes ? nodes.filter((n) => n.type === 'declaration') : rootNode.descendantsOfType('declaration');
      facts.tables.push(...findTables(decls, ck, text, loc, norm.guards));
      facts.tables.push(...findMacroTables(top, ck, text, loc));
    }
    let next = 0; // functions are sorted and disjoint, and `nodes` is in document order
    for (const fn of functions) {
      const sp = cache && fn.node.startPosition;
      const kept = sp && cache.get(fn.node.startIndex, fn.node.endIndex, sp.row, sp.column, fn.clean);
      if (kept) { facts.functions.push(kept); continue; }
      const ff: FunctionFacts = {
        name: fn.name, loc: locTo(fn.node, fn.end), nameLoc: fn.nameLoc, isStatic: fn.isStatic,
        params: fn.params, locals: [], effects: [],
      };
      let walkFailed = false;
      if (effects) {
        const start = fn.body.startIndex;
        const end = fn.end; // (the body's, which ends the definition)
        let own = nodes, from = 0, to = 0;
        if (own) {
          while (next < own.length && own[next].startIndex < start) next++;
          from = next;
          while (next < own.length && own[next].startIndex < end) next++;
          to = next;
        } else {
          own = fn.body.descendantsOfType(EFFECT_NODE_TYPES).filter((n) => n.startIndex < end); // (the same bucket)
          to = own.length;
        }
        st.clean = fn.clean;
        try {
          new EffectWalker(ff, own, from, to, ck, st, share, loc, locTo).run();
        } catch (e) {
          problems.push({ severity: 'warning', message: `effects of ${fn.name} not extracted: ${(e as Error).message}`, loc: ff.nameLoc });
          walkFailed = true;
        }
      }
      st.clean = false;
      if (sp && !walkFailed) cache.set(fn.node.startIndex, fn.node.endIndex, sp.row, sp.column, fn.clean, ff);
      facts.functions.push(ff);
    }
    // (off the text, as for scanned files: the same predicates whichever way a file comes in)
    if (effects || opts.predicates) attachPredicates(facts.functions, opts.scan?.predicates ?? predicatesIn(norm.text));
  } catch (e) {
    problems.push({ severity: 'error', message: `extraction failed: ${(e as Error).message}` });
  } finally {
    parsed.tree = null;
  }
  facts.stats.extractMs = performance.now() - t0;
  return facts;
}

/**
 * What a file's facts share (see EffectWalker.share): one string, term, condition list, reach
 * literal and conjunction, one-argument list, and parameter or local object per distinct one in
 * the file. Facts are kept for the whole run, so every object in them is copied by the scavenger
 * twice and marked at every full collection; a file names the same callees, parameters, fields
 * and tests over and over. Nothing changes a fact's parts once the walk is done.
 */
class FileShare {
  private words = new Map<string, string>();
  private decls = new Map<string, Map<string, Param>>();
  readonly terms = new TermTable();
  readonly conds = new ListTable<string>();
  readonly conjs = new ListTable<ReachLit>();
  readonly passLits = new Map<string, ReachLit>();
  readonly failLits = new Map<string, ReachLit>();
  readonly oneArg = new Map<Term | null, (Term | null)[]>();
  word(w: string): string {
    const had = this.words.get(w);
    if (had !== undefined) return had;
    this.words.set(w, w);
    return w;
  }
  param(name: string, type: string): Param {
    name = this.word(name);
    type = this.word(type);
    let byType = this.decls.get(name);
    if (!byType) this.decls.set(name, (byType = new Map()));
    let p = byType.get(type);
    if (!p) byType.set(type, (p = { name, type }));
    return p;
  }
}

/** Single-token nodes whose text is an identifier-like word (see SourceText.end). */
const WORD_TOKENS = new Set(['identifier', 'field_identifier', 'type_identifier', 'primitive_type', 'statement_identifier']);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** Statements that end at their own `;` (see SourceText.end). */
const SIMPLE_STATEMENTS = new Set(['expression_statement', 'return_statement', 'break_statement', 'continue_statement', 'goto_statement']);

/** The first offset from `i` that is not whitespace or a comment. */
function skipBlank(t: string, i: number): number {
  const n = t.length;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12) { i++; continue; }
    if (c === 47 && t.charCodeAt(i + 1) === 42) { const e = t.indexOf('*/', i + 2); if (e < 0) return n; i = e + 2; continue; }
    if (c === 47 && t.charCodeAt(i + 1) === 47) { const e = t.indexOf('\n', i); if (e < 0) return n; i = e; continue; }
    break;
  }
  return i;
}

/**
 * From `i`: with `semicolon`, the offset past the first `;` outside brackets; without it, `i`
 * is an opening bracket and the result is the offset past the bracket that closes it. Strings,
 * character literals and comments are skipped. -1 when the text does not say for sure: the
 * end of the text, a closing bracket of another kind, a line continuation or a directive line
 * (a `#define` in a body), where only the tree knows.
 */
function scanBalanced(t: string, i: number, semicolon: boolean, ends: Int32Array): number {
  const n = t.length;
  if (!semicolon) { const c = t.charCodeAt(i); if (c !== 40 && c !== 91 && c !== 123) return -1; }
  // openers in scope (offsets); every pair closed on the way is recorded in `ends` (end + 1),
  // so a block scanned once answers for everything inside it
  const stack: number[] = [];
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    switch (c) {
      case 40: case 91: case 123: { // ( [ {
        const known = ends[i];
        if (known > 0) { // (scanned before: jump over it)
          if (!stack.length && !semicolon) return known - 1;
          i = known - 2;
          break;
        }
        stack.push(i);
        break;
      }
      case 41: case 93: case 125: { // ) ] }
        if (!stack.length) return -1;
        const o = stack.pop()!;
        if ((t.charCodeAt(o) === 40 ? 41 : t.charCodeAt(o) + 2) !== c) return -1;
        ends[o] = i + 2;
        if (!stack.length && !semicolon) return i + 1;
        break;
      }
      case 59: // ;
        if (semicolon && !stack.length) return i + 1;
        break;
      case 34: case 39: { // " '
        let j = i + 1;
        for (; j < n; j++) {
          const d = t.charCodeAt(j);
          if (d === 92) { j++; continue; }
          if (d === c) break;
          if (d === 10) return -1;
        }
        if (j >= n) return -1;
        i = j;
        break;
      }
      case 47: { // /
        const d = t.charCodeAt(i + 1);
        if (d === 42) { const e = t.indexOf('*/', i + 2); if (e < 0) return -1; i = e + 1; }
        else if (d === 47) { const e = t.indexOf('\n', i); if (e < 0) return -1; if (t.charCodeAt(e - 1) === 92 || t.charCodeAt(e - 1) === 13) return -1; i = e; }
        break;
      }
      case 35: // # (a directive line inside the range)
        return -1;
      case 92: // \ (a line continuation)
        return -1;
    }
  }
  return -1;
}

/**
 * Node text, read from the original source (the tree comes from the normalised text, which
 * keeps every offset). A node's end offset is a native call; inside a function without ERROR
 * or MISSING nodes (`clean`), a name token ends where its identifier characters end, and an
 * operator token's text is its type, so neither needs the call.
 */
class SourceText {
  clean = false;
  /** Nodes know their ends without a native call (the flat parser): `end` asks them. */
  treeEnds = false;
  constructor(readonly src: string, readonly norm: string) {}
  text(n: Node): string { return this.src.slice(n.startIndex, this.clean ? this.end(n) : n.endIndex); }
  /** An identifier-like token: identifier, field_identifier, type_identifier, a keyword. */
  ident(n: Node): string {
    if (!this.clean) return this.text(n);
    const t = this.norm; // what the lexer read
    const s = n.startIndex;
    let e = s;
    for (;;) {
      const c = t.charCodeAt(e);
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36) { e++; continue; }
      // non-ASCII identifier characters and \u escapes: let tree-sitter say where the token ends
      if (c >= 128 || c === 92) return this.text(n);
      break;
    }
    return this.src.slice(s, e);
  }
  private lineStarts: number[] | null = null;
  /** 1-based line of an offset. */
  lineOf(off: number): number {
    if (!this.lineStarts) {
      const ls = [0];
      for (let i = this.src.indexOf('\n'); i >= 0; i = this.src.indexOf('\n', i + 1)) ls.push(i + 1);
      this.lineStarts = ls;
    }
    const ls = this.lineStarts;
    let lo = 0, hi = ls.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (ls[mid] <= off) lo = mid; else hi = mid - 1; }
    return lo + 1;
  }
  /** Offset of the start of a 1-based line. */
  lineStart(line: number): number {
    if (!this.lineStarts) this.lineOf(0);
    return this.lineStarts![line - 1];
  }
  /**
   * A node's end offset. In a clean function (no ERROR or MISSING node: every bracket the
   * parser read is balanced) the shapes below end where the text says, without the native
   * call: a block at its closing brace, a simple statement at its `;`, an `else` block at its
   * brace. Anything else, or any doubt (a directive line on the way), asks the tree.
   */
  end(n: Node): number {
    if (this.clean && !this.treeEnds) {
      const t = n.type;
      const s = n.startIndex;
      let e = -1;
      if (t === 'compound_statement' || t === 'parenthesized_expression' || t === 'argument_list') e = this.closeOf(s);
      else if (SIMPLE_STATEMENTS.has(t)) e = this.semicolonEnd(s);
      else if (WORD_TOKENS.has(t)) e = this.wordEnd(s);
      else if (t === 'struct_specifier') e = this.structEnd(s);
      else if (t === 'else_clause' && this.norm.startsWith('else', s)) {
        const b = skipBlank(this.norm, s + 4);
        if (this.norm.charCodeAt(b) === 123) e = this.closeOf(b);
      }
      if (e >= 0) return e;
    }
    return n.endIndex;
  }
  /** The end of the identifier-like token at `s` (-1: a character only tree-sitter knows the class of). */
  wordEnd(s: number): number {
    const t = this.norm;
    let e = s;
    for (;;) {
      const c = t.charCodeAt(e);
      if (isWordChar(c)) { e++; continue; }
      if (c >= 128 || c === 92) return -1;
      break;
    }
    return e > s ? e : -1;
  }
  /** `struct name` (no body, no attribute, nothing but spaces between): where the name ends; -1 otherwise. */
  structEnd(s: number): number {
    const t = this.norm;
    if (!t.startsWith('struct', s)) return -1;
    let i = s + 6;
    const c0 = t.charCodeAt(i);
    if (c0 !== 32 && c0 !== 9) return -1;
    while (t.charCodeAt(i) === 32 || t.charCodeAt(i) === 9) i++;
    const e = this.wordEnd(i);
    if (e < 0 || t.startsWith('__attribute__', i) || isDigit(t.charCodeAt(i))) return -1;
    // a body or anything but a declarator after the name: ask the tree
    const next = skipBlank(t, e);
    const c = t.charCodeAt(next);
    return c === 123 || c === 40 || c === 35 || c === 92 || t.startsWith('__attribute', next) ? -1 : e;
  }
  /** Per offset of an opening bracket: the offset past its closing one, plus one (0: not known yet). */
  private ends: Int32Array | null = null;
  /** In a clean function: the offset past the bracket that closes the one at `open` (skipping strings, characters, comments); -1 when unsure. */
  closeOf(open: number): number {
    const ends = (this.ends ??= new Int32Array(this.norm.length + 1));
    const e = ends[open];
    return e > 0 ? e - 1 : scanBalanced(this.norm, open, false, ends);
  }
  /** In a clean function: the offset past the `;` that ends the statement starting at `start` (brackets skipped); -1 when unsure. */
  semicolonEnd(start: number): number {
    return scanBalanced(this.norm, start, true, (this.ends ??= new Int32Array(this.norm.length + 1)));
  }
  /** A parenthesized expression's only named child (null when it has several), asked once per node: conditions are read by several passes. */
  private inners = new Map<number, Node | null>();
  inner(n: Node): Node | null {
    // (no two parenthesized expressions start at the same offset)
    let v = this.inners.get(n.startIndex);
    if (v === undefined) this.inners.set(n.startIndex, (v = onlyChild(n)));
    return v;
  }
  /** An anonymous token (`->`, `=`, `&`): its type is its text. */
  token(n: Node): string { return this.clean ? n.type : this.text(n); }
  /**
   * In a clean function, the operator token ending right before `pos` when it can be read off
   * the text: `->`, `.`, or a lone `=` (not the end of `+=`, `<<=`, `==`). Null when unsure:
   * a comment or line continuation in between, another operator, or not clean.
   */
  operatorBefore(pos: number): '->' | '.' | '=' | null {
    if (!this.clean) return null;
    const t = this.norm;
    let k = pos - 1;
    while (k >= 0) {
      const c = t.charCodeAt(k);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12) { k--; continue; }
      break;
    }
    const c = t[k];
    if (c === '.') return t[k - 1] === '.' ? null : '.';
    if (c === '>') return t[k - 1] === '-' ? '->' : null;
    if (c === '=') return '*/%+-<>&^|=!~'.includes(t[k - 1] ?? '') ? null : '=';
    return null;
  }
}

/** A node's only named child, or null (none, or several). */
function onlyChild(n: Node): Node | null {
  const kids = n.namedChildren;
  return kids.length === 1 ? kids[0] : null;
}

// ---------------------------------------------------------------------------------------------
// Functions

interface FoundFunction {
  name: string;
  node: Node;
  nameNode: Node;
  body: Node;
  isStatic: boolean;
  params: Param[];
  /** No ERROR or MISSING node inside (see SourceText.clean). */
  clean: boolean;
  /** Where the definition (its body) ends. */
  end: number;
  nameLoc: Loc;
}

function innerFunctionDeclarator(d: Node | null): Node | null {
  for (let i = 0; d && i < 16; i++) {
    if (d.type === 'function_declarator') {
      // `int (*f(void))(int)` nests; the outermost function_declarator whose own declarator is a name wins
      const inner = d.childForFieldName('declarator');
      if (inner && (inner.type === 'identifier' || inner.type === 'field_identifier')) return d;
      const deeper = innerFunctionDeclarator(inner);
      return deeper ?? d;
    }
    d = d.childForFieldName('declarator');
  }
  return null;
}

function declaratorName(d: Node | null): Node | null {
  for (let i = 0; d && i < 16; i++) {
    if (d.type === 'identifier' || d.type === 'field_identifier' || d.type === 'type_identifier') return d;
    const next: Node | null = d.childForFieldName('declarator') ?? (d.type === 'parenthesized_declarator' ? d.namedChildren[0] ?? null : null);
    d = next;
  }
  return null;
}

/**
 * The declared name (as `declaratorName`) and the pointer/array levels on the way to it
 * (`*`, `[]`), in one walk down the declarator chain. The levels stop where a level has no
 * `declarator` field (a parenthesised declarator), the name search goes on inside it.
 */
function declaratorInfo(d: Node | null): { name: Node | null; stars: string } {
  let stars = '';
  let counting = true;
  for (let i = 0; d && i < 16; i++) {
    const t = d.type;
    if (t === 'identifier' || t === 'field_identifier' || t === 'type_identifier') return { name: d, stars };
    if (counting) {
      if (t === 'pointer_declarator') stars += '*';
      else if (t === 'array_declarator') stars += '[]';
    }
    const next: Node | null = d.childForFieldName('declarator');
    if (next) { d = next; continue; }
    counting = false;
    d = t === 'parenthesized_declarator' ? d.namedChildren[0] ?? null : null;
  }
  return { name: null, stars };
}

/** `struct kernfs_open_file *` from a type's text and a declarator's pointer levels. */
function typeWithStars(typeText: string, stars: string): string {
  return squash(typeText) + (stars ? ' ' + stars : '');
}

/**
 * Function definitions: top-level ones, plus any inside ERROR regions left by macro soup.
 * (A query over the whole tree finds the same set but costs about 2.5x more in the node binding.)
 */
function functionNodes(top: Node[]): Node[] {
  const out: Node[] = [];
  for (const c of top) {
    if (c.type === 'function_definition') out.push(c);
    else if (c.type === 'ERROR' || c.type.startsWith('preproc_') || c.type === 'linkage_specification') {
      for (const f of c.descendantsOfType('function_definition')) out.push(f);
    }
  }
  return out;
}

function findFunctions(top: Node[], st: SourceText, share: FileShare, file: string): FoundFunction[] {
  const out: FoundFunction[] = [];
  const text = (n: Node): string => st.text(n);
  let lastEnd = -1;
  for (const node of functionNodes(top)) {
    if (node.startIndex < lastEnd) continue; // a misparse nested inside a function we already have
    const body = node.childForFieldName('body');
    const decl = node.childForFieldName('declarator');
    if (!body || !decl || body.type !== 'compound_statement') continue;
    const fd = innerFunctionDeclarator(decl);
    if (!fd) continue;
    const nameNode = declaratorName(fd.childForFieldName('declarator'));
    if (!nameNode) continue;
    const clean = !node.hasError;
    st.clean = clean;
    let name = st.ident(nameNode);
    // (a name the normalisation wrote, `sys_open` for `SYSCALL_DEFINE3(open, ...`, is read where it wrote it)
    if (st.norm.startsWith(name, nameNode.startIndex) === false) name = st.norm.slice(nameNode.startIndex, nameNode.endIndex);
    const paramsNode = fd.childForFieldName('parameters');
    const params: Param[] = [];
    if (paramsNode) {
      for (const p of paramsNode.namedChildren) {
        if (p.type !== 'parameter_declaration') continue;
        const info = declaratorInfo(p.childForFieldName('declarator'));
        const ty = p.childForFieldName('type');
        params.push(share.param(info.name ? st.ident(info.name) : '', typeWithStars(ty ? text(ty) : '', info.stars)));
      }
    }
    let isStatic = false;
    const declStart = decl.startIndex;
    for (const c of node.children) {
      if (c.type === 'storage_class_specifier' && st.ident(c) === 'static') isStatic = true;
      // (children come in order: the first one at the declarator's offset is the declarator)
      if (c.startIndex >= declStart || c.type === 'compound_statement') break;
    }
    // the body ends the definition; the name's end is where its characters end (clean), else asked
    const end = st.end(body);
    const ns = nameNode.startPosition;
    let nameLoc: Loc;
    const nameEnd = clean && name === st.src.slice(nameNode.startIndex, nameNode.startIndex + name.length) ? nameNode.startIndex + name.length : -1;
    if (nameEnd >= 0 && st.lineOf(nameEnd) === ns.row + 1) nameLoc = { file, line: ns.row + 1, col: ns.column + 1, endLine: ns.row + 1, endCol: ns.column + 1 + name.length };
    else { const e = nameNode.endPosition; nameLoc = { file, line: ns.row + 1, col: ns.column + 1, endLine: e.row + 1, endCol: e.column + 1 }; }
    st.clean = false;
    // (a list grown by push keeps 17 slots: copied to its length, as facts keep it)
    out.push({ name, node, nameNode, body, isStatic, params: params.length ? params.slice() : params, clean, end, nameLoc });
    lastEnd = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ops tables

function unwrapValue(n: Node, st?: SourceText): Node {
  for (let i = 0; i < 8; i++) {
    const inner = n.type === 'parenthesized_expression' ? (st ? st.inner(n) : onlyChild(n)) : null;
    if (inner) n = inner;
    else if (n.type === 'cast_expression') n = n.childForFieldName('value') ?? n;
    else break;
  }
  return n;
}

function tableFields(
  init: Node, row: OpsStructRow, text: (n: Node) => string, loc: (n: Node) => Loc,
  guards: ReadonlyArray<readonly string[]>, prefix = '',
): TableField[] {
  const out: TableField[] = [];
  let position = 0;
  for (const el of init.namedChildren) {
    if (el.type === 'comment') continue;
    let name: string | null = null;
    let value: Node | null = el;
    if (el.type === 'initializer_pair') {
      const designators = el.childrenForFieldName('designator');
      const names = designators.filter((d) => d.type === 'field_designator').map((d) => text(d).replace(/^\./, '').trim());
      if (names.length === 0) continue;
      name = names.join('.');
      value = el.childForFieldName('value');
      const idx = row.order.indexOf(names[0]);
      if (idx >= 0) position = idx + 1;
    } else if (el.type === 'ERROR') {
      continue;
    } else {
      name = row.order[position++] ?? null; // positional initializer
    }
    if (!name || !value) continue;
    if (value.type === 'initializer_list') {
      // nested aggregate: `.driver = { .name = "x", .pm = &pm }`
      for (const f of tableFields(value, { ...row, order: [] }, text, loc, guards, prefix + name + '.')) out.push(f);
      continue;
    }
    const v = unwrapValue(value);
    const full = prefix + name;
    const f: TableField = { field: full, role: (prefix ? 'other' : row.roles[name]) ?? 'other', value: squash(text(value)), loc: loc(el) };
    // a function name, not a constant (NULL, THIS_MODULE, SOME_FLAG)
    if (v.type === 'identifier' && !/^[A-Z0-9_]+$/.test(text(v))) f.handler = text(v);
    const g = guards[el.startPosition.row];
    if (g && g.length) f.guards = [...g];
    out.push(f);
  }
  return out;
}

/**
 * Initialised declarations of a known ops struct, in document order: what
 * grammars/c/ops-tables.scm matches, found from the declarations the file walk already has
 * (a query would walk the whole tree once more).
 */
function* tableDeclarations(decls: Node[], ck: CompiledKnowledge, text: (n: Node) => string): Generator<{ structName: string; row: OpsStructRow; decl: Node; declarator: Node; init: Node }> {
  for (const decl of decls) {
    const ty = decl.childForFieldName('type');
    if (!ty || ty.type !== 'struct_specifier') continue;
    const sn = ty.childForFieldName('name');
    if (!sn || sn.type !== 'type_identifier') continue;
    const structName = text(sn);
    const row = ck.structs.get(structName);
    if (!row) continue;
    for (const d of decl.childrenForFieldName('declarator')) {
      if (d.type !== 'init_declarator') continue;
      const declarator = d.childForFieldName('declarator');
      const init = d.childForFieldName('value');
      if (!declarator || !init || init.type !== 'initializer_list') continue;
      yield { structName, row, decl, declarator, init };
    }
  }
}

function findTables(
  decls: Node[], ck: CompiledKnowledge, text: (n: Node) => string, loc: (n: Node) => Loc,
  guards: ReadonlyArray<readonly string[]>,
): OpsTable[] {
  const out: OpsTable[] = [];
  for (const { structName, row, decl, declarator, init } of tableDeclarations(decls, ck, text)) {
    if (declarator.type === 'pointer_declarator') continue;
    const nameNode = declaratorName(declarator);
    if (!nameNode) continue;
    const name = text(nameNode);
    let isStatic = false, isConst = false;
    for (const c of decl.children) {
      if (c.type === 'storage_class_specifier' && text(c) === 'static') isStatic = true;
      if (c.type === 'type_qualifier' && text(c) === 'const') isConst = true;
    }
    const base = { kind: row.kind, struct: structName, name, isStatic, isConst };
    if (declarator.type === 'array_declarator') {
      let index = 0;
      for (const el of init.namedChildren) {
        let list: Node | null = el;
        if (el.type === 'initializer_pair') {
          const sub = el.childrenForFieldName('designator').find((d) => d.type === 'subscript_designator');
          const n = sub ? Number.parseInt(text(sub).replace(/[[\]\s]/g, ''), 10) : NaN;
          if (Number.isFinite(n)) index = n;
          list = el.childForFieldName('value');
        }
        if (!list || list.type !== 'initializer_list') continue;
        const fields = tableFields(list, row, text, loc, guards);
        if (fields.length) out.push({ ...base, index, loc: loc(list), fields });
        index++;
      }
    } else {
      out.push({ ...base, loc: loc(nameNode), fields: tableFields(init, row, text, loc, guards) });
    }
  }
  return out;
}

function splitArgs(args: Node, text: (n: Node) => string): string[] {
  return args.namedChildren.filter((c) => c.type !== 'comment').map((c) => squash(text(c)));
}

/**
 * Top-level `MACRO(args);` read as a call statement or as a declaration: what
 * grammars/c/table-macros.scm matches, from the top-level nodes the file walk already has.
 */
function* macroInvocations(top: Node[]): Generator<{ macroNode: Node; argsNode: Node }> {
  for (const c of top) {
    if (c.type === 'expression_statement') {
      for (const call of c.namedChildren) {
        if (call.type !== 'call_expression') continue;
        const macroNode = call.childForFieldName('function');
        const argsNode = call.childForFieldName('arguments');
        if (macroNode?.type === 'identifier' && argsNode?.type === 'argument_list') yield { macroNode, argsNode };
      }
    } else if (c.type === 'declaration') {
      for (const d of c.childrenForFieldName('declarator')) {
        if (d.type !== 'function_declarator') continue;
        const macroNode = d.childForFieldName('declarator');
        const argsNode = d.childForFieldName('parameters');
        if (macroNode?.type === 'identifier' && argsNode?.type === 'parameter_list') yield { macroNode, argsNode };
      }
    }
  }
}

function findMacroTables(top: Node[], ck: CompiledKnowledge, text: (n: Node) => string, loc: (n: Node) => Loc): OpsTable[] {
  const out: OpsTable[] = [];
  for (const { macroNode, argsNode } of macroInvocations(top)) {
    const row = ck.macros.get(text(macroNode));
    if (!row) continue;
    const st = ck.structs.get(row.struct);
    if (!st) continue;
    const args = splitArgs(argsNode, text);
    const fill = (tpl: string): string => tpl.replace(/\{(\d)\}/g, (_, i: string) => args[Number(i)] ?? '');
    const at = loc(macroNode);
    const fields: TableField[] = Object.entries(row.fields).map(([f, v]) => {
      const value = fill(v);
      const tf: TableField = { field: f, role: st.roles[f] ?? 'other', value, loc: at };
      if (/^[A-Za-z_]\w*$/.test(value) && value !== 'NULL' && value !== 'THIS_MODULE') tf.handler = value;
      return tf;
    });
    // The user's own callbacks the generated code calls (foo_show, get/set): what the developer wrote.
    if (row.macro.includes('SHOW')) fields.push({ field: '(show)', role: 'io', value: `${args[0]}_show`, handler: `${args[0]}_show`, loc: at });
    if (row.macro.includes('SEQ_ATTRIBUTE')) fields.push({ field: '(seq_ops)', role: 'io', value: `${args[0]}_sops`, loc: at });
    if (row.macro.includes('ATTRIBUTE') && args.length >= 3 && !row.macro.includes('SHOW') && !row.macro.includes('SEQ')) {
      for (const [f, a] of [['(get)', args[1]], ['(set)', args[2]]] as const) {
        if (a && a !== 'NULL') fields.push({ field: f, role: 'io', value: a, handler: a, loc: at });
      }
    }
    out.push({ kind: st.kind, struct: row.struct, name: fill(row.name), isStatic: true, isConst: true, loc: at, fields, macro: row.macro });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Effects

const EFFECT_NODE_TYPES = [
  'call_expression', 'declaration', 'assignment_expression', 'return_statement',
  'if_statement', 'while_statement', 'for_statement', 'do_statement', 'case_statement', 'conditional_expression',
  // control flow past early exits (see "Paths past early exits" below)
  'switch_statement', 'goto_statement', 'labeled_statement', 'break_statement', 'continue_statement',
];

/**
 * A condition's text, built only when an effect inside asks for it: most branches hold no
 * effect, and the text costs native calls (the condition's node and its end offset).
 */
class Cond {
  private text: string | null = null;
  private atomText: string | null = null;
  private flipped = false;
  constructor(private make: () => string) {}
  get(): string { return (this.text ??= this.make()); }
  private negText: string | null = null;
  /** `!(text)`, the else branch's condition (one string for all the effects in it). */
  neg(): string { return (this.negText ??= `!(${this.get()})`); }
  /** The test as the simulator's atomOf reads it: `!p` is `p`, flipped. */
  atom(): string {
    if (this.atomText === null) {
      const t = this.get();
      const m = SIMPLE_NOT.exec(t);
      this.atomText = m ? m[1] : t;
      this.flipped = !!m;
    }
    return this.atomText;
  }
  flip(): boolean { this.atom(); return this.flipped; }
  /** The atom as a number (ATOM_IDS), and a literal's as a signed one (litKey). */
  private aid = 0;
  /** `+id` when the literal holds the atom true, `-id` when false: same atom and polarity is the same key. */
  key(neg: boolean): number {
    if (!this.aid) {
      const a = this.atom();
      let id = ATOM_IDS.get(a);
      if (id === undefined) ATOM_IDS.set(a, (id = ATOM_IDS.size + 1));
      this.aid = id;
    }
    return neg !== this.flipped ? this.aid : -this.aid;
  }
}
/** Condition atoms by text, numbered (per file: literals are only compared within a function). */
const ATOM_IDS = new Map<string, number>();
/** `!p` is the test `p` false (as the simulator's atomOf reads it): one atom, two ways. */
const SIMPLE_NOT = /^!([\w\->.()*&[\]@]+)$/;

interface Region {
  start: number;
  end: number;
  cond: Cond;
  /** The else branch: the text is `!(cond)`. */
  negate: boolean;
  /** The condition as a pointer test the simulator can decide. */
  guard?: { path: Term; nonnull: boolean };
  /** The condition as a value or predicate test (EffectGuard.value / pred), read when an effect asks. */
  vguard?: ValueTest;
  /** The EffectGuard made of this region at each position in an effect's condition list (guardsAt). */
  memo?: EffectGuard[];
}

// ---------------------------------------------------------------------------------------------
// Paths past early exits
//
// Branch conditions are regions (an effect inside `if (c) { ... }` has `c` in its `cond`). What
// an early exit does to the code after it is not a region: after `if (ret) goto out;` the code
// runs only when `ret` was false, and the code at `out:` runs when it was true or when the
// fall-through got there. The walker keeps that as a path condition over the exits' tests, in
// disjunctive normal form, and hands each effect what it adds to the effect's own branches
// (Effect.reach, and guards for pointer tests the simulator decides from state).

/** A test on the way to a point: an `if` condition, true or false. */
interface Lit {
  c: Cond;
  neg: boolean;
  /** A pointer test: what it says about the path when this literal holds. */
  g?: { path: Term; nonnull: boolean };
  /** A value or predicate test: what it says when this literal holds (never weak: not a pointer test). */
  v?: ValueTest;
  /** `if (!t) return;` with nothing else in the branch: a guard the state decides, never a variant (as before). */
  weak?: boolean;
  /** The exit it comes from was not taken (or the operation it is about succeeded): the straight line. */
  pass?: boolean;
}
/** `path == value`, `path != value` or `pred(path)`, as EffectGuard has them (without `cond`). */
type VG = { path: Term; nonnull: boolean; value?: string; pred?: string };
/** A value test read on demand (most conditions never reach an effect), and its negation. */
class ValueTest {
  private got: VG | null | undefined;
  constructor(private read: () => VG | null, private flip = false, private base?: ValueTest) {}
  get(): VG | null {
    if (this.got !== undefined) return this.got;
    const g = this.base ? this.base.get() : this.read();
    return (this.got = g && this.flip ? { ...g, nonnull: !g.nonnull } : g);
  }
  not(): ValueTest { return new ValueTest(this.read, !this.flip, this.base ?? this); }
}
/** An enumerator-like constant: `MEI_FILE_CONNECTED`, `CC_INITIALIZING` (not NULL). */
const CONST_NAME = /^[A-Z][A-Z0-9_]*[A-Z0-9]$/;
const isConstName = (t: string): boolean => CONST_NAME.test(t) && t !== 'NULL';

/** A disjunction of conjunctions: [] nowhere (dead code), [[]] everywhere. */
type Dnf = Lit[][];
const ALWAYS: Dnf = [[]];
/** Bounds on a path condition; past them it is weakened (literals dropped: more paths, never fewer). */
const MAX_CONJ = 8;
const MAX_LITS = 16;

const atomKey = (l: Lit): string => l.c.atom();
/** Same atom and polarity: the same key; same atom, other polarity: the opposite key. */
const litKey = (l: Lit): number => l.c.key(l.neg);
const has = (conj: Lit[], l: Lit): boolean => { const k = litKey(l); for (const x of conj) if (litKey(x) === k) return true; return false; };

function capConj(conj: Lit[]): Lit[] {
  // keep the closest tests: the exits right above a cleanup matter more than the first ones
  return conj.length > MAX_LITS ? conj.slice(conj.length - MAX_LITS) : conj;
}

/** `d ∧ l`. */
function andLit(d: Dnf, l: Lit): Dnf {
  const out: Dnf = [];
  for (const conj of d) {
    let dup = false;
    let contra = false;
    const k = litKey(l);
    for (const x of conj) { const kx = litKey(x); if (kx === k) dup = true; else if (kx === -k) contra = true; }
    if (contra) continue;
    out.push(dup ? conj : capConj([...conj, l]));
  }
  return out;
}

function orDnf(a: Dnf, b: Dnf): Dnf {
  if (a === b || !b.length) return a;
  if (!a.length) return b;
  return simplify([...a, ...b]);
}

/** Absorption and (self-subsuming) resolution: `x ∨ (!x ∧ y)` is `x ∨ y`, `(x ∧ y) ∨ (!x ∧ y)` is `y`. */
function simplify(d: Dnf): Dnf {
  // on literal keys (litKey): same key, same test; opposite keys, the test and its negation.
  // (plain loops over the small key arrays: this runs at every join of paths)
  let cs = d.slice();
  let ks: number[][] = new Array<number[]>(cs.length);
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i];
    const k = new Array<number>(c.length);
    for (let x = 0; x < c.length; x++) k[x] = litKey(c[x]);
    ks[i] = k;
  }
  for (let round = 0; round < 16; round++) {
    let changed = false;
    for (let i = 0; i < cs.length; i++) if (cs[i].length === 0) return ALWAYS;
    // absorption: a conjunction that contains another one adds nothing
    const kept: Dnf = [];
    const keptK: number[][] = [];
    for (let i = 0; i < cs.length; i++) {
      const kc = ks[i];
      let absorbed = false;
      for (let j = 0; j < cs.length && !absorbed; j++) {
        const o = ks[j];
        if (j !== i && o.length <= kc.length && (o.length < kc.length || j < i) && subsetK(o, kc)) absorbed = true;
      }
      if (absorbed) changed = true; else { kept.push(cs[i]); keptK.push(kc); }
    }
    cs = kept;
    ks = keptK;
    // resolution: a = S ∧ l, b = T ∧ !l with S ⊆ T: b loses !l
    outer: for (let i = 0; i < cs.length; i++) {
      for (let j = 0; j < cs.length; j++) {
        if (i === j) continue;
        const ka = ks[i], kb = ks[j];
        let clash = -1;
        let clashes = 0;
        for (let x = 0; x < ka.length; x++) {
          const neg = -ka[x];
          for (let y = 0; y < kb.length; y++) if (kb[y] === neg) { clashes++; clash = x; break; }
        }
        if (clashes !== 1) continue;
        const a = cs[i];
        const l = a[clash];
        let rest = true; // every other literal of a (by object) is in b
        for (let x = 0; x < ka.length && rest; x++) if (a[x] !== l && !inK(kb, ka[x])) rest = false;
        if (!rest) continue;
        const drop = -ka[clash];
        const b = cs[j];
        const nb: Lit[] = [];
        const nkb: number[] = [];
        for (let x = 0; x < kb.length; x++) if (kb[x] !== drop) { nb.push(b[x]); nkb.push(kb[x]); }
        cs[j] = nb;
        ks[j] = nkb;
        changed = true;
        break outer;
      }
    }
    if (!changed) break;
  }
  for (let i = 0; i < cs.length; i++) if (cs[i].length === 0) return ALWAYS;
  if (cs.length > MAX_CONJ) {
    // too many ways in: keep what they all share
    const k0 = ks[0];
    const common: Lit[] = [];
    for (let x = 0; x < k0.length; x++) {
      let all = true;
      for (let i = 1; i < ks.length && all; i++) if (!inK(ks[i], k0[x])) all = false;
      if (all) common.push(cs[0][x]);
    }
    return [common];
  }
  return cs;
}

function inK(a: number[], k: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] === k) return true;
  return false;
}

function subsetK(a: number[], b: number[]): boolean {
  outer: for (let i = 0; i < a.length; i++) {
    const k = a[i];
    for (let j = 0; j < b.length; j++) if (b[j] === k) continue outer;
    return false;
  }
  return true;
}

type Scope =
  /** an `if`: phase 0 its condition, 1 the consequence, 2 the alternative */
  | { k: 'if'; end: number; cs: number; ce: number; ae: number; phase: number; before: Dnf; consOut: Dnf | null; lit: Lit; node: Node | null; fx: number; consFx: number; success?: { neg: boolean; implied?: Lit };
      /** inside the branch where a result says success, what that success implies (not part of R: it ends with the branch) */
      extra?: { phase: number; lit: Lit; base?: Dnf; d?: Dnf } }
  | { k: 'loop'; end: number; before: Dnf }
  | { k: 'switch'; end: number; entry: Dnf; out: Dnf; hasDefault: boolean;
      /** the switch's subject (source text), and the labels whose code falls through into the next case */
      subject: string; carry: string[]; node: Node | null }
  /** a `return` whose expression is still being walked */
  | { k: 'ret'; end: number };

/** Effects whose success a later test of their result decides (`n = pin_user_pages...; if (n < 0)`). */
const OUTCOME_KINDS = new Set<EffectKind>(['pin', 'setLease', 'asyncArm']);
const ERROR_VALUE = /^-\s*(?:E[A-Z0-9_]+|\d+)$/;

/** [A-Za-z0-9_$]: what `\w` and `$` match. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
}

interface VersionedNames { ord: number; last: string; names: string[]; seen: boolean }
/** Identifier-like tokens of a condition's text (see EffectWalker.versioned). */
const ID = /[A-Za-z_$][\w$]*/g;

const MAX_COND = 80;
const clip = (s: string): string => (s.length > MAX_COND ? s.slice(0, MAX_COND - 1) + '…' : s);

/**
 * One array per distinct sequence of elements (compared with ===; strings by value): the
 * interned copy is cut to its length. A sequence's key is its elements' numbers, so looking
 * up a one-element list builds no string.
 */
class ListTable<T> {
  private ids = new Map<T, number>();
  private ones = new Map<number, T[]>();
  private many = new Map<string, T[]>();
  private id(x: T): number {
    let i = this.ids.get(x);
    if (i === undefined) this.ids.set(x, (i = this.ids.size));
    return i;
  }
  intern(list: T[]): T[] {
    if (list.length === 1) {
      const i = this.id(list[0]);
      let had = this.ones.get(i);
      if (!had) this.ones.set(i, (had = list.slice()));
      return had;
    }
    let k = '';
    for (const x of list) k += this.id(x) + ',';
    let had = this.many.get(k);
    if (!had) this.many.set(k, (had = list.slice()));
    return had;
  }
}

/** The `args` of every call without arguments, and the `locals` of every function without any (shared: frozen). */
const NO_ARGS: (Term | null)[] = Object.freeze([]) as unknown as (Term | null)[];
const NO_LOCALS: Param[] = Object.freeze([]) as unknown as Param[];
/** The `cond` of every effect under no branch (shared: frozen, nothing may add to it). */
const NO_CONDS: string[] = Object.freeze([]) as unknown as string[];

class EffectWalker {
  private env = new Map<string, Term>();
  private params = new Map<string, number>();
  private localNames = new Set<string>();
  private localTypes = new Map<string, string>();
  private allocated = new Map<string, string>(); // local -> site
  private escapes = new Map<string, Term>(); // local -> first non-local path it was stored into
  private escapedAt = new Map<string, Loc>(); // local -> where that store is
  private regions: Region[] = [];
  /** What each local was assigned (nodes), read only when a pin asks (gup_flags |= FOLL_LONGTERM). */
  private assigned = new Map<string, Node[]>();
  private handled = new Set<number>(); // call nodes already consumed (alloc values)
  /** Locals holding what a (non-API) call returned: where they are stored is where the callee's object goes. */
  private callResults = new Set<string>();
  /** One-entry memos: a call node is asked for its callee and arguments several times in a row. */
  private partsOf: Node | null = null;
  private partsBoth = false;
  private partFn: Node | null = null;
  private partArgs: Node | null = null;
  private calleeNode: Node | null = null;
  private calleeName: string | null = null;
  private argsNode: Node | null = null;
  private argsList: Node[] = [];
  /** The path condition at the current node (see "Paths past early exits" above), and the open scopes that change it. */
  private R: Dnf = ALWAYS;
  private scopes: Scope[] = [];
  private gotoIn = new Map<string, Dnf>();
  /** What each R turns into on an effect (memoised: many effects share one path condition). */
  private reachMemo = new WeakMap<Dnf, { reach?: ReachLit[][]; guards: NonNullable<Effect['guards']> }>();
  /** Locals holding an operation's result, not yet tested: the effects it made and where they were. */
  /** Locals holding what a pin call returned (the number of pages pinned), until reassigned. */
  private pinCounts = new Set<string>();
  private results = new Map<string, { pin: boolean; fx: { e: Effect; d: Dnf }[]; call?: Effect }>();
  /** Call effects by the call node's offset (a condition that is the call: `if (f(...)) goto err;`). */
  private callAt = new Map<number, Effect>();
  /** `ret = x ? call() : -EBADF`: when `ret` says success, `x` held. */
  private implied = new Map<string, Lit>();
  /** Calls that are an arm of such a ternary: their effects are the local's result. */
  private resultCalls = new Map<number, string>();
  /**
   * Where each local, and each path the function stores to (`ctx->data`), is assigned (offsets, in
   * order), and from which assignment on a test sees a value of this function's own: the second
   * for a local (its first is its initialisation), the first for a path or a parameter.
   */
  private assignAt = new Map<string, { offs: number[]; from: number }>();
  private reassigned = false;
  /** Names assigned again, by their last identifier (`data` for `ctx->data`), in the order they became so. */
  private versionedByLast = new Map<string, VersionedNames>();
  /** The entries whose last part is not an identifier (`a[0]`): tried by substring, as before. */
  private oddLasts: VersionedNames[] = [];
  /** The path condition each effect was emitted under (for promote), and the weak tests to promote. */
  private effD = new Map<Effect, Dnf>();
  private promoted = new Set<string>();
  /** Effects emitted so far, `return` not counted: whether an exit's branch does anything but leave. */
  private fx = 0;
  /** Locals last set to an error constant (`err = -ENOMEM;`), where. */
  private errAt = new Map<string, number>();

  constructor(
    private fn: FunctionFacts,
    /** The file's effect nodes; this function's are [from, to). */
    private nodes: Node[],
    private from: number,
    private to: number,
    private ck: CompiledKnowledge,
    private s: SourceText,
    private shared: FileShare,
    private loc: (n: Node) => Loc,
    private locTo: (n: Node, end: number) => Loc,
  ) {
    fn.params.forEach((p, i) => { if (p.name) this.params.set(p.name, i); });
  }

  private text(n: Node): string { return this.s.text(n); }
  /** `text(n) === 'NULL'`, without the native call when the text cannot start with it. */
  private isNullText(n: Node): boolean { return this.s.src.startsWith('NULL', n.startIndex) && this.text(n) === 'NULL'; }

  run(): void {
    const nodes = this.nodes;
    for (let i = this.from; i < this.to; i++) {
      const n = nodes[i];
      const s = n.startIndex;
      if (this.regions.length) {
        let live = 0;
        for (const r of this.regions) if (r.end > s) live++;
        if (live < this.regions.length) this.regions = this.regions.filter((r) => r.end > s);
      }
      if (this.scopes.length) this.advance(s);
      switch (n.type) {
        case 'if_statement': this.ifRegions(n); break;
        case 'while_statement': case 'for_statement': case 'do_statement': this.loopRegion(n); break;
        case 'case_statement': this.caseRegion(n); this.caseEntry(n); break;
        case 'conditional_expression': this.ternaryRegions(n); break;
        case 'declaration': this.declaration(n); break;
        case 'assignment_expression': this.assignment(n); break;
        case 'return_statement': this.ret(n); this.scopes.push({ k: 'ret', end: this.s.end(n) }); break;
        case 'call_expression': if (!this.handled.has(s)) this.call(n, null); break;
        case 'switch_statement': this.switchScope(n); break;
        case 'goto_statement': this.jump(n); break;
        case 'labeled_statement': this.label(n); break;
        case 'break_statement': this.brk(); break;
        case 'continue_statement': this.R = []; break;
      }
    }
    if (this.promoted.size) this.promote();
    this.resolveEscapes();
    this.share();
  }

  /**
   * One object per distinct term, guard and condition list among this function's effects
   * (TermTable): the walk builds a fresh term at every mention, and most of them are the same
   * few paths. Nothing mutates effects' parts after this, so sharing them is safe. The lists
   * kept are copied to their length: an array grown by `push` from empty holds 17 slots.
   */
  private share(): void {
    const { terms, conds, conjs, passLits, failLits, oneArg } = this.shared;
    const guardLists = new ListTable<EffectGuard>();
    const reaches = new Map<ReachLit[][], ReachLit[][]>();
    const guardsDone = new Set<EffectGuard>();
    for (const e of this.fn.effects) {
      if (e.path) e.path = terms.intern(e.path);
      if (e.value) e.value = terms.intern(e.value);
      if (e.result) e.result = terms.intern(e.result);
      if (e.args) {
        if (!e.args.length) e.args = NO_ARGS;
        else if (e.args.length === 1) {
          const a = e.args[0] && terms.intern(e.args[0]);
          const had = oneArg.get(a);
          if (had) e.args = had; else { e.args[0] = a; oneArg.set(a, e.args); }
        } else for (let i = 0; i < e.args.length; i++) { const a = e.args[i]; if (a) e.args[i] = terms.intern(a); }
      }
      e.cond = e.cond.length ? conds.intern(e.cond) : NO_CONDS;
      if (e.reach) {
        // (reach lists are already one per path condition: share their conjunctions and literals)
        const had = reaches.get(e.reach);
        if (had) e.reach = had;
        else {
          const r = e.reach.slice();
          reaches.set(e.reach, r);
          e.reach = r;
          for (let i = 0; i < r.length; i++) {
            const conj = r[i];
            for (let j = 0; j < conj.length; j++) {
              const l = conj[j];
              const lits = l.pass ? passLits : failLits;
              const hl = lits.get(l.c);
              if (hl) conj[j] = hl; else lits.set(l.c, l);
            }
            r[i] = conjs.intern(conj);
          }
        }
      }
      if (e.guards) {
        // (guard objects are one per region and position already, see guardsAt; equal ones
        // from different regions stay apart, which only costs an object)
        for (const g of e.guards) if (!guardsDone.has(g)) { guardsDone.add(g); g.path = terms.intern(g.path); }
        e.guards = guardLists.intern(e.guards);
      }
    }
    // (arrays grown by push keep up to half again their length, at least 16 slots, unused)
    this.fn.effects = this.fn.effects.slice();
    this.fn.locals = this.fn.locals.length ? this.fn.locals.slice() : NO_LOCALS;
  }

  // --- control structure -> conditions
  private condAt(off: number): string[] {
    const out: string[] = [];
    for (const r of this.regions) {
      if (r.start <= off && off < r.end) out.push(r.negate ? r.cond.neg() : r.cond.get());
    }
    return out;
  }
  private guardsAt(off: number): NonNullable<Effect['guards']> {
    const out: NonNullable<Effect['guards']> = [];
    let i = 0;
    for (const r of this.regions) {
      if (!(r.start <= off && off < r.end)) continue;
      // (one guard object per region and position, shared by the effects under it)
      const had = r.memo?.[i];
      if (had) out.push(had);
      else if (r.guard) out.push(((r.memo ??= [])[i] = { cond: i, ...r.guard }));
      else if (r.vguard) { const v = r.vguard.get(); if (v) out.push(((r.memo ??= [])[i] = { cond: i, ...v })); }
      i++;
    }
    return out;
  }
  /** `x`, `t->of`, `!x`, `x == NULL`, `x != NULL`: a pointer test on an access path. */
  private guardOf(n: Node | null, depth = 0): { path: Term; nonnull: boolean } | null {
    if (!n || depth > 8) return null;
    switch (n.type) {
      case 'parenthesized_expression': { const inner = this.s.inner(n); return inner ? this.guardOf(inner, depth + 1) : null; }
      case 'identifier': case 'field_expression': {
        // `if (ret)` on an `int` is not a pointer test (only declared types are known: fields pass)
        if (n.type === 'identifier' && !this.mayBePointer(this.s.ident(n))) return null;
        const t = this.term(n);
        return t && t.t !== 'null' ? { path: t, nonnull: true } : null;
      }
      case 'unary_expression': {
        if (!this.isNot(n)) return null;
        const g = this.guardOf(n.childForFieldName('argument'), depth + 1);
        return g && { path: g.path, nonnull: !g.nonnull };
      }
      case 'binary_expression': {
        const eq = this.equality(n);
        if (!eq) return null;
        const { o, l, r } = eq;
        const isNull = (x: Node | null) => !!x && (x.type === 'null' || this.isNullText(x));
        const side = isNull(r) ? l : isNull(l) ? r : null;
        if (!side) return null;
        const t = this.term(side);
        return t && t.t !== 'null' ? { path: t, nonnull: o === '!=' } : null;
      }
      default: return null;
    }
  }
  /**
   * `cl->state == CONST`, `cl->state != CONST`, `!pred(cl)`: a test of a field's value against an
   * enumerator-like constant, or of a one-argument predicate (read through its definition by the
   * simulator). Not a pointer test (guardOf): only the simulator's value tracking decides these.
   */
  private valueTestOf(n: Node | null, depth = 0): VG | null {
    if (!n || depth > 8) return null;
    switch (n.type) {
      case 'parenthesized_expression': { const inner = this.s.inner(n); return inner ? this.valueTestOf(inner, depth + 1) : null; }
      case 'unary_expression': {
        if (!this.isNot(n)) return null;
        const g = this.valueTestOf(n.childForFieldName('argument'), depth + 1);
        return g && { ...g, nonnull: !g.nonnull };
      }
      case 'binary_expression': {
        const eq = this.equality(n);
        if (!eq) return null;
        const { o, l, r } = eq;
        if (!l || !r) return null;
        const konst = (x: Node) => x.type === 'identifier' && isConstName(this.s.ident(x));
        const [side, c] = konst(r) ? [l, r] : konst(l) ? [r, l] : [null, null];
        if (!side || !c || side.type !== 'field_expression') return null;
        const t = this.term(side);
        return t && t.t === 'field' ? { path: t, nonnull: o === '==', value: this.s.ident(c) } : null;
      }
      case 'call_expression': {
        const name = this.callee(n);
        if (!name || isConstName(name)) return null;
        const a = this.args(n);
        if (a.length !== 1) return null;
        const t = this.term(a[0]);
        return t && t.t !== 'null' ? { path: t, nonnull: true, pred: name } : null;
      }
      default: return null;
    }
  }
  /** A unary expression is `!x` (in a clean function the operator is the node's first token). */
  private isNot(n: Node): boolean {
    if (this.s.clean) return this.s.norm[n.startIndex] === '!';
    const op = n.childForFieldName('operator');
    return !!op && this.s.token(op) === '!';
  }
  /** `l == r` or `l != r`: the operator and both sides; null for any other binary expression. */
  private equality(n: Node): { o: '==' | '!='; l: Node | null; r: Node | null } | null {
    const k = this.tri(n);
    const op = k ? k[1] : n.childForFieldName('operator');
    const o = op ? this.s.token(op) : '';
    if (o !== '==' && o !== '!=') return null;
    return { o, l: k ? k[0] : n.childForFieldName('left'), r: k ? k[2] : n.childForFieldName('right') };
  }
  private mayBePointer(name: string): boolean {
    const pi = this.params.get(name);
    const ty = pi !== undefined && !this.localNames.has(name) ? this.fn.params[pi].type : this.localTypes.get(name);
    return ty === undefined || /[*[]/.test(ty);
  }
  private condText(n: Node | null): string {
    if (!n) return '?';
    let t = squash(this.text(n));
    if (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1).trim();
    if (this.reassigned) t = this.versioned(t, n.startIndex);
    return clip(t);
  }
  /**
   * A value assigned again before this test is another value: `ret@88` is `ret` as line 88 set
   * it, `ctx->data@71` the field after this function stored to it, so the variants do not tie
   * two tests of different values together (see assignAt for where numbering starts).
   */
  private versioned(t: string, at: number): string {
    // the names assigned again, by their last identifier (`data` for `ctx->data`): a test names
    // few. A name is replaced only where its last identifier is a whole identifier of the test
    // (the pattern in `version`), and replacing adds only `@line`, so the test's identifiers
    // pick the entries to try; they are tried in the order the names became versioned.
    const byLast = this.versionedByLast;
    let pick: VersionedNames[] | null = null;
    ID.lastIndex = 0;
    for (let m = ID.exec(t); m; m = ID.exec(t)) {
      const e = byLast.get(m[0]);
      if (e && !e.seen) { e.seen = true; (pick ??= []).push(e); }
    }
    for (const e of this.oddLasts) if (t.includes(e.last)) (pick ??= []).push(e);
    if (!pick) return t;
    for (const e of pick) e.seen = false;
    if (pick.length > 1) pick.sort((a, b) => a.ord - b.ord);
    for (const e of pick) for (const name of e.names) t = this.version(t, name, at);
    return t;
  }
  private version(t: string, name: string, at: number): string {
    if (!t.includes(name)) return t;
    const a = this.assignAt.get(name)!;
    // how many assignments come before `at` (offsets are in walk order, never decreasing)
    const offs = a.offs;
    let lo = 0, hi = offs.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (offs[mid] < at) lo = mid + 1; else hi = mid; }
    const k = lo;
    if (k < a.from) return t;
    // `name` where it is not part of a longer name: not after [\w.>$], not before [\w$] (a
    // pattern per name cost a regular expression compilation per name and function)
    let out = '';
    let from = 0;
    let line = '';
    for (let i = t.indexOf(name); i >= 0; i = t.indexOf(name, i + 1)) {
      const b = i > 0 ? t.charCodeAt(i - 1) : -1;
      if (b >= 0 && (isWordChar(b) || b === 46 /* . */ || b === 62 /* > */)) continue;
      const e = i + name.length;
      if (e < t.length && isWordChar(t.charCodeAt(e))) continue;
      line ||= `@${this.s.lineOf(offs[k - 1])}`;
      out += t.slice(from, e) + line;
      from = e;
      i = e - 1;
    }
    return line ? out + t.slice(from) : t;
  }
  private ifRegions(n: Node): void {
    // `if`, condition, consequence, else_clause: one native call in a clean function
    let k: Node[] | null = this.s.clean ? this.kids(n) : null;
    if (k && !(k[0]?.type === 'if' && (k.length === 3 || (k.length === 4 && k[3].type === 'else_clause')))) k = null;
    const condNode = k ? k[1] : n.childForFieldName('condition');
    const c = new Cond(() => this.condText(condNode));
    const g = this.guardOf(condNode);
    const neg = g ? { path: g.path, nonnull: !g.nonnull } : undefined;
    const vt = g ? undefined : new ValueTest(() => this.valueTestOf(condNode));
    const cons = k ? k[2] : n.childForFieldName('consequence');
    const alt = k ? k[3] ?? null : n.childForFieldName('alternative');
    const consEnd = cons ? this.s.end(cons) : -1;
    const altEnd = alt ? this.s.end(alt) : -1;
    if (cons) this.regions.push({ start: cons.startIndex, end: consEnd, cond: c, negate: false, ...(g ? { guard: g } : { vguard: vt }) });
    if (alt) this.regions.push({ start: alt.startIndex, end: altEnd, cond: c, negate: true, ...(neg ? { guard: neg } : { vguard: vt!.not() }) });
    if (!cons) return;
    const lit: Lit = { c, neg: false, ...(g ? { g } : { v: vt }) };
    const sc: Scope = {
      k: 'if', end: alt ? altEnd : consEnd, cs: cons.startIndex, ce: consEnd, ae: alt ? altEnd : -1,
      phase: 0, before: this.R, consOut: null, lit, node: condNode, fx: this.fx, consFx: 0,
    };
    // a test of an operation's result: the operation happened only when the test says success
    if (this.results.size || this.implied.size) {
      const t = this.outcomeTest(c);
      const r0 = t && this.results.get(t.name);
      if (t && r0?.call) {
        // a callee's result: pointers fail when NULL or an error pointer, numbers when not 0 (or < 0)
        const failWhenTrue = this.mayBePointer(t.name) ? t.ptr : t.plain;
        if (failWhenTrue !== null) {
          r0.call.failedIf = failWhenTrue ? c.get() : `!(${c.get()})`;
          // the callee's cleanup will be tied to this test: the code past it must carry it too
          if (g) this.promoted.add(c.atom());
        }
        this.results.delete(t.name);
      } else if (t) {
        const r = this.results.get(t.name);
        const failWhenTrue = r?.pin ? t.pin : t.plain;
        if (failWhenTrue !== null && failWhenTrue !== undefined) {
          const ok: Lit = { c, neg: failWhenTrue, pass: true, ...(g ? { g: failWhenTrue ? neg! : g } : {}) };
          if (r) {
            for (const x of r.fx) this.setReach(x.e, andLit(x.d, ok));
            this.results.delete(t.name);
          }
          const implied = this.implied.get(t.name);
          sc.success = { neg: failWhenTrue, ...(implied ? { implied } : {}) };
          if (implied) sc.extra = { phase: failWhenTrue ? 2 : 1, lit: implied };
        }
      }
    }
    this.scopes.push(sc);
  }
  /**
   * `n < 0`, `!ret`, `err`, `ret >= 0` on a local holding a result: which way is failure. For a
   * pin (a count) `pin`; for an errno-or-0 result `plain`; null where the form does not say.
   */
  private outcomeTest(c: Cond): { name: string; pin: boolean | null; plain: boolean | null; ptr: boolean | null } | null {
    const t = c.get().replace(/@\d+/g, '');
    const known = (n: string) => this.results.has(n) || this.implied.has(n);
    let m = /^(!?)\s*\(?\s*([A-Za-z_]\w*)\s*\)?$/.exec(t);
    if (m) {
      if (!known(m[2])) return null;
      return m[1] ? { name: m[2], pin: true, plain: false, ptr: true } : { name: m[2], pin: null, plain: true, ptr: false };
    }
    // an error pointer (a pointer result only)
    m = /^(!?)\s*IS_ERR(?:_OR_NULL)?\s*\(\s*([A-Za-z_]\w*)\s*\)$/.exec(t);
    if (m) return known(m[2]) ? { name: m[2], pin: null, plain: null, ptr: !m[1] } : null;
    m = /^([A-Za-z_]\w*)\s*(==|!=)\s*NULL$/.exec(t);
    if (m) return known(m[1]) ? { name: m[1], pin: null, plain: null, ptr: m[2] === '==' } : null;
    m = /^([A-Za-z_]\w*)\s*(<=|>=|==|!=|<|>)\s*0$/.exec(t);
    if (!m || !known(m[1])) return null;
    switch (m[2]) {
      case '<': return { name: m[1], pin: true, plain: true, ptr: null };
      case '<=': return { name: m[1], pin: true, plain: null, ptr: null };
      case '>=': return { name: m[1], pin: false, plain: false, ptr: null };
      case '>': return { name: m[1], pin: false, plain: null, ptr: null };
      case '==': return { name: m[1], pin: true, plain: false, ptr: null };
      default: return { name: m[1], pin: null, plain: true, ptr: null };
    }
  }
  private loopRegion(n: Node): void {
    const b = n.childForFieldName('body');
    if (!b) return;
    // exits inside a loop body shape the rest of the body; after the loop, paths are as before it
    const bEnd = this.s.end(b);
    this.scopes.push({ k: 'loop', end: bEnd, before: this.R });
    if (n.type === 'do_statement') return; // the body of a do-while always runs once
    // the source text (not the normalised one): `list_for_each_entry(...)` rather than `while`
    const from = n.startIndex, to = b.startIndex;
    const c = new Cond(() => clip(`loop: ${squash(this.s.src.slice(from, to))}`));
    this.regions.push({ start: b.startIndex, end: bEnd, cond: c, negate: false });
  }
  /**
   * A case's code runs when the subject matches one of the labels that lead to it: its own and
   * those of the cases before it that fall through (an empty `case A:` above it, or code with no
   * break). The condition names the switch and that label set, `switch (cmd): case A; case B`,
   * so that variants can take the cases of one switch as exclusive (disjoint label sets).
   */
  private caseRegion(n: Node): void {
    let sw: Extract<Scope, { k: 'switch' }> | undefined;
    for (let i = this.scopes.length - 1; i >= 0 && !sw; i--) { const sc = this.scopes[i]; if (sc.k === 'switch') sw = sc; }
    const v = n.childForFieldName('value');
    const own = v ? `case ${squash(this.text(v))}` : 'default';
    const labels = sw ? [...sw.carry, own] : [own];
    if (sw) sw.carry = fallsThrough(n, v) ? labels : [];
    const subject = sw?.subject ?? '';
    const c = new Cond(() => (subject ? `switch (${subject}): ${labels.join('; ')}` : labels.join('; ')));
    // one label on a field's value (`switch (cl->state) { case MEI_FILE_INITIALIZING:`): a value test
    const konst = labels.length === 1 && v && v.type === 'identifier' ? this.s.ident(v) : '';
    const subj = sw?.node ?? null;
    const vguard = konst && isConstName(konst) && subj ? new ValueTest(() => {
      const inner = subj.type === 'parenthesized_expression' ? this.s.inner(subj) : subj;
      const t = inner && inner.type === 'field_expression' ? this.term(inner) : null;
      return t && t.t === 'field' ? { path: t, nonnull: true, value: konst } : null;
    }) : undefined;
    this.regions.push({ start: n.startIndex, end: n.endIndex, cond: c, negate: false, ...(vguard ? { vguard } : {}) });
  }
  private ternaryRegions(n: Node): void {
    const c = new Cond(() => this.condText(n.childForFieldName('condition')));
    const a = n.childForFieldName('consequence');
    const b = n.childForFieldName('alternative');
    if (a) this.regions.push({ start: a.startIndex, end: a.endIndex, cond: c, negate: false });
    if (b) this.regions.push({ start: b.startIndex, end: b.endIndex, cond: c, negate: true });
  }

  // --- paths past early exits (see "Paths past early exits" above)
  /** Close the scopes that end before `o`, and step `if`s into their branches. */
  private advance(o: number): void {
    for (;;) {
      const top = this.scopes[this.scopes.length - 1];
      if (!top) return;
      switch (top.k) {
        case 'ret':
          if (o < top.end) return;
          this.scopes.pop();
          this.R = [];
          continue;
        case 'loop':
          if (o < top.end) return;
          this.scopes.pop();
          this.R = top.before;
          continue;
        case 'switch':
          if (o < top.end) return;
          this.scopes.pop();
          // after the switch: from the last case, from every break, and past it when no case matched
          this.R = orDnf(orDnf(this.R, top.out), top.hasDefault ? [] : top.entry);
          continue;
        case 'if':
          if (top.phase === 0) { if (o < top.cs) return; top.phase = 1; top.fx = this.fx; continue; }
          if (top.phase === 1) {
            if (o < top.ce) return;
            top.consOut = this.R;
            top.consFx = this.fx;
            if (top.ae >= 0) { top.phase = 2; this.R = top.before; continue; }
            this.scopes.pop();
            this.mergeIf(top, top.before, top.consFx);
            continue;
          }
          if (o < top.ae) return;
          this.scopes.pop();
          this.mergeIf(top, this.R, this.fx);
          continue;
      }
    }
  }
  private mergeIf(sc: Extract<Scope, { k: 'if' }>, altOut: Dnf, altFx: number): void {
    const a = sc.consOut!;
    const before = sc.before;
    if (a === before && altOut === before) { this.R = before; return; }
    const pos = sc.lit;
    const negLit: Lit = { c: pos.c, neg: true, ...(pos.g ? { g: { path: pos.g.path, nonnull: !pos.g.nonnull } } : pos.v ? { v: pos.v.not() } : {}) };
    // the sibling of a branch that never falls through is the straight line past an exit; a
    // pointer exit with nothing else in it stays a guard (the state decides it, as it always did)
    const consExits = !a.length, altExits = sc.ae >= 0 && !altOut.length;
    const mark = (l: Lit, exitFx: boolean): Lit => ({ ...l, pass: true, ...(l.g && !exitFx ? { weak: true } : {}) });
    // past `if (a || b) return;` both `a` and `b` were false: separate tests (pointer ones the state decides)
    const past = (d: Dnf, whole: Lit, op: '||' | '&&', exitFx: boolean): Dnf => {
      const parts = this.parts(sc.node, op);
      if (parts.length < 2) return andLit(d, mark(whole, exitFx));
      let r = d;
      for (const n of parts) {
        const g = this.guardOf(n);
        const pos1 = op === '&&';
        const vt = g ? undefined : new ValueTest(() => this.valueTestOf(n));
        r = andLit(r, mark({ c: new Cond(() => this.condText(n)), neg: !pos1, ...(g ? { g: pos1 ? g : { path: g.path, nonnull: !g.nonnull } } : { v: pos1 ? vt : vt!.not() }) }, exitFx));
      }
      return r;
    };
    if (consExits && !altExits) this.directCallTest(sc);
    const ca = !a.length ? [] : altExits && !consExits ? past(a, pos, '&&', altFx > sc.consFx) : andLit(a, pos);
    const cb = !altOut.length ? [] : consExits && !altExits ? past(altOut, negLit, '||', sc.consFx > sc.fx) : andLit(altOut, negLit);
    let r = orDnf(ca, cb);
    // `ret = x ? call() : -EBADF; if (ret) return ret;`: going on means x held
    const s = sc.success;
    if (s?.implied && r.length && ((consExits && s.neg) || (altExits && !s.neg))) r = andLit(r, s.implied);
    this.R = r;
  }
  /**
   * `if (f(...)) goto err;`, `if (f(...) < 0) return ...;`: the exit says f failed (a call whose
   * result is the test itself; a local holding it is handled by outcomeTest).
   */
  private directCallTest(sc: Extract<Scope, { k: 'if' }>): void {
    let n = sc.node;
    for (let i = 0; n && n.type === 'parenthesized_expression' && i < 4; i++) n = this.s.inner(n);
    if (!n) return;
    let call: Node | null = null;
    if (n.type === 'call_expression') call = n;
    else if (n.type === 'binary_expression' && /<\s*0\s*$/.test(this.s.src.slice(n.startIndex, n.endIndex))) {
      const l = n.childForFieldName('left');
      if (l?.type === 'call_expression') call = l;
    }
    const e = call && this.callAt.get(call.startIndex);
    if (e && !e.failedIf) e.failedIf = sc.lit.c.get();
  }
  /** `a || b || c` (op `||`): [a, b, c]; anything else: [itself]. */
  private parts(n: Node | null, op: '||' | '&&', depth = 0): Node[] {
    if (!n) return [];
    if (n.type === 'parenthesized_expression' && depth < 16) { const inner = this.s.inner(n); if (inner) return this.parts(inner, op, depth + 1); }
    if (n.type === 'binary_expression' && depth < 16) {
      const k = this.tri(n);
      const o = k ? k[1] : n.childForFieldName('operator');
      if (o && this.s.token(o) === op) {
        const l = k ? k[0] : n.childForFieldName('left'), r = k ? k[2] : n.childForFieldName('right');
        if (l && r) return [...this.parts(l, op, depth + 1), ...this.parts(r, op, depth + 1)];
      }
    }
    return [n];
  }
  private caseEntry(n: Node): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const sc = this.scopes[i];
      if (sc.k !== 'switch') continue;
      if (this.s.src.startsWith('default', n.startIndex)) sc.hasDefault = true;
      this.R = orDnf(this.R, sc.entry);
      return;
    }
  }
  private switchScope(n: Node): void {
    const b = n.childForFieldName('body');
    // the body is entered at its case labels (caseEntry); a break leaves it
    if (!b) return;
    const c = n.childForFieldName('condition');
    // the subject's value at this switch (`cmd@665`, as `ret@88` names a value by the line that
    // gives it): the cases of one switch exclude each other; a callee's own `switch (cmd)` is
    // another test (its `cmd` may be another value), as are two switches one after the other
    const subject = c ? `${clip(squash(this.text(c)).replace(/^\((.*)\)$/, '$1'))}@${n.startPosition.row + 1}` : '';
    this.scopes.push({ k: 'switch', end: this.s.end(b), entry: this.R, out: [], hasDefault: false, subject, carry: [], node: c });
  }
  /** The path condition at this point with the branches it sits under (which a label outside them does not). */
  private withBranches(d: Dnf, from: number): Dnf {
    let out = d;
    for (let i = from; i < this.scopes.length && out.length; i++) {
      const sc = this.scopes[i];
      if (sc.k !== 'if' || sc.phase === 0) continue;
      const l = sc.lit;
      const weak = !!l.g && this.fx === (sc.phase === 1 ? sc.fx : sc.consFx);
      const lit: Lit = sc.phase === 1 ? l : { c: l.c, neg: true, ...(l.g ? { g: { path: l.g.path, nonnull: !l.g.nonnull } } : l.v ? { v: l.v.not() } : {}) };
      out = andLit(out, weak ? { ...lit, weak: true } : lit);
    }
    return out;
  }
  private labelAt(off: number): string {
    const m = /^[A-Za-z_$][\w$]*/.exec(this.s.src.slice(off, off + 128));
    return m ? m[0] : '';
  }
  private jump(n: Node): void {
    const m = /^goto\s+([A-Za-z_$][\w$]*)/.exec(this.s.src.slice(n.startIndex, n.startIndex + 140));
    if (m && this.R.length) this.gotoIn.set(m[1], orDnf(this.gotoIn.get(m[1]) ?? [], this.withBranches(this.R, 0)));
    this.R = [];
  }
  private label(n: Node): void {
    const name = this.labelAt(n.startIndex);
    const g = this.gotoIn.get(name);
    if (g) { this.R = orDnf(this.R, g); this.gotoIn.delete(name); }
    // a label nothing jumps to (yet) is still a way in: code after `return` is reachable from a
    // backward goto or a computed one; keep what reaches it, or assume nothing when nothing does
    else if (!this.R.length) this.R = ALWAYS;
  }
  private brk(): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const sc = this.scopes[i];
      if (sc.k === 'loop') break;
      if (sc.k === 'switch') { if (this.R.length) sc.out = orDnf(sc.out, this.withBranches(this.R, i + 1)); break; }
    }
    this.R = [];
  }
  /**
   * A pointer exit that is a test somewhere (a `goto` target's way in) is a test everywhere:
   * the code past it carries it in its reach too, so no variant takes the exit for the label
   * and goes on past it.
   */
  private promote(): void {
    const memo = new Map<Dnf, Dnf>();
    for (const [e, d] of this.effD) {
      if (!d.some((c) => c.some((l) => l.weak && this.promoted.has(atomKey(l))))) continue;
      let p = memo.get(d);
      if (!p) {
        p = d.map((c) => c.map((l) => (l.weak && this.promoted.has(atomKey(l)) ? { ...l, weak: false } : l)));
        memo.set(d, p);
      }
      this.setReach(e, p);
    }
  }
  /** An effect's share of a path condition: reach conjunctions and guards from pointer tests. */
  private reachInfo(d: Dnf): { reach?: ReachLit[][]; guards: NonNullable<Effect['guards']> } {
    const memo = this.reachMemo.get(d);
    if (memo) return memo;
    let out: { reach?: ReachLit[][]; guards: NonNullable<Effect['guards']> } = { guards: [] };
    // dead code (after a return, or an #if'd-out way in): assume nothing rather than never
    if (d.length && d.every((c) => c.length)) {
      const common = d[0].filter((l) => d.every((c) => has(c, l)));
      for (const l of common) {
        if (l.g) out.guards.push({ cond: -1, path: l.g.path, nonnull: l.g.nonnull });
        else if (l.v) { const v = l.v.get(); if (v) out.guards.push({ cond: -1, ...v }); }
      }
      // weak tests are guards only where they are on every way in; elsewhere (`out:` reached
      // from `if (!f) goto out;` and from an error after it) they are tests like any other,
      // and then everywhere in the function (promote, at the end of the walk)
      const strong = d.map((c) => c.filter((l) => {
        if (!l.weak) return true;
        if (has(common, l)) return false;
        this.promoted.add(atomKey(l));
        return true;
      }));
      const rest = strong.some((c) => !c.length) ? ALWAYS : strong.length > 1 ? simplify(strong) : strong;
      if (rest.length && rest.every((c) => c.length)) {
        out = {
          ...out,
          reach: rest.map((c) => c.map((l) => ({ c: l.neg ? `!(${l.c.get()})` : l.c.get(), ...(l.pass ? { pass: true as const } : {}) }))),
        };
      }
    }
    this.reachMemo.set(d, out);
    return out;
  }
  private setReach(e: Effect, d: Dnf): void {
    this.effD.set(e, d);
    const info = this.reachInfo(d);
    const own = (e.guards ?? []).filter((g) => g.cond >= 0);
    const guards = [...own, ...info.guards];
    if (guards.length) e.guards = guards; else delete e.guards;
    if (info.reach) e.reach = info.reach; else delete e.reach;
  }

  // --- calls
  /** A node's children without comments (one native call). */
  private kids(n: Node): Node[] {
    const all = n.children;
    for (const c of all) if (c.type === 'comment') return all.filter((x) => x.type !== 'comment');
    return all;
  }
  /**
   * In a clean function, a binary, assignment or field expression's three parts (left or
   * argument, the operator token, right or field) from one native call; null elsewhere.
   */
  private tri(n: Node): Node[] | null {
    if (!this.s.clean) return null;
    const k = this.kids(n);
    return k.length === 3 ? k : null;
  }
  /**
   * A call's function and argument list. In a clean function one native call gives both (the
   * grammar's shape: function, then argument_list; comments aside); elsewhere each field is
   * asked when needed, as before.
   */
  private callParts(call: Node): boolean {
    if (call === this.partsOf) return this.partsBoth;
    this.partsOf = call;
    this.partsBoth = false;
    if (!this.s.clean) return false;
    let f: Node | null = null, a: Node | null = null, k = 0;
    for (const c of call.children) {
      if (c.type === 'comment') continue;
      if (k === 0) f = c; else if (k === 1) a = c;
      k++;
    }
    if (k !== 2 || a!.type !== 'argument_list') return false;
    this.partFn = f;
    this.partArgs = a;
    return (this.partsBoth = true);
  }
  /** The callee's name when it is a plain identifier, else null. */
  private callee(call: Node): string | null {
    if (call !== this.calleeNode) {
      const c = this.callParts(call) ? this.partFn : call.childForFieldName('function');
      this.calleeNode = call;
      this.calleeName = c && c.type === 'identifier' ? this.s.ident(c) : null;
    }
    return this.calleeName;
  }

  private args(call: Node): Node[] {
    if (call !== this.argsNode) {
      const a = this.callParts(call) ? this.partArgs : call.childForFieldName('arguments');
      this.argsNode = call;
      this.argsList = a?.namedChildren.filter((c) => c.type !== 'comment') ?? [];
    }
    return this.argsList;
  }

  /** `loc(n)`, with the end read off the text where a clean function's shapes say (a call's `)`, a statement's `;`). */
  private nodeLoc(n: Node): Loc {
    if (this.s.clean && !this.s.treeEnds) {
      let e = -1;
      if (n.type === 'call_expression') { if (this.callParts(n)) e = this.s.closeOf(this.partArgs!.startIndex); }
      else if (n.type === 'return_statement') e = this.s.end(n);
      if (e >= 0) return this.locTo(n, e);
    }
    return this.loc(n);
  }

  // --- paths
  private term(n: Node | null, depth = 0): Term | null {
    if (!n || depth > 32) return null;
    switch (n.type) {
      case 'identifier': {
        const name = this.s.ident(n);
        const bound = this.env.get(name);
        if (bound) return bound;
        const pi = this.params.get(name);
        if (pi !== undefined) return root(name, 'param', pi, this.fn.params[pi].type);
        if (this.localNames.has(name)) return root(name, 'local');
        if (name === 'NULL') return { t: 'null' };
        return root(name, 'global');
      }
      case 'null': return { t: 'null' };
      case 'field_expression': {
        const k = this.tri(n);
        if (k && k[2].type === 'field_identifier') {
          // argument, `->` or `.`, field (clean: the operator token's type is its text)
          const b = this.term(k[0], depth + 1);
          return b && field(b, this.s.ident(k[2]), k[1].type === '->');
        }
        const b = this.term(n.childForFieldName('argument'), depth + 1);
        const f = b && n.childForFieldName('field');
        if (!b || !f) return null;
        let arrow: string | null = this.s.operatorBefore(f.startIndex);
        if (arrow !== '->' && arrow !== '.') {
          const op = n.childForFieldName('operator');
          arrow = op ? this.s.token(op) : this.text(n).includes('->') ? '->' : '.';
        }
        return field(b, f.type === 'field_identifier' ? this.s.ident(f) : this.text(f), arrow === '->');
      }
      case 'pointer_expression': {
        const b = this.term(n.childForFieldName('argument'), depth + 1);
        if (!b) return null;
        // the operator is the node's first token
        if (this.s.clean) return this.s.norm[n.startIndex] === '&' ? addr(b) : deref(b);
        const op = n.childForFieldName('operator');
        return op && this.s.token(op) === '&' ? addr(b) : deref(b);
      }
      case 'parenthesized_expression': {
        const inner = this.s.inner(n);
        return inner ? this.term(inner, depth + 1) : null;
      }
      case 'cast_expression': return this.term(n.childForFieldName('value'), depth + 1);
      case 'subscript_expression': {
        const b = this.term(n.childForFieldName('argument'), depth + 1);
        return b && { t: 'index', base: b };
      }
      case 'call_expression': {
        const name = this.callee(n);
        if (name === null) return null;
        const v = this.ck.values.get(name);
        if (!v) return null;
        const args = this.args(n);
        const t = this.term(args[v.arg] ?? null, depth + 1);
        if (!t) return null;
        if (!v.container) return v.load ? deref(t) : t;
        if (args.length < v.arg + 2) return null;
        // `struct T` as an argument is not C, so tree-sitter may split it (identifier + ERROR):
        // the type is everything between the type argument and the last (member) argument.
        const last = args[args.length - 1];
        const ta = v.container.typeArg;
        const type = ta !== undefined && ta < args.length - 1 ? squash(this.s.src.slice(args[ta].startIndex, args[args.length - 2].endIndex)) : '?';
        return up(t, type, squash(this.text(last)));
      }
      default: return null;
    }
  }

  // --- statements
  private declaration(n: Node): void {
    const ty = n.childForFieldName('type');
    const tyText = ty ? this.text(ty) : '';
    for (const d of n.childrenForFieldName('declarator')) {
      const inner = d.type === 'init_declarator' ? d.childForFieldName('declarator') : d;
      const info = declaratorInfo(inner);
      if (!info.name) continue;
      const name = this.s.ident(info.name);
      this.localNames.add(name);
      this.env.delete(name);
      const local = this.shared.param(name, typeWithStars(tyText, info.stars));
      const type = local.type;
      this.fn.locals.push(local);
      this.localTypes.set(name, type);
      this.forget(name);
      if (d.type === 'init_declarator') {
        const v = d.childForFieldName('value');
        if (v) { this.assigned.set(name, [v]); this.assignedAt(name, d.startIndex); this.errAt.delete(name); this.errorFlow(name, v, d.startIndex); }
        this.bindLocal(name, v);
      }
    }
  }

  /** A local gets a new value: what was known about the old one (its result, what its success implied) goes. */
  private forget(name: string): void {
    if (this.results.size) this.results.delete(name);
    if (this.pinCounts.size) this.pinCounts.delete(name);
    if (this.implied.size) this.implied.delete(name);
  }
  /**
   * `err = -ENOMEM; if (fl) { ...; err = vfs_setlease(...); }`: past the branch, `err` saying
   * success means the branch ran. Called for every plain assignment of a local, value `v`.
   */
  private errorFlow(name: string, v: Node, at: number): void {
    const was = this.errAt.get(name);
    if (ERROR_VALUE.test(squash(this.s.src.slice(v.startIndex, Math.min(v.startIndex + 40, this.s.src.length)).replace(/[;,)].*$/s, '')))) {
      this.errAt.set(name, at);
      return;
    }
    if (was === undefined) return;
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const sc = this.scopes[i];
      if (sc.k !== 'if' || sc.phase === 0) continue;
      const start = sc.phase === 1 ? sc.cs : sc.ce;
      if (start < was) break;
      this.implied.set(name, sc.phase === 1 ? sc.lit : { c: sc.lit.c, neg: true, ...(sc.lit.g ? { g: { path: sc.lit.g.path, nonnull: !sc.lit.g.nonnull } } : {}) });
      return;
    }
    this.errAt.delete(name);
  }
  private assignedAt(name: string, off: number, from = 2): void {
    let a = this.assignAt.get(name);
    if (!a) { a = { offs: [], from }; this.assignAt.set(name, a); }
    a.offs.push(off);
    if (a.offs.length === a.from) {
      this.reassigned = true;
      const m = /[A-Za-z_$][\w$]*$/.exec(name);
      const last = m?.[0] ?? name;
      const l = this.versionedByLast.get(last) ?? this.oddLasts.find((e) => e.last === last);
      if (l) l.names.push(name);
      else {
        const e = { ord: this.versionedByLast.size + this.oddLasts.length, last, names: [name], seen: false };
        if (m) this.versionedByLast.set(last, e); else this.oddLasts.push(e);
      }
    }
  }

  private bindLocal(name: string, value: Node | null): void {
    if (!value) return;
    const v = unwrapValue(value, this.s);
    if (v.type === 'conditional_expression') this.ternaryResult(name, v);
    if (v.type === 'call_expression' && this.allocCall(v, root(name, 'local'))) {
      this.env.delete(name);
      this.allocated.set(name, `${v.startPosition.row + 1}`);
      return;
    }
    if (v.type === 'call_expression') {
      // a non-alloc call whose value we keep: the call effect itself, then no alias
      const t = this.term(v);
      if (t) { this.env.set(name, t); return; }
      this.call(v, root(name, 'local'));
      this.handled.add(v.startIndex);
      this.env.delete(name);
      this.callResults.add(name);
      return;
    }
    const t = this.term(v);
    if (t && t.t !== 'null') this.env.set(name, t);
    else this.env.delete(name);
  }

  private assignment(n: Node): void {
    const k = this.tri(n);
    const left = k ? k[0] : n.childForFieldName('left');
    const right = k ? k[2] : n.childForFieldName('right');
    if (!left || !right) return;
    // `=` right before the value, not the end of `+=`, `<<=`...: plain; anything else asks the tree
    let plain = k ? k[1].type === '=' : this.s.operatorBefore(right.startIndex) === '=';
    if (!plain && !k) {
      const op = n.childForFieldName('operator');
      plain = !op || this.s.token(op) === '=';
    }
    const leftName = left.type === 'identifier' ? this.s.ident(left) : null;
    if (leftName !== null) {
      this.assigned.set(leftName, plain ? [right] : [...(this.assigned.get(leftName) ?? []), right]);
      if (this.localNames.has(leftName) || this.params.has(leftName)) { this.forget(leftName); this.assignedAt(leftName, n.startIndex, this.localNames.has(leftName) ? 2 : 1); }
    } else if (left.type === 'field_expression') {
      // the lvalue's text without a native call: from its start to the operator before the value
      const lv = squash(this.s.src.slice(left.startIndex, right.startIndex).replace(/(?:<<|>>|[-+*/%&|^])?=\s*$/, ''));
      if (lv && lv.length < 80) this.assignedAt(lv, n.startIndex, 1);
    }
    if (!plain) { if (leftName !== null) this.errAt.delete(leftName); return; }
    if (leftName !== null && (this.localNames.has(leftName) || this.params.has(leftName))) {
      this.errorFlow(leftName, right, n.startIndex);
      if (this.params.has(leftName)) this.localNames.add(leftName); // a reassigned parameter behaves like a local from here on
      this.bindLocal(leftName, right);
      return;
    }
    const target = this.term(left);
    if (!target) return;
    const v = unwrapValue(right, this.s);
    if (v.type === 'call_expression' && this.allocCall(v, target)) return;
    if (v.type === 'identifier') {
      const name = this.s.ident(v);
      if ((this.allocated.has(name) || this.callResults.has(name)) && !this.escapes.has(name) && rootOf(target)?.kind !== 'local') { this.escapes.set(name, target); this.escapedAt.set(name, this.loc(n)); }
    }
    // a field set to an enumerator-like constant (`cl->state = MEI_FILE_CONNECTED`): value tests read it
    if (v.type === 'identifier' && target.t === 'field') {
      const name = this.s.ident(v);
      if (isConstName(name)) { this.emit('store', n, { api: '=', path: target, konst: name }); return; }
    }
    // stores the simulator's guards depend on: `x->p = NULL`, `t->of = of`, `ctx->f = b` where
    // `b` holds what a call returned (`b = dentry_open(...)`: the field now holds an object)
    const vt = v.type === 'null' || this.isNullText(v) ? { t: 'null' as const } : v.type === 'identifier' ? this.term(v) : null;
    // (or an allocated local stored into a local's field, `mr->umem = umem` with `umem =
    // ib_umem_get(..)`: no escape renames it, and the field now holds that object)
    const made = vt?.t === 'root' && vt.kind === 'local' && (this.callResults.has(vt.name) || (this.allocated.has(vt.name) && rootOf(target)?.kind === 'local')) && this.mayBePointer(vt.name);
    if (vt && (vt.t === 'null' || made || (vt.t === 'root' && vt.kind === 'param' && /\*/.test(vt.type ?? ''))) && target.t === 'field') {
      this.emit('store', n, { api: '=', path: target, value: vt });
      return;
    }
    // another existing object: a pointer local that is not an alias of a path, not made here
    if (vt?.t === 'root' && vt.kind === 'local' && target.t === 'field' && !this.allocated.has(vt.name) && !this.callResults.has(vt.name) && this.localTypes.has(vt.name) && /\*/.test(this.localTypes.get(vt.name)!)) {
      this.emit('store', n, { api: '=', path: target, value: vt, rebind: true });
      return;
    }
    // the pinned-page count idiom: `ctx->npages = n` with `n = pin_user_pages*(..)` holds a
    // nonzero count, `ctx->npages = 0` after an unpin clears it; a handler that refuses while
    // pages are pinned (`if (ctx->npages) return -EBUSY;`) tests that field
    if (target.t !== 'field') return;
    if (v.type === 'identifier' && this.pinCounts.has(this.s.ident(v))) {
      this.emit('store', n, { api: '=', path: target, value: root(this.s.ident(v), 'local') });
    } else if (v.type === 'number_literal' && /^0[uUlL]*$/.test(this.text(v)) && this.fn.effects.some((e) => e.kind === 'unpin')) {
      this.emit('store', n, { api: '=', path: target, value: { t: 'null' } });
    }
  }

  private ret(n: Node): void {
    const e = n.namedChildren[0];
    if (!e) return;
    const t = this.term(e);
    if (t && t.t !== 'null') this.emit('return', n, { path: t, api: 'return' });
  }

  /**
   * `ret = x ? vfs_setlease(...) : -EBADF`: the call's effects are `ret`'s result, and `ret`
   * saying success means `x` held.
   */
  private ternaryResult(name: string, v: Node): void {
    const cond = v.childForFieldName('condition');
    const a = v.childForFieldName('consequence');
    const b = v.childForFieldName('alternative');
    if (!cond || !a || !b) return;
    const ua = unwrapValue(a, this.s), ub = unwrapValue(b, this.s);
    const errA = ERROR_VALUE.test(squash(this.text(ua))), errB = ERROR_VALUE.test(squash(this.text(ub)));
    if (errA === errB) return;
    const call = errA ? ub : ua;
    if (call.type === 'call_expression') this.resultCalls.set(call.startIndex, name);
    const g = this.guardOf(cond);
    const c = new Cond(() => this.condText(cond));
    this.implied.set(name, { c, neg: errA, pass: true, ...(g ? { g: errA ? { path: g.path, nonnull: !g.nonnull } : g } : {}) });
  }

  /** Effects made by the call at `n` whose result lands in local `name`: a later test of `name` decides them. */
  private noteResult(name: string, from: number): void {
    const fx = this.fn.effects.slice(from).filter((e) => OUTCOME_KINDS.has(e.kind) && (e.kind !== 'asyncArm' || e.mechanism === 'irq'));
    if (!fx.length) return;
    const d = this.scopes.length ? this.here() : this.R;
    this.results.set(name, { pin: fx.some((e) => e.kind === 'pin'), fx: fx.map((e) => ({ e, d })) });
    if (fx.some((e) => e.kind === 'pin')) this.pinCounts.add(name);
  }

  /** An allocation call whose result lands in `target`. */
  private allocCall(call: Node, target: Term): boolean {
    const name = this.callee(call);
    if (name === null) return false;
    const rows = this.ck.apis.get(name);
    const row = rows?.find((r) => r.arg === 'ret' && this.whenOk(r, call));
    if (!row) return false;
    this.handled.add(call.startIndex);
    this.effectFromRow(row, call, target);
    return true;
  }

  private whenOk(r: ApiRow, call: Node): boolean {
    if (!r.when) return true;
    const args = this.args(call);
    return r.when.every((w) => args[w.arg] !== undefined && squash(this.text(args[w.arg])) === w.equals);
  }

  private call(n: Node, resultTarget: Term | null): void {
    const name = this.callee(n);
    if (name === null) return;
    if (this.ck.values.has(name)) return;
    const rows = this.ck.apis.get(name);
    const row = rows?.find((r) => this.whenOk(r, n));
    if (row) {
      const from = this.fn.effects.length;
      this.effectFromRow(row, n, resultTarget);
      const local = resultTarget?.t === 'root' && resultTarget.kind === 'local' ? resultTarget.name : this.resultCalls.get(n.startIndex);
      if (local !== undefined) this.noteResult(local, from);
      return;
    }
    const args = this.args(n);
    this.emit('call', n, { api: this.shared.word(name), args: args.map((a) => this.term(a)), ...(resultTarget ? { result: resultTarget } : {}) });
    const e = this.fn.effects[this.fn.effects.length - 1];
    this.callAt.set(n.startIndex, e);
    if (resultTarget?.t === 'root' && resultTarget.kind === 'local') this.results.set(resultTarget.name, { pin: false, fx: [], call: e });
  }

  private effectFromRow(row: ApiRow, call: Node, resultTarget: Term | null): void {
    const args = this.args(call);
    let path: Term | null = null;
    if (row.arg === 'ret') path = resultTarget;
    else {
      path = this.term(args[row.arg ?? 0] ?? null);
      if (path && row.pointerArg) path = deref(path);
      if (path && row.owner && path.t === 'addr' && path.base.t === 'field') path = path.base.arrow ? path.base.base : addr(path.base.base);
    }
    const extra: Partial<Effect> = { api: row.name };
    if (path) extra.path = path;
    if (row.mode) extra.mode = row.mode;
    if (row.effect === 'pin') {
      const flags = row.flagsArg !== undefined ? args[row.flagsArg] : undefined;
      const flagText = !flags ? '' : [
        this.text(flags),
        ...(flags.type === 'identifier' ? this.assigned.get(this.s.ident(flags)) ?? [] : []).map((a) => this.text(a)),
      ].join(' ');
      if (row.unlessFlag && flagText.includes(row.unlessFlag)) return;
      extra.longterm = row.longterm ?? /FOLL_LONGTERM/.test(flagText);
      if (row.gup) extra.gup = true;
    }
    if (row.callbackArg !== undefined && args[row.callbackArg]) {
      const cb = unwrapValue(args[row.callbackArg], this.s);
      if (cb.type === 'identifier') extra.callback = this.s.ident(cb);
    }
    if (row.retAsValue && resultTarget) extra.value = resultTarget;
    if (row.mechanism) extra.mechanism = row.mechanism;
    if (row.registry) extra.registry = row.registry;
    if (row.valueArg !== undefined) {
      const v = this.term(args[row.valueArg] ?? null);
      if (v) extra.value = v;
      const va = args[row.valueArg] ? unwrapValue(args[row.valueArg], this.s) : null;
      if (va?.type === 'identifier' && path && rootOf(path)?.kind !== 'local') {
        const name = this.s.ident(va);
        if ((this.allocated.has(name) || this.callResults.has(name)) && !this.escapes.has(name)) { this.escapes.set(name, path); this.escapedAt.set(name, this.nodeLoc(call)); }
      }
      if (row.effect === 'publish' && v?.t === 'null') { this.emit('unpublish', call, extra); return; }
    }
    this.emit(row.effect, call, extra);
    for (const k of row.also ?? []) this.emit(k, call, { api: row.name, ...(path ? { path } : {}) });
  }

  /** R with what the open success branches imply (`else ctx->f = b;` after `if (err)` when `err` says `fl` held). */
  private here(): Dnf {
    let d = this.R;
    for (const sc of this.scopes) {
      if (sc.k !== 'if' || !sc.extra || sc.extra.phase !== sc.phase || !d.length) continue;
      const x = sc.extra;
      if (x.base !== d || !x.d) { x.base = d; x.d = andLit(d, x.lit); }
      d = x.d;
    }
    return d;
  }
  private emit(kind: EffectKind, n: Node, extra: Partial<Effect>): void {
    const e: Effect = { kind, api: extra.api ?? kind, loc: this.nodeLoc(n), cond: this.condAt(n.startIndex), ...extra };
    const guards = this.regions.length ? this.guardsAt(n.startIndex) : [];
    const d = this.scopes.length ? this.here() : this.R;
    if (d !== ALWAYS) {
      this.effD.set(e, d);
      const info = this.reachInfo(d);
      if (info.guards.length) guards.push(...info.guards);
      if (info.reach) e.reach = info.reach;
    }
    if (guards.length) e.guards = guards;
    if (e.path) e.text = render(e.path);
    this.fn.effects.push(e);
    if (kind !== 'return') this.fx++;
  }

  /** A local that holds an allocation and is stored into one non-local path is that path. */
  private resolveEscapes(): void {
    if (!this.escapes.size) return;
    const map = (t: Term): Term => substitute(t, (r) => (r.t === 'root' && r.kind === 'local' ? this.escapes.get(r.name) : undefined)) ?? t;
    const locals = (t: Term): string[] => { const r = rootOf(t); return r?.kind === 'local' && this.escapes.has(r.name) ? [r.name] : []; };
    for (const e of this.fn.effects) {
      // before the store, the object is not yet reachable through its path: effects on it touch
      // only the new object (onReturned), and call arguments naming it are not uses of the path
      const before = (t: Term) => locals(t).some((n) => { const at = this.escapedAt.get(n)!; return e.loc.line < at.line || (e.loc.line === at.line && e.loc.col < at.col); });
      if (e.path) { if (before(e.path)) e.onReturned = true; e.path = map(e.path); e.text = render(e.path); }
      if (e.value) e.value = map(e.value);
      if (e.args) e.args = e.args.map((a) => (a && !before(a) ? map(a) : a));
      if (e.result) e.result = map(e.result);
      if (e.guards) e.guards = e.guards.map((g) => ({ ...g, path: map(g.path) }));
    }
  }
}
