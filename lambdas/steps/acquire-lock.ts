/**
 * Step 2: take the group's lock, so only one failover per group runs at a time. A lock held by a live
 * execution ends this one as SKIPPED; an expired lock (its holder died) is taken over. Automatic
 * triggers (probe, alarm) are also SKIPPED, without taking the lock, while the group is PAUSED, after a
 * failover (FAILED_OVER, until an operator re-arms it) and during the cooldown after any failover.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lockTtlSeconds } from '../core/budgets';
import { deployedGroup } from '../core/deployed-group';
import { bakedGroups } from '../runtime/baked-groups';
import { once, type StepDeps } from '../runtime/deps';
import { requireEnv } from '../runtime/env';
import { stepHandler } from '../runtime/powertools';
import { Store } from '../core/store';
import { automaticTriggerBlocked } from '../core/trigger-gate';
import type { LockResult, WorkflowState } from '../core/workflow-state';

export async function run(state: WorkflowState, deps: Pick<StepDeps, 'now' | 'store' | 'groups'>): Promise<LockResult> {
  const { plan } = state;
  const deployed = deployedGroup(deps.groups(), plan);
  const group = deployed.name;
  const startedAt = deps.now();
  const store = deps.store();
  const blocked = automaticTriggerBlocked(deployed, plan.trigger.type, await store.getGroupState(group), startedAt);
  if (blocked) return { startedAt, endedAt: deps.now(), acquired: false, reason: blocked };
  if (plan.dryRun) {
    // A dry run changes nothing, the lock included: it only says whether a real run would get it.
    const lock = await store.getLock(group);
    const live = lock && lock.expiresAt >= startedAt && lock.holder !== plan.executionArn;
    return {
      startedAt,
      endedAt: deps.now(),
      acquired: !live,
      holder: lock?.holder,
      expiresAt: lock?.expiresAt,
      reason: live
        ? `skipping: another execution holds the lock of ${group} (${lock.holder}); a real run would be skipped too`
        : `dry run: the lock of ${group} is free; a real run would take it`,
    };
  }
  // As long as any execution of the deployed groups may run, and five minutes more (budgets.ts).
  const ttl = lockTtlSeconds(Object.values(deps.groups()));
  const { acquired, lock, tookOverFrom } = await store.acquireLock(group, plan.executionArn, startedAt, ttl);
  const takeover = tookOverFrom ? `, taking over the expired lock of ${tookOverFrom.holder} (expired ${new Date(tookOverFrom.expiresAt).toISOString()})` : '';
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

const store = once(() => new Store(new DynamoDBClient({}), requireEnv('TABLE_NAME')));
export const handler = stepHandler('acquire-lock', (state: WorkflowState) => run(state, { now: Date.now, store, groups: bakedGroups }));
