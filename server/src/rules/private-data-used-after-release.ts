import type { Rule } from './types';
import { finding } from './common';
import { chainText } from './types';

export const privateDataUsedAfterRelease: Rule = {
  meta: {
    id: 'private-data-used-after-release',
    severity: 'error',
    title: 'A handler uses of->priv / private data after ->release may have freed it',
    description:
      'kernfs (and cgroup, procfs) call ->release when the node is removed, while files are still open; kernfs gates later ' +
      'handler calls, but a handler that broke its active protection (kernfs_break_active_protection, cgroup_kn_lock_live) ' +
      'and slept can run on after removal released the file. Reading of->priv before such a point, or not re-checking it ' +
      'after, uses freed memory. Clear the pointer in ->release under the lock both paths take, read it only after taking ' +
      'that lock, and re-check it after every point where the lock was dropped.',
    properties: ['P2', 'P10'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    // P2 here is about ->release running early, at removal (kernfs/cgroup/procfs drain), while
    // a handler of the same open file is still inside. A ->release at the last fput cannot
    // overlap a handler of its own file (the syscall holds a file reference), so a use after
    // such a free is another file's handler touching shared state: refcounts and locks the
    // model does not see decide that, and it is not this rule's bug.
    if (v.property !== 'P2' || !v.free || v.free.event !== 'drain') return null;
    const f = finding(this.meta.id, this.meta.severity, v, ctx,
      `${v.object} is used after ${v.free ? chainText(v.free.chain) : 'another path'} freed it: ${v.use.what}. The handler broke its active protection (or runs outside kernfs's gate), so removal could release the file in between. Fix: clear the pointer in ->release under the lock both paths take, and read/re-check it after taking that lock.`);
    // the use is the primary location; the free becomes the first note
    if (f && v.use.loc) { f.related.unshift({ loc: f.loc, message: 'freed here' }); f.loc = v.use.loc; }
    return f;
  },
};
