import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');
const cli = path.resolve(new URL('../../dist/cli.js', import.meta.url).pathname);

test('config: user rows model out-of-tree wrappers; bad rows are reported, not fatal', () => {
  const { knowledge, problems } = api.applyConfig(api.KERNEL_KNOWLEDGE, {
    apis: [{ name: 'mydrv_put_ctx', effect: 'free', arg: 0, mode: 'now', header: 'mydrv.h' }, { name: 'x', effect: 'explode' }],
  }, 'cfg');
  assert.equal(problems.length, 1);
  assert.match(problems[0], /apis\[1\].*effect/);
  assert.equal(knowledge.apis[0].name, 'mydrv_put_ctx');
});

test('config: .kernlife.json at the project root is picked up by the CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-cfg-'));
  fs.writeFileSync(path.join(dir, 'm.c'), 'static void m_release(struct kernfs_open_file *of)\n{\n\tmydrv_put_ctx(of->priv);\n}\n');
  const before = execFileSync('node', [cli, 'facts', 'm.c'], { cwd: dir, encoding: 'utf8' });
  assert.doesNotMatch(before, /free\(of->priv/);
  fs.writeFileSync(path.join(dir, '.kernlife.json'), JSON.stringify({ apis: [{ name: 'mydrv_put_ctx', effect: 'free', mode: 'now' }] }));
  const after = execFileSync('node', [cli, 'facts', 'm.c'], { cwd: dir, encoding: 'utf8' });
  assert.match(after, /m\.c:3:2: free\(of->priv, now\)/);
  fs.writeFileSync(path.join(dir, '.kernlife.json'), '{ not json');
  const bad = spawnSync('node', [cli, 'facts', 'm.c'], { cwd: dir, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /cannot read config/);
});
