import type { Rule } from './types';
import { finding, whoFrees } from './common';

export const waitqueueFreedWhilePolled: Rule = {
  meta: {
    id: 'waitqueue-freed-while-polled',
    severity: 'error',
    title: 'A waitqueue that ->poll registers on is freed while select/poll entries still point at it',
    description:
      'select() and poll() keep their poll-table entries queued on every waitqueue ->poll passed to poll_wait() until ' +
      'poll_freewait() at the end of the syscall, and each entry holds a file reference. If the object that embeds the ' +
      'waitqueue is freed by a path that can run while the file is still open (kernfs/procfs ->release at removal, an ' +
      'ioctl, a device remove, a work item), poll_freewait() writes to freed memory. wake_up_pollfree() does not help: ' +
      'only epoll reacts to POLLFREE. Give the waitqueue the lifetime of the file: kernfs_generic_poll() + kernfs_notify() ' +
      'for kernfs/cgroup files, or free the object only from file_operations ->release.',
    properties: ['P1-select', 'P4'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P1-select') return null;
    const m = ctx.model;
    const fix = m.provider === 'kernfs'
      ? 'poll on the kernfs open node instead (kernfs_generic_poll(of, pt), wake with kernfs_notify(of->kn)): its lifetime follows the open files'
      : 'free the object only once no file can reach it (file_operations ->release, or a refcount taken in ->open)';
    const pf = v.afterPollfree ? ' wake_up_pollfree() before the free does not help: select/poll entries ignore POLLFREE and stay queued.' : '';
    const rcu = v.rcuDelayed ? ' An RCU grace period does not help either: select is not an RCU reader.' : '';
    return finding(this.meta.id, this.meta.severity, v, ctx,
      `${v.object} is freed by ${whoFrees(v, m)} while a select()/poll() entry is still queued on its waitqueue: poll_freewait() then touches freed memory.${pf}${rcu} Fix: ${fix}.`);
  },
};
