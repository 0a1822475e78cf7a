// Variant enumeration (sim/build.ts variantsOf) on hand-built steps: which combinations of a
// handler's branch conditions become separate runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');

let line = 1;
const step = (op, cond = []) => ({ op, loc: { file: 'v.c', line: line, col: 2, endLine: line++, endCol: 9 }, api: op.op, text: op.slot ?? op.op, chain: ['h'], cond, guards: [] });
const free = (slot, cond) => step({ op: 'free', slot, mode: 'now' }, cond);
const pin = (slot, cond) => step({ op: 'pin', slot, longterm: true, gup: false }, cond);
const unpin = (slot, cond) => step({ op: 'unpin', slot }, cond);
/** Each variant as the sorted list of its steps' ops (`free:f:x`). */
const runs = (vs) => vs.map((v) => v.steps.map((s) => `${s.op.op}:${s.op.slot}`).join(' ')).sort();

test('the cases of one switch are exclusive: one variant per label, and one for none of them', () => {
  const vs = api.variantsOf([
    pin('f:p', ['switch (cmd): case A']),
    unpin('f:p', ['switch (cmd): case B']),
    free('f:q', ['switch (cmd): case C']),
    free('f:r', ['switch (cmd): default']),
  ]);
  assert.deepEqual(runs(vs), ['', 'free:f:q', 'free:f:r', 'pin:f:p', 'unpin:f:p']);
});

test('fall-through: a label set that includes an earlier label runs with it', () => {
  // case A: x(); /* fall through */ case B: y(); break;
  const vs = api.variantsOf([
    free('f:x', ['switch (cmd): case A']),
    free('f:y', ['switch (cmd): case A; case B']),
  ]);
  assert.deepEqual(runs(vs), ['', 'free:f:x free:f:y', 'free:f:y']);
});

test('switches on different subjects combine freely, and other conditions stay independent', () => {
  const vs = api.variantsOf([
    free('f:a', ['switch (cmd): case A']),
    free('f:b', ['switch (mode): case M']),
    free('f:c', ['ctx->flag']),
  ]);
  // 2 choices for cmd x 2 for mode x 2 for the flag
  assert.equal(vs.length, 8);
  assert.ok(runs(vs).includes('free:f:a free:f:b free:f:c'));
  assert.ok(runs(vs).includes(''));
  // no variant takes two labels of one switch
  const two = api.variantsOf([free('f:a', ['switch (cmd): case A']), free('f:b', ['switch (cmd): case B'])]);
  assert.ok(!runs(two).some((r) => r.includes('f:a') && r.includes('f:b')));
});

test('the variant says which case it took', () => {
  const vs = api.variantsOf([free('f:a', ['switch (cmd): case A'])]);
  assert.deepEqual(vs.map((v) => v.assume).sort(), [['switch (cmd): another case'], ['switch (cmd): case A']]);
});

test('facts: a case condition names the switch (its subject at its line) and every label that reaches the code', () => {
  const src = `
static long t_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct t_ctx *c = file->private_data;

	switch (cmd) {
	case T_A:
		synchronize_rcu();
		/* fall through */
	case T_B:
	case T_C: {
		kfree(c->x);
		break;
	}
	case T_D:
		kfree(c->y);
		return 0;
	default:
		kfree(c);
	}
	return 0;
}
`;
  const f = api.extract('t.c', src).functions.find((x) => x.name === 't_ioctl');
  const byLine = Object.fromEntries(f.effects.map((e) => [e.loc.line, e.cond]));
  assert.deepEqual(byLine[8], ['switch (cmd@6): case T_A']);
  assert.deepEqual(byLine[12], ['switch (cmd@6): case T_A; case T_B; case T_C']);
  assert.deepEqual(byLine[16], ['switch (cmd@6): case T_D']);
  assert.deepEqual(byLine[19], ['switch (cmd@6): default']);
});

