/**
 * The explicit-state model checker.
 *
 * State: open files (reference count, released?), two user tasks (fd slots, what they are
 * running, select sleep, queued __fput work, an epoll RCU reader window), objects with their
 * life state (live / RCU-pending / freed), the slots that point at them, poll-table entries
 * (select entries hold a file reference, epoll entries do not and are detached by POLLFREE),
 * the kernfs node (deactivated, active references), RCU grace periods, async items, locks.
 *
 * Events (lifecycle-model.md 2.5, the subset these properties need): open, fork (share an fd
 * with the other task), close, task work (__fput: eventpoll_release, then ->release unless
 * kernfs already released the file), read/write/ioctl, select scan / end (poll_freewait),
 * epoll add / wait / del (with its RCU read section), node removal (kernfs/procfs severing,
 * ->release while files are open), RCU grace period, kworker running an armed callback.
 *
 * Handlers are atomic between yield points (synchronize_rcu, taking a lock after
 * kernfs_break_active_protection). Breadth-first with state hashing, so every counterexample
 * is a shortest one; a budget in states, depth and time; output depends on nothing but input.
 * Open files #1 and #2 are a symmetry where the model allows it (stateKey): a state and its
 * mirror are one state, which keeps the plain search's states, paths and traces, with fewer
 * states to reach them.
 */
import { isUnder, type Guard, type HandlerModel, type PinPolicy, type Slot, type Step, type TableModel, type Op } from './model';
import type { Loc } from '../facts/types';
import type { Actor, Property, TraceStep, Violation } from './trace';

export interface SimOptions {
  /** How long-term pins must be protected (lifecycle-model 2.7); default upstream. */
  pinPolicy?: PinPolicy;
  maxStates: number;
  maxDepth: number;
  timeMs: number;
  maxTasks: 2;
  maxFiles: number;
  /**
   * Treat open files #1 and #2 as interchangeable where the model allows it (default on; the
   * same results with fewer states). Off: the plain search, for tests and measurements.
   */
  symmetry?: boolean;
  /** Polled between batches; return true to stop. */
  cancelled?: () => boolean;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = { maxStates: 40_000, maxDepth: 14, timeMs: 30_000, maxTasks: 2, maxFiles: 2 };

export interface SimResult {
  status: 'complete' | 'truncated' | 'cancelled';
  /** Why truncated: states or time. */
  limit?: string;
  /** Some states sat at the depth bound with events left (explored completely up to it). */
  depthBounded: boolean;
  states: number;
  transitions: number;
  depth: number;
  /** Every kind of event that occurred somewhere in the explored space. */
  events: string[];
  violations: Violation[];
  ms: number;
}

// ------------------------------------------------------------------------------------------
// state

interface Obj {
  slot: string;
  /** the slot's interned id in the state keys (KeyEncoder.sid) */
  n: number;
  /** 0 live, 1 RCU-pending, 2 freed */
  st: 0 | 1 | 2;
  /** where and by whom it was freed (explains a violation; not part of the state's identity) */
  fr?: FreeRec;
  /** wake_up_pollfree was called on it */
  pf?: 1;
}

interface Entry {
  k: 's' | 'e';
  t: number;
  f: number;
  o: number;
  wq: string;
  /** the waitqueue's interned id (KeyEncoder.sid) */
  w: number;
  /** epoll entry detached by POLLFREE */
  det?: 1;
  /** registration id (unique along a path; a remover's read set names entries by it) */
  rl: number;
  /** which step registered it (explains a violation; not part of the state's identity) */
  reg: RegRec;
}

interface Run {
  h: string; // handler key
  v: number; // variant
  i: number; // next step
  f: number; // file
  /** holds a kernfs active reference */
  act?: 1;
  /** broke its active protection */
  brk?: 1;
  /** in synchronize_rcu(), waiting for a grace period */
  gp?: 1;
  /** waiting to take this lock */
  lk?: string;
  /** what to do when the handler returns */
  k: 'open' | 'io' | 'select' | 'epoll' | 'fput' | 'drain' | 'async' | 'poll' | 'remove';
  /** objects this invocation freed (a handler may touch its own frees on error paths) */
  fr: number[];
  /** async item host, for callbacks */
  host?: number;
  /** registration kind for poll runs */
  reg?: 's' | 'e';
  /** a sync RCU wait happened in this run */
  sr?: 1;
  /** slot instances this run wrote (alloc/store): guards on them were tested before the write */
  w?: string[];
  /** slot instances this run pinned pages into */
  pn?: string[];
}

interface Task {
  fds: number[];
  run: Run | null;
  /** sleeping in select with entries */
  sel?: 1;
  /** files whose last reference it dropped: __fput runs as its task work */
  work: number[];
  /** epoll_ctl(DEL) inside ep_remove_wait_queue's RCU read section: the entries (registration ids) it read */
  rd?: number[];
  /** draining the node (remover) */
  drain?: 1;
}

interface FileSt {
  /** f_count */
  c: number;
  /** 0 open, 1 queued for __fput, 2 gone */
  st: 0 | 1 | 2;
  /** ->release already ran (kernfs severing) */
  rel?: 1;
  /** tasks with an epoll item on it */
  ep: number[];
}

interface State {
  files: FileSt[];
  tasks: Task[];
  objs: Obj[];
  slots: Record<string, number>;
  /** 0 NULL, 1 set; 2 + i: holds TableModel.values.names[i] (tracked fields only) */
  vals: Record<string, number>;
  /** slot instances holding zero-allocated objects: their pointer fields start NULL */
  zero: string[];
  entries: Entry[];
  deact?: 1;
  removed?: 1;
  /** the driver's ->remove has run (the device is unbound: no new opens) */
  unbound?: 1;
  active: number;
  on: number; // kernfs open node object, -1 none
  pend: number[];
  /** armed callbacks: host object, callback, mechanism, the callback's interned id */
  async: { o: number; cb: string; m: string; c: number }[];
  kw: Run | null;
  locks: Record<string, number>;
  /** pages pinned and not yet unpinned: slot instance, owner file (-1: node/global), pinning step, actor */
  pins: PinRec[];
  /** slot instances of files that hold a lease taken by a handler (layout-lease policies) */
  leases: string[];
  /** registrations made so far on this path (the next registration id) */
  nreg: number;
}

interface PinRec { k: string; f: number; s: number; t: number }
interface FreeRec { step: number; actor: number; ev: string; rcu: 0 | 1; pf: 0 | 1 }
interface RegRec { step: number; kind: 's' | 'e' }

const ACTORS: Actor[] = ['task A', 'task B', 'kworker'];
const KW = 2;

// ------------------------------------------------------------------------------------------

interface Node {
  /** the state itself: never mutated once queued (successors work on clones); dropped once expanded */
  state: State | null;
  parent: number;
  depth: number;
  /** the transition from the parent: index in its enabled events, and the handler variant */
  ev: number;
  v: number;
}

/** A variant the state contradicts: thrown (no stack trace to capture) and caught by the search. */
const SKIP = { skip: true } as const;

/**
 * A violation, thrown to the search. Not an Error: thrown often, and a stack trace is not needed.
 * During the search only its kind is needed (`key`, see violationKey); the violation itself is
 * built when its path is replayed with trace steps on.
 */
class Found {
  constructor(public key: string, public v: Omit<Violation, 'trace'> | null, public steps: TraceStep[]) {}
}

/**
 * What a search reads of a model: two tables whose models agree here (afu_fops and
 * afu_master_fops, the cgroup base files, proc_mounts and proc_mountinfo) have the same search
 * result, traces included; the table's name, location, notes and structural fields are not read.
 */
export function searchKey(m: TableModel): string {
  return JSON.stringify([m.table.kind, m.provider, m.severable, m.severLock ?? null, m.pinPolicy ?? null, m.open, m.release, m.poll, m.io, m.callbacks,
    m.values ?? null, m.rmdirOnly ?? null, m.remove ?? null, m.driver?.name ?? null]);
}

export function simulate(model: TableModel, options: Partial<SimOptions> = {}): SimResult {
  return new Explorer(model, { ...DEFAULT_SIM_OPTIONS, ...options }).run();
}

class Explorer {
  private handlers = new Map<string, HandlerModel>();
  /** every step of every handler variant, numbered, so the state refers to them by index */
  private stepIds = new Map<Step, number>();
  private stepList: Step[] = [];
  private events = new Set<string>();
  private kernfsLike: boolean;
  private pollfreeUsed: boolean;
  private shared: boolean;
  private maxFiles: number;
  /** tracked values (TableModel.values): per slot, its fresh constants and their numbers in `vals` (any other value: OTHER) */
  private fresh = new Map<string, Map<string, number>>();
  private other = 2;

