#!/usr/bin/env node
// Where a `facts` run's CPU goes, thread by thread, against parse-only in the same rounds.
//
//   node test/bench/thread-cpu.mjs [--rounds R] [--jobs J] DIR [CLI ...]
//
// Each round runs parse-only (test/bench/parse-only.mjs) and then `facts --stats-only` with every
// CLI given (default: this checkout's dist/cli.js), so two builds can be compared in the same
// minutes. While a run lasts, the CPU time of each of its threads is read from
// /proc/PID/task/*/stat (Linux); a thread's CPU does not count the time it waited for a core,
// which on a shared machine moves wall time by ±20% from one run to the next. Threads are the
// main thread, the pool's workers (those that ran more than a tenth of the run) and the rest
// (V8's GC and compiler threads, libuv's). `KERNLIFE_HEAP_MB=0`: one process, no respawn.
//
// Prints, per command: wall and CPU (all threads) per round, their means, the mean per thread
// class, and the wall ratio to the same round's parse-only run. Nothing is asserted.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

function parseArgs(argv) {
  const a = { rounds: 4, jobs: 2, dir: null, clis: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--rounds') a.rounds = Number(argv[++i]);
    else if (x === '--jobs') a.jobs = Number(argv[++i]);
    else if (!a.dir) a.dir = resolve(x);
    else a.clis.push(resolve(x));
  }
  if (!a.dir || !(a.rounds > 0) || !(a.jobs > 0)) {
    process.stderr.write('usage: node test/bench/thread-cpu.mjs [--rounds R] [--jobs J] DIR [CLI ...]\n');
    process.exit(2);
  }
  if (!a.clis.length) a.clis.push(join(root, 'dist', 'cli.js'));
  return a;
}

const TICK = 100; // clock ticks per second (USER_HZ)

/** Runs `args` with node; resolves to its wall seconds and CPU seconds per thread id. */
function measure(args) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { env: { ...process.env, KERNLIFE_HEAP_MB: '0' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const cpu = new Map();
    const poll = () => {
      let tids;
      try { tids = readdirSync(`/proc/${p.pid}/task`); } catch { return; }
      for (const tid of tids) {
        try {
          const st = readFileSync(`/proc/${p.pid}/task/${tid}/stat`, 'utf8');
          const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
          cpu.set(Number(tid), (Number(f[11]) + Number(f[12])) / TICK); // utime + stime
        } catch { /* the thread ended between the listing and the read */ }
      }
    };
    const timer = setInterval(poll, 20);
    p.on('error', rej);
    p.on('exit', (code) => {
      clearInterval(timer);
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) { rej(new Error(`${args.join(' ')}: exit ${code}`)); return; }
      let main = 0, workers = 0, helpers = 0;
      for (const [tid, s] of cpu) {
        if (tid === p.pid) main += s;
        else if (s > wall / 10) workers += s;
        else helpers += s;
      }
      res({ wall, total: main + workers + helpers, main, workers, helpers });
    });
  });
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const f2 = (x) => x.toFixed(2);

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const po = [];
  const runs = a.clis.map(() => []);
  for (let r = 0; r < a.rounds; r++) {
    po.push(await measure([join(here, 'parse-only.mjs'), '--jobs', String(a.jobs), a.dir]));
    // (the builds in turn, starting with a different one each round)
    for (let k = 0; k < a.clis.length; k++) {
      const i = (k + r) % a.clis.length;
      runs[i].push(await measure([a.clis[i], 'facts', '--stats-only', '--jobs', String(a.jobs), a.dir]));
    }
    process.stderr.write(`[thread-cpu] round ${r + 1} of ${a.rounds}\n`);
  }
  const rows = [['parse-only', po, null], ...a.clis.map((c, i) => [c, runs[i], po])];
  console.log(`${a.dir}, --jobs ${a.jobs}, ${a.rounds} rounds (wall and CPU in seconds; CPU of all threads)\n`);
  console.log('| command | wall per round | CPU per round | wall | CPU | main thread | workers | other threads | × parse-only per round |');
  console.log('|---|---|---|--:|--:|--:|--:|--:|---|');
  for (const [name, rs, base] of rows) {
    const ratio = base ? rs.map((x, i) => f2(x.wall / base[i].wall)).join(' ') : '';
    console.log(`| ${name} | ${rs.map((x) => f2(x.wall)).join(' ')} | ${rs.map((x) => f2(x.total)).join(' ')} | ${f2(mean(rs.map((x) => x.wall)))} | ${f2(mean(rs.map((x) => x.total)))} | ${f2(mean(rs.map((x) => x.main)))} | ${f2(mean(rs.map((x) => x.workers)))} | ${f2(mean(rs.map((x) => x.helpers)))} | ${ratio} |`);
  }
}

main().catch((e) => { process.stderr.write(`thread-cpu: ${e.message}\n`); process.exit(2); });
