/**
 * Language server entry (dist/server.js). The only place that imports vscode-languageserver.
 * Today it serves document symbols for ops tables and functions and a `kernlife/tables`
 * request; diagnostics arrive with the rules (see docs/ROADMAP in README).
 */
import { createConnection, ProposedFeatures, SymbolKind, TextDocuments, TextDocumentSyncKind, type DocumentSymbol } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { extract, DEFAULT_OPTIONS } from '../analysis';
import { parserInfo } from '../syntax';
import type { Loc } from '../facts/types';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

connection.onInitialize(() => {
  connection.console.info(`kernlife: ${parserInfo()}`);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      documentSymbolProvider: true,
    },
    serverInfo: { name: 'kernlife' },
  };
});

const range = (l: Loc) => ({ start: { line: l.line - 1, character: l.col - 1 }, end: { line: l.endLine - 1, character: l.endCol - 1 } });

function factsOf(uri: string) {
  const doc = documents.get(uri);
  if (!doc) return null;
  const text = doc.getText();
  if (text.length > DEFAULT_OPTIONS.maxFileBytes) return null;
  return extract(uri, text, { ...DEFAULT_OPTIONS, level: 'tables' });
}

connection.onDocumentSymbol((p): DocumentSymbol[] => {
  try {
    const f = factsOf(p.textDocument.uri);
    if (!f) return [];
    const tables: DocumentSymbol[] = f.tables.map((t) => ({
      name: t.index !== undefined ? `${t.name}[${t.index}]` : t.name,
      detail: `struct ${t.struct}${t.macro ? ` (${t.macro})` : ''}`,
      kind: SymbolKind.Struct,
      range: range(t.loc),
      selectionRange: range(t.loc),
      children: t.fields.map((fl) => ({ name: `.${fl.field}`, detail: fl.value, kind: SymbolKind.Field, range: range(fl.loc), selectionRange: range(fl.loc) })),
    }));
    const fns: DocumentSymbol[] = f.functions.map((fn) => ({ name: fn.name, kind: SymbolKind.Function, range: range(fn.loc), selectionRange: range(fn.nameLoc) }));
    return [...tables, ...fns];
  } catch (e) {
    connection.console.error(`kernlife: documentSymbol failed: ${(e as Error).message}`);
    return [];
  }
});

connection.onRequest('kernlife/tables', (p: { uri: string }) => {
  try {
    return factsOf(p.uri)?.tables ?? [];
  } catch (e) {
    connection.console.error(`kernlife: tables failed: ${(e as Error).message}`);
    return [];
  }
});

documents.listen(connection);
connection.listen();
