/** Every method hti fits — the CLOT presets and the baselines — behind one registry. */
export * from './registry.js';
