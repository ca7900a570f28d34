/**
 * What the CLI prints on stderr: every error and warning is exactly one line, whatever the user's
 * values hold (newlines, control characters, a 100 KB option value), so that it stays readable and
 * scripts can take the last line.
 */

/** Longest quoted value echoed in full; longer ones are shortened to their start and their length. */
const MAX_QUOTED = 80;
/** Longest line printed. */
const MAX_LINE = 600;

/** A long user value as its first characters and its length. */
export function clipValue(value: string): string {
  if (value.length <= MAX_QUOTED) return value;
  return `${value.slice(0, 40)}… (${value.length} characters)`;
}

/**
 * One printable line: control characters (newlines included) shown as escapes, long quoted values
 * shortened, and the whole capped in length.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  let s = text.trim().replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  s = s.replace(/'([^']{81,})'/g, (_m, v: string) => `'${clipValue(v)}'`);
  if (s.length > MAX_LINE) s = `${s.slice(0, MAX_LINE)}…`;
  return s;
}

/** Print an error line `hti: …`. */
export function printError(message: string): void {
  process.stderr.write(`hti: ${oneLine(message)}\n`);
}

/** Print a warning line `hti: warning: …` (the command goes on). */
export function printWarning(message: string): void {
  process.stderr.write(`hti: warning: ${oneLine(message)}\n`);
}
