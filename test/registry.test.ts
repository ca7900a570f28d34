import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, Rng } from '../src/engine/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { writeModelDir, type ModelInfo, type TrajectoryModel } from '../src/surrogate/index.js';

// CLOT is fitted and loaded elsewhere; here only the dispatch to it is under test.
const clotCalls: { fit: unknown[]; load: unknown[] } = { fit: [], load: [] };
vi.mock('../src/surrogate/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/surrogate/index.js')>();
  return {
    ...real,
    fitClot: async (train: unknown, options: unknown) => {
      clotCalls.fit.push(options);
      return { info: { kind: 'clot' } } as unknown as TrajectoryModel;
    },
    loadClot: (stored: { info: ModelInfo }) => {
      clotCalls.load.push(stored.info.method);
      return { info: stored.info } as unknown as TrajectoryModel;
    },
  };
});

const { BASELINES, METHODS, fitModel, isMethod, loadModel } = await import('../src/methods/registry.js');
const { CLOT_PRESETS } = await import('../src/surrogate/index.js');

function tiny(): Dataset {
  const rng = new Rng(1);
  const data = [0, 1].map((t) => {
    const out = new Float32Array(40 * 3);
    for (let i = 0; i < 40; i++) {
      out[3 * i] = t + 0.2 * rng.normal();
      out[3 * i + 1] = -t + 0.2 * rng.normal();
      out[3 * i + 2] = i % 4; // a continuous condition shared across levels
    }
    return out;
  });
  return { levels: [1, 3], data, dim: 2, cond: 1, categorical: false, classes: 0 };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-registry-'));
beforeAll(async () => {
  await initEngine({ quiet: true });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('METHODS', () => {
  it('lists every CLOT preset and the three baselines once', () => {
    expect(METHODS).toEqual([...CLOT_PRESETS, 'direct', 'cfm', 'mfm']);
    expect(new Set(METHODS).size).toBe(METHODS.length);
    expect(BASELINES).toEqual(['direct', 'cfm', 'mfm']);
    expect(isMethod('cfm')).toBe(true);
    expect(isMethod('full')).toBe(true);
    expect(isMethod('nope')).toBe(false);
  });
});

describe('fitModel', () => {
  it('rejects an unknown method, naming the valid ones', async () => {
    await expect(fitModel('sinkhorn', tiny())).rejects.toThrow(/unknown method 'sinkhorn'; valid methods: full, .*direct, cfm, mfm/);
  });

  it('dispatches CLOT presets to fitClot with the preset and the options', async () => {
    const onProgress = () => {};
    const m = await fitModel('euclidean-potential', tiny(), { seed: 4, maps: { steps: 7 }, onProgress });
    expect(m.info.kind).toBe('clot');
    expect(clotCalls.fit.at(-1)).toEqual({ seed: 4, maps: { steps: 7 }, onProgress, preset: 'euclidean-potential' });
  });

  for (const method of ['direct', 'cfm', 'mfm']) {
    it(`fits '${method}' with the options given, and loadModel reads it back`, async () => {
      const m = await fitModel(method, tiny(), { seed: 2, steps: 12, interpolantSteps: 5 });
      const dir = path.join(tmp, method);
      try {
        expect(m.info.kind).toBe(method);
        expect(m.info.method).toBe(method);
        expect(m.info.anchors).toEqual([1, 3]);
        expect(m.info.training?.steps).toBe(12);
        if (method === 'mfm') expect(m.info.training?.interpolantSteps).toBe(5);
        if (method !== 'direct') expect(m.info.training?.pairing).toEqual(['group']);
        await m.save(dir);
        const back = loadModel(dir);
        const rows = m.anchorRows(null, 8, 1);
        expect(back.sample(rows, 2.2)).toEqual(m.sample(rows, 2.2));
        back.dispose();
      } finally {
        m.dispose();
      }
    });
  }

  it('passes bad option values back as clear errors', async () => {
    await expect(fitModel('cfm', tiny(), { steps: 0 })).rejects.toThrow(/steps must be a positive integer, got 0/);
    await expect(fitModel('direct', tiny(), { lr: -1 })).rejects.toThrow(/learning rate must be a positive number/);
    await expect(fitModel('mfm', tiny(), { steps: 2, epsilon: 0 })).rejects.toThrow(/metric ε must be a positive number/);
  });

  it('refuses training sets that cannot make a model', async () => {
    const one = { ...tiny(), levels: [1], data: [tiny().data[0]] };
    await expect(fitModel('cfm', one)).rejects.toThrow(/at least 2 anchor levels/);
    const bad = tiny();
    bad.data[1][4] = NaN;
    await expect(fitModel('direct', bad)).rejects.toThrow(/anchor λ = 3: row 1, column 1 is not finite/);
  });
});

describe('loadModel', () => {
  const info = (kind: string): ModelInfo =>
    ({ kind, method: kind, dim: 1, cond: 0, categorical: false, classes: 0, anchors: [0, 1], bounds: [[0, 1]] }) as ModelInfo;

  it('dispatches kind clot to loadClot', () => {
    const dir = path.join(tmp, 'clot');
    writeModelDir(dir, { info: { ...info('clot'), method: 'full' }, options: {} }, { w: { shape: [1], data: new Float32Array([1]) } });
    const m = loadModel(dir);
    expect(m.info.kind).toBe('clot');
    expect(clotCalls.load.at(-1)).toBe('full');
  });

  it('names a kind it cannot load, and a missing directory', () => {
    const dir = path.join(tmp, 'copy');
    writeModelDir(dir, { info: info('copy-first'), options: {} }, { w: { shape: [1], data: new Float32Array([1]) } });
    expect(() => loadModel(dir)).toThrow(/kind 'copy-first', which cannot be loaded/);
    expect(() => loadModel(path.join(tmp, 'absent'))).toThrow(/does not exist/);
  });

  it('reports a baseline config that does not match the model', async () => {
    const m = await fitModel('direct', tiny(), { steps: 2 });
    const dir = path.join(tmp, 'badconfig');
    await m.save(dir);
    m.dispose();
    const { readModelDir } = await import('../src/surrogate/index.js');
    const { stored, tensors } = readModelDir(dir);
    writeModelDir(dir, { ...stored, options: { ...stored.options, times: [0] } }, tensors);
    expect(() => loadModel(dir)).toThrow(/direct model: config.json needs 2 increasing anchor times/);
    writeModelDir(dir, { ...stored, options: { ...stored.options, xStd: null } }, tensors);
    expect(() => loadModel(dir)).toThrow(/config.json condition columns: the stored standardisation is missing or malformed/);
  });

  it('reports a baseline weights file that lacks a parameter', async () => {
    const m = await fitModel('cfm', tiny(), { steps: 2 });
    const dir = path.join(tmp, 'broken');
    await m.save(dir);
    m.dispose();
    const { readModelDir } = await import('../src/surrogate/index.js');
    const { stored, tensors } = readModelDir(dir);
    delete tensors['velocity.w1'];
    writeModelDir(dir, stored, tensors);
    expect(() => loadModel(dir)).toThrow(/lacks parameter 'velocity.w1'/);
  });
});
