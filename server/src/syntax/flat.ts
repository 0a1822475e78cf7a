/**
 * The flat parser: tree-sitter-c run by kernlife's own small N-API addon (server/native/flat.c,
 * built at install into dist/ by scripts/build-flat.mjs), which hands the whole tree back as one
 * Uint32Array. `FlatNode` answers the `Node` interface from those numbers in JS: no native call
 * per child, field or end offset, no native memory kept after the parse.
 *
 * Used for whole-file extraction (parseC without an old tree); incremental reparsing stays with
 * the node binding, which keeps trees. Optional: when the addon is missing (not built, another
 * platform) or answers differently from the node binding on a probe parse, nothing uses it.
 */
import * as path from 'node:path';
import type { Node, Point } from './nodes';

interface Addon {
  parse(text: string, budgetMs: number): Uint32Array | null;
  symbolNames(): (string | null)[];
  fieldNames(): (string | null)[];
  /** (absent from addons built before it) */
  latin1?(bytes: Uint8Array): string | null;
}

/** Words per node: see flat.c. */
const REC = 8;
const F_HAS_ERROR = 2;
const F_NAMED = 1;
const ERROR_SYMBOL = 0xffff;

/** A parse's nodes; `a` holds REC words per node in document pre-order. */
export class FlatTree {
  constructor(readonly a: Uint32Array, readonly names: readonly string[], readonly fields: ReadonlyMap<string, number>) {}
  get root(): FlatNode { return new FlatNode(this, 0); }
}

export class FlatNode implements Node {
  constructor(readonly t: FlatTree, readonly i: number) {}
  get type(): string {
    const sym = this.t.a[this.i * REC] & 0xffff;
    return sym === ERROR_SYMBOL ? 'ERROR' : this.t.names[sym];
  }
  get startIndex(): number { return this.t.a[this.i * REC + 1]; }
  get endIndex(): number { return this.t.a[this.i * REC + 2]; }
  get startPosition(): Point { const a = this.t.a, o = this.i * REC; return { row: a[o + 3], column: a[o + 4] }; }
  get endPosition(): Point { const a = this.t.a, o = this.i * REC; return { row: a[o + 5], column: a[o + 6] }; }
  get hasError(): boolean { return ((this.t.a[this.i * REC] >>> 24) & F_HAS_ERROR) !== 0; }
  get children(): Node[] {
    const a = this.t.a, out: Node[] = [];
    for (let j = this.i + 1, end = a[this.i * REC + 7]; j < end; j = a[j * REC + 7]) out.push(new FlatNode(this.t, j));
    return out;
  }
  get namedChildren(): Node[] {
    const a = this.t.a, out: Node[] = [];
    for (let j = this.i + 1, end = a[this.i * REC + 7]; j < end; j = a[j * REC + 7]) {
      if ((a[j * REC] >>> 24) & F_NAMED) out.push(new FlatNode(this.t, j));
    }
    return out;
  }
  childForFieldName(name: string): Node | null {
    const f = this.t.fields.get(name);
    if (f === undefined) return null;
    const a = this.t.a;
    for (let j = this.i + 1, end = a[this.i * REC + 7]; j < end; j = a[j * REC + 7]) {
      if (((a[j * REC] >>> 16) & 0xff) === f) return new FlatNode(this.t, j);
    }
    return null;
  }
  childrenForFieldName(name: string): Node[] {
    const f = this.t.fields.get(name);
    const out: Node[] = [];
    if (f === undefined) return out;
    const a = this.t.a;
    for (let j = this.i + 1, end = a[this.i * REC + 7]; j < end; j = a[j * REC + 7]) {
      if (((a[j * REC] >>> 16) & 0xff) === f) out.push(new FlatNode(this.t, j));
    }
    return out;
  }
  descendantsOfType(types: string | string[]): Node[] {
    const syms = symbolSet(this.t.names, types);
    const a = this.t.a, out: Node[] = [];
    for (let j = this.i, end = a[this.i * REC + 7]; j < end; j++) if (syms[a[j * REC] & 0xffff]) out.push(new FlatNode(this.t, j));
    return out;
  }
}

const SETS = new Map<string, Uint8Array>();
/** A 0/1 table by symbol of the node types named (as the binding matches them: by name). */
function symbolSet(names: readonly string[], types: string | string[]): Uint8Array {
  const key = typeof types === 'string' ? types : types.join('\0');
  let syms = SETS.get(key);
  if (!syms) {
    const want = new Set(typeof types === 'string' ? [types] : types);
    syms = new Uint8Array(0x10000);
    names.forEach((n, s) => { if (want.has(n)) syms![s] = 1; });
    if (want.has('ERROR')) syms[ERROR_SYMBOL] = 1;
    if (SETS.size < 64) SETS.set(key, syms);
  }
  return syms;
}

let addon: Addon | null | undefined;
let NAMES: string[] = [];
const FIELDS = new Map<string, number>();

