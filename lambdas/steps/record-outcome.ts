/**
 * Step 7b: write the execution's history item, update the group's state (FAILED_OVER after a real
 * failover, with the promoted replica as the new primary), and release the lock if this execution holds
 * it. Store errors are retried by the state machine; if they persist, the record is not lost: the
 * state machine sends it in a notification and this step has logged it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { logJson, once, type StepDeps } from '../shared/deps';
import { requireEnv } from '../shared/env';
import { Store } from '../shared/store';
import { buildHistoryItem, causeText, type HistoryItem } from '../shared/history';
import type { WorkflowState } from '../shared/workflow-state';

type Deps = Pick<StepDeps, 'now' | 'store' | 'log'>;

export interface RecordResult {
  recorded: true;
  outcome: HistoryItem['outcome'];
  lockReleased: boolean;
}

export async function run(state: WorkflowState & { notificationError?: { Error: string; Cause?: string } }, deps: Deps): Promise<RecordResult> {
  // A skipped run sends no notification; a failed notification is recorded as such.
  const notification =
    state.notification ??
    (state.notificationError
      ? { notified: false, error: `${state.notificationError.Error}: ${causeText(state.notificationError.Cause)}`, at: deps.now() }
      : undefined);
  const item = buildHistoryItem(state, deps.now(), notification);
  deps.log({ level: 'INFO', message: 'history item', record: item });
  const store = deps.store();
  const { plan } = state;
  // Only a real run that took the lock holds it; a skipped run must not release another's lock.
  const holdsLock = state.lock?.acquired === true && !plan.dryRun;
  try {
    // Once the replica is promoted the topology has changed, whatever happened after: the group is
    // FAILED_OVER until an operator re-arms it with a config that describes the new primary. Written
    // first: it is what keeps automatic triggers from acting on the old topology.
    if (state.promote?.confirmed && !plan.dryRun) {
      await store.putGroupState({
        group: plan.group.name,
        status: 'FAILED_OVER',
        primary: { kind: 'rds', id: plan.group.replica.dbInstanceIdentifier, endpointAddress: state.promote?.endpointAddress },
        reason: `failed over by ${plan.executionName}: ${plan.reason}`,
        lastFailover: { executionArn: plan.executionArn, at: item.endedAt, outcome: item.outcome, rtoSeconds: item.rtoSeconds },
        updatedAt: item.endedAt,
      });
    }
    await store.putHistory(item);
  } catch (err) {
    // Nothing is left to act on: let the lock go even though the record could not be written (the
    // state machine retries this step, then sends the record in a notification).
    if (holdsLock) await store.releaseLock(plan.group.name, plan.executionArn).catch(() => false);
    throw err;
  }
  const lockReleased = holdsLock ? await store.releaseLock(plan.group.name, plan.executionArn) : false;
  return { recorded: true, outcome: item.outcome, lockReleased };
}

const store = once(() => new Store(new DynamoDBClient({}), requireEnv('TABLE_NAME')));
export const handler = async (state: WorkflowState) => run(state, { now: Date.now, store, log: logJson });
