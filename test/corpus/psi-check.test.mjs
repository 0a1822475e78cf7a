// The seed bug, end to end through `kernlife check`, on the real kernel (linux-source-6.1):
//
//  1. 6.1.192 carries the upstream fix: the cgroup pressure files poll the kernfs open node
//     (kernfs_generic_poll when t->of is set) and /proc/pressure/* is never removed, so
//     check must give no poll finding at all.
//  2. The pre-fix code is rebuilt here, at test time, by a small textual edit of the two
//     extracted files (no kernel code in the repository): psi_trigger_poll goes back to a plain
//     poll_wait(file, &t->event_wait, wait) and psi_trigger_destroy to wake_up_pollfree().
//     check must then report waitqueue-freed-while-polled at the kfree in psi_trigger_destroy,
//     with the seed thread's interleaving, and say that wake_up_pollfree does not help select.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { kernelTree } from './kernel-src.mjs';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const cli = path.join(root, 'dist/cli.js');
const api = createRequire(import.meta.url)('../../dist/api.js');
const POLL_RULES = ['waitqueue-freed-while-polled', 'pollfree-missing', 'pollfree-without-rcu'];

function check(files) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, 'check', '--format', 'json', '--fail-on', 'none', ...files], { cwd: root });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`check exited ${code}: ${err}`)); return; }
      resolve(JSON.parse(out));
    });
  });
}

