import type { Rule } from './types';
import { finding, whoFrees } from './common';

export const pollfreeWithoutRcu: Rule = {
  meta: {
    id: 'pollfree-without-rcu',
    severity: 'error',
    title: 'wake_up_pollfree() is followed by a free with no RCU grace period in between',
    description:
      'wake_up_pollfree() makes epoll detach its entries and publish a NULL head, but an epoll_ctl(DEL) or eventpoll_release() ' +
      'already inside ep_remove_wait_queue() read the old head under rcu_read_lock() and is about to take its lock. The ' +
      'contract in include/linux/wait.h: the caller must also RCU-delay the free (kfree_rcu, call_rcu, or synchronize_rcu ' +
      'before kfree).',
    properties: ['P1-epoll (second case)'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P1-epoll-rcu') return null;
    return finding(this.meta.id, this.meta.severity, v, ctx,
      `${v.object} is freed by ${whoFrees(v, ctx.model)} right after wake_up_pollfree(), with no RCU grace period: an epoll removal already inside ep_remove_wait_queue()'s RCU read section still uses the old waitqueue head. Fix: kfree_rcu() (or synchronize_rcu() before the free).`);
  },
};
