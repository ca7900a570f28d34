// `hti plot` and `hti serve` on a real saved model (a quickly fitted direct baseline on the
// shared 2-moons data): files written, server answering, bad input as one error line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { anchorDataset, loadDataset, writeNpy } from '../src/data/index.js';
import { fitModel } from '../src/methods/registry.js';
import { startServe } from '../src/server/command.js';
import { runCli } from './cli-helpers.js';

const DATA = path.resolve(__dirname, '../data/dropout_2moons.npy');
const OTHER = path.resolve(__dirname, '../data/cancer_reward.npy');
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-cli-view-'));
  modelDir = path.join(dir, 'model');
  const model = await fitModel('direct', anchorDataset(loadDataset(DATA)), { steps: 20, seed: 0 });
  await model.save(modelDir);
  model.dispose();
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run the CLI, capturing what it writes. */
async function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('hti plot', () => {
  test('writes a PNG with one panel per λ, and an SVG from given rows', async () => {
    const png = path.join(dir, 'moons.png');
    const r = await run('plot', modelDir, '--out', png, '--lambdas', '0,0.3,0.99', '--n', '60');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${png}`);
    const bytes = fs.readFileSync(png);
    expect(bytes.readUInt32BE(16)).toBe(3 * 340);

    const rows = path.join(dir, 'rows.npy');
    writeNpy(rows, { shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0, -0.5, 0.4, 1]) });
    const svg = path.join(dir, 'moons.svg');
    expect((await run('plot', modelDir, '--out', svg, '--from', rows, '--lambdas', '0.5')).code).toBe(0);
    const text = fs.readFileSync(svg, 'utf8');
    expect(text).toContain('2 samples');
    expect(text).toContain('λ = 0.5 (anchor)');
  });

  test('bad input is one line and exit code 1 (or 2 for bad usage)', async () => {
    const out = path.join(dir, 'x.png');
    const range = await run('plot', modelDir, '--out', out, '--lambdas', '0,1.5');
    expect(range.code).toBe(1);
    expect(range.err).toMatch(/^hti: λ = 1.5 is outside the model's range \[0, 0.99\]/);
    expect(range.err.trim().split('\n')).toHaveLength(1);
    expect((await run('plot', modelDir, '--out', path.join(dir, 'x.gif'))).err).toMatch(/--out must end in .png or .svg/);
    expect((await run('plot', path.join(dir, 'none'), '--out', out)).err).toMatch(/does not exist/);
    const width = path.join(dir, 'wide.npy');
    writeNpy(width, { shape: [1, 4], data: Float32Array.from([0, 0, 0, 0]) });
    expect((await run('plot', modelDir, '--out', out, '--from', width)).err).toMatch(/not rows of width 3/);
    expect((await run('plot', modelDir, '--out', out, '--dims', '0,2')).err).toMatch(/dimension 2 is not one of this model's outputs/);
    expect((await run('plot', modelDir, '--out', out, '--lambdas', 'a,b')).code).toBe(2);
    expect((await run('plot', modelDir)).code).toBe(2);
  });
});

describe('hti serve', () => {
  test('serves the model and the dataset as reference on loopback', async () => {
    const { app, model, url } = await startServe(modelDir, { port: 0, host: '127.0.0.1', data: DATA });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const info = await (await fetch(`${url}api/model`)).json();
      expect(info).toMatchObject({ kind: 'direct', dim: 2, cond: 1, categorical: true, potential: false });
      expect(info.reference).toEqual([0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]);
      const sample = await (await fetch(`${url}api/sample`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lambda: 0.3, n: 4, class: 1 }) })).json();
      expect(sample.rows).toHaveLength(4);
      const field = await fetch(`${url}api/field?class=0`);
      expect(field.status).toBe(404);
      expect((await fetch(url)).headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      await app.close();
      model.dispose();
    }
  });

  test('refuses mismatched reference data, busy ports and bad options', async () => {
    await expect(startServe(modelDir, { port: 0, host: '127.0.0.1', data: OTHER })).rejects.toThrow(/says D = 2, C = 7 \(continuous\) but model .* expects D = 2, C = 1 \(categorical\)/);
    const first = await startServe(modelDir, { port: 0, host: '127.0.0.1' });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startServe(modelDir, { port, host: '127.0.0.1' })).rejects.toThrow(`port ${port} is already in use`);
    } finally {
      await first.app.close();
      first.model.dispose();
    }
    expect((await run('serve', modelDir, '--port', '99999')).code).toBe(2);
    expect((await run('serve', modelDir, '--port', 'http')).code).toBe(2);
  });
});
