// The language server's persistent index cache (server/src/lsp/cache.ts), over JSON-RPC: a
// server started on a workspace with a storage directory extracts every file and writes the
// cache at the end; a second server on the same workspace and directory takes every file from
// the cache (no extraction) and publishes the same diagnostics and facts; a file changed on
// disk in between is the only one extracted, and its new findings are those of a server without
// a cache; an open document whose text is the file's hits by hash, an unsaved one misses; a
// corrupt, truncated or foreign cache file never takes the server down or changes a result.
// The first check's search results are kept next to the index (searches-*.bin) the same way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { runServer } from './lsp-run.mjs';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const FILES = ['psi_like_cgroup.c', 'psi_like_trigger.c', 'debugfs_stats.c', 'rdma_pin.c'];

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-cache-ws-'));
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-cache-st-'));
for (const f of FILES) fs.copyFileSync(path.join(root, 'examples', f), path.join(ws, f));
after(() => { for (const d of [ws, storage]) fs.rmSync(d, { recursive: true, force: true }); });
const cacheFiles = () => fs.readdirSync(storage).filter((f) => /^index-.*\.bin$/.test(f));

/**
 * Runs a server on the workspace until its workspace check is published, then shuts it down
 * cleanly (the cache is written by then). `open`: {file: text} opened before indexing starts.
 */
function run({ storagePath = storage, args = [], open = {} } = {}) {
  return runServer({ ws, files: FILES, args, open, initializationOptions: storagePath ? { storagePath } : {} });
}

/** Facts without their timings (equal facts, whatever the run). */
const sameFacts = (a, b) => {
  for (const f of FILES) assert.deepEqual(a.facts[f], b.facts[f], `facts of ${f}`);
};

let cold, reference;

test('lsp cache: a first run extracts every file and writes the cache; a second takes every file from it', async () => {
  reference = await run({ storagePath: null });
  assert.equal(reference.status.cache, null, 'no storage directory: no cache');
  assert.equal(reference.status.index.extracted, FILES.length);
  assert.ok(reference.diags['psi_like_trigger.c'].includes('waitqueue-freed-while-polled'), 'the examples have their finding');

  cold = await run();
  assert.deepEqual([cold.status.index, cold.status.cache.hits, cold.status.cache.misses], [{ extracted: FILES.length, cached: 0 }, 0, FILES.length]);
  assert.match(cold.logs, new RegExp(`index cache: wrote ${FILES.length} files to `));
  assert.equal(cacheFiles().length, 1);
  assert.deepEqual(cold.diags, reference.diags);

  const warm = await run();
  assert.deepEqual(warm.status.index, { extracted: 0, cached: FILES.length }, warm.logs);
  assert.equal(warm.status.cache.hits, FILES.length);
  assert.equal(warm.status.cache.misses, 0);
  assert.match(warm.logs, new RegExp(`index cache: ${FILES.length} hits, 0 misses; 0 files extracted`));
  assert.doesNotMatch(warm.logs, /index cache: wrote/, 'nothing changed: the cache is not written again');
  // the searches of the first check came from the last session's results too
  assert.match(cold.logs, /index cache: wrote \d+ search results/);
  assert.match(warm.logs, /index cache: [1-9]\d* search results from /);
  assert.deepEqual(warm.diags, cold.diags);
  sameFacts(warm, cold);
});

test('lsp cache: a file changed on disk is the only one extracted, with its new findings', async () => {
  const file = path.join(ws, 'psi_like_trigger.c');
  const before = fs.readFileSync(file, 'utf8');
  try {
    fs.writeFileSync(file, before.replace('kfree(t);', '/* no free */;'));
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(file, t, t); // a different mtime even on a coarse clock
    const edited = await run();
    assert.deepEqual(edited.status.index, { extracted: 1, cached: FILES.length - 1 }, edited.logs);
    assert.equal(edited.status.cache.misses, 1);
    assert.ok(!edited.diags['psi_like_trigger.c'].includes('waitqueue-freed-while-polled'), 'the finding is gone with the free');
    const fresh = await run({ storagePath: null });
    assert.deepEqual(edited.diags, fresh.diags);
    sameFacts(edited, fresh);
    // and the cache now holds the new version
    const again = await run();
    assert.deepEqual(again.status.index, { extracted: 0, cached: FILES.length });
    assert.deepEqual(again.diags, fresh.diags);
  } finally {
    fs.writeFileSync(file, before);
  }
  const back = await run();
  assert.deepEqual(back.status.index, { extracted: 1, cached: FILES.length - 1 });
  assert.deepEqual(back.diags, reference.diags);
});

