/**
 * The only module family that touches tree-sitter. Owns the parser instance, the compiled
 * query cache, and the parse budget. Everything above works on `SyntaxNode`s handed out here
 * and turns them into plain facts before returning.
 */
import Parser from 'tree-sitter';
import C from 'tree-sitter-c';
import OPS_TABLES from '../../../grammars/c/ops-tables.scm';
import TABLE_MACROS from '../../../grammars/c/table-macros.scm';
import COMMENTS from '../../../grammars/c/comments.scm';
import { rootNode, type Node } from './nodes';

export type SyntaxNode = Parser.SyntaxNode;
export type Tree = Parser.Tree;
export type QueryMatch = Parser.QueryMatch;

let parser: Parser | null = null;

function getParser(): Parser {
  if (!parser) {
    parser = new Parser();
    parser.setLanguage(C as unknown as Parser.Language);
  }
  return parser;
}

export interface ParseResult {
  tree: Tree | null;
  /** The tree's root as a cheap `Node` (see nodes.ts); null when `tree` is. */
  root: Node | null;
  /** The parse was stopped by its time budget; `tree` is null. */
  timedOut: boolean;
  ms: number;
}

/** tree-sitter's node binding reads strings in chunks; big files want a big buffer. */
const BUFFER = 1 << 20;

export function parseC(text: string, budgetMs = 10_000): ParseResult {
  const p = getParser();
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  let timedOut = false;
  const tree = p.parse(text, null, {
    bufferSize: Math.min(BUFFER, Math.max(16 * 1024, text.length + 1)),
    progressCallback: () => {
      if (performance.now() > deadline) { timedOut = true; return true; }
      return false;
    },
  });
  const ms = performance.now() - t0;
  if (timedOut || !tree) return { tree: null, root: null, timedOut: true, ms };
  return { tree, root: rootNode(tree, p), timedOut: false, ms };
}

const QUERY_SOURCES = { opsTables: OPS_TABLES, tableMacros: TABLE_MACROS, comments: COMMENTS } as const;
export type QueryName = keyof typeof QUERY_SOURCES;
const compiled = new Map<QueryName, Parser.Query>();

/** Compiled once per process (per worker) and cached. */
export function query(name: QueryName): Parser.Query {
  let q = compiled.get(name);
  if (!q) {
    q = new Parser.Query(C as unknown as Parser.Language, QUERY_SOURCES[name]);
    compiled.set(name, q);
  }
  return q;
}

export function matches(name: QueryName, node: SyntaxNode): QueryMatch[] {
  return query(name).matches(node);
}

export function parserInfo(): string {
  return `tree-sitter (native) under node ${process.version}, modules ABI ${process.versions.modules}`;
}
