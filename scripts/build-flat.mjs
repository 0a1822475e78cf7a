#!/usr/bin/env node
// Builds dist/kernlife-flat.node, kernlife's flat parser (server/native/flat.c; why: see
// server/src/syntax/flat.ts), from C that is already installed: the tree-sitter runtime vendored
// in the `tree-sitter` package and the grammar in `tree-sitter-c`. Same compiler flags as
// node-gyp's Release build of the node binding (-O3, C11), plus profile-guided optimisation with
// gcc: an instrumented build first parses our own C (test/fixtures, examples), and the final
// build is optimised for the branches that parse took. That makes kernel C parse 12-20% faster
// (BENCHMARKS.md). PGO is best effort: if the compiler lacks it, or the training run fails, the
// plain -O3 build is kept; KERNLIFE_NO_PGO=1 skips it. Runs at `npm ci` (postinstall) and on
// its own: `node scripts/build-flat.mjs [--force]`.
//
// Optional by design: without a C compiler or Node's headers it says why and exits 0, and
// kernlife parses whole files with the node binding as before (same results, slower).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const out = join(root, 'dist', 'kernlife-flat.node');
const force = process.argv.includes('--force');

function say(msg) {
  process.stderr.write(`kernlife: flat parser: ${msg}\n`);
}

function headers() {
  const v = process.versions.node;
  const dirs = [
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', v, 'include', 'node'),
    join(homedir(), '.node-gyp', v, 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ].filter(Boolean);
  return dirs.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

function main() {
  let ts, tsc;
  try {
    ts = join(dirname(require.resolve('tree-sitter/package.json')), 'vendor', 'tree-sitter', 'lib');
    tsc = join(dirname(require.resolve('tree-sitter-c/package.json')), 'src');
  } catch (e) {
    say(`not built: tree-sitter or tree-sitter-c is not installed (${e.message.split('\n')[0]})`);
    return;
  }
  const native = join(root, 'server', 'native');
  const sources = [join(native, 'flat.c'), join(native, 'arena.c'), join(ts, 'src', 'lib.c'), join(tsc, 'parser.c')];
  for (const s of sources) if (!existsSync(s)) { say(`not built: ${s} is missing`); return; }
  if (!force && existsSync(out)) {
    const built = statSync(out).mtimeMs;
    if ([...sources, join(native, 'arena.h'), fileURLToPath(import.meta.url)].every((s) => statSync(s).mtimeMs <= built)) return; // up to date
  }
  const inc = headers();
  if (!inc) { say(`not built: no node_api.h for node ${process.versions.node} (set npm's nodedir); whole files are parsed with the node binding`); return; }
  const cc = process.env.CC || 'cc';
  mkdirSync(dirname(out), { recursive: true });
  const base = [
    '-O3', '-fPIC', '-pthread', '-shared', '-std=c11', '-fvisibility=hidden', '-fno-omit-frame-pointer',
    '-D_POSIX_C_SOURCE=200112L', '-D_DEFAULT_SOURCE', '-DNAPI_VERSION=8',
    // the runtime allocates through the flat parser's arena (server/native/arena.c), and its
    // symbols stay inside this addon
    '-include', join(native, 'arena.h'), '-DTREE_SITTER_HIDDEN_SYMBOLS',
    '-Dts_malloc=kl_ts_malloc', '-Dts_calloc=kl_ts_calloc', '-Dts_realloc=kl_ts_realloc', '-Dts_free=kl_ts_free',
    `-I${inc}`, `-I${join(ts, 'include')}`, `-I${join(ts, 'src')}`, `-I${tsc}`,
    ...sources,
  ];
  const compile = (extra, target) => execFileSync(cc, [...base, ...extra, '-o', target], { stdio: ['ignore', 'ignore', 'pipe'] });
  const t0 = Date.now();
  const tmp = `${out}.${process.pid}.tmp`;
  const pgo = process.env.KERNLIFE_NO_PGO ? null : profileGuided(compile);
  if (pgo) {
    copyFileSync(pgo.file, tmp); // the temporary directory may be on another file system
    rmSync(pgo.dir, { recursive: true, force: true });
    renameSync(tmp, out);
  } else {
    try {
      compile([], tmp);
    } catch (e) {
      rmSync(tmp, { force: true });
      const err = (e.stderr?.toString() || e.message).trim().split('\n').slice(-3).join(' / ');
      say(`not built (${cc} failed: ${err}); whole files are parsed with the node binding`);
      return;
    }
    renameSync(tmp, out);
  }
  say(`built ${out.slice(root.length + 1)}${pgo ? ' (profile-guided)' : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Our own C the instrumented build parses to learn which branches are hot. */
function trainingFiles() {
  const files = [];
  const walk = (dir) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[ch]$/.test(e.name)) files.push(p);
    }
  };
  walk(join(root, 'test', 'fixtures'));
  walk(join(root, 'examples'));
  return files.sort();
}

/**
 * gcc's two-step PGO: build instrumented, parse the training files in a child process (the
 * profile is written when it exits), build again with the profile. The output name is the same
 * in both builds because gcc names the profile after it. Returns the optimised addon (in a
 * temporary directory the caller removes), or null when any step fails.
 */
function profileGuided(compile) {
  const files = trainingFiles();
  if (files.length === 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'kernlife-pgo-'));
  const file = join(dir, 'kernlife-flat.node');
  const prof = join(dir, 'profile');
  try {
    compile(['-fprofile-generate', `-fprofile-dir=${prof}`, '-fprofile-update=atomic'], file);
    const train = `const a = require(process.argv[1]); const fs = require('fs');
      let n = 0; for (const f of process.argv.slice(2)) { const r = a.parse(fs.readFileSync(f, 'utf8'), 10000); if (r) n += r.length; }
      if (n === 0) process.exit(1);`;
    execFileSync(process.execPath, ['-e', train, file, ...files], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120000 });
    compile(['-fprofile-use', `-fprofile-dir=${prof}`, '-fprofile-partial-training', '-Wno-missing-profile'], file);
    return { file, dir };
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}
main();
