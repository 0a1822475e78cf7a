// The simulator on hand-built facts (no C): each case states the kernel behaviour it checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');

// --- a tiny DSL for facts -------------------------------------------------------------------
let line = 1;
const L = () => { const l = line++; return { file: 't.c', line: l, col: 2, endLine: l, endCol: 9 }; };
const P = (name, i, type) => ({ t: 'root', name, kind: 'param', param: i, type });
const G = (name) => ({ t: 'root', name, kind: 'global' });
const ARW = (base, name) => ({ t: 'field', base, name, arrow: true });
const ADDR = (base) => ({ t: 'addr', base });
const UP = (base, type, member) => ({ t: 'up', base, type, member });
const eff = (kind, path, extra = {}) => ({ kind, api: extra.api ?? kind, loc: L(), cond: [], ...(path ? { path, text: api.render(path) } : {}), ...extra });
const fn = (name, params, effects) => ({
  name, isStatic: true, params: params.map(([n, type]) => ({ name: n, type })), locals: [], effects,
  loc: L(), nameLoc: L(),
});
const tableOf = (kind, name, fields) => ({
  kind, struct: kind, name, isStatic: true, isConst: true, loc: L(),
  fields: Object.entries(fields).map(([field, handler]) => ({ field, role: ROLE[field] ?? 'other', value: handler, handler, loc: L() })),
});
const ROLE = { open: 'open', release: 'release', poll: 'poll', write: 'io', read: 'io', unlocked_ioctl: 'io', owner: 'owner' };
const facts = (functions, tables, modular = false) => ({ file: 't.c', functions, tables, problems: [], modular, stats: { bytes: 0, errorNodes: 0, functions: functions.length, parseMs: 0, extractMs: 0 } });

function run(functions, table, opts = {}) {
  const idx = api.buildIndex([facts(functions, [table])]);
  const model = api.buildModel(table, idx, 't.c');
  return { model, r: api.simulate(model, opts) };
}
const props = (r) => [...new Set(r.violations.map((v) => v.property))].sort();

// per-open object with an embedded waitqueue, as kernfs/file ops see it
const of = P('of', 0, 'struct kernfs_open_file *');
const priv = ARW(of, 'priv');
const wq = ADDR(ARW(priv, 'wq'));
const file = P('file', 1, 'struct file *');
const fpriv = ARW(file, 'private_data');
const fwq = ADDR(ARW(fpriv, 'wq'));

const kernfsPollingRelease = (releaseEffects, pollEffects) => [
  fn('mon_open', [['of', 'struct kernfs_open_file *']], [eff('alloc', priv, { api: 'kzalloc' }), eff('initWq', wq, { api: 'init_waitqueue_head' })]),
  fn('mon_poll', [['of', 'struct kernfs_open_file *'], ['pt', 'poll_table *']], pollEffects ?? [eff('pollWait', wq, { api: 'poll_wait' })]),
  fn('mon_release', [['of', 'struct kernfs_open_file *']], releaseEffects),
];
const kernfsTable = () => tableOf('kernfs_ops', 'mon_ops', { open: 'mon_open', poll: 'mon_poll', release: 'mon_release' });

test('sim: kernfs + select + ->release frees the polled object -> P1-select, with a trace through severing', () => {
  const { r } = run(kernfsPollingRelease([eff('wake', wq, { api: 'wake_up_interruptible' }), eff('free', priv, { api: 'kfree', mode: 'now' })]), kernfsTable());
  assert.equal(r.status, 'complete');
  assert.ok(props(r).includes('P1-select'), JSON.stringify(props(r)));
  const v = r.violations.find((x) => x.property === 'P1-select');
  assert.equal(v.free.api, 'kfree');
  assert.equal(v.registration.kind, 'select');
  const evs = v.trace.map((s) => s.event);
  // shortest: open, select scan + registration, sever, drain release frees, poll_freewait touches it
  assert.ok(evs.includes('open()') && evs.includes('poll_wait') && evs.some((e) => /kernfs_remove/.test(e)) && evs.includes('poll_freewait()'), evs.join(' | '));
  assert.ok(evs.indexOf('poll_wait') < evs.indexOf('kfree') && evs.indexOf('kfree') < evs.indexOf('poll_freewait()'));
  assert.equal(v.trace.at(-1).event, 'use after free');
});

