// The parse-free function scan (facts/scan.ts) that check's first pass uses for files it only
// needs the function names of: each case is C written here, with the names a reader sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const api = createRequire(import.meta.url)('../../dist/api.js');
const names = (src) => api.scanFunctions('s.c', src).map((f) => `${f.isStatic ? 'static ' : ''}${f.name}:${f.nameLoc.line}`);

test('kernel-style definitions, with the return type on its own line and attributes', () => {
  const src = [
    'static int',                                       // 1
    'foo_open(struct inode *inode, struct file *file)', // 2
    '{',
    '\treturn 0;',
    '}',
    '',
    'int __init bar_init(void)',                        // 7
    '{',
    '\treturn 0;',
    '}',
    'EXPORT_SYMBOL(bar_init);',
    'static void baz(struct x *x) __releases(&x->lock)', // 12
    '{',
    '}',
  ].join('\n');
  assert.deepEqual(names(src), ['static foo_open:2', 'bar_init:7', 'static baz:12']);
});

test('not functions: initializers, struct definitions, prototypes, macros with a semicolon', () => {
  const src = [
    'static const struct foo_ops ops =',
    '{',
    '\t.open = foo_open,',
    '};',
    'struct foo',
    '{',
    '\tint (*cb)(void);',
    '};',
    'int proto(int a);',
    'DEFINE_MUTEX(m);',
    'static int arr[] = { 1, 2 };',
    'int real(void) {',   // 12: brace on the declarator's line
    '\treturn arr[0];',
    '}',
  ].join('\n');
  assert.deepEqual(names(src), ['real:12']);
});

test('braces in comments, strings, character literals and #ifdef halves do not derail it', () => {
  const src = [
    '/* { not code */',
    'static int a(void)',            // 2
    '{',
    '\tconst char *s = "}{";',
    "\tchar c = '{', d = '\\\\';",
    '#ifdef CONFIG_X',
    '\tif (s) {',
    '#else',
    '\tif (c) {',                    // two opening braces in the text, one in any build
    '#endif',
    '\t\tc++;',
    '\t}',
    '\treturn 0; // }',
    '}',
    '',
    'static int b(void)',            // 16
    '{',
    '\treturn 1;',
    '}',
  ].join('\n');
  assert.deepEqual(names(src), ['static a:2', 'static b:16']);
});

test('unterminated input and garbage give what was seen, never a throw', () => {
  assert.deepEqual(names('static int x(void)\n{\n\treturn 0;\n'), []);
  assert.doesNotThrow(() => api.scanFunctions('g.c', '\u0000\uffff{{{(((""\'/*'));
  assert.deepEqual(names('int f(void)\n{\n}\n/* unterminated'), ['f:1']);
});

test('a partial file in check\'s first pass has the functions the parser sees: the first live #if branch, not its #else stubs', async () => {
  // the same definition twice, as kernel/rcu/tree_plugin.h does (the real one under
  // CONFIG_PREEMPT_RCU, a stub in the #else half): the parser reads the normalised text, which
  // keeps the first branch; the scan must read the same text, or a call resolves to a stub the
  // parse never sees and the lazy check builds other models than --full-facts
  const src = [
    '#ifdef CONFIG_DEMO_RCU',
    'void demo_unlock_special(struct task_struct *t)', // 2
    '{',
    '\tt->special = 0;',
    '}',
    '#else',
    'void demo_unlock_special(struct task_struct *t)', // 7
    '{',
    '}',
    '#endif',
    'static void demo_helper(void)',                   // 11
    '{',
    '}',
  ].join('\n');
  await api.initParser();
  const lazy = api.extract('p.c', src, { ...api.DEFAULT_OPTIONS, level: 'auto' });
  assert.equal(lazy.partial, true, 'no ops struct named: a partial file');
  const parsed = api.extract('p.c', src, { ...api.DEFAULT_OPTIONS, level: 'tables' });
  const at = (r) => r.functions.map((f) => `${f.name}:${f.nameLoc.line}`);
  assert.deepEqual(at(lazy), ['demo_unlock_special:2', 'demo_helper:11']);
  assert.deepEqual(at(lazy), at(parsed));
  // the raw scan (all branches) still sees both: the difference is the text it is given
  assert.deepEqual(names(src), ['demo_unlock_special:2', 'demo_unlock_special:7', 'static demo_helper:11']);
});

