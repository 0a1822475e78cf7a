// ARCHITECTURE.md's invariants, enforced: each "Architecture Invariant" paragraph names a check here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const rootDir = path.resolve(new URL('../..', import.meta.url).pathname);
const src = path.join(rootDir, 'server/src');

function tsFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}
const rel = (p) => path.relative(rootDir, p);
const imports = (file) => [...fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
const inDir = (file, d) => rel(file).startsWith(`server/src/${d}/`);

test('invariant: the core imports neither vscode nor vscode-languageserver', () => {
  for (const f of tsFiles(src)) {
    if (inDir(f, 'lsp') || inDir(f, 'cli')) continue;
    for (const i of imports(f)) assert.ok(!/^vscode(-languageserver.*)?(\/|$)/.test(i), `${rel(f)} imports ${i}`);
  }
});

test('invariant: only syntax/ imports tree-sitter', () => {
  for (const f of tsFiles(src)) {
    if (inDir(f, 'syntax')) continue;
    for (const i of imports(f)) assert.ok(!/^(web-)?tree-sitter/.test(i), `${rel(f)} imports ${i}`);
    // nor loads the flat parser's addon (syntax/flat.ts), or any other native addon
    assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /kernlife-flat|\.node['"`]/, `${rel(f)} loads a native addon`);
  }
});

test('invariant: only client/ imports vscode', () => {
  for (const f of tsFiles(src)) for (const i of imports(f)) assert.notEqual(i, 'vscode', `${rel(f)} imports vscode`);
});

test('invariant: the core does no IO (no fs, net, child_process outside cli/ and lsp/)', () => {
  for (const f of tsFiles(src)) {
    if (inDir(f, 'lsp') || inDir(f, 'cli')) continue;
    for (const i of imports(f)) assert.ok(!/^(node:)?(fs|net|child_process|http|https|worker_threads)(\/|$)/.test(i), `${rel(f)} imports ${i}`);
  }
});

test('invariant: kernel API names live in knowledge/, not in index/, sim/ or rules/', () => {
  const names = ['kfree', 'kfree_rcu', 'poll_wait', 'wake_up_pollfree', 'synchronize_rcu', 'pin_user_pages', 'kernfs_generic_poll', 'cancel_work_sync'];
  for (const d of ['index', 'sim', 'rules']) {
    const dir = path.join(src, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of tsFiles(dir)) {
      const code = fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const n of names) assert.ok(!new RegExp(`['"\`]${n}['"\`]`).test(code), `${rel(f)} names ${n}`);
    }
  }
});

test('invariant: ARCHITECTURE.md states each invariant checked here', () => {
  const doc = fs.readFileSync(path.join(rootDir, 'ARCHITECTURE.md'), 'utf8');
  const stated = [...doc.matchAll(/Architecture Invariant:/g)].length;
  assert.ok(stated >= 5, `ARCHITECTURE.md has ${stated} invariant paragraphs`);
});

test('tests: test/run-all.mjs (npm test) imports every *.test.mjs (a test file nothing runs checks nothing)', () => {
  const runAll = fs.readFileSync(path.join(rootDir, 'test/run-all.mjs'), 'utf8');
  const listed = new Set([...runAll.matchAll(/import\('\.\/([^']+)'\)/g)].map((m) => m[1]));
  const files = [];
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); } else if (e.name.endsWith('.test.mjs')) files.push(path.relative(path.join(rootDir, 'test'), p).split(path.sep).join('/'));
    }
  })(path.join(rootDir, 'test'));
  assert.ok(files.length >= 25, `${files.length} test files`);
  for (const f of files) assert.ok(listed.has(f), `${f} is not imported by test/run-all.mjs`);
  for (const f of listed) assert.ok(fs.existsSync(path.join(rootDir, 'test', f)), `run-all imports ${f}, which does not exist`);
});
