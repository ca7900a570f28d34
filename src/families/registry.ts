/** Every generated family by name. */
import type { FamilySpec } from './family.js';
import { quantile3Family, quantileFamily } from './quantile.js';
import { focalFamily, smoothingFamily } from './classifier.js';
import { policyFamily } from './policy.js';

export const FAMILY_NAMES = ['quantile', 'quantile3', 'smoothing', 'focal', 'policy'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

export const FAMILIES: Record<FamilyName, FamilySpec> = {
  quantile: quantileFamily,
  quantile3: quantile3Family,
  smoothing: smoothingFamily,
  focal: focalFamily,
  policy: policyFamily,
};

export function isFamilyName(name: string): name is FamilyName {
  return (FAMILY_NAMES as readonly string[]).includes(name);
}

export function getFamily(name: string): FamilySpec {
  if (!isFamilyName(name)) throw new Error(`unknown family '${name}'; families: ${FAMILY_NAMES.join(', ')}`);
  return FAMILIES[name];
}
