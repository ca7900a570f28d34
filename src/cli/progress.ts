/**
 * Fit progress for the terminal: a live bar (cli-progress) when the stream is a TTY, plain lines
 * every few seconds otherwise (logs, CI, pipes). Both show phase, step, losses, elapsed and ETA.
 */
import cliProgress from 'cli-progress';
import type { FitProgress } from '../surrogate/progress.js';

/** Seconds as a short duration: 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Losses as `name=value` pairs in 4 significant digits. */
export function formatLosses(losses: Record<string, number>): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k}=${Number.isFinite(v) ? Number(v.toPrecision(4)) : String(v)}`)
    .join(' ');
}

/**
 * Remaining seconds of the current phase, from its pace so far: the phase started at
 * (`startStep`, `startElapsed`). NaN until two reports of the phase have arrived.
 */
export function phaseEta(p: FitProgress, startStep: number, startElapsed: number): number {
  const done = p.step - startStep;
  if (done <= 0 || p.total <= p.step) return p.total <= p.step ? 0 : NaN;
  return ((p.elapsedSeconds - startElapsed) / done) * (p.total - p.step);
}

/** One plain progress line. */
export function formatProgressLine(p: FitProgress, eta: number): string {
  const losses = formatLosses(p.losses);
  const etaText = Number.isFinite(eta) ? formatDuration(eta) : '?';
  return `${p.phase} ${p.step}/${p.total}${losses ? ' ' + losses : ''} | ${formatDuration(p.elapsedSeconds)} elapsed, phase ETA ${etaText}`;
}

export interface ProgressDisplayOptions {
  /** Where to draw (default: stderr, so that stdout stays machine-readable). */
  stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Force bar (true) or plain lines (false); default: whether the stream is a TTY. */
  tty?: boolean;
  /** Plain mode: at most one line per this many seconds within a phase (default 5). */
  intervalSeconds?: number;
}

/** Turns a fit's progress reports into a bar or plain lines. */
export class ProgressDisplay {
  private readonly stream: NodeJS.WritableStream;
  private readonly tty: boolean;
  private readonly interval: number;
  private multibar: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;
  private phase: string | null = null;
  private phaseStart = { step: 0, elapsed: 0 };
  private lastLineAt = -Infinity;
  private last: FitProgress | null = null;

  constructor(options: ProgressDisplayOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean((this.stream as NodeJS.WriteStream).isTTY);
    this.interval = options.intervalSeconds ?? 5;
  }

  readonly update = (p: FitProgress): void => {
    if (p.phase !== this.phase) {
      if (this.last && this.tty) this.log(`done: ${formatProgressLine(this.last, 0)}`);
      this.phase = p.phase;
      this.phaseStart = { step: p.step, elapsed: p.elapsedSeconds };
      this.lastLineAt = -Infinity;
    }
    if (p.message) this.log(`${p.phase}: ${p.message}`);
    // A report with no losses (e.g. a rollback notice) keeps the last numbers on screen.
    const shown = Object.keys(p.losses).length || !this.last ? p : { ...p, losses: this.last.losses };
    this.last = shown;
    const eta = phaseEta(shown, this.phaseStart.step, this.phaseStart.elapsed);
    if (this.tty) this.draw(shown, eta);
    else if (p.elapsedSeconds - this.lastLineAt >= this.interval) {
      // First report of each phase, then one line per interval.
      this.stream.write(formatProgressLine(shown, eta) + '\n');
      this.lastLineAt = p.elapsedSeconds;
    }
  };

  private draw(p: FitProgress, eta: number): void {
    const payload = {
      phase: p.phase,
      losses: formatLosses(p.losses),
      elapsedText: formatDuration(p.elapsedSeconds),
      etaText: Number.isFinite(eta) ? formatDuration(eta) : '?',
    };
    if (!this.multibar) {
      this.multibar = new cliProgress.MultiBar(
        {
          stream: this.stream,
          format: '{phase} [{bar}] {value}/{total} {losses} | {elapsedText} elapsed, phase ETA {etaText}',
          barsize: 20,
          hideCursor: true,
          clearOnComplete: true,
          stopOnComplete: false,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multibar.create(p.total, p.step, payload);
      return;
    }
    this.bar!.setTotal(p.total);
    this.bar!.update(p.step, payload);
  }

  private log(text: string): void {
    if (this.multibar) this.multibar.log(text + '\n');
    else this.stream.write(text + '\n');
  }

  /** Remove the bar (TTY) so that what follows starts on a clean line. */
  stop(): void {
    this.multibar?.stop();
    this.multibar = null;
    this.bar = null;
  }
}
