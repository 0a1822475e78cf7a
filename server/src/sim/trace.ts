/**
 * The one shape of a counterexample, shared by the CLI (text, JSON, SARIF codeFlows) and the
 * editor (diagnostic related information, the interleaving picture).
 */
import type { Loc } from '../facts/types';

export type Actor = 'task A' | 'task B' | 'kworker' | 'rcu';

export interface TraceStep {
  actor: Actor;
  /** What happened at the kernel level: `open`, `select() scan`, `rmdir: kernfs severs the node`. */
  event: string;
  /** The handler or callee doing it, when a handler runs (`cgroup_pressure_release -> psi_trigger_destroy`). */
  handler?: string;
  loc?: Loc;
  message: string;
}

export type Property =
  /** select/poll entry on a waitqueue whose host was freed (P1-select) */
  | 'P1-select'
  /** epoll entry left on a freed waitqueue: no POLLFREE (P1-epoll) */
  | 'P1-epoll'
  /** POLLFREE detached the entry but the memory went away under an RCU reader (P1-epoll, second case) */
  | 'P1-epoll-rcu'
  /** a handler used an object after another path freed it (P2/P10) */
  | 'P2'
  /** an async callback ran on a freed object (free with pending async work) */
  | 'P-async'
  /** pages pinned by a handler outlive the call without long-term protection (P6) */
  | 'P6'
  /** the last __fput of the pinning file finished with pages still pinned (P8) */
  | 'P8'
  /** a lease dropped (F_UNLCK) while pins taken under it remain (P7a) */
  | 'P7'
  /** the user's last reference to a leased file dropped while pins hold a hidden one: a zombie lease (P7b) */
  | 'P7-zombie'
  /** a blocking last close waits for pins only this task would release later (P7c) */
  | 'P7-deadlock';

export interface Violation {
  property: Property;
  /** The object (access path at the handler) that was freed and then touched. */
  object: string;
  /** Where it was freed: the primary location of a finding. */
  free: { loc: Loc; api: string; chain: string[]; actor: Actor; event: string } | null;
  /** Where the freed memory was touched. */
  use: { loc?: Loc; what: string; actor: Actor };
  /** The free was preceded by wake_up_pollfree on the object (select entries survive it). */
  afterPollfree: boolean;
  /** The free was RCU-deferred or preceded by synchronize_rcu in the freeing path. */
  rcuDelayed: boolean;
  /** Where the waitqueue entry was registered, for poll properties. */
  registration?: { loc: Loc; chain: string[]; kind: 'select' | 'epoll' };
  /** Pin properties: the pin that outlived its call or its file. */
  pin?: { loc: Loc; api: string; chain: string[]; actor: Actor; text: string; longterm: boolean; gup: boolean; handler: string };
  trace: TraceStep[];
}

export function formatStep(s: TraceStep, i: number, cwdRel: (f: string) => string = (f) => f): string {
  const where = s.loc ? `  ${cwdRel(s.loc.file)}:${s.loc.line}` : '';
  const h = s.handler ? `  [${s.handler}]` : '';
  return `${String(i + 1).padStart(2)} ${s.actor.padEnd(7)} ${s.event}${h}${where}\n     ${s.message}`;
}
