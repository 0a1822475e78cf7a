#!/usr/bin/env node
// The two parser backends side by side: the native tree-sitter binding and web-tree-sitter
// with tree-sitter-c.wasm (KERNLIFE_PARSER=native|wasm). For each: parse-only through
// kernlife's syntax layer (dist/api.js parseC, one thread, every .c/.h read as utf8 and parsed,
// nothing else), then `tables` and `facts --stats-only` of dist/cli.js with --jobs N; and
// whether the two backends' JSON outputs are identical (the "ms" fields aside). Wall and CPU
// seconds both: on a shared machine the CPU time is the steadier of the two.
//
//   npm run build && node test/bench/backends.mjs [--jobs N] PATH...
//
// Run it from the kernel's top directory with relative paths, as bench.mjs does. Wall times
// from one run each; nothing asserts on time.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { listSources } from './parse-only.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const require = createRequire(import.meta.url);

/** Child: parse every file with one backend on this thread; print {ms, files, bytes, backend}. */
async function parseChild(backend, paths) {
  const api = require(join(ROOT, 'dist', 'api.js'));
  const info = await api.initParser(backend);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const files = listSources(paths.map((p) => resolve(p)));
  const texts = files.map((f) => readFileSync(f, 'utf8')); // reading is not timed
  let bytes = 0, since = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const text of texts) {
    const r = api.parseC(text);
    if (r.tree) api.releaseTree(r.tree);
    bytes += text.length;
    since += text.length;
    // native trees are freed by finalizers that run when the event loop turns (see parse-only.mjs)
    if (since > 2e6) { since = 0; gc(); await new Promise(setImmediate); }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  console.log(JSON.stringify({ backend: info.backend, info: info.info, files: files.length, bytes, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000) }));
}

/** Runs node with `args` under /usr/bin/time: wall and CPU (user + system) seconds, peak RSS. */
function timed(args, env) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  const [wall, user, sys, kb] = /TIME (\S+) (\S+) (\S+) (\d+)\s*$/.exec(r.stderr).slice(1).map(Number);
  return { s: wall, cpu: user + sys, mb: kb / 1024, out: r.stdout };
}

async function main(argv) {
  let jobs = 2;
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--jobs') jobs = Number(argv[++i]);
    else paths.push(argv[i]);
  }
  if (!paths.length) throw new Error('usage: node test/bench/backends.mjs [--jobs N] PATH...');
  const rows = [];
  const outs = {};
  for (const b of ['native', 'wasm']) {
    const p = timed([fileURLToPath(import.meta.url), '--parse-child', b, ...paths], {});
    const parse = JSON.parse(p.out);
    const tables = timed([CLI, 'tables', '--format', 'json', '--jobs', String(jobs), ...paths], { KERNLIFE_PARSER: b });
    const facts = timed([CLI, 'facts', '--format', 'json', '--stats-only', '--jobs', String(jobs), ...paths], { KERNLIFE_PARSER: b });
    outs[b] = [tables.out, facts.out].map((o) => o.replace(/"ms":\s*\d+/g, '"ms":0'));
    rows.push({ b, parse, tables, facts });
    process.stderr.write(`${b}: ${parse.info}\n`);
  }
  const same = outs.native[0] === outs.wasm[0] && outs.native[1] === outs.wasm[1];
  const f = (x) => x.toFixed(2);
  const [n, w] = rows;
  console.log(`${n.parse.files} files, ${(n.parse.bytes / 1e6).toFixed(1)} M chars; parse-only on 1 thread, tables/facts with --jobs ${jobs}; wall s / CPU s (peak RSS MB)`);
  console.log('| backend | parse-only | tables | facts --stats-only |');
  console.log('|---|--:|--:|--:|');
  for (const r of rows) {
    console.log(`| ${r.b} | ${f(r.parse.ms / 1000)} / ${f(r.parse.cpuMs / 1000)} | ${f(r.tables.s)} / ${f(r.tables.cpu)} (${Math.round(r.tables.mb)}) | ${f(r.facts.s)} / ${f(r.facts.cpu)} (${Math.round(r.facts.mb)}) |`);
  }
  const x = (a, b) => `${(a / b).toFixed(2)}x`;
  console.log(`wasm/native CPU: parse-only ${x(w.parse.cpuMs, n.parse.cpuMs)}, tables ${x(w.tables.cpu, n.tables.cpu)}, facts ${x(w.facts.cpu, n.facts.cpu)}; outputs identical: ${same ? 'yes' : 'NO'}`);
  return same ? 0 : 1;
}

if (process.argv[2] === '--parse-child') await parseChild(process.argv[3], process.argv.slice(4));
else if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2)).catch((e) => { console.error(`backends: ${e.message}`); return 2; });
}
