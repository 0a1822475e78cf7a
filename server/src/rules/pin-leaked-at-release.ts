import type { Rule } from './types';
import { pinFinding, pinWho } from './pin-common';

export const pinLeakedAtRelease: Rule = {
  meta: {
    id: 'pin-leaked-at-release',
    severity: 'error',
    title: 'Pages pinned through a file are still pinned when its last close finishes',
    description:
      'A driver that pins user pages into per-open state owns those pins: after the last __fput has run ->release nothing can ' +
      'reach the page array any more, so the pages stay pinned forever (pincount never drops, FS-DAX truncate waits in ' +
      'dax_layout_busy_page, memory is never freed). ->release must unpin, directly or through the unregister helper the ioctl ' +
      'path already has (as ib_uverbs_close does through ib_umem_release).',
    properties: ['P8'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P8' || !v.pin) return null;
    const rel = ctx.model.release;
    const fix = rel ? `Fix: unpin in ${rel.name}() (call the helper that unregisters, e.g. the one the UNPIN ioctl uses, before freeing the context).` : 'Fix: add a ->release that unpins.';
    return pinFinding(this.meta.id, this.meta.severity, v, ctx,
      `pages pinned into ${v.pin.text} by ${pinWho(v)} are never unpinned on the ${ctx.model.object ?? 'file'}'s release path: ${ctx.model.object ? `the ${ctx.model.object} ends` : 'the last close returns'} with them still pinned. ${fix}`);
  },
};
