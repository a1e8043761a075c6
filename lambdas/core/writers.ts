/**
 * The group's writers as the record shows them: one entry per EC2 instance and one for the old
 * database, from the fence results (or from the latest re-check, which read them all again).
 */
import type { GroupConfig } from './config';
import { InvalidInput } from './errors';
import type { DatabaseFenceResult, FenceResult, InstanceFence, WorkflowState, Writer } from './workflow-state';

/** The instance ids of the group's EC2 writers, the primary first. */
export const writerInstanceIds = (group: Pick<GroupConfig, 'primary'>) => [group.primary.instanceId, ...(group.primary.additionalInstanceIds ?? [])];

/**
 * The fence's entry for each of the deployed group's EC2 writers, in config order. What an entry says
 * (state, method, isolation, stops) is the fence's observation and comes from the event; which
 * instances there are comes from the deployed group: an entry for any other instance, or a writer
 * without one, is refused (InvalidInput), so no step acts on an instance the group does not name.
 */
export function fencedInstances(group: Pick<GroupConfig, 'name' | 'primary'>, fence: Pick<FenceResult, 'instances'> | undefined): InstanceFence[] {
  const ids = writerInstanceIds(group);
  const entries = fence?.instances ?? [];
  const unknown = entries.filter((i) => !ids.includes(i.id)).map((i) => i.id);
  const missing = ids.filter((id) => !entries.some((i) => i.id === id));
  if (unknown.length > 0 || missing.length > 0) {
    throw new InvalidInput(
      `fence.instances: ${[
        unknown.length > 0 ? `${unknown.map((id) => JSON.stringify(id)).join(', ')} ${unknown.length === 1 ? 'is no writer' : 'are no writers'} of ${group.name}` : '',
        missing.length > 0 ? `no entry for ${missing.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')} (its writers: ${ids.join(', ')}); not acting on them`,
    );
  }
  return ids.map((id) => ({ ...entries.find((i) => i.id === id)!, id }));
}

/** The EC2 writer entry of an instance fence (in the deployed group's primary region). */
export function instanceWriter(group: Pick<GroupConfig, 'primary'>, i: InstanceFence): Writer {
  return { kind: 'ec2', id: i.id, region: group.primary.region, state: i.state, fenced: i.fenced, method: i.method };
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
export function writersOf(state: WorkflowState, group: Pick<GroupConfig, 'primary'>): Writer[] {
  if (state.verify?.writers?.length) return state.verify.writers;
  const instances = (state.fence?.instances ?? []).map((i) => instanceWriter(group, i));
  return [...instances, ...(state.databaseFence ? [databaseWriter(state.databaseFence)] : [])];
}
