import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { METHODS } from '../methods/registry.js';
import { bundledDataDir, onFile, writeFileAtomic } from '../data/index.js';
import { BENCH_HELD_OUT, runTask, type BenchHeldOut, type BenchSettings, type TaskResult } from '../bench/run.js';
import { SELECT_MODES, type SelectMode } from '../methods/select.js';
import { benchReport, formatTables } from '../bench/table.js';
import { TASK_NAMES, isTaskName, type TaskName } from '../bench/tasks.js';
import type { ProgressHook } from '../surrogate/index.js';
import { FAMILY_NAMES, type FamilySize } from '../families/index.js';
import { parseFamilySize } from './family.js';
import { CLOSED_LOOP_TASK } from '../bench/closed-loop.js';
import { benchClosedLoop, type ClosedLoopFlags } from './bench-closed-loop.js';
import { choice, choiceList, distinctNumberList, jsonObject, positiveInt, seedList } from './parsers.js';

/** The benchmark data shipped with hti (`<package>/data`). */
export function defaultDataDir(): string {
  return bundledDataDir();
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

interface BenchCliOptions extends ClosedLoopFlags {
  settings: BenchSettings;
  select: SelectMode;
  heldOut: BenchHeldOut;
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
  familySize?: FamilySize;
  cacheDir?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("fit methods on the paper's benchmark tasks and score them on held-out levels (cancer_closed_loop: by episode return in the cancer simulator), beside the paper's figures and trivial references")
    .argument('<task>', `${TASK_NAMES.join(' | ')} | all (these, or a comma list) | ${CLOSED_LOOP_TASK} (on its own)`)
    .option('--method <methods>', `a method (${METHODS.join(', ')}), a comma list, or all`, choiceList(METHODS, 'method'), ['full'])
    .option('--seeds <list>', 'comma-separated seeds (a 95% interval over seeds is shown when more than one; default 0)', seedList)
    .option('--seed <n>', 'one seed (same as --seeds n)', (v: string) => seedList(v)[0])
    .option('--json', 'print the results as JSON instead of tables')
    .option('--out <file.json>', 'also write the JSON results to this file')
    .option('--quick', 'short fit schedules for development (scores mean little)')
    .option('--settings <which>', "CLOT settings: defaults (what hti fit does) or hand (the task's best hand-set settings, no selection)", choice<BenchSettings>(['defaults', 'hand'], 'settings'), 'defaults')
    .option('--select <mode>', 'CLOT with default settings: auto (select and calibrate on validation levels apart from the scored ones, as hti fit does) or none', choice<SelectMode>(SELECT_MODES, 'mode'), 'auto')
    .option('--held-out <which>', 'with automatic selection: validation (the task\'s validation levels, as its sidecar lists them) or anchors (as if it listed none: with three or more anchors selection leaves out interior anchors, with two it fits the defaults; every level is scored)', choice<BenchHeldOut>(BENCH_HELD_OUT, 'held-out'), 'validation')
    .option('--fit <json>', 'extra fit options as a JSON object, laid over the settings (e.g. \'{"couplings":{"cap":16}}\')', jsonObject)
    .option('--all-states', 'cancer_reward: score every test state (rows 1000..) instead of the first 200')
    .option('--data-dir <dir>', 'folder with dropout_2moons.npy and cancer_reward.npy (default: the data shipped with hti)')
    .option('--family-size <size>', `generated families (${FAMILY_NAMES.join(', ')}; each seed trains and caches a family of its own): full, or small (seconds; for smoke runs)`, parseFamilySize, 'full')
    .option('--cache-dir <dir>', 'generated families: where their trained outputs are cached (default: $HTI_CACHE_DIR/families or .cache/families)')
    .option('--quiet', 'no progress lines on stderr')
    .option('--policies <dir>', `${CLOSED_LOOP_TASK}: folder of policy_lambda{λ}.safetensors (default: the policies shipped with hti)`)
    .option('--levels <list>', `${CLOSED_LOOP_TASK}: the λ to evaluate, e.g. 1,3,7,9 (default: the validation λ with a policy in --policies)`, distinctNumberList)
    .option('--episodes <n>', `${CLOSED_LOOP_TASK}: episodes per λ and method (default 20)`, positiveInt)
    .option('--max-days <n>', `${CLOSED_LOOP_TASK}: end episodes after n days (default 200, the simulator's horizon)`, positiveInt)
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
            heldOut: opts.heldOut,
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
        seeds,
        quick: !!opts.quick,
        fit: opts.fit ?? {},
        allStates: !!opts.allStates,
        familySize: opts.familySize,
      });
      const json = JSON.stringify(report, null, 2) + '\n';
      if (opts.out) {
        const out = opts.out;
        onFile('create', path.dirname(out), () => fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true }));
        writeFileAtomic(out, json);
        log?.(`results written to ${opts.out}`);
      }
      process.stdout.write(opts.json ? json : formatTables(report.tasks) + '\n');
    });
}
