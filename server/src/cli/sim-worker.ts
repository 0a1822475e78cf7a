/**
 * Worker thread entry (dist/sim-worker.js) for the language server's whole-workspace check: one
 * table's model in, its search result out (see search-pool.ts). The CLI's search workers run
 * dist/cli.js instead.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runSimJob, type SimJob } from './pool';
import { countDone } from './search-pool';

parentPort?.on('message', (job: SimJob) => {
  const r = runSimJob(job);
  countDone(workerData ?? {});
  parentPort!.postMessage(r);
});