  constructor(private m: TableModel, private o: SimOptions) {
    const add = (key: string, h: HandlerModel | null) => {
      if (!h) return;
      this.handlers.set(key, h);
      for (const v of h.variants) for (const s of v.steps) if (!this.stepIds.has(s)) { this.stepIds.set(s, this.stepList.length); this.stepList.push(s); }
    };
    add('open', m.open);
    add('release', m.release);
    add('poll', m.poll);
    m.io.forEach((h, i) => add(`io${i}`, h));
    for (const [name, h] of Object.entries(m.callbacks)) add(`cb:${name}`, h);
    if (m.remove) add('remove', m.remove);
    this.kernfsLike = m.provider === 'kernfs' || m.provider === 'procfs';
    const policy = o.pinPolicy ?? m.pinPolicy;
    this.leasePolicy = !!policy && policy !== 'upstream';
    this.pollfreeUsed = this.stepList.some((s) => s.op.op === 'wake' && s.op.pollfree);
    // A second open file only matters when files share state (node, global or task-owned
    // objects); with per-file state only, two files are two independent copies.
    // (task-owned objects are per task, not per file: one file shared by fork covers them)
    this.shared = this.stepList.some((s) => 'slot' in s.op && s.op.slot.startsWith('n:') && s.op.op !== 'deref');
    this.maxFiles = this.shared ? this.o.maxFiles : 1;
    if (m.values) {
      const ix = new Map(m.values.names.map((c, i) => [c, 2 + i]));
      for (const [slot, cs] of Object.entries(m.values.fresh)) this.fresh.set(slot, new Map(cs.map((c) => [c, ix.get(c)!])));
      this.other = 2 + m.values.names.length;
      this.keys.vb = 3 + m.values.names.length;
    }
  }

  /**
   * Whether guard `g` can hold on slot instance `key`. A pointer test holds unless the state
   * knows the other way. A value test `== F` for a fresh constant F (TableModel.values) holds
   * while the field is not known to hold something else; any other value test can always hold
   * (code outside the model may set those values at any time).
   */
  private holds(s: State, g: Guard, key: string): boolean {
    // (a predicate guard is read into a value test by build.ts, or dropped; one in a hand-made model decides nothing)
    if (g.pred !== undefined) return true;
    if (g.value === undefined) {
      const val = this.val(s, key);
      return val === undefined || val > 1 || (val === 1) === g.nonnull;
    }
    const code = g.nonnull ? this.fresh.get(g.slot)?.get(g.value) : undefined;
    if (code === undefined) return true;
    const v = s.vals[key];
    return v === undefined || v < 2 || v === code;
  }

  /** What a tracked field holding constant `c` is in `vals`: the fresh constant's number, else OTHER. */
  private valCode(slot: string, c: string): number {
    return this.fresh.get(slot)?.get(c) ?? this.other;
  }

  run(): SimResult {
    const t0 = Date.now();
    const init: State = {
      files: [], tasks: [{ fds: [], run: null, work: [] }, { fds: [], run: null, work: [] }], objs: [], slots: {}, vals: {}, zero: [], entries: [],
      active: 0, on: -1, pend: [], async: [], kw: null, locks: {}, pins: [], leases: [], nreg: 0,
    };
    this.init = init;
    const nodes: Node[] = [{ state: clone(init), parent: -1, depth: 0, ev: -1, v: 0 }];
    const seen = new Set<string>([this.stateKey(init)]);
    const violations = new Map<string, Violation>();
    const none: TraceStep[] = [];
    let transitions = 0;
    let maxDepth = 0;
    let status: SimResult['status'] = 'complete';
    let limit: string | undefined;
    let bounded = false;
    this.tr = false;
    for (let qi = 0; qi < nodes.length; qi++) {
      if ((qi & 255) === 0) {
        if (this.o.cancelled?.()) { status = 'cancelled'; break; }
        if (Date.now() - t0 > this.o.timeMs) { status = 'truncated'; limit = `time (${this.o.timeMs} ms)`; break; }
      }
      const node = nodes[qi];
      const state = node.state!;
      node.state = null;
      // the depth bound is a bound of the model (like two tasks), not a budget: not 'truncated'
      if (node.depth >= this.o.maxDepth) { bounded = true; continue; }
      const enabled = this.enabled(state);
      for (let ei = 0; ei < enabled.length; ei++) {
        const [label, fire, hkey, at] = enabled[ei];
        const h = hkey ? this.handlers.get(hkey) : undefined;
        const nv = hkey ? h?.variants.length ?? 1 : 1;
        for (let v = 0; v < nv; v++) {
          // a variant the state contradicts is skipped before the state is copied (start() would skip it)
          if (at && h && v > 0 && !this.consistent(state, h, v, at[0], undefined, at[1], true)) continue;
          const s = clone(state);
          transitions++;
          this.variantOverride = hkey ? v : null;
          try {
            fire(s, none);
          } catch (e) {
            if (e === SKIP) continue;
            if (!(e instanceof Found)) throw e;
            const key = e.key;
            // the search keeps no traces: the first violation of a kind is replayed with them on
            if (!violations.has(key)) violations.set(key, this.replay(nodes, qi, ei, v));
            continue;
          } finally {
            this.variantOverride = null;
          }
          this.events.add(label);
          const key = this.stateKey(s);
          if (seen.has(key)) continue;
          if (nodes.length >= this.o.maxStates) { status = 'truncated'; limit = `states (${this.o.maxStates})`; break; }
          seen.add(key);
          nodes.push({ state: s, parent: qi, depth: node.depth + 1, ev: ei, v });
          maxDepth = Math.max(maxDepth, node.depth + 1);
        }
        if (status === 'truncated' && limit?.startsWith('states')) break;
      }
      if (status === 'truncated' && limit?.startsWith('states')) break;
    }
    return {
      status, ...(limit ? { limit } : {}), depthBounded: bounded, states: nodes.length, transitions, depth: maxDepth,
      events: [...this.events].sort(), violations: [...violations.values()], ms: Date.now() - t0,
    };
  }

  private init: State | null = null;
  /** Build trace steps (off during the search; on while a violation's path is replayed). */
  private tr = false;

  /**
   * The path to node `qi` and then transition (ei, v) from it, fired again with trace steps on.
   * Transitions are deterministic functions of the state, so the replay reaches the same states.
   */
  private replay(nodes: Node[], qi: number, ei: number, v: number): Violation {
    const chain: Node[] = [];
    for (let j = qi; j > 0; j = nodes[j].parent) chain.push(nodes[j]);
    chain.reverse();
    const steps: TraceStep[] = [];
    let s = clone(this.init!);
    this.tr = true;
    try {
      const fireOne = (ev: number, variant: number): void => {
        const [, fire, hkey] = this.enabled(s)[ev];
        const next = clone(s);
        this.variantOverride = hkey ? variant : null;
        try { fire(next, steps); } finally { this.variantOverride = null; }
        s = next;
      };
      for (const n of chain) fireOne(n.ev, n.v);
      try {
        fireOne(ei, v);
      } catch (e) {
        if (e instanceof Found && e.v) return { ...e.v, trace: steps };
        throw e;
      }
      throw new Error('internal: a violation did not replay');
    } finally {
      this.tr = false;
    }
  }

  // ----------------------------------------------------------------------------------------
  // events

