/**
 * From facts to a simulator model: one ops table, its handlers' cross-file summaries, and the
 * provider's own glue (cgroup allocates of->priv around cft->open and frees it after
 * cft->release; kernfs polls on the open node when there is no ->poll).
 *
 * Access paths become slots relative to what the kernel passes the handler: a
 * `struct kernfs_open_file *` or `struct file *` parameter is the open file (one slot space
 * per open file), an inode or a global is shared by every file, and an async callback's
 * `container_of(work, ...)` is the object the callback was armed on.
 */
import type { Effect, FunctionFacts, Loc, OpsTable, ReachLit, Term } from '../facts/types';
import { render, root, rootOf, substitute } from '../facts/terms';
import type { Index } from '../index/index';
import { OPS_STRUCTS, PROVIDER_GLUE } from '../knowledge/kernel';
import { isUnder, type Guard, type HandlerModel, type HandlerRole, type Op, type Provider, type Step, type TableModel } from './model';

const PROCFS_REMOVERS = new Set(PROVIDER_GLUE.procfsRemovers);
const OBJECT_TABLES = new Map(OPS_STRUCTS.filter((r) => r.object).map((r) => [r.kind, r.object!]));
const MAX_ENUMERATED_ATOMS = 3;
/** Early exits explored taken (the first ones that do something when taken), one at a time, beside the straight line. */
const MAX_EXIT_CHOICES = 6;

export interface BuildOptions {
  /** Override what the builder infers (tests, `simulate --provider`). */
  provider?: Provider;
  severable?: boolean;
}

export function providerOf(table: OpsTable, index: Index, file: string): { provider: Provider; severable: boolean; reason: string } {
  switch (table.kind) {
    case 'kernfs_ops':
      return { provider: 'kernfs', severable: true, reason: 'kernfs calls ->release when the node is removed, while files may still be open (kernfs_drain_open_files)' };
    case 'cftype':
      return { provider: 'kernfs', severable: true, reason: 'cgroup files are kernfs files: rmdir of the cgroup (or cgroup_file_show(false)) releases open files early' };
    case 'proc_ops': {
      const where = findEffect(index, file, (e) => e.kind === 'sever' && PROCFS_REMOVERS.has(e.api));
      if (where) return { provider: 'procfs', severable: true, reason: `procfs entries of this file can be removed (${where.api} at line ${where.loc.line}); removal calls ->proc_release on open files` };
      return { provider: 'procfs', severable: false, reason: 'no remove_proc_entry/proc_remove/remove_proc_subtree in this file: the entry is never removed, so ->proc_release runs only at the last fput' };
    }
    case 'file_operations': {
      const reg = findEffect(index, file, (e) => e.kind === 'register' && e.registry === 'debugfs' && (e.text === `&${table.name}` || e.text === table.name));
      if (reg) return { provider: 'debugfs', severable: false, reason: `registered with ${reg.api}: debugfs removal waits for in-flight calls and never calls ->release early` };
      return { provider: 'vfs', severable: false, reason: '->release runs at the last fput, after select entries dropped their file references and eventpoll_release ran' };
    }
    default: {
      const o = OBJECT_TABLES.get(table.kind);
      if (o) return { provider: 'vfs', severable: false, reason: `each object .open returns is modelled as one open file: it ends with ${o.lifetime}` };
      return { provider: 'vfs', severable: false, reason: 'no file-level lifetime of its own' };
    }
  }
}

function findEffect(index: Index, file: string, pred: (e: Effect) => boolean): Effect | null {
  const ff = index.fileFacts(file);
  if (!ff) return null;
  for (const fn of ff.functions) for (const e of fn.effects) if (pred(e)) return e;
  return null;
}

/** Modular code: the file has module_exit (or a module_*_driver helper) — it can be unloaded. */
export function isModular(index: Index, file: string): boolean {
  // the tree's Makefile and Kconfig when they say (a bool symbol is never a module; a module's
  // module_exit may sit in another of its files), else the file's own module_exit
  const k = index.kbuild?.modular(file);
  if (k !== null && k !== undefined) return k;
  const ff = index.fileFacts(file);
  return !!ff?.modular;
}

/**
 * How files of this fops come to exist without anything else pinning the module: debugfs
 * (the full proxy takes real_fops->owner), a misc device or anon inode (fops_get at open), a
 * cdev whose own .owner the code never sets (chrdev_open pins cdev->owner and fops->owner).
 * Fops reached only through inodes of a filesystem are pinned by the file_system_type's
 * owner through the superblock, and are not this rule's case.
 */
export function unpinnedExposure(name: string, index: Index, file: string): { registry: string; loc: Loc } | null {
  // A registration names the table its own file sees: in a file that defines a table of that
  // name (static or not), it is that file's table, not this one. This file's own come first.
  const mine = (x: { file: string }) => x.file === file;
  const seen = (x: { file: string }) => mine(x) || !index.fileFacts(x.file)?.tables.some((t) => t.name === name);
  const exposures = index.exposures(name).filter(seen);
  for (const x of [...exposures.filter(mine), ...exposures.filter((x) => !mine(x))]) {
    if (x.registry === 'debugfs' || x.registry === 'misc' || x.registry === 'anon_inode') return x;
    if (x.registry === 'cdev' && !index.fileFacts(x.file)?.ownerAssigned) return x;
  }
  return null;
}

/** The table fields whose handlers buildModel turns into programs (and so summarises): field(role) below. */
export const MODELLED_ROLES: ReadonlySet<string> = new Set(['open', 'release', 'poll', 'io']);

