/** Text output in compiler conventions: `path:line:col: message`. */
import type { Effect, OpsTable } from '../facts/types';
import type { FunctionReport } from '../analysis';
import { render as renderPath } from '../facts/terms';

export function renderEffect(e: Effect): string {
  const parts: string[] = [];
  if (e.text !== undefined) parts.push(e.text);
  if (e.kind === 'free' && e.mode) parts.push(e.mode);
  if (e.kind === 'pin') { if (e.longterm) parts.push('longterm'); if (e.gup) parts.push('gup'); }
  if ((e.kind === 'asyncInit' || e.kind === 'asyncArm') && e.callback) parts.push(e.callback);
  if (e.kind === 'register' && e.registry) parts.push(e.registry);
  if (e.kind === 'store' && e.konst) parts.push(e.konst);
  if (e.kind === 'call') return `call ${e.api}(${(e.args ?? []).map((a) => (a ? renderPath(a) : '_')).join(', ')})`;
  return `${e.kind}(${parts.join(', ')})${e.cond.length ? '?' : ''}`;
}


const at = (l: { file: string; line: number; col: number }): string => `${l.file}:${l.line}:${l.col}`;

export function formatTablesText(tables: OpsTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    const name = t.index !== undefined ? `${t.name}[${t.index}]` : t.name;
    out.push(`${at(t.loc)}: table struct ${t.struct} ${name}${t.macro ? ` (from ${t.macro})` : ''}`);
    for (const f of t.fields) {
      const where = f.definedAt ? `  -> ${at(f.definedAt)}` : f.handler ? '  -> (not defined in these files)' : '';
      const guard = f.guards?.length ? `  [#if ${f.guards.join(' && ')}]` : '';
      out.push(`  .${f.field} = ${f.value}  (${f.role})${where}${guard}`);
    }
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

export function formatFactsText(reports: FunctionReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    out.push(`${at(r.loc)}: function ${r.name}(${r.params.map((p) => `${p.type} ${p.name}`.trim()).join(', ')})`);
    for (const e of r.effects) {
      if (e.kind === 'return') continue;
      out.push(`  ${at(e.loc)}: ${renderEffect(e)}${e.cond.length ? `  if ${e.cond.join(' && ')}` : ''}`);
    }
    const inherited = r.summary.effects.filter((e) => e.via?.length);
    if (inherited.length || r.summary.truncated) {
      out.push(`  summary (through callees)${r.summary.truncated ? ` [truncated: ${r.summary.truncated}]` : ''}:`);
      for (const e of inherited) {
        out.push(`    ${at(e.loc)}: ${renderEffect(e)}  via ${e.via!.map((s) => s.callee).join(' -> ')}${e.cond.length ? `  if ${e.cond.join(' && ')}` : ''}`);
      }
    }
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