  /** Enabled events: a label, the transition, and the handler it invokes (one successor per variant). */
  /**
   * Enabled events: a label, the transition, the handler it invokes (one successor per variant),
   * and for a handler started at once on a known file and task, [file, task]: the search tests
   * each variant against the state before copying it.
   */
  private enabled(s: State): [string, (s: State, out: TraceStep[]) => void, string?, [number, number]?][] {
    const ev: [string, (s: State, out: TraceStep[]) => void, string?, [number, number]?][] = [];
    const m = this.m;
    for (let t = 0; t < 2; t++) {
      const T = s.tasks[t];
      const A = ACTORS[t];
      if (T.run) {
        if (this.canResume(s, T.run)) ev.push(['resume', (s, out) => this.resume(s, t, out)]);
        continue;
      }
      if (T.drain) {
        if (this.drainable(s)) ev.push(['drain', (s, out) => this.drainNext(s, t, out), 'release']);
        continue;
      }
      if (T.rd) { ev.push(['epoll-del-end', (s, out) => this.epollDelEnd(s, t, out)]); continue; }
      if (T.sel) { ev.push(['select-end', (s, out) => this.selectEnd(s, t, out)]); continue; }
      if (T.work.length) { ev.push(['fput', (s, out) => this.taskWork(s, t, out), 'release']); continue; }
      // open
      // task B opens only when files share state; otherwise it gets task A's file by fork
      if ((t === 0 || this.shared) && T.fds.length < 2 && s.files.length < this.maxFiles && !(this.kernfsLike && s.deact) && !s.unbound) {
        ev.push(['open', (s, out) => this.open(s, t, out), 'open', [s.files.length, t]]);
      }
      for (let i = 0; i < T.fds.length; i++) {
        const f = T.fds[i];
        const other = s.tasks[1 - t];
        if (t === 0 && other.fds.length < 2 && !other.fds.includes(f) && !other.run && !other.drain) {
          ev.push(['fork', (s, out) => {
            s.files[f].c++;
            s.tasks[1 - t].fds.push(f);
            this.tr && out.push({ actor: A, event: 'fork()', message: `${ACTORS[1 - t]} inherits file #${f + 1}; f_count = ${s.files[f].c}` });
          }]);
        }
        ev.push(['close', (s, out) => this.close(s, t, i, out)]);
        const gateOk = !(this.kernfsLike && (s.files[f].rel || s.deact));
        if (gateOk) {
          m.io.forEach((h, j) => ev.push([`io`, (s, out) => this.call(s, t, `io${j}`, f, 'io', out, `${h.field}()`), `io${j}`, [f, t]]));
        }
        if (this.hasPoll() && !(this.kernfsLike && (s.files[f].rel || s.deact))) {
          ev.push(['select', (s, out) => this.call(s, t, 'poll', f, 'select', out, 'select() scan'), 'poll', [f, t]]);
          if (!s.files[f].ep.includes(t)) ev.push(['epoll-add', (s, out) => this.call(s, t, 'poll', f, 'epoll', out, 'epoll_ctl(ADD)'), 'poll', [f, t]]);
        }
        // epoll_ctl(DEL) on an epoll fd shared by fork: either task can remove an item on a file it holds
        for (const owner of s.files[f].ep) {
          if (this.pollfreeUsed) ev.push(['epoll-del', (s, out) => this.epollDelBegin(s, t, owner, f, out)]);
          else ev.push(['epoll-del', (s, out) => { this.epollDelBegin(s, t, owner, f, out); this.epollDelEnd(s, t, out); }]);
        }
      }
      // unbinding the driver (sysfs unbind, hot unplug): ->remove runs once, whatever files are open
      if (t === 1 && m.remove && !s.unbound && s.files.some((f) => f.st < 2)) {
        ev.push(['unbind', (s, out) => {
          s.unbound = 1;
          this.tr && out.push({ actor: A, event: 'unbind', message: `the device is unbound (sysfs unbind or hot unplug): ${m.driver ? `${m.driver.name}.` : ''}${m.remove!.field} runs with ${s.files.filter((f) => f.st < 2).length} file(s) still open; misc_deregister()/cdev_del() do not wait for them` });
          this.call(s, t, 'remove', 0, 'remove', out, 'driver ->remove');
        }, 'remove']);
      }
      // the remover: rmdir / kernfs_remove / remove_proc_entry
      const sl = m.severLock;
      if (t === 1 && m.severable && !s.deact && s.files.some((f) => f.st < 2) && !(sl && s.locks[sl] !== undefined)) {
        ev.push(['sever', (s, out) => {
          s.deact = 1;
          s.tasks[t].drain = 1;
          if (sl) s.locks[sl] = t;
          this.tr && out.push({ actor: A, event: this.severEvent(), message: `${sl ? `holding ${sl.slice(2)}, ` : ''}the node is deactivated: new opens and handler calls are refused; removal waits for in-flight handlers (active = ${s.active})` });
        }]);
      }
    }
    // RCU grace period
    if ((s.pend.length || s.tasks.some((T) => T.run?.gp !== undefined) || s.kw?.gp !== undefined) && !s.tasks.some((T) => T.rd)) {
      ev.push(['rcu-gp', (s, out) => this.gracePeriod(s, out)]);
    }
    // kworker
    if (s.kw) { if (this.canResume(s, s.kw)) ev.push(['resume', (s, out) => this.resume(s, KW, out)]); }
    else {
      for (let i = 0; i < s.async.length; i++) ev.push(['kworker', (s, out) => this.runAsync(s, i, out), `cb:${s.async[i].cb}`]);
    }
    return ev;
  }

  private hasPoll(): boolean {
    return !!this.m.poll;
  }

  private severEvent(): string {
    switch (this.m.provider) {
      case 'procfs': return 'remove_proc_entry(): procfs removes the entry';
      default: return this.m.table.kind === 'cftype' ? 'cgroup removes or hides the file (rmdir, cgroup_file_show(false))' : 'kernfs_remove(): kernfs removes the node';
    }
  }

  private open(s: State, t: number, out: TraceStep[]): void {
    const f = s.files.length;
    s.files.push({ c: 1, st: 0, ep: [] });
    s.tasks[t].fds.push(f);
    if (this.kernfsLike && s.on < 0) s.on = this.newObj(s, 'n:@open_node');
    this.tr && out.push({ actor: ACTORS[t], event: 'open()', message: `file #${f + 1} (f_count = 1)` });
    if (this.m.open) this.call(s, t, 'open', f, 'open', out, 'open()');
  }

  private close(s: State, t: number, i: number, out: TraceStep[]): void {
    const f = s.tasks[t].fds[i];
    s.tasks[t].fds.splice(i, 1);
    this.tr && out.push({ actor: ACTORS[t], event: 'close()', message: `fd of file #${f + 1} closed` });
    this.fput(s, t, f, out);
  }

  private fput(s: State, t: number, f: number, out: TraceStep[]): void {
    const F = s.files[f];
    F.c--;
    if (F.c === 0) {
      F.st = 1;
      s.tasks[t].work.push(f);
      this.tr && out.push({ actor: ACTORS[t], event: 'fput()', message: `last reference to file #${f + 1}: __fput queued as task work` });
    }
  }

  /** __fput: eventpoll_release, then ->release (unless kernfs severing already called it), then the file goes. */
  private taskWork(s: State, t: number, out: TraceStep[]): void {
    const f = s.tasks[t].work.shift()!;
    this.tr && out.push({ actor: ACTORS[t], event: '__fput()', message: `file #${f + 1}: eventpoll_release() removes epoll entries first` });
    for (const et of [...s.files[f].ep]) this.epollRemove(s, t, f, et, out, 'eventpoll_release()');
    s.files[f].ep = [];
    if (this.m.release && !(this.kernfsLike && s.files[f].rel)) {
      // kernfs_release_file: of->released is set under the open-file mutex, so removal's drain
      // and the last fput never both call ->release
      if (this.kernfsLike) s.files[f].rel = 1;
      this.call(s, t, 'release', f, 'fput', out, '->release at last fput');
      return;
    }
    if (this.kernfsLike && s.files[f].rel) this.tr && out.push({ actor: ACTORS[t], event: '__fput()', message: `->release already ran when the node was removed; not called again` });
    this.fileGone(s, f, out, t);
  }

  private fileGone(s: State, f: number, out: TraceStep[], t: number): void {
    s.files[f].st = 2;
    const left = s.pins.find((p) => p.f === f);
    if (left) {
      this.tr && out.push({ actor: ACTORS[t], event: '__fput() done', message: `file #${f + 1} is gone${this.m.release ? ' and ->release has returned' : ' (no ->release)'}, but the pages pinned into ${this.stepList[left.s].text} are still pinned: nothing can unpin them now` });
      this.pinViolation('P8', left, out, `pages pinned through file #${f + 1} outlive it`);
    }
    if (this.kernfsLike && s.on >= 0 && s.files.every((F) => F.st === 2)) {
      // kernfs_unlink_open_file: the open node goes with kfree_rcu once no file is left
      const o = s.on;
      this.freeObj(s, o, 'rcu', -1, t, out, 'kernfs_unlink_open_file', 'the last open file is gone: kfree_rcu(open node)');
      s.on = -1;
    }
  }

  private drainable(s: State): boolean {
    return s.active === 0;
  }

  private drainNext(s: State, t: number, out: TraceStep[]): void {
    const f = s.files.findIndex((F) => F.st < 2 && !F.rel);
    if (f < 0) {
      s.removed = 1;
      delete s.tasks[t].drain;
      if (this.m.severLock && s.locks[this.m.severLock] === t) delete s.locks[this.m.severLock];
      this.tr && out.push({ actor: ACTORS[t], event: 'removal done', message: 'every open file has been released; the files themselves stay open' });
      return;
    }
    s.files[f].rel = 1;
    if (this.m.release) {
      this.call(s, t, 'release', f, 'drain', out, `drain: ->release of file #${f + 1} while f_count = ${s.files[f].c}`);
    } else {
      this.tr && out.push({ actor: ACTORS[t], event: 'drain', message: `file #${f + 1} marked released (no ->release)` });
    }
  }

  private selectEnd(s: State, t: number, out: TraceStep[]): void {
    delete s.tasks[t].sel;
    this.tr && out.push({ actor: ACTORS[t], event: 'poll_freewait()', message: 'select() returns: every entry is removed from its waitqueue and its file reference dropped' });
    const mine = s.entries.filter((e) => e.k === 's' && e.t === t);
    s.entries = s.entries.filter((e) => !(e.k === 's' && e.t === t));
    for (const e of mine) {
      const O = s.objs[e.o];
      if (O.st === 2) this.violation(s, 'P1-select', e.o, { what: `poll_freewait() -> remove_wait_queue(${this.wqText(s, e)}) on freed memory`, actor: ACTORS[t] }, e, out);
      this.fput(s, t, e.f, out);
    }
  }

