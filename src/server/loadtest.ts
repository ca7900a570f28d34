/**
 * A bounded load test against a loopback server: fire `requests` POSTs at once (one socket each,
 * up to `concurrency`), then report latency percentiles and every non-200 answer.
 */
import http from 'node:http';
import { isLoopback } from './app.js';

export interface LoadTestOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (loopback only). */
  url: string;
  path?: string;
  requests?: number;
  /** Sockets open at once (default: all requests at once). */
  concurrency?: number;
  /** JSON body of request i. */
  body: (i: number) => unknown;
  /** Per-request limit; a request over it counts as an error. */
  timeoutMs?: number;
}

export interface LoadTestResult {
  url: string;
  requests: number;
  concurrency: number;
  ok: number;
  errors: number;
  /** Count of answers per HTTP status (or 'network' / 'timeout'). */
  statuses: Record<string, number>;
  wallMs: number;
  requestsPerSecond: number;
  latencyMs: { min: number; mean: number; p50: number; p90: number; p95: number; p99: number; max: number };
}

export const MAX_LOAD_REQUESTS = 100_000;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k];
}

const round = (v: number): number => Math.round(v * 100) / 100;

function post(agent: http.Agent, target: URL, payload: string, timeoutMs: number): Promise<{ status: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      target,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: timeoutMs },
      (res) => {
        res.resume(); // drain: the answer's size is not what is measured
        res.on('end', () => resolve({ status: String(res.statusCode), ms: performance.now() - t0 }));
        res.on('error', () => resolve({ status: 'network', ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: err.message === 'timeout' ? 'timeout' : 'network', ms: performance.now() - t0 }));
    req.end(payload);
  });
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const base = new URL(options.url);
  if (base.protocol !== 'http:') throw new Error(`load test URL must be http://, got ${options.url}`);
  const host = base.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host)) throw new Error(`the load test only targets this machine (loopback), not ${host}`);
  const requests = options.requests ?? 1000;
  if (!Number.isInteger(requests) || requests < 1 || requests > MAX_LOAD_REQUESTS) {
    throw new Error(`requests must be an integer in 1..${MAX_LOAD_REQUESTS}, got ${requests}`);
  }
  const concurrency = Math.min(requests, options.concurrency ?? requests);
  const target = new URL(options.path ?? '/api/sample', base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const payloads = Array.from({ length: requests }, (_, i) => JSON.stringify(options.body(i)));
  const t0 = performance.now();
  try {
    const answers = await Promise.all(payloads.map((p) => post(agent, target, p, options.timeoutMs ?? 60_000)));
    const wallMs = performance.now() - t0;
    const statuses: Record<string, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const ok = statuses['200'] ?? 0;
    const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
    return {
      url: target.toString(),
      requests,
      concurrency,
      ok,
      errors: requests - ok,
      statuses,
      wallMs: round(wallMs),
      requestsPerSecond: round((requests / wallMs) * 1000),
      latencyMs: {
        min: round(ms[0]),
        mean: round(ms.reduce((s, v) => s + v, 0) / ms.length),
        p50: round(percentile(ms, 0.5)),
        p90: round(percentile(ms, 0.9)),
        p95: round(percentile(ms, 0.95)),
        p99: round(percentile(ms, 0.99)),
        max: round(ms[ms.length - 1]),
      },
    };
  } finally {
    agent.destroy();
  }
}
