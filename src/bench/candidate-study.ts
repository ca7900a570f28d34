/**
 * The evidence behind automatic selection (`npm run bench:candidates`; README, "How candidates are
 * ranked"): every selection candidate fitted on every validation fold of every task, in this thread,
 * with its validation scores (calibrated on each level itself, leave-one-level-out, uncalibrated position,
 * and the rank selection uses) and its score on the fold's scored levels, which selection never sees.
 * Prints JSON, then a table on stderr.
 *
 *   node dist/bench/candidate-study.js [--tasks semicircles,quantile3] [--seed 0] [--out file.json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundledDataDir, writeFileAtomic } from '../data/index.js';
import { initEngine } from '../engine/index.js';
import { CANDIDATES, chooseCandidate, heldOutFor, presetFor, runCandidate, type CandidateJob } from '../methods/index.js';
import { loadClot, readModelDir } from '../surrogate/index.js';
import { markdownTable, mean } from './table.js';
import { getTask, isTaskName, TASK_NAMES, type TaskName } from './tasks.js';

interface StudyOptions {
  tasks: TaskName[];
  seed: number;
  out: string | null;
}

export function parseStudyArgs(argv: string[]): StudyOptions {
  const out: StudyOptions = { tasks: [...TASK_NAMES], seed: 0, out: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--tasks') {
      const list = (value ?? '').split(',').map((s) => s.trim());
      const bad = list.find((t) => !isTaskName(t));
      if (bad !== undefined) throw new Error(`--tasks: unknown task '${bad}' (expected ${TASK_NAMES.join(', ')})`);
      out.tasks = list as TaskName[];
    } else if (key === '--seed') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--seed expects a non-negative integer, got '${value}'`);
      out.seed = n;
    } else if (key === '--out') {
      if (!value) throw new Error('--out expects a file name');
      out.out = value;
    } else throw new Error(`unknown option '${key}' (expected --tasks, --seed, --out)`);
  }
  return out;
}

export interface StudyRow {
  task: TaskName;
  /** The fold's validation levels (the task's other held-out levels are scored). */
  validation: number[];
  candidate: string;
  calibrated: number;
  leaveOneOut: number;
  uncalibrated: number;
  rank: number;
  /** Mean of the task's first metric over the fold's scored levels. */
  scored: number;
  chosen: boolean;
  fitSeconds: number;
}

async function studyTask(name: TaskName, seed: number, staging: string): Promise<StudyRow[]> {
  const spec = getTask(name);
  const options = { dataDir: bundledDataDir() };
  if (spec.ensure) await spec.ensure(seed, options);
  const prep = spec.prepare(seed, options);
  const key = spec.metrics[0].key;
  const rows: StudyRow[] = [];
  for (const fold of prep.folds) {
    const scored = prep.levels.flatMap((l, i) => (fold.validation.includes(l) ? [] : [i]));
    const held = heldOutFor({ ...prep.selectionData, validation: fold.validation });
    const foldRows: StudyRow[] = [];
    for (const c of CANDIDATES) {
      const settings = { ...c.settings, seed };
      const job: CandidateJob = { preset: presetFor('full', settings), candidate: c, options: settings, held, staging };
      const r = await runCandidate(job);
      const { stored, tensors } = readModelDir(staging);
      const model = loadClot(stored, tensors);
      const scores = scored.map((i) => prep.score(i, model.sample(prep.inputs, prep.levels[i]))[key]);
      model.dispose();
      fs.rmSync(staging, { recursive: true, force: true });
      foldRows.push({
        task: name,
        validation: fold.validation,
        candidate: c.name,
        calibrated: mean(r.calibratedScores),
        leaveOneOut: mean(r.scores),
        uncalibrated: mean(r.priorScores),
        rank: r.rank,
        scored: mean(scores),
        chosen: false,
        fitSeconds: r.fitSeconds,
      });
      process.stderr.write(`bench:candidates · ${name} · validation ${fold.validation.join(', ')} · ${c.name}: scored ${foldRows[foldRows.length - 1].scored.toPrecision(3)}\n`);
    }
    foldRows[chooseCandidate(foldRows.map((r) => ({ name: r.candidate, rank: r.rank })))].chosen = true;
    rows.push(...foldRows);
  }
  return rows;
}

/** One line per task and fold: each candidate's scored-level mean, the chosen one starred. */
export function studyTable(rows: StudyRow[]): string {
  const names = CANDIDATES.map((c) => c.name);
  const head = ['task', 'validation', ...names];
  const keys = [...new Set(rows.map((r) => `${r.task}|${r.validation.join(', ')}`))];
  const lines = keys.map((k) => {
    const [task, validation] = k.split('|');
    const cells = names.map((n) => {
      const r = rows.find((x) => `${x.task}|${x.validation.join(', ')}` === k && x.candidate === n);
      return r ? `${r.scored.toPrecision(3)}${r.chosen ? ' *' : ''}` : '—';
    });
    return [task, validation, ...cells];
  });
  return markdownTable(head, lines);
}

async function main(): Promise<void> {
  const o = parseStudyArgs(process.argv.slice(2));
  await initEngine({ quiet: true });
  const staging = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hti-study-')), 'candidate');
  const rows: StudyRow[] = [];
  try {
    for (const t of o.tasks) rows.push(...(await studyTask(t, o.seed, staging)));
  } finally {
    fs.rmSync(path.dirname(staging), { recursive: true, force: true });
  }
  const report = {
    benchmark: 'candidates',
    seed: o.seed,
    statistic: "scored: mean of the task's first metric over the fold's scored levels; rank: √(calibrated × leave-one-out), lower wins; chosen: what selection keeps",
    rows,
  };
  const text = JSON.stringify(report, null, 2) + '\n';
  if (o.out) writeFileAtomic(o.out, text);
  process.stdout.write(text);
  process.stderr.write('\n' + studyTable(rows) + '\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((err: Error) => {
    process.stderr.write(`hti: ${err.message}\n`);
    process.exit(1);
  });
}
