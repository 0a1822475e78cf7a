// Real-kernel corpus test: run `node dist/cli.js` over parts of Linux 6.1 and
// check it against an independent, line-oriented count (count-tables.sh).
// See test/corpus/README.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelTree, DEFAULT_DIRS, tarballPath } from './kernel-src.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
// KERNLIFE_CLI: alternative CLI script (only for exercising this harness).
const CLI = process.env.KERNLIFE_CLI ? path.resolve(process.env.KERNLIFE_CLI) : path.join(REPO, 'dist', 'cli.js');
const COUNTER = path.join(HERE, 'count-tables.sh');
const IN_CI = !!process.env.CI && !/^(0|false|no)$/i.test(process.env.CI);

// Thresholds.
const MIN_TABLE_RECALL = 0.99;
const MIN_MACRO_RECALL = 0.95;
// (of the kernel-style bodies in the #if branches kernlife analyses; 99.97% on the CI directories)
const MIN_FUNCTION_RECOVERY = 0.995;
const MAX_SKIPPED_FRACTION = 0.005;
const JOBS = '2';
const CLI_TIMEOUT_MS = 30 * 60 * 1000;
const MAX_STDOUT = 1024 * 1024 * 1024;

/** Run a command; resolve {code, signal, stdout, stderr, ms}. stdout kept whole (bounded), stderr tail only. */
function run(cmd, args, { cwd = REPO, timeout = CLI_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    let outLen = 0;
    let err = '';
    let overflow = false;
    child.stdout.on('data', (b) => {
      outLen += b.length;
      if (outLen > MAX_STDOUT) { overflow = true; child.kill('SIGKILL'); } else out.push(b);
    });
    child.stderr.on('data', (b) => { err = (err + b).slice(-64 * 1024); });
    const timer = setTimeout(() => { err += `\n[killed after ${timeout} ms]`; child.kill('SIGKILL'); }, timeout);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (overflow) err += `\n[stdout exceeded ${MAX_STDOUT} bytes]`;
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err, ms: Date.now() - t0 });
    });
  });
}

function runCli(args) {
  return run(process.execPath, [CLI, ...args]);
}

function parseJson(res, what) {
  try {
    return JSON.parse(res.stdout);
  } catch (e) {
    assert.fail(`${what}: stdout is not JSON (${e.message}); first bytes: ${res.stdout.slice(0, 300)}\nstderr: ${res.stderr.slice(-2000)}`);
  }
}

function assertExit0(res, what) {
  assert.equal(res.code, 0, `${what} exited with ${res.code ?? res.signal}; stderr tail:\n${res.stderr.slice(-4000)}`);
}

/** All regular .c/.h files under the dirs (no symlink following). */
function walkCFiles(dirs) {
  const files = [];
  const stack = [...dirs];
  while (stack.length) {
    const d = stack.pop();
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() && /\.[ch]$/.test(e.name)) files.push(p);
    }
  }
  return files;
}

/** Independent counter: { plain: [{file,struct,name,line}], macro: [{file,struct,name,line,macro}] } */
async function independentCount(dirs) {
  const res = await run('sh', [COUNTER, ...dirs], { timeout: 10 * 60 * 1000 });
  assert.equal(res.code, 0, `count-tables.sh failed: ${res.stderr}`);
  const plain = [];
  const macro = [];
  for (const line of res.stdout.split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    const rec = { file: path.resolve(f[0]), struct: f[1], name: f[2], line: Number(f[3]) };
    if (f.length === 5) macro.push({ ...rec, macro: f[4] });
    else if (f.length === 4) plain.push(rec);
    else assert.fail(`count-tables.sh: bad record ${JSON.stringify(line)}`);
  }
  return { plain, macro, ms: res.ms };
}

