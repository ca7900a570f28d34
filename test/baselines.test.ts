import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, Rng } from '../src/engine/index.js';
import type { Dataset } from '../src/data/dataset.js';
import type { ModelInfo, TrajectoryModel } from '../src/surrogate/model.js';
import { fitDirect } from '../src/baselines/direct.js';
import { fitCfm } from '../src/baselines/cfm.js';
import { fitMfm } from '../src/baselines/mfm.js';
import { pairAnchors } from '../src/baselines/pairing.js';
import { loadModel } from '../src/methods/registry.js';
import { fitClot } from '../src/surrogate/fit.js';

/** Translating Gaussians, 1-D, two classes: class 0 mean −1 + 2t, class 1 mean 1 − t, std 0.3; λ = 2t. */
function translating(ts: number[], perClass: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const data = ts.map((t) => {
    const out = new Float32Array(perClass * 2 * 2);
    for (let i = 0; i < perClass * 2; i++) {
      const c = i % 2;
      out[i * 2] = (c === 0 ? -1 + 2 * t : 1 - t) + 0.3 * rng.normal();
      out[i * 2 + 1] = c;
    }
    return out;
  });
  return { levels: ts.map((t) => 2 * t), data, dim: 1, cond: 1, categorical: true, classes: 2 };
}

/** A blob on the unit circle whose mean angle turns by π/2 per anchor interval (2-D, no condition). */
function rotatingRing(ts: number[], n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const data = ts.map((t) => {
    const out = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const th = Math.PI * t + 0.45 * rng.normal();
      const r = 1 + 0.05 * rng.normal();
      out[2 * i] = r * Math.cos(th);
      out[2 * i + 1] = r * Math.sin(th);
    }
    return out;
  });
  return { levels: ts, data, dim: 2, cond: 0, categorical: false, classes: 0 };
}

function classStats(rows: Float32Array, klass: number): { mean: number; std: number } {
  const v: number[] = [];
  for (let i = 0; i < rows.length; i += 2) if (rows[i + 1] === klass) v.push(rows[i]);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
}

