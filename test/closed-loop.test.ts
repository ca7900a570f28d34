// The closed-loop benchmark: controllers, lockstep rollouts with one batched surrogate call per
// day, common random numbers across methods, the JSON and table, the picture, and the CLI.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundledDataPath } from '../src/data/bundled.js';
import {
  blendScan,
  closedLoopFigureSvg,
  closedLoopJson,
  episodeSeeds,
  formatClosedLoopTable,
  interpolatedController,
  policyController,
  rollout,
  runClosedLoop,
  summarizeClosedLoop,
  surrogateController,
} from '../src/bench/closed-loop.js';
import { QUICK_CLOT } from '../src/bench/run.js';
import { main } from '../src/cli/main.js';
import { NOISE_FREE, loadPolicy } from '../src/sim/index.js';
import { mergeOptions, type TrajectoryModel } from '../src/surrogate/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-closed-loop-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const policiesDir = bundledDataPath('cancer_policies');
const dataDir = bundledDataPath();
const p0 = loadPolicy(path.join(policiesDir, 'policy_lambda0.safetensors'));
const p5 = loadPolicy(path.join(policiesDir, 'policy_lambda5.safetensors'));

/** A stand-in surrogate: outputs f(action row), conditions passed through; counts its calls. */
function fakeModel(f: (a: number, d: number) => number): TrajectoryModel & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    info: { kind: 'copy-first', method: 'fake', dim: 2, cond: 7, categorical: false, classes: 0, anchors: [0, 5, 10], bounds: [] },
    sample(rows: Float32Array) {
      calls.push(rows.length / 9);
      const out = rows.slice();
      for (let i = 0; i < out.length; i += 9) for (let d = 0; d < 2; d++) out[i + d] = f(rows[i + d], d);
      return out;
    },
  } as unknown as TrajectoryModel & { calls: number[] };
}

describe('closed-loop rollouts', () => {
  it('the λ = 0 policy in the noise-free simulator earns the reference trace return', () => {
    const traces = JSON.parse(fs.readFileSync(bundledDataPath('cancer_env', 'reference_traces.json'), 'utf8'));
    const steps = traces.scenarios.policy_lambda0_deterministic as { reward: number; nk_penalty: number }[];
    for (const lambda of [0, 3]) {
      const want = steps.reduce((s, r) => s + r.reward + lambda * r.nk_penalty, 0);
      const got = rollout(policyController(p0), lambda, [1, 2], { noise: NOISE_FREE });
      for (const r of got.returns) expect(Math.abs(r - want) / Math.abs(want)).toBeLessThan(1e-6);
      expect(got.cured).toBe(2);
      expect(got.days).toBe(2 * steps.length);
    }
  });

  it('interpolation: s = 0 is the lower policy, s = ½ the mean of both', () => {
    const obs = new Float32Array([16, 19, 4.6, 21, 0, 9.2, 4.6, 12, 15, 8, 22, 10, 9, 5]);
    expect(interpolatedController(p0, p5, 0)(obs, 2)).toEqual(p0.act(obs));
    const half = interpolatedController(p0, p5, 0.5)(obs, 2);
    const a = p0.act(obs);
    const b = p5.act(obs);
    half.forEach((v, i) => expect(v).toBeCloseTo((a[i] + b[i]) / 2, 12));
  });

  it('interpolation of the mean actions blends before clipping', () => {
    // The initial observation of a noise-free episode: the λ = 0 policy's mean dose lies below 0.
    const obs = new Float32Array([16.12, 19.11, 4.61, 21.13, 0, 9.21, 4.61]);
    const mu0 = p0.mean(obs);
    const mu5 = p5.mean(obs);
    expect(mu0[0]).toBeLessThan(-1);
    expect(interpolatedController(p0, p5, 0, 'means')(obs, 1)).toEqual(p0.act(obs));
    expect(interpolatedController(p0, p5, 1, 'means')(obs, 1)).toEqual(p5.act(obs));
    const s = 0.1;
    const blended = interpolatedController(p0, p5, s, 'means')(obs, 1);
    const want = p0.clip(Float64Array.from(mu0, (m, i) => (1 - s) * m + s * mu5[i]));
    blended.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    // The clipped blend starts from a dose of 0 instead of the negative mean: a positive dose at s = 0.1.
    expect(blended[0]).toBe(0);
    expect(interpolatedController(p0, p5, s)(obs, 1)[0]).toBeGreaterThan(0);
  });

  it('a surrogate gets one batched call per day with [action | observation] rows; pushed actions are clipped', () => {
    const identity = fakeModel((a) => a);
    const seeds = episodeSeeds(0, 4);
    const viaSurrogate = rollout(surrogateController(identity, p0, 3), 3, seeds, { maxDays: 12 });
    const copy = rollout(policyController(p0), 3, seeds, { maxDays: 12 });
    // Identity push = the λ = 0 policy (actions rounded to float32 rows): the same returns on the same patients.
    viaSurrogate.returns.forEach((r, i) => expect(Math.abs(r - copy.returns[i])).toBeLessThan(1e-4 * Math.abs(copy.returns[i])));
    expect(identity.calls).toEqual(new Array(12).fill(4));

    const huge = fakeModel(() => 1e6);
    const controller = surrogateController(huge, p0, 3);
    expect(Array.from(controller(new Float32Array(14).fill(10), 2))).toEqual([10, 8, 10, 8]);
    const negative = surrogateController(fakeModel(() => -5), p0, 3);
    expect(Array.from(negative(new Float32Array(7).fill(10), 1))).toEqual([0, 0]);
  });

  it('blend scan: s = 0 and s = 1 are the anchor policies themselves, in both blend spaces', () => {
    const scan = blendScan(policiesDir, [0, 5], [0, 1], 3, 4);
    const seeds = episodeSeeds(4, 3);
    const at0 = rollout(policyController(p0), 0, seeds);
    const at1 = rollout(policyController(p5), 0, seeds);
    expect(scan.intervals).toHaveLength(1);
    for (const space of ['actions', 'means'] as const) {
      const [b0, b1] = scan.intervals[0].blends[space];
      expect([b0.s, b0.cured, b0.failed, b0.meanDays]).toEqual([0, at0.cured, at0.failed, at0.days / 3]);
      expect([b1.s, b1.cured, b1.failed, b1.meanDays]).toEqual([1, at1.cured, at1.failed, at1.days / 3]);
    }
  });

  it('episode seeds depend on the seed only, and differ across episodes', () => {
    expect(episodeSeeds(3, 5)).toEqual(episodeSeeds(3, 5));
    expect(new Set(episodeSeeds(3, 20)).size).toBe(20);
    expect(episodeSeeds(3, 5)).not.toEqual(episodeSeeds(4, 5));
  });
});

