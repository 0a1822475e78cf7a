import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');
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
