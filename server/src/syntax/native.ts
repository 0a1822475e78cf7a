/**
 * The native backend: the `tree-sitter` node binding with `tree-sitter-c`'s native grammar.
 * Loaded on demand (not at import), so a binding that cannot load (an older libstdc++, a
 * platform without a prebuild) is an error parser.ts can catch and fall back from.
 */
import type ParserT from 'tree-sitter';
import type { Backend, InputEdit, QueryMatch, Tree } from './backend';
import { enableRawNodes, rootNode, type Node } from './nodes';

/** tree-sitter's node binding reads strings in chunks; big files want a big buffer. */
const BUFFER = 1 << 20;

/** Throws when the binding or the grammar cannot be loaded or cannot parse. */
export function loadNative(): Backend {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Parser = require('tree-sitter') as typeof ParserT;
  const C = require('tree-sitter-c') as ParserT.Language;
  const parser = new Parser();
  parser.setLanguage(C);
  const probe = parser.parse('int x;');
  if (probe.rootNode.type !== 'translation_unit') throw new Error(`tree-sitter: probe parse gave ${probe.rootNode.type}`);
  enableRawNodes(Parser, C, parser);
  const queries = new Map<string, ParserT.Query>();
  const T = (t: Tree) => t as unknown as ParserT.Tree;

  return {
    name: 'native',
    info: `tree-sitter (native) under node ${process.version}, modules ABI ${process.versions.modules}`,
    parse(text: string, old: Tree | null, stop: () => boolean): Tree | null {
      let stopped = false;
      const tree = parser.parse(text, old ? T(old) : null, {
        bufferSize: Math.min(BUFFER, Math.max(16 * 1024, text.length + 1)),
        progressCallback: () => (stopped = stop()),
      });
      if (stopped || !tree) { parser.reset(); return null; }
      return tree as unknown as Tree;
    },
    root: (tree: Tree): Node => rootNode(T(tree)),
    sexp: (tree: Tree): string => T(tree).rootNode.toString(),
    edit: (tree: Tree, e: InputEdit): void => { T(tree).edit(e); },
    free: (): void => {},
    matches(source: string, tree: Tree): QueryMatch[] {
      let q = queries.get(source);
      if (!q) queries.set(source, (q = new Parser.Query(C, source)));
      return q.matches(T(tree).rootNode).map((m) => ({
        pattern: m.pattern,
        captures: m.captures.map((c) => ({ name: c.name, node: c.node as unknown as Node })),
      }));
    },
  };
}
