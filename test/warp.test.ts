import { describe, expect, it } from 'vitest';
import { Rng } from '../src/engine/rng.js';
import { LAMBDA_SCALES, TimeWarp, autoScale, checkKnots, hermiteAt, monotoneSlopes, priorWarp, resolveScale, scaleCoordinate, shapeWarp } from '../src/surrogate/warp.js';

describe('monotone cubic interpolation (Fritsch–Carlson)', () => {
  it('passes through its knots and reproduces linear data exactly', () => {
    const x = [0, 0.3, 0.5, 1.2, 2];
    const y = x.map((v) => 3 * v - 1);
    const m = monotoneSlopes(x, y);
    for (const s of m) expect(s).toBeCloseTo(3, 12);
    for (let i = 0; i < x.length; i++) expect(hermiteAt(x, y, m, x[i])).toBeCloseTo(y[i], 12);
    for (const t of [0.1, 0.77, 1.9]) expect(hermiteAt(x, y, m, t)).toBeCloseTo(3 * t - 1, 12);
  });

  it('never decreases between non-decreasing knots, whatever their spacing (random cases)', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 200; trial++) {
      const n = 3 + rng.int(6);
      const x: number[] = [0];
      const y: number[] = [0];
      for (let i = 1; i < n; i++) {
        x.push(x[i - 1] + 0.01 + rng.next());
        // Flat steps and sudden jumps both occur.
        y.push(y[i - 1] + (rng.next() < 0.3 ? 0 : rng.next() ** 3 * 5));
      }
      const m = monotoneSlopes(x, y);
      let prev = -Infinity;
      let worstDrop = 0;
      for (let j = 0; j <= 400; j++) {
        const v = hermiteAt(x, y, m, (x[n - 1] * j) / 400);
        worstDrop = Math.max(worstDrop, prev - v);
        prev = v;
      }
      expect(worstDrop).toBeLessThanOrEqual(1e-12);
      expect(Math.max(...x.map((xi, i) => Math.abs(hermiteAt(x, y, m, xi) - y[i])))).toBeLessThan(1e-10);
    }
  });

  it('is flat on a flat stretch (no overshoot)', () => {
    const x = [0, 1, 2, 3];
    const y = [0, 1, 1, 2];
    const m = monotoneSlopes(x, y);
    for (const t of [1.1, 1.5, 1.9]) expect(hermiteAt(x, y, m, t)).toBe(1);
  });
});

describe('TimeWarp', () => {
  it('without inner knots is the plain linear position in each interval', () => {
    const w = new TimeWarp([0, 0.5, 0.99]);
    expect(w.isLinear()).toBe(true);
    expect(w.position(0)).toEqual({ k: 0, s: 0 });
    expect(w.position(0.25)).toEqual({ k: 0, s: 0.5 });
    expect(w.position(0.5)).toEqual({ k: 1, s: 0 });
    expect(w.position(0.99)).toEqual({ k: 1, s: 1 });
    expect(w.position(0.745).s).toBeCloseTo(0.5, 12);
  });

  it('follows calibrated knots: slow early, late jump, exact at anchors', () => {
    const w = new TimeWarp([0.01, 0.99], { lambdas: [0.01, 0.5, 0.9, 0.99], progress: [0, 0.1, 0.3, 1] });
    expect(w.position(0.01)).toEqual({ k: 0, s: 0 });
    expect(w.position(0.99)).toEqual({ k: 0, s: 1 });
    expect(w.position(0.5).s).toBeCloseTo(0.1, 12);
    expect(w.position(0.9).s).toBeCloseTo(0.3, 12);
    expect(w.position(0.25).s).toBeLessThan(0.1);
    expect(w.position(0.95).s).toBeGreaterThan(0.3);
  });

  it('refuses knots that miss an anchor, decrease, or leave the anchor range', () => {
    expect(() => new TimeWarp([0, 1], { lambdas: [0, 0.5, 1], progress: [0, 0.7, 0.9] })).toThrow(/anchor λ = 1 must be a knot with progress 1/);
    expect(() => new TimeWarp([0, 1], { lambdas: [0, 0.5, 1], progress: [0, -0.1, 1] })).toThrow(/must not decrease/);
    expect(() => new TimeWarp([0, 1], { lambdas: [0, 0.5, 0.5, 1], progress: [0, 0.2, 0.3, 1] })).toThrow(/strictly increasing/);
    expect(() => checkKnots([0, 1], { lambdas: [-1, 0, 1], progress: [0, 0, 1] })).toThrow(/span exactly the anchor range/);
    expect(() => checkKnots([0, 1], { lambdas: [0, NaN, 1], progress: [0, 0.5, 1] })).toThrow(/finite/);
  });
});

