import type { Rule } from './types';

export const leaseDroppedWhilePinned: Rule = {
  meta: {
    id: 'lease-dropped-while-pinned',
    severity: 'error',
    title: 'A lease is dropped (F_UNLCK, last close) while pins taken under it remain',
    description:
      'A lease belongs to the open file description and ends with F_UNLCK or its last __fput (locks_remove_file); a file ' +
      'mapping holds its own reference. Pages registered for RDMA stay pinned until ibv_dereg_mr, so a lease that ends first ' +
      'no longer protects them: under the 2019 layout-lease proposal the pin records\' hidden file reference turns the lease ' +
      'into a zombie nobody can release, and under the blocking-close proposal the last close waits for a deregistration ' +
      'only the same task would do later. Keep the lease fd (and the mapping) until after ibv_dereg_mr.',
    properties: ['P7'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P7' || !v.pin || !v.use.loc) return null;
    const m = ctx.model;
    return {
      rule: this.meta.id, severity: this.meta.severity, confidence: ctx.confidence, loc: v.use.loc,
      message: `${v.use.what} (pinPolicy ${m.pinPolicy ?? 'upstream'}): the pages pinned into ${v.pin.text} by ${v.pin.chain.join(' -> ')} lose the lease that was to keep the file's blocks in place. Fix: unpin first, then drop the lease and the file reference (nfsd's order in nfsd4_layout_lm_change / nfs4_put_stid).`,
      related: [{ loc: v.pin.loc, message: `pinned here (${v.pin.api})` }, { loc: m.table.loc, message: `ops table ${m.table.name} (${m.table.kind})` }],
      trace: v.trace, tables: [m.table.index !== undefined ? `${m.table.name}[${m.table.index}]` : m.table.name],
    };
  },
  fromProgram(v, run) {
    if ((v.property !== 'P7' && v.property !== 'P7-zombie' && v.property !== 'P7-deadlock') || !v.pin || !v.use.loc) return null;
    const zombie = v.property === 'P7-zombie';
    return {
      rule: this.meta.id, severity: zombie ? 'warning' : 'error', confidence: 'medium', loc: v.use.loc,
      message: `${v.use.what} (pinPolicy ${run.policy}). Fix: keep the lease fd open, and the file mapped, until after ibv_dereg_mr(${v.pin.text ? v.pin.text : 'mr'}); deregister first, then munmap and close.`,
      related: [
        { loc: v.pin.loc, message: `pinned here (${v.pin.api})` },
        { loc: run.loc, message: `program ${run.fn}()` },
      ],
      trace: v.trace, tables: [],
    };
  },
};
