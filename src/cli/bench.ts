import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { METHODS } from '../methods/registry.js';
import { bundledDataDir } from '../data/index.js';
import { runTask, type TaskResult } from '../bench/run.js';
import { benchReport, formatTables } from '../bench/table.js';
import { TASK_NAMES, isTaskName, type TaskName } from '../bench/tasks.js';
import type { ProgressHook } from '../surrogate/index.js';
import { FAMILY_NAMES, type FamilySize } from '../families/index.js';
import { parseFamilySize } from './family.js';

/** The benchmark data shipped with hti (`<package>/data`). */
export function defaultDataDir(): string {
  return bundledDataDir();
}

export function parseSeeds(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError('expected comma-separated non-negative integers, e.g. 0,1,2');
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError('a seed is listed twice');
  return seeds;
}

/** `all`, or a comma list of methods (CLOT presets and baselines). */
export function parseMethods(value: string): string[] {
  if (value === 'all') return [...METHODS];
  const list = value.split(',').map((s) => s.trim());
  for (const m of list) {
    if (!METHODS.includes(m)) throw new InvalidArgumentError(`unknown method '${m}'; valid methods: ${METHODS.join(', ')}, all`);
  }
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('a method is listed twice');
  return list;
}

/** `all`, or a comma list of task names. */
export function parseTasks(value: string): TaskName[] {
  if (value === 'all') return [...TASK_NAMES];
  const list = value.split(',').map((s) => s.trim());
  for (const t of list) if (!isTaskName(t)) throw new Error(`unknown task '${t}'; tasks: ${TASK_NAMES.join(', ')}, all`);
  return list as TaskName[];
}

/** Extra fit options as a JSON object, e.g. '{"couplingCap": 16}'. */
export function parseFitJson(value: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`not valid JSON (${(err as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError('expected a JSON object of fit options');
  return v as Record<string, unknown>;
}

/** A progress hook per fit that logs each new training phase once (long fits show signs of life). */
function phaseLogger(log: (line: string) => void): (task: string, method: string, seed: number) => ProgressHook {
  return (task, method, seed) => {
    let last = '';
    return (p) => {
      if (p.phase === last) return;
      last = p.phase;
      log(`${task} · ${method} · seed ${seed}: ${p.phase} (${p.elapsedSeconds.toFixed(1)} s)`);
    };
  };
}

interface BenchCliOptions {
  method: string[];
  seeds: number[];
  json?: boolean;
  out?: string;
  quick?: boolean;
  fit?: Record<string, unknown>;
  allStates?: boolean;
  dataDir?: string;
  quiet?: boolean;
  familySize?: FamilySize;
  cacheDir?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("fit methods on the paper's benchmark tasks and score them on held-out levels, beside the paper's figures and trivial references")
    .argument('<task>', `${TASK_NAMES.join(' | ')} | all (or a comma list)`)
    .option('--method <methods>', `a method (${METHODS.join(', ')}), a comma list, or all`, parseMethods, ['full'])
    .option('--seeds <list>', 'comma-separated seeds (a 95% interval over seeds is shown when more than one)', parseSeeds, [0])
    .option('--json', 'print the results as JSON instead of tables')
    .option('--out <file.json>', 'also write the JSON results to this file')
    .option('--quick', 'short fit schedules for development (scores mean little)')
    .option('--fit <json>', 'extra fit options as a JSON object, applied last (e.g. \'{"couplingCap":16}\')', parseFitJson)
    .option('--all-states', 'cancer_reward: score every test state (rows 1000..) instead of the first 200')
    .option('--data-dir <dir>', 'folder with dropout_2moons.npy and cancer_reward.npy (default: the data shipped with hti)')
    .option('--family-size <size>', `generated families (${FAMILY_NAMES.join(', ')}; each seed trains and caches a family of its own): full, or small (seconds; for smoke runs)`, parseFamilySize, 'full')
    .option('--cache-dir <dir>', 'generated families: where their trained outputs are cached (default: $HTI_CACHE_DIR/families or .cache/families)')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (taskArg: string, opts: BenchCliOptions) => {
      const tasks = parseTasks(taskArg);
      const dataDir = opts.dataDir ?? defaultDataDir();
      if (tasks.some((t) => t === 'dropout_2moons' || t === 'cancer_reward') && !fs.existsSync(dataDir)) throw new Error(`data folder ${dataDir} does not exist (give --data-dir)`);
      const log = opts.quiet ? undefined : (line: string) => process.stderr.write(`[bench] ${line}\n`);
      const results: TaskResult[] = [];
      for (const task of tasks) {
        results.push(
          await runTask(task, opts.method, {
            seeds: opts.seeds,
            quick: opts.quick,
            fit: opts.fit,
            task: { dataDir, allStates: opts.allStates, familySize: opts.familySize, cacheDir: opts.cacheDir },
            log,
            onProgress: log ? phaseLogger(log) : undefined,
          }),
        );
      }
      const report = benchReport(results, {
        tasks,
        methods: opts.method,
        seeds: opts.seeds,
        quick: !!opts.quick,
        fit: opts.fit ?? {},
        allStates: !!opts.allStates,
        familySize: opts.familySize,
      });
      const json = JSON.stringify(report, null, 2) + '\n';
      if (opts.out) {
        fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
        fs.writeFileSync(opts.out, json);
        log?.(`results written to ${opts.out}`);
      }
      process.stdout.write(opts.json ? json : formatTables(report.tasks) + '\n');
    });
}
