import { describe, expect, it } from 'vitest';
import { parseStudyArgs, studyTable, type StudyRow } from '../src/bench/candidate-study.js';

describe('bench:candidates', () => {
  it('parses its options and names bad ones', () => {
    expect(parseStudyArgs([]).tasks.length).toBeGreaterThan(3);
    const o = parseStudyArgs(['--tasks', 'quantile3,focal', '--seed', '2', '--out', 'x.json']);
    expect(o).toEqual({ tasks: ['quantile3', 'focal'], seed: 2, out: 'x.json' });
    expect(() => parseStudyArgs(['--tasks', 'moons'])).toThrow(/unknown task 'moons'/);
    expect(() => parseStudyArgs(['--seed', '-1'])).toThrow(/non-negative integer/);
    expect(() => parseStudyArgs(['--fast', '1'])).toThrow(/unknown option '--fast'/);
  });

  it('prints one line per task and fold, the chosen candidate starred', () => {
    const base = { task: 'quantile3' as const, validation: [0.25, 0.75], calibrated: 1, leaveOneOut: 1, linear: 1, rank: 1, fitSeconds: 1 };
    const rows: StudyRow[] = [
      { ...base, candidate: 'paper', scored: 0.401, chosen: false },
      { ...base, candidate: 'straight', scored: 0.332, chosen: true },
    ];
    const lines = studyTable(rows).split('\n');
    expect(lines.length).toBe(3);
    expect(lines[2]).toMatch(/^\| quantile3 \| 0\.25, 0\.75 \|/);
    expect(lines[2]).toContain('0.332 *');
    expect(lines[2]).toContain('0.401 ');
    expect(lines[2]).toContain('—');
  });
});
