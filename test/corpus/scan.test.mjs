// check's parse-free first pass (facts/scan.ts) against the tree-sitter front end on real code:
// the files check only asks for function names must give the same names either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { kernelTree } from './kernel-src.mjs';
const api = createRequire(import.meta.url)('../../dist/api.js');
const opts = api.compileKnowledge(api.KERNEL_KNOWLEDGE).normalizeOpts;

test('function scan finds the functions the parser finds (linux-source-6.1 kernel/)', async (t) => {
  const root = await kernelTree(['kernel']);
  if (!root) { t.skip('linux-source-6.1 not installed'); return; }
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (/\.[ch]$/.test(e.name)) files.push(p); } };
  walk(path.join(root, 'kernel'));
  let parsed = 0, missed = 0;
  const examples = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    // (as check's first pass does: the scan reads the normalised text, where SYSCALL_DEFINE3(x, ...) is sys_x)
    const scanned = new Set(api.scanFunctions(f, api.normalize(text, opts).text).map((x) => x.name));
    for (const fn of api.extract(f, text, { ...api.DEFAULT_OPTIONS, level: 'tables' }).functions) {
      // names the parser takes from a macro in front of the real declarator (BTF_ID(..) int f(..))
      if (/^[A-Z0-9_]+$/.test(fn.name)) continue;
      parsed++;
      if (!scanned.has(fn.name)) { missed++; if (examples.length < 10) examples.push(`${path.relative(root, f)}:${fn.loc.line} ${fn.name}`); }
    }
  }
  t.diagnostic(`${files.length} files, ${parsed} parsed functions, ${missed} not found by the scan: ${examples.join(', ')}`);
  assert.ok(parsed > 10000, `only ${parsed} functions parsed`);
  assert.ok(missed / parsed < 0.001, `${missed} of ${parsed} missed: ${examples.join(', ')}`);
});
