/**
 * Worker-thread side of `hti fit`: fit, save into the staging directory, report. The main thread
 * only renders progress and answers Ctrl-C (by terminating this worker).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine } from '../engine/index.js';
import { fitModel } from '../methods/registry.js';
import type { FitJob, FitMessage } from './fit.js';

function post(m: FitMessage): void {
  parentPort!.postMessage(m);
}

async function run(job: FitJob): Promise<void> {
  await initEngine();
  const model = await fitModel(job.method, job.train, { ...job.options, onProgress: (progress) => post({ type: 'progress', progress }) });
  try {
    await model.save(job.staging);
    post({ type: 'done', info: model.info });
  } finally {
    model.dispose();
  }
}

if (parentPort) {
  run(workerData as FitJob).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
}
