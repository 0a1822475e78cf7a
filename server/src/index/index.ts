/**
 * The workspace index: every file's facts, call resolution across files, and function
 * summaries (a function's effects including those of its callees, expressed on its own
 * parameters' access paths). Incremental: updating a file drops exactly the summaries that
 * could have used it, transitively through callers.
 */
import type { CallStep, Effect, FileFacts, FunctionFacts, Loc, OpsTable, Term } from '../facts/types';
import { render, substitute } from '../facts/terms';

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

export class Index {
  private files = new Map<string, FileFacts>();
  private byName = new Map<string, FunctionRef[]>();
  private summaries = new Map<string, Summary>();
  /** callee name -> keys of summaries that looked it up (resolved or not). */
  private dependents = new Map<string, Set<string>>();
  private inProgress = new Set<string>();

  constructor(private opts: SummaryOptions = DEFAULT_SUMMARY_OPTIONS) {}

  /** Add or replace one file's facts. Returns the keys of the summaries that were invalidated. */
  update(facts: FileFacts): string[] {
    const old = this.files.get(facts.file);
    const names = new Set<string>();
    if (old) { for (const f of old.functions) names.add(f.name); this.unlink(old); }
    this.files.set(facts.file, facts);
    for (const f of facts.functions) {
      names.add(f.name);
      const list = this.byName.get(f.name) ?? [];
      list.push({ key: keyOf(facts.file, f), file: facts.file, fn: f });
      list.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      this.byName.set(f.name, list);
    }
    return this.invalidate(names);
  }

  remove(file: string): string[] {
    const old = this.files.get(file);
    if (!old) return [];
    this.unlink(old);
    this.files.delete(file);
    return this.invalidate(new Set(old.functions.map((f) => f.name)));
  }

  private unlink(old: FileFacts): void {
    for (const f of old.functions) {
      const list = (this.byName.get(f.name) ?? []).filter((r) => r.file !== old.file);
      if (list.length) this.byName.set(f.name, list); else this.byName.delete(f.name);
    }
  }

  private invalidate(names: Set<string>): string[] {
    const dropped: string[] = [];
    const queue = [...names];
    const seen = new Set<string>();
    while (queue.length) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      for (const ref of this.byName.get(name) ?? []) {
        if (this.summaries.delete(ref.key)) dropped.push(ref.key);
      }
      for (const key of this.dependents.get(name) ?? []) {
        if (this.summaries.delete(key)) dropped.push(key);
        queue.push(nameOfKey(key));
      }
      this.dependents.delete(name);
    }
    return dropped.sort();
  }

  fileList(): string[] {
    return [...this.files.keys()].sort();
  }

  fileFacts(file: string): FileFacts | undefined {
    return this.files.get(file);
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
    return this.summarize(ref, 0);
  }

  private summarize(ref: FunctionRef, depth: number): Summary {
    const cached = this.summaries.get(ref.key);
    if (cached) return cached;
    const out: Summary = { function: ref.fn.name, file: ref.file, effects: [], unresolved: [] };
    this.inProgress.add(ref.key);
    const unresolved = new Set<string>();
    let complete = true;
    try {
      for (const e of ref.fn.effects) {
        if (out.effects.length >= this.opts.maxEffects) { out.truncated = 'size'; complete = false; break; }
        if (e.kind !== 'call') {
          if (!PLUMBING.has(e.kind)) out.effects.push(e);
          continue;
        }
        this.depend(e.api, ref.key);
        const callee = this.resolve(e.api, ref.file);
        if (!callee) { unresolved.add(e.api); continue; }
        if (this.inProgress.has(callee.key)) { out.truncated = 'cycle'; complete = false; continue; }
        if (depth >= this.opts.maxDepth) { out.truncated = 'depth'; complete = false; continue; }
        const sub = this.summarize(callee, depth + 1);
        if (sub.truncated) { complete = false; out.truncated ??= sub.truncated; }
        const step: CallStep = { caller: ref.fn.name, callee: callee.fn.name, loc: e.loc };
        // the callee's returned locals are the caller's result (psi_trigger_create's `t` is `new`)
        const returned = e.result ? returnedLocals(callee.fn) : null;
        for (const ce of sub.effects) {
          const mapped = mapEffect(ce, e, step, returned);
          if (mapped) out.effects.push(mapped);
          if (out.effects.length >= this.opts.maxEffects) { out.truncated = 'size'; complete = false; break; }
        }
      }
    } finally {
      this.inProgress.delete(ref.key);
    }
    out.unresolved = [...unresolved].sort();
    // A summary cut short by a cycle or depth depends on where the walk started: do not cache it.
    if (complete || out.truncated === 'size') this.summaries.set(ref.key, out);
    return out;
  }

  private depend(callee: string, key: string): void {
    let s = this.dependents.get(callee);
    if (!s) { s = new Set(); this.dependents.set(callee, s); }
    s.add(key);
  }
}

function keyOf(file: string, f: FunctionFacts): string {
  return f.isStatic ? `${file}::${f.name}` : f.name;
}

function nameOfKey(key: string): string {
  const i = key.lastIndexOf('::');
  return i < 0 ? key : key.slice(i + 2);
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

function mapEffect(ce: Effect, call: Effect, step: CallStep, returned: Set<string> | null = null): Effect | null {
  const args = call.args ?? [];
  const map = (t: Term): Term | null =>
    substitute(t, (r) => {
      if (r.kind === 'param' && r.param !== undefined) return args[r.param] ?? null;
      if (r.kind === 'local') return returned?.has(r.name) && call.result && !(call.result.t === 'root' && call.result.kind === 'local') ? call.result : null;
      return undefined;
    });
  const out: Effect = { ...ce, cond: [...call.cond, ...ce.cond], via: [step, ...(ce.via ?? [])] };
  // guards: the caller's (indices shift by the caller's cond count) and the callee's, mapped
  const shift = call.cond.length;
  const guards = [
    ...(call.guards ?? []),
    ...(ce.guards ?? []).flatMap((g) => { const p = map(g.path); return p ? [{ ...g, cond: g.cond < 0 ? -1 : g.cond + shift, path: p }] : []; }),
  ];
  if (guards.length) out.guards = guards; else delete out.guards;
  if (ce.path) {
    const p = map(ce.path);
    if (!p) return null;
    out.path = p;
    out.text = render(p);
  }
  if (ce.value) {
    const v = map(ce.value);
    if (v) out.value = v; else delete out.value;
  }
  return out;
}

export function locKey(l: Loc): string {
  return `${l.file}:${l.line}:${l.col}`;
}
