/**
 * TASK_STATES against the synthesized definition and the step modules: every Task state has an entry,
 * invokes its step's function, passes its action, and every action of every step is used.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { STEP_ACTIONS, STEPS } from '../../lambdas/steps';
import { TASK_STATES } from '../../lib/infra/workflow-states';
import { synthesizeController, type SynthesizedController } from '../../lib/runner/synth';
import { resolve } from 'node:path';
import { loadConfigFile } from '../../lambdas/core/config';

let synth: SynthesizedController;
beforeAll(() => {
  synth = synthesizeController(loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json')));
});

const taskStates = () => Object.entries(synth.definition.States as Record<string, any>).filter(([, s]) => s.Type === 'Task');

describe('TASK_STATES', () => {
  it('names every Task state of the definition, and nothing else', () => {
    expect(taskStates().map(([name]) => name).sort()).toEqual(Object.keys(TASK_STATES).sort());
  });

  it('each state invokes its step and passes its action', () => {
    for (const [name, state] of taskStates()) {
      const code = TASK_STATES[name as keyof typeof TASK_STATES];
      expect(synth.stepsByFunctionArn.get(state.Resource), name).toBe(code.step);
      expect(state.Parameters?.action, name).toBe('action' in code ? code.action : undefined);
      // The timeline reads each state's result where the state puts it.
      if (name !== 'Plan') expect(state.ResultPath, name).toBe(`$.${code.field}`);
    }
  });

  it('every action of every step is run by some state, and every step by some state', () => {
    const used = new Set(Object.values(TASK_STATES).map((c) => `${c.step}:${'action' in c ? c.action : ''}`));
    const expected = STEPS.flatMap((step) => (STEP_ACTIONS[step].length ? STEP_ACTIONS[step].map((a) => `${step}:${a}`) : [`${step}:`]));
    expect([...used].sort()).toEqual(expected.sort());
  });
});
