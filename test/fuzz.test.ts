// Fuzzing every input a user hands to hti — .npy files, sidecars, CSVs, model directories, option
// values and HTTP bodies — with fast-check (fixed seed, bounded runs). Whatever the input, the CLI
// either answers or fails cleanly: a non-zero exit with exactly one line, no stack trace and no
// library-internal message, no partial output, and no file changed outside the temp folder.
// Most cases run in this process through main(argv); a few spawn the real CLI.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { encodeNpy } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { fitModel, loadModel } from '../src/methods/registry.js';
import { createServer } from '../src/server/app.js';
import type { TrajectoryModel } from '../src/surrogate/model.js';
import { changes, expectCleanFailure, INTERNAL, root, runCli, snapshot, spawnCli, type CliResult } from './cli-helpers.js';

const SEED = 20260117;
const runs = (n: number) => ({ seed: SEED, numRuns: n, endOnFailure: true });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-fuzz-'));
const at = (name: string) => path.join(tmp, name);
const GOOD = at('good.npy');
const MODEL = at('model');
const CLOT = at('clot');
const SIDECAR = { hyperparameter: [0, 0.5, 1], dim: 2, cond: 1, categorical: true, anchors: [0, 1], validation: [0.5] };

let model: TrajectoryModel;
let app: FastifyInstance;
let cwd = '';
let outside: Map<string, string>;

/**
 * What lies outside the temp folder that a run could touch: the repository's folders (the system
 * temp folder is shared with other processes, so its churn is not ours to judge).
 */
function outsideSnapshot(): Map<string, string> {
  const snap = new Map<string, string>();
  for (const dir of [root, ...['test', 'src', 'data', 'bin', 'web'].map((d) => path.join(root, d))]) {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name);
      if (name === 'node_modules' || name === 'dist' || name === 'vendor') continue;
      try {
        const st = fs.lstatSync(full);
        snap.set(full, `${st.size}:${st.mtimeMs}`);
      } catch {
        // a file of another process, gone meanwhile
      }
    }
  }
  return snap;
}

beforeAll(async () => {
  await initEngine({ quiet: true });
  const data = new Float32Array(3 * 40 * 3);
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < 40; i++) {
      const o = (t * 40 + i) * 3;
      data[o] = Math.cos(i) + t;
      data[o + 1] = Math.sin(i * 1.3);
      data[o + 2] = i % 2;
    }
  }
  fs.writeFileSync(GOOD, encodeNpy({ shape: [3, 40, 3], data }));
  fs.writeFileSync(at('good.json'), JSON.stringify(SIDECAR));
  const { loadDataset, anchorDataset } = await import('../src/data/index.js');
  const train = anchorDataset(loadDataset(GOOD));
  const m = await fitModel('direct', train, { steps: 3, hidden: [8] });
  await m.save(MODEL);
  m.dispose();
  const tiny = {
    maps: { steps: 3, hidden: [8] },
    spline: { pretrainSteps: 1, refitSteps: 1, width: 8 },
    metric: { stepsPerRound: 1, width: 8 },
    couplings: { cap: 8 },
    potential: { cap: 16 },
  };
  const c = await fitModel('full', train, tiny);
  await c.save(CLOT);
  c.dispose();
  model = loadModel(MODEL);
  app = createServer(model, { webDir: null, bodyLimit: 64 * 1024 });
  cwd = process.cwd();
  process.chdir(tmp);
  outside = outsideSnapshot();
});

