/**
 * The workspace index: every file's facts, call resolution across files, and function
 * summaries (a function's effects including those of its callees, expressed on its own
 * parameters' access paths). Incremental: updating a file drops exactly the summaries that
 * could have used it, transitively through callers.
 */
import type { CallStep, Effect, EffectGuard, FileFacts, FunctionFacts, Loc, OpsTable, ReachLit, Term } from '../facts/types';
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
    /** The callee's returned locals when the call's result is kept (see mapRoot). */
    readonly returned: Set<string> | null,
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

/** The empty list summaries share (frozen: most functions have no effect for their callers). */
const NONE: never[] = Object.freeze([]) as never[];

const OWN = 1;
const CALL = 2;

/** Answers a summary got from its context (Index.memo): a key on the stack, not on it, not cached. */
const IN = 1;
const OUT = 2;
const MISS = 4;
const MEMO_PER_KEY = 8;

/**
 * A memoised summary's answers from its context, key and bits in turn: what a Map of them
 * holds in a tenth of the memory (thousands are kept for the run, and a Map of a few entries
 * weighs over a kilobyte), read in order only.
 */
type Tests = readonly (string | number)[];
function compactTests(tests: Map<string, number>): Tests {
  const out = new Array<string | number>(tests.size * 2);
  let i = 0;
  for (const [k, b] of tests) { out[i++] = k; out[i++] = b; }
  return out;
}

/** Per effect: 0 plumbing, OWN, CALL. */
function kindOf(e: Effect): number {
  return e.kind === 'call' ? CALL : PLUMBING.has(e.kind) ? 0 : OWN;
}

/** What summarising one function needs from its effects, computed once per index generation. */
class Plan {
  /** Per effect, the root of an OWN effect's path (null otherwise); null when no effect has one. */
  private roots: (Root | null)[] | null = null;
  /** Per call effect, what it resolves to (made on the first call asked about). */
  private callees: (FunctionRef | null | undefined)[] | null = null;
  private unresolvedAll: string[] | null = null;
  private returnedSet: Set<string> | undefined;
  /** Per summary key: how many leading effects already recorded their `depend` (dependents only grow until the next update). */
  private depKey: string | null = null;
  private depUpTo = 0;
  private depMore: Map<string, number> | null = null;
  dependUpTo(key: string): number {
    return key === this.depKey ? this.depUpTo : this.depMore?.get(key) ?? 0;
  }
  /** (one key, the function's own, is by far the most common: no Map for it) */
  setDependUpTo(key: string, n: number): void {
    if (this.depKey === null || key === this.depKey) { this.depKey = key; this.depUpTo = n; }
    else (this.depMore ??= new Map()).set(key, n);
  }

