// The interleaving picture: one lane per actor that appears, one box per step in trace order,
// source locations for click-to-source, text escaped, no script or external reference (it is
// shown in a webview under a strict CSP). Checked against the JSON trace of the same table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const api = createRequire(import.meta.url)('../../dist/api.js');
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const cli = (args) => spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), ...args], { cwd: root, encoding: 'utf8' });

test('diagram: lanes, steps in order, locations, escaping', () => {
  const trace = [
    { actor: 'task A', event: 'open()', message: 'file #1' },
    { actor: 'task B', event: 'rmdir <cgroup> & co', handler: 'a -> b', loc: { file: '/x/y.c', line: 7, col: 1, endLine: 7, endCol: 2 }, message: '"quoted"' },
    { actor: 'task A', event: 'use after free', message: 'boom' },
  ];
  const svg = api.traceSvg(trace, { title: 't <1>' });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/class="actor"/g) ?? []).length, 2, 'one lane per actor present');
  const steps = [...svg.matchAll(/<g class="step( fail)?" data-step="(\d+)"/g)];
  assert.deepEqual(steps.map((m) => Number(m[2])), [1, 2, 3]);
  assert.equal(steps.filter((m) => m[1]).map((m) => Number(m[2]))[0], 3, 'the last step is the failure');
  assert.match(svg, /data-file="\/x\/y\.c" data-line="7"/);
  assert.ok(!svg.includes('<cgroup>') && svg.includes('rmdir &lt;cgroup&gt; &amp; co') && svg.includes('&quot;quoted&quot;'));
  assert.ok(!/<script|href=|url\(/i.test(svg), 'no script, no external reference');
});

test('simulate --format svg draws the same steps the JSON trace lists', () => {
  const j = JSON.parse(cli(['simulate', '--format', 'json', 'examples/psi_like_cgroup.c', 'examples']).stdout);
  const v = j.tables.flatMap((t) => t.violations)[0];
  assert.ok(v, 'a violation to draw');
  const r = cli(['simulate', '--format', 'svg', 'examples/psi_like_cgroup.c', 'examples']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stdout.match(/<g class="step/g) ?? []).length, v.trace.length);
  for (const a of new Set(v.trace.map((s) => s.actor))) assert.ok(r.stdout.includes(`>${a}</text>`), `lane ${a}`);
  assert.equal(cli(['check', '--format', 'svg', 'examples']).status, 2, 'svg is for simulate');
});
