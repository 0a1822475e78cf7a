import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');
const { root, field, addr, deref, up, substitute, render, normalizeTerm: normalize } = api;

test('terms: (&x)->f is x.f and *&x is x', () => {
  const x = root('x', 'local');
  assert.equal(render(field(addr(x), 'f', true)), 'x.f');
  assert.equal(render(deref(addr(x))), 'x');
  assert.equal(render(field(deref(x), 'f', false)), 'x->f');
});

test('terms: container_of(&x->work, T, work) is x; another member stays symbolic', () => {
  const x = root('x', 'param', 0);
  assert.equal(render(up(addr(field(x, 'work', true)), 'struct foo', 'work')), 'x');
  assert.equal(render(up(addr(field(x, 'timer', true)), 'struct foo', 'work')), 'container_of(&x->timer, struct foo, work)');
});

test('terms: substituting a parameter by the caller argument normalises the result', () => {
  // callee: poll(void **tp) { t = *tp; poll_wait(.., &t->event_wait, ..) }  caller: poll(&ctx->psi.trigger)
  const tp = root('tp', 'param', 0);
  const calleePath = addr(field(deref(tp), 'event_wait', true));
  const of = root('of', 'param', 0);
  const arg = addr(field(field(field(of, 'priv', true), 'psi', true), 'trigger', false));
  const mapped = substitute(calleePath, (r) => (r.kind === 'param' ? arg : undefined));
  assert.equal(render(mapped), '&of->priv->psi.trigger->event_wait');
  assert.equal(render(normalize(mapped)), '&of->priv->psi.trigger->event_wait');
});

test('terms: an unmappable root drops the whole path', () => {
  const p = field(root('tmp', 'local'), 'x', true);
  assert.equal(substitute(p, () => null), null);
});

test('terms: a TermTable gives one object per distinct term, and keeps distinct terms apart', () => {
  const { TermTable } = api;
  const tt = new TermTable();
  const mk = () => field(field(root('of', 'param', 0, 'struct kernfs_open_file *'), 'priv', true), 'event_wait', false);
  const a = tt.intern(mk());
  const b = tt.intern(addr(mk()));
  assert.equal(render(a), 'of->priv.event_wait');
  assert.equal(render(b), '&of->priv.event_wait');
  assert.equal(tt.intern(mk()), a, 'the same path twice is one object');
  assert.equal(b.base, a, 'a longer path is built on the shared shorter one');
  assert.deepEqual(a, mk(), 'interning keeps every field');
  // same name, different root: parameter vs local, other parameter index or type, other arrow
  const others = [
    field(field(root('of', 'local'), 'priv', true), 'event_wait', false),
    field(field(root('of', 'param', 1, 'struct kernfs_open_file *'), 'priv', true), 'event_wait', false),
    field(field(root('of', 'param', 0, 'void *'), 'priv', true), 'event_wait', false),
    field(field(root('of', 'param', 0, 'struct kernfs_open_file *'), 'priv', true), 'event_wait', true),
    up(root('of', 'param', 0, 'struct kernfs_open_file *'), 'struct a', 'm'),
    up(root('of', 'param', 0, 'struct kernfs_open_file *'), 'struct b', 'm'),
  ].map((t) => tt.intern(t));
  assert.equal(new Set([a, ...others]).size, others.length + 1);
  others.forEach((t, i) => assert.notDeepEqual(t, i ? others[i - 1] : a));
  assert.equal(tt.intern({ t: 'null' }), tt.intern({ t: 'null' }));
});