  constructor(private ref: FunctionRef, private index: Index) {
    // (plans are kept for the run: no typed array, which is two more objects and memory outside
    // the heap, and no array a function has no use for)
    const effects = ref.fn.effects;
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if (kindOf(e) === OWN && e.path) (this.roots ??= new Array(effects.length).fill(null))[i] = rootOf(e.path);
    }
  }

  root(i: number): Root | null {
    return this.roots ? this.roots[i] : null;
  }

  callee(i: number): FunctionRef | null {
    const callees = (this.callees ??= new Array(this.ref.fn.effects.length));
    let c = callees[i];
    if (c === undefined) c = callees[i] = this.index.resolveQuiet(this.ref.fn.effects[i].api, this.ref.file);
    return c;
  }

  /** Sorted names of the calls before `end` that resolve to no definition. */
  unresolved(end: number): string[] {
    const effects = this.ref.fn.effects;
    const all = end >= effects.length;
    if (all && this.unresolvedAll) return this.unresolvedAll;
    const names = new Set<string>();
    for (let i = 0; i < end && i < effects.length; i++) {
      if (effects[i].kind === 'call' && !this.callee(i)) names.add(effects[i].api);
    }
    const out = names.size ? [...names].sort() : NONE;
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
  /** What the tree's build files say about a file being an unloadable module (index/kbuild.ts), when the caller gives it. */
  kbuild?: { modular(file: string): boolean | null };
  /** How many times a lookup reached a partial file (a model built meanwhile is incomplete). */
  partialHits = 0;

  /**
   * No update, removal or partial file will follow (the CLI's `facts` and `tables`, once every
   * file is in): summaries then skip recording who depends on what, which only an update reads.
   * A later update is an error, not a stale answer.
   */
  private frozen = false;
  freeze(): void {
    this.frozen = true;
    this.dependents.clear();
  }
  private mutable(what: string): void {
    if (this.frozen) throw new Error(`index: ${what} after freeze()`);
  }

  isPartial(file: string): boolean {
    return this.partial.has(file);
  }

  setPartial(file: string, addrTaken: string[]): void {
    this.mutable('setPartial');
    this.partial.set(file, addrTaken);
    for (const n of addrTaken) {
      let s = this.partialTaking.get(n);
      if (!s) { s = new Set(); this.partialTaking.set(n, s); }
      s.add(file);
    }
    this.summaries.clear();
    this.memo.clear();
  }

  /**
   * Add or replace one file's facts. Returns the keys of the summaries that were invalidated.
   * With `byFunction` (an edited file whose unchanged functions are mostly the indexed objects),
   * a function whose facts are the indexed ones (the same object, or equal) keeps its indexed
   * object and its summary; a changed function drops its own summary and, transitively, its
   * callers'; an added or removed one also drops what resolved (or failed to resolve) its name.
   * Without it every function of the file counts as changed (no comparison: a file read again).
   */
  update(facts: FileFacts, opts: { byFunction?: boolean } = {}): string[] {
    this.mutable('update');
    const was = this.partial.get(facts.file);
    if (was) {
      this.partial.delete(facts.file);
      for (const n of was) this.partialTaking.get(n)?.delete(facts.file);
    }
    this.needed.delete(facts.file);
    this.plans = new WeakMap(); // resolutions change (and a plan holds the callees' refs)
    this.memo.clear();
    const old = this.files.get(facts.file);
    let keys: Set<string>;
    let stored = facts;
    if (old && !was && opts.byFunction) {
      const d = diffFunctions(facts.file, old.functions, facts.functions);
      keys = d.keys;
      if (d.kept) stored = { ...facts, functions: d.functions };
      if (this.changes) {
        const c = this.changes;
        for (const n of d.names) c.add(`n:${n}`);
        if (d.keys.size) c.add(`f:${facts.file}:functions`);
        for (const k of changedFields(old, stored)) c.add(`f:${facts.file}:${k}`);
        const before = exposuresOf(old), after = exposuresOf(stored);
        for (const n of new Set([...before.keys(), ...after.keys()])) {
          if (JSON.stringify(before.get(n)) !== JSON.stringify(after.get(n))) c.add(`x:${n}`);
        }
      }
    } else {
      keys = this.keysOf(facts.file, [...(old?.functions ?? []), ...facts.functions]);
      this.noteWholeFile(old ?? null, facts);
    }
    this.dropExposures(facts.file);
    this.addExposures(stored);
    if (old) this.unlink(old);
    this.files.set(facts.file, stored);
    for (const f of stored.functions) {
      const list = this.byName.get(f.name) ?? [];
      list.push({ key: keyOf(facts.file, f), file: facts.file, fn: f });
      list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      this.byName.set(f.name, list);
    }
    return this.invalidate(keys);
  }

  remove(file: string): string[] {
    this.mutable('remove');
    const old = this.files.get(file);
    if (!old) return [];
    this.plans = new WeakMap();
    this.memo.clear();
    this.noteWholeFile(old, null);
    this.dropExposures(file);
    this.unlink(old);
    this.files.delete(file);
    return this.invalidate(this.keysOf(file, old.functions));
  }

  /** A file added, removed or replaced wholesale: everything it had or has changed. */
  private noteWholeFile(old: FileFacts | null, now: FileFacts | null): void {
    const c = this.changes;
    if (!c) return;
    const file = (old ?? now)!.file;
    if (!old || !now) c.add('L').add(`f:${file}`);
    for (const ff of [old, now]) {
      if (!ff) continue;
      for (const k of Object.keys(ff)) c.add(`f:${file}:${k}`);
      for (const f of ff.functions) c.add(`n:${f.name}`);
      for (const n of exposuresOf(ff).keys()) c.add(`x:${n}`);
    }
  }

  /**
   * What changed since the last call (or since `recordChanges()`), as the tags `track` records:
   * `k:KEY` summaries dropped or recomputed (the changed functions and everything that depends
   * on them), `n:NAME` names whose resolution may differ (a definition added or removed),
   * `x:NAME` registrations of a table name, `f:FILE:FIELD` a field of a file's facts (`functions`
   * when any function changed; `pinPolicy`, `modular`, ...), `f:FILE` whether the file is
   * indexed at all, `L` the file list.
   */
  takeChanges(): Set<string> {
    const c = this.changes ?? new Set<string>();
    this.changes = new Set();
    return c;
  }

  /** Record changes for `takeChanges` (the language server, once indexed; the CLI does not pay for it), or stop. */
  recordChanges(on = true): void {
    if (!on) this.changes = null;
    else this.changes ??= new Set();
  }

  private changes: Set<string> | null = null;
  /** While `track` runs: what the index was asked (see takeChanges for the tags). */
  private tracking: Set<string> | null = null;
  private views = new WeakMap<FileFacts, FileFacts>();

  /**
   * Runs `fn` and returns with its value everything it read from the index, as tags that
   * `takeChanges` uses too: a result that read nothing a later change names is still valid.
   * A summary read stands for its callees as well: a change to a callee names the summaries of
   * its callers (transitively) among the changes.
   */
  track<T>(fn: () => T): { value: T; deps: Set<string> } {
    const outer = this.tracking;
    const deps = new Set<string>();
    this.tracking = deps;
    try {
      return { value: fn(), deps };
    } finally {
      this.tracking = outer;
      if (outer) for (const d of deps) outer.add(d);
    }
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
      this.changes?.add(`k:${key}`);
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
    this.tracking?.add('L');
    return [...this.files.keys()].sort();
  }

  fileFacts(file: string): FileFacts | undefined {
    const ff = this.files.get(file);
    const t = this.tracking;
    if (!t) return ff;
    t.add(`f:${file}`);
    if (!ff) return ff;
    // while tracking, a view that records which fields are read (the pin policy is not the functions)
    let v = this.views.get(ff);
    if (!v) {
      v = new Proxy(ff, { get: (o, p, r) => { if (typeof p === 'string') this.tracking?.add(`f:${file}:${p}`); return Reflect.get(o, p, r); } });
      this.views.set(ff, v);
    }
    return v;
  }

  /** Registrations by table name, built on first use and then kept up to date file by file. */
  private exposureMap: Map<string, Exposure[]> | null = null;

  /**
   * Where ops tables are handed to a registry (debugfs_create_file(.., &fops), cdev_init(.., &fops),
   * misc_register of a miscdevice whose .fops names the table, a `x.fops = &name;` assignment,
   * anon_inode_getfd(.., &fops, ..)), by table name.
   */
  exposures(name: string): Exposure[] {
    this.tracking?.add(`x:${name}`);
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
    const add = (n: string, e: Exposure) => { const l = m.get(n) ?? []; l.push(e); m.set(n, l); };
    for (const [n, l] of exposuresOf(ff)) for (const e of l) add(n, e);
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
    const ref = this.resolveName(name, fromFile);
    // who resolves a name may read the definition's facts: a change to them is a dependency too
    if (this.tracking) { this.tracking.add(`n:${name}`); if (ref) this.tracking.add(`k:${ref.key}`); }
    return ref;
  }

  /** resolve() without recording a dependency (summaries record theirs through `depend`). */
  resolveQuiet(name: string, fromFile: string): FunctionRef | null {
    return this.resolveName(name, fromFile);
  }

  private resolveName(name: string, fromFile: string): FunctionRef | null {
    const list = this.byName.get(name);
    if (!list || list.length === 0) return null;
    // (one pass, no closures: this runs once per call site summarised)
    let global: FunctionRef | null = null;
    let count = 0;
    for (const r of list) {
      if (r.file === fromFile) return r;
      if (!r.fn.isStatic) { global = r; count++; }
    }
    if (count === 1) return global;
    if (count > 1) {
      const globals = list.filter((r) => !r.fn.isStatic);
      // several definitions (per-arch or per-config variants): prefer the nearest directory
      const dir = fromFile.slice(0, fromFile.lastIndexOf('/') + 1);
      const near = globals.filter((r) => r.file.startsWith(dir));
      return near.length === 1 ? near[0] : null;
    }
    return null;
  }

  functionsNamed(name: string): FunctionRef[] {
    const refs = this.byName.get(name) ?? [];
    if (this.tracking) { this.tracking.add(`n:${name}`); for (const r of refs) this.tracking.add(`k:${r.key}`); }
    return refs;
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
            const ref = this.resolveName(f.handler, file);
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
    this.tracking?.add(`k:${ref.key}`);
    return publicSummary(this.summarize(ref, 0));
  }

  private planOf(ref: FunctionRef): Plan {
    let p = this.plans.get(ref.fn);
    if (!p) { p = new Plan(ref, this); this.plans.set(ref.fn, p); }
    return p;
  }

  /**
   * Summaries not cached because a cycle or the depth bound cut them short depend on where the
   * walk started: which keys were on the stack, the depth, and which callees were not cached
   * then. On `kernel/` most of the work of summarising was computing those again (345k
   * computations for 14.7k functions). Each such result below the top is kept with the answers
   * its computation (callees included) got from that context (`tests`: key -> IN, OUT, MISS)
   * and reused where every answer is the same, which gives the same result. Cleared whenever
   * the index changes. Kept by definition, not by key: two global definitions of one name (hfs
   * and hfsplus) share a key but not their callees.
   */
  private memo = new Map<FunctionFacts, { key: string; depth: number; core: Core; tests: Tests }[]>();
  /** Per summary being computed (innermost last): the answers it got from its context so far. */
  private frames: Map<string, number>[] = [];

  private memoValid(tests: Tests): boolean {
    for (let i = 0; i < tests.length; i += 2) {
      const k = tests[i] as string, b = tests[i + 1] as number;
      if (b & IN ? !this.inProgress.has(k) : b & OUT && this.inProgress.has(k)) return false;
      if (b & MISS && this.summaries.has(k)) return false;
    }
    return true;
  }

  /** What a finished (or reused) summary of `key` asked its context, for the summary that called it. */
  private passUp(key: string, tests: Map<string, number> | Tests | null): void {
    const parent = this.frames[this.frames.length - 1];
    if (!parent) return;
    if (tests instanceof Map) for (const [k, b] of tests) parent.set(k, (parent.get(k) ?? 0) | b);
    else if (tests) for (let i = 0; i < tests.length; i += 2) { const k = tests[i] as string; parent.set(k, (parent.get(k) ?? 0) | (tests[i + 1] as number)); }
    parent.set(key, (parent.get(key) ?? 0) | MISS);
  }

  private summarize(ref: FunctionRef, depth: number): Core {
    const cached = this.summaries.get(ref.key);
    if (cached) return cached;
    if (depth > 0) {
      const list = this.memo.get(ref.fn);
      if (list) {
        for (const m of list) {
          if (m.depth === depth && m.key === ref.key && this.memoValid(m.tests)) { this.passUp(ref.key, m.tests); return m.core; }
        }
      }
    }
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
    const dependFrom = this.frozen ? effects.length : plan.dependUpTo(ref.key);
    let i = 0;
    const tests = new Map<string, number>();
    this.frames.push(tests);
    this.inProgress.add(ref.key);
    try {
      for (; i < effects.length; i++) {
        if (roots.length >= max) { truncated = 'size'; complete = false; break; }
        const e = effects[i];
        const kind = kindOf(e);
        if (kind === OWN) { parts.push(e); roots.push(plan.root(i)); continue; }
        if (kind !== CALL) continue;
        const callee = plan.callee(i);
        // depend on what the call resolves to (a static callee is known only in its own file);
        // an unresolved call depends on its name, which a global definition added later takes
        if (i >= dependFrom) this.depend(callee ? callee.key : e.api, ref.key);
        if (!callee) continue;
        const onStack = this.inProgress.has(callee.key);
        tests.set(callee.key, (tests.get(callee.key) ?? 0) | (onStack ? IN : OUT));
        if (onStack) { truncated = 'cycle'; complete = false; continue; }
        if (depth >= this.opts.maxDepth) { truncated = 'depth'; complete = false; continue; }
        const sub = this.summarize(callee, depth + 1);
        if (sub.partial) tainted = true;
        if (sub.truncated) { complete = false; truncated ??= sub.truncated; }
        const n = sub.roots.length;
        if (n === 0) continue;
        // the callee's returned locals are the caller's result (psi_trigger_create's `t` is `new`)
        const returned = e.result ? this.planOf(callee).returned() : null;
        let j = 0;
        while (j < n) {
          const r = sub.roots[j++];
          if (r === null) roots.push(null);
          else {
            const m = mapRoot(e, returned, r);
            if (m === undefined) roots.push(r);
            else if (m !== null) roots.push(rootOf(m));
          }
          if (roots.length >= max) { truncated = 'size'; complete = false; break; }
        }
        parts.push(new Segment(sub, e, callee.fn.name, returned, j));
      }
    } finally {
      this.inProgress.delete(ref.key);
      this.frames.pop();
    }
    // its own key was on the stack all along: those answers are not the context's
    tests.delete(ref.key);
    if (i > dependFrom) plan.setDependUpTo(ref.key, i);
    // (kept for the run: copied to their length, a list grown by push holds at least 17 slots)
    const out: Core = {
      function: ref.fn.name, file: ref.file,
      parts: parts.length ? parts.slice() : NONE, roots: roots.length ? roots.slice() : NONE,
      unresolved: plan.unresolved(i), effects: null, pub: null,
    };
    if (truncated) out.truncated = truncated;
    // A summary cut short by a cycle or depth depends on where the walk started: do not cache it.
    if (tainted) out.partial = true;
    else if (complete || truncated === 'size') this.summaries.set(ref.key, out);
    else if (depth > 0) {
      let list = this.memo.get(ref.fn);
      if (!list) this.memo.set(ref.fn, (list = []));
      if (list.length < MEMO_PER_KEY) list.push({ key: ref.key, depth, core: out, tests: compactTests(tests) });
    }
    this.passUp(ref.key, tests);
    return out;
  }

  private depend(callee: string, key: string): void {
    let s = this.dependents.get(callee);
    if (!s) { s = new Set(); this.dependents.set(callee, s); }
    s.add(key);
  }
}

