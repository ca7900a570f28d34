import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { METHODS } from '../methods/registry.js';
import { bundledDataDir, onFile, writeFileAtomic } from '../data/index.js';
import { runTask, type TaskResult } from '../bench/run.js';
import { benchReport, formatTables } from '../bench/table.js';
import { TASK_NAMES, isTaskName, type TaskName } from '../bench/tasks.js';
import type { ProgressHook } from '../surrogate/index.js';
import { choiceList, jsonObject, seedList } from './parsers.js';

/** The benchmark data shipped with hti (`<package>/data`). */
export function defaultDataDir(): string {
  return bundledDataDir();
}

/** `all`, or a comma list of task names. */
export function parseTasks(value: string): TaskName[] {
  if (value === 'all') return [...TASK_NAMES];
  const list = value.split(',').map((s) => s.trim());
  for (const t of list) if (!isTaskName(t)) throw new Error(`unknown task '${t}'; tasks: ${TASK_NAMES.join(', ')}, all`);
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
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description("fit methods on the paper's benchmark tasks and score them on held-out levels, beside the paper's figures and trivial references")
    .argument('<task>', `${TASK_NAMES.join(' | ')} | all (or a comma list)`)
    .option('--method <methods>', `a method (${METHODS.join(', ')}), a comma list, or all`, choiceList(METHODS, 'method'), ['full'])
    .option('--seeds <list>', 'comma-separated seeds (a 95% interval over seeds is shown when more than one)', seedList, [0])
    .option('--json', 'print the results as JSON instead of tables')
    .option('--out <file.json>', 'also write the JSON results to this file')
    .option('--quick', 'short fit schedules for development (scores mean little)')
    .option('--fit <json>', 'extra fit options as a JSON object, applied last (e.g. \'{"couplingCap":16}\')', jsonObject)
    .option('--all-states', 'cancer_reward: score every test state (rows 1000..) instead of the first 200')
    .option('--data-dir <dir>', 'folder with dropout_2moons.npy and cancer_reward.npy (default: the data shipped with hti)')
    .option('--quiet', 'no progress lines on stderr')
    .action(async (taskArg: string, opts: BenchCliOptions) => {
      const tasks = parseTasks(taskArg);
      const dataDir = opts.dataDir ?? defaultDataDir();
      if (tasks.some((t) => t !== 'semicircles') && !fs.existsSync(dataDir)) throw new Error(`data folder ${dataDir} does not exist (give --data-dir)`);
      const log = opts.quiet ? undefined : (line: string) => process.stderr.write(`[bench] ${line}\n`);
      const results: TaskResult[] = [];
      for (const task of tasks) {
        results.push(
          await runTask(task, opts.method, {
            seeds: opts.seeds,
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
        seeds: opts.seeds,
        quick: !!opts.quick,
        fit: opts.fit ?? {},
        allStates: !!opts.allStates,
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