  private epollDelBegin(s: State, t: number, owner: number, f: number, out: TraceStep[]): void {
    const items = s.entries.filter((e) => e.k === 'e' && e.t === owner && e.f === f);
    // entries POLLFREE already detached read as NULL and are skipped
    s.tasks[t].rd = items.filter((e) => !e.det).map((e) => e.rl);
    s.entries = s.entries.filter((e) => !items.includes(e) || !e.det);
    s.files[f].ep = s.files[f].ep.filter((x) => x !== owner);
    this.tr && out.push({ actor: ACTORS[t], event: 'epoll_ctl(DEL)', message: 'ep_remove_wait_queue(): rcu_read_lock(), reads the entry\'s waitqueue head' });
  }

  private epollDelEnd(s: State, t: number, out: TraceStep[]): void {
    const ids = s.tasks[t].rd ?? [];
    delete s.tasks[t].rd;
    const snap = s.entries.filter((e) => ids.includes(e.rl));
    for (const e of snap) {
      const O = s.objs[e.o];
      if (O.st === 2) {
        const prop: Property = e.det ? 'P1-epoll-rcu' : 'P1-epoll';
        this.violation(s, prop, e.o, { what: `ep_remove_wait_queue() -> remove_wait_queue(${this.wqText(s, e)}) on freed memory`, actor: ACTORS[t] }, e, out);
      }
    }
    s.entries = s.entries.filter((e) => !snap.includes(e));
    this.tr && out.push({ actor: ACTORS[t], event: 'epoll_ctl(DEL) done', message: 'entry unlinked; rcu_read_unlock()' });
  }

  /** epoll removal done atomically (eventpoll_release at __fput, epoll_ctl DEL without POLLFREE users). */
  private epollRemove(s: State, t: number, f: number, et: number, out: TraceStep[], what: string): void {
    const mine = s.entries.filter((e) => e.k === 'e' && e.t === et && e.f === f);
    for (const e of mine) {
      if (!e.det && s.objs[e.o].st === 2) {
        this.violation(s, 'P1-epoll', e.o, { what: `${what} -> ep_remove_wait_queue(${this.wqText(s, e)}) on freed memory`, actor: ACTORS[t] }, e, out);
      }
    }
    s.entries = s.entries.filter((e) => !mine.includes(e));
  }

  private gracePeriod(s: State, out: TraceStep[]): void {
    // every synchronize_rcu() caller that was waiting has seen a full grace period
    for (const T of s.tasks) if (T.run?.gp !== undefined) delete T.run.gp;
    if (s.kw?.gp !== undefined) delete s.kw.gp;
    const freed = s.pend;
    s.pend = [];
    for (const o of freed) s.objs[o] = { ...s.objs[o], st: 2 };
    this.tr && out.push({ actor: 'rcu', event: 'grace period', message: freed.length ? `RCU callbacks run: ${freed.map((o) => s.objs[o].slot.slice(2)).join(', ')} freed` : 'synchronize_rcu() returns' });
  }

  private runAsync(s: State, i: number, out: TraceStep[]): void {
    const a = s.async.splice(i, 1)[0];
    const h = this.handlers.get(`cb:${a.cb}`);
    this.tr && out.push({ actor: 'kworker', event: `${a.m} callback`, handler: a.cb, message: `${a.cb}() runs for ${s.objs[a.o].slot.slice(2)}` });
    if (!h) return;
    const O = s.objs[a.o];
    if (O.st === 2) this.violation(s, 'P-async', a.o, { what: `${a.cb}() runs on freed memory`, actor: 'kworker', loc: h.loc ?? undefined }, null, out);
    this.start(s, KW, `cb:${a.cb}`, 0, 'async', out, `${a.m} callback`, a.o);
  }

  // ----------------------------------------------------------------------------------------
  // handlers

  /** Invoke a handler slot; undecided branches become separate successor states. */
  private call(s: State, t: number, key: string, f: number, k: Run['k'], out: TraceStep[], event: string): void {
    const h = this.handlers.get(key);
    if (k === 'select' || k === 'epoll') this.tr && out.push({ actor: ACTORS[t], event, message: `->poll registers on the waitqueues it passes to poll_wait()` });
    if (!h) { this.finish(s, t, { h: key, v: 0, i: 0, f, k, fr: [] }, out); return; }
    this.start(s, t, key, f, k, out, event);
  }

  private start(s: State, t: number, key: string, f: number, k: Run['k'], out: TraceStep[], event: string, host?: number): void {
    const h = this.handlers.get(key)!;
    // every variant is a separate successor (run() sets the override); one the state contradicts is skipped
    let v: number;
    if (this.variantOverride !== null) {
      v = this.variantOverride;
      this.variantOverride = null;
      if (v >= h.variants.length || !this.consistent(s, h, v, f, host, t, false)) throw SKIP;
    } else v = this.pickVariant(s, h, f, host, t);
    const run: Run = { h: key, v, i: 0, f, k, fr: [] };
    if (host !== undefined) run.host = host;
    if (k === 'select') run.reg = 's';
    if (k === 'epoll') run.reg = 'e';
    if (this.kernfsLike && (k === 'io' || k === 'select' || k === 'epoll' || k === 'poll')) { run.act = 1; s.active++; }
    if (t === KW) s.kw = run; else s.tasks[t].run = run;
    const assume = h.variants[v].assume;
    if (k !== 'select' && k !== 'epoll') {
      this.tr && out.push({ actor: ACTORS[t], event, handler: h.name, ...(h.loc ? { loc: h.loc } : {}), message: `${h.name}() runs${assume.length ? ` (taking: ${assume.join('; ')})` : ''}` });
    } else if (assume.length) {
      this.tr && out.push({ actor: ACTORS[t], event: '->poll', handler: h.name, ...(h.loc ? { loc: h.loc } : {}), message: `${h.name}() (taking: ${assume.join('; ')})` });
    }
    this.resume(s, t, out);
  }

  /**
   * Variants are explored through `variantOverride`: enabled() creates one event per variant
   * by setting it before firing. Kept as a field to avoid threading it through every event.
   */
  private variantOverride: number | null = null;
  /** layout-lease or blocking-close: pins need a lease, and a lease may not end under them */
  private leasePolicy = false;

  private pickVariant(s: State, h: HandlerModel, f: number, host: number | undefined, t: number): number {
    // the first variant consistent with what the state knows about guarded pointers
    this.memo.s = null; // (s may have changed since a test was remembered for it)
    for (let v = 0; v < h.variants.length; v++) if (this.consistent(s, h, v, f, host, t, true)) return v;
    return 0;
  }

  /**
   * Whether variant `v` of `h` can run from state `s` on this file, host and task. With `memo`,
   * each distinct test is asked of the state once for all the handler's variants (the search
   * tests every variant of a handler against one state; they share most of their steps' tests).
   * The caller guarantees that `s` does not change between calls with memo for the same key.
   */
  private consistent(s: State, h: HandlerModel, v: number, f: number, host: number | undefined, t: number, memo: boolean): boolean {
    const tab = this.assumptions(h);
    const ids = tab.per[v];
    if (!ids.length) return true;
    const m = this.memo;
    if (memo && (m.s !== s || m.h !== h || m.f !== f || m.host !== host || m.t !== t)) {
      m.s = s; m.h = h; m.f = f; m.host = host; m.t = t;
      if (m.r.length < tab.distinct.length) m.r = new Int8Array(tab.distinct.length * 2);
      m.r.fill(-1, 0, tab.distinct.length);
    }
    for (const i of ids) {
      let r = memo ? m.r[i] : -1;
      if (r < 0) {
        const g = tab.distinct[i];
        r = this.holds(s, g, this.inst(g.slot, f, host, t)) ? 1 : 0;
        if (memo) m.r[i] = r;
      }
      if (r === 0) return false;
    }
    return true;
  }
  private memo: { s: State | null; h: HandlerModel | null; f: number; host: number | undefined; t: number; r: Int8Array } = { s: null, h: null, f: -1, host: undefined, t: -1, r: new Int8Array(64) };

