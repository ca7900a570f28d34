import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/rng.js';
import {
  SEMICIRCLE_PER_CLASS,
  sampleSemicircles,
  sampleVonMises,
  semicircleDataset,
  semicircleTruth,
} from '../src/bench/semicircles.js';
import {
  SEMICIRCLE_KAPPA,
  SEMICIRCLE_SIGMA,
  circleDistance,
  logBesselI0,
  semicircleCentre,
  semicircleLogDensity,
  semicircleMeanAngle,
  semicircleNll,
} from '../src/eval/semicircle.js';
import { perClassW2 } from '../src/eval/scores.js';

/** I_ν(κ) by its power series (independent of the code under test). */
function besselI(nu: number, kappa: number): number {
  let term = (kappa / 2) ** nu;
  for (let j = 1; j <= nu; j++) term /= j;
  let sum = term;
  for (let k = 1; k < 3000; k++) {
    term *= (kappa * kappa) / 4 / (k * (k + nu));
    sum += term;
  }
  return sum;
}

describe('semicircle law', () => {
  it('has the documented centres and mean angles', () => {
    expect(semicircleCentre(0)).toEqual([-1, 0]);
    expect(semicircleCentre(3)).toEqual([1, 0]);
    expect(semicircleMeanAngle(0.5, 0)).toBeCloseTo(Math.PI / 2, 12);
    expect(semicircleMeanAngle(0.5, 1)).toBeCloseTo(-Math.PI / 2, 12);
    expect(semicircleMeanAngle(0, 2)).toBeCloseTo(Math.PI, 12);
    expect(semicircleMeanAngle(1, 3)).toBeCloseTo(0, 12);
    expect(() => semicircleCentre(4)).toThrow(/class must be an integer/);
  });

  it('log I0 matches the series and the large-κ asymptotics', () => {
    for (const k of [0, 0.3, 5, 20, 49]) expect(logBesselI0(k)).toBeCloseTo(Math.log(besselI(0, k)), 10);
    // Continuity across the switch to the asymptotic form.
    expect(logBesselI0(500.0001)).toBeCloseTo(Math.log(besselI(0, 500.0001)), 9);
    expect(logBesselI0(200)).toBeCloseTo(Math.log(besselI(0, 200)), 9);
  });

  it('the density integrates to 1 over the plane (Cartesian grid, so the 1/r Jacobian is tested)', () => {
    const h = 0.004;
    for (const [t, cls] of [
      [0.3, 0],
      [0.8, 3],
      [0.5, 1],
    ]) {
      const [cx, cy] = semicircleCentre(cls);
      let mass = 0;
      for (let x = cx - 1.4; x <= cx + 1.4; x += h) {
        for (let y = cy - 1.4; y <= cy + 1.4; y += h) mass += Math.exp(semicircleLogDensity([x, y], t, cls));
      }
      expect(mass * h * h).toBeCloseTo(1, 3);
    }
  });
});

