/**
 * What a kernel tree's build files say about whether a source file can be a module: the
 * directory's Makefile (or Kbuild) names the object and the symbol that builds it
 * (`obj-$(CONFIG_FOO) += foo.o`, composite `foo-y := a.o b.o`), and a Kconfig file gives that
 * symbol's type (`tristate` can be `m`, `bool` cannot). Plain text in, plain data out: the
 * reading of files is the caller's (cli/kbuild.ts).
 */

/** A directory's Makefile: top-level objects and the symbol building each, composite objects' parts. */
export interface Kbuild {
  /** `foo.o` -> `CONFIG_FOO`, or `y` (always built in), or `m` (always a module). */
  objs: Map<string, string>;
  /** `foo.o` -> the objects it is linked from (`foo-y`, `foo-objs`, `foo-$(CONFIG_X)`). */
  parts: Map<string, string[]>;
}

const ASSIGN = /^([A-Za-z0-9_.-]+)-(y|m|objs|\$\((CONFIG_[A-Za-z0-9_]+)\))\s*[:+]?=\s*(.*)$/;

export function parseKbuild(text: string): Kbuild {
  const objs = new Map<string, string>();
  const parts = new Map<string, string[]>();
  // continuation lines joined, comments dropped
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim());
  for (const l of lines) {
    const m = ASSIGN.exec(l);
    if (!m) continue;
    const [, name, how, sym, rest] = m;
    const words = rest.split(/\s+/).filter((w) => /\.o$/.test(w));
    if (name === 'obj') {
      const by = sym ?? how;
      if (by === 'objs') continue;
      for (const w of words) if (!objs.has(w)) objs.set(w, by);
    } else if (!/^(?:lib|always|extra|hostprogs|subdir|ccflags|asflags|ldflags|targets|clean)$/.test(name)) {
      const key = `${name}.o`;
      parts.set(key, [...(parts.get(key) ?? []), ...words]);
    }
  }
  return { objs, parts };
}

/**
 * What builds object `obj` (`x.o` for `x.c`) of this directory: the symbol (or `y`/`m`), and
 * the module's objects (itself, or the composite's parts). Null when the Makefile does not say.
 */
export function buildOf(kb: Kbuild, obj: string): { by: string; module: string; objects: string[] } | null {
  const direct = kb.objs.get(obj);
  if (direct && !kb.parts.has(obj)) return { by: direct, module: obj, objects: [obj] };
  for (const [composite, ps] of kb.parts) {
    if (!ps.includes(obj)) continue;
    const by = kb.objs.get(composite);
    if (by) return { by, module: composite, objects: ps };
  }
  return null;
}

/** `tristate` or `bool` for `config SYM` in a Kconfig text (`def_tristate`/`def_bool` too), else null. */
export function kconfigType(text: string, symbol: string): 'tristate' | 'bool' | null {
  const name = symbol.replace(/^CONFIG_/, '');
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/.exec(lines[i]);
    if (!m || m[1] !== name) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const l = lines[j].trim();
      if (/^(?:(?:menu)?config|choice|endchoice|menu|endmenu|if|endif|source|comment)\b/.test(l)) break;
      const t = /^(?:def_)?(tristate|bool)\b/.exec(l);
      if (t) return t[1] as 'tristate' | 'bool';
    }
  }
  return null;
}

const MODULE_EXIT = /^\s*module_(?:exit|\w+_driver|misc_device)\s*\(/m;

/** The text has a module_exit (or a module_*_driver / module_misc_device helper): the code can be unloaded. */
export function hasModuleExit(text: string): boolean {
  return text.includes('module_') && MODULE_EXIT.test(text);
}
