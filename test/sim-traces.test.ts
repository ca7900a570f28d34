// The TypeScript simulator against step-by-step traces of the original Python one (DTRGym's
// GhaffariCancerEnv with SciPy's RK23, noise-free): the λ = 0 and λ = 10 policies run
// deterministically, a constant action and no treatment. Every day must take the same accepted
// integrator steps and land on the same observation; the worst deviations are printed.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledDataPath } from '../src/data/bundled.js';
import { CancerEnv, DEFAULT_INITIAL_STATE, DEFAULT_PARAMETERS, DEFAULT_TAU, NOISE_FREE, loadPolicy, type CancerParameters } from '../src/sim/index.js';

interface TraceStep {
  t: number;
  obs: number[];
  action: number[];
  next_state: number[];
  next_obs: number[];
  reward: number;
  nk_penalty: number;
  terminated: boolean;
  truncated: boolean;
  rk23_steps: number;
}

interface Traces {
  initial_state: number[];
  tau: number;
  parameters: Record<string, number>;
  scenarios: Record<string, TraceStep[]>;
}

const traces = JSON.parse(fs.readFileSync(bundledDataPath('cancer_env', 'reference_traces.json'), 'utf8')) as Traces;

/** The action a scenario's controller takes at an observation. */
function controller(name: string): (obs: Float32Array) => number[] {
  const m = /^policy_lambda(\d+)_deterministic$/.exec(name);
  if (m) {
    const policy = loadPolicy(bundledDataPath('cancer_policies', `policy_lambda${m[1]}.safetensors`));
    return (obs) => Array.from(policy.act(obs));
  }
  if (name === 'constant_action_2_4') return () => [2, 4];
  if (name === 'no_treatment') return () => [0, 0];
  throw new Error(`unknown scenario ${name}`);
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

describe('cancer simulator vs the reference traces', () => {
  it('the trace file uses our defaults (parameters, initial state, τ)', () => {
    const { K_2C: _unused, ...used } = DEFAULT_PARAMETERS as CancerParameters;
    for (const [k, v] of Object.entries(used)) expect(traces.parameters[k], k).toBe(v);
    expect(traces.initial_state).toEqual([...DEFAULT_INITIAL_STATE]);
    expect(traces.tau).toBe(DEFAULT_TAU);
  });

  const worst = { obs: 0, state: 0, action: 0, reward: 0, nk: 0, ret: 0 };
  let stepMismatches = 0;
  let days = 0;

  for (const [name, steps] of Object.entries(traces.scenarios)) {
    it(`${name}: ${steps.length} days, same ending, next_obs within 1e-3, same RK23 step counts`, () => {
      const act = controller(name);
      const env = new CancerEnv({ noise: NOISE_FREE });
      let obs = env.reset(0);
      let ret = 0;
      let refRet = 0;
      const last = steps[steps.length - 1];
      for (const ref of steps) {
        expect(env.done).toBe(false);
        // Observation before the action: exact float32 agreement expected, 1e-3 required.
        for (let i = 0; i < 7; i++) expect(Math.abs(obs[i] - ref.obs[i])).toBeLessThanOrEqual(1e-3);
        const action = act(obs);
        for (let j = 0; j < 2; j++) worst.action = Math.max(worst.action, Math.abs(action[j] - ref.action[j]));
        const r = env.step(action);
        for (let i = 0; i < 7; i++) worst.obs = Math.max(worst.obs, Math.abs(r.obs[i] - ref.next_obs[i]));
        for (let i = 0; i < 11; i++) worst.state = Math.max(worst.state, relative(r.state[i], ref.next_state[i]) * (ref.next_state[i] === 0 && r.state[i] === 0 ? 0 : 1));
        worst.reward = Math.max(worst.reward, Math.abs(r.reward - ref.reward));
        worst.nk = Math.max(worst.nk, Math.abs(r.nkPenalty - ref.nk_penalty));
        for (let i = 0; i < 7; i++) expect(Math.abs(r.obs[i] - ref.next_obs[i]), `day ${ref.t} obs ${i}`).toBeLessThanOrEqual(1e-3);
        expect(r.terminated, `day ${ref.t}`).toBe(ref.terminated);
        expect(r.truncated, `day ${ref.t}`).toBe(ref.truncated);
        if (r.rk23Steps !== ref.rk23_steps) stepMismatches++;
        days++;
        ret += r.reward;
        refRet += ref.reward;
        obs = r.obs;
      }
      expect(env.done).toBe(true);
      expect(env.t).toBe(steps.length);
      const kind = last.truncated ? 'truncated' : last.reward > 50 ? 'positive' : 'negative';
      expect(kind).toBe(name === 'no_treatment' ? 'truncated' : 'positive');
      worst.ret = Math.max(worst.ret, relative(ret, refRet));
      expect(relative(ret, refRet)).toBeLessThanOrEqual(1e-3);
      // An exact port takes the same accepted steps every day.
      expect(stepMismatches).toBe(0);
    });
  }

  it('reports the worst deviations', () => {
    console.log(
      `[sim traces] ${days} days: max |Δ next_obs| ${worst.obs.toExponential(2)}, max rel Δ state ${worst.state.toExponential(2)}, ` +
        `max |Δ action| ${worst.action.toExponential(2)}, max |Δ reward| ${worst.reward.toExponential(2)}, max |Δ nk| ${worst.nk.toExponential(2)}, ` +
        `max rel Δ return ${worst.ret.toExponential(2)}, RK23 step-count mismatches ${stepMismatches}`,
    );
    expect(days).toBe(327);
    expect(worst.obs).toBeLessThanOrEqual(1e-3);
  });
});
