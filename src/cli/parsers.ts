import { InvalidArgumentError } from 'commander';

// Option-value parsers shared by every command: a malformed value is a usage error (exit 2).

export function finiteNumber(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError('expected a number');
  return v;
}

export function positiveNumber(value: string): number {
  const v = finiteNumber(value);
  if (!(v > 0)) throw new InvalidArgumentError('expected a positive number');
  return v;
}

export function nonNegativeNumber(value: string): number {
  const v = finiteNumber(value);
  if (!(v >= 0)) throw new InvalidArgumentError('expected a number ≥ 0');
  return v;
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

export function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value.trim())) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}
