// The seed case on the real kernel (linux-source-6.1): the summaries of the cgroup pressure
// handlers reach into kernel/sched/psi.c and land on one access path rooted at of->priv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { kernelTree } from './kernel-src.mjs';
const api = createRequire(import.meta.url)('../../dist/api.js');

test('PSI seed: cgroup_pressure_release frees and cgroup_pressure_poll registers on of->priv->psi.trigger', async (t) => {
  const root = await kernelTree(['kernel']);
  if (!root) { t.skip('linux-source-6.1 not installed'); return; }
  const files = ['kernel/cgroup/cgroup.c', 'kernel/sched/psi.c'].map((f) => path.join(root, f));
  const facts = files.map((f) => api.extract(f, fs.readFileSync(f, 'utf8'), { ...api.DEFAULT_OPTIONS, level: 'facts' }));
  const index = api.buildIndex(facts);
  const summary = (name) => {
    const ref = index.resolve(name, files[0]);
    assert.ok(ref, `${name} not found`);
    return index.summary(ref);
  };

  const rel = summary('cgroup_pressure_release');
  const free = rel.effects.find((e) => e.kind === 'free');
  assert.ok(free, 'no free in the release summary');
  assert.equal(free.text, 'of->priv->psi.trigger');
  assert.equal(free.mode, 'now');
  assert.deepEqual(free.via.map((v) => v.callee), ['psi_trigger_destroy']);
  assert.equal(path.basename(free.loc.file), 'psi.c');
  // the grace period psi_trigger_destroy waits for comes before the free
  const order = rel.effects.map((e) => e.kind);
  assert.ok(order.indexOf('rcuWait') >= 0 && order.indexOf('rcuWait') < order.indexOf('free'));

  const poll = summary('cgroup_pressure_poll');
  const pw = poll.effects.find((e) => e.kind === 'pollWait');
  assert.ok(pw, 'no poll registration in the poll summary');
  assert.equal(pw.text, '&of->priv->psi.trigger->event_wait');
  assert.deepEqual(pw.via.map((v) => v.callee), ['psi_trigger_poll']);
  // 6.1.192 carries the fix: the cgroup path polls the kernfs open node when t->of is set
  const gp = poll.effects.find((e) => e.kind === 'genericPoll');
  assert.ok(gp, 'kernfs_generic_poll not seen');
  assert.deepEqual(gp.cond, ['t->of']);
  assert.deepEqual(pw.cond, ['!(t->of)']);

  // same object: the path the poll registers on is a field of the object the release frees
  assert.ok(pw.text.startsWith('&' + free.text + '->'));

  // and the table that wires them: the cgroup pressure cftype entries
  const tables = index.tables().filter((x) => x.kind === 'cftype' && x.fields.some((f) => f.handler === 'cgroup_pressure_release'));
  assert.ok(tables.length >= 3, `pressure cftypes: ${tables.length}`);
  for (const tb of tables) {
    const r = tb.fields.find((f) => f.field === 'release');
    assert.equal(r.definedAt.line, index.resolve('cgroup_pressure_release', files[0]).fn.nameLoc.line);
  }
});
