import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const api = require('../../dist/api.js');
const ex = (file, text) => api.extract(file, text, { ...api.DEFAULT_OPTIONS, level: 'facts' });

const A = `
static void a_release(struct kernfs_open_file *of)
{
	struct box *b = of->priv;
	box_destroy(b);
}
`;
const B1 = `
void box_destroy(struct box *t)
{
	kfree(t);
}
`;
const B2 = `
void box_destroy(struct box *t)
{
	synchronize_rcu();
	kfree_rcu(t, rcu);
}
`;

test('index: a summary maps the callee free onto the caller path', () => {
  const idx = api.buildIndex([ex('a.c', A), ex('b.c', B1)]);
  const s = idx.summary(idx.resolve('a_release', 'a.c'));
  assert.deepEqual(s.effects.map(api.renderEffect), ['free(of->priv, now)']);
  assert.deepEqual(s.effects[0].via.map((v) => v.callee), ['box_destroy']);
});

test('index: updating the callee file invalidates the caller summary (incremental)', () => {
  const idx = api.buildIndex([ex('a.c', A), ex('b.c', B1)]);
  const ref = idx.resolve('a_release', 'a.c');
  idx.summary(ref);
  const dropped = idx.update(ex('b.c', B2));
  assert.ok(dropped.includes('a.c::a_release'), `dropped: ${dropped}`);
  const s = idx.summary(idx.resolve('a_release', 'a.c'));
  assert.deepEqual(s.effects.map(api.renderEffect), ['rcuWait()', 'free(of->priv, rcu)']);
});

test('index: a callee that appears later resolves an earlier unresolved call', () => {
  const idx = api.buildIndex([ex('a.c', A)]);
  assert.deepEqual(idx.summary(idx.resolve('a_release', 'a.c')).unresolved, ['box_destroy']);
  idx.update(ex('b.c', B1));
  assert.deepEqual(idx.summary(idx.resolve('a_release', 'a.c')).effects.map(api.renderEffect), ['free(of->priv, now)']);
  idx.remove('b.c');
  assert.deepEqual(idx.summary(idx.resolve('a_release', 'a.c')).effects, []);
});

test('index: static functions resolve within their file first', () => {
  const other = 'static void box_destroy(struct box *t)\n{\n\tvfree(t);\n}\n';
  const idx = api.buildIndex([ex('a.c', A), ex('b.c', B1), ex('c.c', other)]);
  assert.equal(idx.resolve('box_destroy', 'a.c').file, 'b.c');
  assert.equal(idx.resolve('box_destroy', 'c.c').file, 'c.c');
});

test('index: recursion terminates and depth is bounded', () => {
  const src = 'void r1(struct x *p)\n{\n\tr2(p);\n\tkfree(p);\n}\nvoid r2(struct x *q)\n{\n\tr1(q);\n}\n';
  const idx = api.buildIndex([ex('r.c', src)]);
  const s = idx.summary(idx.resolve('r2', 'r.c'));
  assert.ok(s.effects.map(api.renderEffect).includes('free(q, now)'));
  assert.equal(s.truncated, 'cycle');
});

test('index: table handlers resolve to definitions in other files', () => {
  const t = 'static const struct file_operations f_fops = {\n\t.release = f_release,\n};\n';
  const d = 'int f_release(struct inode *i, struct file *f)\n{\n\treturn 0;\n}\n';
  const idx = api.buildIndex([ex('t.c', t), ex('d.c', d)]);
  const [table] = idx.tables();
  assert.equal(table.fields[0].definedAt.file, 'd.c');
  assert.equal(table.fields[0].definedAt.line, 1);
});