interface Exposure { registry: string; file: string; loc: Loc }

/** One file's registrations by table name (see Index.exposures). */
function exposuresOf(ff: FileFacts): Map<string, Exposure[]> {
  const m = new Map<string, Exposure[]>();
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
  return m;
}

/** Whether two functions' facts are the same (the same object, or equal data). */
export function sameFunction(a: FunctionFacts, b: FunctionFacts): boolean {
  if (a === b) return true;
  // most functions that differ moved, or gained or lost an effect: tell those without the JSON
  if (a.name !== b.name || a.effects.length !== b.effects.length || !sameLoc(a.loc, b.loc) || !sameLoc(a.nameLoc, b.nameLoc)) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
const sameLoc = (x: Loc, y: Loc) => x.line === y.line && x.col === y.col && x.endLine === y.endLine && x.endCol === y.endCol && x.file === y.file;

/** The fields of two facts of a file that differ, but for the functions (compared one by one) and the timings. */
function changedFields(a: FileFacts, b: FileFacts): string[] {
  const ra = a as unknown as Record<string, unknown>, rb = b as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === 'functions' || k === 'stats') continue;
    if (ra[k] !== rb[k] && JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) out.push(k);
  }
  return out;
}

/**
 * The functions of a file's new facts against its indexed ones, by key (and order among
 * definitions with the same key): `keys` to invalidate (changed keys; added or removed ones
 * with their names, which change how callers resolve), `names` whose resolution may differ,
 * and the new function list with each unchanged function's indexed object kept (`kept`: some
 * equal function was a new object), since summaries and models rely on effect identity.
 */
