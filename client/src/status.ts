/**
 * The kernlife entry in the C language status (the `{}` next to "C" in the status bar): whether
 * the workspace index is ready, how many files it holds, and when results last arrived.
 *
 * Fed by the server's `kernlife/status` request (`{ ready, files, generation }`,
 * server/src/lsp/main.ts): polled every second while the index is being built, then asked again
 * (debounced) whenever the server publishes diagnostics. The time of the last analysis is the time
 * of the last publish the client saw: the server does not report its own check times.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';

export interface ServerStatus { ready: boolean; files: number; generation: number }

const POLL_MS = 1000;
const DEBOUNCE_MS = 300;

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.languages.createLanguageStatusItem('kernlife.status', { language: 'c' });
  private timer: NodeJS.Timeout | undefined;
  private lastPublish: Date | undefined;
  private published = 0;
  private disposed = false;

  constructor(private readonly client: LanguageClient) {
    this.item.name = 'kernlife';
    this.item.text = 'kernlife: starting';
    this.item.busy = true;
    this.item.command = { title: 'Show Output', command: 'kernlife.showOutput' };
  }

  /** From the client's diagnostics middleware: the server just published results for a file. */
  noteResults(): void {
    this.lastPublish = new Date();
    this.published++;
    this.schedule(DEBOUNCE_MS);
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = undefined; void this.refresh(); }, ms);
  }

  private async refresh(): Promise<void> {
    let s: ServerStatus;
    try {
      s = await this.client.sendRequest<ServerStatus>('kernlife/status');
    } catch (e) {
      if (this.disposed) return;
      this.item.busy = false;
      this.item.severity = vscode.LanguageStatusSeverity.Error;
      this.item.text = 'kernlife: server not running';
      this.item.detail = String((e as Error)?.message ?? e);
      this.schedule(5 * POLL_MS);
      return;
    }
    if (this.disposed) return;
    this.item.severity = vscode.LanguageStatusSeverity.Information;
    this.item.busy = !s.ready;
    if (!s.ready) {
      this.item.text = `kernlife: indexing (${s.files} files)`;
      this.item.detail = 'the workspace index is being built';
      this.schedule(POLL_MS);
      return;
    }
    this.item.text = `kernlife: ${s.files} files indexed`;
    this.item.detail = this.lastPublish
      ? `last analysis ${this.lastPublish.toLocaleTimeString()} (${this.published} publishes, generation ${s.generation})`
      : 'waiting for the first check';
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
