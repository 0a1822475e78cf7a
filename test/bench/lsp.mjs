// `npm run bench:lsp`: the language server as an editor sees it, over JSON-RPC.
//
// 1. Index: a workspace of extracted linux-source-6.1 directories (default kernel/cgroup and
//    kernel/sched; `--index fs,kernel,mm` for the set): time from `initialized` to the
//    first diagnostics after indexing (index + first check), and the server's peak RSS.
// 2. Latency: 50 edits to kernel/cgroup/cgroup.c (a comment toggled in a function body; `--mode
//    call` toggles a call there instead, `--mode line` an empty line inserted above it); for
//    each, the time from didChange to the publishDiagnostics of that version, minus the server's
//    150 ms debounce. Prints median and p95.
// 3. `--cache`: the persistent index cache. The index is run twice with the same (new, temp)
//    storage directory: cold (every file extracted, the cache written at the end) then warm
//    (unchanged files and the first check's search results from the cache); prints both index
//    times (`indexOnlyMs`, from the server's log) and index + first check times and peak RSS, then
//    the edits run on the warm server. `--cache-dir DIR` keeps the directory (no cold run if it
//    holds a cache already).
// 4. `--index-threads N`: the threads that extract the index (kernlife.indexThreads; 0 or absent:
//    one per core).
// Numbers go to BENCHMARKS.md with this command line. Nothing here is asserted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { kernelTree } from '../corpus/kernel-src.mjs';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const arg = (name, def) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : def; };
const dirs = arg('--index', 'kernel/cgroup,kernel/sched').split(',');
const edits = Number(arg('--edits', '50'));
/** What each even edit does (odd edits undo it): comment (default), call, line. */
const mode = arg('--mode', 'comment');
if (!['comment', 'call', 'line'].includes(mode)) { console.error(`--mode ${mode}: expected comment, call or line`); process.exit(2); }
const DEBOUNCE = 150;

const ksrc = await kernelTree([...new Set(dirs.map((d) => d.split('/')[0]))]);
if (!ksrc) { console.error('linux-source-6.1 not available'); process.exit(2); }
const folders = dirs.map((d) => path.join(ksrc, d));
const target = path.join(ksrc, 'kernel/cgroup/cgroup.c');
const targetUri = pathToFileURL(target).toString();

// `--node-args "--cpu-prof --cpu-prof-dir=DIR"`: extra node options for the server (profiling)
const nodeArgs = (arg('--node-args', '') ?? '').split(' ').filter(Boolean);
const useCache = process.argv.includes('--cache') || process.argv.includes('--cache-dir');
/** `--index-threads N`: the server's kernlife.indexThreads (default: its own, one per core). */
const indexThreads = arg('--index-threads', undefined) === undefined ? undefined : Number(arg('--index-threads'));
const keepDir = arg('--cache-dir', undefined);
const storagePath = useCache ? keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-bench-cache-')) : undefined;
if (keepDir) fs.mkdirSync(keepDir, { recursive: true });

/** A server on the workspace, indexed and checked: its connection, the index time, its status. */
async function start() {
  const server = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const s = { server, peakRss: 0, waiters: [], logs: [] };
  s.rssTimer = setInterval(() => {
    try { const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0); s.peakRss = Math.max(s.peakRss, kb); } catch { /* gone */ }
  }, 200);
  const conn = s.conn = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  conn.onNotification('textDocument/publishDiagnostics', (p) => { for (const w of [...s.waiters]) if (w(p)) s.waiters.splice(s.waiters.indexOf(w), 1); });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', () => {});
  conn.onNotification('window/logMessage', (m) => { s.logs.push(m.message); if (process.argv.includes('--log')) console.error(m.message); });
  conn.listen();
  s.next = (pred) => new Promise((resolve) => s.waiters.push((p) => (pred(p) ? (resolve(p), true) : false)));
  const t0 = performance.now();
  await conn.sendRequest('initialize', { processId: process.pid, capabilities: { window: { workDoneProgress: true } }, initializationOptions: { ...(storagePath ? { storagePath } : {}), ...(indexThreads !== undefined ? { settings: { indexThreads } } : {}) }, workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).toString(), name: path.basename(f) })) });
  const first = s.next(() => true);
  await conn.sendNotification('initialized', {});
  await first;
  // the first publish comes at the end of indexing + the first full check; wait for it to settle
  do { await new Promise((r) => setTimeout(r, 200)); s.status = await conn.sendRequest('kernlife/status', {}); } while (!s.status.checked);
  s.indexMs = performance.now() - t0;
  return s;
}

