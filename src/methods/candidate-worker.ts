/** Worker-thread side of automatic selection: fit, calibrate and score one candidate. */
import { parentPort, workerData } from 'node:worker_threads';
import { runCandidate, type CandidateJob, type CandidateMessage } from './select.js';

function post(m: CandidateMessage): void {
  parentPort!.postMessage(m);
}

if (parentPort) {
  runCandidate(workerData as CandidateJob, (progress) => post({ type: 'progress', progress }))
    .then((result) => post({ type: 'done', result }))
    .catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
}
