/**
 * Worker pool: workers (and for facts the main thread too, see runPool) read and extract
 * files; the main thread builds the index. Workers run dist/extract-worker.js
 * (extract-worker.ts) with workerData set.
 */
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import { extract, knowledgeFor, scanText, type AnalysisOptions, type ExtractResult, type TextScan } from '../analysis';
import type { ExtractOptions } from '../facts/extract';
import { predicatesIn } from '../facts/scan';
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { normalize, outsideHeap, parseForTransfer, transferredParse, type Normalized } from '../syntax';
import { simulate, type SimOptions, type SimResult } from '../sim/explore';
import type { TableModel } from '../sim/model';

const YIELD_EVERY_BYTES = 4 * 1024 * 1024;

export interface Job {
  id: number;
  file: string;
  /** Read, normalise and parse only, for the main thread to extract (see runPool). */
  prepare?: boolean;
}

export type JobResult =
  | { id: number; file: string; ok: true; facts: ExtractResult; text?: TextKey }
  | { id: number; file: string; ok: false; reason: string };

/** The text a file's facts came from, as the language server's index cache keys it (PoolOptions.keyTexts). */
export interface TextKey { sha1: string; chars: number }

/** runPool's options: the analysis's, and what a result carries besides its facts. */
export interface PoolOptions extends AnalysisOptions {
  /** Each result carries the sha1 and length of the text its facts came from. */
  keyTexts?: boolean;
}

/**
 * Facts mode (see runPool): a worker takes files itself from a counter it shares with the main
 * thread, rather than waiting for the main thread to hand it the next one (which it does only
 * between two files of its own, 50-200 ms apart on large ones: on fs/ the worker sat idle for
 * 1.7 s of a 10 s run). `counters`: [next file, prepared files not yet taken by the main thread].
 */
export interface PullJob { pull: { files: string[]; counters: SharedArrayBuffer; alone: boolean } }
/** The worker's last message of a pull: the files ran out. */
export interface Pulled { pulled: true }
const NEXT = 0, WAITING = 1;

/**
 * The worker's side of a pull: take the next file until none is left; prepare it while fewer
 * than READY_AHEAD prepared files wait for the main thread, else do the whole file here (the
 * main thread has fallen behind). `post` sends a result (with what to transfer); `pause`
 * lets the event loop turn (every few MB of source).
 *
 * A worker `alone` (one worker, so two threads: the main thread is the bound) only prepares,
 * and waits while BACKLOG prepared files wait. Whole files there cost more than they save: the
 * worker's isolate compiles the extractor as well and its facts are copied across, and on two
 * cores that CPU (V8's compiler and GC threads) comes out of the main thread's. Measured,
 * interleaved, `--jobs 2` on 2 cores: `kernel/` 3.38 against 3.90 s median, `fs/` 9.69 against
 * 10.08 s. With more workers the main thread could not keep them busy: they do whole files.
 */
export async function pullJobs(job: PullJob, options: AnalysisOptions, post: (r: JobResult | Prepared | Pulled, transfer: ArrayBuffer[]) => void, pause: (bytes: number) => Promise<void>): Promise<void> {
  const { files, counters } = job.pull;
  const c = new Int32Array(counters);
  for (;;) {
    const id = Atomics.add(c, NEXT, 1);
    if (id >= files.length) break;
    let prepare: boolean;
    if (job.pull.alone) {
      for (let w = Atomics.load(c, WAITING); w >= BACKLOG; w = Atomics.load(c, WAITING)) Atomics.wait(c, WAITING, w, 100);
      prepare = true;
    } else {
      // (the last files whole: what is prepared then, the main thread extracts alone at the end)
      prepare = files.length - id > TAIL && Atomics.load(c, WAITING) < READY_AHEAD;
    }
    // (counted before it is posted: the main thread's decrement never comes first)
    if (prepare) Atomics.add(c, WAITING, 1);
    const { result, transfer } = workJob({ id, file: files[id], prepare }, options);
    if (prepare && !('prepared' in result)) Atomics.sub(c, WAITING, 1);
    // (counted before the post: transferred bytes read as empty after it)
    const texts = 'prepared' in result ? result.prepared.texts : null;
    const size = 'facts' in result ? result.facts.stats.bytes : texts ? ('bytes' in texts ? texts.bytes.src.length : texts.src.length) : 0;
    post(result, transfer);
    await pause(size);
  }
  post({ pulled: true }, []);
}

/**
 * A file a worker read, normalised and parsed (the parse's array is transferred, not copied),
 * with what extraction reads off the text alone (scan, textScan): the main thread is the bound.
 */
