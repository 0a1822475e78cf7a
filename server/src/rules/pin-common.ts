/** Shared shape of the page-pin findings: the primary location is the pin. */
import type { Violation } from '../sim/trace';
import { chainText, tableLabel, type Finding, type Related, type RuleContext, type Severity } from './types';

export function pinFinding(rule: string, severity: Severity, v: Violation, ctx: RuleContext, message: string, extra: Related[] = []): Finding | null {
  if (!v.pin) return null;
  const m = ctx.model;
  const related: Related[] = [];
  if (m.release?.loc) related.push({ loc: m.release.loc, message: `.${m.release.field} = ${m.release.name}: the ${m.object ?? 'file'}'s release path` });
  related.push({ loc: m.table.loc, message: `ops table ${tableLabel(m)} (${m.table.kind})` });
  return {
    rule, severity, confidence: ctx.confidence, loc: v.pin.loc, message,
    related: [...related, ...extra], trace: v.trace, tables: [tableLabel(m)],
  };
}

export function pinWho(v: Violation): string {
  return v.pin ? `${chainText(v.pin.chain)} (${v.pin.handler || 'handler'})` : 'a handler';
}