export function buildModel(table: OpsTable, index: Index, file: string, opts: BuildOptions = {}): TableModel {
  const p = providerOf(table, index, file);
  const provider = opts.provider ?? p.provider;
  const severable = opts.severable ?? p.severable;
  const b = new Builder(table, index, file);
  const kernfsGlue = table.kind === 'cftype';
  const field = (role: string) => table.fields.find((f) => f.role === role && f.handler);
  const open = b.handler('open', field('open')?.field ?? 'open', field('open')?.handler,
    kernfsGlue ? { name: PROVIDER_GLUE.cgroupOpen.fn, pre: [{ op: { op: 'alloc', slot: 'f:of->priv', zero: true }, api: PROVIDER_GLUE.cgroupOpen.alloc, text: 'of->priv (struct cgroup_file_ctx)' }] } : undefined);
  const release = b.handler('release', field('release')?.field ?? 'release', field('release')?.handler,
    kernfsGlue ? { name: PROVIDER_GLUE.cgroupRelease.fn, post: [{ op: { op: 'free', slot: 'f:of->priv', mode: 'now' }, api: PROVIDER_GLUE.cgroupRelease.free, text: 'of->priv (struct cgroup_file_ctx)' }] } : undefined);
  // an object table's ->open that frees the object it would return has failed: no object
  // exists and nothing else runs on it (`if (IS_ERR(umem)) { kfree(mr); return ERR_CAST(umem); }`)
  if (open && OBJECT_TABLES.has(table.kind)) {
    // (and one that clears a slot it pinned into, with no unpin between: the pin failed, as in
    // `if (IS_ERR(mem->umem)) { ...; mem->umem = NULL; return -EFAULT; }` in a callee)
    const failed = (v: HandlerModel['variants'][number]) => {
      const pinned = new Set<string>();
      for (const st of v.steps) {
        const o = st.op;
        if (o.op === 'free' && o.slot === 'f:obj') return true;
        if (o.op === 'pin') pinned.add(o.slot);
        else if (o.op === 'unpin') pinned.delete(o.slot);
        else if (o.op === 'store' && o.value === 'null' && pinned.has(o.slot)) return true;
      }
      return false;
    };
    const ok = open.variants.filter((v) => !failed(v));
    if (ok.length && ok.length < open.variants.length) { b.notes.push(`.${open.field} = ${open.name}: ${open.variants.length - ok.length} failing path(s) (the object freed, or a pin's slot cleared) not explored: no object exists after them`); open.variants = ok; }
  }
  let poll = b.handler('poll', field('poll')?.field ?? 'poll', field('poll')?.handler);
  if (!poll && (table.kind === 'cftype' || table.kind === 'kernfs_ops')) {
    poll = b.synthetic('poll', 'poll', PROVIDER_GLUE.kernfsDefaultPoll, [{ op: { op: 'genericPoll' }, api: PROVIDER_GLUE.kernfsDefaultPoll, text: 'on->poll' }]);
  }
  let io: HandlerModel[] = [];
  for (const f of table.fields) {
    if (f.role !== 'io' || !f.handler) continue;
    const h = b.handler('io', f.field, f.handler);
    if (h) io.push(h);
  }
  b.bindArms([open, release, poll, ...io]);
  const callbacks: Record<string, HandlerModel> = {};
  for (const name of b.callbackNames()) {
    const h = b.handler('async', 'callback', name);
    if (h) callbacks[name] = h;
  }
  // (a callback that queues itself again: bound by the handlers above, or dropped)
  b.bindArms(Object.values(callbacks));
  const defined = [open, release, poll, ...io].filter((h): h is HandlerModel => !!h && !!h.loc).map((h) => ({ field: h.field, name: h.name, loc: h.loc! }));
  const severLock = kernfsGlue && severable ? `n:${PROVIDER_GLUE.cgroupSeverLock}` : undefined;
  // a driver's ->remove that frees the device state the files use (a misc/char device of the same file)
  const dev = table.kind === 'file_operations' ? b.deviceRemove([open, release, poll, ...io, ...Object.values(callbacks)], index, file) : null;
  if (dev) {
    b.bindArms([dev.remove]);
    for (const name of b.callbackNames()) if (!callbacks[name]) { const h = b.handler('async', 'callback', name); if (h) callbacks[name] = h; }
  }
  const all = [open, release, poll, ...io, ...Object.values(callbacks), ...(dev ? [dev.remove] : [])];
  const values = b.trackValues(all);
  b.keepInteresting(all, severLock);
  // an io handler with nothing left changes nothing; a path (variant) with the same operations
  // under the same guards as a path of an earlier io handler is the same event (compat_ioctl
  // calling the ioctl handler, read and read_iter sharing a helper): explored once
  const ioSeen = new Set<string>();
  io = io.filter((h) => {
    if (!h.variants.some((v) => v.steps.length)) return false;
    const before = h.variants.length;
    h.variants = h.variants.filter((v) => {
      const key = JSON.stringify([v.steps.map((s) => [s.op, s.guards]), v.guards ?? []]);
      if (ioSeen.has(key)) return false;
      ioSeen.add(key);
      return true;
    });
    if (!h.variants.length) { b.notes.push(`.${h.field} = ${h.name}: same operations as another handler, explored once`); return false; }
    if (h.variants.length < before) b.notes.push(`.${h.field} = ${h.name}: ${before - h.variants.length} of its ${before} paths are another handler's, explored once`);
    return true;
  });
  const owner = table.fields.find((f) => f.role === 'owner');
  const exposure = table.kind === 'file_operations' && !owner && isModular(index, file) ? unpinnedExposure(table.name, index, file) : null;
  return {
    table: { name: table.name, kind: table.kind, ...(table.index !== undefined ? { index: table.index } : {}), loc: table.loc, file },
    provider, severable, severReason: opts.severable !== undefined ? 'set by the caller' : p.reason,
    ...(OBJECT_TABLES.has(table.kind) ? { object: OBJECT_TABLES.get(table.kind)!.noun } : {}),
    ...(severLock ? { severLock } : {}),
    ...(kernfsGlue && severable && !table.fields.some((f) => f.field === PROVIDER_GLUE.cgroupFileHandle) ? { rmdirOnly: true as const } : {}),
    ...(exposure ? { moduleUnprotected: true, exposure } : {}),
    open, release, poll, io, callbacks, defined, notes: b.notes,
    ...(values ? { values } : {}),
    ...(dev && dev.remove.variants.some((v) => v.steps.length) ? { remove: dev.remove, driver: dev.driver } : {}),
  };
}

interface Synth { op: Op; api: string; text: string }

/** Driver tables whose ->remove ends a device's lifetime. */
const DRIVER_TABLES = new Set<string>(['platform_driver', 'pci_driver', 'usb_driver']);

/** What the kernel hands a handler, by parameter index (or `local:<name>` for an object table's locals): slot prefixes such as `f:file`. */
type Anchors = Map<number | string, string>;

/** `struct mthca_mr *` -> `struct mthca_mr` (null for anything but one level of pointer to a struct). */
function pointee(type: string): string | null {
  const m = /^(?:const\s+)?(struct\s+\w+)\s*\*$/.exec(type.trim());
  return m ? m[1].replace(/\s+/g, ' ') : null;
}

/** The local a function returns the object in: `return iommu;`, `return &mr->ibmr;`. */
function returnedLocal(fn: FunctionFacts): { name: string; type: string | null } | null {
  // the success return first: one under no branch and on the straight line past the early
  // exits (`return &mr->ibmr;`), not an error exit (`if (IS_ERR(umem)) return (void *)umem;`)
  // or a cleanup label's `return ret;`
  const score = (e: Effect) => (e.cond.length ? 2 : e.reach && !e.reach.some((conj) => conj.every((l) => l.pass)) ? 1 : 0);
  const rets = fn.effects.filter((e) => e.kind === 'return' && e.path).map((e, i) => ({ e, i }));
  rets.sort((a, b) => score(a.e) - score(b.e) || b.i - a.i);
  for (const { e } of rets) {
    if (!e.path) continue;
    let t: Term = e.path;
    while (t.t === 'addr' || t.t === 'field' || t.t === 'up') t = t.base;
    if (t.t !== 'root' || t.kind !== 'local') continue;
    const decl = fn.locals.find((l) => l.name === (t as { name: string }).name);
    const type = decl ? pointee(decl.type) : null;
    if (type) return { name: t.name, type };
  }
  return null;
}

class Builder {
  notes: string[] = [];
  private cbNames = new Set<string>();
  /** Work items and timers by `slot|member`: the callback INIT_WORK / timer_setup bound to them. */
  private bindings = new Map<string, string>();
  /** The RCU callbacks whose summaries a handler's steps depend on (callbackFrees), as read. */
  private consulted: Consulted[] = [];

  /** For a driver's ->remove: the device struct's pointee type -> the slot the files reach it at. */
  private device: Map<string, string> | null = null;

  /**
   * The ->remove of a driver in this file whose device the table's files reach: the table is
   * handed to misc/cdev from this file (or a `.fops = &table` store), and the handlers reach
   * the device state as `container_of(file->private_data, struct T, member)` (the miscdevice
   * misc_open puts there) or `container_of(inode->i_cdev, struct T, member)`. Those slots are
   * the device's, shared by every file (made node slots here); ->remove's pointers of type
   * `struct T *` are that slot.
   */
  deviceRemove(hs: (HandlerModel | null)[], index: Index, file: string): { remove: HandlerModel; driver: NonNullable<TableModel['driver']> } | null {
    const ff = index.fileFacts(file);
    if (!ff) return null;
    // (the driver first: asking for registrations reads files known by name only)
    const drivers = ff.tables.filter((t) => DRIVER_TABLES.has(t.kind) && t.fields.some((f) => f.role === 'remove' && f.handler));
    if (drivers.length !== 1) return null;
    const registered = ff.fopsAssigned?.some((x) => x.name === this.table.name)
      || index.exposures(this.table.name).some((x) => x.file === file && (x.registry === 'misc' || x.registry === 'cdev'));
    if (!registered) return null;
    const DEV = /^[fn]:(container_of\((?:file->private_data|inode->i_cdev), (struct \w+), [\w.]+\))/;
    const device = new Map<string, string>();
    const seen = (slot: string) => { const m = DEV.exec(slot); if (m && !device.has(m[2])) device.set(m[2], `n:${m[1]}`); };
    for (const h of hs) for (const v of h?.variants ?? []) for (const st of v.steps) { if ('slot' in st.op) seen(st.op.slot); for (const g of st.guards) seen(g.slot); }
    if (!device.size) return null;
    const d = drivers[0];
    const rf = d.fields.find((f) => f.role === 'remove' && f.handler)!;
    this.device = device;
    let remove: HandlerModel | null;
    try { remove = this.handler('remove', rf.field, rf.handler); } finally { this.device = null; }
    if (!remove) return null;
    // the files' view of the device: one object for every file (what misc_open / the cdev hands out)
    const shared = (slot: string) => (slot.startsWith('f:') && DEV.test(slot) ? `n:${slot.slice(2)}` : slot);
    for (const h of hs) for (const v of h?.variants ?? []) {
      if (!v.steps.some((st) => ('slot' in st.op && shared(st.op.slot) !== st.op.slot) || st.guards.some((g) => shared(g.slot) !== g.slot))) continue;
      v.steps = v.steps.map((st) => ({ ...st, op: 'slot' in st.op ? { ...st.op, slot: shared(st.op.slot) } as Op : st.op, guards: st.guards.map((g) => ({ ...g, slot: shared(g.slot) })) }));
      if (v.guards) v.guards = v.guards.map((g) => ({ ...g, slot: shared(g.slot) }));
    }
    return { remove, driver: { name: d.index !== undefined ? `${d.name}[${d.index}]` : d.name, kind: d.kind, loc: d.loc } };
  }

