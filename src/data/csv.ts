/**
 * CSV in long form: a header row, a `lambda` column giving each row's hyperparameter level, D output
 * columns and C condition columns. Rows are grouped by λ into levels sorted increasingly; within a
 * level the file's row order is kept (row i of every level may correspond, as in the shared data).
 */
import { parse } from 'csv-parse/sync';

export interface CsvColumns {
  /** Names of the output columns (y). */
  outputs?: string[];
  /** Names of the condition columns (x). */
  conditions?: string[];
  /** Output / condition counts, used to split unnamed columns by position (after removing `lambda`). */
  dim?: number;
  cond?: number;
  /** Name of the level column (default `lambda`). */
  lambdaColumn?: string;
}

export interface LongCsv {
  /** Distinct λ values, increasing. */
  levels: number[];
  /** Per level a row-major N_t × (D + C) matrix, outputs first. */
  data: Float32Array[];
  outputs: string[];
  conditions: string[];
}

/** One CSV record: its trimmed cells and the line of the file it ends on (counted from 1). */
export interface CsvLine {
  cells: string[];
  line: number;
}

/**
 * The text of a CSV file, refusing what is not UTF-8 text (UTF-16 from Excel or PowerShell, binary
 * data) with a message that says so, rather than a parser error about record lengths.
 */