  /**
   * What each variant of a handler assumes of the state: its own guards, then its steps' branch
   * guards (only a branch assumption can be contradicted; an early-return guard just skips the
   * step), as indices into the handler's distinct tests. Predicate guards decide nothing here
   * (holds) and are left out. Built once per handler: deep summaries give thousands of steps.
   */
  private assumptions(h: HandlerModel): { distinct: Guard[]; per: number[][] } {
    let tab = this.assumed.get(h);
    if (tab) return tab;
    const distinct: Guard[] = [];
    const byKey = new Map<string, number>();
    const id = (g: Guard): number => {
      const k = `${g.slot}\0${g.nonnull ? 1 : 0}\0${g.value ?? ''}`;
      let i = byKey.get(k);
      if (i === undefined) { i = distinct.length; byKey.set(k, i); distinct.push(g); }
      return i;
    };
    const per = h.variants.map((variant) => {
      const ids: number[] = [];
      const add = (g: Guard) => { if (g.pred !== undefined) return; const i = id(g); if (!ids.includes(i)) ids.push(i); };
      for (const g of variant.guards ?? []) add(g);
      for (const st of variant.steps) for (const g of st.guards) if (g.branch) add(g);
      return ids;
    });
    tab = { distinct, per };
    this.assumed.set(h, tab);
    return tab;
  }
  private assumed = new Map<HandlerModel, { distinct: Guard[]; per: number[][] }>();

  /** A live lock (cgroup_kn_lock_live) once removal of an rmdir-only cgroup file began: it fails. */
  private deadCgroup(s: State, op: Op): boolean {
    return op.op === 'lock' && !!op.live && !!this.m.rmdirOnly && !!s.deact;
  }

  private canResume(s: State, r: Run): boolean {
    if (r.gp !== undefined) return false;
    if (r.lk !== undefined && s.locks[r.lk] !== undefined) return false;
    return true;
  }

  private resume(s: State, t: number, out: TraceStep[]): void {
    const run = t === KW ? s.kw! : s.tasks[t].run!;
    const h = this.handlers.get(run.h)!;
    const steps = h.variants[run.v].steps;
    if (run.lk !== undefined) {
      const waited = steps[run.i - 1]?.op;
      if (waited?.op === 'lock' && this.deadCgroup(s, waited)) {
        // cgroup_kn_lock_live(): the cgroup died meanwhile; it drops the mutex and returns NULL
        delete run.lk;
        run.i = steps.length;
        this.tr && out.push({ actor: ACTORS[t], event: 'lock', handler: h.name, message: `gets ${waited.lock.slice(2)}, finds the cgroup dead (removed) and returns: the handler fails` });
      } else { s.locks[run.lk] = t; this.tr && out.push({ actor: ACTORS[t], event: 'lock', handler: h.name, message: `takes ${run.lk.slice(2)} again` }); delete run.lk; }
    }
    while (run.i < steps.length) {
      const st = steps[run.i++];
      const y = this.exec(s, t, run, st, out);
      if (y) return;
    }
    this.finish(s, t, run, out);
  }

  private finish(s: State, t: number, run: Run, out: TraceStep[]): void {
    for (const k of new Set(run.pn ?? [])) {
      const p = s.pins.find((x) => x.k === k);
      if (!p) continue;
      const op = this.stepList[p.s].op as Extract<Op, { op: 'pin' }>;
      if (op.gup || !op.longterm) {
        this.tr && out.push({ actor: ACTORS[t], event: 'return', handler: this.handlers.get(run.h)!.name, message: `the call returns with the pages in ${this.stepList[p.s].text} still pinned: the pin outlives the syscall` });
        this.pinViolation('P6', p, out, op.gup ? 'pages taken with get_user_pages*() (FOLL_GET) are kept after the call returns' : 'pages pinned without FOLL_LONGTERM are kept after the call returns');
      }
    }
    if (t === KW) s.kw = null; else s.tasks[t].run = null;
    if (run.act && !run.brk) s.active--;
    // a handler's locks go with it; the remover keeps the lock it severs under
    for (const [l, holder] of Object.entries(s.locks)) if (holder === t && !(s.tasks[t]?.drain && l === this.m.severLock)) delete s.locks[l];
    switch (run.k) {
      case 'select': s.tasks[t].sel = 1; this.tr && out.push({ actor: ACTORS[t], event: 'select() sleeps', message: 'task sleeps in select() with its poll-table entries queued' }); break;
      case 'epoll': if (!s.files[run.f].ep.includes(t)) s.files[run.f].ep.push(t); break;
      case 'fput': this.fileGone(s, run.f, out, t); break;
      default: break;
    }
  }

  /** Execute one step. Returns true when the handler yields (sleeps) after it. */
  private exec(s: State, t: number, run: Run, st: Step, out: TraceStep[]): boolean {
    const A = ACTORS[t];
    const op = st.op;
    // a step whose guard the state contradicts does not happen (a guard on something this
    // run itself wrote was tested before the write: `if (p) return; p = alloc(); p->x = ...`)
    let seen: [string, number][] | null = null;
    for (const g of st.guards) {
      const key = this.inst(g.slot, run.f, run.host, t);
      if (run.w?.some((w) => w === key || isUnder(key, w))) continue;
      if (!this.holds(s, g, key)) return false;
      // a tracked field seen holding a constant holds it now (outside code may move it on later)
      if (g.value !== undefined && g.nonnull && this.fresh.has(g.slot)) (seen ??= []).push([key, this.valCode(g.slot, g.value)]);
    }
    if (seen) for (const [key, v] of seen) s.vals[key] = v;
    const say = (message: string) => this.tr && out.push({ actor: A, event: st.api, handler: st.chain.join(' -> '), loc: st.loc, message });
    switch (op.op) {
      case 'alloc': {
        const key = this.inst(op.slot, run.f, run.host, t);
        s.slots[key] = this.newObj(s, op.slot);
        s.vals[key] = 1;
        // a new object: what was known about its fields is gone; zeroed ones start NULL
        for (const k of Object.keys(s.vals)) if (isUnder(k, key)) delete s.vals[k];
        s.zero = s.zero.filter((z) => z !== key && !isUnder(z, key));
        if (op.zero) s.zero.push(key);
        wrote(run, key);
        this.tr && say(`allocates ${st.text}`);
        return false;
      }
      case 'free': {
        const o = this.objAt(s, op.slot, run, st, A, out);
        if (s.objs[o].st !== 0) return false; // already going: a double free is another rule's business
        run.fr.push(o);
        this.freeObj(s, o, op.mode, this.stepIds.get(st)!, t, out, st.api, `frees ${st.text}${op.mode === 'rcu' ? ' after a grace period' : ''}`, run, st);
        // task-owned objects are looked up from `current` at each use: the next use finds a new one
        if (op.slot.startsWith('t:')) delete s.slots[this.inst(op.slot, run.f, run.host, t)];
        return false;
      }
      case 'syncRcu': {
        run.gp = 1;
        run.sr = 1;
        this.tr && say('waits for an RCU grace period (sleeps)');
        return true;
      }
      case 'pollWait': {
        const o = this.objAt(s, op.slot, run, st, A, out);
        if (run.reg) this.register(s, t, run, o, op.wq, st, out);
        return false;
      }
      case 'genericPoll': {
        if (run.reg && s.on >= 0) this.register(s, t, run, s.on, 'poll', st, out);
        return false;
      }
      case 'wake': {
        const o = this.objAt(s, op.slot, run, st, A, out);
        if (op.pollfree) {
          s.objs[o] = { ...s.objs[o], pf: 1 };
          let n = 0;
          // ep_poll_callback on POLLFREE unlinks the entry and publishes whead = NULL; only a
          // remover already inside its RCU read section still holds the old head
          const reading = new Set(s.tasks.flatMap((T) => T.rd ?? []));
          const next: Entry[] = [];
          for (const e of s.entries) {
            if (!(e.o === o && e.wq === op.wq && e.k === 'e' && !e.det)) { next.push(e); continue; }
            n++;
            if (reading.has(e.rl)) next.push({ ...e, det: 1 });
          }
          s.entries = next;
          const sel = s.entries.filter((e) => e.o === o && e.wq === op.wq && e.k === 's').length;
          this.tr && say(`wake_up_pollfree(${st.text}): ${n} epoll entr${n === 1 ? 'y' : 'ies'} detached${sel ? `; ${sel} select entr${sel === 1 ? 'y stays' : 'ies stay'} queued (select ignores POLLFREE)` : ''}`);
        }
        return false;
      }
      case 'notify': return false;
      case 'deref': {
        this.objAt(s, op.slot, run, st, A, out);
        return false;
      }
      case 'store': {
        const key = this.inst(op.slot, run.f, run.host, t);
        s.vals[key] = op.konst !== undefined && this.fresh.has(op.slot) ? this.valCode(op.slot, op.konst) : op.value === 'null' ? 0 : 1;
        // another object that already existed: what the slot held is no longer reached through it
        if (op.rebind) {
          s.slots[key] = this.newObj(s, op.slot);
          for (const k of Object.keys(s.vals)) if (isUnder(k, key)) delete s.vals[k];
          s.zero = s.zero.filter((z) => z !== key && !isUnder(z, key));
        }
        wrote(run, key);
        return false;
      }
      case 'breakActive': {
        if (run.act && !run.brk) { run.brk = 1; s.active--; this.tr && say('kernfs_break_active_protection(): this handler no longer holds off removal'); }
        return false;
      }
      case 'unbreakActive': return false;
      case 'lock': {
        const l = op.lock;
        if (run.brk) {
          // taking a sleeping lock with the active reference broken: removal may run first
          run.lk = l;
          this.tr && say(`waits for ${l.slice(2)} with active protection broken`);
          return true;
        }
        if (s.locks[l] !== undefined && s.locks[l] !== t) { run.lk = l; return true; }
        if (this.deadCgroup(s, op)) {
          run.i = this.handlers.get(run.h)!.variants[run.v].steps.length;
          this.tr && say(`finds the cgroup dead (removed) and returns: the handler fails`);
          return false;
        }
        s.locks[l] = t;
        return false;
      }
      case 'unlock': {
        const l = op.lock;
        if (s.locks[l] === t) delete s.locks[l];
        return false;
      }
      case 'asyncArm': {
        const o = this.objAt(s, op.slot, run, st, A, out);
        if (!s.async.some((a) => a.o === o && a.cb === op.callback)) s.async.push({ o, cb: op.callback, m: op.mechanism, c: this.keys.sid(op.callback) });
        this.tr && say(`arms ${op.callback}() (${op.mechanism}) on ${st.text}`);
        return false;
      }
      case 'asyncCancel': {
        const o = this.objAt(s, op.slot, run, st, A, out);
        const before = s.async.length;
        s.async = s.async.filter((a) => a.o !== o);
        if (before !== s.async.length) this.tr && say(`cancels pending callbacks on ${st.text}`);
        return false;
      }
      case 'pin': {
        const key = this.inst(op.slot, run.f, run.host, t);
        const rec: PinRec = { k: key, f: op.slot.startsWith('f:') ? run.f : -1, s: this.stepIds.get(st)!, t };
        s.pins = [...s.pins.filter((p) => p.k !== key), rec];
        (run.pn ??= []).push(key);
        // the slot now holds the pinned pages (`mr->umem = ib_umem_get(..)` stores them): not NULL
        s.vals[key] = 1;
        wrote(run, key);
        const how = op.gup ? 'with get_user_pages (FOLL_GET), which is not a pin the kernel tracks as long term'
          : op.longterm ? 'long term (FOLL_LONGTERM)' : 'without FOLL_LONGTERM';
        this.tr && say(`pins user pages into ${st.text} ${how}`);
        if (op.gup && op.longterm) this.pinViolation('P6', rec, out, 'get_user_pages*() with FOLL_LONGTERM: the kernel warns and refuses it (mm/gup.c); long-term pins must use pin_user_pages*()');
        // under the lease policies the pin's owner must hold a layout lease on the pinned file
        if (this.leasePolicy && op.longterm && !op.gup && !s.leases.some((k) => k.startsWith(`${run.f}|`) || k.startsWith('n|'))) {
          this.pinViolation('P6', rec, out, `pages kept long term while the pin's owner holds no layout lease on the pinned file (pinPolicy ${this.o.pinPolicy ?? this.m.pinPolicy})`);
        }
        return false;
      }
      case 'setLease': {
        const key = this.inst(op.slot, run.f, run.host, t);
        if (!s.leases.includes(key)) s.leases = [...s.leases, key];
        this.tr && say(`takes a lease on the file at ${st.text}`);
        return false;
      }
      case 'dropLease': case 'fileRef': {
        const key = this.inst(op.slot, run.f, run.host, t);
        if (!s.leases.includes(key)) return false;
        s.leases = s.leases.filter((k) => k !== key);
        const held = s.pins.filter((p) => p.f === run.f || p.f === -1);
        this.tr && say(op.op === 'dropLease' ? `drops the lease on the file at ${st.text} (F_UNLCK)${held.length ? ' while pages pinned under it are still pinned' : ''}`
          : `drops its reference to the leased file at ${st.text}: the lease ends with it${held.length ? ', while pages pinned under it are still pinned' : ''}`);
        if (held.length && this.leasePolicy) this.pinViolation('P7', held[0], out, `${st.api}(${st.text}) ends the lease while pages pinned under it remain`, st.loc);
        return false;
      }
      case 'unpin': {
        const key = this.inst(op.slot, run.f, run.host, t);
        const before = s.pins.length;
        s.pins = s.pins.filter((p) => p.k !== key && !(op.handoff && isUnder(p.k, key)));
        if (before !== s.pins.length) this.tr && say(op.handoff ? `hands ${st.text} to ${st.api}(), which kernlife cannot see: its pins are taken as released there` : `unpins the pages in ${st.text}`);
        return false;
      }
    }
  }