export interface Prepared {
  id: number;
  file: string;
  prepared: {
    /** The source and its normalised text: strings, or an ASCII file's bytes (see asBytes). */
    texts: { src: string; norm: string } | { bytes: { src: Uint8Array; norm: Uint8Array } };
    guards: Normalized['guards'];
    parse: { nodes: Uint32Array | null; timedOut: boolean; ms: number };
    scan: NonNullable<ExtractOptions['scan']>; textScan: TextScan;
  };
}

/**
 * An ASCII file's source and normalised text as bytes, to be transferred (not copied) and made
 * into strings outside the main thread's heap (outsideHeap): the facts keep slices of the
 * source for the whole run, and a heap string that size is copied twice by the scavenger, as is
 * every text that waits in the main thread's queue long enough. Null for any other file.
 */
function asBytes(buf: Buffer, norm: string): { src: Uint8Array; norm: Uint8Array } | null {
  if (!isAscii(buf)) return null;
  const n = Buffer.allocUnsafeSlow(norm.length);
  if (n.write(norm, 'latin1') !== norm.length || !isAscii(n)) return null;
  // (its own buffer, whole: a transfer takes the ArrayBuffer)
  const src = buf.byteOffset === 0 && buf.buffer.byteLength === buf.length ? buf : new Uint8Array(buf);
  return { src, norm: n };
}

