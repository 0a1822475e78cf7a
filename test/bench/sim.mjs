#!/usr/bin/env node
// The simulator alone, on the models a real `check` builds: one thread, no extraction.
//   KERNLIFE_DUMP_MODELS=/tmp/models.json node dist/cli.js check --fail-on none DIRS >/dev/null
//   node test/bench/sim.mjs /tmp/models.json [--top N] [--max-states N] [--filter NAME]
// Prints per table (slowest first) states, transitions, µs per transition, and the totals.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../dist/api.js'));
const argv = process.argv.slice(2);
const opt = (name, d) => { const i = argv.indexOf(name); return i >= 0 ? argv.splice(i, 2)[1] : d; };
const top = Number(opt('--top', '15'));
const maxStates = Number(opt('--max-states', '0')) || undefined;
const filter = opt('--filter', '');
const file = argv[0];
if (!file) { console.error('usage: sim.mjs MODELS.json [--top N] [--max-states N] [--filter NAME]'); process.exit(2); }
let models = JSON.parse(fs.readFileSync(file, 'utf8'));
if (filter) models = models.filter((m) => m.table.name.includes(filter));
const rows = [];
const t0 = performance.now();
const c0 = process.cpuUsage();
for (const m of models) {
  const t = performance.now();
  const r = api.simulate(m, maxStates ? { maxStates } : {});
  const ms = performance.now() - t;
  rows.push({ table: m.table.index !== undefined ? `${m.table.name}[${m.table.index}]` : m.table.name, file: m.table.loc.file, ms, states: r.states, transitions: r.transitions, status: r.status, violations: r.violations.length });
}
const total = performance.now() - t0;
rows.sort((a, b) => b.ms - a.ms);
for (const r of rows.slice(0, top)) {
  console.log(`${r.ms.toFixed(0).padStart(7)} ms ${String(r.states).padStart(6)} states ${String(r.transitions).padStart(7)} trans ${(1000 * r.ms / Math.max(1, r.transitions)).toFixed(1).padStart(6)} µs/t ${r.status.padEnd(9)} v=${r.violations} ${r.table} (${r.file})`);
}
const sum = (f) => rows.reduce((a, r) => a + f(r), 0);
const cpu = process.cpuUsage(c0);
console.log(`total: ${models.length} tables, ${(total / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU, ${sum((r) => r.states)} states, ${sum((r) => r.transitions)} transitions, ${rows.filter((r) => r.status !== 'complete').length} truncated, ${sum((r) => r.violations)} violations, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
