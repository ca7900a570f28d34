/**
 * `hti family NAME`: train a generated family (or find it in the cache) and print where it is and
 * what it looks like: roles of the levels, seconds per network, the trivial references and the
 * noise floor at the held-out levels, and how far along the way between the extreme levels each
 * level is (the best affine mix against linear interpolation).
 */
import type { Command } from 'commander';
import { ensureFamily, familyReport, FAMILY_NAMES, FAMILY_SIZES, getFamily, type FamilyReport, type FamilySize } from '../families/index.js';
import { alignColumns, fmtNumber } from '../bench/table.js';
import { choice, nonNegativeInt } from './parsers.js';

interface FamilyCliOptions {
  size: FamilySize;
  seed: number;
  cacheDir?: string;
  json?: boolean;
  quiet?: boolean;
}

export const parseFamilySize = choice<FamilySize>(FAMILY_SIZES, 'size');

const REF_COLUMNS: [string, string][] = [
  ['copy-first-anchor', 'copy first'],
  ['nearest-anchor', 'nearest'],
  ['linear-interpolation', 'linear'],
  ['displacement-interpolation', 'displacement'],
];

export function formatFamilyReport(r: FamilyReport): string {
  const out: string[] = [];
  out.push(`${r.name} (${r.size}, seed ${r.seed}): ${r.file} (+ .json sidecar)`);
  out.push(r.description);
  out.push(`D ${r.dim}, C ${r.cond}, ${r.rowsPerLevel} rows per level${r.samplesPerCondition > 1 ? ` (${r.samplesPerCondition} samples per condition)` : ''}; trained on the ${r.backend} backend in ${r.trainSecondsTotal.toFixed(0)} s (${r.trainCpuSecondsTotal.toFixed(0)} s CPU)`);
  out.push(`split: ${r.split}`);
  out.push('');
  const refs = REF_COLUMNS.filter(([key]) => r.levels.some((l) => l.references[key] !== undefined));
  const withProgress = r.progress !== undefined;
  const header = [
    'λ',
    'role',
    'train s',
    'CPU s',
    ...refs.map(([, label]) => `${label} ${r.metric}`),
    'floor',
    ...(withProgress ? ['linear s', 'best ρ', 'best-mix MSE', 'linear MSE'] : []),
  ];
  const body = r.levels.map((l) => [
    String(l.lambda),
    l.role,
    l.trainSeconds.toFixed(1),
    l.trainCpuSeconds.toFixed(1),
    ...refs.map(([key]) => (l.references[key] !== undefined ? fmtNumber(l.references[key]) : '')),
    l.floor !== undefined ? fmtNumber(l.floor) : '',
    ...(withProgress
      ? l.progress
        ? [l.progress.linear.toFixed(3), l.progress.rho.toFixed(3), fmtNumber(l.progress.mseBest), fmtNumber(l.progress.mseLinear)]
        : ['', '', '', '']
      : []),
  ]);
  out.push(alignColumns([header, ...body], header.map((_, j) => j !== 1)));
  if (r.progress) {
    out.push('');
    out.push(
      `between λ = ${r.progress.from} and ${r.progress.to}, mean over the levels in between: best affine mix (1−ρ)·y_lo + ρ·y_hi MSE ${fmtNumber(r.progress.mseBest)}, ` +
        `linear interpolation ${fmtNumber(r.progress.mseLinear)} (${(r.progress.mseLinear / r.progress.mseBest).toFixed(2)}×)`,
    );
  }
  out.push('floor: the network retrained at λ from another initialisation, scored against the family\'s own.');
  return out.join('\n');
}

export function registerFamily(program: Command): void {
  program
    .command('family')
    .description('train a family of networks at a grid of λ (or find it in the cache), write it as a standard dataset, and describe it')
    .argument('<name>', FAMILY_NAMES.join(' | '))
    .option('--size <size>', `${FAMILY_SIZES.join(' | ')} (small: seconds, for tests)`, parseFamilySize, 'full')
    .option('--seed <n>', 'the family seed (training data and every network\'s initialisation)', nonNegativeInt, 0)
    .option('--cache-dir <dir>', 'where generated families are kept (default: $HTI_CACHE_DIR/families or .cache/families)')
    .option('--json', 'print the description as JSON')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (name: string, opts: FamilyCliOptions) => {
      const spec = getFamily(name);
      const log = opts.quiet ? undefined : (line: string) => process.stderr.write(`[family] ${line}\n`);
      const family = await ensureFamily(spec, { seed: opts.seed, size: opts.size, dir: opts.cacheDir, log });
      const report = familyReport(family);
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatFamilyReport(report) + '\n');
    });
}
