/**
 * A trace as a sequence diagram: one lane per actor (task A, task B, kworker, rcu), one row per
 * step, each step a box on its actor's lane with the event, the handler chain and the source
 * line. Plain SVG text with no script and no external resources, so a webview with a strict
 * Content-Security-Policy can show it; colors come from CSS variables with fallbacks, so the
 * editor's theme applies. Each step carries `data-file`/`data-line` for click-to-source.
 */
import type { TraceStep } from './trace';

const ACTOR_ORDER = ['task A', 'task B', 'kworker', 'rcu'];
const LANE_W = 260;
const ROW_H = 46;
const TOP = 40;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

export interface DiagramOptions {
  title?: string;
  /** Index of the step to mark as the failure (default: the last one). */
  failAt?: number;
}

export function traceSvg(trace: TraceStep[], opts: DiagramOptions = {}): string {
  const actors = ACTOR_ORDER.filter((a) => trace.some((s) => s.actor === a));
  for (const s of trace) if (!actors.includes(s.actor)) actors.push(s.actor);
  const width = Math.max(1, actors.length) * LANE_W + 40;
  const height = TOP + trace.length * ROW_H + 30;
  const laneX = (a: string) => 20 + actors.indexOf(a) * LANE_W + LANE_W / 2;
  const failAt = opts.failAt ?? trace.length - 1;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="kernlife-trace" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(opts.title ?? 'interleaving')}">`);
  out.push('<style>.lane{stroke:var(--vscode-editorLineNumber-foreground,#888);stroke-dasharray:4 4}.actor{font:bold 13px sans-serif;fill:var(--vscode-foreground,#222)}'
    + '.box{fill:var(--vscode-editorWidget-background,#f3f3f3);stroke:var(--vscode-editorWidget-border,#999)}.fail .box{stroke:var(--vscode-errorForeground,#c00);stroke-width:2}'
    + '.ev{font:12px sans-serif;fill:var(--vscode-foreground,#222)}.sub{font:10px monospace;fill:var(--vscode-descriptionForeground,#666)}.num{font:10px sans-serif;fill:var(--vscode-descriptionForeground,#666)}'
    + '.link{stroke:var(--vscode-descriptionForeground,#aaa)}</style>');
  if (opts.title) out.push(`<title>${esc(opts.title)}</title>`);
  for (const a of actors) {
    const x = laneX(a);
    out.push(`<text class="actor" x="${x}" y="20" text-anchor="middle">${esc(a)}</text>`);
    out.push(`<line class="lane" x1="${x}" y1="28" x2="${x}" y2="${height - 10}"/>`);
  }
  let prev: { x: number; y: number } | null = null;
  trace.forEach((s, i) => {
    const x = laneX(s.actor);
    const y = TOP + i * ROW_H;
    if (prev && prev.x !== x) out.push(`<line class="link" x1="${prev.x}" y1="${prev.y + 18}" x2="${x}" y2="${y + 18}"/>`);
    prev = { x, y };
    const where = s.loc ? `${s.loc.file.split('/').pop()}:${s.loc.line}` : '';
    const attrs = s.loc ? ` data-file="${esc(s.loc.file)}" data-line="${s.loc.line}"` : '';
    out.push(`<g class="step${i === failAt ? ' fail' : ''}" data-step="${i + 1}"${attrs}>`);
    out.push(`<title>${esc(`${i + 1}. ${s.actor}: ${s.event}${s.handler ? ` [${s.handler}]` : ''} — ${s.message}${where ? ` (${where})` : ''}`)}</title>`);
    out.push(`<rect class="box" x="${x - LANE_W / 2 + 8}" y="${y}" width="${LANE_W - 16}" height="${ROW_H - 8}" rx="4"/>`);
    out.push(`<text class="num" x="${x - LANE_W / 2 + 12}" y="${y + 13}">${i + 1}</text>`);
    out.push(`<text class="ev" x="${x - LANE_W / 2 + 28}" y="${y + 15}">${esc(clip(s.event, 34))}</text>`);
    out.push(`<text class="sub" x="${x - LANE_W / 2 + 28}" y="${y + 30}">${esc(clip([s.handler, where].filter(Boolean).join('  '), 38))}</text>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n');
}
