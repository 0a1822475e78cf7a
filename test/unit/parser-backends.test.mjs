// The two parser backends must give the same results: the native tree-sitter binding and
// web-tree-sitter with tree-sitter-c.wasm (KERNLIFE_PARSER=native|wasm, and the automatic
// fallback when the native binding cannot load). Checked on the CLI's JSON (byte for byte
// but the timing fields) over the examples and every fixture, by the fixture suites
// (test/fixtures/*.test.mjs) run on wasm, on parts of the real kernel when its source is
// there, and on the language server started without a loadable native binding.
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
const cli = path.join(root, 'dist/cli.js');
const NO_NATIVE = path.join(root, 'test/unit/parser/no-native.cjs');
const PRELOAD = path.join(root, 'test/unit/parser/wasm-preload.mjs');

function run(args, { parser, noNative = false, cwd = root, extraEnv = {} } = {}) {
  const env = { ...process.env };
  delete env.KERNLIFE_PARSER;
  delete env.KERNLIFE_VERBOSE;
  delete env.NODE_TEST_CONTEXT; // a test file run as a child reports as TAP, not to this runner
  Object.assign(env, extraEnv);
  if (parser !== undefined) env.KERNLIFE_PARSER = parser;
  const pre = noNative ? ['--require', NO_NATIVE] : [];
  return spawnSync(process.execPath, [...pre, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 300_000 });
}
/** The output minus what depends on timing: every "ms" and check's list of the slowest searches. */
function untimed(out) {
  const j = JSON.parse(out);
  const strip = (x) => {
    if (Array.isArray(x)) x.forEach(strip);
    else if (x && typeof x === 'object') {
      delete x.ms;
      delete x.slowest;
      Object.values(x).forEach(strip);
    }
  };
  strip(j);
  return JSON.stringify(j);
}

function sameOutputs(paths, commands, t) {
  for (const cmd of commands) {
    const a = run([cli, ...cmd, ...paths], { parser: 'native' });
    const b = run([cli, ...cmd, ...paths], { parser: 'wasm' });
    assert.equal(a.status, b.status, `${cmd.join(' ')}: exit ${a.status} vs ${b.status}\n${b.stderr}`);
    assert.ok(a.stdout.length > 1000, `${cmd.join(' ')} printed ${a.stdout.length} bytes\n${a.stderr}`);
    assert.ok(untimed(a.stdout) === untimed(b.stdout), `${cmd.join(' ')} ${paths.join(' ')}: native and wasm outputs differ`);
    assert.equal(b.stderr, a.stderr, 'the same warnings (a forced backend is not announced)');
    t?.diagnostic(`${cmd[0]}: ${a.stdout.length} bytes, identical`);
  }
}

// (check is a function of the facts; rules.test.mjs below runs it on wasm fixture by fixture)
test('parser: native and wasm give identical tables and facts JSON on the examples and fixtures', (t) => {
  sameOutputs(['examples', 'test/fixtures'], [
    ['tables', '--format', 'json'],
    ['facts', '--format', 'json', '--jobs', '1'],
  ], t);
});

