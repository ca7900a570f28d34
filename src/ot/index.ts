export * from './lbfgs.js';
export * from './dual.js';
export * from './ctransform.js';
export * from './map.js';
