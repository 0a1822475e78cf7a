/**
 * The façade: one entry for the CLI and the editor. Plain data in, plain data out; no IO.
 *   extract(file, text, options)      -> FileFacts        (per file; runs in workers)
 *   buildIndex(facts)                  -> Index            (cross-file summaries, table resolution)
 *   functionReport(index, name?)       -> facts + summaries for output
 */
import { attachPredicates, predicatesIn, scanFunctions } from './facts/scan';
import { hasModuleExit } from './knowledge/kbuild';
import { normalize } from './syntax';
import { anyWord, compileKnowledge, extractFile, type CompiledKnowledge, type ExtractOptions } from './facts/extract';
import type { ExtractLevel, FileFacts } from './facts/types';
import { Index, summarySize, type Summary } from './index/index';
import { KERNEL_KNOWLEDGE } from './knowledge/kernel';
import { applyConfig } from './knowledge/config';
import type { Knowledge } from './knowledge/types';

export interface AnalysisOptions {
  /**
   * `auto` (check's first pass): effects only for files that can matter on their own (they
   * mention an ops struct the simulator models or a table macro, or a user-space pinning API);
   * the others get tables and function names, plus the names they take the address of, and
   * are marked `partial`. Of those, files that mention only a registration-only struct
   * (drivers' `.probe/.remove`, miscdevice) are parsed for their tables; the rest are scanned.
   * The check asks for their effects later if a summary or a registration reaches them.
   */
  level: ExtractLevel | 'auto';
  /** Files larger than this are skipped with a message (bytes). */
  maxFileBytes: number;
  /** Time budget for parsing one file (ms). */
  parseBudgetMs: number;
  /** Parsed `.kernlife.json`, if any, and where it came from. */
  config?: { json: unknown; source: string };
  /**
   * Re-extraction of an edited file (the language server): an incremental parse, and the
   * unchanged functions' facts kept. Or the normalisation and parse of a file done on another
   * thread (cli/pool.ts).
   */
  incremental?: Pick<ExtractOptions, 'parse' | 'functions' | 'normalized' | 'scan'> & { textScan?: TextScan };
}

export const DEFAULT_OPTIONS: AnalysisOptions = { level: 'facts', maxFileBytes: 8 * 1024 * 1024, parseBudgetMs: 20_000 };

let cache: { key: string; ck: CompiledKnowledge; k: Knowledge; problems: string[] } | null = null;

export function knowledgeFor(options: AnalysisOptions): { ck: CompiledKnowledge; k: Knowledge; problems: string[] } {
  const key = options.config ? JSON.stringify(options.config) : '';
  if (cache && cache.key === key) return cache;
  let k: Knowledge = KERNEL_KNOWLEDGE;
  let problems: string[] = [];
  if (options.config) ({ knowledge: k, problems } = applyConfig(k, options.config.json, options.config.source));
  cache = { key, ck: compileKnowledge(k), k, problems };
  return cache;
}

/** Code that can be unloaded: it names an exit routine (or a helper macro that defines one). */
/** `cdev.owner = THIS_MODULE;` / `x->owner = THIS_MODULE;` as a statement: an object that pins the module itself. */
const OWNER_ASSIGN = /^\s*[\w\]\[.>-]+(?:\.|->)owner\s*=\s*THIS_MODULE\s*;/m;
/** A file's own pin policy: `/* kernlife: pinPolicy=layout-lease *\/`. */
const PIN_POLICY = /\/\*\s*kernlife:\s*pinPolicy=(upstream|layout-lease|blocking-close)\s*\*\//;


const SUPPRESS = /kernlife-ignore\s+([\w-]+(?:\s*,\s*[\w-]+)*)\s*(?::\s*([^\n]*?))?\s*(?:\*\/|$)/gm;

/** `misc.fops = &x_fops;` in code (a miscdevice filled in at probe time): where and which table. */
export function fopsAssignments(text: string): { name: string; line: number }[] {
  const out: { name: string; line: number }[] = [];
  const re = /(?:\.|->)fops\s*=\s*&\s*([A-Za-z_]\w*)\s*;/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let line = 1;
    for (let i = text.indexOf('\n'); i >= 0 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    out.push({ name: m[1], line });
  }
  return out;
}

/** `/* kernlife-ignore rule-id[, rule-id]: reason *\/` comments, by line. */
export function suppressionsOf(text: string): { line: number; rules: string[]; reason: string }[] {
  const out: { line: number; rules: string[]; reason: string }[] = [];
  if (!text.includes('kernlife-ignore')) return out;
  for (const m of text.matchAll(SUPPRESS)) {
    let line = 1;
    for (let i = text.indexOf('\n'); i >= 0 && i < m.index!; i = text.indexOf('\n', i + 1)) line++;
    out.push({ line, rules: m[1].split(',').map((r) => r.trim()), reason: (m[2] ?? '').trim() });
  }
  return out;
}

