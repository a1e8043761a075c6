/**
 * Step 3: may we promote? The replica must exist, be available, be a read replica (of the expected
 * source, when configured), and lag no more than maxLagSeconds (the RPO gate) unless forced. In a
 * switchover, wait (bounded) for the lag to reach 0. The decision comes with a reason sentence.
 */
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDBInstancesCommand, type DBInstance } from '@aws-sdk/client-rds';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { perRegion, type StepDeps } from '../runtime/deps';
import { awsErrorName, stepErrorFrom, StepError } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { AssessResult, Plan, ReplicaView, WorkflowState } from '../core/workflow-state';

class ReplicaCheckFailed extends StepError {}

type Decision = Pick<AssessResult, 'decision' | 'reason'>;

/** The decision itself: a pure function of what was observed. */
export function decide(
  plan: Pick<Plan, 'mode' | 'force' | 'group'>,
  replica: ReplicaView | undefined,
  lagSeconds: number | null,
  waitedSeconds: number,
): Decision {
  const { group } = plan;
  const id = group.replica.dbInstanceIdentifier;
  if (!replica) return { decision: 'abort', reason: `not promoting: replica ${id} not found in ${group.replica.region}` };
  if (!replica.isReplica) {
    return { decision: 'abort', reason: `not promoting: ${id} is not a read replica (already standalone?)` };
  }
  const expected = group.replica.source;
  if (expected && !sameSource(expected, replica.sourceId)) {
    return { decision: 'abort', reason: `not promoting: ${id} replicates from ${replica.sourceId}, not the configured source ${expected}` };
  }
  if (replica.status !== 'available') {
    return { decision: 'abort', reason: `not promoting: replica ${id} is ${replica.status}, not available` };
  }
  const max = group.replica.maxLagSeconds;
  if (plan.mode === 'switchover') {
    if (lagSeconds === 0) return { decision: 'proceed', reason: `switching over: replica lag is 0 s` };
    const shown = lagSeconds === null ? 'unknown' : `${lagSeconds} s`;
    if (waitedSeconds < group.switchover.lagTimeoutSeconds) {
      return { decision: 'wait', reason: `waiting for replica lag to reach 0 before switching over: lag ${shown}` };
    }
    return { decision: 'abort', reason: `not switching over: replica lag still ${shown} after ${group.switchover.lagTimeoutSeconds} s` };
  }
  if (lagSeconds === null) {
    return plan.force
      ? { decision: 'proceed', reason: `proceeding with force: replica lag unknown (no ReplicaLag datapoint)` }
      : { decision: 'abort', reason: `not promoting: no ReplicaLag datapoint for ${id} in the last 5 minutes, so the data loss is unknown` };
  }
  if (lagSeconds > max) {
    return plan.force
      ? { decision: 'proceed', reason: `proceeding with force: replica lag ${lagSeconds} s exceeds maxLagSeconds ${max} s; up to ${lagSeconds} s of writes may be lost` }
      : { decision: 'abort', reason: `not promoting: replica lag ${lagSeconds} s exceeds maxLagSeconds ${max} s` };
  }
  return { decision: 'proceed', reason: `replica ${id} is available, lag ${lagSeconds} s within ${max} s` };
}

function sameSource(expected: string, actual: string | undefined): boolean {
  if (!actual) return false;
  const id = (s: string) => s.split(':db:').pop();
  return expected === actual || id(expected) === id(actual);
}

export function replicaView(db: DBInstance, region: string): ReplicaView {
  return {
    id: db.DBInstanceIdentifier ?? '',
    region,
    status: db.DBInstanceStatus ?? 'unknown',
    isReplica: Boolean(db.ReadReplicaSourceDBInstanceIdentifier),
    sourceId: db.ReadReplicaSourceDBInstanceIdentifier,
    endpointAddress: db.Endpoint?.Address,
  };
}

export async function describeReplica(plan: Plan, deps: Pick<StepDeps, 'rds'>): Promise<ReplicaView | undefined> {
  const { dbInstanceIdentifier: id, region } = plan.group.replica;
  try {
    const out = await deps.rds(region).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const db = out.DBInstances?.[0];
    return db && replicaView(db, region);
  } catch (err) {
    if (awsErrorName(err) === 'DBInstanceNotFoundFault' || awsErrorName(err) === 'DBInstanceNotFound') return undefined;
    throw stepErrorFrom(err, `RDS DescribeDBInstances ${id}`, ReplicaCheckFailed);
  }
}

/** The latest ReplicaLag datapoint of the last 5 minutes (the worst within its minute), or null. */
export async function readReplicaLag(plan: Plan, nowMs: number, deps: Pick<StepDeps, 'cloudwatch'>): Promise<number | null> {
  const { dbInstanceIdentifier: id, region } = plan.group.replica;
  try {
    const out = await deps.cloudwatch(region).send(
      new GetMetricStatisticsCommand({
        Namespace: 'AWS/RDS',
        MetricName: 'ReplicaLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }],
        StartTime: new Date(nowMs - 5 * 60_000),
        EndTime: new Date(nowMs),
        Period: 60,
        Statistics: ['Maximum'],
      }),
    );
    const latest = (out.Datapoints ?? [])
      .filter((d) => d.Timestamp && d.Maximum !== undefined)
      .sort((a, b) => b.Timestamp!.getTime() - a.Timestamp!.getTime())[0];
    return latest ? Math.round(latest.Maximum! * 10) / 10 : null;
  } catch (err) {
    throw stepErrorFrom(err, `CloudWatch GetMetricStatistics ReplicaLag ${id}`, ReplicaCheckFailed);
  }
}

export async function run(state: WorkflowState, deps: Pick<StepDeps, 'now' | 'rds' | 'cloudwatch'>): Promise<AssessResult> {
  const { plan } = state;
  // A switchover loops through this step while it waits for the lag; keep the first start.
  const startedAt = state.assess?.startedAt ?? deps.now();
  const replica = await describeReplica(plan, deps);
  const lagSeconds = replica?.isReplica ? await readReplicaLag(plan, deps.now(), deps) : null;
  const now = deps.now();
  const { decision, reason } = decide(plan, replica, lagSeconds, (now - startedAt) / 1000);
  return { startedAt, endedAt: decision === 'wait' ? undefined : now, decision, reason, lagSeconds, replica };
}

const deps = {
  now: Date.now,
  rds: perRegion((region) => new RDSClient({ region })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region })),
};
export const handler = stepHandler('assess-replica', (state: WorkflowState) => run(state, deps));
