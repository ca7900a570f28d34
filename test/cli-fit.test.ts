import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { encodeNpy, readNpy } from '../src/data/index.js';
import { Rng } from '../src/engine/rng.js';
import { semicircleDataset } from '../src/bench/semicircles.js';
import { formatDuration, formatLosses, phaseEta, ProgressDisplay } from '../src/cli/progress.js';
import { buildFitOptions } from '../src/cli/fit.js';
import { lambdaGrid as parseLambdaGrid } from '../src/cli/parsers.js';
import { runCli, spawnCli } from './cli-helpers.js';

// These tests run the built CLI (dist/), as a user would; `npm test` compiles it first.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-cli-fit-'));
const TINY = [
  '--spline-steps', '5', '--map-steps', '10', '--spline-refit-steps', '2', '--coupling-cap', '20', '--batch-size', '32',
  '--hidden', '16,16', '--spline-width', '32',
];
const at = (name: string) => path.join(dir, name);

/** Run the built CLI as a user would (asynchronously, so that the test worker stays responsive). */
const hti = (...args: string[]) => spawnCli(args);

/** Run the CLI in this process: fast for error paths (no fresh Node, mostly no engine start). */
const htiHere = (...args: string[]) => runCli(args);

/** A failing run: the exit code, and (for bad input) one `hti: …` line naming the problem. */
function expectFailure(r: { code: number | null; stdout: string; stderr: string }, code: 1 | 2, pattern: RegExp, args: string[]): void {
  expect(r.code, `hti ${args.join(' ')}\n${r.stderr}`).toBe(code);
  if (code === 1) expect(r.stderr).toMatch(/^hti: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stdout).toBe('');
}

async function fails(code: 1 | 2, pattern: RegExp, ...args: string[]): Promise<void> {
  expectFailure(await htiHere(...args), code, pattern, args);
}

async function failsSpawned(code: 1 | 2, pattern: RegExp, ...args: string[]): Promise<void> {
  expectFailure(await hti(...args), code, pattern, args);
}

function writeDataset(name: string, levels: number[], blocks: Float32Array[], width: number, sidecar: Record<string, unknown>): string {
  const n = blocks[0].length / width;
  const all = new Float32Array(levels.length * n * width);
  blocks.forEach((b, i) => all.set(b, i * n * width));
  fs.writeFileSync(at(`${name}.npy`), encodeNpy({ shape: [levels.length, n, width], data: all }));
  fs.writeFileSync(at(`${name}.json`), JSON.stringify({ hyperparameter: levels, ...sidecar }));
  return at(`${name}.npy`);
}

let semi = '';
let cont = '';
let cube = '';

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before these tests');
  const s = semicircleDataset(1, { perClass: 30 });
  semi = writeDataset('semi', s.levels, s.data, 3, { dim: 2, cond: 1, categorical: true, anchors: [0, 0.5, 1] });
  // Continuous condition (2 columns) at 4 levels, the middle one for validation only.
  const rng = new Rng(2);
  const base = Array.from({ length: 80 }, () => [rng.normal(), rng.normal()]);
  const levels = [0, 0.5, 1];
  const blocks = levels.map((t) => Float32Array.from(base.flatMap(([a, b]) => [a + t, b * (1 + t) + 0.05 * rng.normal(), a, b])));
  cont = writeDataset('cont', levels, blocks, 4, { dim: 2, cond: 2, categorical: false, anchors: [0, 1], validation: [0.5] });
  const cubeBlocks = [0, 1].map((t) => Float32Array.from({ length: 60 * 3 }, () => t + rng.normal()));
  cube = writeDataset('cube', [0, 1], cubeBlocks, 3, { dim: 3, cond: 0, anchors: [0, 1] });
  fs.writeFileSync(at('rows.npy'), encodeNpy({ shape: [6, 3], data: Float32Array.from([1, 0, 0, 0, 1, 1, -1, 0, 2, 0, -1, 3, 0.5, 0.5, 0, 0.2, -0.3, 1]) }));
  fs.writeFileSync(at('rows.csv'), '1,0,0\n0,1,1\n');
  fs.writeFileSync(at('wide.npy'), encodeNpy({ shape: [2, 4], data: new Float32Array(8) }));
  fs.writeFileSync(at('nan.npy'), encodeNpy({ shape: [2, 3], data: Float32Array.from([1, 0, 0, NaN, 1, 1]) }));
  fs.writeFileSync(at('badclass.npy'), encodeNpy({ shape: [1, 3], data: Float32Array.from([1, 0, 7]) }));
  fs.writeFileSync(at('cont-rows.npy'), encodeNpy({ shape: [3, 4], data: Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1, -1, 2, -1, 2]) }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** No staging or temp directories may be left beside the models. */
