import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// These tests run the built CLI (dist/), as a user would; `npm test` compiles it first.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, 'data');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-cli-'));

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test does) before these tests');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function hti(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/hti.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hti info', () => {
  it('prints the table for the shared dropout_2moons data', () => {
    const r = hti('info', 'data/dropout_2moons.npy');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sidecar     data/dropout_2moons.json');
    expect(r.stdout).toMatch(/D \(outputs\) 2\s+C \(conditions\) 1 \(categorical, 2 classes\)/);
    expect(r.stdout).toMatch(/levels\s+7 \(3 anchors, 4 validation\)/);
    expect(r.stdout).toMatch(/level\s+λ\s+role\s+rows\s+class 0\s+class 1/);
    expect(r.stdout).toMatch(/\n\s+0\s+0\s+anchor\s+1000\s+500\s+500\n/);
    expect(r.stdout).toMatch(/\n\s+1\s+0\.1\s+validation\s+1000\s+500\s+500\n/);
    expect(r.stdout).toMatch(/\n\s+6\s+0\.99\s+anchor\s+1000\s+500\s+500\n/);
    expect(r.stdout).toMatch(/\ny0\s+output\s+-?\d/);
    expect(r.stdout).toMatch(/\nclass\s+condition\s+0\s+1\n/);
  });

  it("shows the λ scale the sidecar names", () => {
    const meta = JSON.parse(fs.readFileSync(path.join(data, 'dropout_2moons.json'), 'utf8'));
    fs.copyFileSync(path.join(data, 'dropout_2moons.npy'), path.join(dir, 'scaled.npy'));
    fs.writeFileSync(path.join(dir, 'scaled.json'), JSON.stringify({ ...meta, scale: 'log1m' }));
    const r = hti('info', path.join(dir, 'scaled.npy'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/levels\s+7 \(3 anchors, 4 validation\), λ scale log1m/);
    expect(JSON.parse(hti('info', path.join(dir, 'scaled.npy'), '--json').stdout).scale).toBe('log1m');
  });

  it('prints JSON with --json', () => {
    const r = hti('info', path.join(data, 'cancer_reward.npy'), '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect([s.dim, s.cond, s.categorical]).toEqual([2, 7, false]);
    expect(s.levels.map((l: { lambda: number }) => l.lambda)).toEqual([0, 1, 3, 5, 7, 9, 10]);
    expect(s.levels.every((l: { rows: number }) => l.rows === 7930)).toBe(true);
    expect(s.anchors).toEqual([0, 5, 10]);
    expect(s.columns).toHaveLength(9);
  });

  it('takes --meta, --dim, --cond and --categorical', () => {
    fs.copyFileSync(path.join(data, 'dropout_2moons.npy'), path.join(dir, 'moons.npy'));
    const meta = path.join(dir, 'levels.json');
    fs.writeFileSync(meta, JSON.stringify({ hyperparameter: [0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99] }));
    const r = hti('info', path.join(dir, 'moons.npy'), '--meta', meta, '--dim', '2', '--cond', '1', '--categorical');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/levels\s+7 \(no anchors\)/);
    expect(r.stdout).toContain('(categorical, 2 classes)');
    const without = hti('info', path.join(dir, 'moons.npy'), '--meta', meta);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^hti: .*D and C are unknown/);
  });

  it('reads long-form CSV with named columns', () => {
    const file = path.join(dir, 'long.csv');
    fs.writeFileSync(file, 'lambda,u,v\n0,1,2\n1,3,4\n0,5,6\n');
    const r = hti('info', file, '--outputs', 'v', '--conditions', 'u');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nv\s+output\s+2\s+6\n/);
    expect(r.stdout).toMatch(/\nu\s+condition\s+1\s+5\n?/);
  });

  it('exits 1 with one line for bad data', () => {
    const missing = hti('info', path.join(dir, 'none.npy'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^hti: cannot read '.*none\.npy': no such file\n$/);
    const text = path.join(dir, 'text.npy');
    fs.writeFileSync(text, 'not numpy');
    const bad = hti('info', text, '--dim', '1', '--cond', '0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^hti: .*not a \.npy file \(bad magic bytes\)\n$/);
    expect(bad.stdout).toBe('');
  });

  it('exits 2 for an unknown option, command or bad option value', () => {
    const opt = hti('info', 'data/dropout_2moons.npy', '--bogus');
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("unknown option '--bogus'");
    const cmd = hti('frobnicate');
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
    const val = hti('info', 'data/dropout_2moons.npy', '--dim', 'two');
    expect(val.code).toBe(2);
    expect(hti('info').code).toBe(2);
  });

  it('prints help and version with exit 0', () => {
    const help = hti('info', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--categorical');
    const version = hti('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
