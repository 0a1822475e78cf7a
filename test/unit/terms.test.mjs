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
