/**
 * How long a failover of a group may take: the state machine's timeout and the lock's TTL derive from
 * the deployed groups' step timeouts. Used by the stack (the timeout) and the Plan step (the lock TTL);
 * the steps' own Lambda timeout is here too, since the config check holds probe timeouts against it.
 */
import type { GroupConfig } from './config';

/** Every workflow step's Lambda timeout (lib/infra/workflow.ts), the confirmation step's included. */
export const STEP_TIMEOUT_SECONDS = 30;

/**
 * What the confirmation step keeps of its Lambda timeout for work other than probing. It runs all of a
 * group's probes at once (checkAll), each bounded by its timeoutMs from before the DNS lookup to the
 * body read, so probing takes the longest timeoutMs plus event-loop lag. The margin covers that lag (a
 * 256 MB function has about 0.14 vCPU for up to 20 TLS handshakes), the handler's logging and judging,
 * and returning the result. A cold start's Init runs before the invocation and outside its timeout
 * (Lambda Developer Guide, "Lambda execution environment": the function timeout limits the Invoke phase).
 */
export const CONFIRM_STEP_MARGIN_SECONDS = 5;

/** The longest probe timeoutMs the confirmation step can wait out: 25000 ms today. */
export const CONFIRM_PROBE_TIMEOUT_MAX_MS = (STEP_TIMEOUT_SECONDS - CONFIRM_STEP_MARGIN_SECONDS) * 1000;

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