test('sim: the same facts under plain file_operations -> no violation (release runs after poll_freewait)', () => {
  const fns = [
    fn('d_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('alloc', fpriv, { api: 'kzalloc' })]),
    fn('d_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [eff('pollWait', ADDR(ARW(ARW(P('file', 0, 'struct file *'), 'private_data'), 'wq')), { api: 'poll_wait' })]),
    fn('d_release', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('wake', fwq, { api: 'wake_up' }), eff('free', fpriv, { api: 'kfree', mode: 'now' })]),
  ];
  const { r } = run(fns, tableOf('file_operations', 'd_fops', { owner: 'THIS_MODULE', open: 'd_open', poll: 'd_poll', release: 'd_release' }));
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
  assert.ok(r.events.includes('select') && r.events.includes('epoll-add') && r.events.includes('fput'), r.events.join(','));
});

test('sim: kernfs_generic_poll -> no violation (the open node lives as long as the files)', () => {
  const { r } = run(kernfsPollingRelease([eff('free', priv, { api: 'kfree', mode: 'now' })], [eff('genericPoll', null, { api: 'kernfs_generic_poll' })]), kernfsTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
  assert.ok(r.events.includes('sever') && r.events.includes('select'));
});

test('sim: kernfs ->release with wake_up_pollfree + synchronize_rcu still breaks select (the Feb 2023 PSI fix)', () => {
  const { r } = run(kernfsPollingRelease([eff('wakePollfree', wq, { api: 'wake_up_pollfree' }), eff('rcuWait', null, { api: 'synchronize_rcu' }), eff('free', priv, { api: 'kfree', mode: 'now' })]), kernfsTable());
  assert.deepEqual(props(r), ['P1-select']);
  const v = r.violations[0];
  assert.equal(v.afterPollfree, true);
  assert.equal(v.rcuDelayed, true);
  assert.ok(v.trace.some((s) => /select entr.*stays? queued/.test(s.message)), v.trace.map((s) => s.message).join('\n'));
});

// a device object shared by all files (node scope), freed by an ioctl: outside any file's lifetime
const dev = G('demo_dev');
const devwq = ADDR(ARW(dev, 'wq'));
const devFns = (freeEffects) => [
  fn('d_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [eff('pollWait', devwq, { api: 'poll_wait' })]),
  fn('d_ioctl', [['file', 'struct file *'], ['cmd', 'unsigned int'], ['arg', 'unsigned long']], freeEffects),
];
const devTable = () => tableOf('file_operations', 'd_fops', { owner: 'THIS_MODULE', poll: 'd_poll', unlocked_ioctl: 'd_ioctl' });

test('sim: epoll + object freed outside the file lifetime without wake_up_pollfree -> P1-epoll', () => {
  const { r } = run(devFns([eff('wake', devwq, { api: 'wake_up' }), eff('free', dev, { api: 'kfree', mode: 'now' })]), devTable());
  assert.ok(props(r).includes('P1-epoll'), JSON.stringify(props(r)));
  const v = r.violations.find((x) => x.property === 'P1-epoll');
  assert.equal(v.registration.kind, 'epoll');
  assert.equal(v.afterPollfree, false);
});

// a task-owned waitqueue (signalfd/binder shape): hangs off `current`
const cur = G('current');
const twq = ADDR(ARW(ARW(cur, 'sighand'), 'wqh'));
const taskFns = (freeEffects) => [
  fn('t_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [eff('pollWait', twq, { api: 'poll_wait' })]),
  fn('t_ioctl', [['file', 'struct file *'], ['cmd', 'unsigned int'], ['arg', 'unsigned long']], freeEffects),
];
const taskTable = () => tableOf('file_operations', 't_fops', { owner: 'THIS_MODULE', poll: 't_poll', unlocked_ioctl: 't_ioctl' });

test('sim: wake_up_pollfree then an immediate kfree -> P1-epoll-rcu (ep_remove_wait_queue races the free)', () => {
  const { r } = run(taskFns([eff('wakePollfree', twq, { api: 'wake_up_pollfree' }), eff('free', ARW(cur, 'sighand'), { api: 'kfree', mode: 'now' })]), taskTable());
  assert.deepEqual(props(r), ['P1-epoll-rcu']);
  const evs = r.violations[0].trace.map((s) => s.event);
  assert.ok(evs.indexOf('epoll_ctl(DEL)') < evs.indexOf('wake_up_pollfree'), evs.join(' | '));
});

test('sim: wake_up_pollfree + kfree_rcu on a task-owned waitqueue -> no violation', () => {
  const { r } = run(taskFns([eff('wakePollfree', twq, { api: 'wake_up_pollfree' }), eff('free', ARW(cur, 'sighand'), { api: 'kfree_rcu', mode: 'rcu' })]), taskTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
});

test('sim: wake_up_pollfree + synchronize_rcu + kfree on a task-owned waitqueue -> no violation', () => {
  const { r } = run(taskFns([eff('wakePollfree', twq, { api: 'wake_up_pollfree' }), eff('rcuWait', null, { api: 'synchronize_rcu' }), eff('free', ARW(cur, 'sighand'), { api: 'kfree', mode: 'now' })]), taskTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
});

test('sim: a task-owned waitqueue freed without POLLFREE -> P1-epoll (epoll entries outlive the syscall)', () => {
  const { r } = run(taskFns([eff('free', ARW(cur, 'sighand'), { api: 'kfree', mode: 'now' })]), taskTable());
  assert.deepEqual(props(r), ['P1-epoll']);
});

// P2 / P10: a handler that broke its active protection uses of->priv after removal released it
// (with .file_offset: cgroup_file_show() can hide the file while its cgroup lives)
const cgTable = (hideable = true) => tableOf('cftype', 'demo_files[0]', { write: 'p_write', release: 'p_release', ...(hideable ? { file_offset: 'offsetof(struct demo, file)' } : {}) });
const ctxPath = ARW(ARW(P('of', 0, 'struct kernfs_open_file *'), 'priv'), 'state');
const kn = ARW(P('of', 0, 'struct kernfs_open_file *'), 'kn');
const writeFn = (guards) => fn('p_write', [['of', 'struct kernfs_open_file *'], ['buf', 'char *'], ['n', 'size_t'], ['off', 'loff_t']], [
  eff('breakActive', kn, { api: 'cgroup_kn_lock_live' }), eff('lock', kn, { api: 'cgroup_kn_lock_live' }),
  eff('unlock', kn, { api: 'mutex_unlock' }),
  eff('lock', kn, { api: 'mutex_lock' }),
  { ...eff('publish', ctxPath, { api: 'smp_store_release', value: G('x') }), ...(guards ? { cond: ['of->priv'], guards: [{ cond: 0, path: ARW(P('of', 0, 'struct kernfs_open_file *'), 'priv'), nonnull: true }] } : {}) },
  eff('unlock', kn, { api: 'cgroup_kn_unlock' }), eff('unbreakActive', kn, { api: 'cgroup_kn_unlock' }),
]);

test('sim: use of of->priv after the active protection was broken and removal released it -> P2', () => {
  const rel = fn('p_release', [['of', 'struct kernfs_open_file *']], []);
  const { r } = run([writeFn(false), rel], cgTable());
  assert.deepEqual(props(r), ['P2']);
  const v = r.violations[0];
  assert.equal(v.free.api, 'kfree'); // cgroup_file_release frees the ctx
  assert.ok(v.trace.some((s) => /break_active/.test(s.message)));
});

test('sim: release clears of->priv and the writer re-checks it -> no violation', () => {
  const rel = fn('p_release', [['of', 'struct kernfs_open_file *']], [eff('unpublish', ARW(P('of', 0, 'struct kernfs_open_file *'), 'priv'), { api: 'RCU_INIT_POINTER' })]);
  const { r } = run([writeFn(true), rel], cgTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
});

// cgroup removes (cgroup_destroy_locked) and hides (cgroup_file_show) files under cgroup_mutex:
// a writer that holds cgroup_mutex cannot be overtaken; one still waiting for it can.
test('sim: cgroup severing holds cgroup_mutex; the writer is overtaken only while it waits for the lock', () => {
  const w = fn('p_write', [['of', 'struct kernfs_open_file *'], ['buf', 'char *'], ['n', 'size_t'], ['off', 'loff_t']], [
    eff('breakActive', kn, { api: 'cgroup_kn_lock_live' }), eff('lock', kn, { api: 'cgroup_kn_lock_live' }),
    eff('publish', ctxPath, { api: 'smp_store_release', value: G('x') }),
    eff('unlock', kn, { api: 'cgroup_kn_unlock' }), eff('unbreakActive', kn, { api: 'cgroup_kn_unlock' }),
  ]);
  const rel = fn('p_release', [['of', 'struct kernfs_open_file *']], []);
  const { model, r } = run([w, rel], cgTable());
  assert.equal(model.severLock, 'n:cgroup_mutex');
  assert.deepEqual(props(r), ['P2']);
  const m = r.violations[0].trace.map((s) => s.message);
  const at = (re) => m.findIndex((x) => re.test(x));
  const waits = at(/waits for cgroup_mutex/), sever = at(/holding cgroup_mutex/), done = at(/every open file has been released/), takes = at(/takes cgroup_mutex again/);
  assert.ok(waits >= 0 && waits < sever && sever < done && done < takes && takes < m.length - 1, m.join('\n'));
});

// Without .file_offset only rmdir severs the file: cgroup_destroy_locked() marks the cgroup dead
// under cgroup_mutex before kernfs_remove(), so a cgroup_kn_lock_live() that gets the mutex after
// that returns NULL and the writer returns without touching of->priv.
test('sim: an rmdir-only cgroup file: the writer waiting in cgroup_kn_lock_live() finds the cgroup dead -> no violation', () => {
  const rel = fn('p_release', [['of', 'struct kernfs_open_file *']], []);
  const { model, r } = run([writeFn(false), rel], cgTable(false));
  assert.equal(model.rmdirOnly, true);
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
  // the same handler on a hideable file is the P2 above; the lock is what decides
  assert.equal(run([writeFn(false), rel], cgTable(true)).model.rmdirOnly, undefined);
  // a plain mutex taken after breaking active protection has no liveness check: still P2
  const plain = fn('p_write', [['of', 'struct kernfs_open_file *'], ['buf', 'char *'], ['n', 'size_t'], ['off', 'loff_t']], [
    eff('breakActive', kn, { api: 'kernfs_break_active_protection' }), eff('lock', kn, { api: 'mutex_lock' }),
    eff('publish', ctxPath, { api: 'smp_store_release', value: G('x') }),
    eff('unlock', kn, { api: 'mutex_unlock' }), eff('unbreakActive', kn, { api: 'kernfs_unbreak_active_protection' }),
  ]);
  assert.deepEqual(props(run([plain, rel], cgTable(false)).r), ['P2']);
});

test('sim: a writer that re-reads of->priv under cgroup_mutex after release cleared it -> no violation', () => {
  const w = fn('p_write', [['of', 'struct kernfs_open_file *'], ['buf', 'char *'], ['n', 'size_t'], ['off', 'loff_t']], [
    eff('breakActive', kn, { api: 'cgroup_kn_lock_live' }), eff('lock', kn, { api: 'cgroup_kn_lock_live' }),
    { ...eff('publish', ctxPath, { api: 'smp_store_release', value: G('x') }), guards: [{ cond: -1, path: ARW(P('of', 0, 'struct kernfs_open_file *'), 'priv'), nonnull: true }] },
    eff('unlock', kn, { api: 'cgroup_kn_unlock' }), eff('unbreakActive', kn, { api: 'cgroup_kn_unlock' }),
  ]);
  const rel = fn('p_release', [['of', 'struct kernfs_open_file *']], [eff('store', ARW(P('of', 0, 'struct kernfs_open_file *'), 'priv'), { api: '=', value: { t: 'null' } })]);
  const { r } = run([w, rel], cgTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
});

// free with pending async work
const work = ADDR(ARW(priv, 'work'));
const asyncFns = (releaseEffects) => [
  fn('a_open', [['of', 'struct kernfs_open_file *']], [eff('alloc', priv, { api: 'kzalloc' }), eff('asyncInit', work, { api: 'INIT_WORK', callback: 'a_workfn', mechanism: 'work' })]),
  fn('a_write', [['of', 'struct kernfs_open_file *'], ['buf', 'char *'], ['n', 'size_t'], ['off', 'loff_t']], [eff('asyncArm', work, { api: 'schedule_work', callback: 'a_workfn', mechanism: 'work' })]),
  fn('a_workfn', [['w', 'struct work_struct *']], [eff('lock', ADDR(ARW(UP(P('w', 0, 'struct work_struct *'), 'struct a_ctx', 'work'), 'lock')), { api: 'mutex_lock' })]),
  fn('a_release', [['of', 'struct kernfs_open_file *']], releaseEffects),
];
const asyncTable = () => tableOf('kernfs_ops', 'a_ops', { open: 'a_open', write: 'a_write', release: 'a_release' });

test('sim: release frees an object whose work item may still be queued -> P-async', () => {
  const { r } = run(asyncFns([eff('free', priv, { api: 'kfree', mode: 'now' })]), asyncTable());
  assert.deepEqual(props(r), ['P-async']);
  assert.equal(r.violations[0].use.actor, 'kworker');
});

test('sim: cancel_work_sync before the free -> no violation', () => {
  const { r } = run(asyncFns([eff('asyncCancel', work, { api: 'cancel_work_sync' }), eff('free', priv, { api: 'kfree', mode: 'now' })]), asyncTable());
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.violations, []);
});

test('sim: procfs entries that nothing removes are not severed; removable ones are', () => {
  const fns = [
    fn('p_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('alloc', fpriv, { api: 'kzalloc' })]),
    fn('p_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [eff('pollWait', ADDR(ARW(ARW(P('file', 0, 'struct file *'), 'private_data'), 'wq')), { api: 'poll_wait' })]),
    fn('p_release', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('free', fpriv, { api: 'kfree', mode: 'now' })]),
  ];
  const table = { ...tableOf('proc_ops', 'p_ops', {}), fields: [['proc_open', 'open', 'p_open'], ['proc_poll', 'poll', 'p_poll'], ['proc_release', 'release', 'p_release']].map(([field, role, h]) => ({ field, role, value: h, handler: h, loc: L() })) };
  const quiet = run(fns, table);
  assert.equal(quiet.model.severable, false);
  assert.deepEqual(quiet.r.violations, []);
  const remover = fn('p_exit', [], [eff('sever', null, { api: 'remove_proc_entry' })]);
  const loud = run([...fns, remover], table);
  assert.equal(loud.model.severable, true);
  assert.ok(props(loud.r).includes('P1-select'));
});

test('sim: the search is deterministic and honest about its budget', () => {
  const fns = kernfsPollingRelease([eff('free', priv, { api: 'kfree', mode: 'now' })], [eff('genericPoll', null, { api: 'kernfs_generic_poll' })]);
  const a = run(fns, kernfsTable()).r;
  const b = run(fns, kernfsTable()).r;
  assert.equal(a.states, b.states);
  assert.equal(a.transitions, b.transitions);
  const small = run(fns, kernfsTable(), { maxStates: 20 }).r;
  assert.equal(small.status, 'truncated');
  assert.match(small.limit, /states/);
  assert.equal(run(fns, kernfsTable(), { cancelled: () => true }).r.status, 'cancelled');
});

test('sim: undecided branches become variants; decided guards prune them', () => {
  assert.deepEqual(api.atomOf('!(t->of)'), { atom: 't->of', neg: true });
  assert.deepEqual(api.atomOf('!ctx'), { atom: 'ctx', neg: true });
  assert.deepEqual(api.atomOf('p == NULL'), { atom: 'p', neg: true });
  assert.deepEqual(api.atomOf('!(!t)'), { atom: 't', neg: false });
  // poll registers on the private waitqueue only when t->of is NULL; the state knows it is set
  const tof = ARW(priv, 'of');
  const pollEffects = [
    { ...eff('genericPoll', null, { api: 'kernfs_generic_poll' }), cond: ['t->of'], guards: [{ cond: 0, path: tof, nonnull: true }] },
    { ...eff('pollWait', wq, { api: 'poll_wait' }), cond: ['!(t->of)'], guards: [{ cond: 0, path: tof, nonnull: false }] },
  ];
  const openSets = [eff('alloc', priv, { api: 'kzalloc' }), eff('publish', tof, { api: 'store', value: P('of', 0, 'struct kernfs_open_file *') })];
  const fns = kernfsPollingRelease([eff('free', priv, { api: 'kfree', mode: 'now' })], pollEffects);
  fns[0] = fn('mon_open', [['of', 'struct kernfs_open_file *']], openSets);
  const { model, r } = run(fns, kernfsTable());
  assert.equal(model.poll.variants.length, 2);
  assert.deepEqual(r.violations, []);
  // without the store the model cannot tell, and the poll_wait branch is explored
  fns[0] = fn('mon_open', [['of', 'struct kernfs_open_file *']], [eff('alloc', priv, { api: 'kzalloc' })]);
  assert.ok(props(run(fns, kernfsTable()).r).includes('P1-select'));
});

// Leases on a file the driver holds (layout-lease policy): a long-term pin needs the lease, and
// the lease may not end (F_UNLCK, or the last fput of the file carrying it) while the pages are pinned
const dataFile = ARW(fpriv, 'data');
const pages = ARW(fpriv, 'pages');
const leaseFns = (register, unregister) => [
  fn('l_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('alloc', fpriv, { api: 'kzalloc' })]),
  // (the paths above name `file` as parameter 1, as in open/release; the ioctl's own file
  // parameter is placed there too so one set of paths serves every handler)
  fn('l_ioctl', [['priv', 'void *'], ['file', 'struct file *'], ['cmd', 'unsigned int']], [
    ...register.map((e) => ({ ...e, cond: ['cmd == REG'] })),
    ...unregister.map((e) => ({ ...e, cond: ['cmd == UNREG'] })),
  ]),
  fn('l_release', [['inode', 'struct inode *'], ['file', 'struct file *']], [...unregister, eff('free', fpriv, { api: 'kfree', mode: 'now' })]),
];
const leaseTable = () => tableOf('file_operations', 'l_fops', { open: 'l_open', unlocked_ioctl: 'l_ioctl', release: 'l_release' });
ROLE.unlocked_ioctl = 'io';
const takeLease = () => [eff('getFile', dataFile, { api: 'fget' }), eff('setLease', dataFile, { api: 'vfs_setlease' })];
const pinLT = () => eff('pin', pages, { api: 'pin_user_pages_fast', longterm: true });

test('sim: layout-lease — unpin, then F_UNLCK, then fput: no violation; the same steps under upstream: none either', () => {
  const unreg = [eff('unpin', pages, { api: 'unpin_user_pages' }), eff('dropLease', dataFile, { api: 'vfs_setlease' }), eff('fput', dataFile, { api: 'fput' })];
  for (const pinPolicy of ['layout-lease', 'upstream']) {
    const { model, r } = run(leaseFns([...takeLease(), pinLT()], unreg), leaseTable(), { pinPolicy });
    assert.ok(model.io.some((h) => h.variants.some((v) => v.steps.some((st) => st.op.op === 'pin') && v.steps.some((st) => st.op.op === 'setLease'))), 'the model pins under a lease');
    assert.ok(r.events.includes('io') && r.events.includes('fput'), r.events.join(','));
    assert.equal(r.status, 'complete');
    assert.deepEqual(props(r), [], pinPolicy);
  }
});

test('sim: layout-lease — F_UNLCK before unpin -> P7 at the unlock; a pin with no lease taken -> P6; upstream reports neither', () => {
  const early = [eff('dropLease', dataFile, { api: 'vfs_setlease' }), eff('unpin', pages, { api: 'unpin_user_pages' }), eff('fput', dataFile, { api: 'fput' })];
  const a = run(leaseFns([...takeLease(), pinLT()], early), leaseTable(), { pinPolicy: 'layout-lease' }).r;
  assert.deepEqual(props(a), ['P7']);
  const v = a.violations[0];
  assert.equal(v.use.loc.line, early[0].loc.line, 'reported at the unlock');
  assert.equal(v.pin.api, 'pin_user_pages_fast');
  const noLease = run(leaseFns([eff('getFile', dataFile, { api: 'fget' }), pinLT()], [eff('unpin', pages, { api: 'unpin_user_pages' }), eff('fput', dataFile, { api: 'fput' })]), leaseTable(), { pinPolicy: 'layout-lease' }).r;
  assert.deepEqual(props(noLease), ['P6']);
  assert.match(noLease.violations[0].use.what, /no layout lease/);
  assert.deepEqual(props(run(leaseFns([...takeLease(), pinLT()], early), leaseTable(), { pinPolicy: 'upstream' }).r), []);
});

test('sim: layout-lease — dropping the last reference to the leased file (fput) with pages pinned -> P7', () => {
  const drop = [eff('fput', dataFile, { api: 'fput' }), eff('unpin', pages, { api: 'unpin_user_pages' })];
  const { r } = run(leaseFns([...takeLease(), pinLT()], drop), leaseTable(), { pinPolicy: 'layout-lease' });
  assert.deepEqual(props(r), ['P7']);
  assert.equal(r.violations[0].use.loc.line, drop[0].loc.line);
});

// --- symmetry: open files #1 and #2 are interchangeable where the model allows it ----------

/** Every file a trace names was opened before, in order: file #1 first, then file #2. */
function assertRealFiles(trace) {
  let opened = 0;
  for (const s of trace) {
    const o = /^file #(\d) \(f_count = 1\)$/.exec(s.message);
    if (s.event === 'open()' && o) { opened++; assert.equal(Number(o[1]), opened, s.message); continue; }
    for (const m of s.message.matchAll(/file #(\d)/g)) assert.ok(Number(m[1]) <= opened, `${s.actor} ${s.event}: ${s.message} before file #${m[1]} was opened`);
  }
}

test('sim: symmetry — mirror states of a two-file device are one state; the same violations and traces as the plain search', () => {
  // shared device object freed by an ioctl on either file, polled through either file: every
  // state with both files open has a mirror (the same with files #1 and #2 exchanged)
  const fns = devFns([eff('wake', devwq, { api: 'wake_up' }), eff('free', dev, { api: 'kfree', mode: 'now' })]);
  const plain = run(fns, devTable(), { symmetry: false }).r;
  const sym = run(fns, devTable()).r;
  assert.equal(plain.status, 'complete');
  assert.equal(sym.status, 'complete');
  assert.ok(sym.states < plain.states, `${sym.states} states with symmetry, ${plain.states} without`);
  assert.ok(sym.transitions < plain.transitions);
  // the reduction keeps the states the plain search reaches first, by the same paths
  assert.deepEqual(sym.violations, plain.violations);
  assert.deepEqual(sym.events, plain.events);
  assert.equal(sym.depth, plain.depth);
  assert.deepEqual(props(sym), ['P1-epoll', 'P1-select', 'P2']);
  // shortest P1-epoll, by hand: four events of one task on one file: open, epoll_ctl(ADD)
  // registers on dev->wq, the ioctl frees dev, epoll_ctl(DEL) unlinks the entry from the freed
  // waitqueue (closing instead takes two: close, then __fput's eventpoll_release)
  const v = sym.violations.find((x) => x.property === 'P1-epoll');
  assert.deepEqual(v.trace.map((s) => `${s.actor}: ${s.event}`),
    ['task A: open()', 'task A: epoll_ctl(ADD)', 'task A: poll_wait', 'task A: unlocked_ioctl()', 'task A: kfree', 'task A: epoll_ctl(DEL)', 'task A: use after free']);
  for (const x of sym.violations) assertRealFiles(x.trace);
});

test('sim: symmetry — a violation that needs both files keeps its real path (files opened in order, actors as fired)', () => {
  // each file has its own object; ->release frees the shared device that the other file polls
  const dwq = devwq;
  const fns = [
    fn('d_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('alloc', fpriv, { api: 'kzalloc' })]),
    fn('d_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [eff('pollWait', dwq, { api: 'poll_wait' })]),
    fn('d_release', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('free', fpriv, { api: 'kfree', mode: 'now' }), eff('free', dev, { api: 'kfree', mode: 'now' })]),
  ];
  const table = tableOf('file_operations', 'd2_fops', { owner: 'THIS_MODULE', open: 'd_open', poll: 'd_poll', release: 'd_release' });
  const plain = run(fns, table, { symmetry: false }).r;
  const sym = run(fns, table).r;
  assert.ok(sym.states < plain.states, `${sym.states} vs ${plain.states}`);
  assert.deepEqual(sym.violations, plain.violations);
  const v = sym.violations.find((x) => x.property === 'P1-select' || x.property === 'P1-epoll');
  assert.ok(v, JSON.stringify(props(sym)));
  // the poller's file outlives the file whose ->release frees the device: two opens in the trace
  assert.equal(v.trace.filter((s) => s.event === 'open()' && /f_count = 1/.test(s.message)).length, 2, v.trace.map((s) => `${s.actor}: ${s.event}`).join(' | '));
  assertRealFiles(v.trace);
});

test('sim: symmetry — kernfs removal drains files in open order, so severable models keep the order and the plain results', () => {
  for (const fns of [
    kernfsPollingRelease([eff('wake', wq, { api: 'wake_up_interruptible' }), eff('free', priv, { api: 'kfree', mode: 'now' })]),
    kernfsPollingRelease([eff('free', priv, { api: 'kfree', mode: 'now' })], [eff('genericPoll', null, { api: 'kernfs_generic_poll' })]),
  ]) {
    const plain = run(fns, kernfsTable(), { symmetry: false }).r;
    const sym = run(fns, kernfsTable()).r;
    assert.ok(sym.states <= plain.states);
    assert.deepEqual(sym.violations, plain.violations);
    assert.deepEqual(sym.events, plain.events);
    for (const x of sym.violations) assertRealFiles(x.trace);
  }
});

// Tracked values (TableModel.values): a field set to constants by the handlers and tested by them.
// ->open gives a new client INITIALIZING; ->poll registers only on a CONNECTED client; the ioctl
// connects it, or frees it while it is still INITIALIZING. Only a value that nothing but ->open
// sets is one a live client never gets back.
const stateFns = ({ reset = false, viaPredicate = false } = {}) => {
  const state = ARW(fpriv, 'state');
  // (->poll has the file as its first parameter)
  const ppriv = ARW(P('file', 0, 'struct file *'), 'private_data');
  const pwq = ADDR(ARW(ppriv, 'wq'));
  const connected = viaPredicate
    ? { cond: -1, path: ppriv, nonnull: true, pred: 'st_is_connected' }
    : { cond: -1, path: ARW(ppriv, 'state'), nonnull: true, value: 'ST_CONNECTED' };
  const pred = fn('st_is_connected', [['c', 'struct st_client *']], []);
  pred.predicate = { path: ARW(P('c', 0, 'struct st_client *'), 'state'), nonnull: true, value: 'ST_CONNECTED' };
  return [
    pred,
    fn('st_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [
      eff('alloc', fpriv, { api: 'kzalloc' }), eff('initWq', fwq, { api: 'init_waitqueue_head' }),
      eff('store', state, { api: '=', konst: 'ST_INITIALIZING' }),
    ]),
    fn('st_poll', [['file', 'struct file *'], ['pt', 'poll_table *']], [{ ...eff('pollWait', pwq, { api: 'poll_wait' }), guards: [connected] }]),
    fn('st_ioctl', [['priv', 'void *'], ['file', 'struct file *'], ['cmd', 'unsigned int']], [
      // (the file goes on with another client it found: `file->private_data = pos;`)
      { ...eff('free', fpriv, { api: 'kfree', mode: 'now' }), cond: ['switch (cl->state@9): case ST_INITIALIZING'], guards: [{ cond: 0, path: state, nonnull: true, value: 'ST_INITIALIZING' }] },
      { ...eff('store', fpriv, { api: '=', value: { t: 'root', name: 'pos', kind: 'local' }, rebind: true }), cond: ['switch (cl->state@9): case ST_INITIALIZING'], guards: [{ cond: 0, path: state, nonnull: true, value: 'ST_INITIALIZING' }] },
      { ...eff('store', state, { api: '=', konst: 'ST_CONNECTED' }), cond: ['cmd == CONNECT'] },
      ...(reset ? [{ ...eff('store', state, { api: '=', konst: 'ST_INITIALIZING' }), cond: ['cmd == RESET'] }] : []),
    ]),
    fn('st_release', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('free', fpriv, { api: 'kfree', mode: 'now' })]),
  ];
};
const stateTable = () => tableOf('file_operations', 'st_fops', { open: 'st_open', poll: 'st_poll', unlocked_ioctl: 'st_ioctl', release: 'st_release' });

test('sim: values — a client freed only while INITIALIZING is never one ->poll registered on (CONNECTED); directly or through a predicate', () => {
  for (const viaPredicate of [false, true]) {
    const { model, r } = run(stateFns({ viaPredicate }), stateTable());
    assert.deepEqual(model.values, { names: ['ST_INITIALIZING'], fresh: { 'f:file->private_data->state': ['ST_INITIALIZING'] } }, 'INITIALIZING comes only from ->open');
    assert.equal(r.status, 'complete');
    assert.deepEqual(props(r), [], `viaPredicate=${viaPredicate}`);
  }
});

test('sim: values — a reset that gives a live client INITIALIZING again lets the free hit a polled client -> P1-select', () => {
  for (const viaPredicate of [false, true]) {
    const { model, r } = run(stateFns({ reset: true, viaPredicate }), stateTable());
    assert.equal(model.values, undefined, 'INITIALIZING is set again by the reset: nothing to track');
    assert.ok(props(r).includes('P1-select'), `viaPredicate=${viaPredicate}: ${props(r)}`);
    const v = r.violations.find((x) => x.property === 'P1-select');
    // the trace: registration while connected, the reset, then the free
    const msgs = v.trace.map((s) => s.message).join('\n');
    assert.match(msgs, /select entry on/);
    assert.match(msgs, /frees file->private_data/);
  }
});

test('sim: values — without any store of the field the tests are undecided, as before (no tracking, P1-select found)', () => {
  const fns = stateFns();
  fns[1] = fn('st_open', [['inode', 'struct inode *'], ['file', 'struct file *']], [eff('alloc', fpriv, { api: 'kzalloc' }), eff('initWq', fwq, { api: 'init_waitqueue_head' })]);
  fns[3] = fn('st_ioctl', [['priv', 'void *'], ['file', 'struct file *'], ['cmd', 'unsigned int']], [
    { ...eff('free', fpriv, { api: 'kfree', mode: 'now' }), cond: ['switch (cl->state@9): case ST_INITIALIZING'], guards: [{ cond: 0, path: ARW(fpriv, 'state'), nonnull: true, value: 'ST_INITIALIZING' }] },
    { ...eff('store', fpriv, { api: '=', value: { t: 'root', name: 'pos', kind: 'local' }, rebind: true }), cond: ['switch (cl->state@9): case ST_INITIALIZING'] },
  ]);
  const { model, r } = run(fns, stateTable());
  assert.equal(model.values, undefined);
  assert.ok(props(r).includes('P1-select'));
});

test('facts: value tests and predicates as guards (state-replace.ok.c): a switch case, a predicate\'s one return, a negated predicate past an exit', async () => {
  const fs = await import('node:fs');
  const f = new URL('../fixtures/rules/waitqueue-freed-while-polled/state-replace.ok.c', import.meta.url).pathname;
  const r = api.extract(f, fs.readFileSync(f, 'utf8'), { ...api.DEFAULT_OPTIONS, level: 'facts' });
  const fnNamed = (n) => r.functions.find((x) => x.name === n);
  const pred = fnNamed('cc_is_connected').predicate;
  assert.deepEqual({ path: api.render(pred.path), nonnull: pred.nonnull, value: pred.value }, { path: 'cl->state', nonnull: true, value: 'CC_CONNECTED' });
  // a function with more than a return of a comparison is no predicate
  assert.equal(fnNamed('cc_attach').predicate, undefined);
  const free = fnNamed('cc_attach').effects.find((e) => e.kind === 'free');
  const caseGuard = free.guards.find((g) => g.value !== undefined);
  assert.deepEqual({ path: api.render(caseGuard.path), nonnull: caseGuard.nonnull, value: caseGuard.value }, { path: 'file->private_data->state', nonnull: true, value: 'CC_INITIALIZING' });
  assert.match(free.cond[caseGuard.cond], /^switch \(cl->state@\d+\): case CC_INITIALIZING$/);
  const reg = fnNamed('cc_poll').effects.find((e) => e.kind === 'pollWait');
  const pg = reg.guards.find((g) => g.pred);
  assert.deepEqual({ cond: pg.cond, path: api.render(pg.path), nonnull: pg.nonnull, pred: pg.pred }, { cond: -1, path: 'file->private_data', nonnull: true, pred: 'cc_is_connected' });
  // the open stores the constant that only a new client gets
  assert.ok(fnNamed('cc_open').effects.some((e) => e.kind === 'store' && e.konst === 'CC_INITIALIZING'));
});
