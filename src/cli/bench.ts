import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { METHODS } from '../methods/registry.js';
import { bundledDataDir } from '../data/index.js';
import { runTask, type BenchSettings, type TaskResult } from '../bench/run.js';
import { SELECT_MODES, type SelectMode } from '../methods/select.js';
import { benchReport, formatTables } from '../bench/table.js';
import { TASK_NAMES, isTaskName, type TaskName } from '../bench/tasks.js';
import type { ProgressHook } from '../surrogate/index.js';
import { CLOSED_LOOP_TASK } from '../bench/closed-loop.js';
import { benchClosedLoop, parseLevels, parsePositiveInt, type ClosedLoopFlags } from './bench-closed-loop.js';

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
  for (const t of list) {
    if (t === CLOSED_LOOP_TASK) throw new Error(`${CLOSED_LOOP_TASK} runs on its own (hti bench ${CLOSED_LOOP_TASK}), not in a list of tasks`);
    if (!isTaskName(t)) throw new Error(`unknown task '${t}'; tasks: ${TASK_NAMES.join(', ')}, ${CLOSED_LOOP_TASK}, all`);
  }
  return list as TaskName[];
}

/** Extra fit options as a JSON object, e.g. '{"couplings": {"cap": 16}}'. */
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

function benchSettings(value: string): BenchSettings {
  if (value !== 'defaults' && value !== 'hand') throw new InvalidArgumentError('expected defaults or hand');
  return value;
}

function selectModeOption(value: string): SelectMode {
  if (!(SELECT_MODES as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${SELECT_MODES.join(', ')}`);
  return value as SelectMode;
}

interface BenchCliOptions extends ClosedLoopFlags {
  settings: BenchSettings;
  select: SelectMode;
  method: string[];
  seeds?: number[];
  seed?: number;
  json?: boolean;
  out?: string;
  quick?: boolean;
  fit?: Record<string, unknown>;
  allStates?: boolean;
  dataDir?: string;
  quiet?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("fit methods on the paper's benchmark tasks and score them on held-out levels (cancer_closed_loop: by episode return in the cancer simulator), beside the paper's figures and trivial references")
    .argument('<task>', `${TASK_NAMES.join(' | ')} | all (these, or a comma list) | ${CLOSED_LOOP_TASK} (on its own)`)
    .option('--method <methods>', `a method (${METHODS.join(', ')}), a comma list, or all`, parseMethods, ['full'])
    .option('--seeds <list>', 'comma-separated seeds (a 95% interval over seeds is shown when more than one; default 0)', parseSeeds)
    .option('--seed <n>', 'one seed (same as --seeds n)', (v: string) => parseSeeds(v)[0])
    .option('--json', 'print the results as JSON instead of tables')
    .option('--out <file.json>', 'also write the JSON results to this file')
    .option('--quick', 'short fit schedules for development (scores mean little)')
    .option('--settings <which>', "CLOT settings: defaults (what hti fit does) or hand (the task's best hand-set settings, no selection)", benchSettings, 'defaults')
    .option('--select <mode>', 'CLOT with default settings: auto (select and calibrate on validation levels apart from the scored ones, as hti fit does) or none', selectModeOption, 'auto')
    .option('--fit <json>', 'extra fit options as a JSON object, laid over the settings (e.g. \'{"couplings":{"cap":16}}\')', parseFitJson)
    .option('--all-states', 'cancer_reward: score every test state (rows 1000..) instead of the first 200')
    .option('--data-dir <dir>', 'folder with dropout_2moons.npy and cancer_reward.npy (default: the data shipped with hti)')
    .option('--quiet', 'no progress lines on stderr')
    .option('--policies <dir>', `${CLOSED_LOOP_TASK}: folder of policy_lambda{λ}.safetensors (default: the policies shipped with hti)`)
    .option('--levels <list>', `${CLOSED_LOOP_TASK}: the λ to evaluate, e.g. 1,3,7,9 (default: the validation λ with a policy in --policies)`, parseLevels)
    .option('--episodes <n>', `${CLOSED_LOOP_TASK}: episodes per λ and method (default 20)`, parsePositiveInt)
    .option('--max-days <n>', `${CLOSED_LOOP_TASK}: end episodes after n days (default 200, the simulator's horizon)`, parsePositiveInt)
    .option('--plot <file.png>', `${CLOSED_LOOP_TASK}: draw episode 0 at the highest λ with a retrained policy: tumour, NK cells and actions of retrained, surrogate and copy-first (.png or .svg)`)
    .action(async (taskArg: string, opts: BenchCliOptions) => {
      if (opts.seed !== undefined && opts.seeds !== undefined) throw new Error('give --seed or --seeds, not both');
      const seeds = opts.seeds ?? [opts.seed ?? 0];
      const dataDir = opts.dataDir ?? defaultDataDir();
      const log = opts.quiet ? undefined : (line: string) => process.stderr.write(`[bench] ${line}\n`);
      if (taskArg === CLOSED_LOOP_TASK) {
        if (seeds.length !== 1) throw new Error(`${CLOSED_LOOP_TASK} takes one seed (--seed n)`);
        if (opts.allStates) throw new Error(`--all-states applies to cancer_reward, not ${CLOSED_LOOP_TASK}`);
        const progress = log ? phaseLogger(log) : undefined;
        return benchClosedLoop({ ...opts, seed: seeds[0], dataDir, log, onProgress: progress && ((method) => progress(CLOSED_LOOP_TASK, method, seeds[0])) });
      }
      const closedLoopOnly = (['policies', 'levels', 'episodes', 'maxDays', 'plot'] as const).filter((k) => opts[k] !== undefined);
      if (closedLoopOnly.length) throw new Error(`--${closedLoopOnly[0].replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to ${CLOSED_LOOP_TASK} only`);
      const tasks = parseTasks(taskArg);
      if (tasks.some((t) => t !== 'semicircles') && !fs.existsSync(dataDir)) throw new Error(`data folder ${dataDir} does not exist (give --data-dir)`);
      const results: TaskResult[] = [];
      for (const task of tasks) {
        results.push(
          await runTask(task, opts.method, {
            seeds,
            settings: opts.settings,
            select: opts.select,
            quick: opts.quick,
            fit: opts.fit,
            task: { dataDir, allStates: opts.allStates },
            log,
            onProgress: log ? phaseLogger(log) : undefined,
          }),
        );
      }
      const report = benchReport(results, {
        tasks,
        methods: opts.method,
        seeds,
        quick: !!opts.quick,
        fit: opts.fit ?? {},
        allStates: !!opts.allStates,
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
