/**
 * Cheap syntax nodes over the tree-sitter node binding.
 *
 * The binding's public `SyntaxNode` costs about 2 µs per node handed to JS: every node is
 * unmarshalled with BigInt ids, cached on its tree behind a weak reference with a native
 * finalizer, and those finalizers then weigh on every garbage collection. kernlife touches a
 * few hundred thousand nodes per MB of kernel C, so that cost was most of `facts`.
 *
 * `RawNode` calls the same native methods the public wrapper calls (`NodeMethods` of the
 * binding, through the same node transfer array) but keeps a node as six numbers and a
 * symbol: no cache, no finalizer, no BigInt. The start offset and position are part of those
 * numbers, so reading them is free; everything else is one native call, as before.
 *
 * This leans on the binding's internal calling convention (tree-sitter 0.25.1, pinned in
 * package.json). `rootNode` checks it once per process against the public API on a small
 * parse and falls back to the public `SyntaxNode`s (same interface, same results, slower)
 * when anything differs or is missing. Only the native backend (native.ts) uses this file;
 * web-tree-sitter's nodes are plain JS objects already (wasm.ts).
 */
import type Parser from 'tree-sitter';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export interface Point {
  row: number;
  column: number;
}

/** The part of a tree-sitter node kernlife uses. The public `SyntaxNode` has the same shape. */
export interface Node {
  readonly type: string;
  readonly startIndex: number;
  readonly endIndex: number;
  readonly startPosition: Point;
  readonly endPosition: Point;
  readonly hasError: boolean;
  readonly children: Node[];
  readonly namedChildren: Node[];
  childForFieldName(name: string): Node | null;
  childrenForFieldName(name: string): Node[];
  descendantsOfType(types: string | string[]): Node[];
}

type NativeFn = (tree: Parser.Tree, ...args: unknown[]) => unknown;
interface Binding {
  nodeTransferArray: Uint32Array;
  pointTransferArray: Uint32Array;
  NodeMethods: Record<string, NativeFn>;
  getNodeTypeNamesById(language: unknown): (string | null)[];
  getNodeFieldNamesById(language: unknown): (string | null)[];
  Tree: unknown;
}

/** Per-node fields of the transfer array: id (2 words), start byte, start row, start column (bytes), alias. */
const FIELDS = 6;
const ERROR_SYMBOL = 0xffff;

let B: Binding;
let NM: Record<string, NativeFn>;
let NAMES: (string | null)[] = [];
const FIELD_IDS = new Map<string, number>();

class RawNode implements Node {
  constructor(
    readonly tree: Parser.Tree,
    readonly i0: number,
    readonly i1: number,
    readonly s: number,
    readonly r: number,
    readonly c: number,
    readonly al: number,
    readonly sym: number,
  ) {}

  private load(): void {
    const t = B.nodeTransferArray;
    t[0] = this.i0; t[1] = this.i1; t[2] = this.s; t[3] = this.r; t[4] = this.c; t[5] = this.al;
  }

  get type(): string {
    const n = NAMES[this.sym];
    if (n) return n;
    if (this.sym === ERROR_SYMBOL) return 'ERROR';
    // an anonymous token (`->`, `(`): the name is a function of the symbol, ask once
    this.load();
    return (NAMES[this.sym] = NM.type(this.tree) as string);
  }
  // the binding parses UTF-16: byte offsets and columns are twice the string's
  get startIndex(): number { return this.s >>> 1; }
  get startPosition(): Point { return { row: this.r, column: this.c >>> 1 }; }
  get endIndex(): number { this.load(); return NM.endIndex(this.tree) as number; }
  get endPosition(): Point {
    this.load();
    NM.endPosition(this.tree);
    const p = B.pointTransferArray;
    return { row: p[0], column: p[1] };
  }
  get hasError(): boolean { this.load(); return NM.hasError(this.tree) as boolean; }
  get children(): Node[] { this.load(); return many(NM.children(this.tree), this.tree); }
  get namedChildren(): Node[] { this.load(); return many(NM.namedChildren(this.tree), this.tree); }
  childForFieldName(name: string): Node | null {
    this.load();
    return one(NM.childForFieldId(this.tree, FIELD_IDS.get(name) ?? 0), this.tree);
  }
  childrenForFieldName(name: string): Node[] {
    this.load();
    return many(NM.childrenForFieldId(this.tree, FIELD_IDS.get(name) ?? 0), this.tree);
  }
  descendantsOfType(types: string | string[]): Node[] {
    this.load();
    return many(NM.descendantsOfType(this.tree, typeof types === 'string' ? [types] : types), this.tree);
  }
}

/** A node the binding already cached as a public SyntaxNode (only the root, here). */
function fromPublic(n: Parser.SyntaxNode & Record<number, number>, tree: Parser.Tree): RawNode {
  return new RawNode(tree, n[0], n[1], n[2], n[3], n[4], n[5], n.typeId);
}

function one(v: unknown, tree: Parser.Tree): Node | null {
  if (typeof v === 'number') {
    const t = B.nodeTransferArray;
    return new RawNode(tree, t[0], t[1], t[2], t[3], t[4], t[5], v);
  }
  if (v && typeof v === 'object') return fromPublic(v as Parser.SyntaxNode & Record<number, number>, tree);
  return null;
}

