import type { Rule } from './types';
import { pinFinding, pinWho } from './pin-common';

export const longtermPinWithoutLease: Rule = {
  meta: {
    id: 'longterm-pin-without-lease',
    severity: 'error',
    title: 'User pages pinned past the call that took them without long-term protection',
    description:
      'A pin that outlives its syscall (kept in per-file or per-device state and released by another handler) is a long-term pin. ' +
      'Upstream requires it to be taken with pin_user_pages*(FOLL_LONGTERM): check_vma_flags() then refuses FS-DAX mappings ' +
      '(whose blocks a truncate or hole punch could reuse under the DMA) and migration moves the pages out of movable zones first. ' +
      'get_user_pages*() (FOLL_GET) is not a tracked pin and may not carry FOLL_LONGTERM at all. Under the layout-lease and ' +
      'blocking-close policies the pinning process must also hold a layout lease on the pinned file for the pin\'s whole life.',
    properties: ['P6'],
    kind: 'interleaving',
  },
  fromViolation(v, ctx) {
    if (v.property !== 'P6' || !v.pin) return null;
    const p = v.pin;
    if (/layout lease/.test(v.use.what)) {
      return pinFinding(this.meta.id, this.meta.severity, v, ctx, `${p.api}() pins pages into ${p.text} long term while ${pinWho(v)}'s ${ctx.model.object ?? 'file'} holds no layout lease on the file behind them (pinPolicy ${ctx.model.pinPolicy}): a truncate or hole punch can reallocate the blocks under the DMA. Fix: take a layout lease on that file (vfs_setlease with an FL_LAYOUT lock owned by the pinning context) before pinning, and keep it until after unpinning.`);
    }
    const why = p.gup && p.longterm
      ? `${p.api}() is given FOLL_LONGTERM: the kernel refuses FOLL_LONGTERM without FOLL_PIN (WARN, -EINVAL)`
      : p.gup
        ? `${p.api}() takes plain page references (FOLL_GET), and ${pinWho(v)} keeps them in ${p.text} after the call returns`
        : `${p.api}() pins without FOLL_LONGTERM, and ${pinWho(v)} keeps the pages in ${p.text} after the call returns`;
    const fix = p.gup
      ? 'Fix: pin with pin_user_pages*(..., FOLL_LONGTERM) and release with unpin_user_pages() (not put_page).'
      : 'Fix: add FOLL_LONGTERM to the gup flags (the kernel then refuses FS-DAX and migrates the pages out of movable zones first), or drop the pin before returning.';
    return pinFinding(this.meta.id, this.meta.severity, v, ctx, `${why}: a long-term pin without long-term protection. ${fix}`);
  },
  fromProgram(v, run) {
    if (v.property !== 'P6' || !v.pin) return null;
    return {
      rule: this.meta.id, severity: this.meta.severity, confidence: 'medium', loc: v.pin.loc,
      message: `${v.use.what} (pinPolicy ${run.policy}): the registration pins the file's pages long term, and only a layout lease held for the registration's whole life keeps a truncate or hole punch from pulling the blocks out from under the device. Fix: take the lease (fcntl(fd, F_SETLEASE, ...)) before ibv_reg_mr and keep that fd open until after ibv_dereg_mr; or register anonymous memory, or use on-demand paging (IBV_ACCESS_ON_DEMAND).`,
      related: [{ loc: run.loc, message: `program ${run.fn}()` }],
      trace: v.trace, tables: [],
    };
  },
};
