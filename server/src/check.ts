/**
 * `check`: every table of a run through the simulator and the rules. Plain data in and out;
 * the CLI and the language server share it.
 */
import type { FileFacts, FunctionFacts, Loc } from './facts/types';
import { DEFAULT_SUMMARY_OPTIONS, type FunctionRef, type Index } from './index/index';
import { buildModel, MODELLED_ROLES } from './sim/build';
import { simulate, DEFAULT_SIM_OPTIONS, type SimOptions, type SimResult } from './sim/explore';
import type { PinPolicy, TableModel } from './sim/model';
import { programsOf, simulateProgram, type ProgramRun } from './sim/program';
import { RULES } from './rules/index';
import type { Confidence, Finding } from './rules/types';

export interface CheckOptions {
  /** Only these rule ids (default: all). */
  rules?: string[];
  sim?: Partial<SimOptions>;
  /** Only tables defined in these files (the editor checks one document; cross-file facts still count). */
  files?: Set<string>;
  /**
   * Only the tables with these ids (`tableIds`; the editor re-checks what an edit can reach).
   * User-space programs are all walked (unless `files` narrows them).
   */
  tables?: Set<string>;
  /** Record what each model read from the index (`TableRun.deps`, see Index.track). */
  trackDeps?: boolean;
  /** Polled between tables. */
  cancelled?: () => boolean;
  progress?: (done: number, total: number, table: string) => void;
  /** How long-term pins must be protected (default upstream; a file's own `kernlife: pinPolicy=` comment wins). */
  pinPolicy?: PinPolicy;
  /**
   * Called by planCheck as each model is built (`id`: its place in the plan), so that its search
   * can start while the others are built; `incomplete` models are built again by replanCheck.
   */
  onModel?: (id: number, model: TableModel, skip: string | null, incomplete: boolean) => void;
  /** The search to use (default: simulate); the editor passes one that caches by model. */
  simulate?: (model: TableModel, options: SimOptions) => SimResult;
}

export interface TableRun {
  model: TableModel;
  result: SimResult | null;
  /** The table's id (`tableIds`). */
  id?: string;
  /** This table's findings before they are merged with other tables' (`combineFindings`). */
  raw?: Finding[];
  /** With `trackDeps`: what its model read from the index. */
  deps?: Set<string>;
  /** Why the simulator did not run: nothing in the handlers can break a property. */
  skipped?: string;
}

export interface CheckStats {
  tables: number;
  simulated: number;
  truncated: number;
  states: number;
  suppressed: number;
  findings: Record<string, number>;
  ms: number;
  /** The slowest simulations, slowest first (timings: not deterministic, JSON stats only). */
  slowest?: { table: string; file: string; line: number; ms: number; states: number; status: string }[];
}

export interface CheckResult {
  findings: Finding[];
  runs: TableRun[];
  /** User-space programs walked, with the policy in effect for each. */
  programs: ProgramRun[];
  /** The programs' findings before merging (`combineFindings`). */
  programFindings?: Finding[];
  stats: CheckStats;
}

/** Does the model have what a violation needs (a free, and a registration, async arm or use)? */
export function worthSimulating(m: TableModel): string | null {
  const ops = new Set<string>();
  for (const h of [m.open, m.release, m.poll, ...m.io, ...Object.values(m.callbacks), m.remove]) {
    for (const v of h?.variants ?? []) for (const s of v.steps) ops.add(s.op.op);
  }
  if (ops.has('pin')) return null;
  if (!ops.has('free')) return 'no handler frees anything';
  if (!ops.has('pollWait') && !ops.has('asyncArm') && !ops.has('deref')) return 'nothing registers on a waitqueue, arms a callback or uses freed state';
  return null;
}

/**
 * Files known by name only (check's first pass) that the tables' handlers reach through calls
 * and armed callbacks, up to the summaries' depth: a cheap over-approximation of what building
 * the models will ask for, so that the CLI can extract them before building any model. Building
 * still reports anything this misses (registrations, resolution it does not follow) through
 * `Index.needed`.
 */
