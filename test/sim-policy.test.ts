// The PPO actors against the actions stored in cancer_reward.npy: at each of the 793 states, every
// level holds 10 stochastic draws of its policy, clip(μ(o) + σ ε). The exact law of one draw is a
// clipped normal, so per state and action dimension we know the mean m and variance v of a draw.
// Tests, per policy (λ = 1 and λ = 9) and action dimension:
//   means:   z = (mean of the 10 draws − m) / √(v / 10); over N states, mean z within 4/√N of 0
//            (4 standard errors) and mean z² within 0.2 of 1 (≈ 4 standard errors);
//   spreads: Σ sample variances / Σ v within 0.1 of 1 (≈ 5 standard errors).
// The same statistics must FAIL for the wrong policy (λ = 9's law on λ = 1's draws and back) and for
// a standard deviation 25% too large, so the tolerances cannot be met by accident.
import { describe, expect, it } from 'vitest';
import { bundledDataPath } from '../src/data/bundled.js';
import { levelIndex, loadDataset } from '../src/data/index.js';
import { Rng } from '../src/engine/rng.js';
import { clippedNormalMoments, loadPolicy, normalCdf, type GaussianPolicy } from '../src/sim/index.js';

const ds = loadDataset(bundledDataPath('cancer_reward.npy'));
const WIDTH = ds.dim + ds.cond;
const DRAWS = 10;
const STATES = ds.data[0].length / WIDTH / DRAWS;

/** One observation per state (columns 2..8 of its first row). */
function stateObservations(rows: Float32Array): Float32Array {
  const obs = new Float32Array(STATES * ds.cond);
  for (let s = 0; s < STATES; s++) obs.set(rows.subarray(s * DRAWS * WIDTH + ds.dim, s * DRAWS * WIDTH + WIDTH), s * ds.cond);
  return obs;
}

interface Stats {
  meanZ: number;
  meanZ2: number;
  spreadRatio: number;
  states: number;
}

/** The statistics above for draws (rows of width 9, 10 per state) against a policy's law with std × stdScale. */
function drawStats(rows: Float32Array, policy: GaussianPolicy, dim: number, stdScale = 1): Stats {
  const mu = policy.mean(stateObservations(rows));
  const sigma = policy.std[dim] * stdScale;
  let sumZ = 0;
  let sumZ2 = 0;
  let n = 0;
  let sampleVar = 0;
  let lawVar = 0;
  for (let s = 0; s < STATES; s++) {
    const { mean, variance } = clippedNormalMoments(mu[s * policy.actionDim + dim], sigma, policy.low[dim], policy.high[dim]);
    let m = 0;
    for (let k = 0; k < DRAWS; k++) m += rows[(s * DRAWS + k) * WIDTH + dim];
    m /= DRAWS;
    let ss = 0;
    for (let k = 0; k < DRAWS; k++) ss += (rows[(s * DRAWS + k) * WIDTH + dim] - m) ** 2;
    sampleVar += ss / (DRAWS - 1);
    lawVar += variance;
    // A state whose action is clipped almost surely carries no information about the mean's law.
    if (variance < 1e-8) continue;
    const z = (m - mean) / Math.sqrt(variance / DRAWS);
    sumZ += z;
    sumZ2 += z * z;
    n++;
  }
  return { meanZ: sumZ / n, meanZ2: sumZ2 / n, spreadRatio: sampleVar / lawVar, states: n };
}

function passes(s: Stats): boolean {
  return Math.abs(s.meanZ) <= 4 / Math.sqrt(s.states) && Math.abs(s.meanZ2 - 1) <= 0.2 && Math.abs(s.spreadRatio - 1) <= 0.1;
}

const fmt = (s: Stats) => `mean z ${s.meanZ.toFixed(3)} (±${(4 / Math.sqrt(s.states)).toFixed(3)}), mean z² ${s.meanZ2.toFixed(3)}, spread ratio ${s.spreadRatio.toFixed(3)}, ${s.states} states`;

