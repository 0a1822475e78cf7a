// The packaged extension: `npm run package` builds kernlife.vsix (vsce on Node 24 from the npm
// registry, see docs in scripts/stage-native.mjs). The test unpacks it, checks that it holds the
// bundles, the staged parser for every platform, the rule pages and nothing else (no sources, no
// tests, no build/ folder), that the linux-x64 parser loads on this libstdc++, and then starts the
// server from the unpacked layout and gets a finding over JSON-RPC, on the native parser and
// on the wasm fallback (KERNLIFE_PARSER=wasm).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-vsix-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('vsix: package, unpack, check the layout, start the packaged server', async (t) => {
  const p = spawnSync('npm', ['run', '--silent', 'package'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  assert.equal(p.status, 0, p.stdout + p.stderr);
  const vsix = path.join(root, 'kernlife.vsix');
  assert.ok(fs.existsSync(vsix));
  const un = spawnSync('python3', ['-m', 'zipfile', '-e', vsix, tmp], { encoding: 'utf8' });
  assert.equal(un.status, 0, un.stderr);
  const ext = path.join(tmp, 'extension');
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const f = path.join(d, e.name); if (e.isDirectory()) walk(f); else files.push(path.relative(ext, f)); } };
  walk(ext);
  const allowed = [/^package\.json$/, /^readme\.md$/i, /^LICENSE(\.txt)?$/, /^dist\/(client|server|sim-worker|extract-worker)\.js$/, /^dist\/kernlife-flat\.node$/, /^dist\/node_modules\//, /^docs\/rules\/[\w-]+\.md$/];
  assert.deepEqual(files.filter((f) => !allowed.some((re) => re.test(f))), [], 'only the allow-listed files');
  assert.ok(files.includes('dist/sim-worker.js'), 'the search worker of the workspace check');
  assert.ok(files.includes('dist/extract-worker.js'), 'the extraction worker of the workspace index');
  assert.ok(files.includes('dist/kernlife-flat.node'), 'the flat parser built at install (for the workspace index on this platform)');
  assert.ok(!files.some((f) => /(^|\/)build\//.test(f) || /\.(ts|cc|c|h|gyp)$/.test(f)), 'no build/ folder and no sources');
  for (const plat of ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64']) {
    assert.ok(files.includes(`dist/node_modules/tree-sitter/prebuilds/${plat}/tree-sitter.node`), `tree-sitter ${plat}`);
    assert.ok(files.includes(`dist/node_modules/tree-sitter-c/prebuilds/${plat}/tree-sitter-c.node`), `tree-sitter-c ${plat}`);
  }
  for (const id of require(path.join(root, 'dist/api.js')).RULE_IDS) assert.ok(files.includes(`docs/rules/${id}.md`), `docs/rules/${id}.md`);
  // the linux-x64 parser must not need a newer libstdc++ than Debian 12 / Ubuntu 22.04 have (3.4.30)
  const bin = fs.readFileSync(path.join(ext, 'dist/node_modules/tree-sitter/prebuilds/linux-x64/tree-sitter.node'), 'latin1');
  const need = [...new Set(bin.match(/GLIBCXX_3\.4\.\d+/g) ?? [])].map((v) => Number(v.split('.').pop()));
  assert.ok(Math.max(0, ...need) <= 30, `needs GLIBCXX_3.4.${Math.max(...need)}`);

  for (const f of ['dist/node_modules/web-tree-sitter/tree-sitter.cjs', 'dist/node_modules/web-tree-sitter/tree-sitter.wasm', 'dist/node_modules/tree-sitter-c/tree-sitter-c.wasm']) {
    assert.ok(files.includes(f), `the wasm fallback: ${f}`);
  }

  // start the packaged server (its own dist/node_modules, not the repository's) over JSON-RPC,
  // on the native parser, then forced onto the wasm one
  const ws = path.join(tmp, 'ws');
  fs.mkdirSync(ws);
  for (const f of ['psi_like_cgroup.c', 'psi_like_trigger.c']) fs.copyFileSync(path.join(root, 'examples', f), path.join(ws, f));
  const rpc = require('vscode-jsonrpc/node');
  const serve = async (parser) => {
    const env = { ...process.env, KERNLIFE_PARSER: parser };
    const server = spawn(process.execPath, [path.join(ext, 'dist/server.js'), '--stdio'], { cwd: tmp, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let log = '';
    server.stderr.on('data', (d) => { log += d; });
    const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
    const got = new Promise((resolve) => conn.onNotification('textDocument/publishDiagnostics', (p) => { if (p.uri.endsWith('psi_like_trigger.c') && p.diagnostics.some((d) => d.code === 'waitqueue-freed-while-polled')) resolve(p); }));
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onNotification('window/logMessage', (m) => { log += m.message + '\n'; });
    conn.listen();
    try {
      await conn.sendRequest('initialize', { processId: process.pid, rootUri: pathToFileURL(ws).toString(), capabilities: {}, workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }] });
      await conn.sendNotification('initialized', {});
      let timer;
      const timeout = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`no diagnostics from the packaged server (${parser}); log:\n${log}`)), 30000); });
      const p2 = await Promise.race([got, timeout]).finally(() => clearTimeout(timer));
      assert.ok(p2.uri.endsWith('psi_like_trigger.c'));
      const d = p2.diagnostics.find((x) => x.code === 'waitqueue-freed-while-polled');
      assert.ok(d.codeDescription.href.startsWith(pathToFileURL(ext).toString()), 'the rule link points into the installed extension');
      return log;
    } finally {
      conn.dispose();
      server.kill();
    }
  };
  const nativeLog = await serve('native');
  assert.match(nativeLog, /tree-sitter \(native\)/, 'the server logs which parser it loaded');
  assert.doesNotMatch(nativeLog, /flat parser/);
  // by default the packaged flat parser parses whole files (the workspace index)
  const autoLog = await serve('auto');
  assert.match(autoLog, /tree-sitter \(native\) .*; whole files through the flat parser/, autoLog);
  const wasmLog = await serve('wasm');
  // the wasm runtime and grammar of the extension itself, not the repository's node_modules
  assert.match(wasmLog, /web-tree-sitter [\d.]+ \(wasm\) with (\S+)/);
  const grammar = /web-tree-sitter [\d.]+ \(wasm\) with (\S+)/.exec(wasmLog)[1];
  assert.equal(grammar, path.join(ext, 'dist/node_modules/tree-sitter-c/tree-sitter-c.wasm'));
});