  private register(s: State, t: number, run: Run, o: number, wq: string, st: Step, out: TraceStep[]): void {
    const k = run.reg!;
    const rl = s.nreg++;
    s.entries.push({ k, t, f: run.f, o, wq, w: this.keys.sid(wq), rl, reg: { step: this.stepIds.get(st)!, kind: k } });
    const where = st.op.op === 'genericPoll' ? 'the kernfs open node\'s waitqueue (on->poll)' : st.text;
    if (k === 's') {
      s.files[run.f].c++;
      this.tr && out.push({ actor: ACTORS[t], event: st.api, handler: st.chain.join(' -> '), loc: st.loc, message: `select entry on ${where}; it holds a reference to file #${run.f + 1} (f_count = ${s.files[run.f].c})` });
    } else {
      this.tr && out.push({ actor: ACTORS[t], event: st.api, handler: st.chain.join(' -> '), loc: st.loc, message: `epoll entry on ${where}; epoll holds no file reference` });
    }
    if (s.objs[o].st === 2) this.violation(s, k === 's' ? 'P1-select' : 'P1-epoll', o, { what: `registers on freed ${where}`, actor: ACTORS[t], loc: st.loc }, null, out);
  }

  private freeObj(s: State, o: number, mode: 'now' | 'rcu', stepId: number, t: number, out: TraceStep[], api: string, msg: string, run?: Run, st?: Step): void {
    const O = s.objs[o];
    const rec: FreeRec = { step: stepId, actor: t, ev: run ? run.k : 'internal', rcu: mode === 'rcu' || run?.sr ? 1 : 0, pf: O.pf ? 1 : 0 };
    const n: Obj = { slot: O.slot, n: O.n, st: mode === 'rcu' ? 1 : 2, fr: rec };
    if (O.pf) n.pf = O.pf;
    s.objs[o] = n;
    if (mode === 'rcu') s.pend.push(o);
    if (!this.tr) return;
    if (st) {
      const polled = s.entries.filter((e) => e.o === o);
      const note = polled.length ? ` — ${polled.filter((e) => e.k === 's').length} select and ${polled.filter((e) => e.k === 'e' && !e.det).length} attached epoll entries still point into it` : '';
      out.push({ actor: ACTORS[t], event: api, handler: st.chain.join(' -> '), loc: st.loc, message: msg + note });
    } else {
      out.push({ actor: t === KW ? 'kworker' : ACTORS[t], event: api, message: msg });
    }
  }

  private objAt(s: State, slot: Slot, run: Run, st: Step, A: Actor, out: TraceStep[]): number {
    const key = this.inst(slot, run.f, run.host, ACTORS.indexOf(A));
    let o = s.slots[key];
    if (o === undefined) {
      // an object the model did not see allocated: it exists (set up by whoever created the node)
      o = this.newObj(s, slot);
      s.slots[key] = o;
    }
    if (s.objs[o].st === 2 && !run.fr.includes(o)) {
      this.violation(s, run.k === 'async' ? 'P-async' : 'P2', o, { what: `${st.api}: ${st.text} used after it was freed`, actor: A, loc: st.loc }, null, out);
    }
    return o;
  }

  /** What the state knows of a pointer: set, NULL, or (undefined) unknown. */
  private val(s: State, key: string): number | undefined {
    const v = s.vals[key];
    if (v !== undefined) return v;
    // inside a zero-allocated object and not written since: NULL
    if (s.zero.length === 0) return undefined;
    let best = '';
    for (const k of Object.keys(s.slots)) if (isUnder(key, k) && k.length > best.length) best = k;
    return best && s.zero.includes(best) ? 0 : undefined;
  }

  private newObj(s: State, slot: string): number {
    s.objs.push({ slot, n: this.keys.sid(slot), st: 0 });
    return s.objs.length - 1;
  }

