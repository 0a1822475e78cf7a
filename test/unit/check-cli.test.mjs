// `check` and `simulate` as CI runs them: SARIF against the OASIS 2.1.0 schema, the JSON shape
// docs/check.md promises, exit codes, --fail-on / --rule, and suppression comments.
//
// The schema is vendored (test/sarif/sarif-schema-2.1.0.json: the OASIS SARIF 2.1.0 Committee
// Specification schema, draft-07, from oasis-tcs/sarif-spec Documents/CommitteeSpecifications/2.1.0)
// so nothing here needs the network. Expected lines are read from the example sources by text,
// never hard-coded.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const cli = path.join(root, 'dist/cli.js');
const run = (args, opts = {}) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, ...opts });

/** The product's contract: these ids, no more, no fewer. */
const RULE_IDS = [
  'waitqueue-freed-while-polled',
  'pollfree-missing',
  'pollfree-without-rcu',
  'private-data-used-after-release',
  'free-with-pending-async',
  'fops-missing-owner',
  'longterm-pin-without-lease',
  'pin-leaked-at-release',
  'lease-dropped-while-pinned',
];

const TRIGGER = 'examples/psi_like_trigger.c';

/** 1-based numbers of the lines of `file` (relative to `dir`) that contain `text`. */
function linesOf(file, text, dir = root) {
  return fs.readFileSync(path.join(dir, file), 'utf8').split('\n')
    .map((l, i) => (l.includes(text) ? i + 1 : 0)).filter(Boolean);
}

function oneLine(file, text, dir = root) {
  const ls = linesOf(file, text, dir);
  assert.equal(ls.length, 1, `expected exactly one line with ${JSON.stringify(text)} in ${file}, found ${ls.length}`);
  return ls[0];
}

function json(r) {
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`output is not JSON (${e.message}); status ${r.status}; stderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(0, 2000)}`);
  }
}

const tmpDirs = [];
after(() => { for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true }); });
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-check-'));
  tmpDirs.push(dir);
  return dir;
}

/** examples/ copied to a fresh directory, so sources can be edited; run with cwd = that directory. */
function copyExamples() {
  const dir = tmpDir();
  fs.cpSync(path.join(root, 'examples'), path.join(dir, 'examples'), { recursive: true });
  return dir;
}

function insertLine(file, beforeLine, text) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.splice(beforeLine - 1, 0, text);
  fs.writeFileSync(file, lines.join('\n'));
}

let validateSarif;
function sarifValidator() {
  if (!validateSarif) {
    const schema = JSON.parse(fs.readFileSync(path.join(root, 'test/sarif/sarif-schema-2.1.0.json'), 'utf8'));
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    // strict mode is about authoring schemas; the official schema is used as published
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validateSarif = ajv.compile(schema);
  }
  return validateSarif;
}

const key = (rule, file, line) => `${rule}|${file}|${line}`;

test('npm run examples: the two bugs the cgroup example plants and the pin leak, each with its trace', () => {
  // (README's main command; each example's header comment says what it should find)
  const r = run(['check', '--format', 'json', '--fail-on', 'none', 'examples']);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout).findings.map((f) => `${f.rule} ${f.file}:${f.line}`).sort();
  assert.deepEqual(got, [
    'pin-leaked-at-release examples/rdma_pin.c:72',
    'private-data-used-after-release examples/psi_like_cgroup.c:73',
    'waitqueue-freed-while-polled examples/psi_like_trigger.c:78',
  ]);
  for (const f of JSON.parse(r.stdout).findings) assert.ok(f.trace.length >= 5, `${f.rule}: a trace`);
});

