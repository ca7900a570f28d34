/**
 * Exact OT for evaluation. The solver lives in src/ot/exact.ts so that src/baselines (earlier in
 * the import order) can use the same exact pairing; evaluation code imports it from here.
 */
export {
  exactOtCost,
  exactAssignment,
  exactTransportPlan,
  solveAssignment,
  solveTransport,
  squaredDistances,
} from '../ot/exact.js';
export type { Points, TransportPlan } from '../ot/exact.js';
