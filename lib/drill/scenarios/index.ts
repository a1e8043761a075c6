/**
 * The drill scenarios: each sets up the simulated account, starts the real workflow, and states what
 * the controller must have done, checked against the resources' final state, the history and the
 * writes each database accepted. basic.ts holds the first round's; writers.ts the fencing of every
 * writer (never two writers); lag.ts replica lag as RDS reports it and several candidate replicas;
 * readiness.ts the drift the readiness evaluation must find before an outage; security.ts what an
 * attacker with access to the table might forge; vantage.ts the confirmation from a second vantage point;
 * region.ts a control plane or a whole region gone.
 */
import { BASIC_SCENARIOS } from './basic';
import { DETECTION_SCENARIOS } from './detection';
import type { Scenario } from './kit';
import { LAG_SCENARIOS } from './lag';
import { READINESS_SCENARIOS } from './readiness';
import { REGION_SCENARIOS } from './region';
import { SECURITY_SCENARIOS } from './security';
import { VANTAGE_SCENARIOS } from './vantage';
import { WRITER_SCENARIOS } from './writers';

export type { Expectation, ReadinessExpectation, Scenario, ScenarioOptions } from './kit';

export const SCENARIOS: Scenario[] = [...BASIC_SCENARIOS, ...WRITER_SCENARIOS, ...LAG_SCENARIOS, ...READINESS_SCENARIOS, ...SECURITY_SCENARIOS, ...VANTAGE_SCENARIOS, ...REGION_SCENARIOS, ...DETECTION_SCENARIOS];

export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new Error(`unknown scenario ${JSON.stringify(name)}; known scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return scenario;
}
