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
 *   advanceCounters(counters, verdict, Date.now(), 3, 10_000).reason
 *   // 'primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)'
 */
import { createHash } from 'node:crypto';
import type { ProbeResult } from './check-endpoint';

export type Quorum = 'any' | 'majority' | 'all';

export interface RoundVerdict {
  failed: boolean;
  /**
   * Set when the round says nothing about the primary (the prober could not run it properly): it counts
   * neither as a failure nor as a success. The reason says why.
   */
  void?: string;
  failedProbes: number;
  totalProbes: number;
  reason: string;
}

/**
 * A round fails when its quorum of probes fails: `any` one of them, a strict `majority` (2 of 3, 2 of
 * 2, 1 of 1, not 1 of 2), or `all`. A group without probes never fails a round. A probe that failed for
 * the prober's own reason (voidReason) says nothing about the primary: the round is void only when
 * those probes could have decided it either way, not when the others decide it alone.
 */
export function judgeRound(results: ProbeResult[], quorum: Quorum): RoundVerdict {
  const totalProbes = results.length;
  if (totalProbes === 0) return { failed: false, failedProbes: 0, totalProbes, reason: 'no probes configured' };

  const own = results.filter((r) => r.voidReason !== undefined);
  const failures = results.filter((r) => !r.ok && r.voidReason === undefined);
  const failedProbes = failures.length;
  const failed = quorumReached(failedProbes, totalProbes, quorum);
  const ownDetails = own.map((r) => `${r.probe}: ${r.voidReason}`).join('; ');
  if (own.length > 0 && !failed && quorumReached(failedProbes + own.length, totalProbes, quorum)) {
    return { failed: false, failedProbes, totalProbes, void: `round void: the prober's own fault, not the primary's: ${ownDetails}`, reason: `round void: ${ownDetails}` };
  }
  const counted = `${failedProbes} of ${totalProbes} ${plural(totalProbes, 'probe')} failed (quorum ${quorum})`;
  // Decided by the other probes alone: the prober's own failures are named, not counted.
  const aside = own.length > 0 ? `; not counted, the prober's own fault: ${ownDetails}` : '';

  if (failed) {
    const details = failures.map((r) => `${r.probe}: ${r.error ?? 'failed'}`).join('; ');
    return { failed, failedProbes, totalProbes, reason: `round failed: ${counted}: ${details}${aside}` };
  }
  if (failedProbes === 0 && own.length === 0) {
    const all = totalProbes === 1 ? 'the only probe answered' : `all ${totalProbes} probes answered`;
    return { failed, failedProbes, totalProbes, reason: `round passed: ${all}` };
  }
  return { failed, failedProbes, totalProbes, reason: `round passed: ${counted}${aside}` };
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

/**
 * A round of a whole invocation is void when the function itself could not keep time: it began the
 * round `lateMs` after its scheduled time, or the round's probes ended after the next round was due.
 * Either means the event loop was starved (CPU) or the previous round overran, and a probe that
 * "timed out" may only have waited for the prober. `null`: the round is sound.
 */
export function roundTiming(lateMs: number, overranMs: number, toleranceMs: number): string | null {
  if (lateMs > toleranceMs) return `round void: it began ${Math.round(lateMs)} ms late (tolerance ${toleranceMs} ms): the probe function was overloaded`;
  if (overranMs > 0) return `round void: it ran ${Math.round(overranMs)} ms into the next round: the probe function was overloaded`;
  return null;
}

/**
 * When should many groups failing in the same round be held rather than failed over?
 *
 * The groups' primaries are independent machines: in a healthy estate, two of them failing in the same
 * 10 s round is rare, and half of them failing together has one likely cause, a cause they share with
 * the controller and not with each other: the probe function's own network path (its VPC, NAT, DNS
 * resolver, a security-group change) or the function itself. Failing all of them over would turn the
 * controller's own partition into an estate-wide outage, fencing primaries that were serving. So: when
 * at least `minGroups` groups AND at least `share` of the groups judged in the round failed, automatic
 * failovers are held. `minGroups` keeps small deployments out of it: with 1 or 2 groups, "half of them"
 * is one outage, which must fail over. A real event that takes down half of the primaries at once (an
 * AZ where they all run) is held too, on purpose: the notification tells on-call, who can fail over by
 * hand (`failoverctl failover`), which still runs.
 */
export const MASS_FAILURE = { minGroups: 3, share: 0.5 } as const;

export interface MassFailure {
  hold: boolean;
  reason: string;
}

/** Did a large share of the groups judged in one round fail it? Void rounds are neither. */
export function massFailure(failedGroups: number, judgedGroups: number, rule: { minGroups: number; share: number } = MASS_FAILURE): MassFailure {
  const counted = `${failedGroups} of ${judgedGroups} ${plural(judgedGroups, 'group')} failed the same round`;
  if (judgedGroups > 0 && failedGroups >= rule.minGroups && failedGroups >= rule.share * judgedGroups) {
    return {
      hold: true,
      reason: `automatic failovers held: ${counted} (at least ${rule.minGroups} and ${Math.round(rule.share * 100)} % hold them): the controller itself may be cut off from the primaries`,
    };
  }
  return { hold: false, reason: counted };
}

/** What detection keeps between rounds (and invocations); times are epoch milliseconds. */
export interface ProbeCounters {
  consecutiveFailures: number;
  /** The first failed round of the current run of failures; null while healthy. */
  outageStartedAt: number | null;
  lastSuccessAt: number | null;
  /** The last round counted: a round at or before it is stale. */
  lastRoundAt: number | null;
  /**
   * The probe settings (probesKey) of the last passed round. Absent in counters stored before it was
   * kept: their pass is taken as the current settings' (an upgrade must not stop real failovers).
   */
  passedWith?: string;
  /**
   * The latest round after lastRoundAt that counted neither way (void, begun late, or its counters could
   * not be read or written), next to an open run of failures: failures on either side of it are still
   * consecutive. Stored with the counters (run-probes.ts, bridge), so that another environment counts on it.
   */
  bridgedAt?: number;
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
  /**
   * Set with declaredDown when the probes, as configured now, have never passed: this controller has
   * never seen the primary healthy, so it cannot tell an outage from probes that never could pass.
   * The caller reports the outage and does not fail over automatically.
   */
  unproven?: string;
  reason: string;
}

/**
 * What a pass is evidence for: the group's probes and quorum, as a short digest. A failure counts
 * against the primary only once the same settings have passed: a probe added with a wrong URL, port
 * or expected status (or a quorum made stricter) would otherwise fail a healthy primary's rounds and
 * fail it over, fencing a primary that was serving.
 */
export function probesKey(group: { probes: readonly unknown[]; detection: { quorum: Quorum } }): string {
  const cached = keys.get(group);
  if (cached) return cached;
  const key = createHash('sha256').update(canonicalJson({ probes: group.probes, quorum: group.detection.quorum })).digest('hex').slice(0, 16);
  keys.set(group, key);
  return key;
}

// The probe function's groups are the same objects in every round: digest each once.
const keys = new WeakMap<object, string>();

/** JSON with each object's keys sorted: the same settings give the same text whatever their order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Have the probes, with the settings `probes` (probesKey), passed a round? Undefined when they have;
 * else what they have not done, for a sentence about them:
 *
 *   probesNotPassed({ lastSuccessAt: null }, key) // 'never passed'
 *
 * Without `probes`, only whether anything passed. Counters stored before the settings were kept
 * (no passedWith) count as passed with the current ones.
 */
export function probesNotPassed(counters: Pick<ProbeCounters, 'lastSuccessAt' | 'passedWith'> | undefined, probes?: string): string | undefined {
  if (!counters || counters.lastSuccessAt === null) return 'never passed';
  if (probes !== undefined && counters.passedWith !== undefined && counters.passedWith !== probes) {
    return `not passed since they were changed (last passed ${iso(counters.lastSuccessAt)}, with other settings)`;
  }
  return undefined;
}

/**
 * Count one round. `threshold` consecutive failed rounds declare the primary down; a passed round
 * resets the count. A round not after the last counted one (an overlapping invocation) changes nothing.
 * Consecutive means one interval apart: a failure counted longer ago than `intervalMs` before this
 * round (a round in between passed and, healthy, was not written) does not add to this one, which
 * starts a new run; a round this function saw count neither way (bridgedAt) does not break a run. The counters are written only when they change, so a failed
 * round another invocation wrote may stay in the store, unrecovered, while this one counts healthy
 * rounds in its memory: it must never join a failure hours later.
 */
export function advanceCounters(previous: ProbeCounters, verdict: RoundVerdict, roundAt: number, threshold: number, intervalMs: number, probes?: string): Detection {
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
      counters: { consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: roundAt, lastRoundAt: roundAt, ...(probes !== undefined ? { passedWith: probes } : {}) },
      declaredDown: false,
      reason: ended > 0 ? `recovered after ${ended} failed ${plural(ended, 'round')}` : 'healthy',
    };
  }

  const lastSeen = Math.max(previous.lastRoundAt ?? -Infinity, previous.bridgedAt ?? -Infinity);
  const adjacent = roundAt - lastSeen <= intervalMs;
  const continues = previous.consecutiveFailures > 0 && previous.outageStartedAt !== null && adjacent;
  const consecutiveFailures = continues ? previous.consecutiveFailures + 1 : 1;
  const outageStartedAt = continues ? previous.outageStartedAt! : roundAt;
  const counters: ProbeCounters = { consecutiveFailures, outageStartedAt, lastSuccessAt: previous.lastSuccessAt, lastRoundAt: roundAt, ...(previous.passedWith !== undefined ? { passedWith: previous.passedWith } : {}) };
  if (consecutiveFailures >= threshold) {
    const down = `primary down: ${consecutiveFailures} consecutive failed ${plural(consecutiveFailures, 'round')} since ${iso(outageStartedAt)} (threshold ${threshold})`;
    const notPassed = probesNotPassed(previous, probes);
    if (notPassed) {
      return {
        counters,
        declaredDown: true,
        unproven: `its probes have ${notPassed}: this controller has never seen the primary healthy as it probes it now, and cannot tell an outage from probes that cannot pass (a wrong URL, port or expected status, a certificate from a CA it does not trust, a security group, the probe function's network)`,
        reason: `${down}; its probes have ${notPassed}`,
      };
    }
    return { counters, declaredDown: true, reason: down };
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
