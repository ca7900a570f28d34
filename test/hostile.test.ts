// One row per hostile case of issue 17 (five BAD, the POOR list but data scale, which issue 12
// covers): each must give a clear one-line error or a correct answer, with no crash and no lost file.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeNpy, readNpy } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { buildProgram } from '../src/cli/main.js';
import { changes, expectCleanFailure, runCli, snapshot, type CliResult } from './cli-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-hostile-'));
const at = (...p: string[]) => path.join(tmp, ...p);
const DIRECT = ['--method', 'direct', '--steps', '3', '--hidden', '8', '--quiet'];
const TINY_CLOT = ['--method', 'euclidean', '--map-steps', '5', '--spline-steps', '2', '--spline-refit-steps', '1', '--coupling-cap', '16', '--hidden', '8', '--spline-width', '8', '--select', 'none'];

/** A categorical dataset [3 levels, 40 rows, (y0, y1, class)] with its sidecar; `classOf(i)` labels row i. */
function writeDataset(name: string, classOf: (i: number) => number, sidecar: Record<string, unknown> = {}): string {
  const data = new Float32Array(3 * 40 * 3);
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < 40; i++) {
      const o = (t * 40 + i) * 3;
      data[o] = Math.cos(i) + 0.5 * t;
      data[o + 1] = Math.sin(1.7 * i);
      data[o + 2] = classOf(i);
    }
  }
  fs.writeFileSync(at(`${name}.npy`), encodeNpy({ shape: [3, 40, 3], data }));
  fs.writeFileSync(at(`${name}.json`), JSON.stringify({ hyperparameter: [0, 0.5, 1], dim: 2, cond: 1, categorical: true, anchors: [0, 1], validation: [0.5], ...sidecar }));
  return at(`${name}.npy`);
}

const ok = (r: CliResult, what: string) => expect(r.code, `${what}\n${r.stderr}`).toBe(0);
const config = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const editConfig = (from: string, to: string, edit: (c: Record<string, any>) => void) => {
  fs.cpSync(from, to, { recursive: true });
  const c = config(to);
  edit(c);
  fs.writeFileSync(path.join(to, 'config.json'), JSON.stringify(c));
};

let good = '';
let clotSummary: CliResult;

