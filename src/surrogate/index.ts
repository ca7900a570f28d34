export * from './model.js';
export * from './persist.js';
export * from './progress.js';
export { fitClot, loadClot, CLOT_PRESETS } from './clot.js';
export type { ClotOptions, ClotPreset } from './clot.js';
