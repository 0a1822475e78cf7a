import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
const api = createRequire(import.meta.url)('../../dist/api.js');
const opts = api.compileKnowledge(api.KERNEL_KNOWLEDGE).normalizeOpts;
const norm = (s) => api.normalize(s, opts);

test('normalize keeps every offset and newline', () => {
  const src = 'static int __init f(char __user *p) __must_check;\n#ifdef A\nint a;\n#else\nint b;\n#endif\n';
  const out = norm(src);
  assert.equal(out.text.length, src.length);
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') assert.equal(out.text[i], '\n');
  assert.match(out.text, /static int {8}f\(char {8}\*p\) {13};/);
});

test('normalize keeps the first live branch of #if groups, drops #if 0', () => {
  const src = '#ifdef A\nint a;\n#else\nint b;\n#endif\n#if 0\nint c;\n#else\nint d;\n#endif\n';
  const t = norm(src).text;
  assert.match(t, /int a;/);
  assert.doesNotMatch(t, /int b;/);
  assert.doesNotMatch(t, /int c;/);
  assert.match(t, /int d;/);
  assert.doesNotMatch(t, /#/);
});

test('normalize records #if guards per line', () => {
  const g = norm('a\n#ifdef CONFIG_X\nb\n#endif\nc\n').guards;
  assert.deepEqual([...g[2]], ['CONFIG_X']);
  assert.deepEqual([...g[4]], []);
});

test('normalize turns statement macros with a block into while loops, not calls or definitions', () => {
  const src = 'void f(void)\n{\n\tlist_for_each_entry(p, &h, node) {\n\t\tg(p);\n\t}\n\tfoo_bar(x);\n}\nint bus_for_each_dev(int a)\n{\n}\n';
  const t = norm(src).text;
  assert.match(t, /\twhile {14}\(p, &h, node\) \{/);
  assert.match(t, /\tfoo_bar\(x\);/);
  assert.match(t, /int bus_for_each_dev\(int a\)/);
});

test('normalize leaves comments, strings and #define bodies alone', () => {
  const src = '/* __init */ char *s = "__user";\n#define X(a) list_for_each(a) {\n';
  assert.equal(norm(src).text, src);
});

test('normalize survives unterminated comments, strings and directives', () => {
  for (const s of ['/* open', '"abc', '#if A\nint x;', 'f(((((', '#else\n#endif\n#endif']) {
    assert.equal(norm(s).text.length, s.length);
  }
});

test('normalize blanks the inside of long numeric data, and nothing that may be code', () => {
  const row = (k) => `\t0x${(k * 37 % 256).toString(16).padStart(2, '0')}, ${k}, -${k}U, /* ${k} */\n`;
  const rows = Array.from({ length: 80 }, (_, k) => row(k)).join('');
  const data = `static const unsigned short cp[] = {\n${rows}};\n`;
  const nested = `static const u8 tbl[][2] = {\n${Array.from({ length: 120 }, (_, k) => `\t{ ${k}, 0x${k.toString(16)} },\n`).join('')}};\n`;
  const named = `static const int m[] = {\n${rows}\tMAX_X,\n};\n`;
  const short = 'static const int s[] = { 1, 2, 3 };\n';
  const strs = `static const char *n[] = {\n${Array.from({ length: 200 }, (_, k) => `\t"${k}",\n`).join('')}};\n`;
  const fops = 'static const struct file_operations f_fops = {\n\t.owner = THIS_MODULE,\n\t.open = f_open,\n};\n';
  const src = data + nested + named + short + strs + fops;
  const t = norm(src).text;
  assert.equal(t.length, src.length);
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') assert.equal(t[i], '\n');
  // the two data initializers keep their outer braces and lines, nothing else
  const at = (s) => src.indexOf(s);
  const cut = (from, len) => t.slice(from, from + len);
  assert.match(cut(at(data), data.length), /^static const unsigned short cp\[\] = \{[ \n]*\};\n$/);
  assert.match(cut(at(nested), nested.length), /^static const u8 tbl\[\]\[2\] = \{[ \n]*\};\n$/);
  assert.equal(cut(at(data), data.length).split('\n').length, data.split('\n').length);
  // an identifier, a short array, strings, and an ops table stay as they are
  assert.equal(cut(at(named), named.length), named);
  assert.equal(cut(at(short), short.length), short);
  assert.equal(cut(at(strs), strs.length), strs);
  assert.equal(cut(at(fops), fops.length), fops);
  // and what follows the data is still found
  const r = api.extract('d.c', src);
  assert.deepEqual(r.tables.map((x) => x.name), ['f_fops']);
});

/** The normalised text has the length and the newlines of the source. */
function sameShape(src, out) {
  assert.equal(out.length, src.length);
  for (let i = 0; i < src.length; i++) assert.equal(out[i] === '\n', src[i] === '\n', `newline at ${i}`);
}

test('normalize turns a system call\'s header into the prototype it stands for', () => {
  const src = [
    'SYSCALL_DEFINE3(read, unsigned int, fd, char __user *, buf,',
    '\t\tsize_t, count)',
    '{',
    '\treturn ksys_read(fd, buf, count);',
    '}',
    'SYSCALL_DEFINE0(sync)',
    '{',
    '}',
    'COMPAT_SYSCALL_DEFINE4(pread64, unsigned int, fd, char __user *, ubuf, u32, count,',
    '\t\t       compat_arg_u64_dual(pos))',
    '{',
    '}',
    'BPF_CALL_2(bpf_probe, void *, ctx, u64, flags)',
    '{',
    '}',
    '',
  ].join('\n');
  const t = norm(src).text;
  sameShape(src, t);
  const lines = t.split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  assert.equal(lines[0], 'long sys_read( unsigned int fd, char * buf,');
  assert.equal(lines[1], 'size_t count)');
  assert.equal(lines[5], 'long sys_sync()');
  // (a 64-bit argument passed as a macro is a parameter by itself: the comma after it stays)
  assert.equal(lines[8], 'long compat_sys_pread64( unsigned int fd, char * ubuf, u32 count,');
  assert.equal(lines[12], 'u64 bpf_probe( void * ctx, u64 flags)');
  // the function's name starts where the macro's first argument did
  assert.equal(t.indexOf('read('), src.indexOf('read,'));
});

test('normalize leaves a function-defining macro alone without a body, indented, or in a comment', () => {
  for (const src of [
    'SYSCALL_DEFINE1(close, unsigned int, fd);\n',
    'long sys_ni(void);\nCOND_SYSCALL(close);\n',
    '/*\nSYSCALL_DEFINE1(close, unsigned int, fd)\n{\n*/\n',
    '#define X SYSCALL_DEFINE1(close, unsigned int, fd)\n{\n}\n',
  ]) assert.equal(norm(src).text, src, JSON.stringify(src));
  // (indented, it is a statement macro with a block, like list_for_each_entry)
  assert.doesNotMatch(norm('void f(void)\n{\n\tSYSCALL_DEFINE1(x, int, a)\n\t{\n\t}\n}\n').text, /sys_x/);
});

test('normalize reads function-defining macros from knowledge: a config can add one', () => {
  const { knowledge, problems } = api.applyConfig(api.KERNEL_KNOWLEDGE, { definers: [{ macro: 'MYDRV_OP2', returns: 'int', prefix: 'mydrv_' }, { macro: 'bad one', returns: 'int' }] }, 'cfg');
  assert.deepEqual(problems, ['cfg: definers[1]: "macro" must be a C identifier']);
  const src = 'MYDRV_OP2(open, struct inode *, inode, struct file *, file)\n{\n}\n';
  const t = api.normalize(src, api.compileKnowledge(knowledge).normalizeOpts).text;
  sameShape(src, t);
  assert.equal(t.split('\n')[0].replace(/\s+/g, ' '), 'int mydrv_open( struct inode * inode, struct file * file)');
  assert.equal(norm(src).text, src);
});

test('normalize leaves a function declarator on its own indented line alone (it is not a statement macro)', () => {
  const src = 'static inline struct tp_call *\n\ttp_event_call(struct tp *tp)\n{\n\tfoo_each_thing(tp) {\n\t}\n\treturn &tp->call;\n}\n';
  const t = norm(src).text;
  assert.match(t, /\n\ttp_event_call\(struct tp \*tp\)\n\{/);
  assert.match(t, /\twhile {9}\(tp\) \{/);
  const f = api.extract('s.c', src, { ...api.DEFAULT_OPTIONS, level: 'facts' }).functions;
  assert.deepEqual(f.map((x) => x.name), ['tp_event_call']);
});

test('normalize blanks the comments of a #define that goes on over several lines, so its lines stay in it', () => {
  const src = [
    '#define FLAGS\t\t\t\t\\',
    '\tpf(ONE)\t\t/* the first */\t\\',
    "\tpf(TWO)\t\t/* don't */\t\\",
    '',
    '#define ONE_LINE 1 /* left */',
    'static int g(int a)',
    '{',
    '\treturn a;',
    '}',
    // (tree-sitter-c itself takes this string's `/*` for a comment: only the text is checked)
    '#define S "/* a string */"\t\\',
    '\t"more"',
    '',
  ].join('\n');
  const t = norm(src).text;
  sameShape(src, t);
  assert.match(t, /pf\(ONE\)\s+\\\n\tpf\(TWO\)\s+\\\n/);
  assert.match(t, /ONE_LINE 1 \/\* left \*\//);
  assert.match(t, /"\/\* a string \*\/"/);
  assert.deepEqual(api.extract('s.c', src, { ...api.DEFAULT_OPTIONS, level: 'facts' }).functions.map((f) => f.name), ['g']);
});
