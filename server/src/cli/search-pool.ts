/**
 * Searches that start while the models are still being built.
 *
 * `check` builds every table's model on the main thread, then searches them on worker threads.
 * Building takes the main thread alone for seconds (9 s of the CI directories, a minute of the
 * whole tree) while the other cores wait. Here a model is handed over as soon as it is final
 * (it read no file the index knows by name only), and the workers search it while the main
 * thread goes on building.
 *
 * The main thread is busy in synchronous code while it submits, so it cannot hear a worker say
 * it is done. Each worker counts its finished searches in shared memory instead, and every
 * `submit` looks at the counts: a worker with fewer than `DEPTH` searches outstanding gets the
 * largest model waiting. Once the main thread is free again, results arrive as messages and
 * each one feeds its worker the largest model left, so a long search does not start last.
 *
 * Results do not depend on the schedule: every search is deterministic on its own, and tables
 * with the same `searchKey` share one search whichever of them was submitted first.
 */
import { Worker } from 'node:worker_threads';
import { searchKey, simulate, type SimOptions, type SimResult } from '../sim/explore';
import type { TableModel } from '../sim/model';
import type { SimJob, SimJobResult } from './pool';

/** Searches a worker may have queued (one running, one waiting: no gap between them). */
const DEPTH = 2;
/** Fewer distinct searches than this: run them on this thread (starting workers costs more). */
const INLINE_BELOW = 4;

/** A model's size as the simulator sees it (variant steps), to start large searches first. */
function modelSize(m: TableModel): number {
  let n = 0;
  for (const h of [m.open, m.release, m.poll, ...m.io, ...Object.values(m.callbacks)]) for (const v of h?.variants ?? []) n += v.steps.length + 1;
  return n;
}

interface Slot {
  worker: Worker;
  sent: number;
}

export class SearchPool {
  private readonly models = new Map<number, TableModel>();
  private readonly firstOf = new Map<string, number>();
  private readonly sameAs = new Map<number, number>();
  private readonly results = new Map<number, SimResult>();
  /** distinct searches not yet handed to a worker, with their sizes */
  private readonly waiting: { id: number; size: number }[] = [];
  private readonly slots: Slot[] = [];
  private readonly done: Int32Array;
  private readonly plain: SimOptions;
  private distinct = 0;
  private finished = 0;
  private failure: Error | undefined;
  private settle: (() => void) | undefined;

  constructor(
    private readonly jobs: number,
    private readonly options: SimOptions,
    private readonly script: string,
    private readonly onDone: (done: number, total: number, name: string) => void,
  ) {
    this.done = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs)));
    const { cancelled: _c, ...plain } = options;
    this.plain = plain;
  }

  /** Distinct searches submitted so far. */
  get searches(): number {
    return this.distinct;
  }

  /** Has model `id` been submitted? */
  has(id: number): boolean {
    return this.models.has(id);
  }

  /** Search this model (its result lands at `id`); may be called from synchronous code. */
  submit(id: number, model: TableModel): void {
    if (this.models.has(id)) throw new Error(`model ${id} submitted twice`);
    this.models.set(id, model);
    const key = searchKey(model);
    const first = this.firstOf.get(key);
    if (first !== undefined) { this.sameAs.set(id, first); return; }
    this.firstOf.set(key, id);
    this.distinct++;
    this.waiting.push({ id, size: modelSize(model) });
    if (this.jobs > 1 && (this.slots.length || this.distinct >= INLINE_BELOW)) this.pump();
  }

  /** Every submitted model's result, by id (null where none was submitted). */
  async finish(count: number): Promise<(SimResult | null)[]> {
    if (!this.slots.length && (this.jobs <= 1 || this.distinct < INLINE_BELOW)) {
      // few searches, or one job: here, largest first like the workers would
      this.waiting.sort((a, b) => b.size - a.size || a.id - b.id);
      for (const { id } of this.waiting.splice(0)) {
        this.results.set(id, simulate(this.models.get(id)!, this.options));
        this.onDone(++this.finished, this.distinct, this.name(id));
      }
    } else {
      this.pump();
      if (this.finished < this.distinct) await new Promise<void>((resolve) => { this.settle = resolve; this.check(); });
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
    }
    if (this.failure) throw this.failure;
    const out: (SimResult | null)[] = new Array(count).fill(null);
    for (const [id, r] of this.results) out[id] = r;
    for (const [id, first] of this.sameAs) out[id] = out[first] && structuredClone(out[first]);
    return out;
  }

  private name(id: number): string {
    const t = this.models.get(id)!.table;
    return t.index !== undefined ? `${t.name}[${t.index}]` : t.name;
  }

  /** Hand the largest waiting models to workers with room (starting workers on first use). */
  private pump(): void {
    while (this.slots.length < this.jobs && this.slots.length < this.distinct) this.start(this.slots.length);
    for (;;) {
      if (!this.waiting.length) return;
      let room = -1;
      for (let w = 0; w < this.slots.length; w++) {
        const out = this.slots[w].sent - Atomics.load(this.done, w);
        if (out < DEPTH && (room < 0 || out < this.slots[room].sent - Atomics.load(this.done, room))) room = w;
      }
      if (room < 0) return;
      let best = 0;
      for (let k = 1; k < this.waiting.length; k++) {
        const a = this.waiting[k], b = this.waiting[best];
        if (a.size > b.size || (a.size === b.size && a.id < b.id)) best = k;
      }
      const { id } = this.waiting.splice(best, 1)[0];
      this.slots[room].sent++;
      this.slots[room].worker.postMessage({ id, model: this.models.get(id)!, options: this.plain } satisfies SimJob);
    }
  }

  private start(w: number): void {
    // A search allocates a state per transition and keeps its queue alive: a larger young
    // generation (64 MB semi-spaces) means fewer scavenges copying that queue (~7% of search CPU).
    const worker = new Worker(this.script, { workerData: { kernlifeSimWorker: true, doneCounts: this.done, slot: w }, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
    worker.on('message', (r: SimJobResult) => {
      if (r.error !== undefined) this.failure ??= new Error(`simulation of ${this.name(r.id)} failed: ${r.error}`);
      else this.results.set(r.id, r.result!);
      this.onDone(++this.finished, this.distinct, this.name(r.id));
      this.pump();
      this.check();
    });
    worker.on('error', (e) => { this.failure ??= e; this.finished = this.distinct; this.check(); });
    this.slots.push({ worker, sent: 0 });
  }

  private check(): void {
    if (this.settle && (this.finished >= this.distinct || this.failure)) { const s = this.settle; this.settle = undefined; s(); }
  }
}

/** Worker side: count a finished search where the main thread can read it without a message. */
export function countDone(data: { doneCounts?: Int32Array; slot?: number }): void {
  if (data.doneCounts && data.slot !== undefined) Atomics.add(data.doneCounts, data.slot, 1);
}