test('check --format sarif on examples/ is valid SARIF 2.1.0 (OASIS schema)', () => {
  const r = run(['check', '--format', 'sarif', 'examples']);
  assert.equal(r.status, 1, r.stderr);
  const doc = json(r);
  const validate = sarifValidator();
  const ok = validate(doc);
  assert.ok(ok, `SARIF schema errors:\n${JSON.stringify(validate.errors, null, 1)}`);
  assert.equal(doc.version, '2.1.0');
  assert.equal(doc.runs.length, 1);
  assert.ok(doc.runs[0].results.length > 0);

  // the validator is not vacuous: a wrong level is refused
  const bad = structuredClone(doc);
  bad.runs[0].results[0].level = 'fatal';
  assert.equal(validate(bad), false);
});

test('sarif: tool.driver.rules lists every rule id, each with descriptions and a docs page', () => {
  const doc = json(run(['check', '--format', 'sarif', 'examples']));
  const rules = doc.runs[0].tool.driver.rules;
  assert.deepEqual(rules.map((x) => x.id).sort(), [...RULE_IDS].sort());
  for (const rule of rules) {
    assert.ok(rule.shortDescription?.text, `${rule.id}: shortDescription`);
    assert.ok(rule.fullDescription?.text, `${rule.id}: fullDescription`);
    assert.ok(['error', 'warning', 'note'].includes(rule.defaultConfiguration?.level), `${rule.id}: level`);
    assert.match(rule.help?.text ?? '', new RegExp(`docs/rules/${rule.id}\\.md`));
    assert.ok(fs.existsSync(path.join(root, 'docs/rules', `${rule.id}.md`)), `docs/rules/${rule.id}.md exists`);
  }
  for (const res of doc.runs[0].results) {
    assert.equal(rules[res.ruleIndex]?.id, res.ruleId, 'ruleIndex points at the rule of ruleId');
  }
});

test('sarif results: one threadFlow per actor of the JSON trace, every step once, partialFingerprints', () => {
  const doc = json(run(['check', '--format', 'sarif', 'examples']));
  const js = json(run(['check', '--format', 'json', 'examples']));
  const byKey = new Map(js.findings.map((f) => [key(f.rule, f.file, f.line), f]));
  const results = doc.runs[0].results;
  assert.equal(results.length, js.findings.length, 'sarif and json report the same findings');
  let withFlows = 0;
  for (const res of results) {
    const loc = res.locations[0].physicalLocation;
    assert.ok(fs.existsSync(path.join(root, decodeURI(loc.artifactLocation.uri))), `uri ${loc.artifactLocation.uri} is a file`);
    const f = byKey.get(key(res.ruleId, decodeURI(loc.artifactLocation.uri), loc.region.startLine));
    assert.ok(f, `sarif result ${res.ruleId} at ${loc.artifactLocation.uri}:${loc.region.startLine} is in the JSON output`);
    assert.equal(res.message.text, f.message);

    const fp = res.partialFingerprints;
    assert.ok(fp && Object.keys(fp).length > 0, 'partialFingerprints present');
    for (const v of Object.values(fp)) assert.match(v, /^[0-9a-f]{16,}$/);

    if (!f.trace.length) { assert.equal(res.codeFlows, undefined); continue; }
    withFlows++;
    assert.equal(res.codeFlows.length, 1);
    const flows = res.codeFlows[0].threadFlows;
    const actors = [...new Set(f.trace.map((s) => s.actor))];
    assert.equal(flows.length, actors.length, `${res.ruleId}: one threadFlow per distinct actor (${actors.join(', ')})`);
    assert.deepEqual(flows.map((t) => t.id).sort(), [...actors].sort());
    const orders = [];
    for (const t of flows) {
      const mine = f.trace.map((s, i) => ({ s, i })).filter(({ s }) => s.actor === t.id);
      assert.equal(t.locations.length, mine.length, `${t.id}: every step of this actor`);
      t.locations.forEach((l, j) => {
        assert.equal(l.executionOrder, mine[j].i + 1, 'executionOrder is the step number in the trace');
        if (mine[j].s.line) assert.equal(l.location.physicalLocation.region.startLine, mine[j].s.line);
      });
      orders.push(...t.locations.map((l) => l.executionOrder));
    }
    assert.deepEqual(orders.sort((a, b) => a - b), f.trace.map((_, i) => i + 1), 'the flows together are the whole trace');
  }
  assert.ok(withFlows > 0, 'at least one interleaving finding with a trace');
});

