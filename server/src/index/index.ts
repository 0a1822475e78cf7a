/**
 * The workspace index: every file's facts, call resolution across files, and function
 * summaries (a function's effects including those of its callees, expressed on its own
 * parameters' access paths). Incremental: updating a file drops exactly the summaries that
 * could have used it, transitively through callers.
 */
import type { CallStep, Effect, FileFacts, FunctionFacts, Loc, OpsTable, ReachLit, Term } from '../facts/types';
import { render, rootOf, substitute } from '../facts/terms';

export interface SummaryOptions {
  /** How deep callee chains are followed. */
  maxDepth: number;
  /** Effects kept per summary; more is marked truncated. */
  maxEffects: number;
}

export const DEFAULT_SUMMARY_OPTIONS: SummaryOptions = { maxDepth: 8, maxEffects: 400 };

export interface FunctionRef {
  key: string; // `file::name` for statics, `name` for globals
  file: string;
  fn: FunctionFacts;
}

export interface Summary {
  function: string;
  file: string;
  /** Own effects (without plain calls) plus callee effects mapped onto this function's paths. */
  effects: Effect[];
  /** Callee names that could not be resolved to a definition in this run. */
  unresolved: string[];
  truncated?: 'depth' | 'cycle' | 'size';
}

/** Effects that describe what happens; `call` and `return` are plumbing for summaries. */
const PLUMBING = new Set(['call', 'return']);

type Root = Extract<Term, { t: 'root' }>;
/** How a call sees a callee's root: a term, null (invisible to the caller), or undefined (unchanged). */
type RootMap = (r: Root) => Term | null | undefined;

/**
 * Summaries are computed on a compact form: which effects a summary holds, in order, as its
 * own effects plus runs of a callee summary's effects seen through a call (a `Segment`). The
 * mapped effects themselves (substituted paths, `via` chains, conditions) are only built when
 * someone reads `Summary.effects`. Whether a callee effect survives the call depends only on
 * its path's root (see mapEffect), so each compact summary keeps the root of every effect and
 * counts, truncation and caching come out exactly as if every effect had been built.
 */
class Segment {
  constructor(
    readonly sub: Core,
    readonly call: Effect,
    readonly callee: string,
    readonly f: RootMap,
    /** How many of `sub`'s effects were taken (the rest did not fit). */
    readonly upto: number,
  ) {}
}

interface Core {
  function: string;
  file: string;
  parts: (Effect | Segment)[];
  /** The root of each effect's path (null: no path, or one without a root such as NULL). */
  roots: (Root | null)[];
  unresolved: string[];
  truncated?: 'depth' | 'cycle' | 'size';
  effects: Effect[] | null;
  pub: Summary | null;
  /** Reached a function of a partial file: not cached, so every model that reaches it says so. */
  partial?: true;
}

const OWN = 1;
const CALL = 2;

/** What summarising one function needs from its effects, computed once per index generation. */
class Plan {
  /** Per effect: 0 plumbing, OWN, CALL. */
  readonly kinds: Uint8Array;
  readonly roots: (Root | null)[];
  private callees: (FunctionRef | null | undefined)[];
  private unresolvedAll: string[] | null = null;
  private returnedSet: Set<string> | undefined;
  /** Per summary key: how many leading effects already recorded their `depend` (dependents only grow until the next update). */
  readonly dependUpTo = new Map<string, number>();

  constructor(private ref: FunctionRef, private index: Index) {
    const effects = ref.fn.effects;
    this.kinds = new Uint8Array(effects.length);
    this.roots = new Array(effects.length).fill(null);
    this.callees = new Array(effects.length);
    effects.forEach((e, i) => {
      if (e.kind === 'call') this.kinds[i] = CALL;
      else if (!PLUMBING.has(e.kind)) { this.kinds[i] = OWN; this.roots[i] = e.path ? rootOf(e.path) : null; }
    });
  }

  callee(i: number): FunctionRef | null {
    let c = this.callees[i];
    if (c === undefined) c = this.callees[i] = this.index.resolve(this.ref.fn.effects[i].api, this.ref.file);
    return c;
  }

  /** Sorted names of the calls before `end` that resolve to no definition. */
  unresolved(end: number): string[] {
    const all = end >= this.kinds.length;
    if (all && this.unresolvedAll) return this.unresolvedAll;
    const names = new Set<string>();
    for (let i = 0; i < end && i < this.kinds.length; i++) {
      if (this.kinds[i] === CALL && !this.callee(i)) names.add(this.ref.fn.effects[i].api);
    }
    const out = [...names].sort();
    if (all) this.unresolvedAll = out;
    return out;
  }

