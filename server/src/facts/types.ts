/**
 * Facts: the plain, serialisable values that leave the front end. No tree-sitter node ever
 * crosses this boundary; everything here survives JSON.stringify / structuredClone, so the
 * worker pool, the index, the simulator and the editor all share one shape.
 */

/** 1-based line, 1-based column (compiler convention, like `path:line:col`). */
export interface Loc {
  file: string;
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

/**
 * An access path: a term over a root variable. `of->priv->psi.trigger` is
 * field(field(field(root(of), priv, ->), psi, ->), trigger, .).
 * Kept structured (not only as text) so summaries can substitute a callee's parameter
 * with the caller's argument and normalise `*&x`, `(&x)->f`, container_of(&x->m, T, m).
 */
export type Term =
  | { t: 'root'; name: string; kind: RootKind; param?: number; type?: string }
  | { t: 'field'; base: Term; name: string; arrow: boolean }
  | { t: 'addr'; base: Term }
  | { t: 'deref'; base: Term }
  | { t: 'index'; base: Term }
  /** container_of(base, type, member): the object that embeds `base` as `member`. */
  | { t: 'up'; base: Term; type: string; member: string }
  /** the value returned by an allocation or call at a site (for locals that never escape). */
  | { t: 'new'; site: string }
  | { t: 'null' };

export type RootKind = 'param' | 'local' | 'global';

export type EffectKind =
  | 'alloc' // new object stored at `path`
  | 'free' // object at `path` freed; mode now | rcu
  | 'rcuWait' // synchronize_rcu(): a grace period passes before the next effect
  | 'rcuBarrier' // rcu_barrier(): pending RCU callbacks have run
  | 'initWq' // init_waitqueue_head(path)
  | 'pollWait' // poll_wait(file, path, pt): registers a poll entry on waitqueue `path`
  | 'genericPoll' // kernfs_generic_poll(of, pt): registers on the kernfs open node's waitqueue
  | 'wake' // wake_up*(path)
  | 'wakePollfree' // wake_up_pollfree(path): detaches epoll entries, not select entries
  | 'notify' // kernfs_notify and its wrappers
  | 'getFile' // file reference taken on `path`
  | 'fput' // file reference dropped on `path`
  | 'asyncInit' // INIT_WORK / timer_setup / tasklet_init: binds `callback` to `path`
  | 'asyncArm' // schedule_work / mod_timer / request_irq ...: `path` may run `callback` later
  | 'asyncCancel' // cancel_work_sync / del_timer_sync / free_irq ...: waits for `path`'s callback
  | 'pin' // pages pinned into `path` (longterm: FOLL_LONGTERM or an API that always is)
  | 'unpin' // pins stored in `path` released
  | 'putPage' // put_page on a page of `path` (wrong for pinned pages)
  | 'mapFile' // user space: mmap of the file behind fd `path`; `value` is the mapping
  | 'unmap' // user space: munmap of mapping `path`
  | 'exit' // user space: the process ends here (exit(), _exit(), abort()); do_exit closes what is left
  | 'setLease' // lease set on file `path`
  | 'dropLease' // lease on file `path` removed (F_UNLCK)
  | 'publish' // rcu_assign_pointer(path, value)
  | 'unpublish' // rcu_assign_pointer(path, NULL) / RCU_INIT_POINTER(path, NULL)
  | 'breakActive' // kernfs_break_active_protection (directly or via cgroup_kn_lock_live)
  | 'unbreakActive'
  | 'lock' // mutex_lock / spin_lock ... on `path`
  | 'unlock'
  | 'sever' // kernfs_remove / debugfs_remove / remove_proc_entry: open files lose their node
  | 'register' // an ops table handed to a registry (debugfs, misc, cdev, procfs, driver core)
  | 'unregister'
  | 'moduleGet'
  | 'modulePut'
  | 'store' // `path = value` where value is NULL, a parameter or an enumerator-like constant (`konst`): what guards later test
  | 'return' // the function returns `path`
  | 'call'; // a call to a function that is not API knowledge (resolved by the index)

export interface Effect {
  kind: EffectKind;
  /** The object or location the effect is about, when there is one. */
  path?: Term;
  /** Rendered `path` (e.g. `&of->priv->event_wait`), for humans, markers and JSON. */
  text?: string;
  /** The API that produced it (`kfree`, `poll_wait`) or the callee for `call`. */
  api: string;
  loc: Loc;
  /** Conditions (source text) under which the effect happens, outermost first. Empty: always. */
  cond: string[];
  /**
   * Conditions that are plain pointer tests (`if (t->of)`, `if (!ctx)`, `x == NULL`), as access
   * paths: `cond` is the index into `cond` it explains. The simulator decides these from state.
   */
  guards?: EffectGuard[]; // cond -1: an early return above, not a branch
  /**
   * Past early exits (`if (ret) goto out;`, `if (n < 0) return n;`, `if (ret >= 0) { ...; return 0; }`):
   * the effect happens only when one of these conjunctions holds (a disjunction, [] never given).
   * Absent: on every path that reaches its branches (`cond`). Code after an exit carries the exit's
   * test as false (`!(ret)`, marked `pass`); code at a `goto` target carries each way in (the exit
   * taken, or the fall-through); an operation whose result is tested later (`n = pin...; if (n < 0)`)
   * carries its success. Not part of `cond`: the `?` of a rendered effect is about branches only.
   */
  reach?: ReachLit[][];
  /** store: the constant stored (`cl->state = MEI_FILE_CONNECTED`: an enumerator-like name). */
  konst?: string;
  /**
   * store: the field now points to another object that already existed, held in a local the
   * function found (a list walk's `pos`, a lookup), neither made here nor an alias of a path:
   * `file->private_data = pos;` (the old object is no longer reached through the field).
   */
  rebind?: true;
  /** free: when the memory goes away. */
  mode?: 'now' | 'rcu';
  /** pin: FOLL_LONGTERM (or an API that always pins long term); gup: taken with get_user_pages*. */
  longterm?: boolean;
  gup?: boolean;
  /** async*: the callback bound or armed (function name), and the mechanism. */
  callback?: string;
  mechanism?: 'work' | 'delayed_work' | 'timer' | 'hrtimer' | 'tasklet' | 'irq' | 'kthread' | 'workqueue';
  /** register: the registry and the table handed to it. */
  registry?: 'debugfs' | 'misc' | 'cdev' | 'procfs' | 'driver' | 'kernfs' | 'sysfs' | 'anon_inode';
  /** publish: the value stored. */
  value?: Term;
  /** call: arguments as access paths (null where an argument is not a path), and their text. */
  args?: (Term | null)[];
  argText?: string[];
  /** call: where the returned value goes (a local, or the path that local was stored into). */
  result?: Term;
  /**
   * call: the caller's test that says the call failed (`IS_ERR(cl)`, `ret`, `!(ret >= 0)`), when
   * the caller tests what it returned. The callee's failure-only effects (its cleanup labels) are
   * then tied to that test instead of the callee's own exits: a callee that failed makes its
   * caller take its error path, not go on.
   */
  failedIf?: string;
  /**
   * Set by the index when the effect happened on an object the callee created and returned:
   * the caller's path names where it ends up, not memory the effect touched on the way.
   */
  onReturned?: boolean;
  /** Set on effects copied from a callee by the index: the chain of calls that led here. */
  via?: CallStep[];
}

/**
 * A test the simulator can decide from state. Plain: a pointer test, `path` (not) NULL.
 * With `value`: `path == value` (nonnull: the test holds) or `path != value` (it does not), for a
 * field compared with an enumerator-like constant (`cl->state == MEI_FILE_CONNECTED`, a switch
 * case on it). With `pred`: the one-argument predicate `pred(path)` holds (or not); the simulator
 * reads it through the predicate's FunctionFacts.predicate (`mei_cl_is_connected(cl)`).
 */
export interface EffectGuard {
  cond: number;
  path: Term;
  nonnull: boolean;
  value?: string;
  pred?: string;
}

/** A condition (source text, `!(c)` when it is false) on the way to an effect past an early exit. */
export interface ReachLit {
  c: string;
  /** The test of an early exit that was not taken (or an operation that succeeded): the straight line. */
  pass?: true;
}

export interface CallStep {
  caller: string;
  callee: string;
  loc: Loc;
}

export interface Param {
  name: string;
  type: string;
}

export interface FunctionFacts {
  name: string;
  /** The definition (from the start of the declarator to the closing brace). */
  loc: Loc;
  /** Location of the name in the declarator, for diagnostics and "go to". */
  nameLoc: Loc;
  isStatic: boolean;
  params: Param[];
  /** Locals with their declared types, where declared. */
  locals: Param[];
  /**
   * A predicate: `bool f(const struct T *p) { return p->field == CONST; }` (or `!=`), read off the
   * text (facts/scan.ts predicatesIn): `path == value` when nonnull.
   */
  predicate?: { path: Term; nonnull: boolean; value: string };
  effects: Effect[];
}

/** A field of an ops table: `.poll = foo_poll`. */
export interface TableField {
  field: string;
  /** Role from knowledge (open, release, poll, io, mmap, remove, owner, fops, ...), or 'other'. */
  role: string;
  /** The handler or value as written (`foo_poll`, `THIS_MODULE`, `&foo_fops`). */
  value: string;
  /** When the value names a function: where it is defined (filled by the index). */
  handler?: string;
  definedAt?: Loc | null;
  /** Preprocessor conditions the field sits under (`CONFIG_COMPAT`). */
  guards?: string[];
  loc: Loc;
}

export type TableKind =
  | 'file_operations'
  | 'proc_ops'
  | 'kernfs_ops'
  | 'cftype'
  | 'vm_operations_struct'
  | 'platform_driver'
  | 'pci_driver'
  | 'usb_driver'
  | 'miscdevice'
  | 'vfio_iommu_driver_ops'
  | 'ib_device_ops';

export interface OpsTable {
  kind: TableKind;
  /** The C struct name (same as kind today, kept apart so aliases can map to one kind). */
  struct: string;
  name: string;
  /** For arrays of tables (cftype[]): the element index. */
  index?: number;
  isStatic: boolean;
  isConst: boolean;
  loc: Loc;
  fields: TableField[];
  /** Set when the table comes from a well-known macro (DEFINE_SHOW_ATTRIBUTE ...). */
  macro?: string;
}

export interface Problem {
  severity: 'error' | 'warning' | 'info';
  message: string;
  loc?: Loc;
}

export interface FileFacts {
  file: string;
  /** The file can be built as a module and unloaded (module_exit, module_*_driver). */
  modular?: boolean;
  /** Code assigns `x.owner = THIS_MODULE` (a cdev, a driver object): that object pins the module. */
  ownerAssigned?: boolean;
  /** `/* kernlife: pinPolicy=<policy> *\/` in the file: the pin policy for its code. */
  pinPolicy?: 'upstream' | 'layout-lease' | 'blocking-close';
  /** `x.fops = &name;` statements (a miscdevice or similar filled in by code), by table name. */
  fopsAssigned?: { name: string; line: number }[];
  /** `kernlife-ignore <rule-id>[, <rule-id>]: reason` comments. */
  suppressions?: { line: number; rules: string[]; reason: string }[];
  functions: FunctionFacts[];
  tables: OpsTable[];
  problems: Problem[];
  stats: FileStats;
}

export interface FileStats {
  bytes: number;
  /** ERROR/MISSING nodes left after normalisation. */
  errorNodes: number;
  functions: number;
  parseMs: number;
  extractMs: number;
}

/** What to extract: 'tables' skips function bodies (fast whole-tree table listings). */
export type ExtractLevel = 'tables' | 'facts';
