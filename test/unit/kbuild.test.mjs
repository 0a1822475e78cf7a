// The kernel build files, read as text (knowledge/kbuild.ts): which symbol builds an object,
// a composite module's parts, and a Kconfig symbol's type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
const api = createRequire(import.meta.url)('../../dist/api.js');

test('kbuild: objects, their symbols and composite modules (continuations, comments, -objs, -y)', () => {
  const kb = api.parseKbuild([
    '# SPDX-License-Identifier: GPL-2.0',
    'obj-$(CONFIG_FOO)\t+= foo.o bar/  # a module and a directory',
    'obj-y += core.o',
    'obj-m += always_mod.o',
    'obj-$(CONFIG_MULTI) += multi.o',
    'multi-objs := m_main.o \\',
    '\tm_chr.o',
    'multi-$(CONFIG_MULTI_DEBUG) += m_debug.o',
    'ccflags-y += -DDEBUG',
    'lib-y += helper.o',
  ].join('\n'));
  assert.deepEqual(api.buildOf(kb, 'foo.o'), { by: 'CONFIG_FOO', module: 'foo.o', objects: ['foo.o'] });
  assert.deepEqual(api.buildOf(kb, 'core.o'), { by: 'y', module: 'core.o', objects: ['core.o'] });
  assert.equal(api.buildOf(kb, 'always_mod.o').by, 'm');
  // parts of a composite: the composite's symbol, all its objects (the conditional one too)
  assert.deepEqual(api.buildOf(kb, 'm_chr.o'), { by: 'CONFIG_MULTI', module: 'multi.o', objects: ['m_main.o', 'm_chr.o', 'm_debug.o'] });
  assert.equal(api.buildOf(kb, 'helper.o'), null, 'lib-y is not a module part');
  assert.equal(api.buildOf(kb, 'nowhere.o'), null);
});

test('kbuild: Kconfig types (tristate, bool, def_*; menuconfig; the block ends at the next entry)', () => {
  const kc = [
    'menuconfig NET_DEMO',
    '\tbool "Demo networking"',
    '',
    'if NET_DEMO',
    'config DEMO_A',
    '\tdepends on PCI',
    '\ttristate "A"',
    'config DEMO_B',
    '\tdef_bool y',
    'config DEMO_C',
    '\tdef_tristate m',
    'config DEMO_D',
    '\thelp',
    '\t  no type here',
    'config DEMO_E',
    '\tbool',
    'endif',
  ].join('\n');
  assert.equal(api.kconfigType(kc, 'CONFIG_NET_DEMO'), 'bool');
  assert.equal(api.kconfigType(kc, 'CONFIG_DEMO_A'), 'tristate');
  assert.equal(api.kconfigType(kc, 'DEMO_B'), 'bool');
  assert.equal(api.kconfigType(kc, 'CONFIG_DEMO_C'), 'tristate');
  assert.equal(api.kconfigType(kc, 'CONFIG_DEMO_D'), null, 'the next config starts a new entry');
  assert.equal(api.kconfigType(kc, 'CONFIG_MISSING'), null);
});

test('kbuild: the reader combines them: bool is never a module, a module_exit in any part makes all unloadable', () => {
  const files = {
    'd/Makefile': 'obj-$(CONFIG_M) += m.o\nm-y := a.o b.o\nobj-$(CONFIG_B) += b_only.o\nobj-$(CONFIG_T) += t.o\n',
    'Kconfig': 'config M\n\ttristate "m"\nconfig B\n\tbool "b"\nconfig T\n\ttristate "t"\n',
    'd/a.c': 'static int __init a_init(void) { return 0; }\nmodule_init(a_init);\nmodule_exit(a_exit);\n',
    'd/b.c': 'int b(void) { return 0; }\n',
    'd/b_only.c': 'module_exit(x);\n',
    'd/t.c': 'int t(void) { return 0; }\n',
  };
  // (an in-memory tree rooted at the working directory: the reader resolves directories to walk up)
  const rel = (p) => path.relative(process.cwd(), path.resolve(p));
  const io = {
    read: (f) => files[rel(f)] ?? null,
    list: (d) => { const r = rel(d); return Object.keys(files).filter((f) => path.dirname(f) === (r || '.')).map((f) => path.basename(f)); },
  };
  const index = api.buildIndex([]);
  const r = new api.KbuildReader(index, io);
  assert.equal(r.modular('d/b.c'), true, "b.c has no module_exit, but a.c of the same module does");
  assert.equal(r.modular('d/b_only.c'), false, 'a bool symbol: built in, whatever the file says');
  assert.equal(r.modular('d/t.c'), false, 'tristate, but nothing in the module can be unloaded');
  assert.equal(r.modular('d/none.c'), null, 'the Makefile does not name it');
});
