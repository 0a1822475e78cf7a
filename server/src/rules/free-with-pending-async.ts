import type { Rule } from './types';
import { finding, whoFrees } from './common';

export const freeWithPendingAsync: Rule = {
  meta: {
    id: 'free-with-pending-async',
    severity: 'error',
    title: 'An object is freed while a work item, timer, tasklet or irq handler armed on it may still run',
    description:
      'Work items, delayed work, timers, tasklets and irq handlers run later on a kernel thread, softirq or interrupt; ' +
      'freeing the object that embeds them (or that they use) without cancel_work_sync / cancel_delayed_work_sync / ' +
      'del_timer_sync / timer_shutdown_sync / tasklet_kill / free_irq / flush_* first lets the callback run on freed memory. ' +
      'A callback that re-arms itself must be stopped with the *_sync variant that also blocks re-arming.',
    properties: ['P2 (async)', 'P5'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P-async') return null;
    return finding(this.meta.id, this.meta.severity, v, ctx,
      `${v.object} is freed by ${whoFrees(v, ctx.model)} while a callback armed on it may still be queued: ${v.use.what}. Fix: cancel it synchronously before the free (cancel_work_sync, cancel_delayed_work_sync, del_timer_sync/timer_shutdown_sync, tasklet_kill, free_irq).`);
  },
};