  returned(): Set<string> {
    return (this.returnedSet ??= returnedLocals(this.ref.fn));
  }
}

export class Index {
  private files = new Map<string, FileFacts>();
  private byName = new Map<string, FunctionRef[]>();
  private summaries = new Map<string, Core>();
  private plans = new WeakMap<FunctionFacts, Plan>();
  /** callee name -> keys of summaries that looked it up (resolved or not). */
  private dependents = new Map<string, Set<string>>();
  private inProgress = new Set<string>();

  constructor(private opts: SummaryOptions = DEFAULT_SUMMARY_OPTIONS) {}

  /** Add or replace one file's facts. Returns the keys of the summaries that were invalidated. */
  /**
   * Files known by their function names only (check's first pass skipped their effects), with
   * the names they take the address of. A summary or registration lookup that reaches one puts
   * it in `needed`; the caller extracts it in full, updates, and asks again.
   */
  private partial = new Map<string, string[]>();
  /** address-taken name -> partial files taking it */
  private partialTaking = new Map<string, Set<string>>();
  readonly needed = new Set<string>();
  /** How many times a lookup reached a partial file (a model built meanwhile is incomplete). */
  partialHits = 0;

  isPartial(file: string): boolean {
    return this.partial.has(file);
  }

  setPartial(file: string, addrTaken: string[]): void {
    this.partial.set(file, addrTaken);
    for (const n of addrTaken) {
      let s = this.partialTaking.get(n);
      if (!s) { s = new Set(); this.partialTaking.set(n, s); }
      s.add(file);
    }
    this.summaries.clear();
  }

  update(facts: FileFacts): string[] {
    const was = this.partial.get(facts.file);
    if (was) {
      this.partial.delete(facts.file);
      for (const n of was) this.partialTaking.get(n)?.delete(facts.file);
    }
    this.needed.delete(facts.file);
    this.plans = new WeakMap(); // resolutions change
    this.dropExposures(facts.file);
    this.addExposures(facts);
    const old = this.files.get(facts.file);
    const keys = this.keysOf(facts.file, [...(old?.functions ?? []), ...facts.functions]);
    if (old) this.unlink(old);
    this.files.set(facts.file, facts);
    for (const f of facts.functions) {
      const list = this.byName.get(f.name) ?? [];
      list.push({ key: keyOf(facts.file, f), file: facts.file, fn: f });
      list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      this.byName.set(f.name, list);
    }
    return this.invalidate(keys);
  }

  remove(file: string): string[] {
    const old = this.files.get(file);
    if (!old) return [];
    this.plans = new WeakMap();
    this.dropExposures(file);
    this.unlink(old);
    this.files.delete(file);
    return this.invalidate(this.keysOf(file, old.functions));
  }

  private unlink(old: FileFacts): void {
    for (const f of old.functions) {
      const list = (this.byName.get(f.name) ?? []).filter((r) => r.file !== old.file);
      if (list.length) this.byName.set(f.name, list); else this.byName.delete(f.name);
    }
  }

  /**
   * Drop the summaries of the given function keys (`file::name` for a static function, the name
   * for a global one) and, transitively, of everything that depends on them.
   */
  private invalidate(keys: Set<string>): string[] {
    const dropped: string[] = [];
    const queue = [...keys];
    const seen = new Set<string>();
    while (queue.length) {
      const key = queue.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      if (this.summaries.delete(key)) dropped.push(key);
      for (const dep of this.dependents.get(key) ?? []) {
        if (this.summaries.delete(dep)) dropped.push(dep);
        queue.push(dep);
      }
      this.dependents.delete(key);
    }
    return [...new Set(dropped)].sort();
  }

  /** What a change to these functions of `file` invalidates: their keys, and for globals the name (unresolved callers). */
  private keysOf(file: string, fns: FunctionFacts[]): Set<string> {
    const out = new Set<string>();
    for (const f of fns) { out.add(keyOf(file, f)); if (!f.isStatic) out.add(f.name); }
    return out;
  }

  fileList(): string[] {
    return [...this.files.keys()].sort();
  }

  fileFacts(file: string): FileFacts | undefined {
    return this.files.get(file);
  }

  /** Registrations by table name, built on first use and then kept up to date file by file. */
  private exposureMap: Map<string, Exposure[]> | null = null;

