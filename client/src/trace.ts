/**
 * Walking a finding's interleaving in the editor: "kernlife: Next Trace Step" / "Previous Trace
 * Step" take the kernlife diagnostic at the cursor and move the selection through its trace steps,
 * across files, showing each step's text after the line and in the status bar.
 *
 * The steps come from the diagnostic's related information: the server sends one entry per trace
 * step that has a source location, with a message `step N (actor): event [handler] — text`
 * (server/src/lsp/main.ts, diagnosticsOf), after the finding's own notes ("freed here", the ops
 * table). Without such entries every related location is a step.
 */
import * as vscode from 'vscode';

interface Step { uri: vscode.Uri; range: vscode.Range; message: string }
interface Walk { diagnostic: vscode.Diagnostic; steps: Step[]; at: number }

const STEP = /^step \d+ /;

export function stepsOf(d: vscode.Diagnostic): Step[] {
  const related = d.relatedInformation ?? [];
  const steps = related.filter((r) => STEP.test(r.message));
  return (steps.length ? steps : related).map((r) => ({ uri: r.location.uri, range: r.location.range, message: r.message }));
}

export class TraceWalker implements vscode.Disposable {
  private walk: Walk | undefined;
  private moving = false;
  private readonly status = vscode.window.createStatusBarItem('kernlife.traceStep', vscode.StatusBarAlignment.Left, 100);
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
    after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
  });
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    this.status.name = 'kernlife trace step';
    this.status.command = 'kernlife.nextTraceStep';
    this.subscriptions.push(
      vscode.commands.registerCommand('kernlife.nextTraceStep', () => this.move(1)),
      vscode.commands.registerCommand('kernlife.previousTraceStep', () => this.move(-1)),
      // the walk ends when the cursor leaves the step (keys, mouse, Go to...) or the file is
      // edited (the steps' positions would drift); our own moves are not leaving
      vscode.window.onDidChangeTextEditorSelection((e) => { if (this.walk && !this.moving && !this.isAtStep(e.textEditor)) this.end(); }),
      vscode.window.onDidChangeActiveTextEditor((e) => { if (this.walk && !this.moving && !this.isAtStep(e)) this.end(); }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.walk && e.contentChanges.length && this.walk.steps.some((s) => s.uri.toString() === e.document.uri.toString())) this.end();
      }),
    );
  }

  private current(): Step | undefined {
    return this.walk?.steps[this.walk.at];
  }

  private isAtStep(editor: vscode.TextEditor | undefined): boolean {
    const s = this.current();
    return !!s && !!editor && editor.document.uri.toString() === s.uri.toString() && editor.selection.active.line === s.range.start.line;
  }

  /** The kernlife diagnostic with trace steps under the cursor (the narrowest one). */
  private diagnosticAt(editor: vscode.TextEditor): vscode.Diagnostic | undefined {
    const pos = editor.selection.active;
    const here = vscode.languages.getDiagnostics(editor.document.uri)
      .filter((d) => d.source === 'kernlife' && stepsOf(d).length && (d.range.contains(pos) || d.range.start.line === pos.line));
    here.sort((a, b) => (a.range.end.line - a.range.start.line) - (b.range.end.line - b.range.start.line));
    return here[0];
  }

  private async move(delta: 1 | -1): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!this.walk || !this.isAtStep(editor)) {
      const d = editor && this.diagnosticAt(editor);
      if (!d) {
        this.end();
        void vscode.window.showInformationMessage('kernlife: put the cursor on a kernlife finding to walk its trace.');
        return;
      }
      const steps = stepsOf(d);
      this.walk = { diagnostic: d, steps, at: delta > 0 ? 0 : steps.length - 1 };
    } else {
      this.walk.at = Math.min(this.walk.steps.length - 1, Math.max(0, this.walk.at + delta));
    }
    await this.show();
  }

  private async show(): Promise<void> {
    const w = this.walk;
    const s = this.current();
    if (!w || !s) return;
    let editor: vscode.TextEditor;
    this.moving = true;
    try {
      const doc = await vscode.workspace.openTextDocument(s.uri);
      editor = await vscode.window.showTextDocument(doc, { preserveFocus: false, selection: new vscode.Selection(s.range.start, s.range.start) });
    } finally {
      this.moving = false;
    }
    editor.revealRange(s.range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    for (const e of vscode.window.visibleTextEditors) e.setDecorations(this.decoration, []);
    const label = `${w.at + 1}/${w.steps.length}`;
    const text = s.message.replace(STEP, '');
    editor.setDecorations(this.decoration, [{ range: new vscode.Range(s.range.start.line, 0, s.range.start.line, 0), renderOptions: { after: { contentText: `◀ step ${label} ${text}` } } }]);
    this.status.text = `$(debug-step-over) kernlife step ${label} ${text.length > 80 ? `${text.slice(0, 79)}…` : text}`;
    const code = w.diagnostic.code;
    const rule = String((typeof code === 'object' ? code.value : code) ?? 'kernlife');
    this.status.tooltip = `${rule}, step ${label}: ${s.message} (click for the next step)`;
    this.status.show();
  }

  private end(): void {
    this.walk = undefined;
    for (const e of vscode.window.visibleTextEditors) e.setDecorations(this.decoration, []);
    this.status.hide();
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
    this.status.dispose();
    this.decoration.dispose();
  }
}
