/**
 * hti — Hyperparameter Trajectory Inference with Conditional Lagrangian Optimal Transport.
 *
 *   import { initEngine, loadDataset, anchorDataset, fitModel, loadModel } from 'hti';
 *   await initEngine();
 *   const data = loadDataset('outputs.npy');              // + outputs.json sidecar
 *   const model = await fitModel('full', anchorDataset(data), { seed: 0 });
 *   const rows = model.sample(data.data[0], 0.3);          // rows at the first anchor pushed to λ = 0.3
 *   await model.save('model');                             // config.json + weights.safetensors
 */
export { initEngine, backendName, Rng } from './engine/index.js';
export type { BackendName } from './engine/index.js';
export * from './data/index.js';
export {
  fitClot,
  loadClot,
  ClotSurrogate,
  CLOT_PRESETS,
  CLOT_DEFAULTS,
  PRESET_SETTINGS,
  checkLambda,
  checkRows,
  readModelDir,
  writeModelDir,
  MODEL_FORMAT_VERSION,
} from './surrogate/index.js';
export type { ClotOptions, ClotPreset, TrajectoryModel, ModelInfo, ModelKind, FitProgress, ProgressHook, CommonFitOptions } from './surrogate/index.js';
export { METHODS, BASELINES, fitModel, loadModel } from './methods/index.js';
export type { FitModelOptions } from './methods/index.js';
export { fitDirect, fitCfm, fitMfm } from './baselines/index.js';
export { exportOnnx, writeOnnx, onnxMetadata, ONNX_OPSET, ONNX_IR_VERSION } from './export/index.js';
export type { OnnxExport } from './export/index.js';
export type { SamplingGraph } from './surrogate/index.js';
export * as evaluation from './eval/index.js';
/** The cancer-treatment simulator (SciPy-exact RK23 port) and the PPO actors of the closed-loop benchmark. */
export * as sim from './sim/index.js';
export { createServer } from './server/index.js';
export * as families from './families/index.js';
