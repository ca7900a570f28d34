// tfjs-core ships its gradient functions only as extensionless ES modules, which Node cannot load
// directly. Bundle them once into one file; they register into tfjs's global gradient registry,
// which the engine shares with the package's CommonJS build.
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const coreDir = path.dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
buildSync({
  entryPoints: [path.join(coreDir, 'dist/register_all_gradients.js')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'vendor', 'tfjs-gradients.mjs'),
  logLevel: 'warning',
});
