// Object tables (knowledge rows with `object`: vfio_iommu_driver_ops, ib_device_ops): the object
// ->open returns is what the other handlers get back, so a pin stored in it by one handler and
// the unpin on it in ->release must land on the same slot of the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const FIX = path.join(root, 'test/fixtures/rules/pin-leaked-at-release');

await api.initParser();

function modelOf(file) {
  const ff = api.extract(file, fs.readFileSync(file, 'utf8'));
  const idx = api.buildIndex([ff]);
  assert.equal(ff.tables.length, 1, 'one ops table');
  return api.buildModel(ff.tables[0], idx, file);
}
const ops = (h, op) => (h?.variants ?? []).flatMap((v) => v.steps).filter((s) => s.op.op === op);

test('knowledge: object tables name the open, the release and the object parameter of each handler', () => {
  const rows = api.KERNEL_KNOWLEDGE.structs.filter((r) => r.object);
  assert.deepEqual(rows.map((r) => r.struct).sort(), ['ib_device_ops', 'vfio_iommu_driver_ops']);
  for (const r of rows) {
    const fields = Object.entries(r.roles);
    assert.ok(fields.some(([, role]) => role === 'open') && fields.some(([, role]) => role === 'release'), r.struct);
    // every field said to take the object is a handler the model runs (release or io)
    for (const f of Object.keys(r.object.params)) assert.ok(['release', 'io'].includes(r.roles[f]), `${r.struct}.${f}`);
  }
});

test('vfio-style backend: MAP pins into the object ->open returned, ->release unpins that same slot', () => {
  const m = modelOf(path.join(FIX, 'iommu-backend.ok.c'));
  assert.equal(m.table.kind, 'vfio_iommu_driver_ops');
  const pins = m.io.flatMap((h) => ops(h, 'pin'));
  assert.ok(pins.length, 'the ioctl pins');
  assert.ok(pins.every((s) => s.op.longterm && !s.op.gup));
  const unpins = ops(m.release, 'unpin').map((s) => s.op.slot);
  for (const p of pins) assert.ok(unpins.includes(p.op.slot), `release unpins ${p.op.slot}`);
  // the slot is per object (one instance per ->open), not shared
  assert.ok(pins.every((s) => s.op.slot.startsWith('f:')));
  // ->open allocated that object
  assert.ok(ops(m.open, 'alloc').some((s) => pins[0].op.slot.startsWith(s.op.slot)));
});

test('vfio-style backend without the unpin: the pin is in the model and ->release has none', () => {
  const m = modelOf(path.join(FIX, 'iommu-backend.bad.c'));
  assert.ok(m.io.some((h) => ops(h, 'pin').length));
  assert.equal(ops(m.release, 'unpin').length, 0);
});

test('RDMA MR: ib_umem_get() in ->reg_user_mr and ib_umem_release() in ->dereg_mr meet, through a later store and container_of()', () => {
  for (const f of ['mr-object.ok.c', 'mr-container-of.ok.c']) {
    const m = modelOf(path.join(FIX, f));
    assert.equal(m.table.kind, 'ib_device_ops');
    const pins = [...new Set(ops(m.open, 'pin').map((s) => s.op.slot))];
    assert.equal(pins.length, 1, `${f}: ->reg_user_mr pins into one place`);
    assert.deepEqual([...new Set(ops(m.release, 'unpin').map((s) => s.op.slot))], pins, f);
    const r = api.simulate(m, {});
    assert.equal(r.violations.length, 0, f);
  }
});

test('RDMA MR: ->dereg_mr handing the whole object to a call kernlife cannot resolve counts as releasing it; a member does not', () => {
  const ok = modelOf(path.join(FIX, 'mr-handoff.ok.c'));
  const h = ops(ok.release, 'unpin');
  assert.ok(h.length && h.every((s) => s.op.handoff && s.op.slot === 'f:obj'), 'toy_pool_put(mr) is a handoff of the object');
  assert.equal(api.simulate(ok, {}).violations.length, 0);
  const bad = modelOf(path.join(FIX, 'mr-handoff.bad.c'));
  assert.equal(ops(bad.release, 'unpin').length, 0, 'toy_pool_forget(&mr->users) hands over a member only');
  assert.deepEqual([...new Set(api.simulate(bad, {}).violations.map((v) => v.property))], ['P8']);
});