  /**
   * Where ops tables are handed to a registry (debugfs_create_file(.., &fops), cdev_init(.., &fops),
   * misc_register of a miscdevice whose .fops names the table, a `x.fops = &name;` assignment,
   * anon_inode_getfd(.., &fops, ..)), by table name.
   */
  exposures(name: string): Exposure[] {
    for (const file of this.partialTaking.get(name) ?? []) { this.needed.add(file); this.partialHits++; }
    if (!this.exposureMap) {
      this.exposureMap = new Map();
      for (const ff of this.files.values()) this.addExposures(ff);
    }
    return this.exposureMap.get(name) ?? [];
  }

  private addExposures(ff: FileFacts): void {
    const m = this.exposureMap;
    if (!m) return;
    const file = ff.file;
    const add = (n: string, e: Exposure) => { const l = m.get(n) ?? []; l.push(e); m.set(n, l); };
    for (const fn of ff.functions) for (const e of fn.effects) {
      if (e.kind !== 'register' || !e.registry || !e.path) continue;
      const r = rootOf(e.path);
      if (r) add(r.name, { registry: e.registry, file, loc: e.loc });
    }
    for (const a of ff.fopsAssigned ?? []) add(a.name, { registry: 'misc', file, loc: { file, line: a.line, col: 1, endLine: a.line, endCol: 1 } });
    for (const t of ff.tables) {
      if (t.kind !== 'miscdevice') continue;
      const f = t.fields.find((x) => x.field === 'fops');
      const n = f && /^&?\s*([A-Za-z_]\w*)$/.exec(f.value.trim());
      if (n) add(n[1], { registry: 'misc', file, loc: t.loc });
    }
  }

  private dropExposures(file: string): void {
    const m = this.exposureMap;
    if (!m) return;
    for (const [n, l] of m) {
      const keep = l.filter((x) => x.file !== file);
      if (keep.length !== l.length) { if (keep.length) m.set(n, keep); else m.delete(n); }
    }
  }

  /** Resolve a called name as the linker would: the file's own definition first, then a unique global one. */
  resolve(name: string, fromFile: string): FunctionRef | null {
    const list = this.byName.get(name);
    if (!list || list.length === 0) return null;
    const local = list.find((r) => r.file === fromFile);
    if (local) return local;
    const globals = list.filter((r) => !r.fn.isStatic);
    if (globals.length === 1) return globals[0];
    if (globals.length > 1) {
      // several definitions (per-arch or per-config variants): prefer the nearest directory
      const dir = fromFile.slice(0, fromFile.lastIndexOf('/') + 1);
      const near = globals.filter((r) => r.file.startsWith(dir));
      return near.length === 1 ? near[0] : null;
    }
    return null;
  }

  functionsNamed(name: string): FunctionRef[] {
    return this.byName.get(name) ?? [];
  }

  /** Tables of every file with each handler resolved to its definition. */
  tables(): OpsTable[] {
    const out: OpsTable[] = [];
    for (const file of this.fileList()) {
      for (const t of this.files.get(file)!.tables) {
        out.push({
          ...t,
          fields: t.fields.map((f) => {
            if (!f.handler) return f;
            const ref = this.resolve(f.handler, file);
            if (ref) return { ...f, definedAt: ref.fn.nameLoc };
            // an unresolved name in a data field (.id_table = ids) is data, not a missing handler
            if (f.role === 'other') { const { handler: _h, ...rest } = f; return rest; }
            return { ...f, definedAt: null };
          }),
        });
      }
    }
    return out;
  }

  summary(ref: FunctionRef): Summary {
    return publicSummary(this.summarize(ref, 0));
  }

  private planOf(ref: FunctionRef): Plan {
    let p = this.plans.get(ref.fn);
    if (!p) { p = new Plan(ref, this); this.plans.set(ref.fn, p); }
    return p;
  }