  /** Object tables (vfio_iommu_driver_ops, ib_device_ops): the object's own type (`struct mthca_mr`), from what ->open returns. */
  private object: { params: Record<string, number>; type: string | null } | null = null;

  constructor(private table: OpsTable, private index: Index, private file: string) {
    const o = OBJECT_TABLES.get(table.kind);
    if (o) {
      const open = table.fields.find((f) => f.role === 'open' && f.handler);
      const ref = open?.handler ? index.resolve(open.handler, file) : null;
      this.object = { params: o.params, type: ref ? returnedLocal(ref.fn)?.type ?? null : null };
    }
  }

  /**
   * Arms that name no callback (`schedule_work(&c->work)`) get the one bound to the same member
   * of the same slot by any handler of the table (`INIT_WORK(&c->work, fn)` in ->open); an arm
   * of something no handler bound is dropped (its callback is unknown).
   */
  bindArms(hs: (HandlerModel | null)[]): void {
    for (const h of hs) for (const v of h?.variants ?? []) {
      if (!v.steps.some((st) => st.op.op === 'asyncArm' && st.op.callback.startsWith(UNBOUND))) continue;
      v.steps = v.steps.flatMap((st) => {
        const o = st.op;
        if (o.op !== 'asyncArm' || !o.callback.startsWith(UNBOUND)) return [st];
        const cb = this.bindings.get(o.callback.slice(UNBOUND.length));
        if (!cb) return [];
        this.cbNames.add(cb);
        return [{ ...st, op: { ...o, callback: cb } }];
      });
    }
  }

  callbackNames(): string[] {
    // callbacks armed by any handler, and callbacks armed by those callbacks (self-rearming)
    return [...this.cbNames].sort();
  }

  synthetic(role: HandlerRole, field: string, name: string, steps: Synth[]): HandlerModel {
    return { role, field, name, loc: null, variants: [{ assume: [], steps: steps.map((s) => this.synthStep(s, name)) }] };
  }

  private synthStep(s: Synth, name: string): Step {
    return { op: s.op, loc: this.table.loc, api: s.api, text: s.text, chain: [name], cond: [], guards: [] };
  }

  handler(role: HandlerRole, field: string, name: string | undefined, glue?: { name: string; pre?: Synth[]; post?: Synth[] }): HandlerModel | null {
    const ref = name ? this.index.resolve(name, this.file) : null;
    if (!ref && !glue) {
      if (name && role !== 'async') this.notes.push(`.${field} = ${name}: no definition in this run; its effects are unknown`);
      return null;
    }
    const exitChoices = role === 'open' ? 0 : MAX_EXIT_CHOICES;
    const pre = glue ? (glue.pre ?? []).map((s) => this.synthStep(s, glue.name)) : [];
    const post = glue ? (glue.post ?? []).map((s) => this.synthStep(s, glue.name)) : [];
    let core: HandlerModel['variants'] = [{ assume: [], steps: [] }];
    let glued = false;
    let incomplete: string | undefined;
    if (ref) {
      const sum = this.index.summary(ref);
      if (sum.truncated) incomplete = `summary cut (${sum.truncated})`;
      if (sum.unresolved.length) incomplete = [incomplete, `unresolved callees: ${sum.unresolved.slice(0, 5).join(', ')}${sum.unresolved.length > 5 ? ', …' : ''}`].filter(Boolean).join('; ');
      // Provider glue around the handler (cgroup_file_open -> the cftype's open) adds steps
      // under no condition, so the handler's variants are the same with or without it, unless
      // the glue writes a pointer first (variantsOf then ignores a test of it): built apart.
      const wrapped = pre.some((st) => st.op.op === 'alloc' || st.op.op === 'store');
      if (wrapped) {
        const steps = this.stepsOf(ref.fn, sum.effects, role, field, sum.unresolved);
        core = variantsOf([...pre, ...steps.map((st) => ({ ...st, chain: [glue!.name, ...st.chain] })), ...post], exitChoices);
        glued = true;
      } else {
        // the same handler in many tables (seq_lseek, single_release, a driver's ioctl as its
        // .unlocked_ioctl and .compat_ioctl) is one program per table kind and role: built once
        // per summary object (the index makes a new one when it drops the old)
        const key = `${this.table.kind}|${role}|${this.object ? `${field}|${this.object.type ?? ''}` : ''}${this.device ? `|${[...this.device].join(',')}` : ''}`;
        let byKey = HANDLERS.get(sum);
        let hit = byKey?.get(key);
        // (the steps also read the summaries of RCU callbacks: the same ones, or build again)
        if (hit && !hit.consulted.every((c) => { const r = this.index.resolve(c.name, c.file); return (r ? this.index.summary(r) : null) === c.sum; })) hit = undefined;
        if (!hit) {
          // (the callbacks it arms are collected while its steps are built: kept with them)
          const all = this.cbNames;
          const cbs = (this.cbNames = new Set<string>());
          const read = this.consulted;
          const consulted: Consulted[] = (this.consulted = []);
          const bound = this.bindings;
          const binds = (this.bindings = new Map<string, string>());
          let steps: Step[];
          try { steps = this.stepsOf(ref.fn, sum.effects, role, field, sum.unresolved); } finally { this.cbNames = all; this.consulted = read; this.bindings = bound; }
          hit = { variants: variantsOf(steps, exitChoices), callbacks: [...cbs], consulted, bindings: [...binds] };
          if (!byKey) HANDLERS.set(sum, (byKey = new Map()));
          byKey.set(key, hit);
        }
        for (const c of hit.callbacks) this.cbNames.add(c);
        for (const [k, cb] of hit.bindings) this.bindings.set(k, cb);
        core = hit.variants;
      }
    }
    // (copies: pruning replaces each model's variant steps)
    const variants = glue && !glued
      ? core.map((v) => ({ ...v, steps: [...pre, ...v.steps.map((st) => ({ ...st, chain: [glue.name, ...st.chain] })), ...post] }))
      : core.map((v) => ({ ...v }));
    const hname = glue ? (ref ? `${glue.name} -> ${ref.fn.name}` : glue.name) : ref!.fn.name;
    // an ->open that takes an error exit leaves no open file (no ->release follows it): the
    // model goes on with the file, so open explores only its straight line past exits
    return { role, field, name: hname, loc: ref ? ref.fn.nameLoc : null, variants, ...(incomplete ? { incomplete } : {}) };
  }


  /** Own effects and callee effects in execution order, as model steps. */
  private stepsOf(fn: FunctionFacts, summary: Effect[], role: HandlerRole, field: string, unresolved: string[] = []): Step[] {
    const anchors = this.anchors(fn, role, field);
    const out: Step[] = [];
    // an object table's ->release that hands its object to a call kernlife cannot resolve
    // (`rxe_cleanup(mr)`: a macro around the pool's indirect ->cleanup, which releases the umem)
    // may release the object's pins there; a call whose value is kept (`mr = to_rmr(ibmr)`) is
    // an accessor, and a member's address (`&mr->num_mw`) is not the object
    const handoff = this.object && role === 'release' ? new Set(unresolved) : null;
    // call arguments are uses too (`seq_printf(m, "%d", ctx->count)`); the summary drops plain calls
    let si = 0;
    for (const e of fn.effects) {
      if (e.kind === 'call') {
        for (const a of e.args ?? []) if (a) this.derefs(a, anchors, e, fn, out);
        // (not after a literal: `pr_debug("mhp %p", mhp)` prints the object, it does not end it)
        const at = handoff?.has(e.api) && !e.result ? (e.args ?? []).findIndex((a) => a && this.slot(a, anchors) === 'f:obj') : -1;
        if (at >= 0 && e.args!.slice(0, at).every((a) => a)) {
          out.push(this.step({ op: 'unpin', slot: 'f:obj', handoff: true }, e, render(e.args![at]!), fn, anchors));
        }
        while (si < summary.length && summary[si].via?.[0] && sameLoc(summary[si].via![0].loc, e.loc)) this.effect(summary[si++], anchors, fn, out);
        continue;
      }
      if (e.kind === 'return') continue;
      if (summary[si] === e) this.effect(summary[si++], anchors, fn, out);
    }
    while (si < summary.length) this.effect(summary[si++], anchors, fn, out);
    return out;
  }

