#!/usr/bin/env node
// Loopback load test of `hti serve`: start the server on 127.0.0.1 with MODEL (a model
// directory) or, without one, the analytic circle model; send N concurrent /api/sample requests;
// print latency percentiles and the error count as JSON. Exit 1 if any request failed.
// Usage: npm run loadtest -- [MODEL] [--requests 1000] [--rows 16]
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { requests: { type: 'string', default: '1000' }, rows: { type: 'string', default: '16' } },
});
const requests = Number(values.requests);
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 1 || rows > 10000) {
  process.stderr.write(`loadtest: --rows must be an integer in 1..10000, got ${values.rows}\n`);
  process.exit(1);
}

const server = await import('../dist/server/index.js');
let model;
if (positionals[0]) {
  const { initEngine } = await import('../dist/engine/index.js');
  const { loadModel } = await import('../dist/methods/registry.js');
  await initEngine();
  model = loadModel(positionals[0]);
} else {
  model = server.circleModel();
}
const { anchors, categorical, classes } = model.info;
const lo = anchors[0];
const hi = anchors[anchors.length - 1];

const app = server.createServer(model, { webDir: null });
try {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address();
  // Spread λ over the range and vary seeds (and classes) so no two requests are alike.
  const body = (i) => ({
    lambda: lo + ((hi - lo) * ((i * 0.618034) % 1)),
    n: rows,
    seed: i,
    ...(categorical ? { class: i % classes } : {}),
  });
  const result = await server.runLoadTest({ url: `http://127.0.0.1:${port}`, requests, body });
  process.stdout.write(JSON.stringify({ model: positionals[0] ?? 'analytic circles', rowsPerRequest: rows, ...result }, null, 2) + '\n');
  process.exitCode = result.errors === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`loadtest: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await app.close();
  model.dispose();
}
