export { initParser, requestedBackend, parseC, parseTree, parseForTransfer, transferredParse, flatParser, reparseC, treeSexp, releaseTree, matches, parserInfo, parserBackend } from './parser';
export type { Tree, QueryMatch, QueryCapture, InputEdit, ParseResult, ParserInit, BackendName, BackendChoice, QueryName } from './parser';
export { textEdit } from './edit';
export { normalize } from './normalize';
export { outsideHeap } from './flat';
export type { Normalized, NormalizeOptions } from './normalize';
export type { Node, Point } from './nodes';
export { rawNodes } from './nodes';
