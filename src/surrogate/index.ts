export * from './model.js';
export * from './persist.js';
export * from './progress.js';
export { loadClot, ClotSurrogate, CLOT_PRESETS, CLOT_DEFAULTS, PRESET_SETTINGS } from './clot.js';
export type { ClotOptions, ClotPreset } from './clot.js';
export { fitClot } from './fit.js';
export * from './anchors.js';
export * from './graph.js';
