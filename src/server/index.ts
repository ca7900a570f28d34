export { createServer, isLoopback, DEFAULT_WEB_DIR } from './app.js';
export type { ServerOptions, ReferenceData } from './app.js';
export { DEFAULT_LIMITS } from './schemas.js';
export type { Limits } from './schemas.js';
export { runLoadTest, MAX_LOAD_REQUESTS } from './loadtest.js';
export type { LoadTestOptions, LoadTestResult } from './loadtest.js';
export { circleModel } from './analytic.js';
export type { CircleModelOptions } from './analytic.js';