export function reachablePartialFiles(index: Index, maxDepth = DEFAULT_SUMMARY_OPTIONS.maxDepth): string[] {
  const need = new Set<string>();
  const depthOf = new Map<FunctionFacts, number>();
  const stack: { ref: FunctionRef; depth: number }[] = [];
  const visit = (ref: FunctionRef | null, depth: number): void => {
    if (!ref) return;
    const d = depthOf.get(ref.fn);
    if (d !== undefined && d <= depth) return;
    depthOf.set(ref.fn, depth);
    stack.push({ ref, depth });
  };
  for (const t of index.tables()) {
    for (const f of t.fields) {
      // only the handlers a model runs (sim/build.ts): the others are never summarised
      if (!MODELLED_ROLES.has(f.role)) continue;
      const m = /^&?\s*([A-Za-z_]\w*)$/.exec(f.value.trim());
      if (m) visit(index.resolve(m[1], t.loc.file), 0);
    }
  }
  while (stack.length) {
    const { ref, depth } = stack.pop()!;
    if (index.isPartial(ref.file)) { need.add(ref.file); continue; }
    if (depth > maxDepth) continue;
    for (const e of ref.fn.effects) {
      if (e.kind === 'call') visit(index.resolve(e.api, ref.file), depth + 1);
      if (e.callback) visit(index.resolve(e.callback, ref.file), 0);
    }
  }
  return [...need].sort();
}

/** What `check` will do: a model per table, and which of them the simulator must explore. */
export interface CheckPlan {
  t0: number;
  tables: ReturnType<Index['tables']>;
  /** Each table's id (`tableIds`). */
  ids: string[];
  /** With `trackDeps`: what each model read from the index. */
  deps?: Set<string>[];
  models: TableModel[];
  /** Why a table is not simulated (null: it is). */
  skips: (string | null)[];
  /** The model reached a file known only by name (check's first pass): build it again once that file is in. */
  incomplete: boolean[];
}

/**
 * A stable id per table: its file, its name (and array index), and for a second table of the
 * same name in the same file (`#if` variants) its ordinal among them.
 */
export function tableIds(tables: { name: string; index?: number; loc: Loc }[]): string[] {
  const seen = new Map<string, number>();
  return tables.map((t) => {
    const base = `${t.loc.file}\0${t.name}${t.index !== undefined ? `[${t.index}]` : ''}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n ? `${base}#${n}` : base;
  });
}

/** One table's model (with its file's pin policy), and what it read from the index when asked. */
function modelOf(index: Index, table: ReturnType<Index['tables']>[number], opts: CheckOptions): { model: TableModel; deps?: Set<string> } {
  const build = () => {
    const model = buildModel(table, index, table.loc.file);
    const policy = index.fileFacts(table.loc.file)?.pinPolicy ?? opts.pinPolicy;
    if (policy) model.pinPolicy = policy;
    return model;
  };
  if (!opts.trackDeps) return { model: build() };
  const { value, deps } = index.track(build);
  return { model: value, deps };
}

export function planCheck(index: Index, opts: CheckOptions = {}): CheckPlan {
  const t0 = Date.now();
  const needSim = selectedRules(opts).some((r) => r.meta.kind === 'interleaving');
  const all = index.tables();
  const allIds = tableIds(all);
  const pick = all.map((t, i) => (!opts.files || opts.files.has(t.loc.file)) && (!opts.tables || opts.tables.has(allIds[i])));
  const tables = all.filter((_, i) => pick[i]);
  const ids = allIds.filter((_, i) => pick[i]);
  const models: TableModel[] = [];
  const skips: (string | null)[] = [];
  const incomplete: boolean[] = [];
  const deps: Set<string>[] = [];
  for (const table of tables) {
    if (opts.cancelled?.()) break;
    const hits = index.partialHits;
    const m = modelOf(index, table, opts);
    models.push(m.model);
    if (m.deps) deps.push(m.deps);
    skips.push(needSim ? worthSimulating(m.model) : 'no interleaving rule selected');
    incomplete.push(index.partialHits !== hits);
    opts.onModel?.(models.length - 1, m.model, skips[skips.length - 1], incomplete[incomplete.length - 1]);
  }
  return { t0, tables: tables.slice(0, models.length), ids: ids.slice(0, models.length), models, skips, incomplete, ...(opts.trackDeps ? { deps } : {}) };
}

/**
 * After the files the plan asked for are in the index: build again only the models that
 * reached a file known by name only (the others read nothing that changed).
 */