  private summarize(ref: FunctionRef, depth: number): Core {
    const cached = this.summaries.get(ref.key);
    if (cached) return cached;
    const isPartial = this.partial.size > 0 && this.partial.has(ref.file);
    if (isPartial) { this.needed.add(ref.file); this.partialHits++; }
    let tainted = isPartial;
    const plan = this.planOf(ref);
    const effects = ref.fn.effects;
    const max = this.opts.maxEffects;
    const parts: (Effect | Segment)[] = [];
    const roots: (Root | null)[] = [];
    let truncated: Core['truncated'];
    let complete = true;
    const dependFrom = plan.dependUpTo.get(ref.key) ?? 0;
    let i = 0;
    this.inProgress.add(ref.key);
    try {
      for (; i < effects.length; i++) {
        if (roots.length >= max) { truncated = 'size'; complete = false; break; }
        const kind = plan.kinds[i];
        if (kind === OWN) { parts.push(effects[i]); roots.push(plan.roots[i]); continue; }
        if (kind !== CALL) continue;
        const e = effects[i];
        const callee = plan.callee(i);
        // depend on what the call resolves to (a static callee is known only in its own file);
        // an unresolved call depends on its name, which a global definition added later takes
        if (i >= dependFrom) this.depend(callee ? callee.key : e.api, ref.key);
        if (!callee) continue;
        if (this.inProgress.has(callee.key)) { truncated = 'cycle'; complete = false; continue; }
        if (depth >= this.opts.maxDepth) { truncated = 'depth'; complete = false; continue; }
        const sub = this.summarize(callee, depth + 1);
        if (sub.partial) tainted = true;
        if (sub.truncated) { complete = false; truncated ??= sub.truncated; }
        const n = sub.roots.length;
        if (n === 0) continue;
        // the callee's returned locals are the caller's result (psi_trigger_create's `t` is `new`)
        const f = rootMap(e, e.result ? this.planOf(callee).returned() : null);
        let j = 0;
        while (j < n) {
          const r = sub.roots[j++];
          if (r === null) roots.push(null);
          else {
            const m = f(r);
            if (m === undefined) roots.push(r);
            else if (m !== null) roots.push(rootOf(m));
          }
          if (roots.length >= max) { truncated = 'size'; complete = false; break; }
        }
        parts.push(new Segment(sub, e, callee.fn.name, f, j));
      }
    } finally {
      this.inProgress.delete(ref.key);
    }
    if (i > dependFrom) plan.dependUpTo.set(ref.key, i);
    const out: Core = { function: ref.fn.name, file: ref.file, parts, roots, unresolved: plan.unresolved(i), effects: null, pub: null };
    if (truncated) out.truncated = truncated;
    // A summary cut short by a cycle or depth depends on where the walk started: do not cache it.
    if (tainted) out.partial = true;
    else if (complete || truncated === 'size') this.summaries.set(ref.key, out);
    return out;
  }

  private depend(callee: string, key: string): void {
    let s = this.dependents.get(callee);
    if (!s) { s = new Set(); this.dependents.set(callee, s); }
    s.add(key);
  }
}

interface Exposure { registry: string; file: string; loc: Loc }

function keyOf(file: string, f: FunctionFacts): string {
  return f.isStatic ? `${file}::${f.name}` : f.name;
}


/** The effects of a compact summary, built on first read (see Segment). */
function materialize(core: Core): Effect[] {
  if (core.effects) return core.effects;
  const out: Effect[] = [];
  for (const p of core.parts) {
    if (!(p instanceof Segment)) { out.push(p); continue; }
    const sub = materialize(p.sub);
    const step: CallStep = { caller: core.function, callee: p.callee, loc: p.call.loc };
    for (let j = 0; j < p.upto; j++) {
      const mapped = mapEffect(sub[j], p.call, step, p.f);
      if (mapped) out.push(mapped);
    }
  }
  if (out.length !== core.roots.length) throw new Error(`summary of ${core.function}: built ${out.length} effects, counted ${core.roots.length}`);
  core.effects = out;
  core.parts = []; // the sub-summaries are not needed any more
  return out;
}

const cores = new WeakMap<Summary, Core>();

/** The Summary handed out: `effects` is built when first read, then a plain property. */
function publicSummary(core: Core): Summary {
  if (core.pub) return core.pub;
  const s = { function: core.function, file: core.file } as Summary;
  const set = (v: Effect[]): void => { Object.defineProperty(s, 'effects', { value: v, writable: true, enumerable: true, configurable: true }); };
  Object.defineProperty(s, 'effects', {
    get: () => { const v = materialize(core); set(v); return v; },
    set,
    enumerable: true,
    configurable: true,
  });
  s.unresolved = core.unresolved.slice();
  if (core.truncated) s.truncated = core.truncated;
  cores.set(s, core);
  core.pub = s;
  return s;
}

/** `summary.effects.length` without building the effects. */
export function summarySize(s: Summary): number {
  const core = cores.get(s);
  const d = Object.getOwnPropertyDescriptor(s, 'effects');
  return core && d && d.get ? core.roots.length : s.effects.length;
}

/**
 * A callee's effect seen from the caller: callee parameters replaced by the call's arguments.
 * Effects on the callee's own locals are invisible to the caller and dropped.
 */