test('sarif: fingerprints are stable across runs, unique, and survive lines inserted above', () => {
  const fps = (cwd) => {
    const r = run(['check', '--format', 'sarif', 'examples'], { cwd });
    return json(r).runs[0].results.map((res) => ({
      rule: res.ruleId,
      uri: res.locations[0].physicalLocation.artifactLocation.uri,
      line: res.locations[0].physicalLocation.region.startLine,
      fp: JSON.stringify(res.partialFingerprints),
    }));
  };
  const a = fps(root);
  const b = fps(root);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((x) => x.fp)).size, a.length, 'no two results share a fingerprint');

  // two comment lines at the top of the trigger file move its findings down, not their identity
  const dir = copyExamples();
  insertLine(path.join(dir, TRIGGER), 1, '/* moved */\n/* down */');
  const c = fps(dir);
  assert.equal(c.length, a.length);
  for (const x of a) {
    const y = c.find((z) => z.rule === x.rule && z.uri === x.uri && z.line === x.line + (x.uri === TRIGGER ? 2 : 0));
    assert.ok(y, `${x.rule} at ${x.uri}:${x.line} still reported after the edit`);
    assert.equal(y.fp, x.fp, `${x.rule} at ${x.uri}:${x.line}: same fingerprint after the edit`);
  }
});

test('check exit codes: findings 1, --fail-on none 0, --fail-on error per severity, usage errors 2', () => {
  const all = run(['check', '--format', 'json', 'examples']);
  assert.equal(all.status, 1, all.stderr);
  const findings = json(all).findings;
  assert.ok(findings.some((f) => f.severity === 'error'));

  const none = run(['check', '--format', 'json', '--fail-on', 'none', 'examples']);
  assert.equal(none.status, 0, none.stderr);
  assert.equal(json(none).findings.length, findings.length, '--fail-on changes the exit code, not the report');
  assert.equal(run(['check', '--fail-on', 'error', 'examples']).status, 1);
  assert.equal(run(['check', '--fail-on', 'info', 'examples']).status, 1);

  for (const bad of [
    ['check', '--frobnicate', 'examples'],
    ['check', '--rule', 'no-such-rule', 'examples'],
    ['check', '--rule'],
    ['check', '--fail-on', 'sometimes', 'examples'],
    ['check', '--format', 'xml', 'examples'],
    ['simulate', '--format', 'sarif', 'examples/psi_like_cgroup.c', 'examples'],
    ['simulate', 'examples'],
    ['check', 'examples/no-such-dir'],
    ['check'],
  ]) {
    const r = run(bad);
    assert.equal(r.status, 2, `${bad.join(' ')} exits 2 (got ${r.status})`);
    assert.doesNotMatch(r.stderr, /internal error/, bad.join(' '));
  }
  assert.match(run(['check', '--rule', 'no-such-rule', 'examples']).stderr, /unknown rule no-such-rule/);
});

test('check --rule: only that rule runs; the exit code follows its findings', () => {
  for (const id of RULE_IDS) {
    const r = run(['check', '--format', 'json', '--rule', id, 'examples']);
    const j = json(r);
    assert.ok(j.findings.every((f) => f.rule === id), `--rule ${id} reports only ${id}`);
    assert.equal(r.status, j.findings.length ? 1 : 0, `--rule ${id}: ${j.findings.length} findings, exit ${r.status}`);
  }
  const two = json(run(['check', '--format', 'json', '--rule', 'fops-missing-owner', '--rule', 'waitqueue-freed-while-polled', 'examples']));
  assert.ok(two.findings.every((f) => f.rule === 'fops-missing-owner' || f.rule === 'waitqueue-freed-while-polled'));
  assert.ok(two.findings.some((f) => f.rule === 'waitqueue-freed-while-polled'), '--rule is repeatable');
});

