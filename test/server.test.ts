// The HTTP API against analytic models with known answers: every endpoint, every class of bad
// input (each must be a JSON 4xx with a clear message and no stack), and a loopback load test.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createServer, isLoopback } from '../src/server/app.js';
import { circleModel } from '../src/server/analytic.js';
import { runLoadTest } from '../src/server/loadtest.js';
import type { TrajectoryModel } from '../src/surrogate/model.js';

const model = circleModel();
let app: FastifyInstance;

beforeAll(() => {
  app = createServer(model, { bodyLimit: 64 * 1024, maxValues: 50_000 });
});
afterAll(async () => {
  await app.close();
});

const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
const raw = (url: string, payload: string, type = 'application/json') => app.inject({ method: 'POST', url, payload, headers: { 'content-type': type } });

/** A client error: the right status, JSON, a message that matches, nothing that looks like a stack. */
function expectError(res: LightMyRequestResponse, status: number, message: RegExp): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  const body = res.json();
  expect(body.statusCode).toBe(status);
  expect(body.message).toMatch(message);
  expect(res.body).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|stack/);
}

describe('GET /api/model', () => {
  test('summarises the model', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/model' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ dim: 2, cond: 1, categorical: true, classes: 2, anchors: [0, 0.5, 1], range: [0, 1], potential: true, metric: true });
    expect(body.columns).toEqual(['y0', 'y1', 'class']);
    expect(body.limits.bodyLimit).toBe(64 * 1024);
    expect(body.reference).toBeNull();
  });
});

