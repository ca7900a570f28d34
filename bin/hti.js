#!/usr/bin/env node
// The CLI lives in src/cli; `serve` comes from src/server, a layer above it, so it is wired here.
import { main } from '../dist/cli/main.js';
import { printError } from '../dist/cli/messages.js';
import { registerServe } from '../dist/server/command.js';

main(process.argv, [registerServe]).then(
  (code) => { process.exitCode = code; },
  (err) => { printError(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
