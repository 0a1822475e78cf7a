#!/usr/bin/env node
// Baseline for the benchmark: parse every .c/.h file under PATHS with the `tree-sitter` and
// `tree-sitter-c` npm packages and do nothing else. No queries, no tree walks, no output per
// file. This is the floor kernlife's own numbers are compared against.
//
//   node test/bench/parse-only.mjs [--jobs N] [--json] PATH...
//
// Files are read as utf8 strings (as kernlife does) and shared between N worker threads
// (default 2, like kernlife's --jobs) through one atomic counter, so a slow file never
// leaves a worker idle while the others still have work.
//
// The walker (listSources) is exported so bench.mjs counts exactly the files parsed here.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/** Source files kernlife looks at: regular *.c and *.h files (symlinks and dot-dirs skipped). */
export function isSource(name) {
  return name.endsWith('.c') || name.endsWith('.h');
}

/** Every .c/.h file under the given files/directories, sorted, without duplicates. */
export function listSources(paths) {
  const out = new Set();
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && isSource(e.name)) out.add(p);
    }
  };
  for (const p of paths) {
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (st.isFile()) out.add(p);
  }
  return [...out].sort();
}

// Trees live in native memory that V8 does not see, so a loop that only parses never
// triggers a collection and RSS grows with the total source size (17 GB for the whole 6.1
// tree). A full GC after every GC_EVERY bytes of source keeps it bounded; the JS heap is tiny,
// so each collection costs a few milliseconds. The trees' native finalizers only run when
// the event loop turns, hence the setImmediate after each collection.
const GC_EVERY = 2e6;

function exposeGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}

async function workerMain() {
  const gc = exposeGc();
  const Parser = require('tree-sitter');
  const C = require('tree-sitter-c');
  const parser = new Parser();
  parser.setLanguage(C);
  const { files, counter } = workerData;
  const next = new Int32Array(counter);
  let parsed = 0;
  let bytes = 0;
  let sinceGc = 0;
  let gcs = 0;
  let errorFiles = 0;
  let slowest = { ms: 0, file: '' };
  let failures = [];
  for (;;) {
    const i = Atomics.add(next, 0, 1);
    if (i >= files.length) break;
    const file = files[i];
    const t0 = performance.now();
    try {
      const buf = readFileSync(file);
      bytes += buf.length;
      const text = buf.toString('utf8');
      const tree = parser.parse(text);
      if (tree.rootNode.hasError) errorFiles++;
      parsed++;
      sinceGc += buf.length;
      if (sinceGc >= GC_EVERY) {
        gc();
        // Native finalizers run from the event loop, so let it turn once.
        await new Promise(setImmediate);
        gcs++;
        sinceGc = 0;
      }
    } catch (e) {
      failures.push(`${file}: ${e && e.message}`);
    }
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest = { ms, file };
  }
  parentPort.postMessage({ parsed, bytes, errorFiles, gcs, slowest, failures });
}

async function main(argv) {
  let jobs = 2;
  let json = false;
  const paths = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jobs' || a === '-j') jobs = Number(argv[++i]);
    else if (a.startsWith('--jobs=')) jobs = Number(a.slice(7));
    else if (a === '--json') json = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node test/bench/parse-only.mjs [--jobs N] [--json] PATH...');
      return 0;
    } else paths.push(a);
  }
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs wants a positive integer`);
  if (paths.length === 0) throw new Error('no PATH given');

  const t0 = performance.now();
  const files = listSources(paths.map((p) => resolve(p)));
  const tList = performance.now();
  const counter = new SharedArrayBuffer(4);
  const results = await Promise.all(
    Array.from({ length: Math.min(jobs, Math.max(1, files.length)) }, () =>
      new Promise((ok, fail) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { files, counter } });
        w.once('message', ok);
        w.once('error', fail);
        w.once('exit', (code) => code !== 0 && fail(new Error(`worker exited with ${code}`)));
      }),
    ),
  );
  const t1 = performance.now();

  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  const slowest = results.map((r) => r.slowest).sort((a, b) => b.ms - a.ms)[0];
  const report = {
    jobs,
    files: files.length,
    parsed: sum('parsed'),
    bytes: sum('bytes'),
    errorFiles: sum('errorFiles'),
    gcs: sum('gcs'),
    failures: results.flatMap((r) => r.failures),
    listMs: Math.round(tList - t0),
    parseMs: Math.round(t1 - tList),
    totalMs: Math.round(t1 - t0),
    slowestFile: slowest.file,
    slowestMs: Math.round(slowest.ms),
  };
  if (json) console.log(JSON.stringify(report));
  else {
    const mb = report.bytes / 1e6;
    console.log(
      `parse-only: ${report.parsed}/${report.files} files, ${mb.toFixed(1)} MB, ${jobs} worker(s): ` +
        `${(report.totalMs / 1000).toFixed(2)} s (${(mb / (report.parseMs / 1000)).toFixed(1)} MB/s), ` +
        `${report.errorFiles} with ERROR nodes; slowest ${report.slowestFile} ${report.slowestMs} ms`,
    );
    for (const f of report.failures) console.log(`  failed: ${f}`);
  }
  return report.failures.length ? 1 : 0;
}

if (!isMainThread) workerMain();
else if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(`parse-only: ${e && e.message}`);
      process.exitCode = 2;
    },
  );
}