test('index: editing one file\'s static helper does not invalidate callers of a same-named static elsewhere', () => {
  const mk = (file, free) => `static void helper(struct box *t)\n{\n\t${free}(t);\n}\nstatic void ${file}_release(struct kernfs_open_file *of)\n{\n\thelper(of->priv);\n}\n`;
  const idx = api.buildIndex([ex('x.c', mk('x', 'kfree')), ex('y.c', mk('y', 'kfree'))]);
  for (const f of ['x', 'y']) idx.summary(idx.resolve(`${f}_release`, `${f}.c`));
  const dropped = idx.update(ex('y.c', mk('y', 'vfree')));
  assert.ok(dropped.includes('y.c::y_release'), `dropped: ${dropped}`);
  assert.ok(!dropped.includes('x.c::x_release'), `x.c's caller was dropped: ${dropped}`);
  assert.deepEqual(idx.summary(idx.resolve('y_release', 'y.c')).effects.map((e) => e.api), ['vfree']);
  assert.deepEqual(idx.summary(idx.resolve('x_release', 'x.c')).effects.map((e) => e.api), ['kfree']);
});

test('index: registrations follow file updates (a fops handed to misc_register, then not)', () => {
  const fops = 'static const struct file_operations m_fops = {\n\t.read = m_read,\n};\n';
  const reg = 'static struct miscdevice m_misc = {\n\t.minor = MISC_DYNAMIC_MINOR,\n\t.fops = &m_fops,\n};\n';
  const idx = api.buildIndex([ex('a.c', fops), ex('b.c', reg)]);
  assert.deepEqual(idx.exposures('m_fops').map((x) => `${x.registry}@${x.file}`), ['misc@b.c']);
  idx.update(ex('b.c', 'static int nothing;\n'));
  assert.deepEqual(idx.exposures('m_fops'), []);
  idx.update(ex('c.c', 'static int p(struct platform_device *d)\n{\n\tstruct x *mp = dev_get_drvdata(&d->dev);\n\tmp->misc.fops = &m_fops;\n\treturn 0;\n}\n'));
  assert.deepEqual(idx.exposures('m_fops').map((x) => `${x.registry}@${x.file}`), ['misc@c.c']);
  idx.remove('c.c');
  assert.deepEqual(idx.exposures('m_fops'), []);
});

/** Every function's summary as text, from an index (the expectation: a fresh index of the same facts). */
function allSummaries(idx, files) {
  const out = {};
  for (const f of files) for (const fn of idx.fileFacts(f)?.functions ?? []) {
    const ref = idx.resolve(fn.name, f);
    const s = idx.summary(ref);
    out[`${f}:${fn.name}`] = [ref.file, s.effects.map((e) => `${api.renderEffect(e)}@${e.loc.line}`), s.unresolved, s.truncated ?? null];
  }
  return out;
}

test('index: update by function keeps the unchanged functions (their objects and summaries) and drops what a changed one reaches', () => {
  const A1 = 'static void a_helper(struct box *b)\n{\n\tkfree(b);\n}\nstatic void a_other(struct box *b)\n{\n\tvfree(b);\n}\nvoid a_entry(struct kernfs_open_file *of)\n{\n\ta_helper(of->priv);\n\tshared(of->priv);\n}\n';
  const A2 = A1.replace('\tkfree(b);', '\tsynchronize_rcu(); kfree_rcu(b, rcu);'); // no line moves
  const B = 'void shared(struct box *t)\n{\n\twake_up(&t->wq);\n}\nvoid b_user(struct box *t)\n{\n\ta_entry2(t);\n}\n';
  const C = 'static void c_release(struct kernfs_open_file *of)\n{\n\ta_entry(of);\n}\n';
  const idx = api.buildIndex([ex('a.c', A1), ex('b.c', B), ex('c.c', C)]);
  allSummaries(idx, ['a.c', 'b.c', 'c.c']);
  const other = idx.fileFacts('a.c').functions.find((f) => f.name === 'a_other');
  const dropped = idx.update(ex('a.c', A2), { byFunction: true });
  // the changed helper, its caller in the file and that one's caller in another file; not the untouched function, not b.c
  assert.deepEqual(dropped, ['a.c::a_helper', 'a_entry', 'c.c::c_release']);
  // a function extracted again with equal facts keeps the indexed object (summaries are built on its effects)
  assert.equal(idx.fileFacts('a.c').functions.find((f) => f.name === 'a_other'), other);
  assert.deepEqual(allSummaries(idx, ['a.c', 'b.c', 'c.c']), allSummaries(api.buildIndex([ex('a.c', A2), ex('b.c', B), ex('c.c', C)]), ['a.c', 'b.c', 'c.c']));
});

