/**
 * `hti export MODEL --onnx OUT.onnx`: a saved model as one ONNX graph (src/export/onnx.ts), written
 * atomically, for ONNX Runtime in Python, C++, the browser, ….
 */
import type { Command } from 'commander';
import { initEngine } from '../engine/index.js';
import { writeOnnx, ONNX_INPUT_LAMBDA, ONNX_INPUT_ROWS, ONNX_OUTPUT } from '../export/index.js';
import { loadModel } from '../methods/registry.js';

interface ExportCliOptions {
  onnx: string;
}

async function exportAction(modelDir: string, o: ExportCliOptions): Promise<void> {
  if (!/\.onnx$/i.test(o.onnx)) throw new Error(`--onnx must name an .onnx file, got '${o.onnx}'`);
  await initEngine();
  const model = loadModel(modelDir);
  try {
    const { dim, cond, anchors, method } = model.info;
    const width = dim + cond;
    const result = writeOnnx(model, o.onnx);
    const kb = (result.bytes.length / 1024).toFixed(0);
    process.stdout.write(
      `hti export: wrote ${o.onnx} (${kb} KB, ${method}, opset 17): ` +
        `${ONNX_INPUT_ROWS} [N, ${width}] float32 + ${ONNX_INPUT_LAMBDA} [1] or [N] float32 → ${ONNX_OUTPUT} [N, ${width}]; ` +
        `λ outside [${anchors[0]}, ${anchors[anchors.length - 1]}] is clamped\n`,
    );
  } finally {
    model.dispose();
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a saved model as one ONNX graph (rows [N, D+C] and lambda in, rows at λ out) for ONNX Runtime')
    .argument('<model>', 'model directory (from hti fit)')
    .requiredOption('--onnx <file>', 'output .onnx file (opset 17, IR version 8)')
    .action(exportAction);
}
