export * from './spline.js';
export * from './metric.js';
export * from './potential.js';
export * from './action.js';
export * from './linalg.js';
