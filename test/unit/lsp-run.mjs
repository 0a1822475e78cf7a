// A language server on a workspace, run the way an editor runs it and then shut down cleanly:
// shared by the tests of the index cache and of the index threads.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const root = path.resolve(new URL('../..', import.meta.url).pathname);

/**
 * Starts `dist/server.js --stdio ARGS` on the workspace `ws`, opens `open` ({file: text}) before
 * indexing starts, waits until the workspace check is published (`kernlife/status`), asks the
 * facts of every one of `files`, and shuts the server down (the index cache is written by then).
 * `onProgress(conn, params)` sees each `$/progress` notification. Returns the status, the log,
 * each file's diagnostics (as JSON) and facts, and stderr.
 */
export async function runServer({ ws, files, initializationOptions = {}, args = [], open = {}, polls = 400, onProgress }) {
  const uri = (f) => pathToFileURL(path.join(ws, f)).toString();
  const srv = spawn(process.execPath, [path.join(root, 'dist/server.js'), '--stdio', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  srv.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => srv.on('exit', r));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(srv.stdout), new rpc.StreamMessageWriter(srv.stdin));
  const diags = new Map();
  const logs = [];
  conn.onNotification('textDocument/publishDiagnostics', (p) => diags.set(p.uri, p.diagnostics));
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', (p) => onProgress?.(conn, p));
  conn.onNotification('window/logMessage', (m) => logs.push(m.message));
  conn.listen();
  try {
    await conn.sendRequest('initialize', {
      processId: process.pid, capabilities: { window: { workDoneProgress: true } },
      ...(Object.keys(initializationOptions).length ? { initializationOptions } : {}),
      workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }],
    });
    for (const [f, text] of Object.entries(open)) await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: uri(f), languageId: 'c', version: 1, text } });
    await conn.sendNotification('initialized', {});
    let status;
    for (let i = 0; i < polls; i++) {
      status = await conn.sendRequest('kernlife/status', {});
      if (status.checked) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(status?.checked, `no workspace check; stderr: ${stderr}`);
    const facts = {};
    for (const f of files) facts[f] = await conn.sendRequest('kernlife/facts', { uri: uri(f) });
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    const d = {};
    for (const f of files) d[f] = JSON.stringify(diags.get(uri(f)) ?? []);
    return { status, logs: logs.join('\n'), diags: d, facts, stderr };
  } finally {
    conn.dispose();
    srv.kill();
  }
}
