/**
 * `hti bench cancer_closed_loop`: parse the closed-loop options, run src/bench/closed-loop.ts,
 * print its table or JSON, and draw one episode when asked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundledDataPath, writeFileAtomic } from '../data/index.js';
import { CLOSED_LOOP_TASK, closedLoopJson, formatClosedLoopTable, runClosedLoop, writeClosedLoopFigure } from '../bench/closed-loop.js';
import type { ProgressHook } from '../surrogate/index.js';

/** The PPO policies shipped with hti. */
export function defaultPoliciesDir(): string {
  return bundledDataPath('cancer_policies');
}

/** The bench options that only the closed loop takes. */
export interface ClosedLoopFlags {
  policies?: string;
  levels?: number[];
  episodes?: number;
  maxDays?: number;
  plot?: string;
}

export interface ClosedLoopCliOptions extends ClosedLoopFlags {
  method: string[];
  seed: number;
  json?: boolean;
  out?: string;
  quick?: boolean;
  fit?: Record<string, unknown>;
  dataDir: string;
  log?: (line: string) => void;
  onProgress?: (method: string) => ProgressHook | undefined;
}

function checkWritable(file: string, flag: string, extensions: string[]): void {
  const ext = path.extname(file).toLowerCase();
  if (!extensions.includes(ext)) throw new Error(`${flag} must end in ${extensions.join(' or ')}, got ${file}`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new Error(`cannot write ${file}: folder ${dir} does not exist`);
}

export async function benchClosedLoop(opts: ClosedLoopCliOptions): Promise<void> {
  // Refuse bad output paths before minutes of work, not after.
  if (opts.plot) checkWritable(opts.plot, '--plot', ['.png', '.svg']);
  if (opts.out) checkWritable(opts.out, '--out', ['.json']);
  const result = await runClosedLoop({
    policiesDir: opts.policies ?? defaultPoliciesDir(),
    dataDir: opts.dataDir,
    levels: opts.levels,
    episodes: opts.episodes,
    methods: opts.method,
    seed: opts.seed,
    quick: opts.quick,
    fit: opts.fit,
    maxDays: opts.maxDays,
    record: opts.plot ? true : undefined,
    log: opts.log,
    onProgress: opts.onProgress,
  });
  const json = JSON.stringify(closedLoopJson(result), null, 2) + '\n';
  if (opts.out) {
    writeFileAtomic(opts.out, json);
    opts.log?.(`results written to ${opts.out}`);
  }
  if (opts.plot) {
    writeClosedLoopFigure(result, opts.plot);
    opts.log?.(`${CLOSED_LOOP_TASK}: episode picture written to ${opts.plot}`);
  }
  process.stdout.write(opts.json ? json : formatClosedLoopTable(result) + '\n');
}