/** Replace `from` by `to` exactly once; fails loudly if the kernel text moved. */
function once(text, from, to, what) {
  const n = text.split(from).length - 1;
  assert.equal(n, 1, `${what}: expected the 6.1.192 text exactly once, found ${n}`);
  return text.replace(from, to);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-psi-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('PSI on 6.1.192 (fixed): no poll finding, for the right reasons; the pre-fix code gives the seed trace', async (t) => {
  const ksrc = await kernelTree(['kernel']);
  if (!ksrc) { t.skip('linux-source-6.1 not installed'); return; }
  const cg = path.join(ksrc, 'kernel/cgroup/cgroup.c');
  const psi = path.join(ksrc, 'kernel/sched/psi.c');

  // --- the pre-fix reconstruction ------------------------------------------------------
  const psiText = fs.readFileSync(psi, 'utf8');
  let old = once(psiText,
    '\tif (t->of)\n\t\tkernfs_generic_poll(t->of, wait);\n\telse\n\t\tpoll_wait(file, &t->event_wait, wait);\n',
    '\tpoll_wait(file, &t->event_wait, wait);\n', 'psi_trigger_poll');
  old = once(old,
    '\tif (t->of)\n\t\tkernfs_notify(t->of->kn);\n\telse\n\t\twake_up_interruptible(&t->event_wait);\n',
    '\twake_up_pollfree(&t->event_wait);\n', 'psi_trigger_destroy');
  const preDir = path.join(tmp, 'prefix');
  fs.mkdirSync(preDir);
  const preCg = path.join(preDir, 'cgroup.c');
  const prePsi = path.join(preDir, 'psi.c');
  fs.copyFileSync(cg, preCg);
  fs.writeFileSync(prePsi, old);
  // where the free is: the kfree(t) that ends psi_trigger_destroy, found by reading the text
  const lines = old.split('\n');
  const start = lines.findIndex((l) => /^void psi_trigger_destroy\(/.test(l));
  const end = lines.findIndex((l, i) => i > start && l === '}');
  const kfreeLine = lines.findIndex((l, i) => i > start && i < end && /^\tkfree\(t\);/.test(l)) + 1;
  assert.ok(start >= 0 && kfreeLine > start + 1, 'kfree(t) in psi_trigger_destroy');

  const [fixed, pre] = await Promise.all([check([cg, psi]), check([preCg, prePsi])]);

  // --- 1. the fixed tree is quiet about polling --------------------------------------------
  const pollFindings = fixed.findings.filter((f) => POLL_RULES.includes(f.rule));
  assert.deepEqual(pollFindings.map((f) => `${f.rule} ${f.file}:${f.line}`), []);
  // ...for the right reasons: the pressure cftypes were simulated to completion with
  // kernfs_generic_poll, and the /proc/pressure entries are not removable.
  const facts = [cg, psi].map((f) => api.extract(f, fs.readFileSync(f, 'utf8'), { ...api.DEFAULT_OPTIONS, level: 'facts' }));
  const index = api.buildIndex(facts);
  const tables = index.tables();
  const pressure = tables.filter((tb) => tb.kind === 'cftype' && tb.fields.some((f) => f.handler === 'cgroup_pressure_poll'));
  assert.ok(pressure.length >= 3, `cgroup pressure cftypes: ${pressure.length}`);
  for (const tb of pressure) {
    const m = api.buildModel(tb, index, tb.file ?? cg);
    assert.equal(m.provider, 'kernfs');
    assert.ok(m.severable, 'cgroup files can be removed while open');
    const r = api.simulate(m);
    assert.equal(r.status, 'complete', `${tb.name}: ${r.status}`);
    assert.deepEqual(r.violations.filter((v) => v.property.startsWith('P1')), [], tb.name);
    // the poll handler's variant that the trigger's store decides is the kernfs one
    assert.ok(m.poll.variants.some((v) => v.steps.some((s) => s.op.op === 'genericPoll')), 'kernfs_generic_poll seen');
  }
  const procTables = tables.filter((tb) => tb.kind === 'proc_ops' && tb.fields.some((f) => f.handler === 'psi_fop_poll'));
  assert.ok(procTables.length >= 3, `/proc/pressure proc_ops: ${procTables.length}`);
  for (const tb of procTables) {
    const m = api.buildModel(tb, index, psi);
    assert.equal(m.provider, 'procfs');
    assert.equal(m.severable, false, `${tb.name}: ${m.severReason}`);
    assert.match(m.severReason, /never removed/);
    assert.deepEqual(api.simulate(m).violations, [], tb.name);
  }

  // --- 2. the pre-fix code gives the seed ---------------------------------------------------
  const hits = pre.findings.filter((f) => f.rule === 'waitqueue-freed-while-polled');
  assert.equal(hits.length, 1, JSON.stringify(pre.findings.map((f) => `${f.rule} ${f.file}:${f.line}`)));
  const w = hits[0];
  assert.equal(w.file, prePsi);
  assert.equal(w.line, kfreeLine);
  assert.equal(w.severity, 'error');
  assert.match(w.message, /wake_up_pollfree\(\) before the free does not help: select\/poll entries ignore POLLFREE/);
  assert.match(w.message, /kernfs_generic_poll/);
  // the interleaving, in the seed thread's order
  const tr = w.trace;
  const idx = (pred, what) => { const i = tr.findIndex(pred); assert.ok(i >= 0, `${what} not in trace:\n${tr.map((s) => `${s.actor} ${s.event} ${s.handler ?? ''} ${s.message}`).join('\n')}`); return i; };
  const reg = idx((s) => s.actor === 'task A' && s.event === 'poll_wait' && /cgroup_pressure_poll -> psi_trigger_poll/.test(s.handler ?? '') && /event_wait/.test(s.message), 'task A select registers via cgroup_pressure_poll -> psi_trigger_poll');
  const sever = idx((s) => s.actor === 'task B' && /removes or hides the file/.test(s.event), 'task B removes the cgroup file');
  const rel = idx((s) => s.actor === 'task B' && /cgroup_pressure_release/.test(s.handler ?? '') && /drain: ->release/.test(s.event), 'kernfs severing calls cgroup_pressure_release');
  const pf = idx((s) => s.actor === 'task B' && s.event === 'wake_up_pollfree', 'wake_up_pollfree');
  const free = idx((s) => s.actor === 'task B' && s.event === 'kfree' && /psi_trigger_destroy/.test(s.handler ?? '') && s.line === kfreeLine, 'kfree(t) in psi_trigger_destroy');
  const use = idx((s) => s.actor === 'task A' && s.event === 'use after free' && /poll_freewait/.test(s.message), "task A's poll_freewait touches the freed head");
  assert.ok(reg < sever && sever < rel && rel < pf && pf < free && free < use, 'seed order');
  assert.match(tr[pf].message, /select entr(y stays|ies stay) queued/);
  assert.equal(use, tr.length - 1);
});
