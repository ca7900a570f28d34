/**
 * Where the closed loop is decided (`npm run bench:closed-loop-blend`): the bracketing anchor
 * policies blended at fixed positions s along each anchor interval, run on the closed-loop
 * patients, counting episodes cured (+100) and lost (−100, a state variable out of bounds).
 * Blends are taken in both spaces of `BlendSpace`: the clipped actions (what a surrogate fitted on
 * the data can express) and the unclipped mean actions (the policies' own coordinate). Cure or loss
 * does not depend on λ (λ weighs the NK penalty in the return only), so one run per s covers
 * every λ of the interval. Prints one JSON object.
 *
 *   node dist/bench/closed-loop-blend.js [--policies DIR] [--anchors 0,5,10] [--episodes 20] [--seed 0]
 *     [--positions 0,0.02,0.05,...]
 */
import { parseArgs } from 'node:util';
import { bundledDataPath } from '../data/bundled.js';
import { blendScan, CLOSED_LOOP_DEFAULT_EPISODES } from './closed-loop.js';

const DEFAULT_POSITIONS = [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

function list(text: string, what: string): number[] {
  const v = text.split(',').map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new Error(`--${what} must be comma-separated numbers, got '${text}'`);
  return v;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      policies: { type: 'string', default: bundledDataPath('cancer_policies') },
      anchors: { type: 'string', default: '0,5,10' },
      episodes: { type: 'string', default: String(CLOSED_LOOP_DEFAULT_EPISODES) },
      seed: { type: 'string', default: '0' },
      positions: { type: 'string', default: DEFAULT_POSITIONS.join(',') },
    },
  });
  const episodes = Number(values.episodes);
  const seed = Number(values.seed);
  if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`--episodes must be a positive integer, got '${values.episodes}'`);
  if (!(Number.isInteger(seed) && seed >= 0)) throw new Error(`--seed must be a non-negative integer, got '${values.seed}'`);
  const positions = list(values.positions!, 'positions');
  if (positions.some((s) => s < 0 || s > 1)) throw new Error('--positions must lie in [0, 1]');
  const scan = blendScan(values.policies!, list(values.anchors!, 'anchors'), positions, episodes, seed);
  process.stdout.write(JSON.stringify(scan, null, 2) + '\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`closed-loop-blend: ${(err as Error).message}\n`);
  process.exit(1);
}