test('a handler shared by two tables gives both models the callbacks it arms, and the same program', () => {
  const src = `
struct sh_dev { struct work_struct work; int *buf; };

static void sh_work(struct work_struct *w)
{
	struct sh_dev *d = container_of(w, struct sh_dev, work);

	kfree(d->buf);
}

static long sh_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct sh_dev *d = file->private_data;

	INIT_WORK(&d->work, sh_work);
	schedule_work(&d->work);
	return 0;
}

static int sh_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations sh_a_fops = {
	.unlocked_ioctl = sh_ioctl,
	.release = sh_release,
};

static const struct file_operations sh_b_fops = {
	.unlocked_ioctl = sh_ioctl,
	.compat_ioctl = sh_ioctl,
	.release = sh_release,
};
`;
  const ff = api.extract('sh.c', src);
  const idx = api.buildIndex([ff]);
  const [a, b] = ['sh_a_fops', 'sh_b_fops'].map((n) => api.buildModel(ff.tables.find((t) => t.name === n), idx, 'sh.c'));
  assert.deepEqual(Object.keys(a.callbacks), ['sh_work']);
  assert.deepEqual(Object.keys(b.callbacks), ['sh_work']);
  // the shared ioctl is the same program in both
  const prog = (h) => JSON.stringify(h.variants.map((v) => v.steps.map((s) => [s.op, s.loc.line])));
  assert.equal(prog(a.io[0]), prog(b.io[0]));
  // and building a model again (every handler from the cache) gives the same model
  assert.equal(JSON.stringify(api.buildModel(ff.tables.find((t) => t.name === 'sh_a_fops'), idx, 'sh.c')), JSON.stringify(a));
});

test('searchKey: tables with the same handlers share a search; another handler, another search', () => {
  const src = `
static int k_release(struct inode *inode, struct file *file) { kfree(file->private_data); return 0; }
static long k_ioctl(struct file *file, unsigned int cmd, unsigned long arg) { struct k *p = file->private_data; return p->x; }
static long k_other(struct file *file, unsigned int cmd, unsigned long arg) { struct k *p = file->private_data; kfree(p->buf); p->buf = NULL; return 0; }
static const struct file_operations k1_fops = { .unlocked_ioctl = k_ioctl, .release = k_release };
static const struct file_operations k2_fops = { .unlocked_ioctl = k_ioctl, .release = k_release };
static const struct file_operations k3_fops = { .unlocked_ioctl = k_other, .release = k_release };
`;
  const ff = api.extract('k.c', src);
  const idx = api.buildIndex([ff]);
  const [m1, m2, m3] = ['k1_fops', 'k2_fops', 'k3_fops'].map((n) => api.buildModel(ff.tables.find((t) => t.name === n), idx, 'k.c'));
  assert.equal(api.searchKey(m1), api.searchKey(m2));
  assert.notEqual(api.searchKey(m1), api.searchKey(m3));
  // what the sharing relies on: the search does not read the table's name or place
  const strip = (r) => JSON.stringify({ ...r, ms: 0 });
  assert.equal(strip(api.simulate(m1)), strip(api.simulate(m2)));
});

test('a callee switching on its own `cmd` is another test: its cases combine with the caller\'s', () => {
  const src = `
static void h_helper(struct h *p, unsigned int cmd)
{
	switch (cmd) {
	case 7:
		kfree(p->x);
		break;
	}
}

static long h_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct h *p = file->private_data;

	switch (cmd) {
	case 1:
		kfree(p->y);
		h_helper(p, arg);
		break;
	}
	return 0;
}

static int h_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations h_fops = { .unlocked_ioctl = h_ioctl, .release = h_release };
`;
  const ff = api.extract('h.c', src);
  const m = api.buildModel(ff.tables[0], api.buildIndex([ff]), 'h.c');
  const frees = m.io[0].variants.map((v) => v.steps.filter((s) => s.op.op === 'free').map((s) => s.text).sort().join(' '));
  assert.ok(frees.includes('file->private_data->x file->private_data->y'), `no variant runs both cases: ${JSON.stringify(frees)}`);
});
