/**
 * Every workflow step by name: what each Lambda handler calls with its deployed clients, and what the
 * drill calls in-process with the simulated account's.
 */
import type { StepDeps } from '../runtime/deps';
import * as acquireLock from './acquire-lock';
import * as assessReplica from './assess-replica';
import * as catchUp from './catch-up';
import * as confirmOutage from './confirm-outage';
import * as fenceDatabase from './fence-database';
import * as fencePrimary from './fence-primary';
import * as flipDns from './flip-dns';
import * as notify from './notify';
import * as plan from './plan';
import * as promoteReplica from './promote-replica';
import * as recordOutcome from './record-outcome';
import * as verifyFences from './verify-fences';

export const STEP_RUNNERS = {
  plan: plan.run,
  'acquire-lock': acquireLock.run,
  'confirm-outage': confirmOutage.run,
  'assess-replica': assessReplica.run,
  'fence-primary': fencePrimary.run,
  'fence-database': fenceDatabase.run,
  'verify-fences': verifyFences.run,
  'catch-up': catchUp.run,
  'promote-replica': promoteReplica.run,
  'flip-dns': flipDns.run,
  notify: notify.run,
  'record-outcome': recordOutcome.run,
} as const;

export type StepName = keyof typeof STEP_RUNNERS;

/** The actions of the steps that serve several states (the event's `action`); the others serve one state with no action. */
export const STEP_ACTIONS: Record<StepName, readonly string[]> = {
  plan: [],
  'acquire-lock': [],
  'confirm-outage': [],
  'assess-replica': [],
  'fence-primary': Object.keys(fencePrimary.ACTIONS),
  'fence-database': Object.keys(fenceDatabase.ACTIONS),
  'verify-fences': Object.keys(verifyFences.ACTIONS),
  'catch-up': Object.keys(catchUp.ACTIONS),
  'promote-replica': Object.keys(promoteReplica.ACTIONS),
  'flip-dns': Object.keys(flipDns.ACTIONS),
  notify: [],
  'record-outcome': [],
};
export const STEPS = Object.keys(STEP_RUNNERS) as StepName[];

/** Run a step by name (the drill's way in; each Lambda calls its own step directly). */
export function runStep(step: StepName, event: unknown, deps: StepDeps): Promise<unknown> {
  return (STEP_RUNNERS[step] as (event: unknown, deps: StepDeps) => Promise<unknown>)(event, deps);
}
