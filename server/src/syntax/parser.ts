/**
 * The only module family that touches tree-sitter. Owns the parser backend, the compiled
 * query cache, and the parse budget. Everything above works on `Node`s handed out here and
 * turns them into plain facts before returning.
 *
 * Two backends give the same trees: the native node binding (native.ts, the default and the
 * fastest) and web-tree-sitter with tree-sitter-c's wasm (wasm.ts), used where the native one
 * cannot load or when `KERNLIFE_PARSER=wasm`. The wasm one loads asynchronously, so entry points
 * `await initParser()` once per thread; after that everything here is synchronous. Without
 * `initParser()` the first parse loads the native backend synchronously (as before there
 * were two).
 */
import OPS_TABLES from '../../../grammars/c/ops-tables.scm';
import TABLE_MACROS from '../../../grammars/c/table-macros.scm';
import COMMENTS from '../../../grammars/c/comments.scm';
import type { Backend, BackendName, QueryMatch, Tree } from './backend';
import { loadNative } from './native';
import { loadWasm } from './wasm';
import { textEdit } from './edit';
import type { Node } from './nodes';
import { AGREEMENT_PROBE, flatFieldNames, flatLoaded, flatTree, parseFlat, sameTrees } from './flat';

export type { BackendName, Tree, QueryMatch, QueryCapture, InputEdit } from './backend';

/**
 * Which backend to load: `KERNLIFE_PARSER=native|wasm` forces one; auto is native, else wasm.
 * `flat` is auto that insists on the flat parser (flat.ts) for whole-file parses.
 */
export type BackendChoice = BackendName | 'auto' | 'flat';

export interface ParserInit {
  backend: BackendName;
  /** Library, version and runtime, for the log. */
  info: string;
  /** Set when auto fell back to wasm: why the native binding did not load. */
  fallback?: string;
}

let current: Backend | null = null;
let native: Backend | null = null;
let state: ParserInit | null = null;

const errorText = (e: unknown): string => ((e as Error)?.message ?? String(e)).split('\n')[0];

/** The backend `KERNLIFE_PARSER` asks for ('auto' when unset or empty). */
export function requestedBackend(): BackendChoice {
  const v = (process.env.KERNLIFE_PARSER ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'native' || v === 'wasm' || v === 'flat') return v;
  throw new Error(`KERNLIFE_PARSER=${process.env.KERNLIFE_PARSER}: expected native, wasm or flat`);
}

/** The backend trees come from: `flat` is the native binding once the flat parser is usable (else an error). */
function treeBackend(choice: BackendChoice): Exclude<BackendChoice, 'flat'> {
  if (choice !== 'flat') return choice;
  if (!flatUsable()) throw new Error(`KERNLIFE_PARSER=flat: ${flatWhy}`);
  return 'native';
}

function getNative(): Backend {
  if (!native) native = loadNative();
  return native;
}

function use(b: Backend, fallback?: string): ParserInit {
  current = b;
  state = { backend: b.name, info: b.info, ...(fallback !== undefined ? { fallback } : {}) };
  return state;
}

/**
 * Loads the parser backend (once per thread; again only to switch when `choice` differs).
 * `choice` defaults to `KERNLIFE_PARSER`. Rejects when a forced backend cannot load, or when
 * neither can.
 */
export async function initParser(asked: BackendChoice = requestedBackend()): Promise<ParserInit> {
  const choice = treeBackend(asked);
  if (state && (choice === 'auto' || choice === state.backend)) return state;
  if (choice === 'wasm') return use(await loadWasm());
  if (choice === 'native') {
    try {
      return use(getNative());
    } catch (e) {
      throw new Error(`the native tree-sitter binding cannot be loaded: ${errorText(e)}`);
    }
  }
  let why: string;
  try {
    return use(getNative());
  } catch (e) {
    why = errorText(e);
  }
  try {
    return use(await loadWasm(), why);
  } catch (e) {
    throw new Error(`no parser: the native tree-sitter binding cannot be loaded (${why}), nor web-tree-sitter (${errorText(e)})`);
  }
}

/** The loaded backend; before `initParser()`, the native one, loaded now (synchronously). */
function backend(): Backend {
  if (current) return current;
  const choice = treeBackend(requestedBackend());
  if (choice === 'wasm') throw new Error('KERNLIFE_PARSER=wasm: the wasm parser loads asynchronously; call `await initParser()` first');
  try {
    use(getNative());
    return current!;
  } catch (e) {
    throw new Error(`the native tree-sitter binding cannot be loaded (${errorText(e)}); \`await initParser()\` falls back to web-tree-sitter`);
  }
}

export interface ParseResult {
  tree: Tree | null;
  /** The tree's root as a `Node` (see nodes.ts); null when `tree` is. */
  root: Node | null;
  /** The parse was stopped by its time budget; `tree` is null. */
  timedOut: boolean;
  /** Reading a node's end, children or fields costs no native call (the flat parser's nodes). */
  cheapNodes?: boolean;
  ms: number;
}

function run(text: string, old: Tree | null, budgetMs: number): ParseResult {
  const b = backend();
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const tree = b.parse(text, old, () => performance.now() > deadline);
  const ms = performance.now() - t0;
  if (!tree) return { tree: null, root: null, timedOut: true, ms };
  return { tree, root: b.root(tree), timedOut: false, ms };
}

let flatOk: boolean | null = null;
let flatWhy = '';