function leftovers(): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('.'));
}

describe('hti fit', () => {
  it('fits the categorical dataset with the sidecar anchors and writes a model directory', async () => {
    const r = await hti('fit', semi, '--out', at('model'), '--seed', '1', '--select', 'none', ...TINY);
    expect(r.stderr).not.toMatch(/^hti:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hti fit: wrote .*model \(full, K_θ−Û \(full method\)\) from 3 anchors \[0, 0\.5, 1\], 120\/120\/120 rows, in [\d.]+ s; /);
    // No validation levels and selection off: the fit says it could not be judged.
    expect(r.stderr).toMatch(/^warning: left-out anchors are only scored with --select auto/m);
    expect(r.stdout).toMatch(/mapLoss [-\d.e]+\/[-\d.e]+/);
    // Plain progress lines (stderr is not a TTY here): phase, step/total, losses, elapsed, ETA.
    expect(r.stderr).toMatch(/^spline pre-fit 1\/5 action=[-\d.e]+ \| \d+s elapsed, phase ETA /m);
    expect(r.stderr).toMatch(/^maps \d+\/10 fit=/m);
    expect(fs.readdirSync(at('model')).sort()).toEqual(['config.json', 'weights.safetensors']);
    expect(leftovers()).toEqual([]);
  });

  it('prints a JSON summary with --json, takes --anchors, --rows, --metric, --no-potential, and replaces an older model', async () => {
    fs.cpSync(at('model'), at('replaced'), { recursive: true });
    const r = await hti('fit', semi, '--out', at('replaced'), '--json', '--quiet', '--anchors', '0,1', '--rows', '0:50', '--metric', 'euclidean', '--no-potential', '--action-form', 'reference', ...TINY);
    // Two anchors and no validation levels: nothing held out to judge the fit on, and it says so.
    expect(r.stderr).toMatch(/^warning: no held-out levels \(no validation levels in the sidecar, and only 2 anchors\)[^\n]*\n$/);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.method).toBe('full');
    expect(s.kind).toBe('clot');
    expect(s.anchors).toEqual([0, 1]);
    expect(s.rows).toEqual([50, 50]);
    // The wall time of the whole fit (selection included), at least the final fit's own time.
    expect(s.fitSeconds).toBeGreaterThanOrEqual(s.training.fitSeconds);
    expect(Object.keys(s.finalLosses)).toEqual(expect.arrayContaining(['couplingCost', 'mapLoss', 'splineAction']));
    expect(s.finalLosses.mapLoss).toHaveLength(1);
    expect(s.options).toMatchObject({
      preset: 'full',
      actionForm: 'reference',
      metric: { kind: 'euclidean' },
      potential: { enabled: false },
      maps: { steps: 10, batch: 32, hidden: [16, 16] },
      spline: { batch: 32, width: 32, pretrainSteps: 5 },
    });
    expect(s.options.scaling).toBeUndefined();
    expect(s.training.history).toBeUndefined();
    const config = JSON.parse(fs.readFileSync(at('replaced/config.json'), 'utf8'));
    expect(config.info.anchors).toEqual([0, 1]);
    expect(leftovers()).toEqual([]);
  });

  it('fits a continuous-condition dataset and a baseline', async () => {
    const r = await hti('fit', cont, '--out', at('cont-model'), '--method', 'euclidean', '--quiet', '--select', 'none', ...TINY);
    // Ten map steps do not learn much: the report on the validation level says so.
    expect(r.stderr).toMatch(/^warning: the surrogate \([\d.e-]+\) does not beat [\w-]+ \([\d.e-]+\) on the validation levels/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/from 2 anchors \[0, 1\], 80\/80 rows/);
    const b = await hti('fit', cont, '--out', at('direct-model'), '--method', 'direct', '--steps', '20', '--batch-size', '16', '--hidden', '8', '--json', '--quiet');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).kind).toBe('direct');
  });

  it('selects among candidate settings on left-out anchors, prints the choice and the held-out comparison, and saves both', async () => {
    const r = await hti('fit', semi, '--out', at('selected'), '--json', '--quiet', ...TINY);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.selection.mode).toBe('auto');
    expect(s.selection.heldOut).toBe('left-out-anchors');
    expect(s.selection.levels).toEqual([0.5]);
    expect(s.selection.candidates.map((c: { name: string }) => c.name)).toEqual(['reference-dwelling', 'paper', 'paper-strong-potential', 'straight']);
    expect(s.selection.candidates.map((c: { name: string }) => c.name)).toContain(s.selection.chosen);
    for (const c of s.selection.candidates) expect(c.mean).toBeGreaterThan(0);
    expect(s.report.references.map((x: { name: string }) => x.name)).toEqual(['copy-first-anchor', 'nearest-anchor', 'displacement-interpolation']);
    // The fit time counts every candidate.
    expect(s.fitSeconds).toBeGreaterThan(s.training.fitSeconds);
    const config = JSON.parse(fs.readFileSync(at('selected/config.json'), 'utf8'));
    expect(config.info.training.selection.chosen).toBe(s.selection.chosen);
    expect(config.info.training.report.model.mean).toBe(s.report.model.mean);
    // Text output: the choice and the comparison.
    const t = await hti('fit', semi, '--out', at('selected'), '--quiet', ...TINY);
    expect(t.stdout).toMatch(/^selection on left-out anchors 0\.5: chose [\w-]+, λ scale linear \(candidates, held-out W2²: reference-dwelling [\d.e-]+, /m);
    expect(t.stdout).toMatch(/^held-out W2² on left-out anchors 0\.5: surrogate [\d.e-]+; copy-first-anchor [\d.e-]+, nearest-anchor [\d.e-]+, displacement-interpolation [\d.e-]+$/m);
    expect(t.stdout).toMatch(/^anchors reproduced, W2² to each anchor's own rows: λ=0\.5 [\d.e-]+ \(copy-first [\d.e-]+\), λ=1 [\d.e-]+ \(copy-first [\d.e-]+\)$/m);
  });

  it('stops on Ctrl-C with exit 130 and leaves no model or temp directory', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin/hti.js'), 'fit', semi, '--out', at('interrupted'), '--map-steps', '5000', '--hidden', '16,16'], { cwd: root });
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        // Interrupt once the fit reports progress (it is well under way, in the worker).
        if (/elapsed/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/hti: fit interrupted \(SIGINT\); no model written/);
    expect(fs.existsSync(at('interrupted'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('reports every bad input with exit 1 and one line, and bad usage with exit 2', async () => {
    await fails(1, /cannot read '.*absent\.npy': no such file/, 'fit', at('absent.npy'), '--out', at('x'));
    await fails(1, /λ = 0\.3 is not one of the levels \[0, 0\.5, 1\]/, 'fit', semi, '--out', at('x'), '--anchors', '0,0.3');
    await fails(1, /needs at least 2 anchor levels, got 1/, 'fit', semi, '--out', at('x'), '--anchors', '0.5');
    await fails(2, /option '--anchors <list>' argument '0,a' is invalid/, 'fit', semi, '--out', at('x'), '--anchors', '0,a');
    await fails(2, /--rows expects START:END/, 'fit', semi, '--out', at('x'), '--rows', '5:2');
    await fails(1, /row range 500: is empty at level λ = 0, which has 120 rows/, 'fit', semi, '--out', at('x'), '--rows', '500:');
    await fails(1, /unknown method 'bogus'; valid methods: full, k-theta, .*, direct, cfm, mfm/, 'fit', semi, '--out', at('x'), '--method', 'bogus');
    await fails(1, /unknown metric 'riemann'; valid metrics: euclidean, fixed-eigen, eigen-budget, householder/, 'fit', semi, '--out', at('x'), '--metric', 'riemann');
    await fails(1, /unknown action form 'long'/, 'fit', semi, '--out', at('x'), '--action-form', 'long');
    await fails(2, /option '--scale <scale>' argument 'cubic' is invalid/, 'fit', semi, '--out', at('x'), '--scale', 'cubic');
    await failsSpawned(1, /λ scale 'logit' needs 0 < λ < 1, but anchor λ = 0 is outside it/, 'fit', semi, '--out', at('x'), '--scale', 'logit', '--select', 'none', '--quiet', ...TINY);
    await fails(1, /--alpha applies to the CLOT methods .* not to 'cfm'/, 'fit', semi, '--out', at('x'), '--method', 'cfm', '--alpha', '1');
    await fails(1, /--out .*semi\.json exists and is not an hti model directory/, 'fit', semi, '--out', at('semi.json'));
    // Through the binary: exit codes, and an error raised inside the fit's worker thread.
    await failsSpawned(1, /fixed-eigen' exists for D = 2 only \(this data has D = 3\)/, 'fit', cube, '--out', at('x'), '--method', 'nlot', '--quiet', ...TINY);
    await fails(2, /required option '--out <model>' not specified/, 'fit', semi);
    await failsSpawned(2, /unknown option '--stepz'/, 'fit', semi, '--out', at('x'), '--stepz', '3');
    await fails(2, /option '--steps <n>' argument '-1' is invalid/, 'fit', semi, '--out', at('x'), '--steps', '-1');
    await fails(2, /option '--bandwidth <h>' argument '0' is invalid/, 'fit', semi, '--out', at('x'), '--bandwidth', '0');
    await fails(2, /missing required argument 'data'/, 'fit', '--out', at('x'));
    expect(fs.existsSync(at('x'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});

describe('hti sample and hti trajectory', () => {
  it('samples rows from .npy and CSV, passing the condition through', async () => {
    const r = await hti('sample', at('model'), '--lambda', '0.25', '--from', at('rows.npy'), '--out', at('s.npy'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`hti sample: wrote ${at('s.npy')} [6, 3] at λ = 0.25\n`);
    const out = readNpy(at('s.npy'));
    expect(out.shape).toEqual([6, 3]);
    expect(Array.from({ length: 6 }, (_, i) => out.data[i * 3 + 2])).toEqual([0, 1, 2, 3, 0, 1]);
    expect(Math.abs(out.data[0] - 1)).toBeGreaterThan(1e-6); // moved
    const csv = await hti('sample', at('model'), '--lambda', '0.25', '--from', at('rows.csv'), '--out', at('s-csv.npy'));
    expect(csv.code).toBe(0);
    expect(readNpy(at('s-csv.npy')).data).toEqual(out.data.subarray(0, 6));
    // λ_0 returns the input.
    expect((await hti('sample', at('model'), '--lambda', '0', '--from', at('rows.npy'), '--out', at('s0.npy'))).code).toBe(0);
    expect(readNpy(at('s0.npy')).data).toEqual(readNpy(at('rows.npy')).data);
  });

  it('draws stored first-anchor rows of a class with --class and --n', async () => {
    const r = await hti('sample', at('model'), '--lambda', '1', '--class', '2', '--n', '7', '--seed', '3', '--out', at('c.npy'));
    expect(r.code).toBe(0);
    const out = readNpy(at('c.npy'));
    expect(out.shape).toEqual([7, 3]);
    for (let i = 0; i < 7; i++) expect(out.data[i * 3 + 2]).toBe(2);
    expect((await hti('sample', at('model'), '--lambda', '1', '--class', '2', '--n', '7', '--seed', '3', '--out', at('c2.npy'))).code).toBe(0);
    expect(readNpy(at('c2.npy')).data).toEqual(out.data);
  });

  it('writes a trajectory [L, N, D + C] that matches sampling at each λ', async () => {
    const r = await hti('trajectory', at('model'), '--from', at('rows.npy'), '--lambdas', '0:1:0.25', '--out', at('t.npy'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*t\.npy \[5, 6, 3\] for λ ∈ \[0, 1\]/);
    const t = readNpy(at('t.npy'));
    expect(t.shape).toEqual([5, 6, 3]);
    const s = readNpy(at('s.npy')).data; // λ = 0.25
    const block = t.data.subarray(18, 36);
    for (let i = 0; i < 18; i++) expect(Math.abs(block[i] - s[i])).toBeLessThan(1e-5);
    expect(t.data.subarray(0, 18)).toEqual(readNpy(at('rows.npy')).data);
    const list = await hti('trajectory', at('model'), '--n', '4', '--lambdas', '0.1,0.9', '--out', at('t2.npy'));
    expect(list.code).toBe(0);
    expect(readNpy(at('t2.npy')).shape).toEqual([2, 4, 3]);
  });

  it('samples a continuous-condition model', async () => {
    const r = await hti('sample', at('cont-model'), '--lambda', '0.5', '--from', at('cont-rows.npy'), '--out', at('cs.npy'));
    expect(r.code).toBe(0);
    const out = readNpy(at('cs.npy'));
    expect(out.shape).toEqual([3, 4]);
    expect([out.data[6], out.data[7]]).toEqual([1, 1]);
  });

  it('reports every bad input with exit 1 and bad usage with exit 2', async () => {
    const m = at('model');
    const rows = at('rows.npy');
    await failsSpawned(1, /λ = 1\.5 is outside the model's range \[0, 1\] \(no extrapolation\)/, 'sample', m, '--lambda', '1.5', '--from', rows, '--out', at('e.npy'));
    await fails(1, /λ = -0\.1 is outside/, 'trajectory', m, '--from', rows, '--lambdas', '-0.1,0.5', '--out', at('e.npy'));
    await fails(1, /shape \[2, 4\] is not rows of width 3; expected \[N, 3\]/, 'sample', m, '--lambda', '0.5', '--from', at('wide.npy'), '--out', at('e.npy'));
    await fails(1, /NaN at row 1, column 0/, 'sample', m, '--lambda', '0.5', '--from', at('nan.npy'), '--out', at('e.npy'));
    await fails(1, /class 7 is not one of the model's classes \(0, 1, 2, 3\)/, 'sample', m, '--lambda', '0.5', '--from', at('badclass.npy'), '--out', at('e.npy'));
    await fails(1, /cannot read '.*absent\.npy': no such file/, 'sample', m, '--lambda', '0.5', '--from', at('absent.npy'), '--out', at('e.npy'));
    await fails(1, /--class: class 4 is not one of the model's classes \(0, 1, 2, 3\)/, 'sample', m, '--lambda', '0.5', '--class', '4', '--n', '3', '--out', at('e.npy'));
    await fails(1, /--class applies only to a model with a categorical condition; this model's condition is continuous \(2 columns\)/, 'sample', at('cont-model'), '--lambda', '0.5', '--class', '0', '--n', '3', '--out', at('e.npy'));
    await fails(1, /give the starting rows: --from ROWS\.npy, or --class c --n K/, 'sample', m, '--lambda', '0.5', '--out', at('e.npy'));
    await fails(1, /give either --from ROWS or --n K/, 'sample', m, '--lambda', '0.5', '--from', rows, '--n', '3', '--out', at('e.npy'));
    await fails(1, /model .*absent-model does not exist/, 'sample', at('absent-model'), '--lambda', '0.5', '--from', rows, '--out', at('e.npy'));
    await fails(1, /--out must name an \.npy file/, 'sample', m, '--lambda', '0.5', '--from', rows, '--out', at('e.csv'));
    await fails(1, /folder .*nowhere does not exist/, 'sample', m, '--lambda', '0.5', '--from', rows, '--out', at('nowhere/e.npy'));
    await failsSpawned(2, /required option '--out <file>' not specified/, 'sample', m, '--lambda', '0.5', '--from', rows);
    await fails(2, /required option '--lambda <L>' not specified/, 'sample', m, '--from', rows, '--out', at('e.npy'));
    await fails(2, /option '--lambda <L>' argument 'half' is invalid/, 'sample', m, '--lambda', 'half', '--from', rows, '--out', at('e.npy'));
    await fails(2, /required option '--out <file>' not specified/, 'trajectory', m, '--from', rows, '--lambdas', '0:1:0.5');
    await fails(2, /END must be ≥ START/, 'trajectory', m, '--from', rows, '--lambdas', '1:0:0.5', '--out', at('e.npy'));
    await fails(2, /STEP must be positive/, 'trajectory', m, '--from', rows, '--lambdas', '0:1:0', '--out', at('e.npy'));
    await fails(2, /unknown option '--lambda'/, 'trajectory', m, '--from', rows, '--lambdas', '0,1', '--lambda', '0.5', '--out', at('e.npy'));
    expect(fs.existsSync(at('e.npy'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a model with corrupt weights or an unsupported version', async () => {
    fs.cpSync(at('model'), at('corrupt'), { recursive: true });
    const w = at('corrupt/weights.safetensors');
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 1000));
    await fails(1, /model .*corrupt: .*(truncated|corrupt)/, 'sample', at('corrupt'), '--lambda', '0.5', '--from', at('rows.npy'), '--out', at('e.npy'));
    fs.cpSync(at('model'), at('future'), { recursive: true });
    const c = JSON.parse(fs.readFileSync(at('future/config.json'), 'utf8'));
    fs.writeFileSync(at('future/config.json'), JSON.stringify({ ...c, version: 7 }));
    await fails(1, /format version 7 is not supported \(this hti reads version 2\)/, 'trajectory', at('future'), '--from', at('rows.npy'), '--lambdas', '0,1', '--out', at('e.npy'));
  });
});

describe('CLI helpers', () => {
  it('parses λ grids', async () => {
    expect(parseLambdaGrid('0:1:0.25')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseLambdaGrid('0:0.3:0.1')).toEqual([0, 0.1, 0.2, 0.3]);
    expect(parseLambdaGrid('0:1:0.3')).toEqual([0, 0.3, 0.6, 0.9]);
    expect(parseLambdaGrid('0.5, 0.1,1')).toEqual([0.5, 0.1, 1]);
    expect(parseLambdaGrid('2:2:1')).toEqual([2]);
    expect(() => parseLambdaGrid('0:1')).toThrow(/START:END:STEP/);
    expect(() => parseLambdaGrid('0,,1')).toThrow(/comma list/);
    expect(() => parseLambdaGrid('0:1e9:1e-3')).toThrow(/at most 100000/);
  });

  it('maps flags to fit options, batch size by method, and rejects CLOT flags for baselines', async () => {
    expect(buildFitOptions('nlot', { seed: 2, batchSize: 64, mapSteps: 5, metricSteps: 3, splineSteps: 4, potential: false, lr: 0.02 })).toEqual({
      seed: 2,
      maps: { batch: 64, steps: 5, lr: 0.02 },
      spline: { batch: 64, pretrainSteps: 4 },
      metric: { stepsPerRound: 3 },
      potential: { enabled: false },
    });
    expect(buildFitOptions('cfm', { batchSize: 64, steps: 9 })).toEqual({ batch: 64, steps: 9 });
    expect(() => buildFitOptions('mfm', { couplingCap: 9 })).toThrow(/--coupling-cap applies to the CLOT methods/);
    // Flags that would change nothing are refused, not ignored.
    expect(() => buildFitOptions('full', { steps: 9 })).toThrow(/--steps applies to the baselines/);
    expect(() => buildFitOptions('full', { equalSpacing: true })).toThrow(/--equal-spacing applies to the baselines/);
    expect(() => buildFitOptions('euclidean', { metricSteps: 3 })).toThrow(/--metric-steps changes nothing here: it applies to a learned metric/);
    expect(() => buildFitOptions('full', { metric: 'euclidean', couplingRounds: 2 })).toThrow(/--coupling-rounds changes nothing here/);
    expect(() => buildFitOptions('k-theta', { alpha: 0.1 })).toThrow(/--alpha changes nothing here: it applies to the density potential/);
    expect(() => buildFitOptions('full', { potential: false, bandwidth: 0.1 })).toThrow(/--bandwidth changes nothing here/);
    expect(() => buildFitOptions('nope', {})).toThrow(/unknown method 'nope'/);
  });

  it('formats progress: durations, losses, ETA, and plain lines at most every few seconds', async () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(NaN)).toBe('?');
    expect(formatLosses({ cost: 0.123456, map: NaN })).toBe('cost=0.1235 map=NaN');
    const p = { phase: 'dual', step: 11, total: 31, losses: {}, elapsedSeconds: 20 };
    expect(phaseEta(p, 1, 10)).toBeCloseTo(20); // 1 s per step, 20 steps left
    expect(phaseEta({ ...p, step: 1 }, 1, 10)).toBeNaN();
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const display = new ProgressDisplay({ stream, tty: false, intervalSeconds: 5 });
    for (let step = 1; step <= 12; step++) display.update({ phase: 'dual', step, total: 12, losses: { cost: step }, elapsedSeconds: step });
    display.update({ phase: 'dual', step: 12, total: 12, losses: {}, elapsedSeconds: 12.5, message: 'rolled back' });
    display.update({ phase: 'spline final', step: 1, total: 2, losses: { action: 0.5 }, elapsedSeconds: 13 });
    display.stop();
    expect(lines).toEqual([
      'dual 1/12 cost=1 | 1s elapsed, phase ETA ?\n',
      'dual 6/12 cost=6 | 6s elapsed, phase ETA 6s\n',
      'dual 11/12 cost=11 | 11s elapsed, phase ETA 1s\n',
      'dual: rolled back\n',
      'spline final 1/2 action=0.5 | 13s elapsed, phase ETA ?\n',
    ]);
  });
});