afterAll(async () => {
  process.chdir(cwd);
  await app?.close();
  model?.dispose();
  // Nothing outside the temp folder changed during the whole suite.
  expect(changes(outside, outsideSnapshot())).toEqual([]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * Run one case; a failure must be clean and leave the temp folder as it was (no partial output).
 * A success may create only `allowed` (its own output).
 */
async function check(args: string[], allowed: string[] = []): Promise<CliResult> {
  const before = snapshot(tmp);
  const r = await runCli(args);
  const what = `hti ${args.map((a) => (a.length > 60 ? `${a.slice(0, 60)}…` : a)).join(' ')}`;
  const changed = changes(before, snapshot(tmp));
  if (r.code === 0) {
    expect(r.stderr.split('\n').filter((l) => l.startsWith('hti:') && !l.startsWith('hti: warning:')), what).toEqual([]);
    const own = (c: string) => allowed.some((a) => { const rel = c.replace(/^(added|changed|removed) /, ''); return rel === a || rel.startsWith(`${a}/`); });
    expect(changed.filter((c) => !own(c)), what).toEqual([]);
  } else {
    expectCleanFailure(r, what);
    expect(changed, what).toEqual([]);
  }
  for (const f of allowed) removeInside(f);
  return r;
}

/**
 * Remove a case's output, only ever strictly inside the temp folder: a fuzzed --out such as '..'
 * or '/' must never turn the clean-up into a removal of anything else.
 */
function removeInside(rel: string): void {
  if (rel.includes('\0')) return;
  const full = path.resolve(tmp, rel);
  const inside = path.relative(tmp, full);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside) || inside.split(path.sep)[0] === 'model' || inside.startsWith('good.')) return;
  fs.rmSync(full, { recursive: true, force: true });
}

// ---- generators ----

// Numbers as text: malformed, out of range, or small (a valid value must stay cheap to run: a
// count like --steps or --n is never a large valid number here).
const numberText = fc.oneof(
  fc.constantFrom('0', '1', '-1', '1e9', '1e308', '1e-320', 'NaN', 'Infinity', '-0', '0x10', '1_000', ' 2 ', '', '1e1000', '9007199254740993', '4294967296000000000'),
  fc.double({ noNaN: false }).filter((v) => !(Math.abs(v) >= 64 && Math.abs(v) < 1e21)).map(String),
  fc.integer({ min: -1000, max: 64 }).map(String),
  fc.string({ maxLength: 12 }),
);

const npyDescr = fc.constantFrom('<f4', '<f8', '>f4', '|u1', '<i8', '<f2', 'O', '', "<f4'", '<c8');
const shapeText = fc.oneof(
  fc.array(fc.oneof(fc.nat(8), fc.constantFrom(0, 1e6, 2 ** 31, 2 ** 40, -1)), { maxLength: 4 }).map((d) => `(${d.join(', ')}${d.length === 1 ? ',' : ''})`),
  fc.string({ maxLength: 16 }).map((s) => `(${s})`),
);

/** An .npy file built from possibly wrong parts: magic, version, header length, header text, data. */
const npyBytes = fc
  .record({
    magic: fc.constantFrom('\x93NUMPY', '\x93NUMPX', 'NUMPY'),
    major: fc.constantFrom(1, 2, 3, 0, 9),
    descr: npyDescr,
    fortran: fc.constantFrom('False', 'True', 'false'),
    shape: shapeText,
    lengthDelta: fc.constantFrom(0, 0, 0, -3, 5, 100000),
    dataBytes: fc.oneof(fc.nat(400), fc.constant(-1)),
    garbage: fc.boolean(),
  })
  .map((p) => {
    const header = p.garbage ? `{${'x'.repeat(20)}` : `{'descr': '${p.descr}', 'fortran_order': ${p.fortran}, 'shape': ${p.shape}, }`;
    const text = Buffer.from(header.padEnd(Math.ceil((header.length + 12) / 64) * 64 - 12, ' ') + '\n', 'latin1');
    const lenBytes = p.major === 1 ? 2 : 4;
    const pre = Buffer.alloc(8 + lenBytes);
    Buffer.from(p.magic, 'latin1').copy(pre, 0);
    pre[6] = p.major;
    pre[7] = 0;
    const len = Math.max(0, text.length + p.lengthDelta);
    if (lenBytes === 2) pre.writeUInt16LE(Math.min(len, 0xffff), 8);
    else pre.writeUInt32LE(len, 8);
    const data = Buffer.alloc(p.dataBytes < 0 ? 3 * 40 * 3 * 4 : p.dataBytes, 0x3f);
    return Buffer.concat([pre, text, data]);
  });

const csvChars = fc.constantFrom('0', '1', '.', ',', '-', 'e', '\n', '\r\n', '#', '"', ' ', 'x', 'lambda', 'a', 'NaN', 'inf', '\t', ';', '\u0000', 'é');
const csvText = fc.array(csvChars, { maxLength: 80 }).map((cs) => cs.join(''));

const jsonValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -5, 1, 2, 1e9, 1e300, 0.5, -0.0, '', '2', 'x', [], {}, [0, 1], [1, 0], [0, 0.5, 1], [0, 'a'], [[0, 1]], { a: 1 }),
  fc.jsonValue({ maxDepth: 2 }),
);

