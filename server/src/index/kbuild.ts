/**
 * Whether a file can be built as a module that can be unloaded, from the kernel tree's own build
 * files (knowledge/kbuild.ts parses them; this finds them, with caches): its object's symbol
 * is `tristate` (or it is `obj-m`), and some object of that module has a module_exit (or a
 * module_*_driver). Null where the build files do not say (no Makefile names the object, no
 * Kconfig defines the symbol): the caller keeps its own guess (the file's module_exit).
 * The reading is the caller's (`KbuildIO`: the CLI and the language server pass node:fs).
 */
import * as path from 'node:path';
import { buildOf, hasModuleExit, kconfigType, parseKbuild, type Kbuild } from '../knowledge/kbuild';
import type { Index } from './index';

/** Reading a file (null when it cannot be read) and listing a directory (empty when it cannot). */
export interface KbuildIO {
  read(file: string): string | null;
  list(dir: string): string[];
}

/** How far up from a source directory Kconfig files are searched for a symbol. */
const KCONFIG_LEVELS = 8;

export class KbuildReader {
  private makefiles = new Map<string, Kbuild | null>();
  private kconfigs = new Map<string, string[]>();
  private types = new Map<string, 'tristate' | 'bool' | null>();
  private exits = new Map<string, boolean>();
  private answers = new Map<string, boolean | null>();

  constructor(private index: Index, private io: KbuildIO) {}

  modular(file: string): boolean | null {
    let a = this.answers.get(file);
    if (a === undefined) this.answers.set(file, (a = this.compute(file)));
    return a;
  }

  private compute(file: string): boolean | null {
    if (!file.endsWith('.c')) return null;
    const dir = path.dirname(file);
    const kb = this.makefile(dir);
    const b = kb && buildOf(kb, path.basename(file).replace(/\.c$/, '.o'));
    if (!b) return null;
    if (b.by === 'y') return false;
    if (b.by !== 'm') {
      const t = this.type(dir, b.by);
      if (t === null) return null;
      if (t === 'bool') return false;
    }
    return b.objects.some((o) => this.hasExit(path.join(dir, o.replace(/\.o$/, '.c'))));
  }

  private makefile(dir: string): Kbuild | null {
    let kb = this.makefiles.get(dir);
    if (kb === undefined) {
      const text = this.io.read(path.join(dir, 'Kbuild')) ?? this.io.read(path.join(dir, 'Makefile'));
      kb = text === null ? null : parseKbuild(text);
      this.makefiles.set(dir, kb);
    }
    return kb;
  }

  private type(dir: string, symbol: string): 'tristate' | 'bool' | null {
    const key = `${dir}|${symbol}`;
    let t = this.types.get(key);
    if (t !== undefined) return t;
    t = null;
    let d = path.resolve(dir);
    for (let up = 0; up < KCONFIG_LEVELS && t === null; up++) {
      for (const text of this.kconfigIn(d)) { t = kconfigType(text, symbol); if (t) break; }
      const parent = path.dirname(d);
      if (parent === d) break;
      d = parent;
    }
    this.types.set(key, t);
    return t;
  }

  private kconfigIn(dir: string): string[] {
    let texts = this.kconfigs.get(dir);
    if (!texts) {
      const names = this.io.list(dir).filter((n) => n === 'Kconfig' || n.startsWith('Kconfig.')).sort();
      texts = names.map((n) => this.io.read(path.join(dir, n))).filter((x): x is string => x !== null);
      this.kconfigs.set(dir, texts);
    }
    return texts;
  }

  private hasExit(file: string): boolean {
    const ff = this.index.fileFacts(file);
    if (ff) return !!ff.modular;
    let e = this.exits.get(file);
    if (e === undefined) { const text = this.io.read(file); this.exits.set(file, (e = text !== null && hasModuleExit(text))); }
    return e;
  }
}