beforeAll(async () => {
  await initEngine({ quiet: true });
  good = writeDataset('good', (i) => i % 2);
  writeDataset('sparse', (i) => (i % 2) * 5);
  writeDataset('huge', (i) => (i % 2) * 1e9);
  writeDataset('one', () => 0);
  ok(await runCli(['fit', good, '--out', at('m'), ...DIRECT]), 'fit good');
  ok(await runCli(['fit', at('sparse.npy'), '--out', at('m05'), ...DIRECT]), 'fit sparse');
  clotSummary = await runCli(['fit', good, '--out', at('clot'), ...TINY_CLOT]);
  ok(clotSummary, 'fit clot');
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Row {
  case: string;
  run: () => Promise<void>;
}

const rows: Row[] = [
  // ---- BAD ----
  {
    case: 'BAD 1: a class id of 1e9 in hti info',
    run: async () => {
      const r = await runCli(['info', at('huge.npy')]);
      ok(r, 'info');
      expect(r.stdout).toContain('(categorical, 2 classes)');
      expect(r.stdout).toMatch(/class ids\s+0, 1000000000/);
    },
  },
  {
    case: 'BAD 1: a class id of 1e9 in hti fit (and sampling that class)',
    run: async () => {
      ok(await runCli(['fit', at('huge.npy'), '--out', at('mh'), ...DIRECT]), 'fit');
      expect(config(at('mh')).info).toMatchObject({ classes: 2, classIds: [0, 1e9] });
      ok(await runCli(['sample', at('mh'), '--class', '1000000000', '--n', '3', '--lambda', '0.5', '--out', at('h.npy')]), 'sample');
      expect(Array.from(readNpy(at('h.npy')).data).filter((_, k) => k % 3 === 2)).toEqual([1e9, 1e9, 1e9]);
    },
  },
  {
    case: "BAD 1: 'classes: 1000000000' in a model's config.json",
    run: async () => {
      editConfig(at('m'), at('c1e9'), (c) => (c.info.classes = 1e9));
      const r = await runCli(['sample', at('c1e9'), '--n', '5', '--lambda', '0.5', '--out', at('x.npy')]);
      expectCleanFailure(r, 'classes 1e9');
      expect(r.stderr).toMatch(/'classes' must be an integer from 1 to 4096 for a categorical model, got 1000000000/);
    },
  },
  {
    case: 'BAD 2: --out a folder that holds a foreign config.json is refused, nothing deleted',
    run: async () => {
      fs.mkdirSync(at('hf'));
      fs.writeFileSync(at('hf', 'config.json'), '{"architectures": ["BertModel"]}');
      fs.writeFileSync(at('hf', 'model.safetensors'), 'weights');
      const before = snapshot(at('hf'));
      const r = await runCli(['fit', good, '--out', at('hf'), ...DIRECT]);
      expectCleanFailure(r, 'foreign dir');
      expect(r.stderr).toMatch(/exists and is not an hti model directory \(no config.json with format 'hti-model'\)/);
      expect(changes(before, snapshot(at('hf')))).toEqual([]);
    },
  },
  {
    case: "BAD 2: a refit keeps the user's other files in the model directory",
    run: async () => {
      ok(await runCli(['fit', good, '--out', at('refit'), ...DIRECT]), 'first fit');
      fs.writeFileSync(at('refit', 'NOTES.md'), 'my notes');
      fs.mkdirSync(at('refit', 'plots'));
      fs.writeFileSync(at('refit', 'plots', 'a.png'), 'png');
      ok(await runCli(['fit', good, '--out', at('refit'), ...DIRECT, '--seed', '2']), 'refit');
      expect(fs.readdirSync(at('refit')).sort()).toEqual(['NOTES.md', 'config.json', 'plots', 'weights.safetensors']);
      expect(fs.readFileSync(at('refit', 'plots', 'a.png'), 'utf8')).toBe('png');
      expect(config(at('refit')).info.training.seed).toBe(2);
    },
  },
  {
    case: 'BAD 2: a second fit on a locked --out refuses; a dead holder’s lock is taken over',
    run: async () => {
      const lock = at('.locked.lock');
      fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), started: 'now' }));
      const r = await runCli(['fit', good, '--out', at('locked'), ...DIRECT]);
      expectCleanFailure(r, 'locked');
      expect(r.stderr).toMatch(/is being written by another hti fit \(pid \d+/);
      expect(fs.existsSync(lock)).toBe(true);
      expect(fs.existsSync(at('locked'))).toBe(false);
      // A pid far above any real one: the holder is gone, its lock is stale.
      fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 30, host: os.hostname(), started: 'then' }));
      ok(await runCli(['fit', good, '--out', at('locked'), ...DIRECT]), 'stale lock');
      expect(fs.existsSync(lock)).toBe(false);
    },
  },
  {
    case: 'BAD 3: --class 3 on a model trained on classes {0, 5}',
    run: async () => {
      const r = await runCli(['sample', at('m05'), '--class', '3', '--n', '5', '--lambda', '0.5', '--out', at('s3.npy')]);
      expectCleanFailure(r, 'class 3');
      expect(r.stderr).toMatch(/class 3 is not one of the model's classes \(0, 5\)/);
      expect(fs.existsSync(at('s3.npy'))).toBe(false);
      ok(await runCli(['sample', at('m05'), '--class', '5', '--n', '4', '--lambda', '0.5', '--out', at('s5.npy')]), 'class 5');
      expect(Array.from(readNpy(at('s5.npy')).data).filter((_, k) => k % 3 === 2)).toEqual([5, 5, 5, 5]);
    },
  },
  {
    case: 'BAD 4: a typo in the first row of a rows CSV is an error naming the line, not a header',
    run: async () => {
      fs.writeFileSync(at('typo.csv'), '0.1x,2,0\n0.3,0.4,1\n0.5,0.5,0\n');
      const r = await runCli(['sample', at('m'), '--from', at('typo.csv'), '--lambda', '0.5', '--out', at('t.npy')]);
      expectCleanFailure(r, 'typo');
      expect(r.stderr).toMatch(/typo\.csv': line 1, column '0': '0\.1x' is not a number/);
      fs.writeFileSync(at('named.csv'), 'y0,y1,class\n0.3,0.4,1\n0.5,0.5,0\n');
      ok(await runCli(['sample', at('m'), '--from', at('named.csv'), '--lambda', '0.5', '--out', at('t.npy')]), 'header');
      expect(readNpy(at('t.npy')).shape).toEqual([2, 3]);
    },
  },
  {
    case: 'BAD 5: data of one class only fits (Direct, and CLOT whose networks take the class)',
    run: async () => {
      ok(await runCli(['fit', at('one.npy'), '--out', at('one-d'), ...DIRECT]), 'direct');
      ok(await runCli(['fit', at('one.npy'), '--out', at('one-c'), '--quiet', ...TINY_CLOT]), 'clot');
      ok(await runCli(['sample', at('one-c'), '--class', '0', '--n', '3', '--lambda', '0.5', '--out', at('o1.npy')]), 'sample');
    },
  },
  // ---- POOR ----
  {
    case: '--n 1000000000000 is refused before anything is allocated',
    run: async () => {
      const r = await runCli(['sample', at('m'), '--n', '1000000000000', '--lambda', '0.5', '--out', at('n.npy')]);
      expectCleanFailure(r, '--n');
      expect(r.stderr).toMatch(/the output would hold 3000000000000 values/);
    },
  },
  {
    case: '--hidden 100000,100000 is refused; so is a network too large to allocate',
    run: async () => {
      const wide = await runCli(['fit', good, '--out', at('wide'), '--method', 'direct', '--hidden', '100000,100000']);
      expectCleanFailure(wide, 'hidden');
      expect(wide.stderr).toMatch(/a layer width is at most 16384/);
      const big = await runCli(['fit', good, '--out', at('wide'), '--method', 'direct', '--hidden', '16384,16384', '--quiet']);
      expectCleanFailure(big, 'hidden big');
      expect(big.stderr).toMatch(/would hold \d+ parameters, more than 67108864; use narrower layers/);
      expect(fs.existsSync(at('wide'))).toBe(false);
    },
  },
  {
    case: "'classes: -5', 'classes: 1' and 'dim: 3' in config.json name the config",
    run: async () => {
      editConfig(at('m'), at('cneg'), (c) => (c.info.classes = -5));
      const neg = await runCli(['sample', at('cneg'), '--n', '2', '--lambda', '0.5', '--out', at('x.npy')]);
      expectCleanFailure(neg, 'classes -5');
      expect(neg.stderr).toMatch(/config.json: 'classes' must be an integer from 1 to 4096 for a categorical model, got -5/);
      editConfig(at('m'), at('cone'), (c) => {
        c.info.classes = 1;
        delete c.info.classIds;
      });
      const one = await runCli(['sample', at('cone'), '--n', '2', '--lambda', '0.5', '--out', at('x.npy')]);
      expectCleanFailure(one, 'classes 1');
      expect(one.stderr).toMatch(/config.json and weights.safetensors disagree/);
      editConfig(at('m'), at('cdim'), (c) => {
        c.info.dim = 3;
        c.info.bounds.push([0, 1]);
      });
      const dim = await runCli(['sample', at('cdim'), '--n', '2', '--lambda', '0.5', '--out', at('x.npy')]);
      expectCleanFailure(dim, 'dim 3');
      // The settings stored for D = 2 no longer fit: the config is named, not the weights file.
      expect(dim.stderr).toMatch(/config.json output columns: the stored standardisation is missing or malformed|config.json and weights.safetensors disagree/);
      expect(dim.stderr).not.toMatch(/weights file lacks/);
    },
  },
  {
    case: 'CSV line numbers count comment and blank lines; a UTF-16 file is named as such',
    run: async () => {
      fs.writeFileSync(at('long.csv'), '# outputs of run 7\nlambda,a,b,cls\n\n0,1,2,0\n# a comment\n1,1,zz,0\n');
      const r = await runCli(['info', at('long.csv'), '--outputs', 'a,b', '--conditions', 'cls']);
      expectCleanFailure(r, 'line numbers');
      expect(r.stderr).toMatch(/line 6, column 'b': 'zz' is not a number/);
      fs.writeFileSync(at('u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('lambda,a,cls\n0,1,0\n', 'utf16le')]));
      const u = await runCli(['info', at('u16.csv'), '--outputs', 'a']);
      expectCleanFailure(u, 'utf16');
      expect(u.stderr).toMatch(/this is UTF-16 text \(or not text at all\); save the CSV as UTF-8/);
    },
  },
  {
    case: 'file-system errors are one line naming the user’s path (ENAMETOOLONG, EISDIR, ENOTDIR)',
    run: async () => {
      const long = `${'n'.repeat(300)}.npy`;
      const r = await runCli(['sample', at('m'), '--n', '2', '--lambda', '0.5', '--out', at(long)]);
      expectCleanFailure(r, 'name too long');
      expect(r.stderr).toMatch(/cannot write '.*… \(\d+ characters\)': the name is too long/);
      fs.mkdirSync(at('dir.npy'));
      const isDir = await runCli(['sample', at('m'), '--n', '2', '--lambda', '0.5', '--out', at('dir.npy')]);
      expectCleanFailure(isDir, 'is a dir');
      expect(isDir.stderr).toMatch(/cannot write '.*dir\.npy': it is a directory/);
      fs.writeFileSync(at('plain.txt'), 'x');
      const notDir = await runCli(['fit', good, '--out', at('plain.txt', 'm'), ...DIRECT]);
      expectCleanFailure(notDir, 'not a dir');
      expect(notDir.stderr).toMatch(/plain\.txt.*a part of the path is not a directory/);
      const nul = await runCli(['sample', at('m'), '--n', '2', '--lambda', '0.5', '--out', at('o\u0000.npy')]);
      expectCleanFailure(nul, 'NUL');
      expect(nul.stderr).toMatch(/cannot write '.*o\\x00\.npy': not a valid path \(it holds a NUL character\)/);
      expect(fs.readdirSync(tmp).filter((n) => n.startsWith('.'))).toEqual([]);
    },
  },
  {
    case: 'a 100 KB option value is not echoed in full',
    run: async () => {
      const r = await runCli(['sample', at('m'), '--n', '7'.repeat(100_000), '--lambda', '0.5', '--out', at('x.npy')]);
      expectCleanFailure(r, '100 KB');
      expect(r.stderr).toMatch(/… \(100000 characters\)/);
    },
  },
  {
    case: 'a failed fit leaves no directory it created',
    run: async () => {
      const r = await runCli(['fit', good, '--out', at('new', 'deep', 'er', 'm'), '--anchors', '0,7', ...DIRECT]);
      expectCleanFailure(r, 'failed fit');
      expect(fs.existsSync(at('new'))).toBe(false);
      fs.mkdirSync(at('kept'));
      const r2 = await runCli(['fit', good, '--out', at('kept', 'a', 'm'), '--anchors', '0,7', ...DIRECT]);
      expectCleanFailure(r2, 'failed fit 2');
      expect(fs.readdirSync(at('kept'))).toEqual([]);
    },
  },
  {
    case: '--seed 4294967296 gives other rows than --seed 0',
    run: async () => {
      const draw = async (seed: string) => {
        ok(await runCli(['sample', at('m'), '--n', '8', '--seed', seed, '--lambda', '0', '--out', at(`seed${seed}.npy`)]), `seed ${seed}`);
        return Array.from(readNpy(at(`seed${seed}.npy`)).data);
      };
      const [a, b, c] = [await draw('0'), await draw('4294967296'), await draw('9007199254740991')];
      expect(b).not.toEqual(a);
      expect(c).not.toEqual(a);
      expect(await draw('4294967296')).toEqual(b);
      expectCleanFailure(await runCli(['sample', at('m'), '--n', '8', '--seed', '9007199254740992', '--lambda', '0', '--out', at('s.npy')]), 'seed too big');
    },
  },
  {
    case: 'hti plot on a model fitted without the potential draws, and says what the field panels show',
    run: async () => {
      const r = await runCli(['plot', at('clot'), '--out', at('p.svg'), '--n', '40']);
      ok(r, 'plot');
      expect(r.stdout).toMatch(/wrote .*p\.svg \(this model has no density potential: the field panels show the metric only; --no-field leaves them out\)/);
      expect(fs.readFileSync(at('p.svg'), 'utf8')).toMatch(/^<svg/);
    },
  },
  {
    case: 'rows far outside the training range get one warning; a class never trained on is refused',
    run: async () => {
      fs.writeFileSync(at('far.csv'), 'y0,y1,class\n0.1,0.2,0\n57,0.3,1\n');
      const r = await runCli(['sample', at('m'), '--from', at('far.csv'), '--lambda', '0.5', '--out', at('far.npy')]);
      ok(r, 'far');
      expect(r.stderr).toMatch(/^hti: warning: 1 of 2 rows of '.*far\.csv' lie far outside the training data \(output y0 = 57, trained on \[[-\d.]+, [-\d.]+\]\); the answer there is an extrapolation\n$/);
      fs.writeFileSync(at('c7.csv'), '0.1,0.2,7\n');
      const c7 = await runCli(['trajectory', at('m'), '--from', at('c7.csv'), '--lambdas', '0,1', '--out', at('c7.npy')]);
      expectCleanFailure(c7, 'class 7');
      expect(c7.stderr).toMatch(/c7\.csv': row 0: class 7 is not one of the model's classes \(0, 1\)/);
    },
  },
  {
    case: 'hti eval with continuous data against a categorical model says so',
    run: async () => {
      const cont = writeDataset('cont', (i) => Math.sin(i), { categorical: undefined });
      const r = await runCli(['eval', at('m'), cont, '--levels', '0.5']);
      expectCleanFailure(r, 'eval');
      expect(r.stderr).toMatch(/model .* is categorical, so column 2 must hold class ids \(integers ≥ 0\), but it holds -?[\d.]+ at level 0 .*: is this data continuous\?/);
    },
  },
  {
    case: 'after --steps 0 the fit summary prints only finite numbers, no empty fields',
    run: async () => {
      expect(clotSummary.stdout).toMatch(/^hti fit: wrote .*clot \(euclidean, K_I\) from 2 anchors \[0, 1\], 40\/40 rows, in [\d.]+ s; /);
      expect(clotSummary.stdout).not.toMatch(/NaN|Infinity| ,|, ,|[a-zA-Z] ,|[a-zA-Z]\s*$/m);
    },
  },
];

describe('hostile inputs (issue 17): one row per case', () => {
  test.each(rows.map((r) => [r.case, r]))('%s', async (_name, row) => {
    await (row as Row).run();
  });
});

describe('data flags on every command that reads data', () => {
  test('the flags the data loader names exist on each command', () => {
    const program = buildProgram();
    const flags = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    for (const cmd of ['info', 'fit', 'eval']) expect(flags(cmd)).toEqual(expect.arrayContaining(['--meta', '--outputs', '--conditions']));
    // Where D and C can be unknown (no model fixes them), the loader suggests --dim/--cond/--categorical.
    for (const cmd of ['info', 'fit']) expect(flags(cmd)).toEqual(expect.arrayContaining(['--dim', '--cond', '--categorical']));
  });

  test('hti fit takes the CSV column flags and --dim/--cond that its errors suggest', async () => {
    fs.writeFileSync(at('plain.npy'), fs.readFileSync(good));
    const r = await runCli(['fit', at('plain.npy'), '--out', at('pf'), ...DIRECT]);
    expectCleanFailure(r, 'no sidecar');
    expect(r.stderr).toMatch(/give a sidecar JSON with 'dim' and 'cond' \(--meta FILE\) or --dim and --cond/);
    const rows = ['lambda,a,b,cls', ...[0, 1].flatMap((l) => Array.from({ length: 12 }, (_, i) => `${l},${Math.cos(i) + l},${Math.sin(i)},${i % 2}`))];
    fs.writeFileSync(at('data.csv'), rows.join('\n'));
    ok(await runCli(['fit', at('data.csv'), '--out', at('csvm'), '--outputs', 'a,b', '--conditions', 'cls', '--categorical', '--anchors', '0,1', ...DIRECT]), 'csv fit');
    expect(config(at('csvm')).info).toMatchObject({ dim: 2, cond: 1, categorical: true, classIds: [0, 1] });
  });
});