function many(v: unknown, tree: Parser.Tree): Node[] {
  if (!Array.isArray(v)) return [];
  const t = B.nodeTransferArray; // read after the call: the binding grows it by replacing it
  const out: Node[] = new Array(v.length);
  let off = 0;
  let cached = false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x === 'number') {
      out[i] = new RawNode(tree, t[off], t[off + 1], t[off + 2], t[off + 3], t[off + 4], t[off + 5], x);
      off += FIELDS;
    } else if (x && typeof x === 'object') {
      cached = true; // (converted below: reading its type id overwrites the transfer array)
    } else {
      // a null node still takes its slot in the transfer array
      off += FIELDS;
      out[i] = null as unknown as Node;
    }
  }
  if (cached) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x && typeof x === 'object') out[i] = fromPublic(x as Parser.SyntaxNode & Record<number, number>, tree);
    }
  }
  return out;
}

let fast: boolean | null = null;

function loadBinding(ParserMod: typeof Parser, C: unknown): boolean {
  try {
    const main = require.resolve('tree-sitter');
    const req = createRequire(main);
    const b = req('node-gyp-build')(path.dirname(main)) as Binding;
    // the very module instance the public API uses, or nothing
    if (b.Tree !== (ParserMod as unknown as { Tree: unknown }).Tree || !(b.nodeTransferArray instanceof Uint32Array)) return false;
    B = b;
    NM = b.NodeMethods;
    for (const m of ['type', 'endIndex', 'endPosition', 'hasError', 'children', 'namedChildren', 'childForFieldId', 'childrenForFieldId', 'descendantsOfType']) {
      if (typeof NM[m] !== 'function') return false;
    }
    NAMES = b.getNodeTypeNamesById(C);
    const fields = b.getNodeFieldNamesById(C);
    fields.forEach((f, i) => { if (f) FIELD_IDS.set(f, i); });
    return NAMES.length > 0 && FIELD_IDS.size > 0;
  } catch {
    return false;
  }
}

const PROBE = `static int f(struct a *p, int n)
{
\tstruct b *q = p->x, *r;
\tif (p->x && n > 1) kfree(q); else r = (struct b *)g(&p->y, n ? 1 : 2);
\tfor (;;) { switch (n) { case 1: return -1; } }
\treturn h(p)->z + q[0];
}
struct file_operations fops = { .open = f, };
`;

type Probe = (n: Node) => unknown;
const PROBES: Probe[] = [
  (n) => n.type, (n) => n.startIndex, (n) => n.endIndex, (n) => n.startPosition, (n) => n.endPosition, (n) => n.hasError,
  (n) => n.children.map((c) => [c.type, c.startIndex, c.endIndex]),
  (n) => n.namedChildren.map((c) => [c.type, c.startIndex]),
  ...['declarator', 'body', 'type', 'value', 'condition', 'consequence', 'alternative', 'function', 'arguments', 'argument', 'field', 'operator', 'left', 'right', 'name', 'nonexistent']
    .map((f): Probe => (n) => n.childForFieldName(f)?.startIndex ?? null),
  (n) => n.childrenForFieldName('declarator').map((c) => c.startIndex),
];

/** Check the raw path against the public API on a small parse: same nodes, same answers. */
function selfCheck(parser: Parser): boolean {
  // two trees, so the raw side sees uncached nodes as in real use
  const pubTree = parser.parse(PROBE);
  const rawTree = parser.parse(PROBE);
  const pub = pubTree.rootNode as unknown as Node;
  const raw = fromPublic(rawTree.rootNode as Parser.SyntaxNode & Record<number, number>, rawTree);
  const all = ['translation_unit', 'function_definition', 'declaration', 'init_declarator', 'if_statement', 'call_expression', 'field_expression',
    'identifier', 'cast_expression', 'conditional_expression', 'return_statement', 'case_statement', 'subscript_expression', 'initializer_list',
    'parameter_list', 'compound_statement', 'for_statement', 'pointer_expression', 'binary_expression'];
  const a = pub.descendantsOfType(all);
  const b = raw.descendantsOfType(all);
  if (a.length !== b.length || a.length < 30) return false;
  for (let i = 0; i < a.length; i++) {
    for (const p of PROBES) if (JSON.stringify(p(a[i])) !== JSON.stringify(p(b[i]))) return false;
  }
  return true;
}

/**
 * Decides once per process whether raw nodes are used: the binding's internals are there and
 * give the public API's answers on a probe parse. `ParserMod`/`C`: the loaded modules.
 */
export function enableRawNodes(ParserMod: typeof Parser, C: unknown, parser: Parser): boolean {
  if (fast === null) {
    fast = false;
    try { fast = loadBinding(ParserMod, C) && selfCheck(parser); } catch { fast = false; }
  }
  return fast;
}

/** The root of a tree as a `Node`: a `RawNode` when the binding passed the check, else the public node. */
export function rootNode(tree: Parser.Tree): Node {
  if (!fast) return tree.rootNode as unknown as Node;
  return fromPublic(tree.rootNode as Parser.SyntaxNode & Record<number, number>, tree);
}

/** For tests and benchmarks: whether raw nodes are in use (null until the native backend has loaded). */
export function rawNodes(): boolean | null {
  return fast;
}
