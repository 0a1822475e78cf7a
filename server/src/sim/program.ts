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
import type { Effect, FunctionFacts, Loc, Term } from '../facts/types';
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

interface OFile { id: number; name: string; fd: number; rdma: boolean; fds: number; maps: number; lease: Loc | null; gone: boolean }
/** file: the pinned file (null: anonymous memory); owner: the device context file whose release destroys the registration */
interface Pin { mr: string; file: OFile | null; owner: OFile | null; loc: Loc; api: string; chain: string[] }

/** Functions that are user-space programs worth walking: an unconditional ibv_reg_mr in their summary. */
export function programsOf(index: Index): FunctionRef[] {
  // cheap first: functions that register memory themselves, then their callers (a few levels);
  // only those candidates get their summaries computed
  const all: { file: string; fn: FunctionFacts }[] = [];
  for (const file of index.fileList()) for (const fn of index.fileFacts(file)?.functions ?? []) all.push({ file, fn });
  const names = new Set(all.filter((x) => x.fn.effects.some((e) => e.kind === 'pin' && USER_PIN.test(e.api))).map((x) => x.fn.name));
  if (!names.size) return [];
  for (let depth = 0; depth < 4; depth++) {
    const before = names.size;
    for (const x of all) if (!names.has(x.fn.name) && x.fn.effects.some((e) => e.kind === 'call' && names.has(e.api))) names.add(x.fn.name);
    if (names.size === before) break;
  }
  const out: FunctionRef[] = [];
  for (const x of all) {
    if (!names.has(x.fn.name)) continue;
    const ref = index.resolve(x.fn.name, x.file);
    if (!ref || ref.fn !== x.fn) continue;
    const s = index.summary(ref);
    if (s.effects.some((e) => e.kind === 'pin' && USER_PIN.test(e.api) && !e.cond.length)) out.push(ref);
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
  const onLine = (e: Effect) => e.cond.every((_, i) => (e.guards ?? []).some((g) => g.cond === i && g.nonnull && g.value === undefined && g.pred === undefined && made.has(render(g.path))));
  const usedFds = new Set<number>();
  const lowestFd = () => { let n = 3; while (usedFds.has(n)) n++; usedFds.add(n); return n; };
  /** The device context's release (ib_uverbs_close) destroys its registrations: their pages are unpinned. */
  const releaseRdma = (f: OFile): Pin[] => { const gone = pins.filter((p) => p.owner === f); pins = pins.filter((p) => p.owner !== f); return gone; };

  /**
   * do_exit with what is still open (exit(), or a SIGKILL at this point): exit_mm drops the
   * mappings' file references, close_files the fds in ascending order (fs/file.c close_files);
   * each last reference queues its __fput with task_work_add, and exit_task_work runs that list
   * LIFO (kernel/task_work.c: "no ordering guarantee ... LIFO"): the highest fd is released
   * first. Under blocking-close a leased file released while its registrations live waits for
   * them, and the device context whose release would drop them is queued behind it.
   */
  const exitTeardown = (e: Effect) => {
    if (policy !== 'blocking-close' || !pins.some((p) => p.file?.lease)) { step(e, 'the process exits: what is still open is closed'); return; }
    const refs = new Map(files.map((f) => [f, f.fds + f.maps]));
    const queue: OFile[] = [];
    const drop = (f: OFile) => { const n = refs.get(f)! - 1; refs.set(f, n); if (n === 0) queue.push(f); };
    for (const f of files) for (let i = 0; i < f.maps && !f.gone; i++) drop(f);
    for (const f of files.filter((x) => !x.gone && x.fds > 0).sort((a, b) => a.fd - b.fd)) drop(f);
    step(e, `the process exits with ${pins.length} registration${pins.length === 1 ? '' : 's'} alive: exit_mm, then close_files in fd order (${files.filter((x) => !x.gone && x.fds > 0).sort((a, b) => a.fd - b.fd).map((f) => `fd ${f.fd}`).join(', ')}) queue the last __fput of each file; the task-work list runs them last-queued first`);
    const live = pins.slice();
    for (const f of queue.reverse()) {
      if (f.rdma) {
        const gone = live.filter((p) => p.owner === f);
        for (const p of gone) live.splice(live.indexOf(p), 1);
        trace.push({ actor: 'task A', event: '__fput() at exit', handler: ref.fn.name, message: `fd ${f.fd}, ${f.name}: ib_uverbs_close destroys its registrations${gone.length ? ` (${gone.map((p) => p.mr).join(', ')}): their pages are unpinned` : ''}` });
        continue;
      }
      const held = live.filter((p) => p.file === f);
      if (f.lease && held.length) {
        const owner = held[0].owner;
        trace.push({ actor: 'task A', event: '__fput() at exit', handler: ref.fn.name, message: `fd ${f.fd}, ${f.name}: the last close of a leased file with ${held.map((p) => p.mr).join(', ')} still registered blocks until they are gone${owner ? `; only the release of fd ${owner.fd} (${owner.name}), queued behind it in this task's own task-work list, would drop them` : ''}` });
        report('P7-deadlock', e, held[0], `the process exits with ${held.map((p) => p.mr).join(', ')} still registered on a mapping of ${f.name}: at exit the leased file (fd ${f.fd}) is released before the device context (fd ${owner ? owner.fd : '?'}) that would unpin its pages, because task work runs last-queued first, so its blocking close waits forever; if the close gives up on a fatal signal or PF_EXITING instead, the lease is dropped with the pages still pinned (Jan Kara's objection to blocking close)`);
        return;
      }
      trace.push({ actor: 'task A', event: '__fput() at exit', handler: ref.fn.name, message: `fd ${f.fd}, ${f.name} is released${f.lease ? '; its lease ends with nothing pinned' : ''}` });
    }
  };

  for (const e of all) {
    if (e.kind === 'exit') {
      // an exit on an error branch is still a way this program ends: evaluate it where it stands
      if (e.cond.length) { const mark = trace.length; exitTeardown(e); trace.length = mark; continue; }
      exitTeardown(e);
      break;
    }
    if (!onLine(e)) continue;
    if (e.kind === 'getFile' && e.path) made.add(key(e.path));
    if ((e.kind === 'mapFile' || e.kind === 'pin') && e.value) made.add(key(e.value));
    switch (e.kind) {
      case 'getFile': {
        if (!/^(open|openat|creat|ibv_open_device)$/.test(e.api) || !e.path) break;
        const rdma = e.api === 'ibv_open_device';
        const f: OFile = { id: files.length, name: rdma ? `the RDMA device context opened at line ${e.loc.line}` : `the file opened at line ${e.loc.line}`, fd: lowestFd(), rdma, fds: 1, maps: 0, lease: null, gone: false };
        files.push(f);
        fds.set(key(e.path), f);
        step(e, rdma ? `${key(e.path)}: a device context, an open file of /dev/infiniband/uverbs* (fd ${f.fd}); its release destroys every registration made through it` : `${key(e.path)} refers to a new open file description (${f.name}, fd ${f.fd})`);
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
        if (e.api !== 'close' && e.api !== 'ibv_close_device') break;
        const f = fds.get(key(e.path));
        if (!f) break;
        fds.delete(key(e.path));
        f.fds--;
        usedFds.delete(f.fd);
        if (f.rdma) {
          f.gone = true;
          const gone = releaseRdma(f);
          step(e, `${e.api}(${key(e.path)}): the device context is released${gone.length ? `; ${gone.map((p) => p.mr).join(', ')} destroyed, pages unpinned` : ''}`);
          break;
        }
        dropRef(f, e, `close(${key(e.path)})`);
        break;
      }
      case 'pin': {
        if (!USER_PIN.test(e.api)) break;
        const f = maps.get(key(e.path)) ?? null;
        const owner = [...files].reverse().find((x) => x.rdma && !x.gone) ?? null;
        const p: Pin = { mr: e.value ? key(e.value) : `the registration at line ${e.loc.line}`, file: f, owner, loc: e.loc, api: e.api, chain: chainOf(e) };
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