/** The addon next to the bundle (dist/), or null when it is not there or does not load. */
function load(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.KERNLIFE_FLAT === '0') return null;
  try {
    const file = process.env.KERNLIFE_FLAT_ADDON || path.join(__dirname, 'kernlife-flat.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const a = require(file) as Addon;
    NAMES = a.symbolNames().map((n) => n ?? '');
    a.fieldNames().forEach((f, i) => { if (f) FIELDS.set(f, i); });
    addon = a;
  } catch {
    addon = null;
  }
  return addon;
}

/** The flat tree of `text`, or null when the parse ran past `budgetMs`. Throws without the addon. */
export function parseFlat(text: string, budgetMs: number): FlatTree | null {
  const a = load();
  if (!a) throw new Error('the flat parser is not loaded');
  const arr = a.parse(text, budgetMs);
  return arr ? new FlatTree(arr, NAMES, FIELDS) : null;
}

/** The tree of an array parseFlat made (on this thread or another: the array is plain data). */
export function flatTree(a: Uint32Array): FlatTree {
  if (!load()) throw new Error('the flat parser is not loaded');
  return new FlatTree(a, NAMES, FIELDS);
}

/**
 * `bytes` (Latin-1: ASCII text is) as a string kept outside the JS heap (a V8 external string),
 * or null when the addon or this Node cannot make one. The collector never copies or scans it:
 * for a source text the facts of a whole run keep slices of.
 */
export function outsideHeap(bytes: Uint8Array): string | null {
  const a = load();
  if (!a?.latin1) return null;
  try {
    return a.latin1(bytes);
  } catch {
    return null;
  }
}

/** Whether the addon loaded (not whether it agrees with the binding: see parser.ts). */
export function flatLoaded(): boolean {
  return load() !== null;
}

/** The field names the addon's grammar knows (for the agreement check). */
export function flatFieldNames(): string[] {
  load();
  return [...FIELDS.keys()];
}

/**
 * Kernel-flavoured C for the agreement check: macros the grammar does not know (ERROR nodes),
 * a missing token, comments, every statement and expression kind the extractor reads.
 */
export const AGREEMENT_PROBE = `// probe
#include <linux/fs.h>
static DEFINE_MUTEX(lock);
struct file_operations fops = { .owner = THIS_MODULE, .open = f, .release = g, #ifdef X .poll = h, #endif };
static int __init f(struct a *p, int n, ...)
{
\tstruct b *q = p->x, *r = NULL; int v[4] = { 1, [2] = 3 };
\tlist_for_each_entry(q, &p->list, node) { kfree(q); }
\tif (p->x && n > 1) kfree(q); else r = (struct b *)g(&p->y, n ? 1 : 2);
\tfor (;;) { switch (n) { case 1: return -1; default: break; } }
\tdo { n--; } while (n > 0 && !READ_ONCE(p->z));
\twhile (n) goto out;
\tq->cb = sizeof(*q) + v[n] * -n;
\tcall_rcu(&q->rcu, free_cb) /* missing ; */
out:
\treturn h(p)->z + q[0] + "s" "t"[0] + 'c';
}
EXPORT_SYMBOL(f);
int g(void) { asm volatile("nop" ::: "memory"); return ({ int y = 1; y; }); }
`;

function fieldsOf(n: Node, fields: readonly string[]): string {
  return fields.map((f) => `${f}:${n.childForFieldName(f)?.startIndex ?? '-'}/${n.childrenForFieldName(f).map((c) => c.startIndex).join(',')}`).join(' ');
}

/**
 * Whether two trees of the same text answer every `Node` question the same way, node by node
 * (type, offsets, positions, error flag, children, named children, every field), and give the
 * same descendants by type. `fields`: the grammar's field names.
 */
export function sameTrees(a: Node, b: Node, fields: readonly string[]): boolean {
  // (a leaf has no fields to ask about)
  const say = (n: Node, leaf: boolean): string => JSON.stringify([n.type, n.startIndex, n.endIndex, n.startPosition, n.endPosition, n.hasError,
    leaf ? [] : n.namedChildren.map((c) => c.startIndex), leaf ? '' : fieldsOf(n, fields)]);
  const walk = (x: Node, y: Node, depth: number): boolean => {
    const xs = x.children, ys = y.children;
    if (depth > 200 || xs.length !== ys.length || say(x, !xs.length) !== say(y, !ys.length)) return false;
    for (let i = 0; i < xs.length; i++) if (!walk(xs[i], ys[i], depth + 1)) return false;
    return true;
  };
  if (!walk(a, b, 0)) return false;
  const types = ['ERROR', 'declaration', 'call_expression', 'identifier', 'field_expression', 'if_statement', ';'];
  const da = a.descendantsOfType(types), db = b.descendantsOfType(types);
  return da.length === db.length && da.every((n, i) => n.startIndex === db[i].startIndex && n.type === db[i].type);
}
