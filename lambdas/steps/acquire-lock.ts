/**
 * Step 2: take the group's lock, so only one failover per group runs at a time. A lock held by a live
 * execution ends this one as SKIPPED; an expired lock (its holder died) is taken over. Automatic
 * triggers (probe, alarm) are also SKIPPED, without taking the lock, while the group is PAUSED, after a
 * failover (FAILED_OVER, until an operator re-arms it) and during the cooldown after any failover.
 * An alarm of a group with probes is SKIPPED too while a mass-failure hold is in force, or while the
 * probes that would confirm it have never passed as configured now (unconfirmableAlarm): their failing
 * would confirm nothing.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lockTtlSeconds } from '../core/budgets';
import { deployedGroup } from '../core/deployed-group';
import { bakedGroups } from '../runtime/baked-groups';
import { once, type StepDeps } from '../runtime/deps';
import { requireEnv } from '../runtime/env';
import { stepHandler } from '../runtime/powertools';
import { Store, type LockItem, type ProbeState } from '../core/store';
import { automaticTriggerBlocked } from '../core/trigger-gate';
import type { LockResult, WorkflowState } from '../core/workflow-state';
import type { GroupConfig } from '../core/config';
import { HOLD_KEY, holdInForce } from '../core/mass-failure-hold';
import { probesKey, probesNotPassed } from '../probe/detect';

export async function run(state: WorkflowState, deps: Pick<StepDeps, 'now' | 'store' | 'groups'>): Promise<LockResult> {
  const { plan } = state;
  const deployed = deployedGroup(deps.groups(), plan);
  const group = deployed.name;
  const startedAt = deps.now();
  const store = deps.store();
  // As long as any execution of the deployed groups may run, and five minutes more (budgets.ts).
  const ttl = lockTtlSeconds(Object.values(deps.groups()));
  // An alarm of a group with probes is confirmed by them: what the probe function knows of them is read alongside.
  const confirmedByProbes = plan.trigger.type === 'alarm' && deployed.probes.length > 0;
  const [groupState, hold, probes] = await Promise.all([
    store.getGroupState(group),
    confirmedByProbes ? store.getProbeState(HOLD_KEY) : undefined,
    confirmedByProbes ? store.getProbeState(group) : undefined,
  ]);
  const blocked =
    automaticTriggerBlocked(deployed, plan.trigger.type, groupState, startedAt) ??
    (confirmedByProbes ? unconfirmableAlarm(deployed, hold, probes, startedAt) : undefined);
  // Nothing else will handle this trigger's outage: say so on the topic, not only in the history.
  if (blocked) return { startedAt, endedAt: deps.now(), acquired: false, reason: blocked, notify: true };
  if (plan.dryRun) {
    // A dry run changes nothing, the lock included: it only says whether a real run would get it.
    const lock = await store.getLock(group);
    const live = lock && lock.expiresAt >= startedAt && lock.holder !== plan.executionArn;
    const forged = live ? implausibleLock(lock, plan.executionArn, ttl, startedAt) : undefined;
    return {
      startedAt,
      endedAt: deps.now(),
      acquired: !live || forged !== undefined,
      holder: lock?.holder,
      expiresAt: lock?.expiresAt,
      reason: forged
        ? `dry run: the lock of ${group} is held by ${JSON.stringify(lock!.holder)}, which no execution of this controller can be (${forged}); a real run would take it over`
        : live
          ? `skipping: another execution holds the lock of ${group} (${lock.holder}); a real run would be skipped too`
          : `dry run: the lock of ${group} is free; a real run would take it`,
    };
  }
  const first = await store.acquireLock(group, plan.executionArn, startedAt, ttl);
  let { acquired, lock } = first;
  let takeover = first.tookOverFrom ? `, taking over the expired lock of ${first.tookOverFrom.holder} (expired ${new Date(first.tookOverFrom.expiresAt).toISOString()})` : '';
  const why = acquired ? undefined : implausibleLock(lock, plan.executionArn, ttl, startedAt);
  if (why) {
    // No execution of this controller can hold it: forged, or corrupt. It must not suppress a failover.
    const held = lock;
    ({ acquired, lock } = await store.takeOverLock(group, plan.executionArn, startedAt, ttl, held));
    if (acquired) takeover = `, taking over a lock no execution of this controller can hold (holder ${JSON.stringify(held.holder)}, expires ${new Date(held.expiresAt).toISOString()}: ${why}); someone wrote it into the table by hand`;
  }
  return {
    startedAt,
    endedAt: deps.now(),
    acquired,
    holder: lock.holder,
    expiresAt: lock.expiresAt,
    reason: acquired
      ? `took the lock of ${group} until ${new Date(lock.expiresAt).toISOString()}${takeover}`
      : `skipping: another execution holds the lock of ${group} (${lock.holder}) until ${new Date(lock.expiresAt).toISOString()}`,
  };
}

/**
 * Why an alarm cannot be confirmed by the group's probes: a mass-failure hold is in force (the
 * controller's own network may be cut off, and the confirmation would probe from it: run-probes.ts,
 * reportHold), or the probes have never passed, or not since they were changed (the probe function's
 * counters say so: lambdas/probe/detect.ts). The confirmation step would find them failing and
 * "confirm" an outage this controller cannot see; the probe function does not fail over on them either.
 */
