/**
 * The benchmark data that ships with hti (the repository's and the npm package's `data/` folder):
 * dropout_2moons and cancer_reward with their sidecars, the cancer PPO policies and the
 * simulator's reference traces. See data/README.md for where each file comes from.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package root>/data`, from the sources (src/data) and from the build (dist/data) alike. */
export function bundledDataDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'data');
}

/** A file inside the bundled data folder. */
export function bundledDataPath(...parts: string[]): string {
  return path.join(bundledDataDir(), ...parts);
}