test('check\'s first pass parses a file that names only a driver struct for its tables, and walks none of its functions', async () => {
  // a platform driver's file: its table is found (a driver's ->remove may matter to a fops model
  // of the same file, and tables are counted), but its effects are read only if a model
  // reaches one of its functions (the check then extracts it in full, as a scanned file)
  await api.initParser();
  const dir = path.join(root, 'test/fixtures/rules/pollfree-missing/helper-in-driver-file.bad');
  const auto = (name) => api.extract(name, fs.readFileSync(path.join(dir, name), 'utf8'), { ...api.DEFAULT_OPTIONS, level: 'auto' });
  const core = auto('ev_core.c');
  assert.equal(core.partial, true);
  assert.deepEqual(core.tables.map((t) => `${t.kind} ${t.name}`), ['platform_driver ev_driver']);
  assert.deepEqual(core.functions.map((f) => f.name), ['ev_watch_poll', 'ev_watch_drop', 'ev_probe', 'ev_remove']);
  assert.ok(core.functions.every((f) => f.effects.length === 0), 'not walked');
  assert.ok(core.addrTaken.includes('ev_fops'), 'what it registers is known by name');
  // the file with the ops table is extracted in full
  const chr = auto('ev_chr.c');
  assert.equal(chr.partial, undefined);
  assert.ok(chr.functions.find((f) => f.name === 'ev_ioctl').effects.some((e) => e.kind === 'call' && e.api === 'ev_watch_drop'));
  // a file that names no table struct at all is scanned: function names, no tables
  const plain = api.extract('h.c', 'static void helper(struct platform_device *pdev)\n{\n\tkfree(pdev);\n}\n', { ...api.DEFAULT_OPTIONS, level: 'auto' });
  assert.equal(plain.partial, true);
  assert.deepEqual(plain.tables, []);
  assert.deepEqual(plain.functions.map((f) => [f.name, f.effects.length]), [['helper', 0]]);
});

test('system calls and BPF helpers, once normalised, are found with the names the kernel gives them', () => {
  const opts = api.compileKnowledge(api.KERNEL_KNOWLEDGE).normalizeOpts;
  const src = [
    'SYSCALL_DEFINE3(sc_read, unsigned int, fd, char __user *, buf,', // 1
    '\t\tsize_t, count)',
    '{',
    '}',
    'SYSCALL_DEFINE0(sc_sync)',                                        // 5
    '{',
    '}',
    'BPF_CALL_1(sc_probe, void *, ctx)',                               // 8
    '{',
    '}',
  ].join('\n');
  assert.deepEqual(names(api.normalize(src, opts).text), ['sys_sc_read:1', 'sys_sc_sync:5', 'sc_probe:8']);
  // (the parser's path gives the same names and lines)
  const parsed = api.extract('s.c', src, { ...api.DEFAULT_OPTIONS, level: 'facts' }).functions.map((f) => `${f.name}:${f.nameLoc.line}`);
  assert.deepEqual(parsed, ['sys_sc_read:1', 'sys_sc_sync:5', 'sc_probe:8']);
});

test('countBodyBraces counts bodies in the #if branches the normaliser keeps, and the others apart', () => {
  const src = [
    '#ifdef CONFIG_A',
    'int f(void)',
    '{',            // 3: first branch, kept
    '}',
    '#else',
    'int f(void)',
    '{',            // dropped: a stub for the other configuration
    '}',
    '#endif',
    '#if 0',
    'int g(void)',
    '{',            // dropped: #if 0
    '}',
    '#elif defined(CONFIG_B)',
    'int g(void)',
    '{',            // 16: the first branch after #if 0
    '}',
    '#else',
    '  #if 1',
    'int h(void)',
    '{',            // dropped: inside a dropped branch
    '}',
    '  #endif',
    '#endif',
    'int k(int a)',
    '{',            // 26
    '}',
  ].join('\n');
  assert.deepEqual(api.countBodyBraces(src), { live: [3, 16, 26], dropped: 3 });
  // and the normaliser agrees: the live braces are the ones left in its text
  const t = api.normalize(src, api.compileKnowledge(api.KERNEL_KNOWLEDGE).normalizeOpts).text.split('\n');
  assert.deepEqual(t.flatMap((l, i) => (l === '{' ? [i + 1] : [])), [3, 16, 26]);
});