export function replanCheck(index: Index, plan: CheckPlan, opts: CheckOptions = {}): number {
  const needSim = selectedRules(opts).some((r) => r.meta.kind === 'interleaving');
  let n = 0;
  for (let i = 0; i < plan.models.length; i++) {
    if (!plan.incomplete[i]) continue;
    if (opts.cancelled?.()) break;
    const table = plan.tables[i];
    const hits = index.partialHits;
    const m = modelOf(index, table, opts);
    plan.models[i] = m.model;
    if (plan.deps && m.deps) plan.deps[i] = m.deps;
    plan.skips[i] = needSim ? worthSimulating(m.model) : 'no interleaving rule selected';
    plan.incomplete[i] = index.partialHits !== hits;
    n++;
  }
  return n;
}

/** The simulator's options for a check run. */
export function simOptions(opts: CheckOptions): SimOptions {
  return { ...DEFAULT_SIM_OPTIONS, ...opts.sim, ...(opts.cancelled ? { cancelled: opts.cancelled } : {}) };
}

/** Rules over the plan's models and the simulator's results (null where a table was not simulated). */
export function finishCheck(index: Index, plan: CheckPlan, results: (SimResult | null)[], opts: CheckOptions = {}): CheckResult {
  const rules = selectedRules(opts);
  const runs: TableRun[] = [];
  const raw: Finding[] = [];
  const stats: CheckStats = { tables: plan.tables.length, simulated: 0, truncated: 0, states: 0, suppressed: 0, findings: {}, ms: 0 };
  plan.models.forEach((model, i) => {
    const skip = plan.skips[i];
    const result = skip ? null : results[i] ?? null;
    if (result) {
      noteSlow(stats, plan.tables[i], result);
      stats.simulated++;
      stats.states += result.states;
      if (result.status !== 'complete') stats.truncated++;
    }
    const mine: Finding[] = [];
    runs.push({ model, result, ...(skip ? { skipped: skip } : {}), id: plan.ids[i], raw: mine, ...(plan.deps?.[i] ? { deps: plan.deps[i] } : {}) });
    const confidence = confidenceOf(model, result);
    const ctx = { model, result, confidence };
    for (const r of rules) {
      if (r.structural) mine.push(...r.structural(ctx));
      if (r.fromViolation && result) {
        for (const v of result.violations) {
          const f = r.fromViolation(v, ctx);
          if (!f) continue;
          // a violation that needed a branch assumption is as good as the assumption
          if (f.confidence === 'high' && v.trace.some((s) => /\(taking: /.test(s.message))) f.confidence = 'medium';
          mine.push(f);
        }
      }
    }
    raw.push(...mine);
  });
  // user-space programs (memory registrations over leased file mappings)
  const programs: ProgramRun[] = [];
  const programFindings: Finding[] = [];
  if (rules.some((r) => r.fromProgram)) {
    for (const ref of programsOf(index)) {
      if (opts.files && !opts.files.has(ref.file)) continue;
      const run = simulateProgram(index, ref, index.fileFacts(ref.file)?.pinPolicy ?? opts.pinPolicy ?? 'upstream');
      programs.push(run);
      for (const v of run.violations) for (const r of rules) { const f = r.fromProgram?.(v, run); if (f) programFindings.push(f); }
    }
  }
  raw.push(...programFindings);
  const findings = combineFindings(index, raw, stats);
  for (const f of findings) stats.findings[f.rule] = (stats.findings[f.rule] ?? 0) + 1;
  stats.ms = Date.now() - plan.t0;
  return { findings, runs, programs, programFindings, stats };
}

/**
 * The findings of several tables (and programs), in table order, as check reports them:
 * merged per location, then suppressed, then folded (a suppressed select finding must not
 * hide the epoll findings at the same free). The raw findings are not changed.
 */
export function combineFindings(index: Index, raw: Finding[], stats?: CheckStats): Finding[] {
  return fold(suppress(index, merge(raw), stats));
}

/** check in one thread: plan, simulate each table in turn, finish. */
export function checkIndex(index: Index, opts: CheckOptions = {}): CheckResult {
  const plan = planCheck(index, opts);
  const so = simOptions(opts);
  const results: (SimResult | null)[] = [];
  let done = 0;
  for (let i = 0; i < plan.models.length; i++) {
    if (opts.cancelled?.()) break;
    results.push(plan.skips[i] ? null : (opts.simulate ?? simulate)(plan.models[i], so));
    opts.progress?.(++done, plan.models.length, plan.tables[i].name);
  }
  const n = results.length;
  return finishCheck(index, { ...plan, tables: plan.tables.slice(0, n), ids: plan.ids.slice(0, n), models: plan.models.slice(0, n), skips: plan.skips.slice(0, n), ...(plan.deps ? { deps: plan.deps.slice(0, n) } : {}) }, results, opts);
}

function selectedRules(opts: CheckOptions) {
  const wanted = new Set(opts.rules?.length ? opts.rules : RULES.map((r) => r.meta.id));
  return RULES.filter((r) => wanted.has(r.meta.id));
}

/** Keep the ten slowest simulations (for BENCHMARKS and for finding budget hogs). */
function noteSlow(stats: CheckStats, table: { name: string; index?: number; loc: Loc }, r: SimResult): void {
  const list = (stats.slowest ??= []);
  list.push({ table: table.index !== undefined ? `${table.name}[${table.index}]` : table.name, file: table.loc.file, line: table.loc.line, ms: r.ms, states: r.states, status: r.status });
  list.sort((a, b) => b.ms - a.ms);
  if (list.length > 10) list.length = 10;
}

function confidenceOf(m: TableModel, r: SimResult | null): Confidence {
  if (r && r.status !== 'complete') return 'low';
  const hs = [m.open, m.release, m.poll, ...m.io, m.remove];
  if (hs.some((h) => h?.incomplete)) return 'medium';
  return 'high';
}

const locKey = (l: Loc) => `${l.file}:${l.line}:${l.col}`;

/** One finding per rule and location; the tables that reach it are merged. */
function merge(raw: Finding[]): Finding[] {
  const by = new Map<string, Finding>();
  for (const f of raw) {
    const k = `${f.rule}|${locKey(f.loc)}`;
    const old = by.get(k);
    if (!old) { by.set(k, { ...f, related: [...f.related], tables: [...f.tables] }); continue; }
    for (const t of f.tables) if (!old.tables.includes(t)) old.tables.push(t);
    for (const r of f.related) if (!old.related.some((x) => locKey(x.loc) === locKey(r.loc))) old.related.push(r);
    if (rank(f.confidence) > rank(old.confidence)) old.confidence = f.confidence;
    if (f.trace.length && (!old.trace.length || f.trace.length < old.trace.length)) old.trace = f.trace;
  }
  return [...by.values()];
}

/** The select rule subsumes the epoll ones at the same free (its fix, the file's lifetime, fixes both). */
function fold(merged: Finding[]): Finding[] {
  const selectAt = new Set(merged.filter((f) => f.rule === 'waitqueue-freed-while-polled').map((f) => locKey(f.loc)));
  const out = merged.filter((f) => !(f.rule.startsWith('pollfree-') && selectAt.has(locKey(f.loc))));
  for (const f of out) if (f.tables.length > 1) f.message += ` (reached from ${f.tables.length} tables: ${f.tables.slice(0, 4).join(', ')}${f.tables.length > 4 ? ', …' : ''})`;
  return out.sort((a, b) => (a.loc.file < b.loc.file ? -1 : a.loc.file > b.loc.file ? 1 : a.loc.line - b.loc.line || a.loc.col - b.loc.col || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0)));
}

const rank = (c: Confidence) => (c === 'high' ? 2 : c === 'medium' ? 1 : 0);

/** `/* kernlife-ignore <rule-id>: reason *\/` on the line, the line above, or in (or just above) the function. */
function suppress(index: Index, findings: Finding[], stats?: CheckStats): Finding[] {
  return findings.filter((f) => {
    const ff = index.fileFacts(f.loc.file);
    if (!ff?.suppressions?.length) return true;
    const fn = enclosing(ff, f.loc.line);
    const hit = ff.suppressions.some((s) => (s.rules.includes(f.rule) || s.rules.includes('all')) && (
      s.line === f.loc.line || s.line === f.loc.line - 1 ||
      (fn && s.line >= fn.loc.line - 3 && s.line <= fn.loc.endLine)));
    if (hit && stats) stats.suppressed++;
    return !hit;
  });
}

function enclosing(ff: FileFacts, line: number): FunctionFacts | undefined {
  return ff.functions.find((fn) => fn.loc.line <= line && line <= fn.loc.endLine);
}