/**
 * Body braces: a `{` alone at column 0 after a line ending in `)`, how kernel style opens a
 * function. `live`: their lines outside the `#if` branches the normalisation drops (all but the
 * first branch of a group, the first unless it is `#if 0`: normalize.ts keeps one configuration,
 * so a function defined twice, for CONFIG_X and its stub under `#else`, is analysed once);
 * `dropped`: how many sit in those branches. The branches are told here from the directive lines
 * alone, without the normaliser, so the count stays a check on the front end.
 */
export function countBodyBraces(text: string): { live: number[]; dropped: number } {
  // line by line without slicing the lines: a line is `{` (before an optional `\r`), and the
  // last non-blank line before it ends in `)` (as /\)\s*$/ and trim() read blanks)
  const lines: number[] = [];
  let dropped = 0;
  let prevParen = false;
  let i = 0;
  let line = 0;
  const n = text.length;
  // #if groups: per open group, whether a branch was taken and whether the group's parent is live
  const taken: boolean[] = [];
  const parentLive: boolean[] = [];
  let live = true;
  while (i <= n) {
    let e = text.indexOf('\n', i);
    if (e < 0) e = n;
    let le = e;
    if (le > i && text.charCodeAt(le - 1) === 13) le--;
    if (le - i === 1 && text.charCodeAt(i) === 123 && prevParen) {
      if (live) lines.push(line + 1);
      else dropped++;
    }
    let k = le;
    while (k > i && isJsSpace(text.charCodeAt(k - 1))) k--;
    if (k > i) prevParen = text.charCodeAt(k - 1) === 41;
    let f = i;
    while (f < k && (text.charCodeAt(f) === 32 || text.charCodeAt(f) === 9)) f++;
    if (text.charCodeAt(f) === 35) {
      const d = DIRECTIVE.exec(text.slice(f, k));
      const kw = d ? d[1] : '';
      if (kw === 'if' || kw === 'ifdef' || kw === 'ifndef') {
        const dead = kw === 'if' && /^0\b/.test(d![2]);
        taken.push(!dead);
        parentLive.push(live);
        live = live && !dead;
      } else if (kw && taken.length) {
        const t = taken.length - 1;
        if (kw === 'endif') { live = parentLive[t]; taken.pop(); parentLive.pop(); }
        else { live = parentLive[t] && !taken[t]; taken[t] = true; }
      }
    }
    line++;
    i = e + 1;
  }
  return { live: lines, dropped };
}
const DIRECTIVE = /^#\s*(if|ifdef|ifndef|elif|else|endif)\b\s*(.*)$/;