test('index: a function added or removed by an update changes how callers elsewhere resolve its name', () => {
  const A = 'void a_release(struct kernfs_open_file *of)\n{\n\tbox_destroy(of->priv);\n}\n';
  const Astatic = 'static void box_destroy(struct box *t)\n{\n\tvfree(t);\n}\n' + A;
  const B = 'void box_destroy(struct box *t)\n{\n\tkfree(t);\n}\n';
  const C = 'void c_release(struct kernfs_open_file *of)\n{\n\tbox_destroy(of->priv);\n\tnew_helper(of->priv);\n}\n';
  const C2 = C + 'void new_helper(struct box *t)\n{\n\tkfree_rcu(t, rcu);\n}\n';
  const files = ['a.c', 'b.c', 'c.c'];
  const idx = api.buildIndex([ex('a.c', A), ex('b.c', B), ex('c.c', C)]);
  allSummaries(idx, files);
  const fresh = (...ff) => allSummaries(api.buildIndex(ff), files);
  // a static definition in the caller's file takes the call from the global one
  idx.update(ex('a.c', Astatic), { byFunction: true });
  assert.deepEqual(idx.summary(idx.resolve('a_release', 'a.c')).effects.map((e) => e.api), ['vfree']);
  assert.deepEqual(allSummaries(idx, files), fresh(ex('a.c', Astatic), ex('b.c', B), ex('c.c', C)));
  // a definition for a call that did not resolve
  idx.update(ex('c.c', C2), { byFunction: true });
  assert.deepEqual(allSummaries(idx, files), fresh(ex('a.c', Astatic), ex('b.c', B), ex('c.c', C2)));
  // both removed again
  idx.update(ex('a.c', A), { byFunction: true });
  idx.update(ex('c.c', C), { byFunction: true });
  assert.deepEqual(allSummaries(idx, files), fresh(ex('a.c', A), ex('b.c', B), ex('c.c', C)));
});

test('index: what a tracked read depends on meets what a later update changes', () => {
  const A = 'void a_release(struct kernfs_open_file *of)\n{\n\tbox_destroy(of->priv);\n}\nvoid a_unrelated(struct box *t)\n{\n\tkfree(t);\n}\n';
  const B = 'void box_destroy(struct box *t)\n{\n\tkfree(t);\n}\n';
  const idx = api.buildIndex([ex('a.c', A), ex('b.c', B)]);
  idx.recordChanges();
  const { deps } = idx.track(() => idx.summary(idx.resolve('a_release', 'a.c')).effects);
  idx.takeChanges();
  const meets = (changes) => [...changes].some((c) => deps.has(c));
  // the callee in another file changes: the reader's summary is among the changes
  idx.update(ex('b.c', B.replace('kfree(t)', 'vfree(t)')), { byFunction: true });
  assert.ok(meets(idx.takeChanges()));
  // a function the reader never reached changes: nothing it read
  idx.update(ex('a.c', A.replace('\tkfree(t);\n}\n', '\tvfree(t);\n}\n')), { byFunction: true });
  const c = idx.takeChanges();
  assert.ok(c.has('k:a_unrelated') && !meets(c), [...c].join(' '));
});

test('index: a frozen index gives the same summaries (no dependencies recorded) and refuses updates', () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures');
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith('.c')) files.push(p); } };
  walk(dir);
  const facts = files.sort().map((f) => ex(f, fs.readFileSync(f, 'utf8')));
  const say = (idx) => api.functionReports(idx).map((r) => JSON.stringify(r)).join('\n');
  const plain = api.buildIndex(facts);
  const frozen = api.buildIndex(facts);
  frozen.freeze();
  const a = say(plain), b = say(frozen);
  assert.ok(facts.length > 20 && a.length > 10000, `${facts.length} files, ${a.length} bytes of reports`);
  assert.equal(b, a);
  assert.throws(() => frozen.update(facts[0]), /after freeze/);
  assert.throws(() => frozen.remove(facts[0].file), /after freeze/);
});
