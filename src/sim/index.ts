/** The cancer-treatment simulator, its RK23 integrator and the PPO actors: plain typed arrays, no tensors. */
export * from './rk23.js';
export * from './cancer.js';
export * from './policy.js';
