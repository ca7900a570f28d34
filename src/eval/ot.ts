/**
 * Exact OT for evaluation. The solver lives in src/ot/exact.ts so that src/baselines (earlier in
 * the import order) can use the same exact pairing; evaluation code imports it from here.
 */
export {
  exactOtCost,
  exactAssignment,
  exactTransportPlan,
  newWarmStart,
  solveAssignment,
  solveTransport,
  squaredDistances,
} from '../ot/exact.js';
export type { AssignmentWarmStart, Points, TransportPlan } from '../ot/exact.js';