function diffFunctions(file: string, old: FunctionFacts[], now: FunctionFacts[]): { keys: Set<string>; names: Set<string>; functions: FunctionFacts[]; kept: boolean } {
  const byKey = new Map<string, FunctionFacts[]>();
  for (const f of old) { const k = keyOf(file, f); (byKey.get(k) ?? byKey.set(k, []).get(k)!).push(f); }
  const nowByKey = new Map<string, FunctionFacts[]>();
  for (const f of now) { const k = keyOf(file, f); (nowByKey.get(k) ?? nowByKey.set(k, []).get(k)!).push(f); }
  const keys = new Set<string>();
  const names = new Set<string>();
  const functions = now.slice();
  let kept = false;
  const seen = new Map<string, number>();
  for (let i = 0; i < now.length; i++) {
    const f = now[i];
    const k = keyOf(file, f);
    const j = seen.get(k) ?? 0;
    seen.set(k, j + 1);
    const olds = byKey.get(k);
    const o = olds?.[j];
    if (!olds || olds.length !== nowByKey.get(k)!.length) {
      // added (or one more or fewer definitions with this key): resolution of the name changes
      keys.add(k); keys.add(f.name); names.add(f.name);
      continue;
    }
    if (o === f) continue;
    if (o && sameFunction(o, f)) { functions[i] = o; kept = true; continue; }
    keys.add(k);
  }
  for (const [k, olds] of byKey) {
    if (nowByKey.has(k)) continue;
    for (const f of olds) { keys.add(k); keys.add(f.name); names.add(f.name); }
  }
  return { keys, names, functions, kept };
}

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
    const call = p.call, returned = p.returned;
    const f: RootMap = (r) => mapRoot(call, returned, r);
    for (let j = 0; j < p.upto; j++) {
      const mapped = mapEffect(sub[j], p.call, step, f);
      if (mapped) out.push(mapped);
    }
  }
  if (out.length !== core.roots.length) throw new Error(`summary of ${core.function}: built ${out.length} effects, counted ${core.roots.length}`);
  core.effects = out;
  core.parts = []; // the sub-summaries are not needed any more
  return out;
}