test('fops-missing-owner: modular fops without .owner is a warning; --fail-on error lets it pass; .owner fixes it', () => {
  const src = (owner) => `#include <linux/module.h>
#include <linux/fs.h>
#include <linux/slab.h>

static int m_open(struct inode *inode, struct file *file)
{
	file->private_data = kzalloc(64, GFP_KERNEL);
	return file->private_data ? 0 : -ENOMEM;
}

static int m_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations m_fops = {
${owner ? '\t.owner = THIS_MODULE,\n' : ''}\t.open = m_open,
	.release = m_release,
};

static int m_major;
static int __init m_init(void) { m_major = register_chrdev(0, "m", &m_fops); return m_major < 0 ? m_major : 0; }
static void __exit m_exit(void) { unregister_chrdev(m_major, "m"); }
module_init(m_init);
module_exit(m_exit);
`;
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'm.c'), src(false));
  const r = run(['check', '--format', 'json', '.'], { cwd: dir });
  assert.equal(r.status, 1, r.stderr);
  const fs1 = json(r).findings;
  assert.equal(fs1.length, 1, JSON.stringify(fs1, null, 1));
  assert.equal(fs1[0].rule, 'fops-missing-owner');
  assert.equal(fs1[0].severity, 'warning');
  assert.equal(fs1[0].line, oneLine('m.c', 'struct file_operations m_fops', dir));
  assert.deepEqual(fs1[0].trace, [], 'structural rule: no interleaving');
  assert.equal(run(['check', '--fail-on', 'error', '.'], { cwd: dir }).status, 0, 'a warning does not fail --fail-on error');
  assert.equal(run(['check', '--fail-on', 'warning', '.'], { cwd: dir }).status, 1);

  fs.writeFileSync(path.join(dir, 'm.c'), src(true));
  const fixed = run(['check', '--format', 'json', '.'], { cwd: dir });
  assert.equal(fixed.status, 0, fixed.stdout);
  assert.equal(json(fixed).findings.length, 0);
});

