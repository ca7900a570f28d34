/** Every method hti fits — the CLOT presets and the baselines — behind one registry. */
export * from './registry.js';
export * from './select.js';
export * from './heldout.js';
export * from './calibrate.js';
