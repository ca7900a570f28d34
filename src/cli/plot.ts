import type { Command } from 'commander';
import { initEngine } from '../engine/index.js';
import { loadModel } from '../methods/registry.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { warnIfFarOutside } from './sample.js';
import { readRowsFile } from '../data/index.js';
import { modelFigureSvg } from '../plot/figure.js';
import { writePlot } from '../plot/render.js';
import { columnPair, nonNegativeInt, numberList, pixelScale, positiveInt, seed } from './parsers.js';

interface PlotOptions {
  out: string;
  lambdas?: number[];
  from?: string;
  n: number;
  seed: number;
  dims?: [number, number];
  colorBy?: number;
  field: boolean;
  scale: number;
  title?: string;
}

/** What the field panels show when the model lacks part of the field (said, not silently left out). */
function fieldNote(model: TrajectoryModel, wanted: boolean): string {
  if (!wanted || model.info.dim !== 2 || model.potential) return '';
  if (model.metric) return ' (this model has no density potential: the field panels show the metric only; --no-field leaves them out)';
  return ' (this model has no learned potential or metric: no field panels)';
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw a model without a browser: samples and their paths at several λ, and the learned potential and metric (2-D)')
    .argument('<model>', 'model directory (from hti fit)')
    .requiredOption('--out <file>', 'picture to write: .png or .svg')
    .option('--lambdas <list>', 'λ of each panel, comma-separated (default: 4 even values over the model range)', numberList)
    .option('--from <rows>', 'starting rows at the first anchor (.npy [N, D+C] or CSV) instead of stored anchor rows')
    .option('--n <count>', 'stored anchor rows to draw when --from is not given', positiveInt, 500)
    .option('--seed <n>', 'seed for drawing the anchor rows', seed, 0)
    .option('--dims <i,j>', 'output columns on the axes (default 0,1)', columnPair)
    .option('--color-by <j>', 'condition column that colours a continuous model (default 0)', nonNegativeInt)
    .option('--no-field', 'leave out the potential/metric panels')
    .option('--scale <s>', 'PNG pixel scale', pixelScale, 1)
    .option('--title <text>', 'figure title')
    .action(async (modelDir: string, options: PlotOptions) => {
      if (!/\.(png|svg)$/i.test(options.out)) throw new Error(`--out must end in .png or .svg, got ${options.out}`);
      await initEngine();
      const model = loadModel(modelDir);
      try {
        const rows = options.from ? readRowsFile(options.from, model.info.dim + model.info.cond).data : undefined;
        if (rows) warnIfFarOutside(model, rows, options.from!);
        const svg = modelFigureSvg(model, {
          lambdas: options.lambdas,
          rows,
          n: options.n,
          seed: options.seed,
          dims: options.dims,
          colorBy: options.colorBy,
          field: options.field,
          title: options.title,
        });
        writePlot(options.out, svg, { scale: options.scale });
        process.stdout.write(`hti plot: wrote ${options.out}${fieldNote(model, options.field)}\n`);
      } finally {
        model.dispose();
      }
    });
}
