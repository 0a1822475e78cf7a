/**
 * User-space programs as simulator input: a function that registers memory with the RDMA stack
 * (ibv_reg_mr: a long-term pin of the range) is run as one task, step by step, over the open
 * file descriptions, mappings, leases and pins it creates. The search has one interleaving to
 * explore (one task, its own steps in order), so it is a walk, not a BFS; what it shares with
 * the table simulator is the state it tracks and the trace it reports.
 *
 * The path walked is the straight line: the function's effects (its callees' included, from
 * their summaries) that sit under no condition, or only under tests that something this line
 * created is set (`if (mr) ibv_dereg_mr(mr);`). Error branches (`if (fd < 0) { ...; return; }`,
 * `if (!mr)`) are not taken.
 *
 * Kernel semantics (linux-source-6.1):
 * - a lease belongs to the open file description (fs/locks.c lease_init: fl_owner = filp) and
 *   ends with F_UNLCK or the last __fput (locks_remove_file);
 * - a shared file mapping holds its own reference to the file (mm/mmap.c mmap_region:
 *   vma->vm_file = get_file(file)), so the file, and its lease, lives until munmap as well;
 * - ibv_reg_mr pins the range long term (ib_umem_get -> pin_user_pages_fast(FOLL_LONGTERM)).
 *
 * Policies (lifecycle-model 2.7): under `upstream` leases do not protect pins (the kernel
 * refuses FOLL_LONGTERM on FS-DAX instead) and nothing here is reported. Under `layout-lease`
 * (the 2019 RFC) a registration of a file mapping needs a lease on that file, and its pin
 * records hold a hidden file reference: the user's last close leaves a "zombie" lease, and
 * F_UNLCK with pins outstanding is an error. Under `blocking-close` (Dave Chinner's proposal)
 * there is no hidden reference: the last close of a leased file with pins outstanding blocks
 * until they are gone, which deadlocks when only this task, later, would unpin them.
 */
import type { Effect, Loc, Term } from '../facts/types';
import type { FunctionRef, Index } from '../index/index';
import { render } from '../facts/terms';
import type { PinPolicy } from './model';
import type { TraceStep, Violation } from './trace';

/** APIs whose pin is a user-space memory registration. */
const USER_PIN = /^ibv_reg_mr/;

export interface ProgramRun {
  fn: string;
  file: string;
  loc: Loc;
  policy: PinPolicy;
  steps: number;
  violations: Violation[];
}

interface OFile { id: number; name: string; fds: number; maps: number; lease: Loc | null; gone: boolean }
interface Pin { mr: string; file: OFile | null; loc: Loc; api: string; chain: string[] }

/** Functions that are user-space programs worth walking: an unconditional ibv_reg_mr in their summary. */
export function programsOf(index: Index): FunctionRef[] {
  const out: FunctionRef[] = [];
  for (const file of index.fileList()) {
    for (const fn of index.fileFacts(file)?.functions ?? []) {
      if (!fn.effects.some((e) => (e.kind === 'pin' && USER_PIN.test(e.api)) || e.kind === 'call')) continue;
      const ref = index.resolve(fn.name, file);
      if (!ref || ref.fn !== fn) continue;
      const s = index.summary(ref);
      if (s.effects.some((e) => e.kind === 'pin' && USER_PIN.test(e.api) && !e.cond.length)) out.push(ref);
    }
  }
  return out;
}

