/** The rule registry: ids are the product's contract. */
import type { Rule } from './types';
import { waitqueueFreedWhilePolled } from './waitqueue-freed-while-polled';
import { pollfreeMissing } from './pollfree-missing';
import { pollfreeWithoutRcu } from './pollfree-without-rcu';
import { privateDataUsedAfterRelease } from './private-data-used-after-release';
import { freeWithPendingAsync } from './free-with-pending-async';
import { fopsMissingOwner } from './fops-missing-owner';
import { longtermPinWithoutLease } from './longterm-pin-without-lease';
import { pinLeakedAtRelease } from './pin-leaked-at-release';
import { leaseDroppedWhilePinned } from './lease-dropped-while-pinned';

export const RULES: Rule[] = [
  waitqueueFreedWhilePolled,
  pollfreeMissing,
  pollfreeWithoutRcu,
  privateDataUsedAfterRelease,
  freeWithPendingAsync,
  fopsMissingOwner,
  longtermPinWithoutLease,
  pinLeakedAtRelease,
  leaseDroppedWhilePinned,
];

export const RULE_IDS = RULES.map((r) => r.meta.id);

export type { Rule, Finding, Severity, Confidence } from './types';