describe('λ scales', () => {
  it('map λ to their coordinate and back', () => {
    const inside: Record<string, number[]> = { linear: [-3, 0, 2.5], log: [1e-4, 0.3, 40], logit: [0.001, 0.5, 0.97], log1m: [-2, 0, 0.5, 0.999] };
    for (const scale of LAMBDA_SCALES) {
      const g = scaleCoordinate(scale);
      for (const l of inside[scale]) expect(g.from(g.to(l))).toBeCloseTo(l, 12);
    }
    expect(scaleCoordinate('logit').to(0.5)).toBe(0);
    expect(scaleCoordinate('log1m').to(0.75)).toBeCloseTo(Math.log(4), 12);
  });

  it('are picked from the anchors by auto, and checked against their domain when named', () => {
    expect(autoScale([0.01, 0.5, 0.99])).toBe('logit');
    expect(autoScale([0, 0.5, 0.99])).toBe('log1m');
    expect(autoScale([0, 1])).toBe('linear');
    expect(autoScale([0, 5, 10])).toBe('linear');
    expect(resolveScale(undefined, [0.1, 0.9])).toBe('logit');
    expect(resolveScale('linear', [0.1, 0.9])).toBe('linear');
    expect(() => resolveScale('logit', [0, 0.5])).toThrow(/'logit' needs 0 < λ < 1, but anchor λ = 0 is outside it/);
    expect(() => resolveScale('log', [-1, 1])).toThrow(/λ > 0/);
    expect(() => resolveScale('cubic' as never, [0, 1])).toThrow(/unknown λ scale "cubic"/);
  });

  it('give a prior warp linear in their coordinate, and none for the linear scale', () => {
    expect(priorWarp([0, 1], 'linear')).toBeUndefined();
    const anchors = [0.01, 0.99];
    const w = new TimeWarp(anchors, priorWarp(anchors, 'logit'));
    const g = scaleCoordinate('logit');
    const exact = (l: number) => (g.to(l) - g.to(0.01)) / (g.to(0.99) - g.to(0.01));
    // Between the sampled knots the warp's cubic in λ follows the curve closely.
    for (const l of [0.02, 0.1, 0.5, 0.75, 0.9, 0.98]) expect(w.progress(l)).toBeCloseTo(exact(l), 2);
    expect(w.progress(0.5)).toBeCloseTo(0.5, 10);
    // Three anchors (log scale): each interval linear in ln λ, anchors exactly at k.
    const three = new TimeWarp([1, 10, 1000], priorWarp([1, 10, 1000], 'log'));
    expect(three.position(10)).toEqual({ k: 1, s: 0 });
    expect(three.progress(Math.sqrt(10))).toBeCloseTo(0.5, 2);
    expect(three.progress(100)).toBeCloseTo(1.5, 2);
  });

  it('shape a calibrated warp in their coordinate, keeping its knots', () => {
    const anchors = [0.01, 0.5, 0.99];
    const knots = { lambdas: [0.01, 0.25, 0.5, 0.75, 0.99], progress: [0, 0.7, 1, 1.15, 2] };
    const shaped = shapeWarp(anchors, knots, 'logit');
    for (const [i, l] of knots.lambdas.entries()) expect(shaped.progress[shaped.lambdas.indexOf(l)]).toBe(knots.progress[i]);
    // Between 0.75 and 0.99 the cubic runs in logit: late, where the cubic in λ would already be far.
    const inLogit = new TimeWarp(anchors, shaped);
    const inLambda = new TimeWarp(anchors, knots);
    const g = scaleCoordinate('logit');
    const x = knots.lambdas.map(g.to);
    const m = monotoneSlopes(x, knots.progress);
    for (const l of [0.05, 0.9, 0.95]) expect(inLogit.progress(l)).toBeCloseTo(hermiteAt(x, knots.progress, m, g.to(l)), 2);
    expect(inLogit.progress(0.9)).toBeLessThan(inLambda.progress(0.9) - 0.2);
    checkKnots(anchors, shaped);
  });
});
