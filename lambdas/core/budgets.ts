/**
 * How long a failover of a group may take: the state machine's timeout and the lock's TTL derive from
 * the deployed groups' step timeouts. Used by the stack (the timeout) and the Plan step (the lock TTL).
 */
import type { GroupConfig } from './config';

/** The longest a live execution of this group can run: every step's timeout (the fences and their re-checks included), plus 15 minutes for retries and polls. */
export function executionBudgetSeconds(group: GroupConfig): number {
  const fence = Math.max(group.fence.timeoutSeconds, group.switchover.stopTimeoutSeconds);
  // The database fence, and the two re-checks of every fence (each may wait for a restarted instance).
  const writers = group.fence.databaseTimeoutSeconds + 2 * group.fence.timeoutSeconds;
  return fence + writers + group.switchover.lagTimeoutSeconds + group.promotion.timeoutSeconds + group.dns.syncTimeoutSeconds + 900;
}

/** The state machine's timeout: the longest budget of any deployed group. */
export function executionTimeoutSeconds(groups: GroupConfig[]): number {
  return Math.max(...groups.map(executionBudgetSeconds));
}

/**
 * How long the lock is held before another execution may take it over: five minutes longer than the
 * state machine lets any execution run, so only a dead (or timed-out) execution ever loses it.
 */
export function lockTtlSeconds(groups: GroupConfig[]): number {
  return executionTimeoutSeconds(groups) + 300;
}