  /**
   * A slot's instance for this file, task or async host, as an interned string: the same
   * instance is always the same string object, so maps hash it once.
   */
  private inst(slot: Slot, f: number, host?: number, task = -1): string {
    const c = slot.charCodeAt(0);
    const n = c === 102 /* f */ ? f : c === 116 /* t */ ? task : c === 104 /* h */ ? (host ?? -1) : 0;
    let m = this.instances.get(slot);
    if (!m) { m = new Map(); this.instances.set(slot, m); }
    let k = m.get(n);
    if (k === undefined) {
      k = c === 102 ? `${f}|${slot.slice(2)}` : c === 116 ? `t${task}|${slot.slice(2)}` : c === 104 ? `h${host ?? -1}|${slot.slice(2)}` : `n|${slot.slice(2)}`;
      m.set(n, k);
    }
    return k;
  }
  private instances = new Map<string, Map<number, string>>();
  /** State keys, with small numbers for the strings they name (instances, slots, waitqueues, callbacks, locks). */
  private keys = new KeyEncoder();

  /**
   * The state's identity. Where exchanging open files #1 and #2 is a symmetry of the model
   * from this state on, a state and its mirror image are one state: the key is the key of one
   * orientation both of them pick (the one whose file #1 record orders first, else the smaller
   * key). Breadth-first search with such a key keeps, of every class of mirror states, the
   * first one the plain search would have reached, by the same path; a mirror reached later has
   * the mirrored successors and violations (same kinds, same lengths) of one reached earlier, so
   * the states kept, their order and the traces found are those of the plain search (only the
   * transitions out of the dropped mirrors are not fired again).
   */
  private stateKey(s: State): string {
    if (!this.mirrorable(s)) return this.keys.key(s, false);
    // the files' own records decide the orientation when they differ (a state and its mirror
    // then pick the same one); only equal records need both keys
    const c = fileOrder(s.files[0], s.files[1]);
    if (c !== 0) return this.keys.key(s, c > 0);
    const k = this.keys.key(s, false);
    const m = this.keys.key(s, true);
    return m < k ? m : k;
  }

  /**
   * Whether exchanging files #1 and #2 is a symmetry from this state on. Every event treats the
   * files alike (by what they hold, not by their number) except removal's drain, which
   * releases the open files in open order; it is a symmetry once at most one of the two is
   * still waiting for the drain (open, not yet released), a condition no later event undoes.
   * Opens add files after these two, so a third file (maxFiles > 2) keeps its number.
   */
  private mirrorable(s: State): boolean {
    if (s.files.length < 2 || this.o.symmetry === false) return false;
    if (!this.m.severable || s.removed) return true;
    const [a, b] = s.files;
    return !(a.st < 2 && !a.rel && b.st < 2 && !b.rel);
  }

  private wqText(s: State, e: Entry): string {
    const O = s.objs[e.o];
    return O.slot === 'n:@open_node' ? 'on->poll' : `&${O.slot.slice(2)}->${e.wq}`;
  }

  private pinViolation(property: Property, p: PinRec, out: TraceStep[], what: string, at?: Loc): never {
    const st = this.stepList[p.s];
    const key = violationKey(property, st.text, st.loc);
    if (!this.tr) throw new Found(key, null, out);
    const op = st.op as Extract<Op, { op: 'pin' }>;
    const h = [...this.handlers.values()].find((x) => x.variants.some((v) => v.steps.includes(st)));
    throw new Found(key, {
      property, object: st.text, free: null,
      use: { what, actor: ACTORS[p.t] ?? 'kworker', loc: at ?? st.loc },
      afterPollfree: false, rcuDelayed: false,
      pin: { loc: st.loc, api: st.api, chain: st.chain, actor: ACTORS[p.t] ?? 'kworker', text: st.text, longterm: op.longterm, gup: op.gup, handler: h ? `.${h.field}` : '' },
    }, out);
  }

  private violation(s: State, property: Property, o: number, use: Violation['use'], e: Entry | null, out: TraceStep[]): never {
    const O = s.objs[o];
    const fr = O.fr;
    const fstep = fr && fr.step >= 0 ? this.stepList[fr.step] : undefined;
    const object = O.slot === 'n:@open_node' ? 'kernfs open node' : O.slot.slice(2);
    const key = violationKey(property, object, fstep?.loc);
    if (!this.tr) throw new Found(key, null, out);
    const reg = e ? e.reg : undefined;
    const rstep = reg ? this.stepList[reg.step] : undefined;
    out.push({ actor: use.actor, event: 'use after free', ...(use.loc ? { loc: use.loc } : {}), message: use.what });
    throw new Found(key, {
      property,
      object,
      free: fstep ? { loc: fstep.loc, api: fstep.api, chain: fstep.chain, actor: ACTORS[fr!.actor] ?? 'kworker', event: fr!.ev } : null,
      use,
      afterPollfree: !!fr?.pf,
      rcuDelayed: !!fr?.rcu,
      ...(rstep && reg ? { registration: { loc: rstep.loc, chain: rstep.chain, kind: reg.kind === 's' ? 'select' : 'epoll' } } : {}),
    }, out);
  }

}


/** A violation's kind: property, object, and where it was freed or pinned. */
function violationKey(property: Property, object: string, at: Loc | undefined): string {
  return `${property}|${object}|${at ? `${at.file}:${at.line}:${at.col}` : '-'}`;
}

/**
 * Compares two open files' own records (count, state, released, epoll owners): negative when
 * `a` orders first, positive when `b` does, 0 when equal. Exchanging the files negates it.
 */
function fileOrder(a: FileSt, b: FileSt): number {
  if (a.c !== b.c) return a.c - b.c;
  if (a.st !== b.st) return a.st - b.st;
  const ra = a.rel ?? 0;
  const rb = b.rel ?? 0;
  if (ra !== rb) return ra - rb;
  if (a.ep.length !== b.ep.length) return a.ep.length - b.ep.length;
  for (let i = 0; i < a.ep.length; i++) if (a.ep[i] !== b.ep[i]) return a.ep[i] - b.ep[i];
  return 0;
}

const RUN_KINDS: Run['k'][] = ['open', 'io', 'select', 'epoll', 'fput', 'drain', 'async', 'poll', 'remove'];

/**
 * The identity of a state for hashing: everything but who freed an object and which step
 * registered an entry, which only explain a violation. Two states that differ only there have
 * the same futures; BFS keeps the first, whose trace is the shortest.
 *
 * The key is a short string of small numbers (one UTF-16 unit each) rather than readable text:
 * the search hashes one per transition, and hashing and flattening a long concatenated string
 * was most of the cost. With `swap` the key is that of the state with open files #1 and #2
 * exchanged (file indices, and the per-file slot instances `0|..` and `1|..`): the search uses
 * the smaller of the two as the state's identity where the exchange is a symmetry of the model.
 */
class KeyEncoder {
  /** values a `vals` entry can take (2: NULL or set; more with tracked constants) */
  vb = 2;
  private b: number[] = [];
  /** interned id -> the id of the same instance on the other file (files #1 and #2 exchanged) */
  private swapped: number[] = [];
  private names: string[] = [];
  private ids = new Map<string, number>();

  sid(x: string): number {
    let n = this.ids.get(x);
    if (n === undefined) { n = this.names.length; this.ids.set(x, n); this.names.push(x); }
    return n;
  }

  /** sid under the file exchange: `0|x` <-> `1|x`, everything else itself */
  private ssid(x: string, sw: boolean): number {
    const n = this.sid(x);
    if (!sw) return n;
    let m = this.swapped[n];
    if (m === undefined) {
      const c = x.charCodeAt(0);
      m = (c === 48 || c === 49) && x.charCodeAt(1) === 124 /* | */ ? this.sid(`${c === 48 ? 1 : 0}${x.slice(1)}`) : n;
      this.swapped[n] = m;
    }
    return m;
  }

  /** objects numbered in this key, in order of first reference (gen[o] === g: numbered as num[o]) */
  private order: number[] = [];
  private gen: number[] = [];
  private num: number[] = [];
  private g = 0;

  private id(o: number): number {
    if (o < 0) return 0;
    if (this.gen[o] === this.g) return this.num[o] + 1;
    this.gen[o] = this.g;
    this.num[o] = this.order.length;
    this.order.push(o);
    return this.order.length;
  }

  private numbered(o: number): boolean {
    return this.gen[o] === this.g;
  }