/** A string of `bytes` (ASCII) outside the heap if this Node can, else an ordinary one. */
function bytesText(bytes: Uint8Array): string {
  return outsideHeap(bytes) ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Read + classify + extract one file. Bad input becomes a reason, never an exception. */
export function runJob(job: Job, options: PoolOptions): JobResult {
  const text = readJob(job, options);
  return typeof text === 'string' ? extractJob(job, text, options) : text;
}

/**
 * A worker's answer to a job: with `prepare` (facts level, the flat parser in use), the file
 * read, normalised and parsed, for the main thread to finish (finishPrepared); else runJob's.
 * The array's buffer goes in `transfer`.
 */
export function workJob(job: Job, options: PoolOptions): { result: JobResult | Prepared; transfer: ArrayBuffer[] } {
  if (!job.prepare || options.level !== 'facts') return { result: runJob(job, options), transfer: [] };
  const read = readBytes(job, options);
  if ('id' in read) return { result: read, transfer: [] };
  const src = read.buf.toString('utf8');
  let norm: Normalized;
  let parse: ReturnType<typeof parseForTransfer>;
  let scan: Prepared['prepared']['scan'];
  let textScan: TextScan;
  try {
    const { ck } = knowledgeFor(options);
    norm = normalize(src, ck.normalizeOpts);
    parse = parseForTransfer(norm.text, options.parseBudgetMs);
    scan = { tables: ck.tableWordsRe.test(src), predicates: predicatesIn(norm.text) };
    textScan = scanText(src);
  } catch (e) {
    return { result: { id: job.id, file: job.file, ok: false, reason: `internal error: ${(e as Error).message}` }, transfer: [] };
  }
  // (no flat parser here, or a tree it could not flatten: the whole job, as without `prepare`)
  if (!parse) return { result: extractJob(job, src, options, { normalized: norm }), transfer: [] };
  const transfer = parse.nodes ? [parse.nodes.buffer as ArrayBuffer] : [];
  const bytes = asBytes(read.buf, norm.text);
  if (bytes) transfer.push(bytes.src.buffer as ArrayBuffer, bytes.norm.buffer as ArrayBuffer);
  const texts = bytes ? { bytes } : { src, norm: norm.text };
  return { result: { id: job.id, file: job.file, prepared: { texts, guards: norm.guards, parse, scan, textScan } }, transfer };
}

/** The main thread's part of a prepared job: the extraction, from the worker's parse. */
export function finishPrepared(p: Prepared, options: PoolOptions): JobResult {
  const parsed = transferredParse(p.prepared.parse);
  const { texts, guards, scan, textScan } = p.prepared;
  const src = 'bytes' in texts ? bytesText(texts.bytes.src) : texts.src;
  const normalized: Normalized = { text: 'bytes' in texts ? bytesText(texts.bytes.norm) : texts.norm, guards };
  return extractJob(p, src, options, { normalized, parse: () => parsed, scan, textScan });
}

function extractJob(job: Job, text: string, options: PoolOptions, done?: AnalysisOptions['incremental']): JobResult {
  try {
    const opts = done ? { ...options, incremental: done } : options;
    const facts = extract(job.file, text, opts);
    const r: JobResult = { id: job.id, file: job.file, ok: true, facts: options.level === 'tables' || facts.partial ? forTables(facts) : facts };
    if (options.keyTexts) r.text = { sha1: createHash('sha1').update(text).digest('hex'), chars: text.length };
    return r;
  } catch (e) {
    return { id: job.id, file: job.file, ok: false, reason: `internal error: ${(e as Error).message}` };
  }
}

/** A file's text, or why it is skipped. */
function readJob(job: Job, options: AnalysisOptions): string | JobResult {
  const read = readBytes(job, options);
  return 'id' in read ? read : read.buf.toString('utf8');
}

/** A file's bytes (not binary, not over --max-size), or why it is skipped. */
function readBytes(job: Job, options: AnalysisOptions): { buf: Buffer } | JobResult {
  let buf: Buffer;
  try {
    const st = fs.statSync(job.file);
    if (st.size > options.maxFileBytes) {
      return { id: job.id, file: job.file, ok: false, reason: `larger than ${options.maxFileBytes} bytes (${st.size}); skipped (--max-size)` };
    }
    buf = fs.readFileSync(job.file);
  } catch (e) {
    return { id: job.id, file: job.file, ok: false, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const probe = buf.subarray(0, 8192);
  if (probe.includes(0)) return { id: job.id, file: job.file, ok: false, reason: 'binary file (NUL bytes); skipped' };
  return { buf };
}

/**
 * What the `tables` command keeps of a file: its tables, problems and counts, and per function
 * only what handler resolution reads (name, static, where the name is; loc kept for the
 * brace count), and for check's scanned files a predicate (FunctionFacts.predicate).
 * Parameters are dropped: on the whole tree they were most of the main thread's
 * heap. The arrays are shared, so a message carries one empty array per file.
 */
function forTables(facts: ExtractResult): ExtractResult {
  const none: never[] = [];
  return {
    ...facts,
    functions: facts.functions.map((f) => ({ name: f.name, loc: f.loc, nameLoc: f.nameLoc, isStatic: f.isStatic, params: none, locals: none, effects: none, ...(f.predicate ? { predicate: f.predicate } : {}) })),
  };
}

/**
 * A message from a worker carries its own copy of the file name in every location; point them
 * all at one string (a file's functions and tables would otherwise hold thousands of copies).
 */
function shareFileNames(facts: ExtractResult): void {
  setFileNames(facts, facts.file);
}

/**
 * The worker's side of shareFileNames: the locations it fills go without their file name (a
 * message copies a string at each place it occurs: on kernel/ 80k copies of a path, a tenth of
 * what the facts weigh), and the main thread puts the one shared string back.
 */
export function dropFileNames(facts: ExtractResult): void {
  setFileNames(facts, '');
}

function setFileNames(facts: ExtractResult, file: string): void {
  for (const f of facts.functions) {
    f.loc.file = file; f.nameLoc.file = file;
    for (const e of f.effects) e.loc.file = file;
  }
  for (const t of facts.tables) { t.loc.file = file; for (const x of t.fields) x.loc.file = file; }
}

/**
 * Runs every file through `runJob`: inline for one job, else on worker threads. Tables are
 * light messages: N workers do whole files, and this thread only collects. Facts are heavy
 * (`mainTakesShare`): receiving a worker's facts cost this thread about as much CPU as
 * extracting them. So N jobs are N - 1 workers plus this thread, which extracts: the workers
 * read, normalise and parse (workJob with `prepare`) and hand over the flat parser's array,
 * transferred rather than copied; when prepared files pile up here a worker does whole files
 * as well, and when none is waiting this thread does one itself. The workers take their files
 * from a counter shared with this thread (PullJob), so they never wait for this one to hand
 * them the next. `cancelled` stops the taking of files (what is under way still reports).
 * Returns who did how many.
 */
export async function runPool(
  files: string[], jobs: number, options: PoolOptions, script: string,
  onResult: (r: JobResult, done: number) => void,
  mainTakesShare = false,
  cancelled: () => boolean = () => false,
): Promise<PoolCounts> {
  const counts: PoolCounts = { prepared: 0, workers: 0, here: 0 };
  if (jobs <= 1 || files.length < 8) {
    let since = 0;
    for (let id = 0; id < files.length && !cancelled(); id++) {
      const r = runJob({ id, file: files[id] }, options);
      counts.here++;
      onResult(r, id + 1);
      since += r.ok ? r.facts.stats.bytes : 0;
      // parse trees are freed by native finalizers, which wait for the event loop to turn
      if (since > YIELD_EVERY_BYTES) { since = 0; await new Promise<void>((resolve) => setImmediate(resolve)); }
    }
    return counts;
  }
  let next = 0;
  let done = 0;
  // (facts: shared with the workers, which take files themselves; see PullJob)
  const counters = mainTakesShare ? new Int32Array(new SharedArrayBuffer(8)) : null;
  const take = counters
    ? (): number => { const id = Atomics.add(counters, NEXT, 1); return id < files.length ? id : -1; }
    : (): number => (next < files.length && !cancelled() ? next++ : -1);
  const workers = Math.min(mainTakesShare ? jobs - 1 : jobs, files.length);
  /** Prepared files waiting for this thread (mainTakesShare), and a wake-up for it when idle. */
  const ready: Prepared[] = [];
  let wake: (() => void) | null = null;
  await new Promise<void>((resolve, reject) => {
    let alive = workers + (mainTakesShare ? 1 : 0);
    // a worker that fails (its bundle missing, out of memory) ends the run: no thread goes on
    let failed = false;
    const started: Worker[] = [];
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of started) void w.terminate();
      reject(e);
    };
    const finished = (): void => { if (--alive === 0) resolve(); };
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(script, { workerData: { kernlifeWorker: true, options } });
      started.push(worker);
      let inFlight = 0;
      let exited = false;
      const feed = (): void => {
        const id = take();
        if (id >= 0) { inFlight++; worker.postMessage({ id, file: files[id] } satisfies Job); }
        else if (inFlight === 0 && !exited) { exited = true; void worker.terminate(); }
      };
      worker.on('message', (r: JobResult | Prepared | Pulled) => {
        if ('pulled' in r) { exited = true; void worker.terminate(); return; }
        if (!counters) inFlight--;
        if ('prepared' in r) { ready.push(r); counts.prepared++; }
        else {
          done++;
          counts.workers++;
          if (r.ok) shareFileNames(r.facts);
          onResult(r, done);
        }
        if (!counters) feed();
        if (wake) { const w = wake; wake = null; w(); }
      });
      worker.on('error', fail);
      worker.on('exit', () => { exited = true; finished(); if (wake) { const w = wake; wake = null; w(); } });
      if (counters) worker.postMessage({ pull: { files, counters: counters.buffer as SharedArrayBuffer, alone: workers === 1 } } satisfies PullJob);
      // jobs in flight hide the message round trip
      else for (let i = 0; i < 2; i++) feed();
    }
    if (!mainTakesShare) return;
    void (async () => {
      for (;;) {
        if (failed) return;
        // cancelled: no file is taken any more, and what waits here is dropped
        if (cancelled() && Atomics.load(counters!, NEXT) < files.length) {
          Atomics.store(counters!, NEXT, files.length);
          Atomics.sub(counters!, WAITING, ready.length);
          Atomics.notify(counters!, WAITING);
          ready.length = 0;
        }
        let r: JobResult | null = null;
        const p = ready.shift();
        if (p) { Atomics.sub(counters!, WAITING, 1); Atomics.notify(counters!, WAITING); r = finishPrepared(p, options); }
        else {
          // nothing prepared: rather than wait, this thread extracts a file itself
          const id = take();
          if (id >= 0) { r = runJob({ id, file: files[id] }, options); counts.here++; }
          else if (alive > 1) { await new Promise<void>((res) => { wake = res; }); continue; }
          else break;
        }
        done++;
        onResult(r, done);
        // let the workers' results and new requests in
        await new Promise<void>((res) => setImmediate(res));
      }
      finished();
    })().catch(fail);
  });
  return counts;
}

/** Who did a run's files: parsed by a worker and extracted here, done by a worker, done here. */
export interface PoolCounts { prepared: number; workers: number; here: number }

/**
 * How many prepared files may wait for the main thread before a worker extracts whole files
 * as well (this thread has fallen behind). Measured on fs/: 1 and 3 were no better.
 */
const READY_AHEAD = 8;
/** How many of the last files a worker does whole (see pullJobs). */
const TAIL = 2 * READY_AHEAD;
/** How many prepared files a worker alone lets wait for the main thread before it waits too (see pullJobs). */
const BACKLOG = 32;

/** A simulation job: one table's model, explored on a worker thread. */
export interface SimJob { id: number; model: TableModel; options: SimOptions }
export interface SimJobResult { id: number; result?: SimResult; error?: string }

/** Worker side of a simulation job (never throws: an internal error becomes a message). */
export function runSimJob(job: SimJob): SimJobResult {
  try {
    return { id: job.id, result: simulate(job.model, job.options) };
  } catch (e) {
    return { id: job.id, error: (e as Error).stack ?? String(e) };
  }
}