test('parser: the annotated fixture suites pass on wasm', () => {
  for (const f of ['test/fixtures/fixtures.test.mjs', 'test/fixtures/rules.test.mjs']) {
    const r = run(['--import', PRELOAD, '--test-reporter=tap', f], { parser: 'wasm' });
    assert.match(r.stderr, /parser: web-tree-sitter/, `${f} ran on wasm`);
    assert.equal(r.status, 0, `${f} on wasm:\n${r.stdout.split('\n').filter((l) => /^not ok|fail|Error/i.test(l)).slice(0, 40).join('\n')}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /# fail 0/);
  }
});

test('parser: without a loadable native binding the CLI falls back to wasm, says so, and gives the same results', () => {
  const args = ['facts', '--format', 'json', '--jobs', '2', 'examples', 'test/fixtures'];
  const native = run([cli, ...args], { parser: 'native' });
  const fallback = run([cli, ...args], { noNative: true });
  assert.equal(fallback.status, 0, fallback.stderr);
  assert.match(fallback.stderr, /kernlife: parser: web-tree-sitter .*native binding did not load: .*GLIBCXX_3\.4\.31/);
  assert.ok(untimed(fallback.stdout) === untimed(native.stdout), 'same facts');
  // the normal case says nothing about the parser, unless asked
  assert.doesNotMatch(native.stderr, /parser/);
  const verbose = spawnSync(process.execPath, [cli, 'tables', 'examples'], { cwd: root, encoding: 'utf8', env: { ...process.env, KERNLIFE_PARSER: '', KERNLIFE_VERBOSE: '1' } });
  assert.match(verbose.stderr, /kernlife: parser: tree-sitter \(native\)/);
});

test('parser: a forced backend that cannot load, or a bad KERNLIFE_PARSER, is an error (exit 2)', () => {
  const forced = run([cli, 'tables', 'examples'], { parser: 'native', noNative: true });
  assert.equal(forced.status, 2);
  assert.match(forced.stderr, /native tree-sitter binding cannot be loaded: .*GLIBCXX/);
  const bad = run([cli, 'tables', 'examples'], { parser: 'quantum' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /KERNLIFE_PARSER=quantum: expected native, wasm or flat/);
});

test('parser: native and wasm agree on parts of the real kernel', async (t) => {
  let kernelTree;
  try { ({ kernelTree } = await import('../corpus/kernel-src.mjs')); } catch { t.skip('no kernel-src helper'); return; }
  const tarball = process.env.KERNLIFE_KERNEL_TARBALL || '/usr/src/linux-source-6.1.tar.xz';
  if (!fs.existsSync(tarball)) { t.skip(`no ${tarball}`); return; }
  // cgroup (the PSI table) and procfs: 48 files, 1,098 functions, 13 MB of facts JSON (every effect and summary)
  const dirs = ['kernel/cgroup', 'fs/proc'];
  const cwd = await kernelTree(dirs);
  for (const cmd of [['tables', '--format', 'json'], ['facts', '--format', 'json']]) {
    const a = run([cli, ...cmd, ...dirs], { parser: 'native', cwd });
    const b = run([cli, ...cmd, ...dirs], { parser: 'wasm', cwd });
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const { stats } = JSON.parse(a.stdout);
    assert.ok(stats.functions > 1000 && stats.tables > 100, `${stats.functions} functions, ${stats.tables} tables`);
    assert.ok(untimed(a.stdout) === untimed(b.stdout), `${cmd[0]} on ${dirs.join(' ')}: native and wasm differ`);
    t.diagnostic(`${cmd[0]}: ${a.stdout.length} bytes identical`);
  }
});

test('parser: the language server falls back to wasm, logs it, and publishes the finding', async (t) => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-wasm-lsp-'));
  after(() => fs.rmSync(ws, { recursive: true, force: true }));
  for (const f of ['psi_like_cgroup.c', 'psi_like_trigger.c']) fs.copyFileSync(path.join(root, 'examples', f), path.join(ws, f));
  const env = { ...process.env };
  delete env.KERNLIFE_PARSER;
  const server = spawn(process.execPath, ['--require', NO_NATIVE, path.join(root, 'dist/server.js'), '--stdio'], { cwd: ws, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const rpc = require('vscode-jsonrpc/node');
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(server.stdout), new rpc.StreamMessageWriter(server.stdin));
  let log = '';
  server.stderr.on('data', (d) => { log += d; });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', () => {});
  conn.onNotification('window/logMessage', (m) => { log += m.message + '\n'; });
  const got = new Promise((resolve) => conn.onNotification('textDocument/publishDiagnostics', (p) => {
    if (p.uri.endsWith('psi_like_trigger.c') && p.diagnostics.some((d) => d.code === 'waitqueue-freed-while-polled')) resolve(p);
  }));
  conn.listen();
  t.after(() => { conn.dispose(); server.kill(); });
  const uri = pathToFileURL(ws).toString();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: uri, capabilities: {}, workspaceFolders: [{ uri, name: 'ws' }] });
  await conn.sendNotification('initialized', {});
  let timer;
  const timeout = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`no finding from the server on wasm; log:\n${log}`)), 30000); });
  await Promise.race([got, timeout]).finally(() => clearTimeout(timer));
  assert.match(log, /kernlife: web-tree-sitter .*native binding did not load: .*GLIBCXX/);
});

// The flat parser (server/native/flat.c, dist/kernlife-flat.node): whole-file parses in the
// CLI and the index; the language server's incremental trees stay with the node binding.
function sourcesUnder(dirs) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[ch]$/.test(e.name)) out.push(p);
    }
  };
  dirs.forEach((d) => walk(path.join(root, d)));
  return out;
}

test('parser: the addon makes strings outside the heap that read as the bytes they were made from, and the CLI uses them for ASCII sources', () => {
  const api = require(path.join(root, 'dist/api.js'));
  const text = fs.readFileSync(path.join(root, 'examples/psi_like_trigger.c'), 'latin1');
  const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
  const s = api.outsideHeap(bytes);
  // (this Node has node_api_create_external_string_latin1: the machines we build on do)
  assert.equal(typeof s, 'string');
  assert.equal(s, text);
  assert.equal(s.slice(100, 180), text.slice(100, 180));
  assert.equal(s.indexOf('kfree'), text.indexOf('kfree'));
  // the bytes were copied: changing them after does not change the string
  bytes[0] = 0x41;
  assert.equal(s, text);
  assert.equal(api.outsideHeap(new Uint8Array(0)), '');
  // facts of sources read that way (--jobs 2: a worker prepares, this thread extracts) are those read as strings (--jobs 1)
  const one = run([cli, 'facts', '--format', 'json', '--jobs', '1', 'examples', 'test/fixtures']);
  const two = run([cli, 'facts', '--format', 'json', '--jobs', '2', 'examples', 'test/fixtures']);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(two.status, 0, two.stderr);
  const norm = (o) => o.replace(/"ms":\d+/g, '"ms":0');
  assert.equal(norm(two.stdout), norm(one.stdout));
});

test('parser: the flat parser is built at install and gives the node binding\'s trees node by node on every example and fixture', () => {
  const api = require(path.join(root, 'dist/api.js'));
  const flat = api.flatParser();
  assert.equal(flat.used, true, `whole-file parses do not use the flat parser: ${flat.why}`);
  const fields = api.flatFieldNames();
  assert.ok(fields.includes('declarator') && fields.includes('body'), fields.join(' '));
  const files = sourcesUnder(['examples', 'test/fixtures']);
  assert.ok(files.length > 100, `${files.length} files`);
  let nodes = 0;
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const t of [text, api.normalize(text, { annotations: new Set(['__rcu', '__user']), annotationsWithArgs: new Set(), definers: new Map() }).text]) {
      const a = api.parseTree(t), b = api.parseC(t);
      assert.ok(a.root && b.root && b.root.constructor !== a.root.constructor, `${f}: one flat tree and one binding tree`);
      assert.ok(api.sameTrees(a.root, b.root, fields), `${path.relative(root, f)}: the flat tree differs from the binding's`);
      nodes += b.root.descendantsOfType(['identifier']).length;
    }
  }
  assert.ok(nodes > 10000, `${nodes} identifiers compared`);
});

