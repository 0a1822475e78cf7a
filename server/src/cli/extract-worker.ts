/**
 * Worker thread entry (dist/extract-worker.js) for extraction: the CLI's `tables`, `facts` and
 * `check` and the language server's workspace index start their workers from this bundle (see
 * pool.ts, runPool). Jobs come as messages, or as one PullJob whose files the worker takes
 * itself; results go back as messages, parse arrays transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { dropFileNames, pullJobs, workJob, type Job, type JobResult, type PoolOptions, type Prepared, type Pulled, type PullJob } from './pool';
import { flatParser, initParser } from '../syntax';

const GC_EVERY_BYTES = 4 * 1024 * 1024;

/**
 * Parse trees live in native memory the JS heap does not see, so V8 feels no pressure to collect
 * the wrappers that hold them: in a tight loop RSS grows past 2 GB on the whole kernel tree.
 * Workers collect explicitly every few MB of source.
 */
function explicitGc(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

function serve(): void {
  const options = workerData.options as PoolOptions;
  // (the flat parser keeps no native trees: nothing for a forced collection to free)
  const gc = flatParser().used ? null : explicitGc();
  let since = 0;
  // Jobs queue up here: after a collection the event loop must turn (setImmediate) before the
  // next job, because the trees' native finalizers run from there. Message events alone never
  // give them the chance while jobs keep arriving, and the workers' RSS grew without bound.
  const queue: Job[] = [];
  let busy = false;
  const parserReady = initParser();
  const post = (r: JobResult | Prepared | Pulled, transfer: ArrayBuffer[]): void => {
    if ('facts' in r) dropFileNames(r.facts);
    parentPort!.postMessage(r, transfer);
  };
  const pause = async (bytes: number): Promise<void> => {
    since += bytes;
    if (since > GC_EVERY_BYTES) {
      since = 0;
      gc?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  const drain = async (): Promise<void> => {
    busy = true;
    await parserReady;
    while (queue.length) {
      const { result: r, transfer } = workJob(queue.shift()!, options);
      post(r, transfer);
      await pause('facts' in r ? r.facts.stats.bytes : 0);
    }
    busy = false;
  };
  parentPort!.on('message', (job: Job | PullJob) => {
    // facts: this worker takes its files itself (pool.ts, PullJob)
    if ('pull' in job) { void parserReady.then(() => pullJobs(job, options, post, pause)); return; }
    queue.push(job);
    if (!busy) void drain();
  });
}

if (parentPort && workerData?.kernlifeWorker) serve();
