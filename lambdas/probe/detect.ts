/**
 * Is the primary down? Two pure decisions, no I/O:
 *
 * - `judgeRound`: did this round of probes fail, for the group, under its quorum?
 * - `advanceCounters`: given the counters kept between rounds, does this round make the primary down
 *   (failureThreshold consecutive failed rounds)?
 *
 * Each returns a reason sentence for the history record and the notification:
 *
 *   judgeRound(results, 'majority').reason
 *   // 'round failed: 2 of 3 probes failed (quorum majority): tcp 10.0.1.25:5432: connection refused; ...'
 *   advanceCounters(counters, verdict, Date.now(), 3).reason
 *   // 'primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)'
 */
import type { ProbeResult } from './check-endpoint';

export type Quorum = 'any' | 'majority' | 'all';

export interface RoundVerdict {
  failed: boolean;
  failedProbes: number;
  totalProbes: number;
  reason: string;
}

/**
 * A round fails when its quorum of probes fails: `any` one of them, a strict `majority` (2 of 3, 2 of
 * 2, 1 of 1, not 1 of 2), or `all`. A group without probes never fails a round.
 */
export function judgeRound(results: ProbeResult[], quorum: Quorum): RoundVerdict {
  const totalProbes = results.length;
  if (totalProbes === 0) return { failed: false, failedProbes: 0, totalProbes, reason: 'no probes configured' };

  const failures = results.filter((r) => !r.ok);
  const failedProbes = failures.length;
  const failed = quorumReached(failedProbes, totalProbes, quorum);
  const counted = `${failedProbes} of ${totalProbes} ${plural(totalProbes, 'probe')} failed (quorum ${quorum})`;

  if (failed) {
    const details = failures.map((r) => `${r.probe}: ${r.error ?? 'failed'}`).join('; ');
    return { failed, failedProbes, totalProbes, reason: `round failed: ${counted}: ${details}` };
  }
  if (failedProbes === 0) {
    const all = totalProbes === 1 ? 'the only probe answered' : `all ${totalProbes} probes answered`;
    return { failed, failedProbes, totalProbes, reason: `round passed: ${all}` };
  }
  return { failed, failedProbes, totalProbes, reason: `round passed: ${counted}` };
}

function quorumReached(failedProbes: number, totalProbes: number, quorum: Quorum): boolean {
  switch (quorum) {
    case 'any':
      return failedProbes >= 1;
    case 'majority':
      return failedProbes * 2 > totalProbes;
    case 'all':
      return failedProbes === totalProbes;
  }
}

/** What detection keeps between rounds (and invocations); times are epoch milliseconds. */
export interface ProbeCounters {
  consecutiveFailures: number;
  /** The first failed round of the current run of failures; null while healthy. */
  outageStartedAt: number | null;
  lastSuccessAt: number | null;
  /** The last round counted: a round at or before it is stale. */
  lastRoundAt: number | null;
}

/** The counters of a group that has never been probed. */
export const NO_COUNTERS: ProbeCounters = Object.freeze({
  consecutiveFailures: 0,
  outageStartedAt: null,
  lastSuccessAt: null,
  lastRoundAt: null,
});

export interface Detection {
  counters: ProbeCounters;
  /** True on every failed round at or past the threshold; cooldown and locking are the caller's. */
  declaredDown: boolean;
  reason: string;
}

/**
 * Count one round. `threshold` consecutive failed rounds declare the primary down; a passed round
 * resets the count. A round not after the last counted one (an overlapping invocation) changes nothing.
 */
export function advanceCounters(previous: ProbeCounters, verdict: RoundVerdict, roundAt: number, threshold: number): Detection {
  if (previous.lastRoundAt !== null && !(roundAt > previous.lastRoundAt)) {
    return {
      counters: previous,
      declaredDown: false,
      reason: `stale round ignored: round at ${iso(roundAt)} is not after the last counted round at ${iso(previous.lastRoundAt)}`,
    };
  }

  if (verdict.totalProbes === 0) {
    // Nothing was observed: no evidence of an outage, and none of health either.
    return {
      counters: { ...previous, consecutiveFailures: 0, outageStartedAt: null, lastRoundAt: roundAt },
      declaredDown: false,
      reason: 'no probes configured',
    };
  }

  if (!verdict.failed) {
    const ended = previous.consecutiveFailures;
    return {
      counters: { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: roundAt, lastRoundAt: roundAt },
      declaredDown: false,
      reason: ended > 0 ? `recovered after ${ended} failed ${plural(ended, 'round')}` : 'healthy',
    };
  }

  const consecutiveFailures = previous.consecutiveFailures + 1;
  const outageStartedAt = previous.consecutiveFailures > 0 && previous.outageStartedAt !== null ? previous.outageStartedAt : roundAt;
  const counters: ProbeCounters = { consecutiveFailures, outageStartedAt, lastSuccessAt: previous.lastSuccessAt, lastRoundAt: roundAt };
  if (consecutiveFailures >= threshold) {
    return {
      counters,
      declaredDown: true,
      reason: `primary down: ${consecutiveFailures} consecutive failed ${plural(consecutiveFailures, 'round')} since ${iso(outageStartedAt)} (threshold ${threshold})`,
    };
  }
  return { counters, declaredDown: false, reason: `${consecutiveFailures} of ${threshold} failed rounds toward the threshold` };
}

function plural(n: number, noun: string): string {
  return n === 1 ? noun : `${noun}s`;
}

function iso(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? String(epochMs) : date.toISOString();
}