test('parser: the flat parser and the node binding give identical tables and facts JSON; without the addon nothing changes', (t) => {
  for (const cmd of [['tables', '--format', 'json'], ['facts', '--format', 'json', '--jobs', '2']]) {
    const paths = ['examples', 'test/fixtures'];
    const a = run([cli, ...cmd, ...paths], { parser: 'native' });
    const b = run([cli, ...cmd, ...paths], { parser: 'flat' });
    const c = run([cli, ...cmd, ...paths]);
    const d = run([cli, ...cmd, ...paths], { extraEnv: { KERNLIFE_FLAT: '0' } });
    for (const [x, name] of [[b, 'flat'], [c, 'auto'], [d, 'KERNLIFE_FLAT=0']]) {
      assert.equal(x.status, a.status, `${cmd[0]} ${name}: exit ${x.status}\n${x.stderr}`);
      assert.ok(untimed(x.stdout) === untimed(a.stdout), `${cmd[0]}: ${name} and native outputs differ`);
      assert.equal(x.stderr, a.stderr, `${cmd[0]} ${name}: the same warnings, nothing announced`);
    }
    t.diagnostic(`${cmd[0]}: ${a.stdout.length} bytes, identical`);
  }
  // and which parser ran is what the verbose log says
  const said = (extraEnv) => run([cli, 'tables', 'examples'], { extraEnv: { KERNLIFE_VERBOSE: '1', ...extraEnv } }).stderr;
  assert.match(said({}), /whole files through the flat parser/);
  assert.doesNotMatch(said({ KERNLIFE_FLAT: '0' }), /flat parser/);
  // facts on two threads: the worker parses files for the main thread (the flat parser's
  // arrays cross threads), and without the addon it extracts whole files as before. (Enough
  // files that the main thread cannot do them all itself while the worker starts: with the
  // examples and fixtures alone, ~200 small files, it sometimes did on a loaded machine.)
  const many = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-split-'));
  t.after(() => fs.rmSync(many, { recursive: true, force: true }));
  const one = fs.readFileSync(path.join(root, 'examples/psi_like_trigger.c'));
  for (let i = 0; i < 1500; i++) fs.writeFileSync(path.join(many, `f${String(i).padStart(4, '0')}.c`), one);
  const split = (extraEnv) => {
    const r = run([cli, 'facts', '--stats-only', '--jobs', '2', many], { extraEnv: { KERNLIFE_VERBOSE: '1', ...extraEnv } });
    const m = /files: (\d+) parsed on workers and extracted here, (\d+) done on workers, (\d+) done here/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const [prepared, workers, here] = m.slice(1).map(Number);
    assert.equal(prepared + workers + here, JSON.parse(r.stdout).stats.files + JSON.parse(r.stdout).stats.filesSkipped);
    return { prepared, workers };
  };
  assert.ok(split({}).prepared > 0, 'the worker parsed files for the main thread');
  const none = split({ KERNLIFE_FLAT: '0' });
  assert.equal(none.prepared, 0);
  assert.ok(none.workers > 0);
  // insisting on the flat parser without its addon is an error that says what is missing
  const r = run([cli, 'tables', 'examples'], { parser: 'flat', extraEnv: { KERNLIFE_FLAT_ADDON: path.join(os.tmpdir(), 'no-such-kernlife-flat.node') } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /KERNLIFE_PARSER=flat: its addon \(dist\/kernlife-flat\.node\) is not built or does not load/);
});

test('parser: the flat parser keeps the parse budget, on a file too big to parse in time', () => {
  const api = require(path.join(root, 'dist/api.js'));
  const unit = 'static int f(struct a *p) { if (p->x) return g(p, 1, 2) + h(p->y); return 0; }\n';
  const big = unit.repeat(40000);
  const r = api.parseC(big, 5);
  assert.equal(r.timedOut, true, 'a 3 MB file does not parse in 5 ms');
  assert.equal(r.tree, null);
  const ok = api.parseC(unit, 1000);
  assert.equal(ok.timedOut, false);
  assert.equal(ok.root.descendantsOfType('function_definition').length, 1);
});

test('parser: the flat parser and the node binding agree on the real kernel (tables of the CI directories, every fact of kernel/)', async (t) => {
  let kernelTree, DEFAULT_DIRS;
  try { ({ kernelTree, DEFAULT_DIRS } = await import('../corpus/kernel-src.mjs')); } catch { t.skip('no kernel-src helper'); return; }
  const tarball = process.env.KERNLIFE_KERNEL_TARBALL || '/usr/src/linux-source-6.1.tar.xz';
  if (!fs.existsSync(tarball)) { t.skip(`no ${tarball}`); return; }
  const cwd = await kernelTree(DEFAULT_DIRS);
  const tables = ['tables', '--format', 'json', ...DEFAULT_DIRS];
  const a = run([cli, ...tables], { parser: 'native', cwd });
  const b = run([cli, ...tables], { cwd });
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.ok(JSON.parse(a.stdout).stats.files > 3000);
  assert.ok(untimed(a.stdout) === untimed(b.stdout), 'tables of the CI directories: flat and native differ');
  t.diagnostic(`tables: ${a.stdout.length} bytes identical`);
  // every effect and summary of kernel/ (~440 MB of JSON): compared as files, but for the timing
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-flat-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const outs = [];
  for (const parser of ['native', undefined]) {
    const file = path.join(dir, `${parser ?? 'auto'}.json`);
    const env = { ...process.env };
    delete env.KERNLIFE_PARSER; delete env.NODE_TEST_CONTEXT;
    if (parser) env.KERNLIFE_PARSER = parser;
    const fd = fs.openSync(file, 'w');
    const r = spawnSync(process.execPath, [cli, 'facts', '--format', 'json', '--jobs', '2', 'kernel'], { cwd, env, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 300_000 });
    fs.closeSync(fd);
    assert.equal(r.status, 0, r.stderr);
    outs.push(fs.readFileSync(file));
  }
  const [x, y] = outs;
  assert.ok(x.length > 1e8, `${x.length} bytes of facts`);
  // the JSON ends with the stats line, the only one with timings
  const split = (buf) => { const i = buf.lastIndexOf('\n],"stats":'); assert.ok(i > 0, 'facts JSON ends with its stats'); return [buf.subarray(0, i), buf.subarray(i).toString().replace(/"ms":[\d.]+/g, '"ms":0')]; };
  const [xb, xt] = split(x), [yb, yt] = split(y);
  assert.ok(xb.equals(yb), 'the facts of kernel/ differ between flat and native');
  assert.equal(yt, xt);
  t.diagnostic(`facts of kernel/: ${x.length} bytes identical`);
});
