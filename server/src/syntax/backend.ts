/**
 * What parser.ts needs from a tree-sitter backend: the native node binding (native.ts) or
 * web-tree-sitter with the grammar's wasm (wasm.ts). Both parse the same JS string as UTF-16,
 * so indices and columns are string indices in both, and both hand out `Node`s.
 */
import type { Node, Point } from './nodes';

export type BackendName = 'native' | 'wasm';

declare const TREE: unique symbol;
/** A parse tree of whichever backend made it; opaque outside syntax/. */
export interface Tree { readonly [TREE]: true }

/** tree-sitter's edit description, in string indices (both bindings take these). */
export interface InputEdit {
  startIndex: number;
  oldEndIndex: number;
  newEndIndex: number;
  startPosition: Point;
  oldEndPosition: Point;
  newEndPosition: Point;
}

export interface QueryCapture { name: string; node: Node }
export interface QueryMatch { pattern: number; captures: QueryCapture[] }

export interface Backend {
  readonly name: BackendName;
  /** For logs: which library, which runtime. */
  readonly info: string;
  /** Null when `stop` returned true (the parser is reset then). `old` must have been edited to match. */
  parse(text: string, old: Tree | null, stop: () => boolean): Tree | null;
  root(tree: Tree): Node;
  /** The root's S-expression (tests compare trees with it). */
  sexp(tree: Tree): string;
  edit(tree: Tree, e: InputEdit): void;
  /** Frees a tree now (wasm: its memory in the wasm heap; native: left to the GC). */
  free(tree: Tree): void;
  /** Runs a query (compiled once per source) over the whole tree. */
  matches(source: string, tree: Tree): QueryMatch[];
}
