/**
 * When an automatic trigger (probe or alarm) may not fail a group over: the group is PAUSED, has
 * already failed over (FAILED_OVER, until an operator re-arms it with a config describing the new
 * topology), or failed over less than its cooldown ago. A manual trigger is never blocked here.
 * Returns the reason sentence, or undefined when the trigger may proceed.
 */
import type { GroupConfig } from './config';
import type { GroupState } from './store';
import type { TriggerType } from './workflow-state';

export function automaticTriggerBlocked(
  group: Pick<GroupConfig, 'name' | 'detection'>,
  trigger: TriggerType,
  state: GroupState | undefined,
  nowMs: number,
): string | undefined {
  if (trigger === 'manual' || !state) return undefined;
  if (state.status === 'PAUSED') {
    return `skipping: ${group.name} is PAUSED${state.reason ? ` (${state.reason})` : ''}; automatic triggers are ignored`;
  }
  if (state.status === 'FAILED_OVER') {
    return `skipping: ${group.name} already failed over to ${state.primary?.id ?? 'its replica'}; automatic triggers are ignored until it is re-armed`;
  }
  const last = state.lastFailover ? Date.parse(state.lastFailover.at) : NaN;
  if (nowMs - last < group.detection.cooldownMinutes * 60_000) {
    return `skipping: ${group.name} failed over at ${state.lastFailover!.at}, within the ${group.detection.cooldownMinutes} min cooldown`;
  }
  return undefined;
}