export function unconfirmableAlarm(group: GroupConfig, hold: ProbeState | undefined, probes: ProbeState | undefined, now: number): string | undefined {
  const manual = `If the outage is real, fail over by hand: failoverctl failover ${group.name}`;
  const held = holdInForce(hold, now);
  if (held) return `skipping: ${held}; an alarm of ${group.name} would be confirmed by its probes from that same network. ${manual}`;
  const notPassed = probesNotPassed(probes, probesKey(group));
  if (notPassed) return `skipping: the probes of ${group.name}, which confirm its alarms, have ${notPassed}: this controller has never seen the primary healthy as it probes it now, so their failing would confirm nothing. ${manual}`;
  return undefined;
}

/** The longest a lock of a live execution can still run, as a multiple of the lock's TTL (see implausibleLock). */
const PLAUSIBLE_TTL_FACTOR = 2;

/**
 * Why a lock that blocks us cannot be held by an execution of this controller, or undefined when it can.
 * A live execution's lock expires at most its TTL after it was taken (lockTtlSeconds: the state
 * machine's timeout plus five minutes); twice that leaves room for a redeploy that shortened the
 * budgets while a failover ran. Its holder is an execution of this state machine (when this execution
 * is one) or a break-glass run (`local:<name>`).
 */
export function implausibleLock(lock: LockItem, executionArn: string, ttlSeconds: number, now: number): string | undefined {
  const latest = now + PLAUSIBLE_TTL_FACTOR * ttlSeconds * 1000;
  if (lock.expiresAt > latest) {
    return `it expires more than ${PLAUSIBLE_TTL_FACTOR} x the lock's TTL (${ttlSeconds} s) from now`;
  }
  if (/^local:[\w.-]{1,80}$/.test(lock.holder)) return undefined;
  const ours = /^(arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:execution:[\w-]+):[\w.-]{1,80}$/.exec(executionArn);
  const theirs = /^(arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:execution:[\w-]+):[\w.-]{1,80}$/.exec(lock.holder);
  if (!theirs) return 'its holder is neither a Step Functions execution nor a break-glass run';
  if (ours && ours[1] !== theirs[1]) return `its holder is an execution of another state machine (${theirs[1].split(':').pop()})`;
  return undefined;
}

const store = once(() => new Store(new DynamoDBClient(CLIENT_CONFIG), requireEnv('TABLE_NAME')));
export const handler = stepHandler('acquire-lock', (state: WorkflowState) => run(state, { now: Date.now, store, groups: bakedGroups }));
