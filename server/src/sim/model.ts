/**
 * The simulator's input: one ops table turned into a small program per handler.
 *
 * A handler is a list of steps over *slots*: places that hold an object, named by an access
 * path relative to what the kernel hands the handler. `f:of->priv->trigger` is a slot of one
 * open file (each open file has its own), `n:inode->i_private` or `n:demo_dev` are shared by
 * every file of the node (or the whole module), and `h:` is the object an async callback was
 * armed on. Steps come from the handler's cross-file summary; conditions the model cannot
 * decide become *variants* of the handler (which branches were taken), and simple pointer
 * tests it can decide become *guards* checked against what the state knows.
 *
 * Plain data: built by build.ts from facts, or by hand in tests.
 */
import type { Loc, ReachLit, TableKind } from '../facts/types';

/**
 * How long-term pins of file-backed pages must be protected (lifecycle-model 2.7):
 * upstream: FOLL_LONGTERM through pin_user_pages*() (the kernel refuses it on FS-DAX);
 * layout-lease: the pinning process must also hold a layout lease on the pinned file for the
 * pin's lifetime; blocking-close: like layout-lease, and the last close of a leased file with
 * pins outstanding blocks until they go (interruptible by a fatal signal).
 */
export type PinPolicy = 'upstream' | 'layout-lease' | 'blocking-close';
export const PIN_POLICIES: PinPolicy[] = ['upstream', 'layout-lease', 'blocking-close'];

export type Provider =
  /** plain VFS: ->release runs at the last __fput, after poll entries are gone */
  | 'vfs'
  /** kernfs (kernfs_ops, cgroup cftype): ->release also runs when the node is removed */
  | 'kernfs'
  /** procfs: like kernfs, ->proc_release runs early when the entry is removed */
  | 'procfs'
  /** debugfs full proxy: removal waits for in-flight calls, ->release only at the last fput */
  | 'debugfs';

export type Slot = string;

export type Op =
  /** zero: kzalloc-style, every pointer in the new object starts NULL */
  | { op: 'alloc'; slot: Slot; zero?: boolean }
  | { op: 'free'; slot: Slot; mode: 'now' | 'rcu' }
  | { op: 'syncRcu' }
  | { op: 'pollWait'; slot: Slot; wq: string }
  | { op: 'genericPoll' }
  | { op: 'wake'; slot: Slot; wq: string; pollfree: boolean }
  | { op: 'notify' }
  | { op: 'deref'; slot: Slot }
  /** konst: the field now holds this enumerator-like constant (a tracked value, TableModel.values) */
  | { op: 'store'; slot: Slot; value: 'null' | 'nonnull'; konst?: string; /** the slot now holds another, existing object */ rebind?: true }
  | { op: 'breakActive' }
  | { op: 'unbreakActive' }
  /** live: fails once the node's cgroup is dead (TableModel.rmdirOnly), and the handler returns */
  | { op: 'lock'; lock: string; live?: true }
  | { op: 'unlock'; lock: string }
  | { op: 'asyncArm'; slot: Slot; callback: string; mechanism: string }
  | { op: 'asyncCancel'; slot: Slot }
  /** user pages pinned into the page array (or umem) at `slot`: FOLL_LONGTERM or not, FOLL_GET (get_user_pages) or FOLL_PIN */
  | { op: 'pin'; slot: Slot; longterm: boolean; gup: boolean }
  /**
   * handoff: not an unpin kernlife saw, but the object at `slot` handed to code it cannot see (an
   * object table's ->release passing its object to an unresolved call: a macro, an indirect
   * pool ->cleanup): whatever is pinned at or under `slot` may be unpinned there
   */
  | { op: 'unpin'; slot: Slot; handoff?: boolean }
  /** a lease taken / dropped (F_UNLCK) on the file held at `slot` (vfs_setlease) */
  | { op: 'setLease'; slot: Slot }
  | { op: 'dropLease'; slot: Slot }
  /**
   * a reference to the file held at `slot` dropped (fput). The model takes the handler's own
   * reference as the one that carries the lease (the nfsd pattern: the lease holder keeps a file
   * reference for as long as it relies on the lease), so the lease ends here; a user fd still
   * open on the same file would keep it a little longer, until that fd's last close.
   */
  | { op: 'fileRef'; slot: Slot };

/**
 * A test the model can decide: `slot` is (not) NULL; with `value`, `slot` holds (nonnull) or does
 * not hold that constant (only for slots in TableModel.values; others are not kept).
 */