test('check --format json has the documented shape; the select finding sits on kfree(t);', () => {
  const r = run(['check', '--format', 'json', 'examples']);
  const j = json(r);
  assert.deepEqual(Object.keys(j).sort(), ['findings', 'stats']);
  for (const f of j.findings) {
    for (const k of ['rule', 'severity', 'confidence', 'file', 'line', 'column', 'endLine', 'endColumn', 'message', 'related', 'trace']) {
      assert.ok(k in f, `finding has ${k}`);
    }
    assert.ok(RULE_IDS.includes(f.rule));
    assert.ok(['error', 'warning', 'info'].includes(f.severity));
    assert.ok(['high', 'medium', 'low'].includes(f.confidence));
    for (const k of ['line', 'column', 'endLine', 'endColumn']) assert.ok(Number.isInteger(f[k]) && f[k] >= 1, `${k} is a 1-based integer`);
    assert.ok(f.endLine > f.line || (f.endLine === f.line && f.endColumn >= f.column));
    assert.equal(typeof f.message, 'string');
    assert.ok(fs.existsSync(path.join(root, f.file)));
    for (const x of f.related) {
      assert.equal(typeof x.file, 'string');
      assert.ok(Number.isInteger(x.line));
      assert.equal(typeof x.message, 'string');
    }
    for (const s of f.trace) {
      for (const k of ['actor', 'event', 'handler', 'file', 'line', 'message']) assert.ok(k in s, `trace step has ${k}`);
    }
  }
  for (const k of ['tables', 'simulated', 'truncated', 'states', 'suppressed', 'findings', 'ms', 'files', 'filesSkipped']) {
    assert.ok(k in j.stats, `stats.${k}`);
  }
  assert.equal(j.stats.files, fs.readdirSync(path.join(root, 'examples')).filter((n) => /\.[ch]$/.test(n)).length);
  const counts = {};
  for (const f of j.findings) counts[f.rule] = (counts[f.rule] ?? 0) + 1;
  assert.deepEqual(j.stats.findings, counts, 'stats.findings counts the findings by rule');

  // independent expectation: the PSI-shaped bug frees the trigger (and its waitqueue) at kfree(t);
  // select registered on it at poll_wait(); both lines found by text in the example source
  const kfreeLine = oneLine(TRIGGER, 'kfree(t);');
  const pollLine = oneLine(TRIGGER, 'poll_wait(file, &t->event_wait, wait);');
  const w = j.findings.find((f) => f.rule === 'waitqueue-freed-while-polled');
  assert.ok(w, 'waitqueue-freed-while-polled is reported');
  assert.equal(w.file, TRIGGER);
  assert.equal(w.line, kfreeLine);
  assert.equal(w.severity, 'error');
  assert.ok(w.related.some((x) => x.file === TRIGGER && x.line === pollLine), 'related: the poll_wait registration');
  assert.ok(w.trace.some((s) => s.line === pollLine), 'the trace passes the registration');
  assert.ok(new Set(w.trace.map((s) => s.actor)).size >= 2, 'an interleaving of at least two actors');

  // the text format says the same thing in compiler style
  const t = run(['check', 'examples']);
  assert.equal(t.status, 1);
  assert.match(t.stdout, new RegExp(`^${TRIGGER.replace(/[./]/g, '\\$&')}:${kfreeLine}:\\d+: error: .*\\[waitqueue-freed-while-polled, confidence (high|medium|low)\\]$`, 'm'));
  assert.match(t.stdout, /^kernlife: \d+ findings? \(/m);
});

test('simulate --format json lists the tables of the file with status, states and events', () => {
  const file = 'examples/psi_like_cgroup.c';
  const r = run(['simulate', '--format', 'json', file, 'examples']);
  assert.equal(r.status, 0, r.stderr);
  const j = json(r);
  assert.ok(Array.isArray(j.tables) && j.tables.length > 0);
  for (const t of j.tables) {
    assert.equal(t.file, file, 'only tables defined in FILE');
    for (const k of ['table', 'kind', 'line', 'provider', 'status', 'handlers', 'violations']) assert.ok(k in t, `table has ${k}`);
    if (t.status === 'skipped') { assert.equal(typeof t.reason, 'string'); continue; }
    assert.ok(['complete', 'truncated', 'cancelled'].includes(t.status) || typeof t.status === 'string');
    assert.ok(Number.isInteger(t.states) && t.states > 0, 'states explored');
    assert.ok(Array.isArray(t.events) && t.events.length > 0, 'events');
  }
  const psi = j.tables.find((t) => t.table === 'demo_pressure_files');
  assert.ok(psi, 'the cftype table of the example');
  assert.equal(psi.line, oneLine(file, 'static struct cftype demo_pressure_files[]') + 1, 'the first array element, one line below the declaration');
  assert.notEqual(psi.status, 'skipped');
  assert.ok(psi.violations.length > 0, 'the example has violations');
  assert.ok(psi.violations.every((v) => Array.isArray(v.trace) && v.trace.length > 0));

  const one = run(['simulate', '--format', 'json', '--table', 'demo_pressure_files', file, 'examples']);
  assert.equal(one.status, 0, one.stderr);
  assert.ok(json(one).tables.every((t) => t.table === 'demo_pressure_files'));
  assert.equal(run(['simulate', '--table', 'no_such_table', file, 'examples']).status, 2);

  const text = run(['simulate', file, 'examples']);
  assert.equal(text.status, 0, 'simulate exits 0 even with violations');
  assert.match(text.stdout, /table struct cftype demo_pressure_files\[0\]|table .*demo_pressure_files/);
});

test('suppression comments: on the line above, with all, or above the function; a wrong id does not', () => {
  const rule = 'waitqueue-freed-while-polled';
  const base = json(run(['check', '--format', 'json', 'examples']));
  assert.ok(base.findings.some((f) => f.rule === rule && f.file === TRIGGER));

  const check = (edit) => {
    const dir = copyExamples();
    edit(path.join(dir, TRIGGER), dir);
    const r = run(['check', '--format', 'json', 'examples'], { cwd: dir });
    return { r, j: json(r) };
  };
  const kfreeAbove = (comment) => (file, dir) => insertLine(file, oneLine(TRIGGER, 'kfree(t);', dir), `\t${comment}`);

  // the line above the reported line
  let { j } = check(kfreeAbove(`/* kernlife-ignore ${rule}: test */`));
  assert.ok(!j.findings.some((f) => f.rule === rule), 'the finding is gone');
  assert.equal(j.stats.suppressed, base.stats.suppressed + 1);
  // other findings stay; and the epoll finding the select finding had folded in at this free
  // (pollfree-missing) now shows: suppressing one rule must not hide another
  const kfreeLine = oneLine(TRIGGER, 'kfree(t);') + 1; // one line moved down by the comment
  const shape = (f) => `${f.rule} ${path.basename(f.file)}`;
  assert.deepEqual(j.findings.filter((f) => f.rule !== rule).map(shape).sort(),
    [...base.findings.filter((f) => f.rule !== rule).map(shape), `pollfree-missing ${path.basename(TRIGGER)}`].sort(), 'other findings stay, and the folded epoll one shows');
  assert.ok(j.findings.some((f) => f.rule === 'pollfree-missing' && f.line === kfreeLine));

  // `all`
  ({ j } = check(kfreeAbove('/* kernlife-ignore all: test */')));
  assert.ok(!j.findings.some((f) => f.rule === rule && f.file === TRIGGER));
  assert.ok(j.stats.suppressed >= base.stats.suppressed + 1);

  // just above the function that contains the reported line
  ({ j } = check((file, dir) => insertLine(file, oneLine(TRIGGER, 'void demo_trigger_destroy(struct demo_trigger *t)', dir), `/* kernlife-ignore ${rule}: test */`)));
  assert.ok(!j.findings.some((f) => f.rule === rule), 'function-level suppression');
  assert.equal(j.stats.suppressed, base.stats.suppressed + 1);

  // another rule's id leaves it in place
  ({ j } = check(kfreeAbove('/* kernlife-ignore fops-missing-owner: not this one */')));
  assert.ok(j.findings.some((f) => f.rule === rule && f.file === TRIGGER), 'a suppression for another rule does not hide it');
  assert.equal(j.stats.suppressed, base.stats.suppressed);

  // exit code follows what is left
  const dir = copyExamples();
  insertLine(path.join(dir, TRIGGER), oneLine(TRIGGER, 'kfree(t);', dir), '\t/* kernlife-ignore all: test */');
  const r = run(['check', '--format', 'json', '--rule', rule, 'examples'], { cwd: dir });
  assert.equal(json(r).findings.length, 0);
  assert.equal(r.status, 0, 'nothing left: exit 0');
});

test('--pin-policy: the same user-space program is quiet under upstream and reported under the lease policies', () => {
  // the fixture's own policy comment is removed, so only the flag decides
  const src = fs.readFileSync(path.join(root, 'test/fixtures/rules/lease-dropped-while-pinned/user-unlock-before-dereg.bad.c'), 'utf8')
    .replace(/\/\*\s*kernlife:\s*pinPolicy=[\w-]+\s*\*\//, '');
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'prog.c'), src);
  const unlockLine = src.split('\n').findIndex((l) => /^\s*fcntl\(fd, F_SETLEASE, F_UNLCK\);/.test(l)) + 1;
  const rules = (policy) => {
    const r = run(['check', '--format', 'json', '--fail-on', 'none', ...(policy ? ['--pin-policy', policy] : []), 'prog.c'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).findings.map((f) => `${f.rule}:${f.line}`);
  };
  assert.deepEqual(rules(null), []);
  assert.deepEqual(rules('upstream'), []);
  assert.deepEqual(rules('layout-lease'), [`lease-dropped-while-pinned:${unlockLine}`]);
  const bad = run(['check', '--pin-policy', 'sometimes', 'prog.c'], { cwd: dir });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--pin-policy must be one of upstream, layout-lease, blocking-close/);
});