/** What `\s` and `String.prototype.trim` count as blank. */
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Names a file takes the address of (`&x_fops`): where a partial file may register a table. */
export function addressTaken(text: string): string[] {
  const out = new Set<string>();
  const re = /&\s*([A-Za-z_]\w*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.add(m[1]);
  return [...out].sort();
}

let wordsFor: { ck: CompiledKnowledge; factsRe: RegExp; tablesRe: RegExp } | null = null;
/**
 * The words that make a file worth extracting in full on check's first pass (`facts`), and
 * those that make it worth parsing for its tables only (`tables`): structs whose tables are
 * never simulated on their own. A driver's ->remove is modelled only with a file_operations
 * table of its own file (which then has that word), and a miscdevice names its fops for the
 * registrations; neither needs the file's effects unless a model reaches its functions.
 */
function firstPassWords(ck: CompiledKnowledge, k: Knowledge): NonNullable<typeof wordsFor> {
  if (wordsFor?.ck === ck) return wordsFor;
  // user-space programs are found from their memory registrations (rdma-core's verbs)
  const user = k.apis.filter((r) => r.effect === 'pin' && /rdma-core/.test(r.header)).map((r) => r.name);
  const regOnly = new Set(k.structs.filter((s) => s.semantics === 'driver' || s.semantics === 'misc').map((s) => s.struct));
  wordsFor = { ck, factsRe: anyWord([...ck.tableWords.filter((w) => !regOnly.has(w)), ...user]), tablesRe: anyWord([...regOnly]) };
  return wordsFor;
}

export interface ExtractResult extends FileFacts {
  /** Extracted at `auto` level without effects: function names and tables only. */
  partial?: true;
  /** For partial files: the names whose address the file takes. */
  addrTaken?: string[];
  /**
   * Kernel-style function bodies seen textually (countBodyBraces) in the code analysed, how many
   * of them were recovered as functions, and how many more sit in `#if` branches left out.
   */
  braces: { expected: number; recovered: number; dropped: number };
}

export function extract(file: string, text: string, options: AnalysisOptions = DEFAULT_OPTIONS): ExtractResult {
  const { ck, k } = knowledgeFor(options);
  // (extractFile takes what was done already of its own part; the text scan is this function's)
  const { textScan, ...done } = options.incremental ?? {};
  let level: ExtractLevel;
  let partial = false;
  let scanned = false;
  if (options.level === 'auto') {
    const w = firstPassWords(ck, k);
    partial = !w.factsRe.test(text);
    scanned = partial && !w.tablesRe.test(text);
    level = partial ? 'tables' : 'facts';
  } else level = options.level;
  // a partial file is asked which functions it defines and, if it has any, its tables: scanned
  // (facts/scan.ts) or parsed, not walked
  const facts: FileFacts & { partial?: true; addrTaken?: string[] } = scanned ? scannedFile(file, normalize(text, ck.normalizeOpts).text)
    : extractFile(file, text, ck, { level, parseBudgetMs: options.parseBudgetMs, ...(partial ? { predicates: true } : {}), ...done });
  if (partial) { facts.partial = true; facts.addrTaken = addressTaken(text); }
  const ts = textScan ?? scanText(text);
  if (ts.modular) facts.modular = true;
  if (ts.ownerAssigned) facts.ownerAssigned = true;
  if (ts.pinPolicy) facts.pinPolicy = ts.pinPolicy;
  if (ts.fopsAssigned.length) facts.fopsAssigned = ts.fopsAssigned;
  if (ts.suppressions.length) facts.suppressions = ts.suppressions;
  const expected = ts.braces.live;
  // A definition starts at its declarator; the body brace follows within a few lines (long parameter lists).
  const bodyLines = new Set<number>();
  for (const f of facts.functions) for (let l = f.loc.line; l <= Math.min(f.loc.endLine, f.loc.line + 40); l++) bodyLines.add(l);
  const recovered = expected.filter((l) => bodyLines.has(l)).length;
  return { ...facts, braces: { expected: expected.length, recovered, dropped: ts.braces.dropped } };
}

/** What extract() reads off a file's text alone, without a tree: a worker reads it for the main thread (cli/pool.ts). */
export interface TextScan {
  modular: boolean;
  ownerAssigned: boolean;
  pinPolicy?: NonNullable<FileFacts['pinPolicy']>;
  fopsAssigned: { name: string; line: number }[];
  suppressions: { line: number; rules: string[]; reason: string }[];
  /** countBodyBraces */
  braces: { live: number[]; dropped: number };
}

export function scanText(text: string): TextScan {
  // (each pattern needs a word most files do not have: the scan for the word is cheaper)
  const pp = text.includes('kernlife:') ? PIN_POLICY.exec(text) : null;
  return {
    modular: hasModuleExit(text),
    ownerAssigned: text.includes('THIS_MODULE') && OWNER_ASSIGN.test(text),
    ...(pp ? { pinPolicy: pp[1] as NonNullable<FileFacts['pinPolicy']> } : {}),
    fopsAssigned: text.includes('fops') ? fopsAssignments(text) : [],
    suppressions: suppressionsOf(text),
    braces: countBodyBraces(text),
  };
}

function scannedFile(file: string, text: string): FileFacts {
  const t0 = performance.now();
  const functions = scanFunctions(file, text);
  attachPredicates(functions, predicatesIn(text));
  return { file, functions, tables: [], problems: [], stats: { bytes: text.length, errorNodes: 0, functions: functions.length, parseMs: 0, extractMs: performance.now() - t0 } };
}

export function buildIndex(files: FileFacts[]): Index {
  const idx = new Index();
  for (const f of [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) idx.update(f);
  return idx;
}

export interface FunctionReport {
  file: string;
  name: string;
  isStatic: boolean;
  loc: FileFacts['functions'][number]['loc'];
  params: FileFacts['functions'][number]['params'];
  locals: FileFacts['functions'][number]['locals'];
  effects: FileFacts['functions'][number]['effects'];
  summary: Summary;
}

export function functionReports(index: Index, name?: string): FunctionReport[] {
  const out: FunctionReport[] = [];
  for (const r of eachFunctionReport(index, name)) out.push(r);
  return out;
}

/**
 * functionReports one at a time, in the same order (summaries depend on the order they are
 * computed in): a caller that prints each report and lets it go holds the summary work of
 * one function at a time, not of all of them.
 */
export function* eachFunctionReport(index: Index, name: string | undefined): Generator<FunctionReport> {
  for (const file of index.fileList()) {
    for (const fn of index.fileFacts(file)!.functions) {
      if (name && fn.name !== name) continue;
      const ref = index.resolve(fn.name, file);
      const summary = ref && ref.fn === fn ? index.summary(ref) : index.summary({ key: `${file}::${fn.name}`, file, fn });
      yield { file, name: fn.name, isStatic: fn.isStatic, loc: fn.loc, params: fn.params, locals: fn.locals, effects: fn.effects, summary };
    }
  }
}

export { Index, summarySize };
export type { FileFacts, Summary };