export function csvText(bytes: Uint8Array, what: string): string {
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  const head = bytes.subarray(0, 4096);
  const zeros = head.reduce((n, b) => n + (b === 0 ? 1 : 0), 0);
  if (utf16 || (zeros > 0 && zeros >= head.length / 4)) {
    throw new Error(`${what}: this is UTF-16 text (or not text at all); save the CSV as UTF-8`);
  }
  if (zeros > 0) throw new Error(`${what}: holds NUL bytes; not a text CSV file`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Split CSV text into trimmed cells with their line numbers in the file; blank lines and `#`
 * comment lines are skipped but still counted, so that messages point at the right line.
 */
export function parseCsvLines(text: string, what: string): CsvLine[] {
  try {
    const records = parse(text, { skip_empty_lines: true, trim: true, comment: '#', comment_no_infix: true, bom: true, info: true, relax_column_count: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
    return records.map((r) => ({ cells: r.record, line: r.info.lines }));
  } catch (err) {
    // csv-parse's own words ("Invalid Closing Quote: …"), with its line number.
    throw new Error(`${what}: malformed CSV (${(err as Error).message})`);
  }
}

/**
 * A CSV cell as a number. NaN and infinities are accepted in their usual spellings so that dataset
 * validation can report where they are; anything else that is not a number is an error here.
 */
export function parseNumberCell(cell: string): number | null {
  const s = cell.trim();
  if (s === '') return null;
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  return Number(s);
}

function cellNumber(cell: string, line: number, column: string, what: string): number {
  const v = parseNumberCell(cell);
  if (v === null) throw new Error(`${what}: line ${line}, column '${column}': '${cell}' is not a number`);
  return v;
}

/** Decide which header columns are outputs and which are conditions. */
export function resolveColumns(header: string[], columns: CsvColumns, what: string): { lambda: number; outputs: number[]; conditions: number[] } {
  const lambdaName = columns.lambdaColumn ?? 'lambda';
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new Error(`${what}: column '${name}' appears twice in the header`);
    seen.add(name);
  }
  const lambda = header.indexOf(lambdaName);
  if (lambda < 0) throw new Error(`${what}: no '${lambdaName}' column in the header (${header.join(', ')})`);
  const rest = header.map((_, i) => i).filter((i) => i !== lambda);
  const find = (name: string, role: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${what}: ${role} column '${name}' is not in the header (${header.join(', ')})`);
    if (i === lambda) throw new Error(`${what}: '${name}' is the level column and cannot be a ${role} column`);
    return i;
  };
  let outputs = columns.outputs?.map((n) => find(n, 'output'));
  let conditions = columns.conditions?.map((n) => find(n, 'condition'));
  if (outputs && conditions) {
    const both = outputs.find((i) => conditions!.includes(i));
    if (both !== undefined) throw new Error(`${what}: column '${header[both]}' is named both as output and as condition`);
  } else if (outputs) {
    conditions = rest.filter((i) => !outputs!.includes(i));
  } else if (conditions) {
    outputs = rest.filter((i) => !conditions!.includes(i));
  } else if (columns.dim !== undefined) {
    const cond = columns.cond ?? rest.length - columns.dim;
    if (columns.dim + cond !== rest.length) {
      throw new Error(`${what}: D + C = ${columns.dim} + ${cond} = ${columns.dim + cond} does not match the ${rest.length} non-lambda columns`);
    }
    outputs = rest.slice(0, columns.dim);
    conditions = rest.slice(columns.dim);
  } else {
    throw new Error(`${what}: cannot tell output columns from condition columns; name them (--outputs/--conditions or 'outputs'/'conditions' in the sidecar) or give D and C`);
  }
  if (outputs!.length === 0) throw new Error(`${what}: no output columns`);
  return { lambda, outputs: outputs!, conditions: conditions! };
}

/** Parse long-form CSV text into levels. `what` names the source in messages. */
export function parseLongCsv(text: string, columns: CsvColumns, what = 'CSV'): LongCsv {
  const lines = parseCsvLines(text, what);
  if (lines.length === 0) throw new Error(`${what}: empty CSV (no header)`);
  const header = lines[0].cells;
  const { lambda, outputs, conditions } = resolveColumns(header, columns, what);
  if (lines.length === 1) throw new Error(`${what}: CSV has a header but no data rows`);
  const order = [...outputs, ...conditions];
  const groups = new Map<number, number[]>();
  for (let r = 1; r < lines.length; r++) {
    const { cells: row, line } = lines[r];
    if (row.length !== header.length) throw new Error(`${what}: line ${line} has ${row.length} columns, the header has ${header.length}`);
    const lam = cellNumber(row[lambda], line, header[lambda], what);
    if (!Number.isFinite(lam)) throw new Error(`${what}: line ${line}: λ value '${row[lambda]}' is not finite`);
    let group = groups.get(lam);
    if (!group) groups.set(lam, (group = []));
    for (const c of order) group.push(cellNumber(row[c], line, header[c], what));
  }
  const levels = [...groups.keys()].sort((a, b) => a - b);
  return {
    levels,
    data: levels.map((l) => Float32Array.from(groups.get(l)!)),
    outputs: outputs.map((i) => header[i]),
    conditions: conditions.map((i) => header[i]),
  };
}

/** A header row names every column: none of its cells is a number (a row with some is data, maybe with a typo). */
function isHeader(cells: string[]): boolean {
  return cells.length > 0 && cells.every((c) => c !== '' && parseNumberCell(c) === null);
}

/**
 * Parse a plain matrix of `width` numeric columns, as used for sampling inputs: an optional first
 * row of column names is skipped only when it is one (every cell a name), so a typo in the first
 * data row is an error naming its line, never a silently dropped row. Returns the row count and
 * the row-major values.
 */
export function parseRowsCsv(text: string, width: number, what = 'CSV'): { rows: number; data: Float32Array } {
  const lines = parseCsvLines(text, what);
  const start = lines.length > 0 && isHeader(lines[0].cells) ? 1 : 0;
  if (lines.length <= start) throw new Error(`${what}: no data rows`);
  if (start === 1 && lines[0].cells.length !== width) {
    throw new Error(`${what}: the header (line ${lines[0].line}) names ${lines[0].cells.length} columns, expected ${width}`);
  }
  const out = new Float32Array((lines.length - start) * width);
  for (let r = start; r < lines.length; r++) {
    const { cells: row, line } = lines[r];
    if (row.length !== width) throw new Error(`${what}: line ${line} has ${row.length} columns, expected ${width}`);
    const names = start === 1 ? lines[0].cells : null;
    for (let c = 0; c < width; c++) out[(r - start) * width + c] = cellNumber(row[c], line, names ? names[c] : String(c), what);
  }
  return { rows: lines.length - start, data: out };
}