function meanRadius(rows: Float32Array): number {
  let a = 0;
  for (let i = 0; i < rows.length; i += 2) a += Math.hypot(rows[i], rows[i + 1]);
  return a / (rows.length / 2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-baselines-'));
const train = translating([0, 0.5, 1], 200, 1);
const models: Record<string, TrajectoryModel> = {};
const fitSeconds: Record<string, number> = {};

beforeAll(async () => {
  await initEngine({ quiet: true });
  const fits: [string, () => Promise<TrajectoryModel>][] = [
    ['direct', () => fitDirect(train, { seed: 3, steps: 300, batch: 128 })],
    ['cfm', () => fitCfm(train, { seed: 3, steps: 300, batch: 128 })],
    ['mfm', () => fitMfm(train, { seed: 3, steps: 300, batch: 128, interpolantSteps: 60 })],
  ];
  for (const [name, fit] of fits) {
    const t0 = performance.now();
    models[name] = await fit();
    fitSeconds[name] = (performance.now() - t0) / 1000;
  }
}, 120_000);

afterAll(() => {
  for (const m of Object.values(models)) m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('translating Gaussian at a held-out λ (t = 0.25)', () => {
  // Truth at λ = 0.5: class 0 N(−0.5, 0.3²), class 1 N(0.75, 0.3²).
  it('direct places the class means but has no spread (its known weakness)', () => {
    const out = models.direct.sample(models.direct.anchorRows(null, 400, 5), 0.5);
    expect(Math.abs(classStats(out, 0).mean + 0.5)).toBeLessThan(0.12);
    expect(Math.abs(classStats(out, 1).mean - 0.75)).toBeLessThan(0.12);
    expect(classStats(out, 0).std).toBeLessThan(0.05);
    expect(models.direct.info.kind).toBe('direct');
  });

  for (const name of ['cfm', 'mfm']) {
    it(`${name} transports mean and spread nearly exactly`, () => {
      const m = models[name];
      const out = m.sample(m.anchorRows(null, 400, 5), 0.5);
      const s0 = classStats(out, 0);
      const s1 = classStats(out, 1);
      console.log(name, s0, s1);
      expect(Math.abs(s0.mean + 0.5)).toBeLessThan(0.08);
      expect(Math.abs(s1.mean - 0.75)).toBeLessThan(0.08);
      expect(Math.abs(s0.std - 0.3)).toBeLessThan(0.06);
      expect(Math.abs(s1.std - 0.3)).toBeLessThan(0.06);
      // At the last anchor it lands on the anchor's distribution.
      const end = m.sample(m.anchorRows(null, 400, 5), 2);
      expect(Math.abs(classStats(end, 0).mean - 1)).toBeLessThan(0.08);
      expect(Math.abs(classStats(end, 1).mean - 0)).toBeLessThan(0.08);
      expect(m.info.kind).toBe(name);
    });
  }

  it('passes the condition through and returns the input rows at the first anchor', () => {
    for (const name of ['cfm', 'mfm']) {
      const rows = models[name].anchorRows(1, 10, 2);
      const out = models[name].sample(rows, 0);
      expect(Array.from(out)).toEqual(Array.from(rows).map((v) => Math.fround(v)));
    }
    const out = models.direct.sample(models.direct.anchorRows(1, 10, 2), 1.3);
    for (let i = 1; i < out.length; i += 2) expect(out[i]).toBe(1);
  });
});

describe('model contract', () => {
  for (const name of ['direct', 'cfm', 'mfm']) {
    it(`${name}: save → loadModel gives identical samples and trajectories`, async () => {
      const m = models[name];
      const dir = path.join(tmp, name);
      await m.save(dir);
      const back = loadModel(dir);
      try {
        expect(back.info).toEqual(m.info);
        const rows = m.anchorRows(null, 50, 9);
        expect(back.anchorRows(null, 50, 9)).toEqual(rows);
        expect(back.sample(rows, 0.7)).toEqual(m.sample(rows, 0.7));
        const grid = [1.5, 0, 0.7, 2];
        const traj = back.trajectory(rows, grid);
        grid.forEach((l, i) => expect(traj.subarray(i * rows.length, (i + 1) * rows.length)).toEqual(m.sample(rows, l)));
      } finally {
        back.dispose();
      }
    });

    it(`${name}: λ outside the anchors, bad rows and bad classes are clear errors`, () => {
      const m = models[name];
      const rows = m.anchorRows(0, 5, 1);
      expect(() => m.sample(rows, 2.5)).toThrow(/outside the model's range \[0, 2\]/);
      expect(() => m.sample(rows, -0.1)).toThrow(/outside/);
      expect(() => m.trajectory(rows, [0.5, 3])).toThrow(/outside/);
      expect(() => m.sample(new Float32Array([0.1, 5]), 1)).toThrow(/class 5/);
      expect(() => m.sample(new Float32Array([0.1, 0, 0.2]), 1)).toThrow(/2 columns/);
      expect(() => m.anchorRows(7, 5, 1)).toThrow(/class 7/);
    });
  }

  it('fit times stay small on this toy', () => {
    console.log('baseline fit seconds (toy, reduced steps):', fitSeconds);
    for (const s of Object.values(fitSeconds)) expect(s).toBeLessThan(60);
  });
});

describe('determinism', () => {
  const small = translating([0, 1], 40, 2);
  const cases: [string, (seed: number) => Promise<TrajectoryModel>][] = [
    ['direct', (seed) => fitDirect(small, { seed, steps: 15 })],
    ['cfm', (seed) => fitCfm(small, { seed, steps: 15 })],
    ['mfm', (seed) => fitMfm(small, { seed, steps: 15, interpolantSteps: 10 })],
  ];
  for (const [name, fit] of cases) {
    it(`${name}: the same seed gives byte-identical weights, another seed different ones`, async () => {
      const weights = async (seed: number, tag: string): Promise<Buffer> => {
        const m = await fit(seed);
        const dir = path.join(tmp, `det-${name}-${tag}`);
        await m.save(dir);
        m.dispose();
        return fs.readFileSync(path.join(dir, 'weights.safetensors'));
      };
      const a = await weights(11, 'a');
      const b = await weights(11, 'b');
      const c = await weights(12, 'c');
      expect(a.equals(b)).toBe(true);
      expect(a.equals(c)).toBe(false);
    }, 30_000);
  }
});

describe('memory', () => {
  it('a fit, its sampling and dispose leave no tensors behind', async () => {
    const { tf } = await import('../src/engine/index.js');
    const small = translating([0, 0.5, 1], 30, 6);
    const before = tf.memory().numTensors;
    for (const fit of [() => fitDirect(small, { steps: 5 }), () => fitCfm(small, { steps: 5 }), () => fitMfm(small, { steps: 5, interpolantSteps: 5 })]) {
      const m = await fit();
      const rows = m.anchorRows(null, 20, 1);
      m.sample(rows, 0.3);
      m.trajectory(rows, [0, 1, 2]);
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('rotating ring (blob turning π/2 per interval on the unit circle)', () => {
  it('straight-line CFM cuts the chord; MFM bends back toward the ring', async () => {
    const ring = rotatingRing([0, 0.5, 1], 150, 1);
    const cfm = await fitCfm(ring, { seed: 1, steps: 250, batch: 128 });
    const mfm = await fitMfm(ring, { seed: 1, steps: 250, batch: 128, interpolantSteps: 80 });
    try {
      const rows = cfm.anchorRows(null, 150, 2);
      const rc = meanRadius(cfm.sample(rows, 0.25));
      const rm = meanRadius(mfm.sample(rows, 0.25));
      // The chord's midpoint lies at radius cos(π/4) ≈ 0.71; the truth at 1.
      console.log('ring radius at the midpoint: cfm', rc, 'mfm', rm);
      expect(rc).toBeLessThan(0.8);
      expect(rm).toBeGreaterThan(rc + 0.1);
      // Both reach the anchor itself on the ring.
      expect(meanRadius(cfm.sample(rows, 0.5))).toBeGreaterThan(0.95);
      expect((mfm.info.training as { meanBend: number }).meanBend).toBeGreaterThan(0.1);
    } finally {
      cfm.dispose();
      mfm.dispose();
    }
  }, 60_000);
});

describe('rotating ring: CLOT with the density potential against straight-line CFM', () => {
  it('CLOT bends its paths onto the ring, so it scores better than CFM at the held-out midpoint', async () => {
    const ring = rotatingRing([0, 0.5, 1], 150, 3);
    const cfm = await fitCfm(ring, { seed: 3, steps: 250, batch: 128 });
    const clot = await fitClot(ring, {
      preset: 'euclidean-potential',
      seed: 3,
      // Standardised units: the ring's coordinates spread ≈ 0.7, so 0.14 is 0.1 in data units. 128
      // components, as when this margin was set: with the default 32 (wider clusters) the paths bend
      // a little less (|r − 1| 0.167 against 0.159; CFM 0.321), just outside half of CFM's.
      potential: { alpha: 0.3, bandwidth: 0.14, cap: 128 },
      spline: { pretrainSteps: 40, refitSteps: 20, batch: 96 },
      maps: { steps: 120, batch: 96 },
    });
    try {
      const rows = cfm.anchorRows(null, 150, 4);
      // Score: mean distance to the ring (the truth is on it, up to its 0.05 radial noise).
      const offRing = (m: TrajectoryModel, lambda: number) => {
        const out = m.sample(rows, lambda);
        let s = 0;
        for (let i = 0; i < out.length; i += 2) s += Math.abs(Math.hypot(out[i], out[i + 1]) - 1);
        return s / (out.length / 2);
      };
      const cfmError = offRing(cfm, 0.25);
      const clotError = offRing(clot, 0.25);
      console.log('mean |r − 1| at t = 0.25: cfm', cfmError, 'clot (K_I−Û)', clotError);
      expect(cfmError).toBeGreaterThan(0.15);
      expect(clotError).toBeLessThan(cfmError / 2);
    } finally {
      cfm.dispose();
      clot.dispose();
    }
  }, 120_000);
});

describe('OT pairing within conditions', () => {
  const rng = new Rng(4);
  it('pairs within groups of identical continuous conditions when they are shared', () => {
    // Group 0 moves by +0.1, group 1 by −0.6: pairing on y alone would cross the groups (0 → −0.1).
    const x = new Float32Array([0, 0, 0, 1, 1, 1]);
    const a = { y: new Float32Array([0, 1, 2, 0.5, 1.5, 2.5]), x, n: 6 };
    const b = { y: new Float32Array([2.1, 0.1, 1.1, 1.9, -0.1, 0.9]), x, n: 6 };
    const p = pairAnchors(a, b, { dim: 1, cond: 1, categorical: false, rng });
    expect(p.mode).toBe('group');
    for (let i = 0; i < p.src.length; i++) {
      expect(x[p.dst[i]]).toBe(x[p.src[i]]);
      expect(b.y[p.dst[i]] - a.y[p.src[i]]).toBeCloseTo(x[p.src[i]] === 0 ? 0.1 : -0.6, 6);
    }
  });

  it('falls back to a joint cost that matches conditions first when they are not shared', () => {
    const a = { y: new Float32Array([0, 1]), x: new Float32Array([0, 1]), n: 2 };
    const b = { y: new Float32Array([0, 1]), x: new Float32Array([1.05, 0.02]), n: 2 };
    const p = pairAnchors(a, b, { dim: 1, cond: 1, categorical: false, rng });
    expect(p.mode).toBe('joint');
    // y alone would pair 0→0, 1→1; the condition forces the crossing.
    expect(Array.from(p.src)).toEqual([0, 1]);
    expect(Array.from(p.dst)).toEqual([1, 0]);
  });

  it('uses an exact transport plan for unequal class sizes, each source carrying mass 1', () => {
    const a = { y: new Float32Array([0, 1, 2, 3]), x: new Float32Array([0, 0, 1, 1]), n: 4 };
    const b = { y: new Float32Array([0, 1, 2, 2.5, 3]), x: new Float32Array([0, 0, 1, 1, 1]), n: 5 };
    const p = pairAnchors(a, b, { dim: 1, cond: 1, categorical: true, rng });
    expect(p.mode).toBe('class');
    const mass = new Float64Array(4);
    for (let i = 0; i < p.src.length; i++) {
      mass[p.src[i]] += p.weight[i];
      expect(a.x[p.src[i]]).toBe(b.x[p.dst[i]]);
    }
    for (const m of mass) expect(m).toBeCloseTo(1, 12);
  });

  it('refuses a class missing at the next anchor', () => {
    const a = { y: new Float32Array([0, 1]), x: new Float32Array([0, 1]), n: 2 };
    const b = { y: new Float32Array([0, 1]), x: new Float32Array([0, 0]), n: 2 };
    expect(() => pairAnchors(a, b, { dim: 1, cond: 1, categorical: true, rng })).toThrow(/class 1 has rows at one anchor but none at the next/);
  });
});

describe('anchor times and stored rows', async () => {
  const { anchorTimes, timeOf, drawAnchorRows } = await import('../src/baselines/common.js');
  it('maps λ to anchor time by the real spacing, or k/K with equalSpacing', () => {
    expect(anchorTimes([0, 1, 10])).toEqual([0, 0.1, 1]);
    expect(anchorTimes([0, 1, 10], true)).toEqual([0, 0.5, 1]);
    expect(timeOf([0, 1, 10], [0, 0.5, 1], 0.5)).toBeCloseTo(0.25, 12);
    expect(timeOf([0, 1, 10], [0, 0.5, 1], 5.5)).toBeCloseTo(0.75, 12);
    expect(timeOf([0, 1, 10], [0, 0.1, 1], 5.5)).toBeCloseTo(0.55, 12);
  });

  it('draws stored rows of a class without repeats until they run out', () => {
    const info: ModelInfo = { kind: 'cfm', method: 'cfm', dim: 1, cond: 1, categorical: true, classes: 2, anchors: [0, 1], bounds: [[0, 1]] };
    const stored = new Float32Array([0, 0, 1, 1, 2, 0, 3, 1, 4, 0]);
    const rows = drawAnchorRows(info, stored, 0, 5, 3);
    const ys = Array.from({ length: 5 }, (_, i) => rows[2 * i]);
    expect(new Set(ys.slice(0, 3))).toEqual(new Set([0, 2, 4]));
    for (let i = 0; i < 5; i++) expect(rows[2 * i + 1]).toBe(0);
    expect(drawAnchorRows(info, stored, 0, 5, 3)).toEqual(rows);
    expect(() => drawAnchorRows(info, stored, 0, 0, 3)).toThrow(/positive integer/);
  });
});