test('check extracts partial files on demand and finds what --full-facts finds', () => {
  // the rule fixtures hold multi-file cases whose handlers or callees live in files that name no
  // ops struct (split modules, a destroy helper in another file): the first pass skips their
  // effects, and the models must ask for them
  const dirs = ['test/fixtures/rules', 'examples'];
  const dumps = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-models-'));
  after(() => fs.rmSync(dumps, { recursive: true, force: true }));
  const lazy = run(['check', '--format', 'json', '--fail-on', 'none', '--jobs', '2', ...dirs], { env: { ...process.env, KERNLIFE_TIMING: '1', KERNLIFE_DUMP_MODELS: path.join(dumps, 'lazy.json') } });
  const full = run(['check', '--format', 'json', '--fail-on', 'none', '--jobs', '2', '--full-facts', ...dirs], { env: { ...process.env, KERNLIFE_DUMP_MODELS: path.join(dumps, 'full.json') } });
  assert.equal(lazy.status, 0, lazy.stderr);
  assert.equal(full.status, 0, full.stderr);
  const key = (out) => JSON.parse(out).findings.map((f) => `${f.rule} ${f.file}:${f.line}:${f.column} ${f.message}`).sort();
  const a = key(lazy.stdout);
  assert.ok(a.length > 20, `expected the fixtures' findings, got ${a.length}`);
  assert.deepEqual(a, key(full.stdout));
  // the same models: as many tables simulated, as many states explored
  const stats = (out) => { const s = JSON.parse(out).stats; return { tables: s.tables, simulated: s.simulated, truncated: s.truncated, states: s.states }; };
  assert.deepEqual(stats(lazy.stdout), stats(full.stdout));
  // the very same models: what the lazy pass did not extract was never read
  const models = (f) => fs.readFileSync(path.join(dumps, f), 'utf8');
  assert.ok(JSON.parse(models('lazy.json')).length > 20);
  assert.equal(models('lazy.json'), models('full.json'));
  // and some files really were skipped first and extracted later
  assert.match(lazy.stderr, /round 1: \d+ more files in full/);
});

test('check gives the same report with one thread and with searches started while models are built', () => {
  // --jobs 2 hands each final model to a search worker as soon as it is built (search-pool.ts);
  // --jobs 1 builds every model, then searches them in order on this thread
  const dirs = ['test/fixtures/rules', 'examples'];
  const two = run(['check', '--format', 'json', '--fail-on', 'none', '--jobs', '2', ...dirs], { env: { ...process.env, KERNLIFE_TIMING: '1' } });
  const one = run(['check', '--format', 'json', '--fail-on', 'none', '--jobs', '1', ...dirs]);
  assert.equal(two.status, 0, two.stderr);
  assert.equal(one.status, 0, one.stderr);
  const early = /models \((\d+) searches submitted while building\)/.exec(two.stderr);
  assert.ok(early && Number(early[1]) > 4, `searches should start during model building: ${two.stderr}`);
  const strip = (out) => { const r = JSON.parse(out); delete r.stats.ms; delete r.stats.slowest; return r; };
  const a = strip(two.stdout);
  assert.ok(a.findings.length > 20 && a.stats.simulated > 20, `expected the fixtures' findings and searches, got ${a.findings.length} / ${a.stats.simulated}`);
  assert.deepEqual(a, strip(one.stdout));
});
