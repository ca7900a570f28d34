import type { Command } from 'commander';
import { loadModel } from '../methods/registry.js';
import { methodLabel } from '../methods/registry.js';
import { alignColumns, fmtNumber } from '../bench/table.js';
import { selectRows } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { evaluateModel, defaultEvalLevels, type EvalReport } from '../eval/index.js';
import { numberList, rowRange } from './parsers.js';
import { addDataFlags, loadForModel, type DataFlags } from './data-flags.js';

function formatEval(r: EvalReport): string {
  const lines: string[] = [];
  const named = methodLabel(r.info.method);
  const label = (named === r.info.method ? r.info.method : `${r.info.method} = ${named}`) + (r.info.kind === 'clot' ? ', CLOT' : '');
  lines.push(`model   ${r.model}: ${label}, anchors ${r.info.anchors.join(', ')}`);
  lines.push(`data    ${r.data}${r.rows[0] !== 0 || r.rows[1] !== null ? `, rows ${r.rows[0]}:${r.rows[1] ?? ''}` : ''}`);
  lines.push(`pushed  the ${r.inputRows} rows of λ = ${r.inputLambda} to each level`);
  const model = r.scores[0].perLevel[0];
  const w2What = r.info.categorical ? 'per class, mean over classes' : model.groups === 1 ? 'over all rows' : `per condition group (${model.groups} groups), mean over groups`;
  const tables: { key: 'w2' | 'mse' | 'meanMse'; title: string }[] = [
    { key: 'w2', title: `W2² (exact OT, squared Euclidean) ${w2What}` },
    { key: 'mse', title: 'MSE of outputs, row by row (rows correspond)' },
    { key: 'meanMse', title: "MSE of each condition group's mean output" },
  ];
  for (const t of tables) {
    if (r.scores[0].mean[t.key] === undefined) continue;
    lines.push('');
    lines.push(`${t.title}; lower is better`);
    const header = ['', ...r.levels.map((l) => `λ=${l}`), 'mean'];
    const body: string[][] = [];
    for (const s of r.scores) {
      const v = s.mean[t.key];
      if (v === undefined) continue;
      body.push([s.kind === 'model' ? 'model' : `${s.name} (ref)`, ...s.perLevel.map((l) => fmtNumber(l[t.key]!)), fmtNumber(v)]);
      const classes = s.perLevel[0].perClass;
      if (t.key === 'w2' && s.kind === 'model' && classes && classes.length <= 12) {
        classes.forEach((c, ci) => {
          const vals = s.perLevel.map((l) => l.perClass![ci].w2);
          body.push([`  class ${c.class}`, ...vals.map(fmtNumber), fmtNumber(vals.reduce((a, b) => a + b, 0) / vals.length)]);
        });
      }
    }
    lines.push(alignColumns([header, ...body], header.map((_, j) => j > 0)));
  }
  return lines.join('\n');
}

interface EvalCliOptions extends DataFlags {
  levels?: number[];
  rows?: [number, number];
  json?: boolean;
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('score a saved surrogate on a dataset with known true levels: W2² per class / condition group, MSE where rows correspond, beside the trivial references')
    .argument('<model>', 'model directory (from hti fit)')
    .argument('<data>', 'dataset (.npy [levels, rows, D+C] or long-form .csv) holding the model’s first anchor and the levels to score')
    .option('--levels <list>', "comma-separated λ values to score (default: the sidecar's validation levels)", numberList);
  addDataFlags(cmd, { forModel: true })
    .option('--rows <start:end>', 'use only rows [start, end) of every level (e.g. 1000:3000)', rowRange)
    .option('--json', 'print the scores as JSON')
    .action(async (modelDir: string, data: string, opts: EvalCliOptions) => {
      const range = opts.rows ?? null;
      await initEngine({ quiet: true });
      const model = loadModel(modelDir);
      try {
        let ds = loadForModel(data, model.info, opts, modelDir);
        if (range) ds = selectRows(ds, range[0], range[1]);
        const levels = opts.levels ?? defaultEvalLevels(ds, model.info);
        const report: EvalReport = {
          model: modelDir,
          data,
          rows: range ? [range[0], Number.isFinite(range[1]) ? range[1] : null] : [0, null],
          ...evaluateModel(model, ds, levels),
        };
        process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatEval(report)) + '\n');
      } finally {
        model.dispose();
      }
    });
}