// ---- the suite ----

describe('fuzz: every malformed input fails cleanly', () => {
  test('.npy headers, dtypes and truncated data (info, sample --from)', async () => {
    await fc.assert(
      fc.asyncProperty(npyBytes, fc.boolean(), async (bytes, asRows) => {
        fs.writeFileSync(at('f.npy'), bytes);
        if (asRows) await check(['sample', MODEL, '--from', 'f.npy', '--lambda', '0.5', '--out', 'o.npy'], ['o.npy']);
        else await check(['info', 'f.npy', '--dim', '2', '--cond', '1', '--json']);
        fs.rmSync(at('f.npy'));
      }),
      runs(70),
    );
  });

  test('sidecars: any JSON in any field (info, fit)', async () => {
    const keys = fc.constantFrom('hyperparameter', 'dim', 'cond', 'categorical', 'anchors', 'validation', 'outputs', 'conditions');
    await fc.assert(
      fc.asyncProperty(fc.dictionary(keys, jsonValue, { maxKeys: 3 }), fc.oneof(fc.constant(null), fc.string({ maxLength: 20 })), async (fields, raw) => {
        fs.writeFileSync(at('s.json'), raw ?? JSON.stringify({ ...SIDECAR, ...fields }));
        await check(['info', GOOD, '--meta', 's.json']);
        fs.rmSync(at('s.json'));
      }),
      runs(60),
    );
    // A few through fit itself (a valid sidecar fits: cheap Direct steps).
    await fc.assert(
      fc.asyncProperty(fc.dictionary(keys, jsonValue, { maxKeys: 2 }), async (fields) => {
        fs.writeFileSync(at('s.json'), JSON.stringify({ ...SIDECAR, ...fields }));
        await check(['fit', GOOD, '--meta', 's.json', '--out', 'fm', '--method', 'direct', '--steps', '1', '--hidden', '4', '--quiet'], ['fm']);
        fs.rmSync(at('s.json'));
      }),
      runs(8),
    );
  });

  test('CSV text: long-form data and rows files', async () => {
    await fc.assert(
      fc.asyncProperty(csvText, fc.boolean(), async (text, asRows) => {
        fs.writeFileSync(at('f.csv'), text);
        if (asRows) await check(['sample', MODEL, '--from', 'f.csv', '--lambda', '0.25', '--out', 'o.npy'], ['o.npy']);
        else await check(['info', 'f.csv', '--dim', '1', '--cond', '1']);
        fs.rmSync(at('f.csv'));
      }),
      runs(70),
    );
  });

  test('model configs: any JSON in any field of config.json', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(MODEL, 'config.json'), 'utf8'));
    const infoKeys = fc.constantFrom('kind', 'method', 'dim', 'cond', 'categorical', 'classes', 'classIds', 'anchors', 'bounds', 'condBounds', 'training');
    const optionKeys = fc.constantFrom('hidden', 'activation', 'times', 'yStd', 'xStd', 'equalSpacing');
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(infoKeys, jsonValue, { minKeys: 1, maxKeys: 2 }),
        fc.dictionary(optionKeys, jsonValue, { maxKeys: 1 }),
        fc.constantFrom('format', 'version', null),
        async (info, options, drop) => {
          fs.cpSync(MODEL, at('cm'), { recursive: true });
          const c = { ...config, info: { ...config.info, ...info }, options: { ...config.options, ...options } };
          if (drop) delete c[drop];
          fs.writeFileSync(path.join(at('cm'), 'config.json'), JSON.stringify(c));
          await check(['sample', 'cm', '--n', '3', '--class', '1', '--lambda', '0.5', '--out', 'o.npy'], ['o.npy']);
          fs.rmSync(at('cm'), { recursive: true });
        },
      ),
      runs(60),
    );
  });

  test('CLOT model configs: any JSON in any stored option', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(CLOT, 'config.json'), 'utf8'));
    const keys = fc.constantFrom(...Object.keys(config.options), 'scaling', 'warp');
    await fc.assert(
      fc.asyncProperty(fc.dictionary(keys, jsonValue, { minKeys: 1, maxKeys: 2 }), async (options) => {
        fs.cpSync(CLOT, at('cc'), { recursive: true });
        fs.writeFileSync(path.join(at('cc'), 'config.json'), JSON.stringify({ ...config, options: { ...config.options, ...options } }));
        await check(['sample', 'cc', '--n', '2', '--lambda', '0.5', '--out', 'o.npy'], ['o.npy']);
        fs.rmSync(at('cc'), { recursive: true });
      }),
      runs(50),
    );
  });

  test('model weights: flipped, cut and rewritten safetensors', async () => {
    const weights = fs.readFileSync(path.join(MODEL, 'weights.safetensors'));
    const headerEnd = 8 + Number(weights.readBigUInt64LE(0));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(weights.length - 1), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(weights.length - 1) }),
      fc.record({ kind: fc.constant('header' as const), text: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v))) }),
      fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        fs.cpSync(MODEL, at('wm'), { recursive: true });
        let bytes = Buffer.from(weights);
        if (m.kind === 'flip') bytes[m.at] = m.value;
        else if (m.kind === 'cut') bytes = bytes.subarray(0, m.at);
        else if (m.kind === 'length') bytes.writeBigUInt64LE(m.value, 0);
        else {
          const h = Buffer.from(m.text, 'utf8');
          const pre = Buffer.alloc(8);
          pre.writeBigUInt64LE(BigInt(h.length), 0);
          bytes = Buffer.concat([pre, h, weights.subarray(headerEnd)]);
        }
        fs.writeFileSync(path.join(at('wm'), 'weights.safetensors'), bytes);
        await check(['sample', 'wm', '--n', '2', '--lambda', '0.5', '--out', 'o.npy'], ['o.npy']);
        fs.rmSync(at('wm'), { recursive: true });
      }),
      runs(50),
    );
  });

  test('option values of every command', async () => {
    const path100 = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('x'.repeat(300), 'a/'.repeat(200), '.', '..', '/', 'model', 'good.npy', 'o\u0000.npy', 'a\nb.npy', '-', '--help'));
    const cases = fc.oneof(
      numberText.map((v) => ['sample', MODEL, '--lambda', v, '--n', '2', '--out', 'o.npy']),
      numberText.map((v) => ['sample', MODEL, '--lambda', '0.5', '--n', v, '--out', 'o.npy']),
      numberText.map((v) => ['sample', MODEL, '--lambda', '0.5', '--n', '2', '--class', v, '--out', 'o.npy']),
      numberText.map((v) => ['sample', MODEL, '--lambda', '0.5', '--n', '2', '--seed', v, '--out', 'o.npy']),
      fc.string({ maxLength: 20 }).map((v) => ['trajectory', MODEL, '--n', '2', '--lambdas', v, '--out', 'o.npy']),
      path100.map((v) => ['sample', MODEL, '--lambda', '0.5', '--n', '2', '--out', v]),
      path100.map((v) => ['sample', v, '--lambda', '0.5', '--n', '2', '--out', 'o.npy']),
      path100.map((v) => ['info', v, '--dim', '2']),
      path100.map((v) => ['plot', MODEL, '--out', v, '--n', '5']),
      numberText.map((v) => ['fit', GOOD, '--out', 'fo', '--method', 'direct', '--steps', v, '--quiet']),
      fc.string({ maxLength: 16 }).map((v) => ['fit', GOOD, '--out', 'fo', '--method', 'direct', '--steps', '1', '--hidden', v, '--quiet']),
      fc.string({ maxLength: 16 }).map((v) => ['fit', GOOD, '--out', 'fo', '--method', 'direct', '--steps', '1', '--rows', v, '--quiet']),
      fc.string({ maxLength: 16 }).map((v) => ['fit', GOOD, '--out', 'fo', '--method', 'direct', '--steps', '1', '--anchors', v, '--quiet']),
      fc.string({ maxLength: 12 }).map((v) => ['fit', GOOD, '--out', 'fo', '--method', v, '--quiet']),
      fc.string({ maxLength: 16 }).map((v) => ['eval', MODEL, GOOD, '--levels', v]),
      fc.string({ maxLength: 16 }).map((v) => ['plot', MODEL, '--out', 'p.svg', '--dims', v, '--n', '5']),
      fc.string({ maxLength: 8 }).map((v) => ['serve', MODEL, '--port', v, '--data', 'absent.npy']),
      fc.string({ maxLength: 10 }).map((v) => ['info', GOOD, v]),
    );
    await fc.assert(
      fc.asyncProperty(cases, async (args) => {
        const out = args.indexOf('--out');
        await check(args, ['o.npy', 'fo', 'p.svg', ...(out >= 0 && args[out + 1] ? [args[out + 1]] : [])]);
      }),
      runs(110),
    );
  });

  test('a 100 KB option value is not echoed in full', async () => {
    const big = '9'.repeat(100_000);
    for (const args of [
      ['sample', MODEL, '--lambda', '0.5', '--n', big, '--out', 'o.npy'],
      ['sample', MODEL, '--lambda', '0.5', '--n', '2', '--out', big],
      ['info', big],
      ['fit', GOOD, '--out', 'fo', '--anchors', big],
    ]) {
      const r = await check(args);
      expect(r.stderr.length).toBeLessThan(800);
    }
  });

  test('HTTP bodies: any JSON to every endpoint is a JSON 4xx with one line, never a 500', async () => {
    const body = fc.dictionary(fc.constantFrom('lambda', 'lambdas', 'rows', 'class', 'n', 'seed', 'from', 'to', 'steps', 'layout', 'cond', 'grid', 'bounds', '__proto__', 'constructor'), jsonValue, {
      maxKeys: 4,
    });
    const raw = fc.oneof(body.map((b) => JSON.stringify(b)), fc.string({ maxLength: 40 }), fc.constantFrom('', '{', 'null', '[]', '{"lambda": 1e400}', '{"__proto__": {"x": 1}}'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/api/sample', '/api/trajectory', '/api/field'), raw, fc.constantFrom('application/json', 'text/plain'), async (url, payload, type) => {
        const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });
        expect(res.statusCode, `${url} ${payload}`).toBeLessThan(500);
        if (res.statusCode >= 400) {
          const b = res.json();
          expect(b.message, `${url} ${payload}`).toMatch(/^[^\n]+$/);
          expect(b.message, `${url} ${payload}`).not.toMatch(INTERNAL);
        }
      }),
      runs(150),
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), async (query) => {
        const res = await app.inject({ method: 'GET', url: `/api/field?${encodeURI(query)}` });
        expect(res.statusCode).toBeLessThan(500);
      }),
      runs(40),
    );
  });

  test('the real CLI, spawned: exit code and one line', async () => {
    fs.writeFileSync(at('bad.npy'), Buffer.from('\x93NUMPY\x01\x00\xff\xff{', 'latin1'));
    const cases = [
      ['info', 'bad.npy', '--dim', '2'],
      ['sample', 'model', '--lambda', '0.5', '--n', '2'],
    ];
    const before = snapshot(tmp);
    // In parallel: each is a fresh Node process (about a second to start, more on a busy machine).
    const results = await Promise.all(cases.map((args) => spawnCli(args, tmp)));
    results.forEach((r, i) => expectCleanFailure(r, cases[i].join(' ')));
    expect(changes(before, snapshot(tmp))).toEqual([]);
    fs.rmSync(at('bad.npy'));
  });
});