  private anchors(fn: FunctionFacts, role: HandlerRole, field: string): Anchors {
    const a: Anchors = new Map();
    if (this.object && role !== 'async') {
      // an object table: the handler's object parameter, ->open's returned local, and any
      // parameter or local of the object's own type (`struct mthca_mr *mmr = to_mmr(ibmr)`)
      // are the one object (`f:obj`), the way `file` is for file_operations
      const ot = this.object.type;
      const p = this.object.params[field];
      fn.params.forEach((x, i) => { if (i === p || (ot && pointee(x.type) === ot)) a.set(i, 'f:obj'); });
      if (role === 'open') { const r = returnedLocal(fn); if (r) a.set(`local:${r.name}`, 'f:obj'); }
      if (ot) for (const l of fn.locals) if (pointee(l.type) === ot) a.set(`local:${l.name}`, 'f:obj');
      // a local stored into the object once (`umem = ib_umem_get(..); ...; mr->umem = umem;`)
      // is that field all along, as facts/extract.ts does for a store into a non-local path
      const into = new Map<string, string[]>();
      for (const e of fn.effects) {
        if (e.kind !== 'store' || e.value?.t !== 'root' || e.value.kind !== 'local' || !e.path || a.has(`local:${e.value.name}`)) continue;
        const s = this.slot(e.path, a);
        if (s?.startsWith('f:obj')) into.set(e.value.name, [...(into.get(e.value.name) ?? []), s]);
      }
      for (const [name, slots] of into) if (new Set(slots).size === 1) a.set(`local:${name}`, slots[0]);
      return a;
    }
    if (role === 'remove' && this.device) {
      // a driver's ->remove: its pointers to the device struct are the files' device slot
      const dev = this.device;
      fn.params.forEach((p, i) => { const t = pointee(p.type); const s = t && dev.get(t); if (s) a.set(i, s); });
      for (const l of fn.locals) { const t = pointee(l.type); const s = t && dev.get(t); if (s) a.set(`local:${l.name}`, s); }
      return a;
    }
    const kernfs = this.table.kind === 'cftype' || this.table.kind === 'kernfs_ops';
    fn.params.forEach((p, i) => {
      const ty = p.type.replace(/\bconst\b/g, '').replace(/\s+/g, ' ');
      if (role === 'async') {
        // the callback's first pointer argument (work, timer, tasklet) or irq's dev_id is the armed object
        if (i === 0 && /\*/.test(ty)) a.set(i, 'h:@cb');
        if (/void \*/.test(ty) && i === 1) a.set(i, 'h:@host');
        return;
      }
      if (/\bkernfs_open_file\b/.test(ty)) a.set(i, 'f:of');
      else if (/\bstruct file\b/.test(ty)) a.set(i, 'f:file');
      else if (/\bseq_file\b/.test(ty)) a.set(i, kernfs ? 'f:@seq' : 'f:seq');
      else if (/\bstruct inode\b/.test(ty)) a.set(i, 'n:inode');
      else if (/\bcgroup_subsys_state\b/.test(ty)) a.set(i, 'n:css');
    });
    return a;
  }