export function simulateProgram(index: Index, ref: FunctionRef, policy: PinPolicy): ProgramRun {
  const all = index.summary(ref).effects;
  // values this straight line made: open fds, mappings, registrations (they succeeded on it)
  const made = new Set<string>();
  const trace: TraceStep[] = [];
  const violations: Violation[] = [];
  const files: OFile[] = [];
  const fds = new Map<string, OFile>();
  const maps = new Map<string, OFile>();
  let pins: Pin[] = [];
  const key = (t: Term | undefined) => (t ? render(t) : '');
  const chainOf = (e: Effect) => [ref.fn.name, ...(e.via ?? []).map((v) => v.callee)];
  const step = (e: Effect, message: string) => trace.push({ actor: 'task A', event: `${e.api}()`, handler: chainOf(e).join(' -> '), loc: e.loc, message });
  const report = (property: Violation['property'], e: Effect, p: Pin, what: string) => {
    violations.push({
      property, object: p.file?.name ?? p.mr, free: null,
      use: { what, actor: 'task A', loc: e.loc },
      afterPollfree: false, rcuDelayed: false,
      pin: { loc: p.loc, api: p.api, chain: p.chain, actor: 'task A', text: p.mr, longterm: true, gup: false, handler: ref.fn.name },
      trace: trace.slice(),
    });
  };
  /** The description lost a reference: at the last one its lease ends (locks_remove_file). */
  const dropRef = (f: OFile, e: Effect, how: string) => {
    if (f.fds > 0 || f.maps > 0) { step(e, `${how}; ${f.name} stays open (${f.fds} fd${f.fds === 1 ? '' : 's'}, ${f.maps} mapping${f.maps === 1 ? '' : 's'})`); return; }
    const held = pins.filter((p) => p.file === f);
    if (!f.lease || !held.length || policy === 'upstream') {
      f.gone = true;
      step(e, `${how}: the last reference to ${f.name} is gone; __fput runs${f.lease ? ' and locks_remove_file() ends its lease' : ''}`);
      f.lease = null;
      return;
    }
    if (policy === 'layout-lease') {
      step(e, `${how}: the user's last reference to ${f.name} is gone, but the pin record of ${held[0].mr} holds a hidden file reference: the lease lives on with nobody able to release it (a zombie lease)`);
      report('P7-zombie', e, held[0], `${how} while ${held.length} registration${held.length === 1 ? '' : 's'} (${held.map((p) => p.mr).join(', ')}) still pin pages of ${f.name}: the lease becomes a zombie, kept only by the pin's hidden reference`);
      return;
    }
    step(e, `${how}: the last close of ${f.name} blocks until its pins are released (blocking-close policy); the only release, ${held.map((p) => `ibv_dereg_mr(${p.mr})`).join(', ')}, comes later in this same task`);
    report('P7-deadlock', e, held[0], `${how} blocks until ${held.map((p) => p.mr).join(', ')} is deregistered, which only this task does, later: the close never returns (a fatal signal breaks the wait and drops the lease with the pages pinned)`);
  };

  /**
   * On the straight line, a step under conditions happens only when each condition is a test
   * that one of the line's own results is set (`if (mr) ibv_dereg_mr(mr);`): those succeeded.
   */
  const onLine = (e: Effect) => e.cond.every((_, i) => (e.guards ?? []).some((g) => g.cond === i && g.nonnull && made.has(render(g.path))));
  for (const e of all) {
    if (!onLine(e)) continue;
    if (e.kind === 'getFile' && e.path) made.add(key(e.path));
    if ((e.kind === 'mapFile' || e.kind === 'pin') && e.value) made.add(key(e.value));
    switch (e.kind) {
      case 'getFile': {
        if (!/^(open|openat|creat)$/.test(e.api) || !e.path) break;
        const f: OFile = { id: files.length, name: `the file opened at line ${e.loc.line}`, fds: 1, maps: 0, lease: null, gone: false };
        files.push(f);
        fds.set(key(e.path), f);
        step(e, `${key(e.path)} refers to a new open file description (${f.name})`);
        break;
      }
      case 'setLease': {
        const f = fds.get(key(e.path));
        if (!f) break;
        f.lease = e.loc;
        step(e, `a lease on ${f.name}, owned by that open file description (fs/locks.c lease_init: fl_owner = filp)`);
        break;
      }
      case 'dropLease': {
        const f = fds.get(key(e.path));
        if (!f) break;
        const held = pins.filter((p) => p.file === f);
        step(e, `F_UNLCK: the lease on ${f.name} ends${held.length ? ` with ${held.length} registration${held.length === 1 ? '' : 's'} still pinning its pages` : ''}`);
        if (held.length && f.lease && policy !== 'upstream') report('P7', e, held[0], `F_UNLCK drops the lease on ${f.name} while ${held.map((p) => p.mr).join(', ')} still pin${held.length === 1 ? 's' : ''} its pages`);
        f.lease = null;
        break;
      }
      case 'mapFile': {
        const f = fds.get(key(e.path));
        if (!f || !e.value) break;
        f.maps++;
        maps.set(key(e.value), f);
        step(e, `${key(e.value)} maps ${f.name}; the mapping holds its own reference to the file`);
        break;
      }
      case 'unmap': {
        const f = maps.get(key(e.path));
        if (!f) break;
        maps.delete(key(e.path));
        f.maps--;
        dropRef(f, e, `munmap(${key(e.path)}) drops the mapping's file reference`);
        break;
      }
      case 'fput': {
        if (e.api !== 'close') break;
        const f = fds.get(key(e.path));
        if (!f) break;
        fds.delete(key(e.path));
        f.fds--;
        dropRef(f, e, `close(${key(e.path)})`);
        break;
      }
      case 'pin': {
        if (!USER_PIN.test(e.api)) break;
        const f = maps.get(key(e.path)) ?? null;
        const p: Pin = { mr: e.value ? key(e.value) : `the registration at line ${e.loc.line}`, file: f, loc: e.loc, api: e.api, chain: chainOf(e) };
        pins.push(p);
        step(e, `${p.mr} pins ${key(e.path)} long term (ib_umem_get -> pin_user_pages_fast(FOLL_LONGTERM))${f ? `: pages of ${f.name}${f.lease ? ', under its lease' : ', with no lease on it'}` : ': anonymous memory, no file behind it'}`);
        if (f && !f.lease && policy !== 'upstream') {
          violations.push({
            property: 'P6', object: p.mr, free: null,
            use: { what: `${e.api}() registers a mapping of ${f.name} while no lease is held on that file`, actor: 'task A', loc: e.loc },
            afterPollfree: false, rcuDelayed: false,
            pin: { loc: e.loc, api: e.api, chain: p.chain, actor: 'task A', text: key(e.path), longterm: true, gup: false, handler: ref.fn.name },
            trace: trace.slice(),
          });
        }
        break;
      }
      case 'unpin': {
        const k = key(e.path);
        const before = pins.length;
        pins = pins.filter((p) => p.mr !== k);
        if (pins.length !== before) step(e, `${k} is deregistered: its pages are unpinned`);
        break;
      }
      default: break;
    }
  }
  return { fn: ref.fn.name, file: ref.file, loc: ref.fn.nameLoc, policy, steps: trace.length, violations };
}
