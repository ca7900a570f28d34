import { tf, type Film, type Tensor1D, type Tensor2D, type Tensor3D } from '../engine/index.js';
import type { Metric } from './metric.js';
import type { DensityPotential, PathReferences } from './potential.js';
import type { SplinePaths } from './spline.js';

/**
 * `reference`: ½ (Σ_i sqrt(Δ_iᵀ G(q_i) Δ_i) − Σ_i U(q_i))², the form that produced the published numbers.
 * `paper`:     Σ_i [½ Δ_iᵀ G(q_i) Δ_i / ds − U(q_i) ds], the discretised action integral.
 */
export type ActionForm = 'reference' | 'paper';
export const ACTION_FORMS: ActionForm[] = ['reference', 'paper'];

/** What an action evaluation needs besides the endpoints: per-path condition data, built once per batch. */
export interface PathContext {
  film: Film | null;
  refs: PathReferences | null;
}

/** The Lagrangian cost: a metric, an optional density potential and a discretised path family. */
export class Lagrangian {
  constructor(
    readonly metric: Metric,
    readonly potential: DensityPotential | null,
    readonly paths: SplinePaths,
    readonly form: ActionForm = 'reference',
  ) {}

  /** Action of already-discretised paths q [B, S, D] → [B]. */
  actionOfPoints(q: Tensor3D, ctx: PathContext): Tensor1D {
    const [b, s, d] = q.shape;
    const head = tf.slice(q, [0, 0, 0], [b, s - 1, d]);
    const tail = tf.slice(q, [0, 1, 0], [b, s - 1, d]);
    return this.actionOfSegments(head, tf.sub(tail, head) as Tensor3D, ctx);
  }

  /** Action from segment starts q_i and steps Δ_i = q_{i+1} − q_i, both [B, S−1, D] → [B]. */
  actionOfSegments(head: Tensor3D, step: Tensor3D, ctx: PathContext): Tensor1D {
    const s = head.shape[1] + 1;
    const delta = tf.add(step, 1e-6) as Tensor3D;
    const quad = this.metric.quadraticForm(head, delta, ctx.film);
    if (this.potential && !ctx.refs) throw new Error('the density potential needs the paths\' reference sets (PathContext.refs)');
    const u = this.potential && ctx.refs ? this.potential.evaluate(head, ctx.refs) : null;
    if (this.form === 'reference') {
      const length = tf.sum(tf.sqrt(tf.add(quad, 1e-12)), 1);
      const energy = u ? tf.sub(length, tf.sum(u, 1)) : length;
      return tf.mul(tf.square(energy), 0.5) as Tensor1D;
    }
    const ds = 1 / (s - 1);
    const kinetic = tf.mul(tf.sum(quad, 1), 0.5 / ds);
    return (u ? tf.sub(kinetic, tf.mul(tf.sum(u, 1), ds)) : kinetic) as Tensor1D;
  }

  /** Action of spline paths from y0 to y1 [B, D] with bends φ [B, M, D] (null: straight) → [B]. */
  action(y0: Tensor2D, y1: Tensor2D, phi: Tensor3D | null, ctx: PathContext): Tensor1D {
    const { head, delta } = this.paths.segments(y0, y1, phi);
    return this.actionOfSegments(head, delta, ctx);
  }
}

/** Closed form for checks: the straight-line action under a constant metric A without potential. */
export function straightLineAction(y0: number[], y1: number[], a: number[][], points: number, form: ActionForm): number {
  const d = y0.length;
  const delta = y0.map((v, i) => (y1[i] - v) / (points - 1) + 1e-6);
  let quad = 0;
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) quad += delta[i] * a[i][j] * delta[j];
  if (form === 'reference') {
    const length = (points - 1) * Math.sqrt(quad + 1e-12);
    return 0.5 * length * length;
  }
  return 0.5 * quad * (points - 1) * (points - 1);
}
