// Fixes: each one is applied to a positive fixture and the result analysed again; the finding
// must be gone and nothing else may appear. `check --diff` prints the same safe fixes as a
// patch that `git apply` accepts. A fix computed on an older text is refused, never misapplied.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const api = createRequire(import.meta.url)('../../dist/api.js');
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-fixes-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function check(file, text) {
  const facts = api.extract(file, text, { ...api.DEFAULT_OPTIONS, level: 'facts' });
  return api.checkIndex(api.buildIndex([facts])).findings;
}

/** Positive single-file fixtures of a rule (upstream policy). */
function bads(rule) {
  const dir = path.join(root, 'test/fixtures/rules', rule);
  return fs.readdirSync(dir).filter((n) => /\.bad(-[\w-]+)?\.c$/.test(n)).map((n) => path.join(dir, n))
    .filter((f) => !/kernlife:\s*pinPolicy=/.test(fs.readFileSync(f, 'utf8')));
}

for (const rule of ['fops-missing-owner', 'longterm-pin-without-lease']) {
  test(`fixes: the safe fix for ${rule} makes each positive fixture clean on re-analysis`, () => {
    let fixed = 0;
    for (const file of bads(rule)) {
      const text = fs.readFileSync(file, 'utf8');
      const findings = check(file, text).filter((f) => f.rule === rule);
      assert.ok(findings.length, `${path.basename(file)}: no ${rule} finding to fix`);
      const safe = findings.map((f) => api.fixesFor(f, () => text).find((x) => x.safe)).filter(Boolean);
      if (!safe.length) continue; // e.g. get_user_pages: no safe fix (the release side changes too)
      const edits = safe.flatMap((x) => x.edits);
      const out = api.applyEdits(text, edits);
      assert.ok(out !== null, `${path.basename(file)}: edits apply`);
      const after = check(file, out);
      assert.deepEqual(after.map((f) => `${f.rule}:${f.loc.line}`), [], `${path.basename(file)} after the fix`);
      fixed++;
    }
    assert.ok(fixed >= 2, `${rule}: ${fixed} fixtures fixed`);
  });
}

test('fixes: "suppress on this line" silences exactly that finding and is never offered as safe', () => {
  const file = path.join(root, 'test/fixtures/rules/pin-leaked-at-release/release-frees-ctx.bad.c');
  const text = fs.readFileSync(file, 'utf8');
  const [f] = check(file, text).filter((x) => x.rule === 'pin-leaked-at-release');
  const sup = api.fixesFor(f, () => text).find((x) => /^Suppress/.test(x.title));
  assert.equal(sup.safe, false);
  const out = api.applyEdits(text, sup.edits);
  assert.match(out, /kernlife-ignore pin-leaked-at-release: REASON/);
  assert.deepEqual(check(file, out).filter((x) => x.rule === 'pin-leaked-at-release'), []);
});

test('fixes: a fix computed on an older text is refused', () => {
  const file = path.join(root, 'test/fixtures/rules/longterm-pin-without-lease/pin-no-longterm.bad.c');
  const text = fs.readFileSync(file, 'utf8');
  const [f] = check(file, text).filter((x) => x.rule === 'longterm-pin-without-lease');
  const fix = api.fixesFor(f, () => text).find((x) => x.safe);
  // an edit above shifts every line: the range no longer holds what the fix expects
  const edited = text.replace('#include', '/* a new first line */\n#include');
  assert.notEqual(edited, text);
  assert.equal(api.applyEdits(edited, fix.edits), null);
});

test('check --diff prints a patch git apply accepts, and the patched tree is clean', () => {
  const rel = ['test/fixtures/rules/fops-missing-owner/modular-chardev.bad.c', 'test/fixtures/rules/longterm-pin-without-lease/pin-no-longterm.bad.c'];
  for (const r of rel) { fs.mkdirSync(path.dirname(path.join(tmp, r)), { recursive: true }); fs.copyFileSync(path.join(root, r), path.join(tmp, r)); }
  const cli = path.join(root, 'dist/cli.js');
  const d = spawnSync(process.execPath, [cli, 'check', '--diff', '--fail-on', 'none', ...rel], { cwd: tmp, encoding: 'utf8' });
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /^--- a\/test\/fixtures\/rules\/fops-missing-owner\/modular-chardev\.bad\.c$/m);
  assert.match(d.stdout, /^\+\s*\.owner = THIS_MODULE,$/m);
  assert.match(d.stdout, /^\+.*FOLL_WRITE \| FOLL_LONGTERM/m);
  fs.writeFileSync(path.join(tmp, 'fix.patch'), d.stdout);
  const g = spawnSync('git', ['apply', '--unsafe-paths', 'fix.patch'], { cwd: tmp, encoding: 'utf8' });
  assert.equal(g.status, 0, g.stderr);
  const again = spawnSync(process.execPath, [cli, 'check', '--format', 'json', '--fail-on', 'none', ...rel], { cwd: tmp, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(again.stdout).findings.map((f) => `${f.rule} ${f.file}:${f.line}`), []);
});