describe('POST /api/sample', () => {
  test('given rows: the model answer, conditions passed through', async () => {
    const rows = [
      [1, 0, 0],
      [0, 1.5, 1],
    ];
    const res = await post('/api/sample', { lambda: 1, rows });
    expect(res.statusCode).toBe(200);
    const out = res.json().rows as number[][];
    // Class 0 turns +π/2, class 1 turns −π/2 over λ ∈ [0, 1].
    expect(out[0][0]).toBeCloseTo(0, 6);
    expect(out[0][1]).toBeCloseTo(1, 6);
    expect(out[1][0]).toBeCloseTo(1.5, 6);
    expect(out[1][1]).toBeCloseTo(0, 6);
    expect(out.map((r) => r[2])).toEqual([0, 1]);
  });

  test('class + n + seed: drawn at the first anchor, reproducible', async () => {
    const a = (await post('/api/sample', { lambda: 0.25, class: 1, n: 5, seed: 7 })).json().rows as number[][];
    const b = (await post('/api/sample', { lambda: 0.25, class: 1, n: 5, seed: 7 })).json().rows as number[][];
    expect(a).toHaveLength(5);
    expect(a).toEqual(b);
    expect(a.every((r) => r[2] === 1)).toBe(true);
    const expected = model.sample(model.anchorRows(1, 5, 7), 0.25);
    expect(a[3][0]).toBeCloseTo(expected[9], 6);
    // Without a class, a categorical model mixes classes.
    const mixed = (await post('/api/sample', { lambda: 0.25, n: 10 })).json().rows as number[][];
    expect(new Set(mixed.map((r) => r[2])).size).toBe(2);
  });

  test('continuous conditions: n draws, class refused', async () => {
    const cont = createServer(circleModel({ categorical: false, cond: 2, dim: 3 }), { webDir: null });
    const ok = await cont.inject({ method: 'POST', url: '/api/sample', payload: { lambda: 0.5, n: 4, seed: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().rows[0]).toHaveLength(5);
    expectError(await cont.inject({ method: 'POST', url: '/api/sample', payload: { lambda: 0.5, n: 4, class: 0 } }), 400, /class is only for categorical models/);
    await cont.close();
  });
});

describe('POST /api/trajectory', () => {
  const rows = [
    [1, 0, 0],
    [0, 1, 1],
  ];
  test('explicit λs, nested layout', async () => {
    const res = await post('/api/trajectory', { lambdas: [0, 0.5, 1], rows });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.lambdas).toEqual([0, 0.5, 1]);
    expect(body.trajectory).toHaveLength(3);
    expect(body.trajectory[0]).toEqual(rows);
    expect(body.trajectory[1][0][0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(body.trajectory[2][1][0]).toBeCloseTo(1, 6);
  });

  test('an even grid (from, to, steps), flat and base64 layouts agree', async () => {
    const flat = (await post('/api/trajectory', { from: 0.2, to: 0.8, steps: 4, rows, layout: 'flat' })).json();
    expect(flat.lambdas.map((l: number) => Number(l.toFixed(12)))).toEqual([0.2, 0.4, 0.6, 0.8]);
    expect(flat.lambdas[3]).toBe(0.8);
    expect(flat).toMatchObject({ n: 2, width: 3 });
    expect(flat.data).toHaveLength(4 * 2 * 3);
    const b64 = (await post('/api/trajectory', { from: 0.2, to: 0.8, steps: 4, rows, layout: 'base64' })).json();
    const bytes = Buffer.from(b64.base64, 'base64');
    const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(Array.from(decoded)).toEqual(flat.data);
    // steps alone spans the model's whole range.
    const whole = (await post('/api/trajectory', { steps: 3, n: 2 })).json();
    expect(whole.lambdas).toEqual([0, 0.5, 1]);
  });

  test('refuses answers over the size limit, and contradictory grids', async () => {
    expectError(await post('/api/trajectory', { steps: 1000, n: 100 }), 400, /300000 numbers.*limit is 50000/);
    expectError(await post('/api/trajectory', { lambdas: [0.5], steps: 3, rows }), 400, /either lambdas, or steps/);
    expectError(await post('/api/trajectory', { rows }), 400, /give lambdas, or steps/);
  });
});

describe('/api/field', () => {
  test('GET: potential and metric on a grid over the data bounds', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/field?class=0&grid=5&lambda=0.3' });
    expect(res.statusCode).toBe(200);
    const f = res.json();
    expect(f.lambda).toBe(0.3);
    expect(f.xs).toHaveLength(5);
    expect(f.ys).toHaveLength(5);
    expect(f.potential).toHaveLength(25);
    expect(f.eigenvalues).toHaveLength(50);
    // Bounds [-1.74, 1.74] padded by 5% of the span.
    expect(f.xs[0]).toBeCloseTo(-1.914, 6);
    expect(f.xs[2]).toBeCloseTo(0, 6);
    // At grid point (x = 1.914, y = 0) the principal direction is radial: (1, 0).
    const p = 2 * 5 + 4;
    expect(f.principal[2 * p]).toBeCloseTo(1, 6);
    expect(f.eigenvalues[2 * p + 1]).toBeCloseTo(0.1, 6);
    const u = model.potential!(Float32Array.of(f.xs[4], f.ys[2]), Float32Array.of(0))[0];
    expect(f.potential[p]).toBeCloseTo(u, 3);
  });

  test('POST with explicit bounds; the densest grid point lies on the class ring', async () => {
    const f = (await post('/api/field', { class: 1, grid: 31, bounds: [[-2, 2], [-2, 2]] })).json();
    expect(f.xs[0]).toBe(-2);
    expect(f.ys[30]).toBe(2);
    let best = 0;
    f.potential.forEach((v: number, k: number) => {
      if (v > f.potential[best]) best = k;
    });
    const r = Math.hypot(f.xs[best % 31], f.ys[Math.floor(best / 31)]);
    expect(Math.abs(r - 1.5)).toBeLessThan(0.15);
  });

  test('bad field requests', async () => {
    expectError(await app.inject({ method: 'GET', url: '/api/field' }), 400, /class is required/);
    expectError(await app.inject({ method: 'GET', url: '/api/field?class=2' }), 400, /class 2 is not one of the model's classes \(0, 1\)/);
    expectError(await app.inject({ method: 'GET', url: '/api/field?class=abc' }), 400, /querystring.class must be an integer/);
    expectError(await app.inject({ method: 'GET', url: '/api/field?class=0&lambda=3' }), 400, /outside the model's range \[0, 1\]/);
    expectError(await app.inject({ method: 'GET', url: '/api/field?class=0&grid=1000' }), 400, /querystring.grid must be <= 128/);
    expectError(await app.inject({ method: 'GET', url: '/api/field?class=0&colour=red' }), 400, /unknown field 'colour'/);
    expectError(await post('/api/field', { class: 0, bounds: [[1, 0], [0, 1]] }), 400, /bounds\[0\] must be \[low, high\]/);
    expectError(await post('/api/field', { class: 0, cond: [1] }), 400, /give class, not cond/);
  });

  test('continuous conditions take cond; models without a field or with D ≠ 2 say so', async () => {
    const cont = createServer(circleModel({ categorical: false, cond: 2 }), { webDir: null });
    const ok = await cont.inject({ method: 'GET', url: '/api/field?cond=0.5,-0.5&grid=4' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().cond).toEqual([0.5, -0.5]);
    expectError(await cont.inject({ method: 'GET', url: '/api/field?cond=0.5&grid=4' }), 400, /cond must hold 2 numbers/);
    expectError(await cont.inject({ method: 'GET', url: '/api/field?cond=0.5,x' }), 400, /cond\[1\] is not a finite number/);
    expectError(await cont.inject({ method: 'GET', url: '/api/field?class=0' }), 400, /class is only for categorical models/);
    await cont.close();
    const noField = createServer(circleModel({ field: false }), { webDir: null });
    expectError(await noField.inject({ method: 'GET', url: '/api/field?class=0' }), 404, /has no learned potential or metric/);
    expect((await noField.inject({ method: 'GET', url: '/api/model' })).json()).toMatchObject({ potential: false, metric: false });
    await noField.close();
    const threeD = createServer(circleModel({ dim: 3 }), { webDir: null });
    expectError(await threeD.inject({ method: 'GET', url: '/api/field?class=0' }), 400, /needs 2 output dimensions; this model has 3/);
    await threeD.close();
  });
});

describe('GET /api/reference', () => {
  test('404 without reference data; thinned rows per level with it', async () => {
    expectError(await app.inject({ method: 'GET', url: '/api/reference' }), 404, /no reference data/);
    const level = model.anchorRows(null, 50, 3);
    const withRef = createServer(model, { webDir: null, reference: { levels: [0, 1], data: [level, model.sample(level, 1)] }, maxReferenceRows: 20 });
    const body = (await withRef.inject({ method: 'GET', url: '/api/reference' })).json();
    expect(body.levels).toEqual([0, 1]);
    expect(body.rows[0]).toHaveLength(20);
    expect(body.rows[0][0]).toEqual(Array.from(level.subarray(0, 3)));
    expect((await withRef.inject({ method: 'GET', url: '/api/model' })).json().reference).toEqual([0, 1]);
    await withRef.close();
  });
});

describe('malformed input: a JSON 4xx naming the problem, never a crash or a stack', () => {
  test('bad JSON, empty body, wrong content type, prototype poisoning', async () => {
    expectError(await raw('/api/sample', '{"lambda": 0.5, n: 3}'), 400, /not valid JSON/);
    expectError(await raw('/api/sample', '{"lambda": 0.5,'), 400, /not valid JSON/);
    expectError(await raw('/api/sample', ''), 400, /body is empty/);
    expectError(await raw('/api/sample', 'lambda=0.5&n=3', 'application/x-www-form-urlencoded'), 415, /send the body as application\/json/);
    expectError(await raw('/api/sample', 'lambda=0.5', 'text/plain'), 415, /application\/json/);
    expectError(await raw('/api/sample', '{"lambda":0.5,"n":1,"__proto__":{"polluted":1}}'), 400, /forbidden __proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expectError(await raw('/api/sample', '{"lambda":0.5,"n":1,"constructor":{"prototype":{"x":1}}}'), 400, /forbidden/);
    expectError(await raw('/api/sample', '[1, 2, 3]'), 400, /body must be an object/);
    // A charset parameter is fine.
    expect((await raw('/api/sample', '{"lambda":0.5,"n":1}', 'application/json; charset=utf-8')).statusCode).toBe(200);
  });

  test('wrong types', async () => {
    expectError(await post('/api/sample', { lambda: '0.5', n: 3 }), 400, /body.lambda must be a finite number/);
    expectError(await post('/api/sample', { lambda: 0.5, n: 2.5 }), 400, /body.n must be an integer/);
    expectError(await post('/api/sample', { lambda: 0.5, n: '3' }), 400, /body.n must be an integer/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [[1, '2', 0]] }), 400, /body.rows\[0\]\[1\] must be a finite number/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [1, 2, 0] }), 400, /body.rows\[0\] must be an array/);
    expectError(await post('/api/sample', { lambda: null, n: 1 }), 400, /body.lambda must be a finite number/);
    expectError(await post('/api/sample', { lambda: 0.5, n: 1, seed: -1 }), 400, /body.seed must be >= 0/);
    expectError(await post('/api/trajectory', { lambdas: 0.5, n: 1 }), 400, /body.lambdas must be an array/);
    expectError(await post('/api/trajectory', { steps: 3, n: 1, layout: 'csv' }), 400, /body.layout must be one of "nested", "flat", "base64"/);
    expectError(await post('/api/field', { class: 0, grid: 'big' }), 400, /body.grid must be an integer/);
  });

  test('missing and unknown fields', async () => {
    expectError(await post('/api/sample', { n: 3 }), 400, /lacks the required field 'lambda'/);
    expectError(await post('/api/sample', { lambda: 0.5 }), 400, /give rows.*or n/);
    expectError(await post('/api/sample', { lambda: 0.5, n: 3, temperature: 2 }), 400, /unknown field 'temperature'/);
    expectError(await post('/api/trajectory', { steps: 3, n: 3, lamdas: [0.1] }), 400, /unknown field 'lamdas'/);
    expectError(await post('/api/sample', { lambda: 0.5, n: 3, rows: [[0, 0, 0]] }), 400, /either rows, or class\/n\/seed/);
  });

  test('λ out of range, everywhere a λ is taken', async () => {
    expectError(await post('/api/sample', { lambda: 1.5, n: 3 }), 400, /λ = 1.5 is outside the model's range \[0, 1\]/);
    expectError(await post('/api/sample', { lambda: -0.01, n: 3 }), 400, /outside the model's range/);
    expectError(await raw('/api/sample', '{"lambda":1e400,"n":3}'), 400, /body.lambda must be a finite number/);
    expectError(await post('/api/trajectory', { lambdas: [0.5, 2], n: 3 }), 400, /λ = 2 is outside/);
    expectError(await post('/api/trajectory', { from: -1, steps: 3, n: 3 }), 400, /λ = -1 is outside/);
    expectError(await post('/api/trajectory', { to: 1.01, steps: 3, n: 3 }), 400, /λ = 1.01 is outside/);
  });

  test('wrong row width, bad class ids, non-finite values, classes out of range', async () => {
    expectError(await post('/api/sample', { lambda: 0.5, rows: [[1, 0, 0], [1, 0]] }), 400, /rows\[1\] has 2 values; this model needs 3 \(2 outputs then 1 condition\)/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [[1, 0, 0, 0]] }), 400, /rows\[0\] has 4 values/);
    expectError(await post('/api/trajectory', { steps: 2, rows: [[1, 0]] }), 400, /rows\[0\] has 2 values/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [[1, 0, 2]] }), 400, /class 2 is not one of the model's classes \(0, 1\)/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [[1, 0, 0.5]] }), 400, /class 0.5 is not one of the model's classes \(0, 1\)/);
    expectError(await raw('/api/sample', '{"lambda":0.5,"rows":[[1e999,0,0]]}'), 400, /body.rows\[0\]\[0\] must be a finite number/);
    expectError(await post('/api/sample', { lambda: 0.5, class: 5, n: 2 }), 400, /class 5 is not one of the model's classes \(0, 1\)/);
    expectError(await post('/api/sample', { lambda: 0.5, rows: [] }), 400, /body.rows has too few items/);
  });

  test('too large a body, too many rows', async () => {
    const rows = Array.from({ length: 5000 }, () => [0.123456789, 0.987654321, 1]);
    expectError(await post('/api/sample', { lambda: 0.5, rows }), 413, /larger than the limit of 65536 bytes/);
    expectError(await post('/api/sample', { lambda: 0.5, n: 1_000_000 }), 400, /body.n must be <= 10000/);
  });

  test('unknown routes and methods', async () => {
    expectError(await app.inject({ method: 'GET', url: '/api/nothing' }), 404, /no route GET \/api\/nothing/);
    expectError(await app.inject({ method: 'DELETE', url: '/api/model' }), 404, /no route DELETE/);
    expectError(await app.inject({ method: 'GET', url: '/api/sample' }), 404, /no route GET \/api\/sample/);
  });

  test('a failing model is a 500 with one line, the server keeps serving', async () => {
    const broken: TrajectoryModel = {
      ...circleModel(),
      sample() {
        throw new Error('weights are corrupt\n    at secret (/home/x/model.ts:1:1)');
      },
    };
    const seen: unknown[] = [];
    const b = createServer(broken, { webDir: null, onInternalError: (e) => seen.push(e) });
    const res = await b.inject({ method: 'POST', url: '/api/sample', payload: { lambda: 0.5, n: 2 } });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toBe('the server failed: weights are corrupt');
    expect(res.body).not.toContain('model.ts');
    expect(seen).toHaveLength(1);
    expect((await b.inject({ method: 'GET', url: '/api/model' })).statusCode).toBe(200);
    await b.close();
  });
});

describe('viewer files', () => {
  test('/ serves the page with a self-only content policy; scripts and styles have their types', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('id="lambda"');
    expect((await app.inject({ method: 'GET', url: '/app.js' })).headers['content-type']).toMatch(/javascript/);
    expect((await app.inject({ method: 'GET', url: '/style.css' })).headers['content-type']).toMatch(/text\/css/);
    const apiOnly = createServer(model, { webDir: null });
    expect((await apiOnly.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    await apiOnly.close();
  });
});

describe('load', () => {
  test('1000 concurrent sample requests over loopback: all answered', async () => {
    const live = createServer(model, { webDir: null });
    await live.listen({ port: 0, host: '127.0.0.1' });
    try {
      const addr = live.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const result = await runLoadTest({
        url: `http://127.0.0.1:${port}`,
        requests: 1000,
        body: (i) => ({ lambda: (i % 101) / 100, n: 16, seed: i, class: i % 2 }),
      });
      console.log(`load: ${JSON.stringify({ ok: result.ok, errors: result.errors, wallMs: result.wallMs, latencyMs: result.latencyMs })}`);
      expect(result.errors).toBe(0);
      expect(result.statuses).toEqual({ '200': 1000 });
      expect(result.latencyMs.p50).toBeLessThanOrEqual(result.latencyMs.p99);
    } finally {
      await live.close();
    }
  });

  test('the load test refuses other hosts and unbounded runs', async () => {
    await expect(runLoadTest({ url: 'http://example.com', body: () => ({}) })).rejects.toThrow(/only targets this machine/);
    await expect(runLoadTest({ url: 'http://127.0.0.1:1', requests: 1e7, body: () => ({}) })).rejects.toThrow(/requests must be an integer in 1..100000/);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
  });
});