  /** The slot of a term at this handler, or null when the model does not track it. */
  slot(t: Term, anchors: Anchors): string | null {
    let scope = '';
    let cbHost = false;
    const mapped = substitute(t, (r) => {
      const key = r.kind === 'param' ? r.param : r.kind === 'local' ? `local:${r.name}` : undefined;
      if (key !== undefined && anchors.has(key)) {
        const a = anchors.get(key)!;
        scope = a.slice(0, 2);
        if (a === 'h:@cb') cbHost = true;
        return root(a.slice(2), 'param');
      }
      // `current` is the running task: what hangs off it is task-owned (one instance per task)
      if (r.kind === 'global') { scope = r.name === 'current' ? 't:' : 'n:'; return undefined; }
      return null;
    });
    if (!mapped || !scope) return null;
    let text = render(mapped);
    // kernfs seq files: seq->private is the kernfs_open_file
    text = text.replace(/^@seq->private\b/, 'of');
    if (text.startsWith('@seq')) return null;
    if (cbHost) {
      // container_of(work, T, member) is the armed object; the bare work pointer is not tracked
      const m = /^container_of\(@cb, [^,]*, [^)]*\)/.exec(text);
      if (!m) return null;
      text = 'host' + text.slice(m[0].length);
    }
    if (text.startsWith('@host')) text = 'host' + text.slice(5);
    // an object table's object and the driver struct embedding it are one object:
    // `container_of(ibmr, struct bnxt_re_mr, ib_mr)->ib_umem` is the ib_umem of `obj`
    if (scope === 'f:' && this.object) text = text.replace(/^container_of\(obj, [^,()]*, [^,()]*\)/, 'obj');
    if (!text) return null;
    return scope + text;
  }

  /** `&x->a.wq` -> host x, member `a.wq`; a pointer value is its own host. */
  private host(t: Term, anchors: Anchors): { slot: string; member: string } | null {
    if (t.t === 'addr') {
      let b = t.base;
      const members: string[] = [];
      while (b.t === 'field' && !b.arrow) { members.unshift(b.name); b = b.base; }
      if (b.t === 'field' && b.arrow) {
        members.unshift(b.name);
        const s = this.slot(b.base, anchors);
        return s ? { slot: s, member: members.join('.') } : null;
      }
      const s = this.slot(b, anchors);
      return s ? { slot: s, member: members.join('.') } : null;
    }
    const s = this.slot(t, anchors);
    return s ? { slot: s, member: '' } : null;
  }

  private derefs(t: Term, anchors: Anchors, e: Effect, fn: FunctionFacts, out: Step[]): void {
    const bases: Term[] = [];
    const walk = (x: Term) => {
      switch (x.t) {
        case 'field': if (x.arrow) bases.push(x.base); walk(x.base); break;
        case 'deref': bases.push(x.base); walk(x.base); break;
        case 'addr': case 'index': case 'up': walk(x.base); break;
        default: break;
      }
    };
    walk(t);
    for (const b of bases.reverse()) {
      const s = this.slot(b, anchors);
      if (!s || isAnchor(s)) continue;
      out.push(this.step({ op: 'deref', slot: s }, e, render(b), fn, anchors));
    }
  }

  private effect(e: Effect, anchors: Anchors, fn: FunctionFacts, out: Step[]): void {
    const path = e.path;
    const text = e.text ?? (path ? render(path) : '');
    const push = (op: Op) => out.push(this.step(op, e, text, fn, anchors));
    // effects on an object a callee created and returned touch that object, not the path it is stored at later
    if (path && e.kind !== 'alloc' && !e.onReturned) this.derefs(path, anchors, e, fn, out);
    switch (e.kind) {
      case 'alloc': { const s = path && this.slot(path, anchors); if (s) push({ op: 'alloc', slot: s, ...(PROVIDER_GLUE.zeroing.test(e.api) ? { zero: true } : {}) }); break; }
      case 'store': { const s = path && this.slot(path, anchors); if (s) push({ op: 'store', slot: s, value: e.value?.t === 'null' ? 'null' : 'nonnull', ...(e.konst ? { konst: e.konst } : {}), ...(e.rebind ? { rebind: true as const } : {}) }); break; }
      case 'free': {
        const s = path && this.slot(path, anchors);
        // call_rcu(&x->rcu, cb) frees x only if cb frees it (rcu_sync's callback just moves a state machine on)
        if (s && !isAnchor(s) && (!e.callback || this.callbackFrees(e.callback, e.loc.file))) push({ op: 'free', slot: s, mode: e.mode ?? 'now' });
        break;
      }
      case 'rcuWait': push({ op: 'syncRcu' }); break;
      case 'pollWait': { const h = path && this.host(path, anchors); if (h) push({ op: 'pollWait', slot: h.slot, wq: h.member }); break; }
      case 'genericPoll': push({ op: 'genericPoll' }); break;
      case 'wake': case 'wakePollfree': { const h = path && this.host(path, anchors); if (h) push({ op: 'wake', slot: h.slot, wq: h.member, pollfree: e.kind === 'wakePollfree' }); break; }
      case 'notify': push({ op: 'notify' }); break;
      case 'breakActive': push({ op: 'breakActive' }); break;
      case 'unbreakActive': push({ op: 'unbreakActive' }); break;
      case 'lock': case 'unlock': {
        // calls that imply their lock (cgroup_kn_lock_live and cgroup_lock take cgroup_mutex)
        const implied = Object.prototype.hasOwnProperty.call(PROVIDER_GLUE.impliedLocks, e.api) ? PROVIDER_GLUE.impliedLocks[e.api] : undefined;
        const s = implied ?? (path ? (this.slot(path, anchors) ?? render(path)) : e.api);
        const l = s.startsWith('f:') || s.startsWith('n:') ? s : `n:${s.replace(/^&/, '')}`;
        push(e.kind === 'lock' && PROVIDER_GLUE.liveLocks.includes(e.api) ? { op: 'lock', lock: l, live: true } : { op: e.kind, lock: l });
        break;
      }
      case 'asyncArm': {
        const h = path && this.host(path, anchors);
        if (h && e.callback) { this.cbNames.add(e.callback); push({ op: 'asyncArm', slot: h.slot, callback: e.callback, mechanism: e.mechanism ?? 'work' }); }
        // schedule_work(&x->w), mod_timer(&x->t, ..) name no function: the one INIT_WORK or
        // timer_setup bound to that member (in any handler of the table), filled in by bindArms
        else if (h) push({ op: 'asyncArm', slot: h.slot, callback: `${UNBOUND}${h.slot}|${h.member}`, mechanism: e.mechanism ?? 'work' });
        break;
      }
      case 'asyncInit': {
        if (!e.callback) break;
        this.cbNames.add(e.callback);
        const h = path && this.host(path, anchors);
        if (h) this.bindings.set(`${h.slot}|${h.member}`, e.callback);
        break;
      }
      case 'pin': { const s = path && this.slot(path, anchors); if (s && !isAnchor(s)) push({ op: 'pin', slot: s, longterm: !!e.longterm, gup: !!e.gup }); break; }
      case 'unpin': { const s = path && this.slot(path, anchors); if (s && !isAnchor(s)) push({ op: 'unpin', slot: s }); break; }
      // fget()/fget_raw() store a (checked) file pointer: later tests of that field see it set
      case 'getFile': { const s = path && this.slot(path, anchors); if (s && !isAnchor(s) && /^fget/.test(e.api)) push({ op: 'store', slot: s, value: 'nonnull' }); break; }
      case 'setLease': case 'dropLease': { const s = path && this.slot(path, anchors); if (s && !isAnchor(s)) push({ op: e.kind, slot: s }); break; }
      case 'fput': { const s = path && this.slot(path, anchors); if (s && !isAnchor(s) && e.api === 'fput') push({ op: 'fileRef', slot: s }); break; }
      case 'asyncCancel': { const h = path && this.host(path, anchors); if (h) push({ op: 'asyncCancel', slot: h.slot }); break; }
      case 'publish': case 'unpublish': {
        const s = path && this.slot(path, anchors);
        if (s) push({ op: 'store', slot: s, value: e.kind === 'unpublish' || e.value?.t === 'null' ? 'null' : 'nonnull' });
        break;
      }
      default: break;
    }
  }

  /**
   * Value tracking (TableModel.values): a field's constant matters only where some handler stores
   * one that only ->open gives and some handler tests for it; predicates (`mei_cl_is_connected(cl)`)
   * are read here, only for objects some handler stores a constant into; every other value or
   * predicate test is dropped (undecided, as before). Called before pruning, which keeps the
   * stores the tests read.
   */
  trackValues(hs: (HandlerModel | null)[]): TableModel['values'] {
    const stored = new Map<string, Map<string, Set<string>>>(); // slot -> constant -> roles
    for (const h of hs) for (const v of h?.variants ?? []) {
      for (const st of v.steps) {
        const o = st.op;
        if (o.op === 'store' && o.konst !== undefined) {
          let m = stored.get(o.slot);
          if (!m) stored.set(o.slot, (m = new Map()));
          let r = m.get(o.konst);
          if (!r) m.set(o.konst, (r = new Set()));
          r.add(h!.role);
        }
      }
    }
    // nothing ->open stores: no value can be one only a new object gets, so every value and
    // predicate test goes (the stripped steps are shared by every table: nothing new per table)
    if (![...stored.values()].some((m) => [...m.values()].some((roles) => roles.has('open')))) {
      for (const h of hs) for (const v of h?.variants ?? []) {
        v.steps = plainSteps(v.steps);
        if (v.guards) { const gs = plainGuards(v.guards); if (gs.length) v.guards = gs; else delete v.guards; }
      }
      return undefined;
    }
    // predicates on an object some handler stores a constant into: read as value tests
    const read = new Map<string, Guard | null>();
    const asValue = (g: Guard): Guard | null => {
      if (g.pred === undefined) return g;
      if (![...stored.keys()].some((k) => isUnder(k, g.slot))) return null;
      const key = `${g.pred}|${g.predFile}|${g.slot}|${g.nonnull}`;
      let r = read.get(key);
      if (r === undefined) {
        // (a predicate is read off the text of scanned files too: no file is needed in full for it)
        const ref = resolveWithHeaders(this.index, g.pred, g.predFile!);
        const p = ref?.fn.predicate;
        const root = p && rootOf(p.path);
        const rest = p && root ? render(p.path).slice(root.name.length) : '';
        r = p && /^(->|\.)\w/.test(rest) ? { slot: g.slot + rest, nonnull: g.nonnull === p.nonnull, value: p.value, ...(g.branch ? { branch: true } : {}), ...(g.atom !== undefined ? { atom: g.atom, whenTrue: g.whenTrue } : {}) } : null;
        read.set(key, r);
      }
      return r;
    };
    rewriteGuards(hs, asValue);
    const tested = new Map<string, Set<string>>(); // slot -> constants tested equal
    const test = (g: Guard) => { if (g.value !== undefined) { let t = tested.get(g.slot); if (!t) tested.set(g.slot, (t = new Set())); t.add(g.value); } };
    for (const h of hs) for (const v of h?.variants ?? []) {
      for (const g of v.guards ?? []) test(g);
      for (const st of v.steps) for (const g of st.guards) test(g);
    }
    // a constant only ->open stores is one only a new object gets: once the field holds another,
    // it does not come back. Only such a constant, tested somewhere, lets the state decide a test
    // (every other value may be set by code outside the model at any time).
    const fresh: Record<string, string[]> = {};
    for (const [slot, t] of [...tested].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const st = stored.get(slot);
      if (!st) continue;
      const f = [...t].filter((c) => { const roles = st.get(c); return !!roles && [...roles].every((r) => r === 'open'); }).sort();
      if (f.length) fresh[slot] = f;
    }
    rewriteGuards(hs, (g) => (g.value === undefined || fresh[g.slot] !== undefined ? g : null));
    const slots = Object.keys(fresh);
    if (!slots.length) return undefined;
    for (const slot of slots) this.notes.push(`${slot.slice(2)}: ${fresh[slot].join(', ')} only set by ->open on the new object; once the field is seen holding another value, it does not return`);
    return { names: [...new Set(slots.flatMap((k) => fresh[k]))].sort(), fresh };
  }

  /**
   * Does the RCU callback `name` (named in `file`) free what it is handed? Its summary has a
   * free rooted at its first parameter (`kfree(container_of(head, ...))`, directly or in a
   * callee). A free that is itself a call_rcu() counts when its own callback frees (rcu_sync's
   * callback queues itself again: that frees nothing). A callback with no definition in the
   * run is taken to free: that is the idiom.
   */
  private callbackFrees(name: string, file: string, seen = new Set<string>()): boolean {
    const ref = this.index.resolve(name, file);
    const sum = ref ? this.index.summary(ref) : null;
    this.consulted.push({ name, file, sum });
    if (!sum || !ref) return true;
    seen.add(`${ref.fn.loc.file}:${name}`);
    return sum.effects.some((x) => {
      if (x.kind !== 'free' || !x.path) return false;
      const r = rootOf(x.path);
      if (r?.kind !== 'param' || r.param !== 0) return false;
      if (!x.callback) return true;
      const next = this.index.resolve(x.callback, x.loc.file);
      if (next && seen.has(`${next.fn.loc.file}:${x.callback}`)) return false;
      return this.callbackFrees(x.callback, x.loc.file, seen);
    });
  }

  private step(op: Op, e: Effect, text: string, fn: FunctionFacts, anchors: Anchors): Step {
    const chain = [fn.name, ...(e.via ?? []).map((v) => v.callee)];
    const guards: Guard[] = [];
    for (const g of e.guards ?? []) {
      const s = this.slot(g.path, anchors);
      if (!s) continue;
      const value = g.value !== undefined ? { value: g.value } : g.pred !== undefined ? { pred: g.pred, predFile: e.loc.file } : {};
      if (g.cond >= 0 && e.cond[g.cond] !== undefined) {
        const { atom, neg } = atomOf(e.cond[g.cond]);
        guards.push({ slot: s, nonnull: g.nonnull, ...value, branch: true, atom, whenTrue: g.nonnull !== neg });
      } else guards.push({ slot: s, nonnull: g.nonnull, ...value, ...(g.cond >= 0 ? { branch: true } : {}) });
    }
    return { op, loc: e.loc, api: e.api, text, chain, cond: e.cond, guards, ...(e.reach ? { reach: e.reach } : {}) };
  }

  /**
   * Prune what cannot change a verdict, so the search spends its budget on what can:
   * - a slot matters when something frees it, polls on it or arms async work on it; uses,
   *   wakes and registrations on other slots are dropped; allocs and stores stay where a
   *   guard reads them;
   * - a lock matters when it is the remover's lock, when some handler can sleep while holding
   *   it, or when a handler takes it with its active protection broken (that wait is the
   *   window removal runs in); other lock/unlock pairs are no-ops in an atomic handler;
   * - variants that are the same program after pruning are one variant.
   */
  keepInteresting(hs: (HandlerModel | null)[], severLock?: string): void {
    const all = hs.flatMap((h) => h?.variants.flatMap((v) => v.steps) ?? []);
    const hot = new Set<string>();
    const guarded = new Set<string>();
    const armed = new Set<string>();
    for (const st of all) {
      const o = st.op;
      if (o.op === 'free' || o.op === 'pollWait' || o.op === 'asyncArm' || o.op === 'pin' || o.op === 'unpin' || o.op === 'setLease' || o.op === 'dropLease') hot.add(o.slot);
      if (o.op === 'asyncArm') armed.add(o.slot);
      for (const g of st.guards) guarded.add(g.slot);
    }
    const under = (slot: string, set: Set<string>) => { for (const x of set) if (x === slot || isUnder(x, slot)) return true; return false; };
    const locks = new Set<string>(severLock ? [severLock] : []);
    for (const h of hs) for (const v of h?.variants ?? []) {
      const held: string[] = [];
      let brk = false;
      for (const st of v.steps) {
        const o = st.op;
        if (o.op === 'breakActive') brk = true;
        else if (o.op === 'unbreakActive') brk = false;
        else if (o.op === 'lock') { if (brk) locks.add(o.lock); held.push(o.lock); }
        else if (o.op === 'unlock') { const i = held.lastIndexOf(o.lock); if (i >= 0) held.splice(i, 1); }
        else if (o.op === 'syncRcu') for (const l of held) locks.add(l);
      }
    }
    const keep = (st: Step): boolean => {
      const o = st.op;
      switch (o.op) {
        case 'deref': case 'wake': return hot.has(o.slot);
        case 'pollWait': return hot.has(o.slot);
        case 'alloc': return hot.has(o.slot) || under(o.slot, guarded) || under(o.slot, hot);
        case 'store': return hot.has(o.slot) || guarded.has(o.slot);
        case 'lock': case 'unlock': return locks.has(o.lock);
        // a file reference matters only to a lease on that file
        case 'fileRef': return hot.has(o.slot);
        // cancelling what nothing in the model arms is a no-op
        case 'asyncCancel': return armed.has(o.slot);
        default: return true;
      }
    };
    for (const h of hs) {
      if (!h) continue;
      for (const v of h.variants) v.steps = trimLocks(collapseDerefs(v.steps.filter(keep)));
      h.variants = dedupeVariants(h.variants, true);
    }
  }
}

