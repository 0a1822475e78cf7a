/** Shared wording for the poll rules. */
import type { TableModel } from '../sim/model';
import type { Violation } from '../sim/trace';
import { chainText, tableLabel, type Finding, type Related, type RuleContext, type Severity } from './types';

export function whoFrees(v: Violation, m: TableModel): string {
  if (!v.free) return 'another path';
  const h = chainText(v.free.chain);
  switch (v.free.event) {
    case 'drain': return m.provider === 'procfs'
      ? `${h} (->proc_release, which procfs calls when the entry is removed while files are still open)`
      : `${h} (->release, which kernfs calls when the node is removed — rmdir of the cgroup, kernfs_remove — while files are still open)`;
    case 'fput': return `${h} (->release at the last fput)`;
    case 'io': return `${h} (a read/write/ioctl handler, while other files or tasks still poll)`;
    case 'async': return `${h} (an async callback)`;
    case 'remove': return `${h} (the driver's ->remove, which runs when the device is unbound, with files still open)`;
    default: return h;
  }
}

export function baseRelated(v: Violation, m: TableModel): Related[] {
  const rel: Related[] = [];
  if (v.registration) rel.push({ loc: v.registration.loc, message: `${v.registration.kind === 'select' ? 'select/poll' : 'epoll'} registers on the waitqueue here (${chainText(v.registration.chain)})` });
  rel.push({ loc: m.table.loc, message: `ops table ${tableLabel(m)} (${m.table.kind}${m.provider !== 'vfs' ? `, ${m.provider} semantics` : ''})` });
  if (v.free?.event === 'remove' && m.driver) rel.push({ loc: m.driver.loc, message: `driver ${m.driver.name} (${m.driver.kind}): its ->remove ends the device while files stay open` });
  return rel;
}

export function finding(rule: string, severity: Severity, v: Violation, ctx: RuleContext, message: string, extra: Related[] = []): Finding | null {
  if (!v.free) return null;
  return {
    rule, severity, confidence: ctx.confidence, loc: v.free.loc, message,
    related: [...baseRelated(v, ctx.model), ...extra], trace: v.trace, tables: [tableLabel(ctx.model)],
  };
}
