// The language server's incremental path (kept tree, kept per-function facts, the index left
// alone when the facts did not change) against a from-scratch analysis: after a series of edits
// to open documents (comments, whitespace, a deleted kfree line, inserted lines that shift every
// location below, a half-typed statement and its completion, range edits as clients send them),
// the published diagnostics and the indexed facts equal those of a fresh server started on the
// edited texts saved to disk. Every edit's version is published exactly once, in order.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const rpc = require('vscode-jsonrpc/node');
const root = path.resolve(new URL('../..', import.meta.url).pathname);
const FILES = ['psi_like_cgroup.c', 'psi_like_trigger.c'];
const cleanup = [];
after(() => { for (const f of cleanup) f(); });

/** A server on a copy of `texts` ({file: text}); resolves once its workspace check is published. */
async function server(texts) {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'kernlife-lsp-inc-'));
  for (const [f, t] of Object.entries(texts)) fs.writeFileSync(path.join(ws, f), t);
  const srv = spawn(process.execPath, [path.join(root, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  srv.stderr.on('data', (d) => { stderr += d; });
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(srv.stdout), new rpc.StreamMessageWriter(srv.stdin));
  const s = { ws, conn, diags: new Map(), versions: new Map(), waiters: [], uri: (f) => pathToFileURL(path.join(ws, f)).toString() };
  conn.onNotification('textDocument/publishDiagnostics', (p) => {
    s.diags.set(p.uri, p.diagnostics);
    if (p.version !== undefined) (s.versions.get(p.uri) ?? s.versions.set(p.uri, []).get(p.uri)).push(p.version);
    for (const w of [...s.waiters]) if (w.pred()) { s.waiters.splice(s.waiters.indexOf(w), 1); w.resolve(); }
  });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onNotification('$/progress', () => {});
  conn.onNotification('window/logMessage', () => {});
  conn.listen();
  s.until = (pred, what, ms = 60000) => (pred() ? Promise.resolve() : new Promise((resolve, reject) => {
    const timer = setTimeout(() => { const i = s.waiters.indexOf(w); if (i >= 0) { s.waiters.splice(i, 1); reject(new Error(`timed out waiting for ${what}; stderr: ${stderr}`)); } }, ms);
    const w = { pred, resolve: () => { clearTimeout(timer); resolve(); } };
    s.waiters.push(w);
  }));
  s.close = () => { conn.dispose(); srv.kill(); fs.rmSync(ws, { recursive: true, force: true }); };
  cleanup.push(s.close);
  await conn.sendRequest('initialize', { processId: process.pid, capabilities: { window: { workDoneProgress: true } }, workspaceFolders: [{ uri: pathToFileURL(ws).toString(), name: 'ws' }] });
  await conn.sendNotification('initialized', {});
  for (let i = 0; i < 1200; i++) { // up to a minute (the real kernel files, a loaded machine)
    const st = await conn.sendRequest('kernlife/status', {});
    if (st.checked) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not finish its workspace check; stderr: ${stderr}`);
}

/** Diagnostics as comparable data: the temp directory left out of every URI. */
function norm(s, f) {
  return JSON.stringify(s.diags.get(s.uri(f)) ?? []).split(pathToFileURL(s.ws).toString()).join('WS').split(s.ws).join('WS');
}
async function facts(s, f) {
  return JSON.stringify(await s.conn.sendRequest('kernlife/facts', { uri: s.uri(f) })).split(s.ws).join('WS');
}

/** Equal strings, or where they first differ (the JSON is long). */
function same(a, b, what) {
  if (a === b) return;
  let i = 0;
  while (a[i] === b[i]) i++;
  assert.fail(`${what} differ at ${i}:\n  incremental: …${a.slice(Math.max(0, i - 200), i + 200)}\n  from scratch: …${b.slice(Math.max(0, i - 200), i + 200)}`);
}

/** Line/character of an offset (as the LSP counts: UTF-16 units, which JS strings are). */
function pos(text, off) {
  const before = text.slice(0, off).split('\n');
  return { line: before.length - 1, character: before.at(-1).length };
}

/**
 * Edits as a client sends them to the incremental server `inc`, and comparisons against a
 * fresh server started on the edited texts (`texts` is kept up to date).
 */
function session(inc, texts, files) {
  let version = 1;
  /** One edit as a client sends it (a range replacement), then the publish of its version. */
  async function edit(f, find, replacement, { nth = 0 } = {}) {
    const t = texts[f];
    let at = -1;
    for (let k = 0; k <= nth; k++) at = t.indexOf(find, at + 1);
    assert.ok(at >= 0, `${find} in ${f}`);
    texts[f] = t.slice(0, at) + replacement + t.slice(at + find.length);
    const v = ++version;
    await inc.conn.sendNotification('textDocument/didChange', { textDocument: { uri: inc.uri(f), version: v }, contentChanges: [{ range: { start: pos(t, at), end: pos(t, at + find.length) }, text: replacement }] });
    await inc.until(() => (inc.versions.get(inc.uri(f)) ?? []).includes(v), `version ${v} of ${f}`);
  }
  async function compare(what) {
    const fresh = await server(texts);
    for (const f of files) {
      same(norm(inc, f), norm(fresh, f), `${what}: diagnostics of ${f}`);
      same(await facts(inc, f), await facts(fresh, f), `${what}: facts of ${f}`);
    }
    fresh.close();
  }
  async function open() {
    for (const f of files) await inc.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: inc.uri(f), languageId: 'c', version, text: texts[f] } });
  }
  function inOrder() {
    // versions were published in order: never an older one after a newer one
    for (const f of files) {
      const seen = inc.versions.get(inc.uri(f)) ?? [];
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `${f}: ${seen}`);
    }
  }
  return { edit, compare, open, inOrder };
}

test('lsp: the incremental path publishes what a from-scratch analysis does, edit after edit', async () => {
  const texts = Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(root, 'examples', f), 'utf8')]));
  const inc = await server(texts);
  const { edit, compare, open, inOrder } = session(inc, texts, FILES);
  await open();

  const hasFinding = () => (inc.diags.get(inc.uri('psi_like_trigger.c')) ?? []).some((d) => d.code === 'waitqueue-freed-while-polled');
  await inc.until(hasFinding, 'the finding');

  // a comment inside a function body, and whitespace within a line: same facts
  await edit('psi_like_trigger.c', 'kfree(t);', 'kfree(t); /* still freed */');
  await edit('psi_like_trigger.c', 'synchronize_rcu();', 'synchronize_rcu();   ');
  await edit('psi_like_trigger.c', '/* Called from the monitor', '/* Called (maybe twice) from the monitor');
  assert.ok(hasFinding());
  await compare('comments and whitespace');

  // lines inserted at the top: every location below moves
  await edit('psi_like_trigger.c', '#include', '/* one\n * two\n */\n#include');
  await edit('psi_like_cgroup.c', '#include', '\n\n#include');
  assert.ok(hasFinding());
  await compare('inserted lines');

  // the kfree line deleted: the facts change, the finding goes in both files
  await edit('psi_like_trigger.c', '\tkfree(t); /* still freed */\n', '');
  await inc.until(() => !hasFinding(), 'the finding to go');
  await compare('kfree deleted');

  // a half-typed statement (a parse error inside the function), then completed: the free is back
  await edit('psi_like_trigger.c', '\tsynchronize_rcu();', '\tsynchronize_rcu();\n\tkfree(');
  await compare('half-typed');
  await edit('psi_like_trigger.c', '\tkfree(', '\tkfree(t);');
  await inc.until(hasFinding, 'the finding to come back');
  // an edit inside the kept function after it, and a comment in the table's file
  await edit('psi_like_trigger.c', 'kfree(t);', 'kfree(t);\n\t/* done */');
  await edit('psi_like_cgroup.c', 'demo_pressure_files[]', 'demo_pressure_files[] /* the table */');
  await compare('completed and commented');

  inOrder();
});

// A misc device whose ->open arms an interrupt handler defined in another file (no table
// there): the table's model reads the handler's summary although no field names it.
const BTN = `// SPDX-License-Identifier: GPL-2.0
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

static int btn_irq = 17;

struct btn_client {
	unsigned long presses;
};

irqreturn_t btn_isr(int irq, void *dev_id);

static int btn_open(struct inode *inode, struct file *file)
{
	struct btn_client *bc;

	bc = kzalloc(sizeof(*bc), GFP_KERNEL);
	if (!bc)
		return -ENOMEM;
	file->private_data = bc;
	return request_irq(btn_irq, btn_isr, IRQF_SHARED, "btn", bc);
}

static int btn_release(struct inode *inode, struct file *file)
{
	struct btn_client *bc = file->private_data;

	kfree(bc);
	return 0;
}

static const struct file_operations btn_fops = {
	.owner		= THIS_MODULE,
	.open		= btn_open,
	.release	= btn_release,
	.llseek		= noop_llseek,
};

static struct miscdevice btn_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "btn",
	.fops	= &btn_fops,
};
module_misc_device(btn_misc);
MODULE_LICENSE("GPL");
`;
const BTN_ISR = `// SPDX-License-Identifier: GPL-2.0
#include <linux/interrupt.h>

struct btn_client {
	unsigned long presses;
};

irqreturn_t btn_isr(int irq, void *dev_id)
{
	struct btn_client *bc = dev_id;

	bc->presses++;
	return IRQ_HANDLED;
}
`;

test('lsp: edits that change facts re-check exactly what they reach: one function, a callee in another file, an armed callback, added and removed functions, moved lines', async () => {
  const files = [...FILES, 'btn.c', 'btn_isr.c'];
  const texts = { ...Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(root, 'examples', f), 'utf8')])), 'btn.c': BTN, 'btn_isr.c': BTN_ISR };
  const inc = await server(texts);
  const { edit, compare, open, inOrder } = session(inc, texts, files);
  await open();
  const diagsOf = (f) => inc.diags.get(inc.uri(f)) ?? [];
  const psi = (f = 'psi_like_trigger.c') => diagsOf(f).find((d) => d.code === 'waitqueue-freed-while-polled');
  const async = () => diagsOf('btn.c').find((d) => d.code === 'free-with-pending-async');
  /** The line (1-based) of the trace step that runs the callback on freed memory. */
  const isrStep = () => async()?.relatedInformation.find((r) => r.location.uri === inc.uri('btn_isr.c'))?.location.range.start.line + 1;
  const lineOf = (f, s) => texts[f].slice(0, texts[f].indexOf(s)).split('\n').length;
  await inc.until(() => psi() && async(), 'both findings');
  assert.equal(isrStep(), lineOf('btn_isr.c', 'irqreturn_t btn_isr('));

  // one function's facts change in the table's file, no line moves (the benchmark's `call`), and back
  await edit('psi_like_cgroup.c', 'return nbytes;', 'synchronize_rcu(); return nbytes;');
  await compare('a call added to the write handler');
  await edit('psi_like_cgroup.c', 'synchronize_rcu(); return nbytes;', 'return nbytes;');
  assert.ok(psi());

  // the callee in the other file (psi.c's role): the pressure table is evaluated again
  await edit('psi_like_trigger.c', '\twake_up_interruptible(&t->event_wait);\n\n\t/* readers', '\twake_up_pollfree(&t->event_wait);\n\n\t/* readers');
  await inc.until(() => /wake_up_pollfree\(\) before the free does not help/.test(psi()?.message ?? ''), 'the finding to see wake_up_pollfree');
  await compare('callee changed in the other file');

  // a definition added to the table's file takes the call from the other file's: no free, no finding; removed again: back
  await edit('psi_like_cgroup.c', 'static void demo_pressure_release', 'static void demo_trigger_destroy(struct demo_trigger *t)\n{\n}\n\nstatic void demo_pressure_release');
  await inc.until(() => !psi() && !psi('psi_like_cgroup.c'), 'the finding to go with the local definition');
  await compare('function added');
  await edit('psi_like_cgroup.c', 'static void demo_trigger_destroy(struct demo_trigger *t)\n{\n}\n\n', '');
  await inc.until(() => !!psi(), 'the finding to come back');
  await compare('function removed');

  // the armed callback in a file without a table: lines above it move, then its facts change
  await edit('btn_isr.c', 'struct btn_client {', '/*\n * the client\n */\nstruct btn_client {');
  await inc.until(() => isrStep() === lineOf('btn_isr.c', 'irqreturn_t btn_isr('), 'the trace step at the callback\'s new line');
  await compare('callback moved');
  await edit('btn_isr.c', '\tbc->presses++;', '\tif (bc)\n\t\tbc->presses++;');
  await compare('callback changed');
  // a helper added to the callback's file and called from it, then removed
  await edit('btn_isr.c', 'irqreturn_t btn_isr(', 'void btn_count(struct btn_client *bc)\n{\n\tbc->presses++;\n}\n\nirqreturn_t btn_isr(');
  await edit('btn_isr.c', '\tif (bc)\n\t\tbc->presses++;', '\tbtn_count(bc);');
  await compare('helper added');
  await edit('btn_isr.c', 'void btn_count(struct btn_client *bc)\n{\n\tbc->presses++;\n}\n\n', '');
  await compare('helper removed');
  assert.ok(async(), 'the callback is still armed and unsynchronised');

  // lines inserted in the middle of a file: the functions below move, those above do not
  await edit('psi_like_trigger.c', '\tsynchronize_rcu();\n', '\n\n\tsynchronize_rcu();\n');
  await inc.until(() => psi()?.range.start.line + 1 === lineOf('psi_like_trigger.c', '\tkfree(t);'), 'the finding at the moved kfree');
  await compare('lines inserted mid-file');
  await edit('psi_like_cgroup.c', '\tstruct cgroup *cgrp;\n', '\tstruct cgroup *cgrp;\n\n');
  await compare('lines inserted in the write handler');

  // the table's own definition changes (a field removed): its model is built again
  await edit('psi_like_cgroup.c', '\t\t.poll = demo_pressure_poll,\n', '');
  await compare('table field removed');
  inOrder();
});

// call_rcu() frees only when its callback frees (sim/build.ts callbackFrees): the callback in
// another file, edited to free and back. The handler's own facts never change, so its cached
// variants must notice the callback's summary changed.
const RCQ = fs.readFileSync(path.join(root, 'test/fixtures/rules/waitqueue-freed-while-polled/ioctl-call-rcu.ok.c'), 'utf8')
  .replace(/static void rcq_source_rcu\(struct rcu_head \*head\)\n\{[^}]*\}\n/, 'void rcq_source_rcu(struct rcu_head *head);\n');
const RCQ_RCU = `// SPDX-License-Identifier: GPL-2.0
#include <linux/rcupdate.h>
#include <linux/slab.h>

struct rcq_source {
	wait_queue_head_t readq;
	unsigned int head;
	unsigned int tail;
	atomic_t retired;
	struct rcu_head rcu;
};

void rcq_source_rcu(struct rcu_head *head)
{
	struct rcq_source *src = container_of(head, struct rcq_source, rcu);

	atomic_inc(&src->retired);
}
`;

test('lsp: an RCU callback in another file that starts to free makes call_rcu() a free, and stops again', async () => {
  assert.match(RCQ, /void rcq_source_rcu\(struct rcu_head \*head\);/);
  const files = ['rcq.c', 'rcq_rcu.c'];
  const texts = { 'rcq.c': RCQ, 'rcq_rcu.c': RCQ_RCU };
  const inc = await server(texts);
  const { edit, compare, open, inOrder } = session(inc, texts, files);
  await open();
  const found = () => (inc.diags.get(inc.uri('rcq.c')) ?? []).find((d) => d.code === 'waitqueue-freed-while-polled');
  assert.equal(found(), undefined, 'a callback that frees nothing: no finding');
  await edit('rcq_rcu.c', '\tatomic_inc(&src->retired);', '\tkfree(src);');
  await inc.until(() => !!found(), 'the finding once the callback frees');
  assert.equal(found().range.start.line + 1, texts['rcq.c'].split('\n').findIndex((l) => l.startsWith('\tcall_rcu(')) + 1);
  await compare('callback frees');
  await edit('rcq_rcu.c', '\tkfree(src);', '\tatomic_inc(&src->retired);');
  await inc.until(() => !found(), 'no finding once it does not');
  await compare('callback frees nothing again');
  inOrder();
});

// The seed pair on the real kernel: cgroup.c's pressure tables and psi.c's trigger. Edits to
// psi.c that bring back the pre-fix code (a plain poll_wait, wake_up_pollfree) must re-evaluate
// the tables in cgroup.c, whose handlers reach psi.c only through calls; and edits back.
test('lsp: an edit to psi.c re-evaluates cgroup.c\'s pressure tables (real kernel)', async (t) => {
  const { kernelTree } = await import('../corpus/kernel-src.mjs');
  const ksrc = await kernelTree(['kernel']);
  if (!ksrc) { t.skip('linux-source-6.1 not installed'); return; }
  const files = ['cgroup.c', 'psi.c'];
  const texts = { 'cgroup.c': fs.readFileSync(path.join(ksrc, 'kernel/cgroup/cgroup.c'), 'utf8'), 'psi.c': fs.readFileSync(path.join(ksrc, 'kernel/sched/psi.c'), 'utf8') };
  const inc = await server(texts);
  const { edit, compare, open, inOrder } = session(inc, texts, files);
  await open();
  const seed = () => (inc.diags.get(inc.uri('psi.c')) ?? []).find((d) => d.code === 'waitqueue-freed-while-polled');
  const tableSide = () => (inc.diags.get(inc.uri('cgroup.c')) ?? []).some((d) => d.code === 'waitqueue-freed-while-polled');
  const kfreeLine = () => {
    const lines = texts['psi.c'].split('\n');
    const start = lines.findIndex((l) => /^void psi_trigger_destroy\(/.test(l));
    return lines.findIndex((l, i) => i > start && /^\tkfree\(t\);/.test(l)) + 1;
  };
  assert.ok(!seed(), 'the fixed code has no finding');
  const POLL = '\tif (t->of)\n\t\tkernfs_generic_poll(t->of, wait);\n\telse\n\t\tpoll_wait(file, &t->event_wait, wait);\n';
  const WAKE = '\tif (t->of)\n\t\tkernfs_notify(t->of->kn);\n\telse\n\t\twake_up_interruptible(&t->event_wait);\n';
  await edit('psi.c', POLL, '\tpoll_wait(file, &t->event_wait, wait);\n');
  await edit('psi.c', WAKE, '\twake_up_pollfree(&t->event_wait);\n');
  await inc.until(() => seed()?.range.start.line + 1 === kfreeLine() && tableSide(), 'the seed finding at kfree(t) and at the table', 60000);
  await compare('pre-fix psi.c');
  await edit('psi.c', '\twake_up_pollfree(&t->event_wait);\n', WAKE);
  await edit('psi.c', '\tpoll_wait(file, &t->event_wait, wait);\n', POLL);
  await inc.until(() => !seed() && !tableSide(), 'the finding to go', 60000);
  await compare('fixed psi.c again');
  inOrder();
});