test('lsp cache: an open document hits by its text\'s hash; an unsaved one is extracted and not stored', async () => {
  const f = 'psi_like_cgroup.c';
  const text = fs.readFileSync(path.join(ws, f), 'utf8');
  const same = await run({ open: { [f]: text } });
  assert.deepEqual(same.status.index, { extracted: 0, cached: FILES.length });
  const unsaved = await run({ open: { [f]: text.replace('static struct cftype', '/* unsaved */ static struct cftype') } });
  assert.deepEqual(unsaved.status.index, { extracted: 1, cached: FILES.length - 1 });
  const after = await run();
  assert.deepEqual(after.status.index, { extracted: 0, cached: FILES.length }, 'the unsaved text did not replace the entry of the file on disk');
  assert.deepEqual(after.diags, reference.diags);
});

test('lsp cache: a corrupt, truncated or foreign cache file is re-extracted, with the same results', async () => {
  const [name] = cacheFiles();
  const file = path.join(storage, name);
  const good = fs.readFileSync(file);
  const damages = {
    'flipped bytes in the blobs': () => { const b = Buffer.from(good); for (let i = b.length - 1; i > b.length - 2000 && i > 0; i -= 97) b[i] ^= 0x5a; return b; },
    truncated: () => good.subarray(0, Math.floor(good.length / 2)),
    'header cut': () => good.subarray(0, 30),
    garbage: () => Buffer.from('not a cache at all\n'.repeat(50)),
    empty: () => Buffer.alloc(0),
    'another key': () => { const s = good.toString('latin1'); return Buffer.from(s.replace(/"key":"[0-9a-f]+"/, '"key":"0000"'), 'latin1'); },
  };
  for (const [what, damage] of Object.entries(damages)) {
    fs.writeFileSync(file, damage());
    const searches = path.join(storage, name.replace(/^index-/, 'searches-'));
    const goodSearches = fs.readFileSync(searches);
    if (what !== 'another key') fs.writeFileSync(searches, damage === damages.garbage ? damage() : goodSearches.subarray(0, goodSearches.length - 7));
    const r = await run();
    assert.equal(r.stderr.includes('Error'), false, `${what}: ${r.stderr}`);
    assert.equal(r.status.index.extracted + r.status.index.cached, FILES.length, what);
    assert.ok(r.status.index.extracted >= 1, `${what}: something was re-extracted`);
    assert.deepEqual(r.diags, reference.diags, what);
    sameFacts(r, reference);
    // and the cache was written again, whole
    const again = await run();
    assert.deepEqual(again.status.index, { extracted: 0, cached: FILES.length }, `${what}: rewritten`);
  }
});

test('lsp cache: --cache-dir for clients without a storage directory; kernlife/clearCache deletes the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-cache-dir-'));
  try {
    await run({ storagePath: null, args: ['--cache-dir', dir] });
    assert.deepEqual(fs.readdirSync(dir).map((f) => f.replace(/-[0-9a-f]+\.bin$/, '')).sort(), ['index', 'searches']);
    const r = await run({ storagePath: null, args: ['--cache-dir', dir] });
    assert.deepEqual(r.status.index, { extracted: 0, cached: FILES.length });
    // the clear request
    const srv = spawn(process.execPath, [path.join(root, 'dist/server.js'), '--stdio', '--cache-dir', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(srv.stdout), new rpc.StreamMessageWriter(srv.stdin));
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onNotification('window/logMessage', () => {});
    conn.listen();
    try {
      await conn.sendRequest('initialize', { processId: process.pid, capabilities: {}, workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }] });
      const res = await conn.sendRequest('kernlife/clearCache', {});
      assert.equal(res.cleared, true);
      assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).length, 0);
    } finally {
      conn.dispose();
      srv.kill();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
