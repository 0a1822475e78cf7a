/**
 * Worker pool: each worker reads and extracts files; the main thread builds the index.
 * Workers run this same bundle (dist/cli.js) with workerData set.
 */
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import { extract, type AnalysisOptions, type ExtractResult } from '../analysis';

export interface Job {
  id: number;
  file: string;
}

export type JobResult =
  | { id: number; file: string; ok: true; facts: ExtractResult }
  | { id: number; file: string; ok: false; reason: string };

/** Read + classify + extract one file. Bad input becomes a reason, never an exception. */
export function runJob(job: Job, options: AnalysisOptions): JobResult {
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
  try {
    return { id: job.id, file: job.file, ok: true, facts: extract(job.file, buf.toString('utf8'), options) };
  } catch (e) {
    return { id: job.id, file: job.file, ok: false, reason: `internal error: ${(e as Error).message}` };
  }
}

export async function runPool(
  files: string[], jobs: number, options: AnalysisOptions, script: string,
  onResult: (r: JobResult, done: number) => void,
): Promise<void> {
  if (jobs <= 1 || files.length < 8) {
    files.forEach((file, id) => onResult(runJob({ id, file }, options), id + 1));
    return;
  }
  let next = 0;
  let done = 0;
  const workers = Math.min(jobs, files.length);
  await new Promise<void>((resolve, reject) => {
    let alive = workers;
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(script, { workerData: { kernlifeWorker: true, options } });
      let inFlight = 0;
      const feed = (): void => {
        if (next < files.length) { const id = next++; inFlight++; worker.postMessage({ id, file: files[id] } satisfies Job); }
        else if (inFlight === 0) void worker.terminate();
      };
      worker.on('message', (r: JobResult) => { inFlight--; done++; onResult(r, done); feed(); });
      worker.on('error', (e) => reject(e));
      worker.on('exit', () => { if (--alive === 0) resolve(); });
      // two jobs in flight per worker hide the message round trip
      feed(); feed();
    }
  });
}
