export * from './dataset.js';
export * from './npy.js';
export * from './csv.js';
export * from './load.js';
export * from './summary.js';
export * from './arrays.js';
export * from './bundled.js';
export * from './standardize.js';