function returnedLocals(fn: FunctionFacts): Set<string> {
  const out = new Set<string>();
  for (const e of fn.effects) if (e.kind === 'return' && e.path?.t === 'root' && e.path.kind === 'local') out.add(e.path.name);
  return out;
}

function rootMap(call: Effect, returned: Set<string> | null): RootMap {
  const args = call.args ?? [];
  return (r) => {
    if (r.kind === 'param' && r.param !== undefined) return args[r.param] ?? null;
    if (r.kind === 'local') return returned?.has(r.name) && call.result && !(call.result.t === 'root' && call.result.kind === 'local') ? call.result : null;
    return undefined;
  };
}

/**
 * Invariant the compact summaries rely on: an effect is dropped exactly when its path's root
 * maps to null through `f` (materialize checks the count).
 */
function mapEffect(ce: Effect, call: Effect, step: CallStep, f: RootMap): Effect | null {
  const map = (t: Term): Term | null => substitute(t, f);
  const out: Effect = { ...ce, cond: [...call.cond, ...ce.cond], via: [step, ...(ce.via ?? [])] };
  // guards: the caller's (indices shift by the caller's cond count) and the callee's, mapped
  const shift = call.cond.length;
  const guards = [
    ...(call.guards ?? []),
    ...(ce.guards ?? []).flatMap((g) => { const p = map(g.path); return p ? [{ ...g, cond: g.cond < 0 ? -1 : g.cond + shift, path: p }] : []; }),
  ];
  if (guards.length) out.guards = guards; else delete out.guards;
  // past early exits: the call's own way in, and the callee effect's way from the callee's entry;
  // a callee effect only its failures reach (a cleanup label) happens when the caller sees the
  // call fail, not on a way the caller goes on (its own exits stay out of the caller's variants)
  const reach = call.failedIf && failureOnly(ce) ? andReach(call.reach, [[{ c: call.failedIf }]]) : andReach(call.reach, ce.reach);
  if (reach) out.reach = reach; else delete out.reach;
  if (ce.path) {
    const p = map(ce.path);
    if (!p) return null;
    out.path = p;
    out.text = render(p);
    // only a returned local survives the root map as a local: the effect was on the callee's new object
    if (ce.path && rootOf(ce.path)?.kind === 'local') out.onReturned = true;
  }
  if (ce.value) {
    const v = map(ce.value);
    if (v) out.value = v; else delete out.value;
  }
  return out;
}

/** Reached only past an exit taken: every way in has a test that is not the straight line's. */
function failureOnly(e: Effect): boolean {
  return !!e.reach && e.reach.length > 0 && e.reach.every((conj) => conj.some((l) => !l.pass));
}

/** Past this many ways in, a composed reach keeps only what they all share (more paths, never fewer). */
const MAX_REACH_CONJ = 8;
const andMemo = new WeakMap<ReachLit[][], WeakMap<ReachLit[][], ReachLit[][] | null>>();

/**
 * `a ∧ b` over reach conditions (disjunctions of conjunctions of condition texts). Texts of the
 * caller and of the callee are different variables only when their texts differ: as with `cond`,
 * the same text is the same test (a callee's `ret` that the caller returns is usually the caller's).
 */
function andReach(a: ReachLit[][] | undefined, b: ReachLit[][] | undefined): ReachLit[][] | undefined {
  if (!a) return b;
  if (!b) return a;
  let m = andMemo.get(a);
  if (!m) { m = new WeakMap(); andMemo.set(a, m); }
  const hit = m.get(b);
  if (hit !== undefined) return hit ?? undefined;
  const neg = (c: string) => (c.startsWith('!(') && c.endsWith(')') ? c.slice(2, -1) : `!(${c})`);
  const out: ReachLit[][] = [];
  for (const x of a) {
    for (const y of b) {
      const seen = new Set(x.map((l) => l.c));
      if (y.some((l) => seen.has(neg(l.c)))) continue; // contradictory: not a way in
      out.push([...x, ...y.filter((l) => !seen.has(l.c))]);
    }
  }
  let r: ReachLit[][] | undefined = out;
  if (!out.length) r = a; // every combination contradicts: the texts are probably different variables; keep the caller's
  else if (out.length > MAX_REACH_CONJ) {
    const common = out[0].filter((l) => out.every((c) => c.some((k) => k.c === l.c)));
    r = common.length ? [common] : undefined;
  }
  m.set(b, r ?? null);
  return r;
}

export function locKey(l: Loc): string {
  return `${l.file}:${l.line}:${l.col}`;
}
