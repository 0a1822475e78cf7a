// `npm run bench:lsp`: the language server as an editor sees it, over JSON-RPC.
//
// 1. Index: a workspace of extracted linux-source-6.1 directories (default kernel/cgroup and
//    kernel/sched; `--index fs,kernel,mm` for the set): time from `initialized` to the
//    first diagnostics after indexing (index + first check), and the server's peak RSS.
// 2. Latency: 50 edits to kernel/cgroup/cgroup.c (a comment toggled in a function body; `--mode
//    call` toggles a call there instead, `--mode line` an empty line inserted above it); for
//    each, the time from didChange to the publishDiagnostics of that version, minus the server's
//    150 ms debounce. Prints median and p95.
// Numbers go to BENCHMARKS.md with this command line. Nothing here is asserted.
import * as fs from 'node:fs';
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
const server = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
let peakRss = 0;
const rssTimer = setInterval(() => {
  try { const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0); peakRss = Math.max(peakRss, kb); } catch { /* gone */ }
}, 200);
const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
const waiters = [];
conn.onNotification('textDocument/publishDiagnostics', (p) => { for (const w of [...waiters]) if (w(p)) waiters.splice(waiters.indexOf(w), 1); });
conn.onRequest('window/workDoneProgress/create', () => null);
conn.onNotification('$/progress', () => {});
conn.onNotification('window/logMessage', (m) => { if (process.argv.includes('--log')) console.error(m.message); });
conn.listen();
const next = (pred) => new Promise((resolve) => waiters.push((p) => (pred(p) ? (resolve(p), true) : false)));

const t0 = performance.now();
await conn.sendRequest('initialize', { processId: process.pid, capabilities: { window: { workDoneProgress: true } }, workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).toString(), name: path.basename(f) })) });
const first = next(() => true);
await conn.sendNotification('initialized', {});
await first;
// the first publish comes at the end of indexing + the first full check; wait for it to settle
let status;
do { await new Promise((r) => setTimeout(r, 200)); status = await conn.sendRequest('kernlife/status', {}); } while (!status.ready);
const indexMs = performance.now() - t0;

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
  workspace: dirs, files: status.files, indexAndFirstCheckMs: Math.round(indexMs), serverPeakRssMB: Math.round(peakRss / 1024),
  edits, mode, file: 'kernel/cgroup/cgroup.c', editToDiagnosticsMs: { median: Math.round(q(0.5)), p95: Math.round(q(0.95)), min: Math.round(times[0]), max: Math.round(times.at(-1)) }, debounceExcludedMs: DEBOUNCE,
}, null, 1));
clearInterval(rssTimer);
// a clean LSP shutdown (the server exits by itself, so `--cpu-prof` in NODE_OPTIONS writes its profile)
await conn.sendRequest('shutdown').catch(() => {});
await conn.sendNotification('exit').catch(() => {});
await new Promise((r) => { const t = setTimeout(() => { server.kill(); r(); }, 3000); server.on('exit', () => { clearTimeout(t); r(); }); });
conn.dispose();
