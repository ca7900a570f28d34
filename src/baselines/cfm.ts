/**
 * CFM baseline (conditional flow matching, Lipman et al. 2023; OT pairing as in Tong et al. 2024):
 * straight-line interpolants between rows of adjacent anchors paired by exact OT within each
 * condition, a velocity field v(y, t | x) regressed on their constant velocity, and RK4 sampling
 * from the first anchor.
 */
import type { Dataset } from '../data/dataset.js';
import type { TrajectoryModel } from '../surrogate/model.js';
import { finishFlow, prepareFlow, trainVelocity, type FlowOptions } from './flow.js';

export type CfmOptions = FlowOptions;

export async function fitCfm(train: Dataset, options: CfmOptions = {}): Promise<TrajectoryModel> {
  const setup = await prepareFlow(train, 'cfm', options);
  const v = trainVelocity(setup, options, options.onProgress);
  return finishFlow(setup, v.net, {
    seed: options.seed ?? 0,
    ...v.summary,
    stepsPerUnit: setup.config.stepsPerUnit,
    equalSpacing: setup.config.equalSpacing,
  });
}