describe('seeded generator', () => {
  it('von Mises sampler (Best–Fisher) has the right mean resultant length and symmetry', () => {
    const rng = new Rng(11);
    for (const kappa of [0.5, 2, 5, 20]) {
      const n = 40000;
      const mu = 1.2;
      let c = 0;
      let s = 0;
      for (let i = 0; i < n; i++) {
        const th = sampleVonMises(mu, kappa, rng);
        c += Math.cos(th - mu);
        s += Math.sin(th - mu);
      }
      // E cos(θ − μ) = I1(κ)/I0(κ); E sin(θ − μ) = 0. Tolerance ≈ 4 standard errors.
      expect(Math.abs(c / n - besselI(1, kappa) / besselI(0, kappa))).toBeLessThan(4 / Math.sqrt(n));
      expect(Math.abs(s / n)).toBeLessThan(4 / Math.sqrt(n));
    }
  });

  it('angles follow the von Mises density bin by bin (χ² test)', () => {
    const rng = new Rng(12);
    const n = 50000;
    const bins = 24;
    const counts = new Float64Array(bins);
    for (let i = 0; i < n; i++) {
      let th = sampleVonMises(0, SEMICIRCLE_KAPPA, rng);
      th = Math.atan2(Math.sin(th), Math.cos(th));
      counts[Math.min(bins - 1, Math.floor(((th + Math.PI) / (2 * Math.PI)) * bins))]++;
    }
    let chi2 = 0;
    const norm = 2 * Math.PI * besselI(0, SEMICIRCLE_KAPPA);
    for (let b = 0; b < bins; b++) {
      let p = 0;
      const steps = 200;
      for (let k = 0; k < steps; k++) {
        const th = -Math.PI + ((b + (k + 0.5) / steps) / bins) * 2 * Math.PI;
        p += Math.exp(SEMICIRCLE_KAPPA * Math.cos(th)) / norm / steps;
      }
      const expected = n * p * ((2 * Math.PI) / bins);
      if (expected > 5) chi2 += (counts[b] - expected) ** 2 / expected;
    }
    // 99.9% quantile of χ² with ≤ 23 degrees of freedom is about 49.7.
    expect(chi2).toBeLessThan(49.7);
  });

  it('samples have log-normal radii about the class centre and the class layout of the rows', () => {
    const rows = sampleSemicircles(0.25, 5000, new Rng(13));
    expect(rows.length).toBe(4 * 5000 * 3);
    let sumLog = 0;
    let sumLog2 = 0;
    let misplaced = 0;
    for (let i = 0; i < 20000; i++) {
      const cls = rows[3 * i + 2];
      if (cls !== Math.floor(i / 5000)) misplaced++;
      const [cx, cy] = semicircleCentre(cls);
      const lr = Math.log(Math.hypot(rows[3 * i] - cx, rows[3 * i + 1] - cy));
      sumLog += lr;
      sumLog2 += lr * lr;
    }
    expect(misplaced).toBe(0);
    const mean = sumLog / 20000;
    const sd = Math.sqrt(sumLog2 / 20000 - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(sd).toBeCloseTo(SEMICIRCLE_SIGMA, 3);
  });

  it('the dataset is seeded, has the anchors and 100 per class, and can include held-out levels', () => {
    const a = semicircleDataset(3);
    const b = semicircleDataset(3);
    const c = semicircleDataset(4);
    expect(a.levels).toEqual([0, 0.5, 1]);
    expect(a.anchors).toEqual([0, 0.5, 1]);
    expect(a.dim).toBe(2);
    expect(a.cond).toBe(1);
    expect(a.categorical).toBe(true);
    expect(a.classes).toBe(4);
    expect(a.data.map((d) => d.length)).toEqual([1200, 1200, 1200]);
    expect(Array.from(a.data[1])).toEqual(Array.from(b.data[1]));
    expect(Array.from(a.data[1])).not.toEqual(Array.from(c.data[1]));
    const full = semicircleDataset(3, { withHeldOut: true });
    expect(full.levels).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(full.validation).toEqual([0.25, 0.75]);
    expect(Array.from(full.data[2])).toEqual(Array.from(a.data[1]));
    // Fresh truth is independent of the training draws at the same seed.
    expect(Array.from(semicircleTruth(0.5, 3))).not.toEqual(Array.from(a.data[1]));
    expect(semicircleTruth(0.5, 3).length).toBe(4 * SEMICIRCLE_PER_CLASS * 3);
  });
});

describe('calibration of benchmarks.md', () => {
  const entropy =
    Math.log(2 * Math.PI * besselI(0, SEMICIRCLE_KAPPA)) -
    (SEMICIRCLE_KAPPA * besselI(1, SEMICIRCLE_KAPPA)) / besselI(0, SEMICIRCLE_KAPPA) +
    0.5 +
    0.5 * Math.log(2 * Math.PI * SEMICIRCLE_SIGMA ** 2);

  it('true samples score NLL ≈ −0.9 and CD ≈ 0.040', () => {
    // Differential entropy of the law: −0.901 (E log r = 0, so the Jacobian adds nothing on average).
    expect(entropy).toBeCloseTo(-0.9012, 3);
    const big = sampleSemicircles(0.75, 10000, new Rng(21));
    expect(semicircleNll(big, 0.75)).toBeCloseTo(entropy, 1);
    expect(Math.abs(semicircleNll(big, 0.75) - entropy)).toBeLessThan(0.02);
    expect(circleDistance(big)).toBeCloseTo(SEMICIRCLE_SIGMA * Math.sqrt(2 / Math.PI), 3);
    // At the benchmark's size (100 per class) the figures quoted: −0.87 / −0.91 and 0.040.
    for (const t of [0.25, 0.75]) {
      let nll = 0;
      let cd = 0;
      for (let seed = 0; seed < 8; seed++) {
        const truth = semicircleTruth(t, seed);
        nll += semicircleNll(truth, t) / 8;
        cd += circleDistance(truth) / 8;
      }
      expect(nll).toBeGreaterThan(-0.97);
      expect(nll).toBeLessThan(-0.83);
      expect(cd).toBeGreaterThan(0.037);
      expect(cd).toBeLessThan(0.043);
    }
  });

  it('collapsing onto the mode beats the truth on NLL and CD (why W2 is the judge)', () => {
    const mode = new Float32Array(12);
    for (let c = 0; c < 4; c++) {
      const [cx, cy] = semicircleCentre(c);
      const m = semicircleMeanAngle(0.25, c);
      mode.set([cx + Math.cos(m), cy + Math.sin(m), c], 3 * c);
    }
    expect(circleDistance(mode)).toBeCloseTo(0, 6);
    expect(semicircleNll(mode, 0.25)).toBeLessThan(-1.8);
  });

  it('two independent true sets are W2 ≈ 0.015 apart; copying the anchor below scores ≈ 0.6', () => {
    let floor = 0;
    let copy = 0;
    const seeds = 4;
    for (let seed = 0; seed < seeds; seed++) {
      const ds = semicircleDataset(seed);
      const truth = semicircleTruth(0.25, seed);
      floor += perClassW2(sampleSemicircles(0.25, 100, new Rng(500 + seed)), truth, 2) / seeds;
      copy += perClassW2(ds.data[0], truth, 2) / seeds;
    }
    expect(floor).toBeGreaterThan(0.008);
    expect(floor).toBeLessThan(0.025);
    expect(copy).toBeGreaterThan(0.5);
    expect(copy).toBeLessThan(0.7);
  });
});
