/** File discovery for the CLI: directories walked for .c/.h, deterministic order. */
import * as fs from 'node:fs';
import type { KbuildIO } from '../index/kbuild';
import * as path from 'node:path';

export interface WalkResult {
  files: string[];
  problems: { file: string; reason: string }[];
}

const SOURCE = /\.[ch]$/;
const SKIP_DIRS = new Set(['.git', 'node_modules', '.svn', '.hg']);

export function walk(inputs: string[]): WalkResult {
  const files: string[] = [];
  const problems: WalkResult['problems'] = [];
  const seen = new Set<string>();
  const visit = (p: string, explicit: boolean): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (e) {
      problems.push({ file: p, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return;
    }
    if (st.isDirectory()) {
      let entries: string[];
      try {
        entries = fs.readdirSync(p).sort();
      } catch (e) {
        problems.push({ file: p, reason: `cannot list: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        return;
      }
      for (const e of entries) {
        if (SKIP_DIRS.has(e)) continue;
        visit(path.join(p, e), false);
      }
    } else if (st.isFile() && (explicit || SOURCE.test(p))) {
      if (!seen.has(p)) { seen.add(p); files.push(p); }
    }
  };
  for (const i of inputs) visit(i, true);
  return { files, problems };
}

/** node:fs for the build-file reader (index/kbuild.ts). */
export const KBUILD_IO: KbuildIO = {
  read: (file) => { try { return fs.readFileSync(file, 'utf8'); } catch { return null; } },
  list: (dir) => { try { return fs.readdirSync(dir); } catch { return []; } },
};
