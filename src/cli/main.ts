import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerInfo } from './info.js';
import { registerPlot } from './plot.js';
import { registerFit } from './fit.js';
import { registerSample } from './sample.js';
import { registerBench } from './bench.js';
import { registerEval } from './eval.js';
import { registerFamily } from './family.js';
import { oneLine, printError } from './messages.js';
import { registerExport } from './export.js';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string; description: string };

/** A user-facing error: printed as one line `hti: message`, exit code 1. */
export class UsageError extends Error {}

/** Registers further commands from layers above the CLI (the server's `serve`). */
export type CommandRegistrar = (program: Command) => void;

export function buildProgram(extra: CommandRegistrar[] = []): Command {
  const program = new Command();
  program
    .name('hti')
    .description(pkg.description)
    .version(pkg.version, '-V, --version')
    // A usage error is one line, like every other error: commander's message and where help is.
    .configureOutput({ outputError: (text, write) => write(`hti: ${oneLine(text.replace(/^error: /, ''))} (run hti --help for usage)\n`) })
    .exitOverride();
  registerInfo(program);
  registerPlot(program);
  registerFit(program);
  registerSample(program);
  registerBench(program);
  registerEval(program);
  registerExport(program);
  registerFamily(program);
  for (const register of extra) register(program);
  return program;
}

/** Run the CLI; resolves to the process exit code (0 ok, 1 bad input, 2 bad usage). */
export async function main(argv: string[], extra: CommandRegistrar[] = []): Promise<number> {
  const program = buildProgram(extra);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    printError(err instanceof Error ? err.message : String(err));
    return 1;
  }
}