/**
 * A use of a slot right after another use of it changes nothing: between them only other uses
 * run (atomically), so if the object is freed the first one already reports it. A later use is
 * dropped when an earlier use in the same run of uses has no guard it lacks (the earlier one
 * happens whenever the later one would).
 */
function collapseDerefs(steps: Step[]): Step[] {
  const out: Step[] = [];
  let runStart = 0;
  for (const st of steps) {
    if (st.op.op !== 'deref') { out.push(st); runStart = out.length; continue; }
    const slot = st.op.slot;
    let dup = false;
    for (let i = runStart; i < out.length && !dup; i++) {
      const p = out[i];
      if (p.op.op === 'deref' && p.op.slot === slot && p.guards.every((g) => { const gk = JSON.stringify(g); return st.guards.some((h) => JSON.stringify(h) === gk); })) dup = true;
    }
    if (!dup) out.push(st);
  }
  return out;
}

const CONTROL = new Set(['lock', 'unlock', 'breakActive', 'unbreakActive']);

/**
 * Locking only matters around something that changes or reads state: drop the locking after
 * the last such step (and a handler that is nothing but locking), and between two such steps
 * keep one lock/unlock pair per lock (the wait is the window; several in a row add nothing).
 */
function trimLocks(steps: Step[]): Step[] {
  // a grace-period wait is a pause, not an effect: before the first effect or after the last
  // one it only delays the handler, which the interleavings already cover
  const effect = (st: Step) => !CONTROL.has(st.op.op) && st.op.op !== 'syncRcu';
  let last = -1;
  let first = -1;
  steps.forEach((st, i) => { if (effect(st)) { last = i; if (first < 0) first = i; } });
  if (last < 0) return [];
  const out: Step[] = [];
  let seen = new Set<string>();
  for (let i = 0; i <= last; i++) {
    const st = steps[i];
    const o = st.op;
    if (o.op === 'syncRcu' && i < first) continue;
    if (!CONTROL.has(o.op)) { seen = new Set(); out.push(st); continue; }  // effects and inner waits
    if (o.op === 'lock' || o.op === 'unlock') {
      const key = `${o.op}:${o.lock}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(st);
  }
  return out;
}


function isAnchor(s: string): boolean {
  return /^[fnh]:(of|file|seq|inode|css|host)$/.test(s);
}

function sameLoc(a: Loc, b: Loc): boolean {
  return a.line === b.line && a.col === b.col && a.file === b.file;
}

/** `!(x)` and `!x` are the negation of `x`; `x == NULL` of `x != NULL`. */
const ATOMS = new Map<string, { atom: string; neg: boolean }>();

/** A condition as an atom and a polarity: `!(x)`, `x == NULL` -> x, negated. Memoised: conditions repeat across variants and tables. */
export function atomOf(c: string): { atom: string; neg: boolean } {
  let r = ATOMS.get(c);
  if (!r) {
    r = atomOfUncached(c);
    if (ATOMS.size > 200_000) ATOMS.clear();
    ATOMS.set(c, r);
  }
  return r;
}

function atomOfUncached(c: string): { atom: string; neg: boolean } {
  let neg = false;
  let s = c.trim();
  for (let k = 0; k < 8; k++) {
    if (s.startsWith('!(') && s.endsWith(')') && balanced(s.slice(2, -1))) { s = s.slice(2, -1).trim(); neg = !neg; continue; }
    if (s.startsWith('(') && s.endsWith(')') && balanced(s.slice(1, -1))) { s = s.slice(1, -1).trim(); continue; }
    // (`@`: a value assigned again before the test, `ret@88`; see facts/extract.ts)
    if (/^![\w(]/.test(s) && /^[\w\->.()*&[\]@]+$/.test(s.slice(1)) && balanced(s.slice(1))) { s = s.slice(1); neg = !neg; continue; }
    const eq = /^(.+?)\s*(==|!=)\s*NULL$/.exec(s) ?? /^NULL\s*(==|!=)\s*(.+)$/.exec(s);
    if (eq) { const [x, op] = eq[1] === '==' || eq[1] === '!=' ? [eq[2], eq[1]] : [eq[1], eq[2]]; s = x.trim(); if (op === '==') neg = !neg; continue; }
    break;
  }
  return { atom: s, neg };
}

function balanced(s: string): boolean {
  let d = 0;
  for (const ch of s) { if (ch === '(') d++; else if (ch === ')') { d--; if (d < 0) return false; } }
  return d === 0;
}

/**
 * The handler's possible paths: conditions on steps that matter (not plain uses) are atoms;
 * the first few are enumerated, the rest move together. A step runs when all its conditions
 * hold under the assignment; uses under other conditions are kept (they are only checks).
 * Tests of early exits that no step branches on (Step.reach) are not combined: each variant
 * takes the straight line past them, or takes one of the first few (a chain of exits has one
 * path per exit taken).
 */
export function variantsOf(steps: Step[], maxExitChoices = MAX_EXIT_CHOICES): HandlerModel['variants'] {
  const seenAtoms = new Set<string>();
  const atoms: string[] = [];
  for (const s of steps) {
    if (s.op.op === 'deref') continue;
    for (const c of s.cond) { const a = atomOf(c).atom; if (!seenAtoms.has(a)) { seenAtoms.add(a); atoms.push(a); } }
  }
  // exit tests and their value on the straight line: where a literal says the exit was not
  // taken (`pass`); else, for a test only ever seen one way (a `goto` target's way in), the
  // other way; else as first seen
  const exits: string[] = [];
  const line = new Map<string, boolean>();
  const onLine = new Set<string>();
  const seenWays = new Map<string, number>(); // bit 1: seen true, bit 2: seen false
  // (reach lists are long and often shared between steps: each distinct one is read once)
  const reachSeen = new Set<ReachLit[][]>();
  for (const st of steps) {
    if (st.op.op === 'deref' || !st.reach || reachSeen.has(st.reach)) continue;
    reachSeen.add(st.reach);
    for (const conj of st.reach) for (const lc of conj) {
      const { atom, neg } = atomOf(lc.c);
      if (seenAtoms.has(atom) || onLine.has(atom)) continue;
      if (!line.has(atom)) exits.push(atom);
      if (!line.has(atom) || lc.pass) line.set(atom, !neg);
      if (lc.pass) onLine.add(atom);
      seenWays.set(atom, (seenWays.get(atom) ?? 0) | (neg ? 2 : 1));
    }
  }
  for (const a of exits) if (!onLine.has(a) && seenWays.get(a) !== 3) line.set(a, seenWays.get(a) === 2);
  if (!atoms.length && !exits.length) return [{ assume: [], steps }];
  const stepAtoms = steps.map((st) => st.cond.map(atomOf));
  // where each atom is first tested
  const firstTest = new Map<string, number>();
  stepAtoms.forEach((as, i) => { for (const { atom } of as) if (!firstTest.has(atom)) firstTest.set(atom, i); });
  const atomGuards = new Map<string, Guard>();
  // (not for a pointer the handler writes before it tests it: the start state says nothing then)
  steps.forEach((st, i) => {
    for (const g of st.guards) {
      if (g.atom === undefined || atomGuards.has(g.atom)) continue;
      const first = firstTest.get(g.atom) ?? -1;
      const writtenBefore = steps.slice(0, first < 0 ? i : first).some((x) => (x.op.op === 'alloc' || x.op.op === 'store') && x.op.slot === g.slot);
      if (!writtenBefore) atomGuards.set(g.atom, g);
    }
  });
  // the cases of one switch are one choice (which label the subject matched), not independent
  // tests: a variant takes one case's code (with what falls through into it) or none of them
  const groups = switchGroups(atoms);
  const inGroup = new Set(groups.flatMap((g) => g.atoms));
  const binary = atoms.filter((a) => !inGroup.has(a));
  const head = binary.slice(0, MAX_ENUMERATED_ATOMS);
  const tail = binary.slice(MAX_ENUMERATED_ATOMS);
  const combos = 1 << (head.length + (tail.length ? 1 : 0));
  const groupCombos = groups.reduce((n, g) => n * g.choices.length, 1);
  // atoms as indices into one value array (-1: undecided); the steps whose reach mentions each
  // exit test (only they can change when it is taken), and those it would add (a literal that
  // holds only when the exit is taken: a flip without one just leaves steps out)
  const ix = new Map<string, number>();
  for (const a of [...atoms, ...exits]) ix.set(a, ix.size);
  // a literal is one number: (atom index << 1) | negated, or -1 for a test no variant decides
  const lit = ({ atom, neg }: { atom: string; neg: boolean }): number => { const i = ix.get(atom); return i === undefined ? -1 : (i << 1) | (neg ? 1 : 0); };
  const condL = stepAtoms.map((as) => Int32Array.from(as, lit));
  const encoded = new Map<ReachLit[][], Int32Array[]>();
  const reachL = steps.map((st) => {
    if (!st.reach) return undefined;
    let r = encoded.get(st.reach);
    if (!r) encoded.set(st.reach, (r = st.reach.map((conj) => Int32Array.from(conj, (lc) => lit(atomOf(lc.c))))));
    return r;
  });
  const lineV = exits.map((a) => line.get(a)!);
  const nb = atoms.length;
  const byExit: number[][] = exits.map(() => []);
  const adding: boolean[] = exits.map(() => false);
  // (per distinct reach list: the exits it mentions, and those a literal of it would add)
  const exitsOf = new Map<Int32Array[], { mentions: number[]; adds: number[] }>();
  reachL.forEach((r, i) => {
    if (!r) return;
    let x = exitsOf.get(r);
    if (!x) {
      const mentions = new Set<number>();
      const adds = new Set<number>();
      for (const conj of r) for (const l of conj) {
        if (l < 0 || l >> 1 < nb) continue;
        const e = (l >> 1) - nb;
        if (lineV[e] === ((l & 1) === 1)) adds.add(e);
        mentions.add(e);
      }
      exitsOf.set(r, (x = { mentions: [...mentions], adds: [...adds] }));
    }
    for (const e of x.mentions) byExit[e].push(i);
    if (steps[i].op.op !== 'deref') for (const e of x.adds) adding[e] = true;
  });
  const val = new Int8Array(ix.size);
  const holds = (l: number): boolean => { if (l < 0) return true; const v = val[l >> 1]; return v < 0 || (v === 1) !== ((l & 1) === 1); };
  const all = (ls: Int32Array): boolean => { for (let k = 0; k < ls.length; k++) if (!holds(ls[k])) return false; return true; };
  // only steps under a condition or past an exit can be left out; a variant is the set of those
  // it keeps (combinations that keep the same set are one variant: the first, as dedupeVariants)
  const condIdx: number[] = [];
  steps.forEach((_, i) => { if (condL[i].length || reachL[i]) condIdx.push(i); });
  // steps under the same tests (one block's steps) run or not together: each distinct pair of
  // condition list and reach list is evaluated once per combination
  const reachId = new Map<Int32Array[], number>();
  const sigOf = new Map<string, number>();
  const rep: number[] = [];
  const sigIdx = new Int32Array(steps.length).fill(-1);
  for (const i of condIdx) {
    const r = reachL[i];
    let rid = 0;
    if (r) { rid = reachId.get(r) ?? reachId.size + 1; reachId.set(r, rid); }
    const k = `${rid}|${condL[i].join(',')}`;
    let g = sigOf.get(k);
    if (g === undefined) { g = rep.length; sigOf.set(k, g); rep.push(i); }
    sigIdx[i] = g;
  }
  // a variant is then the set of signatures it keeps (as many distinct sets as of steps)
  const sigList = rep.map((_, g) => g);
  const sigNonDeref = new Uint8Array(rep.length);
  for (const i of condIdx) if (steps[i].op.op !== 'deref') sigNonDeref[sigIdx[i]] = 1;
  const byExitSig = byExit.map((is) => [...new Set(is.map((i) => sigIdx[i]))]);
  const keeps = (g: number, changed?: Map<number, boolean>): boolean => g < 0 || (changed?.get(g) ?? sigRuns[g] === 1);
  const sigRuns = new Uint8Array(rep.length);
  // A combination decides the enumerated tests and leaves every exit at its straight-line value,
  // or flips one: a reach list is read once per exit flipped (-1: none), down to the
  // conjunctions still open and their literals on enumerated tests (null: one always holds).
  // (A plain use's condition may test an exit: condition lists are read with `val`, where the
  // exits hold their straight-line values, and the flipped one while it is flipped.)
  const residual = new Map<Int32Array[], Map<number, Int32Array[] | null>>();
  const residualOf = (r: Int32Array[], flip: number): Int32Array[] | null => {
    let byFlip = residual.get(r);
    if (!byFlip) residual.set(r, (byFlip = new Map()));
    let x = byFlip.get(flip);
    if (x !== undefined) return x;
    const open: Int32Array[] = [];
    let always = false;
    for (const conj of r) {
      let dead = false;
      const keep: number[] = [];
      for (const l of conj) {
        if (l < 0) continue;
        const a = l >> 1;
        if (a < nb) { keep.push(l); continue; }
        const taken = a - nb === flip ? !lineV[a - nb] : lineV[a - nb];
        if (taken === ((l & 1) === 1)) { dead = true; break; }
      }
      if (dead) continue;
      if (!keep.length) { always = true; break; }
      open.push(Int32Array.from(keep));
    }
    x = always ? null : open;
    byFlip.set(flip, x);
    return x;
  };
  /** Whether step i runs in this combination, with exit `flip` taken the other way (-1: none). */
  const runs = (i: number, flip: number): boolean => {
    if (!all(condL[i])) return false;
    const r = reachL[i];
    if (!r) return true;
    const open = residualOf(r, flip);
    if (open === null) return true;
    for (const conj of open) if (all(conj)) return true;
    return false;
  };
  exits.forEach((_, e) => { val[nb + e] = lineV[e] ? 1 : 0; });
  const kept = new Set<string>();
  const out: HandlerModel['variants'] = [];
  for (let mm = 0; mm < combos * groupCombos; mm++) {
    const m = mm % combos;
    head.forEach((a, i) => { val[ix.get(a)!] = m & (1 << i) ? 1 : 0; });
    const tailVal = m & (1 << head.length) ? 1 : 0;
    tail.forEach((a) => { val[ix.get(a)!] = tailVal; });
    let gc = Math.floor(mm / combos);
    const picked: (string | null)[] = [];
    for (const g of groups) {
      const choice = g.choices[gc % g.choices.length];
      gc = Math.floor(gc / g.choices.length);
      for (const a of g.atoms) val[ix.get(a)!] = choice === ALL_CASES || (choice !== null && g.labels.get(a)!.has(choice)) ? 1 : 0;
      picked.push(choice);
    }
    // what a new variant says about its choices (built only for variants that are kept: most
    // combinations keep a set of steps an earlier one kept)
    let meta: { assume: string[]; vg: Guard[] } | undefined;
    const describe = (): { assume: string[]; vg: Guard[] } => {
      if (meta) return meta;
      const said = groups.map((g, k) => {
        const choice = picked[k];
        return choice === ALL_CASES ? `switch (${g.subject}): any of its cases` : choice === null ? `switch (${g.subject}): another case` : `switch (${g.subject}): ${choice}`;
      });
      // (every atom comes from a step that is not a plain use)
      const assume = [...binary.map((a) => (val[ix.get(a)!] ? a : `!(${a})`)), ...said];
      // a branch not taken leaves no step to carry its pointer test: the variant carries it
      const vg: Guard[] = [];
      for (const a of atoms) {
        const g = atomGuards.get(a);
        if (g) vg.push({ slot: g.slot, nonnull: val[ix.get(a)!] ? g.whenTrue! : !g.whenTrue!, ...(g.value !== undefined ? { value: g.value } : {}), ...(g.pred !== undefined ? { pred: g.pred, predFile: g.predFile } : {}), branch: true });
      }
      return (meta = { assume, vg });
    };
    for (let g = 0; g < rep.length; g++) sigRuns[g] = runs(rep[g], -1) ? 1 : 0;
    const key = packBits(sigList, (g) => sigRuns[g] === 1);
    if (!kept.has(key)) {
      kept.add(key);
      const { assume, vg } = describe();
      out.push({ assume, steps: steps.filter((_, i) => keeps(sigIdx[i])), ...(vg.length ? { guards: vg } : {}) });
    }
    // an exit taken that only leaves out steps of the straight line (`if (copy_from_user(..))
    // return -EFAULT;`) is the handler failing before it did anything more: not explored, as
    // before exits were modelled; one whose branch or `goto` target does something is
    let flips = 0;
    for (let e = 0; e < exits.length && flips < maxExitChoices; e++) {
      if (!adding[e]) continue;
      const changed = new Map<number, boolean>();
      let adds = false;
      val[nb + e] = lineV[e] ? 0 : 1;
      for (const g of byExitSig[e]) {
        const r = runs(rep[g], e);
        if (r === (sigRuns[g] === 1)) continue;
        changed.set(g, r);
        if (r && sigNonDeref[g]) adds = true;
      }
      val[nb + e] = lineV[e] ? 1 : 0;
      if (!adds) continue;
      flips++;
      const fkey = packBits(sigList, (g) => keeps(g, changed));
      if (kept.has(fkey)) continue;
      kept.add(fkey);
      const chosen = steps.filter((_, i) => keeps(sigIdx[i], changed));
      // (the choices described are the combination's, and this exit taken the other way)
      const { assume, vg } = describe();
      out.push({ assume: [...assume, lineV[e] ? `!(${exits[e]})` : exits[e]], steps: chosen, ...(vg.length ? { guards: vg } : {}) });
    }
  }
  return dedupeVariants(out);
}

/** Which of `idx` satisfy `on`, as a short string (16 per character): the identity of a set of kept steps. */
function packBits(idx: number[], on: (i: number) => boolean): string {
  let s = '';
  for (let k = 0; k < idx.length; k += 16) {
    let w = 0;
    const end = Math.min(idx.length, k + 16);
    for (let b = k; b < end; b++) if (on(idx[b])) w |= 1 << (b - k);
    s += String.fromCharCode(w);
  }
  return s;
}

/** Handler variants (and the callbacks the handler arms) by summary object, then table kind and role (see Builder.handler). Callers copy the variants before pruning. */
const HANDLERS = new WeakMap<object, Map<string, { variants: HandlerModel['variants']; callbacks: string[]; consulted: Consulted[]; bindings: [string, string][] }>>();
/** The callback of an arm that names none, until bindArms finds the one bound to its member (`\0unbound:slot|member`). */
const UNBOUND = '\u0000unbound:';
interface Consulted { name: string; file: string; sum: object | null }

/**
 * Each guard of every variant (and of its steps) through `f`: itself, another guard, or null to
 * drop it. Lists and steps `f` leaves alone are kept (handler variants share them with a cache).
 */
function rewriteGuards(hs: (HandlerModel | null)[], f: (g: Guard) => Guard | null): void {
  const changes = (gs: Guard[]) => gs.some((g) => f(g) !== g);
  const apply = (gs: Guard[]) => gs.map(f).filter((g): g is Guard => !!g);
  for (const h of hs) for (const v of h?.variants ?? []) {
    if (v.guards && changes(v.guards)) { const gs = apply(v.guards); if (gs.length) v.guards = gs; else delete v.guards; }
    if (v.steps.some((st) => changes(st.guards))) v.steps = v.steps.map((st) => (changes(st.guards) ? { ...st, guards: apply(st.guards) } : st));
  }
}

/** Steps (and guard lists) without value and predicate tests, made once per list and shared. */
const PLAIN_STEPS = new WeakMap<Step[], Step[]>();
const PLAIN_STEP = new WeakMap<Step, Step>();
const PLAIN_GUARDS = new WeakMap<Guard[], Guard[]>();
const isPlain = (g: Guard) => g.value === undefined && g.pred === undefined;
function plainGuards(gs: Guard[]): Guard[] {
  if (gs.every(isPlain)) return gs;
  let r = PLAIN_GUARDS.get(gs);
  if (!r) PLAIN_GUARDS.set(gs, (r = gs.filter(isPlain)));
  return r;
}
function plainSteps(steps: Step[]): Step[] {
  let r = PLAIN_STEPS.get(steps);
  if (r) return r;
  r = steps.some((st) => !st.guards.every(isPlain))
    ? steps.map((st) => { if (st.guards.every(isPlain)) return st; let p = PLAIN_STEP.get(st); if (!p) PLAIN_STEP.set(st, (p = { ...st, guards: plainGuards(st.guards) })); return p; })
    : steps;
  PLAIN_STEPS.set(steps, r);
  return r;
}

/** resolve(), and else the one header of the run that defines `name` (a static inline every includer sees). */
function resolveWithHeaders(index: Index, name: string, file: string): ReturnType<Index['resolve']> {
  const ref = index.resolve(name, file);
  if (ref) return ref;
  const hs = index.functionsNamed(name).filter((r) => r.file.endsWith('.h'));
  return hs.length === 1 ? hs[0] : null;
}

/** More choices than this over a handler's switches: the later switches' cases are taken all at once or not at all (as independent tests were). */
const MAX_CASE_CHOICES = 48;
const ALL_CASES = '\u0000all';
const SWITCH_ATOM = /^switch \((.*)\): (.+)$/;

/**
 * The switch-case atoms (`switch (cmd): case A; case B`, facts/extract.ts) grouped by subject:
 * each group is one variable whose value is a label (or another value, `null`); an atom holds
 * when its label set has the value. Fall-through makes sets overlap, and that is right: `case
 * A:` falling into `case B:` runs both codes for A.
 */
function switchGroups(atoms: string[]): { subject: string; atoms: string[]; labels: Map<string, Set<string>>; choices: (string | null)[] }[] {
  const bySubject = new Map<string, { subject: string; atoms: string[]; labels: Map<string, Set<string>>; choices: (string | null)[] }>();
  for (const a of atoms) {
    const m = SWITCH_ATOM.exec(a);
    if (!m) continue;
    let g = bySubject.get(m[1]);
    if (!g) bySubject.set(m[1], (g = { subject: m[1], atoms: [], labels: new Map(), choices: [] }));
    g.atoms.push(a);
    g.labels.set(a, new Set(m[2].split('; ')));
  }
  let product = 1;
  const out = [...bySubject.values()];
  for (const g of out) {
    const labels = [...new Set(g.atoms.flatMap((a) => [...g.labels.get(a)!]))];
    if (product * (labels.length + 1) <= MAX_CASE_CHOICES) g.choices = [...labels, null];
    else g.choices = [null, ALL_CASES];
    product *= g.choices.length;
  }
  return out;
}

function dedupeVariants(vs: HandlerModel['variants'], byProgram = false): HandlerModel['variants'] {
  const seen = new Map<string, number>();
  const out: HandlerModel['variants'] = [];
  for (const v of vs) {
    // byProgram: the same operations on the same slots under the same guards are one variant,
    // wherever in the source they come from (the first one's locations explain the trace)
    const key = byProgram
      ? JSON.stringify([v.steps.map((s) => [s.op, s.guards]), v.guards ?? []])
      : v.steps.map((s) => `${s.loc.line}:${s.loc.col}:${s.op.op}`).join(',');
    if (seen.has(key)) continue;
    seen.set(key, out.length);
    out.push(v);
  }
  // the path that takes the fewest branches first: traces read better
  return out;
}