/**
 * Whether whole-file parses go to the flat parser: asked for (auto or flat), loaded, the node
 * binding is the backend in use, and the two agree node by node on a probe (decided once).
 */
function flatUsable(): boolean {
  if (flatOk !== null) return flatOk;
  flatOk = false;
  try {
    const choice = requestedBackend();
    if (choice === 'native' || choice === 'wasm') { flatWhy = `KERNLIFE_PARSER=${choice}`; return false; }
    if (!flatLoaded()) { flatWhy = 'its addon (dist/kernlife-flat.node) is not built or does not load'; return false; }
    const nb = current?.name === 'native' ? current : current ? null : getNative();
    if (!nb) { flatWhy = 'the node binding is not the backend in use'; return false; }
    const tree = nb.parse(AGREEMENT_PROBE, null, () => false);
    const flat = parseFlat(AGREEMENT_PROBE, 10_000);
    if (!tree || !flat || !sameTrees(nb.root(tree), flat.root, flatFieldNames())) { flatWhy = 'it disagrees with the node binding on the probe parse'; return false; }
    flatOk = true;
  } catch (e) {
    flatWhy = errorText(e);
  }
  return flatOk;
}

declare const FLAT: unique symbol;
/** What `tree` is in a ParseResult from the flat parser: a token, nothing to edit or free. */
const FLAT_TREE = { [Symbol.for('kernlife.flat')]: true } as unknown as Tree & { readonly [FLAT]: true };

/**
 * A whole-file parse. With the flat parser in use (flatUsable) the result's `tree` is only a
 * token (not for reparseC, treeSexp or matches) and `root` is a FlatNode; otherwise it is the
 * backend's tree. The language server, which keeps trees to reparse, calls backend trees only.
 */
export function parseC(text: string, budgetMs = 10_000): ParseResult {
  // (no flat parser, or a tree the addon could not flatten: the binding's, as without it)
  const flat = parseForTransfer(text, budgetMs);
  return flat ? transferredParse(flat) : run(text, null, budgetMs);
}

/**
 * parseC's flat parse as plain data, which can be handed to another thread: the flat parser's
 * array (its buffer can be transferred), or null when the flat parser is not in use or could
 * not flatten this tree (then parse with the binding). `timedOut`: the budget ran out.
 */
export function parseForTransfer(text: string, budgetMs = 10_000): { nodes: Uint32Array | null; timedOut: boolean; ms: number } | null {
  if (!flatUsable()) return null;
  const t0 = performance.now();
  let flat;
  try {
    flat = parseFlat(text, budgetMs);
  } catch {
    return null;
  }
  return { nodes: flat ? flat.a : null, timedOut: !flat, ms: performance.now() - t0 };
}

/** The ParseResult of a parseForTransfer made on another thread (parseC's, for the same text). */
export function transferredParse(p: { nodes: Uint32Array | null; timedOut: boolean; ms: number }): ParseResult {
  if (!p.nodes) return { tree: null, root: null, timedOut: true, ms: p.ms };
  return { tree: FLAT_TREE, root: flatTree(p.nodes).root, timedOut: false, ms: p.ms, cheapNodes: true };
}

/** A whole-file parse that keeps the backend's tree (for reparseC, treeSexp, matches). */
export function parseTree(text: string, budgetMs = 10_000): ParseResult {
  return run(text, null, budgetMs);
}

/** Whether parseC hands out flat trees (see flatUsable), and if not, why. */
export function flatParser(): { used: boolean; why: string } {
  return { used: flatUsable(), why: flatWhy };
}

/**
 * Incremental reparse: `old` is the tree of `oldText`; the edit that turns `oldText` into
 * `newText` (common prefix and suffix, see edit.ts) is applied to `old`, and the parser reuses
 * its unchanged parts. The result is the tree a fresh `parseC(newText)` gives. `old` is edited
 * in place: afterwards its positions describe `newText`, so parse from it only this once
 * (keep the new tree for the next edit). Both texts are normalised text (normalize.ts keeps
 * offsets, so an edit of the file is the same edit of its normalised text).
 */
export function reparseC(old: Tree, oldText: string, newText: string, budgetMs = 10_000): ParseResult {
  backend().edit(old, textEdit(oldText, newText));
  return run(newText, old, budgetMs);
}

/** The root's S-expression, as tree-sitter prints it. */
export function treeSexp(tree: Tree): string {
  return backend().sexp(tree);
}

/**
 * Frees a tree now instead of when it is collected (matters for wasm, whose trees live in the
 * wasm heap; a no-op for native). Its nodes must not be used afterwards.
 */
export function releaseTree(tree: Tree): void {
  backend().free(tree);
}

const QUERY_SOURCES = { opsTables: OPS_TABLES, tableMacros: TABLE_MACROS, comments: COMMENTS } as const;
export type QueryName = keyof typeof QUERY_SOURCES;

/** Runs one of grammars/c's queries over a tree (compiled once per thread and cached). */
export function matches(name: QueryName, tree: Tree): QueryMatch[] {
  return backend().matches(QUERY_SOURCES[name], tree);
}

/** Which parser is in use, for logs (loads the native one when nothing is loaded yet). */
export function parserInfo(): string {
  const b = backend();
  const flat = flatUsable() ? '; whole files through the flat parser (dist/kernlife-flat.node)' : '';
  return (state?.fallback !== undefined ? `${b.info}; the native binding did not load: ${state.fallback}` : b.info) + flat;
}

/** The backend in use, or null before any was loaded. */
export function parserBackend(): BackendName | null {
  return current?.name ?? null;
}
