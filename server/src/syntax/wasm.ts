/**
 * The wasm backend: web-tree-sitter (its runtime, tree-sitter.wasm, next to its own .cjs) with
 * the tree-sitter-c.wasm the tree-sitter-c package ships. No native code, so it loads wherever
 * Node runs; slower than the native binding (see BENCHMARKS.md). Loading is async (the wasm
 * modules are compiled and instantiated), after which parsing is synchronous like native.
 *
 * web-tree-sitter's nodes are plain JS objects (no finalizer, no cache on the tree) and
 * already have the `Node` shape, so they are handed out as they are. Its trees live in the
 * wasm heap and are not collected with their JS object: each tree is registered with a
 * FinalizationRegistry that deletes it once the tree (and so every node, which holds its
 * tree) is unreachable; `free` deletes one at once.
 */
import * as path from 'node:path';
import type * as W from 'web-tree-sitter';
import type { Backend, InputEdit, QueryMatch, Tree } from './backend';
import type { Node } from './nodes';

/**
 * Where tree-sitter-c.wasm may be: in the tree-sitter-c package Node resolves (dist/node_modules
 * in the vsix, node_modules in the repository), then in every other node_modules on the lookup
 * path (a dist/node_modules staged before the wasm was, say).
 */
export function grammarWasmCandidates(): string[] {
  const out: string[] = [];
  try { out.push(path.join(path.dirname(require.resolve('tree-sitter-c/package.json')), 'tree-sitter-c.wasm')); } catch { /* not installed */ }
  for (const d of require.resolve.paths('tree-sitter-c') ?? []) out.push(path.join(d, 'tree-sitter-c', 'tree-sitter-c.wasm'));
  return [...new Set(out)];
}

let loading: Promise<Backend> | null = null;

/** Loads once per thread; rejects when web-tree-sitter or the grammar cannot be loaded. */
export function loadWasm(): Promise<Backend> {
  if (!loading) loading = load();
  return loading;
}

async function load(): Promise<Backend> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('web-tree-sitter') as typeof W;
  const { Parser, Language, Query } = mod;
  const runtimeDir = path.dirname(require.resolve('web-tree-sitter'));
  // the runtime's wasm sits next to its .cjs, in the repository and in the vsix alike
  await Parser.init({ locateFile: (file: string) => path.join(runtimeDir, file) } as unknown as EmscriptenModuleStub);
  let lang: W.Language | null = null;
  let grammar = '';
  const tried: string[] = [];
  for (const f of grammarWasmCandidates()) {
    try {
      lang = await Language.load(f);
      grammar = f;
      break;
    } catch (e) {
      tried.push(`${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (!lang) throw new Error(`tree-sitter-c.wasm not found (${tried.join('; ')})`);
  const C = lang;
  const parser = new Parser();
  parser.setLanguage(C);
  const queries = new Map<string, W.Query>();

  // A tree's address is all `Tree.prototype.delete` reads; the finalizer has only the address.
  const deleteAt = (address: number): void => {
    const t = Object.create(mod.Tree.prototype) as W.Tree & { 0: number };
    t[0] = address;
    t.delete();
  };
  const registry = new FinalizationRegistry<number>(deleteAt);
  const T = (t: Tree) => t as unknown as W.Tree & { 0: number };
  const own = (t: W.Tree): Tree => {
    registry.register(t, (t as W.Tree & { 0: number })[0], t);
    return t as unknown as Tree;
  };

  const probe = parser.parse('int x;');
  if (!probe || probe.rootNode.type !== 'translation_unit') throw new Error('web-tree-sitter: probe parse failed');
  probe.delete();

  const version = (require(path.join(runtimeDir, 'package.json')) as { version: string }).version;
  return {
    name: 'wasm',
    info: `web-tree-sitter ${version} (wasm) with ${grammar} (ABI ${C.abiVersion}) under node ${process.version}`,
    parse(text: string, old: Tree | null, stop: () => boolean): Tree | null {
      const tree = parser.parse(text, old ? T(old) : null, { progressCallback: () => stop() });
      if (!tree) { parser.reset(); return null; }
      return own(tree);
    },
    root: (tree: Tree): Node => T(tree).rootNode as unknown as Node,
    sexp: (tree: Tree): string => T(tree).rootNode.toString(),
    edit: (tree: Tree, e: InputEdit): void => { T(tree).edit(e); },
    free(tree: Tree): void {
      const t = T(tree);
      if (!t[0]) return;
      registry.unregister(t);
      t.delete();
    },
    matches(source: string, tree: Tree): QueryMatch[] {
      let q = queries.get(source);
      if (!q) queries.set(source, (q = new Query(C, source)));
      return q.matches(T(tree).rootNode).map((m) => ({
        pattern: m.patternIndex,
        captures: m.captures.map((c) => ({ name: c.name, node: c.node as unknown as Node })),
      }));
    },
  };
}

/** Parser.init's options are an Emscripten module object; only `locateFile` is set here. */
type EmscriptenModuleStub = Parameters<typeof W.Parser.init>[0];
