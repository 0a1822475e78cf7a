/**
 * VS Code client (dist/client.js): the only code that imports `vscode`. Starts the bundled
 * server over IPC, hands it the `kernlife.*` settings (and their changes) and a storage directory
 * for its index cache ("kernlife: Clear Index Cache" deletes it), and adds the
 * "kernlife: Simulate Ops Table" command: a webview with the tables, what was explored and each
 * violation's interleaving as a sequence diagram (drawn by the server; clicking a step opens its
 * source line). The webview runs under a strict Content-Security-Policy with a nonce.
 * `trace.ts` walks a finding's interleaving step by step in the editor; `status.ts` is the
 * language status item (index progress, last analysis).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { StatusItem } from './status';
import { TraceWalker } from './trace';

let client: LanguageClient | undefined;

interface SimViolation { property: string; use: string; object?: string; svg?: string }
interface SimTable { table: string; index?: number; kind: string; file: string; line: number; provider: string; severable: boolean; severReason: string; status: string; states?: number; events?: string[]; reason?: string; handlers: { field: string; name: string; variants: number }[]; violations: SimViolation[] }
interface SimProgram { function: string; file: string; line: number; policy: string; steps: number; violations: SimViolation[] }
interface SimReport { tables: SimTable[]; programs?: SimProgram[]; pinPolicy?: string }

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const module = context.asAbsolutePath(path.join('dist', 'server.js'));
  // the workspace index keeps every file's facts in the server's heap (a whole kernel tree is
  // several GB): room up to half the machine's memory, at most 16 GB, as the CLI gives check
  const heap = `--max-old-space-size=${Math.min(16384, Math.floor(os.totalmem() / 1048576 / 2))}`;
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv: [heap] } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [heap, '--nolazy', '--inspect=6009'] } },
  };
  const output = vscode.window.createOutputChannel('kernlife', { log: true });
  let status: StatusItem | undefined;
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'c' }],
    // storagePath: where the server keeps its index cache (this workspace's storage; the global one without a workspace)
    initializationOptions: { settings: vscode.workspace.getConfiguration('kernlife'), trusted: vscode.workspace.isTrusted, storagePath: (context.storageUri ?? context.globalStorageUri).fsPath },
    synchronize: { configurationSection: 'kernlife' },
    outputChannel: output,
    middleware: {
      handleDiagnostics: (uri, diagnostics, next) => { status?.noteResults(); next(uri, diagnostics); },
    },
  };
  client = new LanguageClient('kernlife', 'kernlife', serverOptions, clientOptions);
  status = new StatusItem(client);
  context.subscriptions.push(status, new TraceWalker());
  context.subscriptions.push(vscode.commands.registerCommand('kernlife.simulateTable', (uri?: string, table?: string) => simulate(context, uri, table)));
  context.subscriptions.push(vscode.commands.registerCommand('kernlife.showOutput', () => output.show()));
  context.subscriptions.push(vscode.commands.registerCommand('kernlife.clearIndexCache', async () => {
    const r = await client?.sendRequest<{ cleared: boolean; file: string | null }>('kernlife/clearCache', {});
    void vscode.window.showInformationMessage(r?.file ? (r.cleared ? 'kernlife: index cache cleared; the next start extracts every file again.' : `kernlife: could not delete ${r.file}`) : 'kernlife: no index cache in use.');
  }));
  await client.start();
  status.start();
}

async function simulate(context: vscode.ExtensionContext, uri?: string, table?: string): Promise<void> {
  if (!client) return;
  const editor = vscode.window.activeTextEditor;
  const target = uri ?? editor?.document.uri.toString();
  if (!target) { void vscode.window.showInformationMessage('kernlife: open a C file with an ops table first.'); return; }
  const position = !table && editor && editor.document.uri.toString() === target ? editor.selection.active : undefined;
  const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'kernlife: simulating' }, () =>
    client!.sendRequest<SimReport>('kernlife/simulate', { uri: target, ...(table ? { table } : {}), ...(position ? { position: { line: position.line, character: position.character } } : {}) }));
  const panel = vscode.window.createWebviewPanel('kernlife.simulation', `kernlife: ${table ?? path.basename(vscode.Uri.parse(target).fsPath)}`, vscode.ViewColumn.Beside, { enableScripts: true, localResourceRoots: [] });
  const nonce = crypto.randomBytes(16).toString('base64');
  panel.webview.html = render(report, nonce, panel.webview.cspSource);
  panel.webview.onDidReceiveMessage(async (m: { file?: string; line?: number }) => {
    if (!m.file || !m.line) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m.file));
    const pos = new vscode.Position(Math.max(0, m.line - 1), 0);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
  }, undefined, context.subscriptions);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function render(r: SimReport, nonce: string, cspSource: string): string {
  const svg = (v: SimViolation) => (v.svg ?? '').replace(/<style>/g, `<style nonce="${nonce}">`);
  const tables = r.tables.map((t) => `
    <section>
      <h2>${esc(t.index !== undefined ? `${t.table}[${t.index}]` : t.table)} <small>${esc(t.kind)}, ${esc(t.provider)} semantics</small></h2>
      <p>${t.severable ? 'Removal can release open files early' : 'No early release'}: ${esc(t.severReason)}</p>
      <ul>${t.handlers.map((h) => `<li><code>.${esc(h.field)} = ${esc(h.name)}</code> (${h.variants} path${h.variants === 1 ? '' : 's'})</li>`).join('')}</ul>
      <p>${t.status === 'skipped' ? `Not simulated: ${esc(t.reason ?? '')}` : `Explored ${t.states} states — ${esc(t.status)}. Events tried: ${esc((t.events ?? []).join(', '))}.`}</p>
      ${t.violations.length ? t.violations.map((v) => `<h3>${esc(v.property)}: ${esc(v.use)}</h3>${svg(v)}`).join('') : (t.status === 'skipped' ? '' : '<p class="ok">No violation: every interleaving of these events within the bounds keeps the properties.</p>')}
    </section>`).join('');
  const programs = (r.programs ?? []).map((p) => `
    <section>
      <h2>${esc(p.function)}() <small>user-space program, pin policy ${esc(p.policy)}</small></h2>
      ${p.violations.length ? p.violations.map((v) => `<h3>${esc(v.property)}: ${esc(v.use)}</h3>${svg(v)}`).join('') : '<p class="ok">No violation.</p>'}
    </section>`).join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);background:var(--vscode-editor-background)} small{color:var(--vscode-descriptionForeground);font-weight:normal} .ok{color:var(--vscode-testing-iconPassed,green)} svg g.step{cursor:pointer} section{margin-bottom:2em} li{line-height:1.6}</style>
</head><body>${programs}${tables || '<p>No ops table in this file.</p>'}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.addEventListener('click', (e) => {
  const g = e.target.closest && e.target.closest('g.step[data-file]');
  if (g) vscode.postMessage({ file: g.getAttribute('data-file'), line: Number(g.getAttribute('data-line')) });
});
</script></body></html>`;
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