/** A clean LSP shutdown (the server exits by itself, so `--cpu-prof` writes its profile; the cache is written). */
async function stop(s) {
  clearInterval(s.rssTimer);
  await s.conn.sendRequest('shutdown').catch(() => {});
  await s.conn.sendNotification('exit').catch(() => {});
  await new Promise((r) => { const t = setTimeout(() => { s.server.kill(); r(); }, 60000); s.server.on('exit', () => { clearTimeout(t); r(); }); });
  s.conn.dispose();
}

const runInfo = (s) => ({ indexOnlyMs: Number(s.logs.map((l) => /indexed \d+ files in (\d+) ms/.exec(l)?.[1]).find(Boolean) ?? NaN), indexAndFirstCheckMs: Math.round(s.indexMs), serverPeakRssMB: Math.round(s.peakRss / 1024), extracted: s.status.index?.extracted, fromCache: s.status.index?.cached, cacheLog: s.logs.filter((l) => /index cache: (\d+ hits|wrote)/.test(l)) });
let cold;
if (useCache && !fs.readdirSync(storagePath).some((f) => f.endsWith('.bin'))) {
  cold = await start();
  // the cache is written after the first check (or at shutdown): wait for it
  for (let i = 0; i < 600 && !cold.logs.some((l) => /index cache: (wrote|cannot write)/.test(l)); i++) await new Promise((r) => setTimeout(r, 100));
  await stop(cold);
}
const srv = await start();
const { conn, next, status } = srv;
const indexMs = srv.indexMs;

const text = fs.readFileSync(target, 'utf8');
await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: targetUri, languageId: 'c', version: 1, text } });
await next((p) => p.uri === targetUri && p.version === 1).catch(() => {});
const lines = text.split('\n');
const at = lines.findIndex((l) => /^static ssize_t pressure_write\(/.test(l)) + 4;
const times = [];
for (let i = 0; i < edits; i++) {
  const version = i + 2;
  const edited = lines.slice();
  if (i % 2 === 0) {
    if (mode === 'comment') edited[at] = `${edited[at]} /* edit ${i} */`; // same facts
    else if (mode === 'call') edited[at] = `${edited[at]} synchronize_rcu();`; // facts of one function change, no line moves
    else edited.splice(at, 0, ''); // 'line': a line inserted; every location below moves
  }
  const got = next((p) => p.uri === targetUri && p.version === version);
  const s = performance.now();
  await conn.sendNotification('textDocument/didChange', { textDocument: { uri: targetUri, version }, contentChanges: [{ text: edited.join('\n') }] });
  await got;
  times.push(performance.now() - s - DEBOUNCE);
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(JSON.stringify({
  workspace: dirs, files: status.files, indexAndFirstCheckMs: Math.round(indexMs), serverPeakRssMB: Math.round(srv.peakRss / 1024),
  ...(useCache ? { cache: { dir: storagePath, cacheMB: Math.round(fs.readdirSync(storagePath).filter((f) => f.endsWith('.bin')).reduce((n, f) => n + fs.statSync(path.join(storagePath, f)).size, 0) / 1048576), ...(cold ? { cold: runInfo(cold) } : {}), warm: runInfo(srv) } } : {}),
  edits, mode, file: 'kernel/cgroup/cgroup.c', editToDiagnosticsMs: { median: Math.round(q(0.5)), p95: Math.round(q(0.95)), min: Math.round(times[0]), max: Math.round(times.at(-1)) }, debounceExcludedMs: DEBOUNCE,
}, null, 1));
await stop(srv);
if (useCache && !keepDir) fs.rmSync(storagePath, { recursive: true, force: true });
