// The CLI as a user runs it: formats, exit codes, bad input (never a crash), determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
const cli = path.resolve(new URL('../../dist/cli.js', import.meta.url).pathname);
const run = (args, opts = {}) => spawnSync('node', [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });

const TABLE = `static __poll_t d_poll(struct file *f, poll_table *pt)
{
	struct dev *d = f->private_data;
	poll_wait(f, &d->wq, pt);
	return 0;
}
static const struct file_operations d_fops = {
	.owner = THIS_MODULE,
	.poll = d_poll,
	.release = d_release,
};
`;
const OTHER = 'int d_release(struct inode *i, struct file *f)\n{\n\tkfree(f->private_data);\n\treturn 0;\n}\n';

function tmp(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-cli-'));
  for (const [n, t] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, n)), { recursive: true });
    fs.writeFileSync(path.join(dir, n), t);
  }
  return dir;
}

test('cli tables: text in compiler convention, handlers resolved across files', () => {
  const dir = tmp({ 'a/t.c': TABLE, 'b/r.c': OTHER });
  const r = run(['tables', 'a', 'b'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^a\/t\.c:7:\d+: table struct file_operations d_fops$/m);
  assert.match(r.stdout, /\.poll = d_poll {2}\(poll\) {2}-> a\/t\.c:1:\d+/);
  assert.match(r.stdout, /\.release = d_release {2}\(release\) {2}-> b\/r\.c:1:5/);
});

test('cli tables --format json has the documented shape and is deterministic across --jobs', () => {
  const files = { 'a/t.c': TABLE, 'b/r.c': OTHER };
  for (let i = 0; i < 10; i++) files[`c/f${i}.c`] = TABLE.replaceAll('d_', `d${i}_`);
  const dir = tmp(files);
  const one = run(['tables', '--format', 'json', '--jobs', '1', '.'], { cwd: dir });
  const two = run(['tables', '--format', 'json', '--jobs', '2', '.'], { cwd: dir });
  assert.equal(one.status, 0, one.stderr);
  const a = JSON.parse(one.stdout), b = JSON.parse(two.stdout);
  delete a.stats.ms; delete b.stats.ms;
  assert.deepEqual(a, b);
  assert.equal(a.tables.length, 11);
  const t = a.tables.find((x) => x.name === 'd_fops');
  assert.equal(t.kind, 'file_operations');
  assert.equal(t.loc.file, 'a/t.c');
  assert.deepEqual(t.fields.map((f) => [f.field, f.role, f.handler ?? null]), [['owner', 'owner', null], ['poll', 'poll', 'd_poll'], ['release', 'release', 'd_release']]);
  assert.equal(a.stats.files, 12);
});

test('cli facts: effects with paths, --function filter, json', () => {
  const dir = tmp({ 't.c': TABLE, 'r.c': OTHER });
  const r = run(['facts', '--format', 'json', '--function', 'd_poll', '.'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.functions.length, 1);
  const pw = j.functions[0].effects.find((e) => e.kind === 'pollWait');
  assert.equal(pw.text, '&f->private_data->wq');
  assert.equal(pw.loc.line, 4);
});

test('cli: usage errors exit 2; unknown paths exit 2', () => {
  assert.equal(run([]).status, 2);
  assert.equal(run(['frobnicate', '.']).status, 2);
  assert.equal(run(['tables', '--format', 'xml', '.']).status, 2);
  assert.equal(run(['tables', '--jobs', '0', '.']).status, 2);
  const r = run(['tables', '/nonexistent/kernlife']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no such file/);
  assert.equal(run(['--help']).status, 0);
});

test('cli: bad input is reported and skipped or parsed partially, never a crash', () => {
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
  const deep = 'int f(void)\n{\n' + '{'.repeat(20000) + '\n' + '}'.repeat(20000) + '\n}\n';
  const soup = '#define A(x) x ## x\nA(A(A(static))) B C D(E) {{{ ) ) ( ;; __rcu __user\nstruct file_operations x = { .open = \n';
  const dir = tmp({ 'bin.c': garbage, 'deep.c': deep, 'soup.c': soup, 'open-comment.c': '/* never closed\nint f(void) { return 0; }\n', 'big.c': 'int x;\n'.repeat(200000), 'ok.c': TABLE });
  const r = run(['tables', '--format', 'json', '--max-size', '1000000', '.'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  const reasons = Object.fromEntries(j.skipped.map((s) => [s.file, s.reason]));
  assert.match(reasons['bin.c'], /binary/);
  assert.match(reasons['big.c'], /larger than/);
  assert.ok(j.tables.some((t) => t.name === 'd_fops'));
  assert.equal(j.stats.files, 4);
  const f = run(['facts', '--format', 'json', '.'], { cwd: dir });
  assert.equal(f.status, 0, f.stderr);
});

test('cli: check, simulate and facts run with a heap sized to the machine; exit status and output pass through', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-heap-'));
  const f = path.join(dir, 'h.c');
  fs.writeFileSync(f, 'int x;\n');
  const limit = (r) => Number(/heap limit (\d+) MB/.exec(r.stderr)?.[1]);
  const env = (extra) => ({ env: { ...process.env, KERNLIFE_VERBOSE: '1', ...extra } });
  // asked for: the child gets it (V8 rounds up a little)
  const big = run(['check', f], env({ KERNLIFE_HEAP_MB: '6000' }));
  assert.equal(big.status, 0, big.stderr);
  assert.ok(limit(big) >= 6000 && limit(big) < 6400, big.stderr);
  assert.match(big.stdout, /0 findings/);
  // never: the default limit; and tables is never re-run
  const def = run(['check', f], env({ KERNLIFE_HEAP_MB: '0' }));
  const tables = run(['tables', f], env({ KERNLIFE_HEAP_MB: '6000' }));
  assert.equal(limit(def), limit(tables));
  assert.ok(limit(def) < 6000);
  // a limit given in the node options wins
  const given = spawnSync('node', ['--max-old-space-size=3000', cli, 'check', f], { encoding: 'utf8', ...env({ KERNLIFE_HEAP_MB: '6000' }) });
  assert.ok(limit(given) >= 3000 && limit(given) < 3400, given.stderr);
  // exit statuses come through the child: usage 2, findings 1
  assert.equal(run(['check', '--bogus', f], env({ KERNLIFE_HEAP_MB: '6000' })).status, 2);
  const findings = run(['check', path.resolve(new URL('../../examples', import.meta.url).pathname)], env({ KERNLIFE_HEAP_MB: '6000' }));
  assert.equal(findings.status, 1, findings.stderr);
  assert.match(findings.stdout, /waitqueue-freed-while-polled/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cli facts: the same JSON with one thread, one worker that prepares files, and two workers that also extract whole ones', () => {
  // --jobs 2: the worker reads, normalises, parses and scans the text for the main thread;
  // --jobs 3: two workers, which also extract whole files (cli/pool.ts). Whatever does which
  // part of which file, the facts, summaries, predicates and statistics are the same.
  const root = path.resolve(path.dirname(cli), '..');
  const dirs = ['examples', 'test/fixtures'];
  const untimed = (s) => s.replace(/"(ms|parseMs|extractMs)":[0-9.]+/g, '"$1":0');
  const out = {};
  for (const j of ['1', '2', '3']) {
    const r = run(['facts', '--format', 'json', '--jobs', j, ...dirs], { cwd: root, env: { ...process.env, KERNLIFE_VERBOSE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    out[j] = untimed(r.stdout);
    const m = /files: (\d+) parsed on workers and extracted here, (\d+) done on workers, (\d+) done here/.exec(r.stderr);
    if (j === '1') continue;
    assert.ok(m, r.stderr.slice(-500));
    // one worker only prepares; with two, some files may go either way, but all are counted
    if (j === '2') assert.equal(Number(m[2]), 0, 'a single worker extracts no whole file');
  }
  const parsed = JSON.parse(out['1']);
  assert.ok(parsed.functions.length > 100, `${parsed.functions.length} functions`);
  assert.equal(out['2'], out['1'], '--jobs 2 gives what --jobs 1 gives');
  assert.equal(out['3'], out['1'], '--jobs 3 gives what --jobs 1 gives');
  // what the worker reads off the text alone (predicates, suppressions, module exits, braces)
  // reaches the findings only: check with everything extracted in full, on one and three threads
  const check = (j) => {
    const r = run(['check', '--format', 'json', '--fail-on', 'none', '--full-facts', '--jobs', j, 'test/fixtures/rules', 'examples'], { cwd: root });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    delete o.stats.ms;
    delete o.stats.slowest;
    return o;
  };
  const c1 = check('1');
  assert.ok(c1.findings.length > 20, `${c1.findings.length} findings`);
  assert.deepEqual(check('3'), c1);
});
