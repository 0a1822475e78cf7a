import type { Rule } from './types';
import { finding, whoFrees } from './common';

export const pollfreeMissing: Rule = {
  meta: {
    id: 'pollfree-missing',
    severity: 'error',
    title: 'A polled waitqueue is freed while epoll entries remain, with no wake_up_pollfree() first',
    description:
      'epoll keeps its entry on the waitqueue after epoll_ctl(ADD) returns and holds no file reference; it removes the entry ' +
      'at EPOLL_CTL_DEL, when the epoll file closes, or in eventpoll_release() at the target\'s last __fput. If the ' +
      'waitqueue\'s owner is freed before that, the removal writes to freed memory. A waitqueue whose lifetime is tied to ' +
      'something other than the file must be torn down with wake_up_pollfree(), which makes epoll detach (POLLFREE), ' +
      'followed by an RCU grace period before the free.',
    properties: ['P1-epoll'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P1-epoll') return null;
    return finding(this.meta.id, this.meta.severity, v, ctx,
      `${v.object} is freed by ${whoFrees(v, ctx.model)} while an epoll entry is still attached to its waitqueue, and no wake_up_pollfree() precedes the free: the later ep_remove_wait_queue() touches freed memory. Fix: call wake_up_pollfree() on the waitqueue, then free after an RCU grace period (kfree_rcu / synchronize_rcu) — or give the waitqueue the file's lifetime.`);
  },
};
