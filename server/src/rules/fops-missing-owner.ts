import type { Rule } from './types';
import { tableLabel } from './types';

export const fopsMissingOwner: Rule = {
  meta: {
    id: 'fops-missing-owner',
    severity: 'warning',
    title: 'file_operations in modular code without .owner = THIS_MODULE',
    description:
      'The VFS pins a module while a file is open through fops_get() = try_module_get(fops->owner) at open and fops_put() ' +
      'at the last __fput; debugfs\'s full proxy and chardev open do the same with the real fops. Without .owner nothing pins ' +
      'the module: rmmod succeeds with files open, and the next read/ioctl or the final ->release runs in freed module text. ' +
      'kernfs_ops have no owner by design (kernfs drains and releases at removal) and are not checked.',
    properties: ['P5a'],
    kind: 'structural',
  },
  structural(ctx) {
    const m = ctx.model;
    if (m.table.kind !== 'file_operations' || !m.moduleUnprotected) return [];
    const handlers = m.defined.filter((h) => h.loc.file === m.table.file);
    if (!handlers.length) return [];
    // What runs after rmmod depends on the registry and on whether ->release is the module's:
    // debugfs's full proxy (debugfs_create_file) refuses the handlers once the module has
    // removed the file, but its release still reads the freed table and calls the table's
    // ->release; misc, cdev and anon-inode files call the table directly.
    const release = handlers.find((h) => h.field === 'release');
    const after = m.exposure?.registry === 'debugfs'
      ? `the final close still reads the freed table${release ? ` and runs ${release.name} in freed module text` : ''}`
      : `the next call runs freed module text, and ${release ? `so does ${release.name} at the final close` : 'the final close reads the freed table'}`;
    return [{
      rule: this.meta.id, severity: this.meta.severity, confidence: 'high', loc: m.table.loc,
      message: `${tableLabel(m)} has no .owner = THIS_MODULE, but its handlers (${[...new Set(handlers.map((h) => h.name))].join(', ')}) live in code that can be unloaded: nothing pins the module while a file${m.exposure ? ` (${m.exposure.registry})` : ''} is open, so rmmod succeeds and then ${after}. Fix: add .owner = THIS_MODULE.`,
      related: [
        ...(m.exposure ? [{ loc: m.exposure.loc, message: `files of ${tableLabel(m)} come from here (${m.exposure.registry}); nothing else pins the module` }] : []),
        ...handlers.map((h) => ({ loc: h.loc, message: `${h.field} handler ${h.name}` })),
      ],
      trace: [], tables: [tableLabel(m)],
    }];
  },
};
