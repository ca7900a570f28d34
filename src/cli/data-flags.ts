/**
 * The flags that describe a data file, shared by every command that reads one (info, fit, eval,
 * serve --data), and the loading that goes with them. Commands that describe the data themselves
 * take all of them; commands that read data for a saved model take only the sidecar and the CSV
 * column names, since the model fixes D, C and whether the condition is categorical.
 */
import type { Command } from 'commander';
import { defaultSidecarPath, loadDataset, readSidecar, type Dataset, type LoadOptions } from '../data/index.js';
import type { ModelInfo } from '../surrogate/model.js';
import { nameList, nonNegativeInt } from './parsers.js';

/** What the flags set: the loader's options of the same names. */
export type DataFlags = Pick<LoadOptions, 'meta' | 'dim' | 'cond' | 'categorical' | 'outputs' | 'conditions'>;

/**
 * Add the data flags to a command. `forModel`: only --meta, --outputs and --conditions (the model
 * fixes D, C and the categorical flag). `what` names the data in help texts (serve's --data).
 */
export function addDataFlags(cmd: Command, { forModel = false, what = 'the data file' }: { forModel?: boolean; what?: string } = {}): Command {
  cmd.option('--meta <file>', `JSON sidecar of ${what} (default: its name with .json, when present)`);
  if (!forModel) {
    cmd
      .option('--dim <D>', 'number of output columns (overrides the sidecar)', nonNegativeInt)
      .option('--cond <C>', 'number of condition columns (overrides the sidecar)', nonNegativeInt)
      .option('--categorical', 'the condition is one integer class-id column (overrides the sidecar)');
  }
  return cmd
    .option('--outputs <names>', 'CSV: comma-separated output column names (overrides the sidecar)', nameList)
    .option('--conditions <names>', 'CSV: comma-separated condition column names (overrides the sidecar)', nameList);
}

/** The loader options the data flags give. */
export function loadOptions(flags: DataFlags): LoadOptions {
  const { meta, dim, cond, categorical, outputs, conditions } = flags;
  return { meta, dim, cond, categorical, outputs, conditions };
}

/** Load a data file as the flags describe it. */
export function loadWithFlags(file: string, flags: DataFlags): Dataset {
  return loadDataset(file, loadOptions(flags));
}

function describe(dim: number | undefined, cond: number | undefined, categorical: boolean | undefined): string {
  return `D = ${dim ?? '?'}, C = ${cond ?? '?'}${categorical === undefined ? '' : categorical ? ' (categorical)' : ' (continuous)'}`;
}

/**
 * Read data for a saved model with the model's D, C and categorical flag, refusing a sidecar that
 * says otherwise (a continuous dataset given to a categorical model is named as such).
 */
export function loadForModel(file: string, info: ModelInfo, flags: DataFlags, modelName: string): Dataset {
  const metaPath = flags.meta ?? defaultSidecarPath(file);
  if (metaPath) {
    const side = readSidecar(metaPath);
    const clash =
      (side.dim !== undefined && side.dim !== info.dim) ||
      (side.cond !== undefined && side.cond !== info.cond) ||
      (side.categorical !== undefined && side.categorical !== info.categorical);
    if (clash) {
      throw new Error(
        `sidecar '${metaPath}' says ${describe(side.dim, side.cond, side.categorical)} but model ${modelName} expects ${describe(info.dim, info.cond, info.categorical)}`,
      );
    }
  }
  return loadDataset(file, {
    ...loadOptions(flags),
    dim: info.dim,
    cond: info.cond,
    categorical: info.categorical,
    categoricalBecause: info.categorical ? `model ${modelName} is categorical` : undefined,
  });
}
