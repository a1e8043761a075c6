/**
 * Switchover, which must lose nothing: the writers are stopped and the old database fenced FIRST, and
 * only then does the workflow wait for the replica to have everything, then promote. (Waiting for lag 0
 * while writers still run, then stopping them, loses whatever was written in between.)
 *
 * `precheck` runs before anything is stopped: the replica exists, is available, and replicates from the
 * configured source; otherwise the switchover is ABORTED with nothing changed. `wait` runs after the
 * fences: caught up means a metric datapoint taken after the old database stopped accepting writes (its
 * reboot, which closed the last connections) shows nothing outstanding:
 * - PostgreSQL: the source's OldestReplicationSlotLag is 0 bytes (no WAL the replica has not received;
 *   rds-metrics). ReplicaLag cannot say it: it is the time since the last replayed transaction, which
 *   grows by a second per second once the writes stop (USER_PostgreSQL.Replication.ReadReplicas.Monitor).
 *   A promotion replays the WAL received before it ends recovery.
 * - MySQL/MariaDB: ReplicaLag (Seconds_Behind_Master) is 0; -1 means replication is not running.
 * Datapoints are per minute, stamped with the start of their minute, and arrive late: only a datapoint
 * whose minute starts after the fence counts.
 *
 * NOTE: the lag reading belongs to assess-replica.ts (issue 11). Until it exports a "caught up after
 * time T" check, this step reads the metrics itself, behind `replicaCaughtUp`; swap that for it.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { perRegion, type StepDeps } from '../runtime/deps';
import { StepError, stepErrorFrom } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { AssessResult, Plan, ReplicaView, WorkflowState } from '../core/workflow-state';
import { describeReplica } from './assess-replica';
import { sourceDatabase } from '../core/config';

class CatchUpCheckFailed extends StepError {}

export type CatchUpEvent = { action: 'precheck' | 'wait'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'rds' | 'cloudwatch'>;

/** May a switchover start stopping the writers? A pure function of the replica as described. */
export function decidePrecheck(plan: Pick<Plan, 'group'>, replica: ReplicaView | undefined): Pick<AssessResult, 'decision' | 'reason'> {
  const { dbInstanceIdentifier: id, region } = plan.group.replica;
  if (!replica) return { decision: 'abort', reason: `not switching over: replica ${id} not found in ${region}` };
  if (!replica.isReplica) return { decision: 'abort', reason: `not switching over: ${id} is not a read replica (already standalone?)` };
  const expected = sourceDatabase(plan.group.replica);
  const actual = sourceDatabase({ source: replica.sourceId ?? '', region });
  if (actual.id !== expected.id || actual.region !== expected.region) {
    return { decision: 'abort', reason: `not switching over: ${id} replicates from ${replica.sourceId}, not the configured source ${plan.group.replica.source}` };
  }
  if (replica.status !== 'available') return { decision: 'abort', reason: `not switching over: replica ${id} is ${replica.status}, not available` };
  return { decision: 'proceed', reason: `switching over: replica ${id} is available; stopping the writers first, then waiting for it to catch up` };
}

export async function precheck(state: WorkflowState, deps: Deps): Promise<AssessResult> {
  const startedAt = deps.now();
  const replica = await describeReplica(state.plan, deps);
  const { decision, reason } = decidePrecheck(state.plan, replica);
  return { startedAt, endedAt: deps.now(), decision, reason, lagSeconds: null, replica };
}

export async function waitForCatchUp(state: WorkflowState, deps: Deps): Promise<AssessResult> {
  const { plan } = state;
  const now = deps.now();
  // Looping here keeps the first start; the precheck's result (decision proceed) is replaced.
  const startedAt = state.assess?.decision === 'wait' ? state.assess.startedAt : now;
  const db = state.databaseFence;
  // The moment the old database stopped accepting writes: its reboot closed the last connections.
  const since = db?.rebootRequestedAt ?? db?.confirmedAt ?? state.fence?.endedAt ?? now;
  const caught = await replicaCaughtUp(plan, db?.engine, since, now, deps);
  if (caught.caughtUp) {
    return { startedAt, endedAt: now, decision: 'proceed', reason: `switching over: the writers are fenced and the replica has caught up (${caught.evidence})`, lagSeconds: 0, replica: state.assess?.replica };
  }
  const limit = plan.group.switchover.lagTimeoutSeconds;
  if ((now - startedAt) / 1000 < limit) {
    return { startedAt, decision: 'wait', reason: `waiting for the replica to catch up after the writers were fenced: ${caught.evidence}`, lagSeconds: caught.lagSeconds, replica: state.assess?.replica };
  }
  return {
    startedAt,
    endedAt: now,
    decision: 'abort',
    reason:
      `not switching over: the replica did not catch up within ${limit} s after the writers were fenced (${caught.evidence}); nothing was promoted. ` +
      `The writers stay fenced: start them and restore ${db?.id ?? 'the old database'}'s security groups (${db?.originalSecurityGroupIds?.join(', ') ?? 'see the record'}) by hand`,
    lagSeconds: caught.lagSeconds,
    replica: state.assess?.replica,
  };
}

/**
 * Has the replica everything the old database accepted? Only datapoints whose minute starts at or
 * after `since` count. See the file comment for the metric per engine.
 */
export async function replicaCaughtUp(
  plan: Plan,
  engine: string | undefined,
  since: number,
  nowMs: number,
  deps: Pick<StepDeps, 'cloudwatch'>,
): Promise<{ caughtUp: boolean; lagSeconds: number | null; evidence: string }> {
  const postgres = engine === 'postgres';
  const source = sourceDatabase(plan.group.replica);
  const metric = postgres
    ? { name: 'OldestReplicationSlotLag', id: source.id, region: source.region, unit: 'bytes' }
    : { name: 'ReplicaLag', id: plan.group.replica.dbInstanceIdentifier, region: plan.group.replica.region, unit: 's' };
  let datapoints;
  try {
    const out = await deps.cloudwatch(metric.region).send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/RDS',
        MetricName: metric.name,
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: metric.id }],
        StartTime: new Date(Math.min(since, nowMs - 60_000)),
        EndTime: new Date(nowMs),
        Period: 60,
        Statistics: ['Maximum'],
      }),
    );
    datapoints = out.Datapoints ?? [];
  } catch (err) {
    throw stepErrorFrom(err, `CloudWatch GetMetricStatistics ${metric.name} ${metric.id}`, CatchUpCheckFailed);
  }
  const after = datapoints
    .filter((d) => d.Timestamp && d.Maximum !== undefined && d.Timestamp.getTime() >= since)
    .sort((a, b) => b.Timestamp!.getTime() - a.Timestamp!.getTime());
  const latest = after[0];
  if (!latest) return { caughtUp: false, lagSeconds: null, evidence: `no ${metric.name} datapoint of ${metric.id} since the fence yet` };
  const value = latest.Maximum!;
  const at = latest.Timestamp!.toISOString();
  return {
    caughtUp: value === 0,
    lagSeconds: postgres ? null : value,
    evidence: `${metric.name} of ${metric.id} ${value} ${metric.unit} at ${at}${!postgres && value === -1 ? ' (replication not running)' : ''}`,
  };
}

const deps: Deps = {
  now: Date.now,
  rds: perRegion((region) => new RDSClient({ region })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region })),
};
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { precheck, wait: waitForCatchUp } as const;
export const run = (event: CatchUpEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('catch-up', (event: CatchUpEvent) => run(event, deps));
