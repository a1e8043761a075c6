/**
 * The group's writers as the record shows them: one entry per EC2 instance and one for the old
 * database, from the fence results (or from the latest re-check, which read them all again).
 */
import type { DatabaseFenceResult, InstanceFence, Plan, WorkflowState, Writer } from './workflow-state';

/** The EC2 writer entry of an instance fence. */
export function instanceWriter(plan: Pick<Plan, 'group'>, i: InstanceFence): Writer {
  return { kind: 'ec2', id: i.id, region: plan.group.primary.region, state: i.state, fenced: i.fenced, method: i.method };
}

/**
 * The writer entry of the old database, from its fence result. A dry run fenced nothing: it is fenced
 * only if it was already down (`none`).
 */
export function databaseWriter(fence: DatabaseFenceResult): Writer {
  const fenced = fence.confirmed && fence.method !== 'attested' && (!fence.dryRun || fence.method === 'none');
  return { kind: 'rds', id: fence.id, region: fence.region, state: fence.status, fenced, method: fence.method };
}

/** Every writer with its last known state: the latest re-check if there was one, else the fences. */
export function writersOf(state: WorkflowState): Writer[] {
  if (state.verify?.writers?.length) return state.verify.writers;
  const instances = (state.fence?.instances ?? []).map((i) => instanceWriter(state.plan, i));
  return [...instances, ...(state.databaseFence ? [databaseWriter(state.databaseFence)] : [])];
}
