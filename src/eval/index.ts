/** Evaluation: exact OT (W2², squared cost), benchmark scores, semicircle law, trivial references. */
export * from './ot.js';
export * from './scores.js';
export * from './semicircle.js';
export * from './references.js';
export * from './report.js';