const cores = new WeakMap<Summary, Core>();

/** Once set or read, `effects` is a plain property of the summary. */
function setEffects(this: Summary, v: Effect[]): void {
  Object.defineProperty(this, 'effects', { value: v, writable: true, enumerable: true, configurable: true });
}
/**
 * The accessor every summary's `effects` starts as (one pair of functions for all: no closures
 * kept per summary); the core is found by the summary.
 */
const LAZY_EFFECTS: PropertyDescriptor = {
  get(this: Summary): Effect[] { const v = materialize(cores.get(this)!); setEffects.call(this, v); return v; },
  set: setEffects,
  enumerable: true,
  configurable: true,
};

/** The Summary handed out: `effects` is built when first read, then a plain property. */
function publicSummary(core: Core): Summary {
  if (core.pub) return core.pub;
  const s = { function: core.function, file: core.file } as Summary;
  Object.defineProperty(s, 'effects', LAZY_EFFECTS);
  // (the core's list, not a copy: summaries are read, never changed)
  s.unresolved = core.unresolved;
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

/** How `call` sees the callee's root `r` (a RootMap): `returned` are the callee's returned locals, when the call keeps its result. */
function mapRoot(call: Effect, returned: Set<string> | null, r: Root): Term | null | undefined {
  if (r.kind === 'param' && r.param !== undefined) return call.args?.[r.param] ?? null;
  if (r.kind === 'local') return returned?.has(r.name) && call.result && !(call.result.t === 'root' && call.result.kind === 'local') ? call.result : null;
  return undefined;
}

/**
 * Invariant the compact summaries rely on: an effect is dropped exactly when its path's root
 * maps to null through `f` (materialize checks the count).
 */
function mapEffect(ce: Effect, call: Effect, step: CallStep, f: RootMap): Effect | null {
  const map = (t: Term): Term | null => substitute(t, f);
  // (condition and guard arrays are never changed after they are made: an empty side shares the other's)
  const cond = !call.cond.length ? ce.cond : !ce.cond.length ? call.cond : [...call.cond, ...ce.cond];
  const out = copyEffect(ce);
  out.cond = cond;
  out.via = ce.via ? [step, ...ce.via] : [step];
  // guards: the caller's (indices shift by the caller's cond count) and the callee's, mapped
  const shift = call.cond.length;
  let guards = call.guards;
  if (ce.guards?.length) {
    guards = call.guards ? [...call.guards] : [];
    for (const g of ce.guards) {
      const p = map(g.path);
      if (!p) continue;
      // (built field by field, in the extractor's order: a spread of each guard was most of mapEffect)
      const ng: EffectGuard = { cond: g.cond < 0 ? -1 : g.cond + shift, path: p, nonnull: g.nonnull };
      if (g.value !== undefined) ng.value = g.value;
      if (g.pred !== undefined) ng.pred = g.pred;
      guards.push(ng);
    }
  }
  if (guards?.length) out.guards = guards; else delete out.guards;
  // past early exits: the call's own way in, and the callee effect's way from the callee's entry;
  // a callee effect only its failures reach (a cleanup label) happens when the caller sees the
  // call fail, not on a way the caller goes on (its own exits stay out of the caller's variants)
  // and the other way round: a pin (or lease) the callee takes only when it succeeds, as its own
  // result test says, did not happen when the caller sees the call fail (`n = px_pin(..); if (n <
  // 0) return n;`: on that branch nothing is pinned, so nothing is left pinned)
  const reach = call.failedIf && failureOnly(ce) ? andReach(call.reach, [[{ c: call.failedIf }]])
    : call.failedIf && successOnly(ce) ? andReach(andReach(call.reach, ce.reach), [[{ c: negated(call.failedIf), pass: true }]])
    : andReach(call.reach, ce.reach);
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

/** `{ ...e }`, which is slow on effects (their shapes are many: the spread goes to the runtime). */
function copyEffect(e: Effect): Effect {
  const out = {} as Record<string, unknown>;
  const src = e as unknown as Record<string, unknown>;
  for (const k in src) out[k] = src[k];
  return out as unknown as Effect;
}

/** A pin or lease whose every way in passes a test of its own result (`if (ret <= 0) return -EFAULT;` after the pin). */
function successOnly(e: Effect): boolean {
  return (e.kind === 'pin' || e.kind === 'setLease') && !!e.reach && e.reach.length > 0 && e.reach.every((conj) => conj.some((l) => l.pass));
}

function negated(c: string): string {
  return c.startsWith('!(') && c.endsWith(')') ? c.slice(2, -1) : `!(${c})`;
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
  const out: ReachLit[][] = [];
  for (const x of a) {
    for (const y of b) {
      const seen = new Set(x.map((l) => l.c));
      if (y.some((l) => seen.has(negated(l.c)))) continue; // contradictory: not a way in
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
