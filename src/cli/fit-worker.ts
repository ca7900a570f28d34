/**
 * Worker-thread side of `hti fit`: fit, save into the staging directory, report. The main thread
 * only renders progress and answers Ctrl-C (by terminating this worker).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runFitJob, type FitJob, type FitMessage } from './fit.js';

function post(m: FitMessage): void {
  parentPort!.postMessage(m);
}

async function run(job: FitJob): Promise<void> {
  const info = await runFitJob(
    job,
    (progress) => post({ type: 'progress', progress }),
    (line) => post({ type: 'log', line }),
  );
  post({ type: 'done', info });
}

if (parentPort) {
  run(workerData as FitJob).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
}