describe('runClosedLoop without surrogates', () => {
  it('references on the same patients; retrained only where the folder has the policy; table and JSON', async () => {
    const partial = path.join(tmp, 'policies');
    fs.mkdirSync(partial);
    for (const l of [0, 1, 5, 10]) fs.copyFileSync(path.join(policiesDir, `policy_lambda${l}.safetensors`), path.join(partial, `policy_lambda${l}.safetensors`));
    const result = await runClosedLoop({ policiesDir: partial, dataDir, levels: [1, 7], episodes: 3, methods: [], seed: 2, maxDays: 15, record: { level: 7, episode: 1 } });
    expect(result.methods.map((m) => m.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'retrained']);
    const by = Object.fromEntries(result.methods.map((m) => [m.name, m]));
    // At λ = 1 the nearest anchor is λ = 0: the same policy on the same patients, the same returns.
    expect(by['nearest-anchor'].returns[0]).toEqual(by['copy-first-anchor'].returns[0]);
    expect(by['nearest-anchor'].returns[1]).not.toEqual(by['copy-first-anchor'].returns[1]);
    expect(by.retrained.returns[1]).toBeNull();
    // Distances to the retrained policy's actions only where it exists; its own distance is 0.
    expect(by.retrained.outcomes[0]!.actionRms).toBe(0);
    expect(by['copy-first-anchor'].outcomes[0]!.actionRms).toBeGreaterThan(0.1);
    expect(by['copy-first-anchor'].outcomes[1]!.actionRms).toBeUndefined();
    for (const m of result.methods) for (const o of m.outcomes) if (o) expect(o.cured + o.failed).toBeLessThanOrEqual(3);
    expect(by.retrained.returns[0]).toHaveLength(3);
    const json = closedLoopJson(result);
    expect(Object.keys(json)).toEqual(['levels', 'episodes', 'methods']);
    expect(json.levels).toEqual([1, 7]);
    expect(json.episodes).toBe(3);
    expect(json.methods.retrained.return[1]).toBeNull();
    expect(json.methods['copy-first-anchor'].stderr.every((v) => v !== null && v >= 0)).toBe(true);
    // Without retrained at every λ there is no gap to report.
    expect(summarizeClosedLoop(result).every((s) => s.gapFraction === null)).toBe(true);
    expect(formatClosedLoopTable(result)).toMatch(/retrained\s+[-\d.]+ ± [\d.]+\s+—/);
    expect(result.traces.map((t) => t.method)).toEqual(['copy-first-anchor', 'nearest-anchor', 'linear-interpolation']);
    expect(result.traces[0].tumour).toHaveLength(result.traces[0].dose.length + 1);
    const svg = closedLoopFigureSvg(result);
    expect(svg.match(/<polyline /g)?.length).toBe(4); // copy-first only (no retrained, no surrogate) × 4 charts
  });

  it('refuses λ outside the anchors, a missing anchor policy, and a bad folder', async () => {
    const base = { dataDir, episodes: 1, methods: [], seed: 0, maxDays: 2 };
    await expect(runClosedLoop({ ...base, policiesDir, levels: [11] })).rejects.toThrow(/outside the anchors' range \[0, 10\]/);
    const noAnchor = path.join(tmp, 'no-anchor');
    fs.mkdirSync(noAnchor);
    fs.copyFileSync(path.join(policiesDir, 'policy_lambda0.safetensors'), path.join(noAnchor, 'policy_lambda0.safetensors'));
    await expect(runClosedLoop({ ...base, policiesDir: noAnchor, levels: [1] })).rejects.toThrow(/no policy for the anchor λ = 5, 10/);
    await expect(runClosedLoop({ ...base, policiesDir: noAnchor })).rejects.toThrow(/no validation λ .* has a policy/);
    await expect(runClosedLoop({ ...base, policiesDir: path.join(tmp, 'nope') })).rejects.toThrow(/does not exist/);
  });
});

/** Run the CLI in this process (fast, for error paths), capturing stderr. */
async function htiHere(...args: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'hti', ...args]), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('hti bench cancer_closed_loop', () => {
  it('bad options get one clear line before any work', async () => {
    const cases: [string[], RegExp][] = [
      [['bench', 'cancer_closed_loop', '--plot', path.join(tmp, 'x.txt')], /--plot must end in \.png or \.svg/],
      [['bench', 'cancer_closed_loop', '--plot', path.join(tmp, 'missing', 'x.png')], /folder .* does not exist/],
      [['bench', 'cancer_closed_loop', '--seeds', '0,1'], /takes one seed/],
      [['bench', 'cancer_closed_loop', '--levels', '1,20', '--quiet'], /outside the anchors' range/],
      [['bench', 'semicircles', '--episodes', '3'], /--episodes applies to cancer_closed_loop only/],
      [['bench', 'cancer_closed_loop,semicircles'], /runs on its own/],
    ];
    for (const [args, re] of cases) {
      const r = await htiHere(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    expect((await htiHere('bench', 'cancer_closed_loop', '--episodes', '0')).code).toBe(2);
  });

  it('a tiny full run prints the JSON of the issue and draws the picture', async () => {
    const tiny = JSON.stringify(
      mergeOptions(QUICK_CLOT, { maps: { steps: 10, batch: 32, hidden: [16, 16] }, couplings: { cap: 16 }, potential: { cap: 16 }, spline: { width: 16, batch: 32 }, metric: { width: 8 } }),
    );
    const png = path.join(tmp, 'episode.png');
    // The built CLI in a child process, as a user runs it (the fit would otherwise block this worker).
    const args = ['bench', 'cancer_closed_loop', '--levels', '3,9', '--episodes', '2', '--max-days', '4', '--seed', '1', '--fit', tiny, '--json', '--plot', png, '--quiet'];
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root });
    const json = JSON.parse(stdout);
    expect(json.levels).toEqual([3, 9]);
    expect(json.episodes).toBe(2);
    expect(Object.keys(json.methods)).toEqual(['full', 'copy-first-anchor', 'nearest-anchor', 'linear-interpolation', 'retrained']);
    for (const m of Object.values(json.methods) as { return: number[]; stderr: number[] }[]) {
      expect(m.return).toHaveLength(2);
      expect(m.stderr).toHaveLength(2);
      expect(m.return.every(Number.isFinite)).toBe(true);
    }
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });
});
