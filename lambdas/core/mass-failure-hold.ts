/**
 * The mass-failure hold as the store keeps it (lambdas/probe/run-probes.ts opens, refreshes and ends
 * it; detect.ts, MASS_FAILURE, says when): one item that says automatic failovers are held because
 * many groups' probes failed the same round, so the controller itself may be cut off. Read by the
 * workflow for alarm triggers and by `failoverctl status`.
 */
import type { ProbeState } from './store';

/** The store key of the mass-failure hold: not a valid group name, so it never meets a group's. */
export const HOLD_KEY = '#mass-failure-hold';

/**
 * While a hold lasts, the probe function that sees it go on rewrites the hold item's last round this
 * often (one write a minute a shard, only during a hold), so that a reader can tell a hold that lasts
 * from one nobody is left to end (the probe function stopped, its groups removed).
 */
export const HOLD_REFRESH_MS = 60_000;

/** A hold whose last round is older than this is no longer in force: two refreshes missed, and a margin. */
export const HOLD_LIVE_MS = 2 * HOLD_REFRESH_MS + 30_000;

/**
 * Is the hold in force at `now`? Its reason, with when it opened, or undefined:
 *
 *   holdInForce(await store.getProbeState(HOLD_KEY), Date.now())
 *   // 'automatic failovers held since 2026-01-01T00:00:10.000Z: 4 of 4 groups failed the same round (...)'
 */
export function holdInForce(hold: Pick<ProbeState, 'outageStartedAt' | 'lastRoundAt' | 'lastRound'> | undefined, now: number): string | undefined {
  if (!hold || hold.outageStartedAt === null || hold.lastRoundAt === null || now - hold.lastRoundAt > HOLD_LIVE_MS) return undefined;
  const why = (hold.lastRound?.reason ?? 'many groups failed the same round').replace(/^automatic failovers held: /, '');
  return `automatic failovers held since ${new Date(hold.outageStartedAt).toISOString()}: ${why}`;
}