  key(s: State, sw: boolean): string {
    const b = this.b;
    b.length = 0;
    this.order.length = 0;
    this.g++;
    const nf = s.files.length;
    b.push(nf);
    for (let i = 0; i < nf; i++) {
      const f = s.files[fm(i, sw)];
      b.push(f.c, f.st, f.rel ?? 0, f.ep.length);
      for (const x of f.ep) b.push(x);
    }
    // slots in a fixed order (by interned id) so that objects are numbered the same way in equal states
    const ks = this.ks;
    const os = this.os;
    let n = 0;
    for (const name in s.slots) {
      const x = this.ssid(name, sw);
      const o = s.slots[name];
      let j = n - 1;
      while (j >= 0 && ks[j] > x) { ks[j + 1] = ks[j]; os[j + 1] = os[j]; j--; }
      ks[j + 1] = x;
      os[j + 1] = o;
      n++;
    }
    b.push(n);
    for (let i = 0; i < n; i++) b.push(ks[i], this.id(os[i]));
    // entries: numbered in list order, then sorted as tuples of 6
    const ne = s.entries.length;
    b.push(ne);
    if (ne === 1) {
      const e = s.entries[0];
      b.push(e.k === 's' ? 0 : 1, e.t, fm(e.f, sw), this.id(e.o), e.w, e.det ?? 0);
    } else if (ne > 1) {
      const es = this.es;
      es.length = 0;
      for (const e of s.entries) es.push(e.k === 's' ? 0 : 1, e.t, fm(e.f, sw), this.id(e.o), e.w, e.det ?? 0);
      sortTuples(es, 6);
      for (const x of es) b.push(x);
    }
    b.push(s.async.length);
    for (const a of s.async) b.push(this.id(a.o), a.c);
    b.push(this.id(s.on));
    for (const T of s.tasks) {
      const fl = T.fds.length;
      b.push(fl);
      if (fl === 1) b.push(fm(T.fds[0], sw));
      else if (fl > 1) {
        const start = b.length;
        for (const f of T.fds) b.push(fm(f, sw));
        sortRange(b, start);
      }
      this.run(T.run, sw);
      b.push(T.sel ?? 0, T.drain ?? 0, T.work.length);
      for (const f of T.work) b.push(fm(f, sw));
      if (T.rd) {
        b.push(T.rd.length + 1);
        for (const rl of T.rd) {
          const e = s.entries.find((x) => x.rl === rl);
          if (e) b.push(1, e.t, fm(e.f, sw), this.id(e.o), e.w); else b.push(0);
        }
      } else b.push(0);
    }
    this.run(s.kw, sw);
    // an RCU-pending object nothing points at any more is as good as freed
    let start = b.length;
    b.push(0);
    for (const o of s.pend) if (this.numbered(o)) b.push(this.id(o));
    this.closeList(start);
    const order = this.order;
    b.push(order.length);
    for (const o of order) { const O = s.objs[o]; b.push(O.n, O.st, O.pf ?? 0); }
    start = b.length;
    b.push(0);
    for (const x in s.vals) b.push(this.ssid(x, sw) * this.vb + s.vals[x]);
    this.closeList(start);
    start = b.length;
    b.push(0);
    for (const x of s.zero) b.push(this.ssid(x, sw));
    this.closeList(start);
    b.push(s.deact ?? 0, s.removed ?? 0, s.unbound ?? 0, s.active);
    start = b.length;
    b.push(0);
    for (const x in s.locks) b.push(this.sid(x) * 4 + s.locks[x]);
    this.closeList(start);
    start = b.length;
    b.push(0);
    for (const p of s.pins) b.push(this.ssid(p.k, sw));
    this.closeList(start);
    start = b.length;
    b.push(0);
    for (const x of s.leases) b.push(this.ssid(x, sw));
    this.closeList(start);
    return encode(b);
  }

  /** scratch for key(): slot ids and their objects, entry tuples */
  private ks: number[] = [];
  private os: number[] = [];
  private es: number[] = [];

  /** b[start] is a placeholder: the list after it is sorted in place and its length written there */
  private closeList(start: number): void {
    const b = this.b;
    b[start] = b.length - start - 1;
    sortRange(b, start + 1);
  }

  private run(r: Run | null, sw: boolean): void {
    const b = this.b;
    if (!r) { b.push(0); return; }
    b.push(1, this.sid(r.h), r.v, r.i, fm(r.f, sw), RUN_KINDS.indexOf(r.k), r.act ?? 0, r.brk ?? 0, r.gp ?? 0, r.sr ?? 0,
      r.lk === undefined ? 0 : this.sid(r.lk) + 1, r.reg === undefined ? 0 : r.reg === 's' ? 1 : 2);
    b.push(r.host === undefined ? 0 : this.id(r.host) + 1);
    let start = b.length;
    b.push(0);
    for (const o of r.fr) b.push(this.id(o));
    this.closeList(start);
    if (r.w) { start = b.length; b.push(0); this.distinct(r.w, sw); this.closeList(start); } else b.push(-1);
    if (r.pn) { start = b.length; b.push(0); this.distinct(r.pn, sw); this.closeList(start); } else b.push(-1);
  }

  /** push the distinct ids of these instances */
  private distinct(xs: string[], sw: boolean): void {
    const b = this.b;
    const from = b.length;
    for (const x of xs) {
      const id = this.ssid(x, sw);
      let dup = false;
      for (let i = from; i < b.length; i++) if (b[i] === id) { dup = true; break; }
      if (!dup) b.push(id);
    }
  }
}

/** The run wrote this slot instance (alloc/store/pin): its guards on it are tested before the write. Kept once each. */
function wrote(run: Run, key: string): void {
  const w = (run.w ??= []);
  if (!w.includes(key)) w.push(key);
}

/** A file's number in the key: with `sw`, files #1 and #2 exchanged. */
function fm(f: number, sw: boolean): number {
  return sw && f < 2 ? 1 - f : f;
}

/** Sorts b[from..] in place (insertion sort: the lists are short). */
function sortRange(b: number[], from: number): void {
  for (let i = from + 1; i < b.length; i++) {
    const x = b[i];
    let j = i - 1;
    while (j >= from && b[j] > x) { b[j + 1] = b[j]; j--; }
    b[j + 1] = x;
  }
}

/** Sorts a flat list of w-tuples lexicographically, in place (insertion sort). */
function sortTuples(a: number[], w: number): void {
  const n = a.length / w;
  const tmp: number[] = new Array(w);
  for (let i = 1; i < n; i++) {
    for (let k = 0; k < w; k++) tmp[k] = a[i * w + k];
    let j = i - 1;
    for (; j >= 0; j--) {
      let c = 0;
      for (let k = 0; k < w && c === 0; k++) c = a[j * w + k] - tmp[k];
      if (c <= 0) break;
      for (let k = 0; k < w; k++) a[(j + 1) * w + k] = a[j * w + k];
    }
    for (let k = 0; k < w; k++) a[(j + 1) * w + k] = tmp[k];
  }
}

/** Numbers as UTF-16 code units: below 0xfffe one unit each, anything else escaped (exact, injective). */
function encode(b: number[]): string {
  let big = false;
  for (const x of b) if (x < 0 || x >= 0xfffe) { big = true; break; }
  if (!big) return b.length < 4096 ? String.fromCharCode.apply(null, b) : chunked(b);
  const c: number[] = [];
  for (const x of b) {
    if (x === -1) c.push(0xffff);
    else if (x >= 0 && x < 0xfffe) c.push(x);
    else { if (x < 0 || x > 0xffffffff) throw new Error(`internal: state key value ${x}`); c.push(0xfffe, x >>> 16, x & 0xffff); }
  }
  return chunked(c);
}

function chunked(b: number[]): string {
  let out = '';
  for (let i = 0; i < b.length; i += 4096) out += String.fromCharCode.apply(null, b.slice(i, i + 4096));
  return out;
}

/** A deep copy of a state (hand-written, one shape per record: the search clones once per transition). */
function clone(s: State): State {
  const files: FileSt[] = new Array(s.files.length);
  for (let i = 0; i < files.length; i++) {
    const f = s.files[i];
    const n: FileSt = { c: f.c, st: f.st, ep: f.ep.length ? f.ep.slice() : [] };
    if (f.rel) n.rel = f.rel;
    files[i] = n;
  }
  const tasks: Task[] = new Array(s.tasks.length);
  for (let i = 0; i < tasks.length; i++) {
    const T = s.tasks[i];
    const n: Task = { fds: T.fds.slice(), run: T.run && cloneRun(T.run), work: T.work.length ? T.work.slice() : [] };
    if (T.sel) n.sel = T.sel;
    if (T.rd) n.rd = T.rd.slice();
    if (T.drain) n.drain = T.drain;
    tasks[i] = n;
  }
  const c: State = {
    files,
    tasks,
    // objects and entries are replaced, never changed in place: the arrays can be shared copies
    objs: s.objs.slice(),
    slots: { ...s.slots },
    vals: { ...s.vals },
    zero: s.zero.slice(),
    entries: s.entries.slice(),
    active: s.active,
    on: s.on,
    pend: s.pend.slice(),
    // (async items are replaced, never changed in place)
    async: s.async.slice(),
    kw: s.kw && cloneRun(s.kw),
    locks: { ...s.locks },
    pins: s.pins.slice(),
    leases: s.leases.slice(),
    nreg: s.nreg,
  };
  if (s.deact) c.deact = s.deact;
  if (s.removed) c.removed = s.removed;
  if (s.unbound) c.unbound = s.unbound;
  return c;
}

function cloneRun(r: Run): Run {
  const n: Run = { ...r, fr: r.fr.slice() };
  if (r.w) n.w = r.w.slice();
  if (r.pn) n.pn = r.pn.slice();
  return n;
}
