/** Network families that hti trains itself, written as standard datasets (see family.ts). */
export * from './family.js';
export * from './series.js';
export * from './train.js';
export * from './quantile.js';
export * from './classifier.js';
export * from './policy.js';
export * from './progress.js';
export * from './registry.js';
export * from './cache.js';
export * from './report.js';