describe('PPO actors vs the stored stochastic actions', () => {
  const policies = { 1: loadPolicy(bundledDataPath('cancer_policies', 'policy_lambda1.safetensors')), 9: loadPolicy(bundledDataPath('cancer_policies', 'policy_lambda9.safetensors')) };
  const rowsAt = (lambda: number) => ds.data[levelIndex(ds, lambda)];

  it('normalCdf and the clipped-normal moments agree with closed forms and Monte Carlo', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 7);
    // Unclipped in effect: the normal's own moments.
    const far = clippedNormalMoments(5, 0.5, -100, 100);
    expect(far.mean).toBeCloseTo(5, 6);
    expect(far.variance).toBeCloseTo(0.25, 6);
    const rng = new Rng(3);
    let s = 0;
    let s2 = 0;
    const n = 400_000;
    for (let i = 0; i < n; i++) {
      const v = Math.min(8, Math.max(0, 0.3 + 0.6 * rng.normal()));
      s += v;
      s2 += v * v;
    }
    const exact = clippedNormalMoments(0.3, 0.6, 0, 8);
    expect(Math.abs(s / n - exact.mean)).toBeLessThan(3e-3);
    expect(Math.abs(s2 / n - (s / n) ** 2 - exact.variance)).toBeLessThan(3e-3);
  });

  it('the metadata gives the action box [0, 0] … [10, 8] and λ', () => {
    expect(Array.from(policies[9].low)).toEqual([0, 0]);
    expect(Array.from(policies[9].high)).toEqual([10, 8]);
    expect(policies[9].lambda).toBe(9);
  });

  for (const lambda of [1, 9] as const) {
    it(`λ = ${lambda}: the 10 stored draws per state match the policy's law in mean and spread`, () => {
      for (let dim = 0; dim < 2; dim++) {
        const s = drawStats(rowsAt(lambda), policies[lambda], dim);
        console.log(`[policy λ=${lambda} action ${dim}] ${fmt(s)}`);
        expect(s.states).toBeGreaterThan(500);
        expect(passes(s), fmt(s)).toBe(true);
      }
    });
  }

  it('negative controls fail: the other policy, or a std 25% too large', () => {
    for (const [draws, wrong] of [
      [1, 9],
      [9, 1],
    ] as const) {
      const stats = [0, 1].map((dim) => drawStats(rowsAt(draws), policies[wrong], dim));
      console.log(`[policy control: λ = ${wrong} law on λ = ${draws} draws] ${stats.map(fmt).join(" · ")}`);
      const failed = stats.some((s) => !passes(s));
      expect(failed, `λ = ${wrong}'s law on λ = ${draws}'s draws`).toBe(true);
    }
    for (const lambda of [1, 9] as const) {
      for (let dim = 0; dim < 2; dim++) expect(passes(drawStats(rowsAt(lambda), policies[lambda], dim, 1.25))).toBe(false);
    }
  });

  it('our own stochastic actions pass the same test', () => {
    const policy = policies[9];
    const obs = stateObservations(rowsAt(9));
    const repeated = new Float32Array(STATES * DRAWS * ds.cond);
    for (let s = 0; s < STATES; s++) for (let k = 0; k < DRAWS; k++) repeated.set(obs.subarray(s * ds.cond, (s + 1) * ds.cond), (s * DRAWS + k) * ds.cond);
    const actions = policy.sample(repeated, new Rng(11));
    const rows = new Float32Array(STATES * DRAWS * WIDTH);
    for (let r = 0; r < STATES * DRAWS; r++) {
      rows.set(actions.subarray(r * 2, r * 2 + 2), r * WIDTH);
      rows.set(repeated.subarray(r * ds.cond, (r + 1) * ds.cond), r * WIDTH + ds.dim);
    }
    for (let dim = 0; dim < 2; dim++) expect(passes(drawStats(rows, policy, dim)), fmt(drawStats(rows, policy, dim))).toBe(true);
  });
});