const key = (file, name) => `${file}\0${name}`;
const baseName = (n) => String(n ?? '').replace(/\[.*$/, '');
const tableFile = (t) => path.resolve(REPO, t.loc?.file ?? t.file);
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const rel = (root, f) => path.relative(root, f);

function countBy(items, f) {
  const m = {};
  for (const it of items) m[f(it)] = (m[f(it)] ?? 0) + 1;
  return m;
}

// ---------------------------------------------------------------------------
// Self-check of the independent counter on synthetic input (no kernel needed).
test('count-tables.sh: synthetic forms', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-count-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.c'), [
      'static const struct file_operations a_fops = {',            // 1 yes
      '\t.open = a_open,',
      '};',
      'const struct proc_ops b_ops __maybe_unused =',               // 4 yes, { on next line
      '{',
      '};',
      'static struct cftype c_files[] = {',                         // 7 yes (array)
      '\t{ }',
      '};',
      'extern const struct file_operations d_fops;',                // no: extern
      'static const struct file_operations e_fops;',                // no: declaration
      'const struct vm_operations_struct *f_ops = &g;',             // no: pointer
      '#define X(n) static const struct kernfs_ops n##_kops = { \\', // no: #define
      '\tstatic const struct kernfs_ops in_def = { \\',             // no: continuation
      '}',
      '/* static const struct file_operations in_comment = { */',   // no: comment
      'static const struct vm_operations_struct __ro_after_init h_vm_ops = {', // 17 yes
      '};',
      'struct kernfs_ops i_kops[2] __read_mostly = { };',           // 19 yes
      'int f(const struct file_operations *fops, struct cftype *cft);', // no
      'static const struct file_operations',                        // no: name on next line (documented limitation)
      'DEFINE_SHOW_ATTRIBUTE(foo);',                                // 22 macro -> foo_fops
      'DEFINE_PROC_SHOW_ATTRIBUTE(bar);',                           // 23 macro -> bar_proc_ops
      'DEFINE_DEBUGFS_ATTRIBUTE(baz_fops, get, set, "%llu\\n");',   // 24 macro -> baz_fops
      '#define DEFINE_SHOW_ATTRIBUTE(x) nope',                      // no
      'char *s = "/*", c = \'"\';',                                  // string/char literals do not open a comment
      'static const struct file_operations after_str = {',         // 27 yes
      '};',
      '',
    ].join('\n'));
    const { plain, macro } = await independentCount([dir]);
    assert.deepEqual(plain.map((r) => `${r.struct} ${r.name} ${r.line}`), [
      'file_operations a_fops 1',
      'proc_ops b_ops 4',
      'cftype c_files 7',
      'vm_operations_struct h_vm_ops 17',
      'kernfs_ops i_kops 19',
      'file_operations after_str 27',
    ]);
    assert.deepEqual(macro.map((r) => `${r.macro} ${r.struct} ${r.name} ${r.line}`), [
      'DEFINE_SHOW_ATTRIBUTE file_operations foo_fops 22',
      'DEFINE_PROC_SHOW_ATTRIBUTE proc_ops bar_proc_ops 23',
      'DEFINE_DEBUGFS_ATTRIBUTE file_operations baz_fops 24',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
test('real kernel corpus (linux-source-6.1)', { timeout: 60 * 60 * 1000 }, async (t) => {
  const t0 = Date.now();
  const root = await kernelTree(DEFAULT_DIRS);
  if (!root) {
    const msg = `${tarballPath()} not found: install the Debian package linux-source-6.1 ` +
      '(apt-get install linux-source-6.1) to run the real-kernel corpus test';
    if (IN_CI) assert.fail(`CI: ${msg}`);
    console.log(`\n!!!!!!!!!! SKIPPING KERNEL CORPUS TEST: ${msg} !!!!!!!!!!\n`);
    t.skip(msg);
    return;
  }
  const extractMs = Date.now() - t0;
  assert.ok(fs.existsSync(CLI), `${CLI} not found: run \`npm ci\` (postinstall) or \`npm run build\``);

  const dirs = DEFAULT_DIRS.map((d) => path.join(root, d));
  const walked = walkCFiles(dirs);
  const walkedSet = new Set(walked);
  assert.ok(walked.length > 1000, `only ${walked.length} .c/.h files found under ${root}`);

  const summary = { dirs: DEFAULT_DIRS.join(' '), cFiles: walked.length, extractMs };
  let tablesFiles = null;

  await t.test('tables: recall vs independent count', async () => {
    const [indep, res] = await Promise.all([
      independentCount(dirs),
      runCli(['tables', '--format', 'json', '--jobs', JOBS, ...dirs]),
    ]);
    assertExit0(res, 'kernlife tables');
    const out = parseJson(res, 'kernlife tables');
    assert.ok(Array.isArray(out.tables), 'output has tables[]');
    assert.ok(out.stats && typeof out.stats === 'object', 'output has stats');
    const skipped = out.skipped ?? [];
    assert.ok(Array.isArray(skipped), 'skipped is an array');

    // --- file accounting ---
    for (const s of skipped) {
      assert.ok(typeof s.reason === 'string' && s.reason.trim(), `skipped file without reason: ${JSON.stringify(s)}`);
      assert.ok(walkedSet.has(path.resolve(REPO, s.file)), `skipped file not among the walked .c/.h files: ${s.file}`);
    }
    if (out.stats.filesSkipped !== undefined) {
      assert.equal(out.stats.filesSkipped, skipped.length, 'stats.filesSkipped == skipped.length');
    }
    assert.equal(out.stats.files, walked.length - skipped.length,
      `stats.files (${out.stats.files}) == walked .c/.h files (${walked.length}) - skipped (${skipped.length})`);
    const skippedFrac = skipped.length / walked.length;
    tablesFiles = out.stats.files;

    // --- plain (brace-initialised) tables: recall ---
    const productKeys = new Set(out.tables.map((tb) => key(tableFile(tb), baseName(tb.name))));
    const indepKeys = new Map();
    for (const r of indep.plain) if (!indepKeys.has(key(r.file, r.name))) indepKeys.set(key(r.file, r.name), r);
    const misses = [...indepKeys.values()].filter((r) => !productKeys.has(key(r.file, r.name)));
    const recall = indepKeys.size ? 1 - misses.length / indepKeys.size : 1;

    // Tables the product reports that the line count does not (informational).
    const indepAll = new Set([...indepKeys.keys(), ...indep.macro.map((r) => key(r.file, r.name))]);
    const productPlain = out.tables.filter((tb) => !tb.macro);
    const productOnly = [...new Set(productPlain.map((tb) => key(tableFile(tb), baseName(tb.name))))]
      .filter((k) => !indepAll.has(k));

    // --- macro-generated tables: recall ---
    const productMacro = out.tables.filter((tb) => tb.macro);
    const macroByFile = new Map();
    for (const tb of productMacro) {
      const f = tableFile(tb);
      if (!macroByFile.has(f)) macroByFile.set(f, []);
      macroByFile.get(f).push(tb);
    }
    const macroMisses = indep.macro.filter((r) => {
      const cands = macroByFile.get(r.file) ?? [];
      return !cands.some((tb) => baseName(tb.name) === r.name || tb.loc?.line === r.line);
    });
    const macroRecall = indep.macro.length ? 1 - macroMisses.length / indep.macro.length : 1;

    Object.assign(summary, {
      filesAnalysed: out.stats.files,
      filesSkipped: skipped.length,
      skippedPct: pct(skippedFrac),
      tablesMs: res.ms,
      independentTables: indepKeys.size,
      independentRecords: indep.plain.length,
      productTables: out.tables.length,
      productTablesNonMacro: productPlain.length,
      recall: pct(recall),
      independentByStruct: countBy(indep.plain, (r) => r.struct),
      productByStruct: countBy(productPlain, (tb) => tb.struct),
      macroIndependent: indep.macro.length,
      macroProduct: productMacro.length,
      macroRecall: pct(macroRecall),
      productOnlyTables: productOnly.length,
      problems: Array.isArray(out.problems) ? out.problems.length : out.problems,
    });

    if (skipped.length) {
      console.log(`kernel corpus: ${skipped.length} skipped files:`);
      for (const s of skipped.slice(0, 30)) console.log(`  ${rel(root, path.resolve(REPO, s.file))}: ${s.reason}`);
    }
    if (misses.length) {
      console.log(`kernel corpus: ${misses.length} tables found by the line count but not by kernlife (first 30):`);
      for (const m of misses.slice(0, 30)) console.log(`  ${rel(root, m.file)}:${m.line} struct ${m.struct} ${m.name}`);
    }
    if (macroMisses.length) {
      console.log(`kernel corpus: ${macroMisses.length} macro-generated tables missed (first 30):`);
      for (const m of macroMisses.slice(0, 30)) console.log(`  ${rel(root, m.file)}:${m.line} ${m.macro} -> ${m.name}`);
    }
    if (productOnly.length) {
      console.log(`kernel corpus: ${productOnly.length} non-macro tables found only by kernlife (first 10, informational):`);
      for (const k of productOnly.slice(0, 10)) {
        const [f, n] = k.split('\0');
        console.log(`  ${rel(root, f)} ${n}`);
      }
    }

    assert.ok(skippedFrac < MAX_SKIPPED_FRACTION,
      `${skipped.length}/${walked.length} files skipped (${pct(skippedFrac)}), limit ${pct(MAX_SKIPPED_FRACTION)}`);
    assert.ok(indepKeys.size > 100, `independent count implausibly small: ${indepKeys.size}`);
    assert.ok(recall >= MIN_TABLE_RECALL,
      `table recall ${pct(recall)} < ${pct(MIN_TABLE_RECALL)} (${misses.length} of ${indepKeys.size} missed)`);
    assert.ok(macroRecall >= MIN_MACRO_RECALL,
      `macro-generated table recall ${pct(macroRecall)} < ${pct(MIN_MACRO_RECALL)} (${macroMisses.length} of ${indep.macro.length} missed)`);
  });

  await t.test('facts: function recovery', async () => {
    const res = await runCli(['facts', '--format', 'json', '--stats-only', '--jobs', JOBS, ...dirs]);
    assertExit0(res, 'kernlife facts');
    const out = parseJson(res, 'kernlife facts');
    const s = out.stats;
    assert.ok(s && typeof s === 'object', 'facts output has stats');
    Object.assign(summary, {
      factsMs: res.ms,
      factsFiles: s.files,
      functions: s.functions,
      functionsExpected: s.functionsExpected,
      functionRecovery: typeof s.recovered === 'number' ? pct(s.recovered) : s.recovered,
      functionsInDroppedBranches: s.functionsInDroppedBranches,
    });
    if (tablesFiles !== null) assert.equal(s.files, tablesFiles, 'facts stats.files == tables stats.files');
    else assert.ok(s.files > 0 && s.files <= walked.length, `facts stats.files plausible: ${s.files}`);
    assert.equal(typeof s.recovered, 'number', 'stats.recovered is a number');
    assert.equal(typeof s.functionsInDroppedBranches, 'number', 'stats.functionsInDroppedBranches is a number');
    assert.ok(s.recovered >= MIN_FUNCTION_RECOVERY,
      `function recovery ${pct(s.recovered)} < ${pct(MIN_FUNCTION_RECOVERY)}`);
  });

  console.log(`kernel corpus summary: ${JSON.stringify(summary)}`);
});
