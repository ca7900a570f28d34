export * from './model.js';
export * from './persist.js';
export * from './progress.js';
export { loadClot, ClotSurrogate, ClotNetworks } from './clot.js';
export * from './options.js';
export * from './warp.js';
export { fitClot } from './fit.js';
export * from './anchors.js';