export interface Guard {
  slot: Slot;
  nonnull: boolean;
  value?: string;
  /**
   * `pred(slot)` holds (nonnull) or not, for a predicate defined in the run (resolved from
   * `predFile`); read at table level into a value test on a field of `slot` (Builder.trackValues),
   * never seen by the search.
   */
  pred?: string;
  predFile?: string;
  /** The guard explains one of the step's branch conditions (not an early return above it). */
  branch?: boolean;
  /** For branch guards: the condition's atom (`ctx->pages` for `if (!ctx->pages)`) and the slot's nullness when the atom holds. */
  atom?: string;
  whenTrue?: boolean;
}

export interface Step {
  op: Op;
  /** Where in the source (the effect's own location, possibly in a callee). */
  loc: Loc;
  /** The kernel API (`kfree`, `poll_wait`) or a description for synthesized steps. */
  api: string;
  /** Access path as the kernel developer reads it at the handler: `&of->priv->trigger->event_wait`. */
  text: string;
  /** Call chain from the handler to the function doing it: [handler, callee, ...]. */
  chain: string[];
  /** Branch conditions (source text) the step sits under; decided by the variant. */
  cond: string[];
  guards: Guard[];
  /** Past early exits: the step happens only when one of these conjunctions holds (Effect.reach). */
  reach?: ReachLit[][];
}

export type HandlerRole = 'open' | 'release' | 'poll' | 'io' | 'async' | 'remove' | 'flush';

export interface HandlerModel {
  role: HandlerRole;
  /** The table field (`.poll`) or, for async callbacks, the mechanism. */
  field: string;
  /** Function name (or a synthesized name like `cgroup_file_open` for provider glue). */
  name: string;
  loc: Loc | null;
  /**
   * One step list per combination of undecided branch conditions (deduplicated). A handler
   * with no conditional steps has exactly one variant.
   */
  variants: { assume: string[]; steps: Step[]; guards?: Guard[] }[];
  /** The summary was cut (depth, cycle, size) or callees were unresolved. */
  incomplete?: string;
}

export interface TableModel {
  table: { name: string; kind: TableKind; index?: number; loc: Loc; file: string };
  provider: Provider;
  /** Whether something can remove the node while files are open (kernfs/cgroup always; procfs when a remove call exists). */
  severable: boolean;
  /** Why (or why not), for `simulate` output. */
  severReason: string;
  /**
   * A lock the remover holds across severing (slot form, `n:cgroup_mutex`): every cgroup path
   * that removes or hides a file (cgroup_destroy_locked, cgroup_file_show) runs under cgroup_mutex.
   */
  severLock?: string;
  /**
   * A cgroup file that only its cgroup's removal (rmdir) severs: no cftype.file_offset, so
   * cgroup_file_show() cannot hide it while the cgroup lives. A live lock taken after severing
   * began finds the cgroup dead.
   */
  rmdirOnly?: true;
  /**
   * An object table (vfio_iommu_driver_ops, ib_device_ops): each "file" of the model is one
   * object ->open returned, and ->release ends it; what to call it in messages.
   */
  object?: string;
  /** The table is in code that can be a module and has no `.owner`. */
  moduleUnprotected?: boolean;
  /** Where the table is handed to a registry that does not pin the module by itself. */
  exposure?: { registry: string; loc: Loc };
  /** The pin policy for this table's code (a file's own comment, else the run's setting). */
  pinPolicy?: PinPolicy;
  /** Every handler of the table with a definition in this run, before pruning (structural rules). */
  defined: { field: string; name: string; loc: Loc }[];
  open: HandlerModel | null;
  release: HandlerModel | null;
  poll: HandlerModel | null;
  io: HandlerModel[];
  /** Async callbacks by function name. */
  callbacks: Record<string, HandlerModel>;
  /**
   * The ->remove of the driver whose device this table's files reach (a misc or char device
   * registered from the same file, its state found through container_of(file->private_data, T,
   * member)): unbinding runs it once, at any time, while files stay open (misc_deregister and
   * cdev_del do not wait for them).
   */
  remove?: HandlerModel;
  /** The driver table that ->remove comes from. */
  driver?: { name: string; kind: TableKind; loc: Loc };
  /**
   * Fields whose value the model tracks: a constant that only ->open stores (on the object it is
   * creating) is one a live object never gets back, so a test for it (`case INITIALIZING:`) fails
   * once the field was seen holding anything else. `fresh` lists those constants per slot (only
   * slots where one is tested); `names` numbers them. Every other constant may be set by code
   * outside the model at any time: tests for them are not decided.
   */
  values?: { names: string[]; fresh: Record<Slot, string[]> };
  notes: string[];
}

/** `f:of->priv->x` is under `f:of->priv` (slots and their per-file instances alike: a field or a member). */
export function isUnder(k: string, prefix: string): boolean {
  return k.length > prefix.length && k.startsWith(prefix) && (k.startsWith('->', prefix.length) || k[prefix.length] === '.');
}
