/**
 * Worker thread entry (dist/sim-worker.js) for the language server's whole-workspace check: one
 * table's model in, its search result out (see pool.ts simulatePool). The CLI's own workers run
 * dist/cli.js instead.
 */
import { parentPort } from 'node:worker_threads';
import { runSimJob, type SimJob } from './pool';

parentPort?.on('message', (job: SimJob) => { parentPort!.postMessage(runSimJob(job)); });
