import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { initEngine } from '../engine/index.js';
import { loadModel } from '../methods/registry.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { createServer, isLoopback, type ReferenceData } from './index.js';
import { port, positiveInt } from '../cli/parsers.js';
import { addDataFlags, loadForModel, type DataFlags } from '../cli/data-flags.js';

export interface ServeOptions extends DataFlags {
  port: number;
  host: string;
  data?: string;
  bodyLimit?: number;
}

/** True samples to show beside the surrogate, read with the model's columns. */
function referenceFrom(file: string, model: TrajectoryModel, flags: DataFlags, modelDir: string): ReferenceData {
  const ds = loadForModel(file, model.info, flags, modelDir);
  return { levels: ds.levels, data: ds.data };
}

/** Load the model (and reference data), listen, and return the running server and its URL. */
export async function startServe(modelDir: string, options: ServeOptions): Promise<{ app: FastifyInstance; model: TrajectoryModel; url: string }> {
  await initEngine();
  const model = loadModel(modelDir);
  let app: FastifyInstance;
  try {
    if (!options.data && (options.meta || options.outputs || options.conditions)) throw new Error('--meta, --outputs and --conditions describe the --data file; give --data too');
    const reference = options.data ? referenceFrom(options.data, model, options, modelDir) : undefined;
    app = createServer(model, { reference, bodyLimit: options.bodyLimit });
    await app.listen({ port: options.port, host: options.host });
  } catch (err) {
    model.dispose();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${options.port} is already in use on ${options.host}; choose another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`cannot bind to host ${options.host}: no such address on this machine`);
    if (code === 'EACCES') throw new Error(`not allowed to listen on port ${options.port}; choose a port above 1023`);
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { app, model, url: `http://${host}:${port}/` };
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve a trained model: HTTP API (/api/model, /api/sample, /api/trajectory, /api/field) and the viewer page at /')
    .argument('<model>', 'model directory (from hti fit)')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <host>', 'address to bind; loopback unless you say otherwise', '127.0.0.1')
    .option('--data <file>', 'dataset whose true samples the viewer shows beside the surrogate (anchor and held-out levels)')
    .option('--body-limit <bytes>', 'largest request body accepted', positiveInt);
  addDataFlags(cmd, { forModel: true, what: 'the --data file' })
    .action(async (modelDir: string, options: ServeOptions) => {
      const { app, model, url } = await startServe(modelDir, options);
      process.stdout.write(`hti serve: ${model.info.kind} (${model.info.method}), λ ∈ [${model.info.anchors[0]}, ${model.info.anchors[model.info.anchors.length - 1]}] at ${url}  (Ctrl-C stops)\n`);
      if (!isLoopback(options.host)) {
        process.stderr.write(`hti serve: warning: bound to ${options.host}, reachable from other machines; the API has no authentication\n`);
      }
      const stop = () => {
        void app.close().finally(() => {
          model.dispose();
          process.exit(0);
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
