export { parseC, matches, parserInfo } from './parser';
export type { SyntaxNode, Tree, QueryMatch, ParseResult } from './parser';
export { normalize } from './normalize';
export type { Normalized, NormalizeOptions } from './normalize';
export type { Node, Point } from './nodes';
export { rawNodes } from './nodes';
