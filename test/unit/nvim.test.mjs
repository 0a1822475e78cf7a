// Neovim (Debian's package) as a real second LSP client: headless, it starts `dist/server.js
// --stdio` with its built-in client (test/editors/nvim-diagnostics.lua), opens the PSI-shaped
// example and writes the diagnostics it received. The waitqueue finding must be among them, on
// the line of kfree(t), found by text. Skipped (with a message) when nvim is not installed;
// .ci/run installs it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-nvim-'));
after(() => fs.rmSync(ws, { recursive: true, force: true }));

test('neovim: the built-in LSP client gets the finding from dist/server.js --stdio', (t) => {
  if (spawnSync('nvim', ['--version'], { encoding: 'utf8' }).status !== 0) { t.skip('nvim not installed (apt-get install neovim)'); return; }
  for (const f of ['psi_like_cgroup.c', 'psi_like_trigger.c']) fs.copyFileSync(path.join(root, 'examples', f), path.join(ws, f));
  const out = path.join(ws, 'diagnostics.txt');
  const r = spawnSync('nvim', ['--headless', '--clean', '-c', `edit ${path.join(ws, 'psi_like_trigger.c')}`, '-c', `luafile ${path.join(root, 'test/editors/nvim-diagnostics.lua')}`], {
    env: { ...process.env, KL_WS: ws, KL_OUT: out, KL_SERVER: path.join(root, 'dist/server.js') }, encoding: 'utf8', timeout: 60000,
  });
  assert.ok(fs.existsSync(out), `nvim wrote nothing (status ${r.status}): ${r.stderr}`);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.at(-1), 'DONE', lines.join('\n'));
  const kfree = fs.readFileSync(path.join(ws, 'psi_like_trigger.c'), 'utf8').split('\n').findIndex((l) => l.includes('kfree(t);')) + 1;
  assert.ok(lines.some((l) => new RegExp(`^psi_like_trigger\\.c:${kfree}:\\d+: waitqueue-freed-while-polled \\[kernlife\\] 1$`).test(l)), lines.join('\n'));
});
