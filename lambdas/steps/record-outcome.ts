/**
 * Step 7b: write the execution's history item, update the group's state (FAILED_OVER after a real
 * failover, with the promoted replica as the new primary), and release the lock if this execution holds
 * it. Store errors are retried by the state machine; if they persist, the record is not lost: the
 * state machine sends it in a notification and this step has logged it.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { once, type StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { chosenReplica } from '../core/candidates';
import { deployedGroupNamed } from '../core/deployed-group';
import { requireEnv } from '../runtime/env';
import { Store } from '../core/store';
import { buildHistoryItem, causeText, type HistoryItem } from '../core/history';
import { METRIC, metricsOf, type MetricDocument } from '../runtime/metrics';
import { lambdaMetrics, stepHandler } from '../runtime/powertools';
import type { WorkflowState } from '../core/workflow-state';

type Deps = Pick<StepDeps, 'now' | 'store' | 'log' | 'metrics' | 'groups'>;

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
  // The deployed group's ids and regions in the record. Not held to the config the execution was planned
  // with: the record acts on nothing of the group, and must still be kept for an execution that a
  // deployment stopped (ConfigMismatch).
  const group = deployedGroupNamed(deps.groups(), state.plan.group?.name);
  const item = buildHistoryItem(state, group, deps.now(), notification);
  deps.log({ level: 'INFO', message: 'history item', record: item });
  const store = deps.store();
  const { plan } = state;
  // Only a real run that took the lock holds it; a skipped run must not release another's lock.
  const holdsLock = state.lock?.acquired === true && !plan.dryRun;
  let replaced = false;
  try {
    // Once the replica is promoted the topology has changed, whatever happened after: the group is
    // FAILED_OVER until an operator re-arms it with a config that describes the new primary. Written
    // first: it is what keeps automatic triggers from acting on the old topology.
    if (state.promote?.confirmed && !plan.dryRun) {
      await store.putGroupState({
        group: group.name,
        status: 'FAILED_OVER',
        // The deployed candidate the execution chose; the address is what the promotion read from RDS.
        primary: { kind: 'rds', id: chosenReplica(group, state).dbInstanceIdentifier, endpointAddress: state.promote?.endpointAddress },
        reason: `failed over by ${plan.executionName}: ${plan.reason}`,
        lastFailover: { executionArn: plan.executionArn, at: item.endedAt, outcome: item.outcome, rtoSeconds: item.rtoSeconds },
        updatedAt: item.endedAt,
      });
    }
    ({ replaced } = await store.putHistory(item));
  } catch (err) {
    // Nothing is left to act on: let the lock go even though the record could not be written (the
    // state machine retries this step, then sends the record in a notification).
    if (holdsLock) await store.releaseLock(group.name, plan.executionArn).catch(() => false);
    throw err;
  }
  const lockReleased = holdsLock ? await store.releaseLock(group.name, plan.executionArn) : false;
  // Last, and only by the attempt that first wrote the record: a retry of this step (after a failed
  // write, or after a success Step Functions did not hear of) does not count the execution twice.
  if (!replaced) {
    const metrics = metricsOf(deps);
    for (const document of outcomeMetrics(item, state.promote?.confirmed === true, deps.now())) metrics.emit(document);
  }
  return { recorded: true, outcome: item.outcome, lockReleased };
}

/**
 * What a recorded execution adds to the metrics: one execution with its outcome (per group, and per
 * outcome across groups); for a real failover (the replica promoted, not a dry run) its RTO, when DNS
 * was flipped, and its data-loss estimate, when the lag was known.
 */
export function outcomeMetrics(item: HistoryItem, promoted: boolean, nowMs: number): MetricDocument[] {
  const execution: MetricDocument['values'] = [{ name: METRIC.executions, unit: 'Count', value: 1 }];
  const documents: MetricDocument[] = [
    { timestamp: nowMs, dimensions: { Group: item.group, Outcome: item.outcome }, values: execution },
    { timestamp: nowMs, dimensions: { Outcome: item.outcome }, values: execution },
  ];
  if (promoted && !item.dryRun) {
    const values: MetricDocument['values'] = [];
    if (item.rtoSeconds !== null) values.push({ name: METRIC.rtoSeconds, unit: 'Seconds', value: item.rtoSeconds });
    if (item.dataLossSeconds !== null) values.push({ name: METRIC.dataLossSeconds, unit: 'Seconds', value: item.dataLossSeconds });
    if (values.length > 0) documents.push({ timestamp: nowMs, dimensions: { Group: item.group }, values });
  }
  return documents;
}

const store = once(() => new Store(new DynamoDBClient(CLIENT_CONFIG), requireEnv('TABLE_NAME')));
export const handler = stepHandler('record-outcome', (state: WorkflowState, log) => run(state, { now: Date.now, groups: bakedGroups, store, log, metrics: lambdaMetrics() }));
