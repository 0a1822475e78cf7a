// Provenance of the knowledge rows: every built-in API row names a header of linux-source-6.1
// that really mentions it (rows for user-space libraries are marked by a non-kernel header).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { kernelTree } from './kernel-src.mjs';
const api = createRequire(import.meta.url)('../../dist/api.js');

test('knowledge rows: each name appears in the header it cites', async (t) => {
  const root = await kernelTree(['include', 'kernel']);
  if (!root) { t.skip('linux-source-6.1 not installed'); return; }
  const rows = [...api.KERNEL_KNOWLEDGE.apis, ...api.KERNEL_KNOWLEDGE.values, ...api.KERNEL_KNOWLEDGE.structs.map((s) => ({ name: s.struct, header: s.header })), ...api.KERNEL_KNOWLEDGE.macros.map((m) => ({ name: m.macro, header: m.header }))];
  const bad = [];
  let checked = 0;
  for (const r of rows) {
    if (!/^(include|kernel|fs|mm)\//.test(r.header)) continue; // user-space rows (libc, rdma-core)
    const file = path.join(root, r.header);
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    checked++;
    if (!new RegExp(`\\b${r.name}\\b`).test(text)) bad.push(`${r.name} -> ${r.header}`);
  }
  console.log(`# knowledge provenance: ${checked} rows checked, ${bad.length} wrong`);
  assert.deepEqual(bad, []);
});
