// The language server's workspace index on worker threads (kernlife.indexThreads): the files the
// cache cannot give are extracted by the pool the CLI uses, and the index must come out as if
// this thread had extracted them one by one. A workspace of the examples and fifty fixtures is
// indexed with one thread and with two; the diagnostics of every file and the facts of every
// file are the same, the log says how many files went to the threads, and a cache written by the
// threaded run serves a second run whole, with the same results.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runServer } from './lsp-run.mjs';

const root = path.resolve(new URL('../..', import.meta.url).pathname);

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-threads-ws-'));
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-threads-st-'));
after(() => { for (const d of [ws, storage]) fs.rmSync(d, { recursive: true, force: true }); });
const FILES = [];
for (const f of fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.c')).sort()) {
  fs.copyFileSync(path.join(root, 'examples', f), path.join(ws, f));
  FILES.push(f);
}
const fixtures = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (e.name.endsWith('.c')) fixtures.push(p);
  }
})(path.join(root, 'test', 'fixtures'));
for (const p of fixtures.slice(0, 50)) {
  const name = path.relative(path.join(root, 'test', 'fixtures'), p).replaceAll(path.sep, '__');
  fs.copyFileSync(p, path.join(ws, name));
  FILES.push(name);
}

/** A server on the workspace with `indexThreads`, until its workspace check is published. */
function run(indexThreads, storagePath, onProgress) {
  return runServer({ ws, files: FILES, polls: 1200, onProgress, initializationOptions: { settings: { indexThreads }, ...(storagePath ? { storagePath } : {}) } });
}

test('lsp threads: the workspace index extracted on two threads equals the one-thread index; its cache serves a second run', async () => {
  assert.ok(FILES.length >= 40, `${FILES.length} files`);
  const one = await run(1, null);
  assert.equal(one.status.index.extracted, FILES.length);
  assert.doesNotMatch(one.logs, /extracted on \d+ threads/);
  const withFunctions = FILES.filter((f) => one.facts[f]?.functions?.length > 0).length;
  assert.ok(withFunctions >= FILES.length - 2, `files with functions in the index: ${withFunctions}`);
  const findings = Object.values(one.diags).filter((d) => d !== '[]').length;
  assert.ok(findings >= 5, `files with diagnostics: ${findings}`);

  const two = await run(2, storage);
  assert.equal(two.status.index.extracted, FILES.length);
  assert.match(two.logs, new RegExp(`indexed ${FILES.length} files in \\d+ ms \\(${FILES.length} extracted on 2 threads\\)`));
  assert.deepEqual(two.diags, one.diags);
  for (const f of FILES) assert.deepEqual(two.facts[f], one.facts[f], `facts of ${f}`);
  assert.match(two.logs, new RegExp(`index cache: wrote ${FILES.length} files to `));

  // the keys the threads gave the cache are the files' own: a second run extracts nothing
  const warm = await run(2, storage);
  assert.deepEqual(warm.status.index, { extracted: 0, cached: FILES.length }, warm.logs);
  assert.doesNotMatch(warm.logs, /extracted on \d+ threads/);
  assert.deepEqual(warm.diags, one.diags);
  for (const f of FILES) assert.deepEqual(warm.facts[f], one.facts[f], `facts of ${f} from the cache`);
});

test('lsp threads: an index pass cancelled from the editor stops the threads\' extraction, and the server goes on', async () => {
  let sent = false;
  // cancel the indexing progress as soon as it begins (the client's cancel button)
  const cancel = (conn, p) => {
    if (sent || p.value?.kind !== 'begin' || !/indexing/.test(p.value.title)) return;
    sent = true;
    void conn.sendNotification('window/workDoneProgress/cancel', { token: p.token });
  };
  const r = await run(2, null, cancel);
  assert.ok(sent, 'the indexing progress began');
  const m = /index cancelled: (\d+) of (\d+) files extracted on worker threads/.exec(r.logs);
  assert.ok(m, r.logs);
  assert.equal(Number(m[2]), FILES.length);
  assert.ok(Number(m[1]) < FILES.length, `${m[1]} of ${m[2]} extracted after the cancel`);
  const n = Number(/indexed (\d+) files/.exec(r.logs)[1]);
  assert.ok(n < FILES.length, `indexed ${n}`);
  assert.match(r.stderr, /^$/, 'nothing on stderr');
});
