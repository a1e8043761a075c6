/**
 * Step 3: may we promote, and which replica? Each candidate (replicaCandidates: `replica`, then
 * `additionalReplicas`) must exist, be available, be a read replica (of the expected source, when
 * configured), and pass the RPO gate: its replication as it was BEFORE the outage began (datapoints from
 * before it, fresh enough; per-engine semantics in lambdas/core/replica-lag.ts). Of those that pass, the
 * one that loses the least is chosen (the highest replicated-through bound; ties: config order). `force`
 * passes a candidate the gate stopped (never one that is missing, standalone or not available) and then
 * records its loss as unknown if nothing bounds it.
 *
 * A switchover waits (bounded) until a candidate is shown to have every write made before the writers
 * stopped (`replicaCaughtUp`), then promotes the first such in config order.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDBInstancesCommand, type DBInstance } from '@aws-sdk/client-rds';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { perRegion, type StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import type { GroupConfig } from '../core/config';
import { deployedGroup } from '../core/deployed-group';
import { awsErrorName, stepErrorFrom, StepError } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import { replicaCandidates, type ReplicaCandidate } from '../core/candidates';
import { writesStoppedAt } from '../core/data-loss';
import {
  caughtUp,
  clock,
  engineFamily,
  judgeLag,
  judgeReplicationStatus,
  LOOKBACK_MS,
  MINUTE_MS,
  replicationBound,
  slotLagCovers,
  type LagObservation,
  type LagPoint,
  type SlotPoint,
  type SlotReading,
} from '../core/replica-lag';
import type { AssessResult, CandidateAssessment, Plan, ReplicaView, WorkflowState } from '../core/workflow-state';

class ReplicaCheckFailed extends StepError {}

type Deps = Pick<StepDeps, 'now' | 'rds' | 'cloudwatch'>;

/** What was read about one candidate: its description (undefined: not found), datapoints, or why not. */
export interface CandidateObservation {
  candidate: ReplicaCandidate;
  replica?: ReplicaView;
  lag: LagPoint[];
  slot?: SlotReading;
  /** The candidate could not be read at all (its region unreachable, say). */
  error?: string;
}

/** When the outage began, as the trigger says: the probes' first failed round, or trigger.at. */
export function outageStart(plan: Pick<Plan, 'trigger' | 'triggeredAt'>): { at: number; basis: string } {
  const given = plan.trigger.outageStartedAt;
  const at = typeof given === 'string' ? Date.parse(given) : NaN;
  if (!Number.isNaN(at) && at <= plan.triggeredAt) return { at, basis: `trigger.outageStartedAt (${plan.trigger.type})` };
  if (plan.trigger.at !== undefined) return { at: plan.triggeredAt, basis: `trigger.at (${plan.trigger.type})` };
  return { at: plan.triggeredAt, basis: 'the execution start (the trigger gave no time)' };
}

/** The gate's verdict on one candidate (pure). */
export function assessCandidate(obs: CandidateObservation, outageStartedAt: number): CandidateAssessment {
  const { candidate, replica } = obs;
  const id = candidate.dbInstanceIdentifier;
  const base = { id, region: candidate.region, engine: replica?.engine ?? null, lagSeconds: null, replicatedThrough: null };
  const fail = (reason: string): CandidateAssessment => ({ ...base, verdict: 'fail', reason, basis: 'not assessed' });
  if (obs.error) return fail(`${id} could not be assessed: ${obs.error}`);
  if (!replica) return fail(`replica ${id} not found in ${candidate.region}`);
  if (!replica.isReplica) return fail(`${id} is not a read replica (already standalone?)`);
  if (candidate.source && !sameSource(candidate.source, replica.sourceId)) {
    return fail(`${id} replicates from ${replica.sourceId}, not the configured source ${candidate.source}`);
  }
  if (replica.status !== 'available') return fail(`replica ${id} is ${replica.status}, not available`);

  const observation: LagObservation = { replica, lag: obs.lag, slot: obs.slot };
  const bound = replicationBound(observation);
  const source = obs.slot ? { source: { id: obs.slot.sourceId, region: obs.slot.sourceRegion, slotLagTrusted: obs.slot.trusted } } : {};
  const judged = { ...base, ...source, replicatedThrough: bound.through, basis: bound.basis };
  const status = judgeReplicationStatus(replica);
  const lag = judgeLag(observation, outageStartedAt, candidate.maxLagSeconds);
  if (status.kind === 'blocking') {
    return { ...judged, lagSeconds: lag.lagSeconds, verdict: 'force', reason: `${status.text}` };
  }
  if (!lag.pass) {
    return { ...judged, lagSeconds: lag.lagSeconds, verdict: 'force', reason: status.kind === 'suspect' ? `${lag.reason}; ${status.text}` : lag.reason };
  }
  const suspect = status.kind === 'suspect' ? `; ${status.text} now, which the outage may have caused: the datapoints before it show it healthy` : '';
  return { ...judged, lagSeconds: lag.lagSeconds, verdict: 'pass', reason: `${lag.reason}${suspect}` };
}

type Decision = Pick<AssessResult, 'decision' | 'reason' | 'chosen'>;

/**
 * The decision of a failover: the best of the candidates that pass (with force, of those the gate
 * stopped), by replicated-through bound, ties in config order. One sentence names the choice and why
 * the others were passed over.
 */
export function decideFailover(plan: Pick<Plan, 'force'>, candidates: CandidateAssessment[]): Decision {
  const passing = candidates.filter((c) => c.verdict === 'pass');
  const pool = passing.length > 0 ? passing : plan.force ? candidates.filter((c) => c.verdict === 'force') : [];
  const best = pool.reduce<CandidateAssessment | undefined>((a, c) => (!a || (c.replicatedThrough ?? -Infinity) > (a.replicatedThrough ?? -Infinity) ? c : a), undefined);
  const single = candidates.length === 1;
  if (!best) {
    return {
      decision: 'abort',
      reason: single ? `not promoting: ${candidates[0].reason}` : `not promoting: no candidate replica passes the gate: ${candidates.map((c) => `${c.id} (${c.region}): ${c.reason}`).join('; ')}`,
    };
  }
  const forced = best.verdict === 'force';
  const unknown = best.replicatedThrough === null ? '; the data loss is unknown' : '';
  const what = forced ? `proceeding with force: ${best.reason}${unknown}` : `replica ${best.id} is available: ${best.reason}`;
  const others = candidates.filter((c) => c !== best);
  const why = single
    ? what
    : `promoting ${best.id} (${best.region}), of ${candidates.length} candidates the one ${pool.length > 1 ? 'that loses the least' : forced ? 'force may promote' : 'that passes the gate'}: ${what}; passed over: ${others
        .map((c) => `${c.id} (${c.region}): ${c.verdict === 'pass' || (forced && c.verdict === 'force') ? `replicated ${c.replicatedThrough === null ? 'to an unknown point' : `up to ${clock(c.replicatedThrough)}`}, not later than ${best.id}` : c.reason}`)
        .join('; ')}`;
  return { decision: 'proceed', reason: why, chosen: { id: best.id, region: best.region } };
}

/**
 * A switchover: proceed with the first candidate (config order) that is shown to have every write made
 * before `stoppedAt`; wait while none is and the lag timeout has not passed; abort after it.
 */
export function decideSwitchover(
  group: Pick<GroupConfig, 'switchover'>,
  observations: CandidateObservation[],
  candidates: CandidateAssessment[],
  reference: { at: number; what: string },
  waitedSeconds: number,
): Decision {
  const eligible = candidates.filter((c) => c.verdict !== 'fail');
  if (eligible.length === 0) {
    return { decision: 'abort', reason: `not switching over: ${candidates.map((c) => c.reason).join('; ')}` };
  }
  const checks = eligible.map((c) => {
    const obs = observations.find((o) => o.candidate.dbInstanceIdentifier === c.id && o.candidate.region === c.region)!;
    const replication = judgeReplicationStatus(obs.replica!);
    if (replication.kind === 'blocking') return { c, caughtUp: false, reason: replication.text };
    return { c, ...caughtUp({ replica: obs.replica!, lag: obs.lag, slot: obs.slot }, reference.at) };
  });
  const ready = checks.find((x) => x.caughtUp);
  if (ready) {
    return { decision: 'proceed', reason: `switching over to ${ready.c.id}: ${ready.reason} (${reference.what})`, chosen: { id: ready.c.id, region: ready.c.region } };
  }
  const timeout = group.switchover.lagTimeoutSeconds;
  const status = checks.map((x) => x.reason).join('; ');
  if (waitedSeconds < timeout) {
    return { decision: 'wait', reason: `waiting for the replica to catch up before switching over: ${status}`, chosen: { id: eligible[0].id, region: eligible[0].region } };
  }
  return { decision: 'abort', reason: `not switching over: not caught up after ${timeout} s: ${status}` };
}

function sameSource(expected: string, actual: string | undefined): boolean {
  if (!actual) return false;
  const id = (s: string) => s.split(':db:').pop();
  return expected === actual || id(expected) === id(actual);
}

export function replicaView(db: DBInstance, region: string): ReplicaView {
  const replication = db.StatusInfos?.find((s) => s.StatusType === 'read replication');
  return {
    id: db.DBInstanceIdentifier ?? '',
    region,
    status: db.DBInstanceStatus ?? 'unknown',
    isReplica: Boolean(db.ReadReplicaSourceDBInstanceIdentifier),
    sourceId: db.ReadReplicaSourceDBInstanceIdentifier,
    endpointAddress: db.Endpoint?.Address,
    ...(db.Engine ? { engine: db.Engine } : {}),
    ...(db.EngineVersion ? { engineVersion: db.EngineVersion } : {}),
    ...(replication ? { replication: { status: replication.Status ?? 'unknown', normal: replication.Normal !== false, ...(replication.Message ? { message: replication.Message } : {}) } } : {}),
  };
}

/** The candidate's description in its region; undefined when RDS does not know it. */
export async function describeReplica(candidate: Pick<ReplicaCandidate, 'dbInstanceIdentifier' | 'region'>, deps: Pick<StepDeps, 'rds'>): Promise<ReplicaView | undefined> {
  const { dbInstanceIdentifier: id, region } = candidate;
  try {
    const out = await deps.rds(region).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    const db = out.DBInstances?.[0];
    return db && replicaView(db, region);
  } catch (err) {
    if (awsErrorName(err) === 'DBInstanceNotFoundFault' || awsErrorName(err) === 'DBInstanceNotFound') return undefined;
    throw stepErrorFrom(err, `RDS DescribeDBInstances ${id}`, ReplicaCheckFailed);
  }
}

/**
 * One AWS/RDS metric for one DB instance, Period 60, from `fromMs` to `toMs` (at most 1,440 datapoints
 * a call: GetMetricStatistics), oldest first. CloudWatch does not sort them.
 */
async function readMetric(
  metric: 'ReplicaLag' | 'OldestReplicationSlotLag',
  id: string,
  region: string,
  fromMs: number,
  toMs: number,
  deps: Pick<StepDeps, 'cloudwatch'>,
): Promise<Array<{ at: number; max: number; min: number }>> {
  const start = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS;
  const end = Math.min(toMs, start + 1440 * MINUTE_MS);
  const out = await deps.cloudwatch(region).send(
    new GetMetricStatisticsCommand({
      Namespace: 'AWS/RDS',
      MetricName: metric,
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }],
      StartTime: new Date(start),
      EndTime: new Date(end),
      Period: 60,
      Statistics: ['Maximum', 'Minimum'],
    }),
  );
  return (out.Datapoints ?? [])
    .filter((d) => d.Timestamp && d.Maximum !== undefined)
    .map((d) => ({ at: d.Timestamp!.getTime(), max: d.Maximum!, min: d.Minimum ?? d.Maximum! }))
    .sort((a, b) => a.at - b.at);
}

export async function readReplicaLag(id: string, region: string, fromMs: number, toMs: number, deps: Pick<StepDeps, 'cloudwatch'>): Promise<LagPoint[]> {
  try {
    return await readMetric('ReplicaLag', id, region, fromMs, toMs, deps);
  } catch (err) {
    throw stepErrorFrom(err, `CloudWatch GetMetricStatistics ReplicaLag ${id}`, ReplicaCheckFailed);
  }
}

/**
 * The source's OldestReplicationSlotLag for a PostgreSQL replica. A better signal, not a required one:
 * when it cannot be read (the source's region is the one that is down) the reading says so and the
 * gate goes on without it.
 */
export async function readSlotLag(replica: ReplicaView, fromMs: number, toMs: number, deps: Pick<StepDeps, 'cloudwatch'>): Promise<SlotReading | undefined> {
  if (engineFamily(replica.engine) !== 'postgres' || !replica.sourceId) return undefined;
  const arn = /^arn:aws[\w-]*:rds:([\w-]+):\d+:db:(.+)$/.exec(replica.sourceId);
  const [sourceRegion, sourceId] = arn ? [arn[1], arn[2]] : [replica.region, replica.sourceId];
  return readSourceSlotLag({ id: sourceId, region: sourceRegion, ...slotLagCovers(replica, sourceRegion) }, fromMs, toMs, deps);
}

/** OldestReplicationSlotLag of a known source; an error is noted in the reading, never thrown. */
export async function readSourceSlotLag(
  source: { id: string; region: string; trusted: boolean; note: string },
  fromMs: number,
  toMs: number,
  deps: Pick<StepDeps, 'cloudwatch'>,
): Promise<SlotReading> {
  try {
    const points: SlotPoint[] = (await readMetric('OldestReplicationSlotLag', source.id, source.region, fromMs, toMs, deps)).map(({ at, max }) => ({ at, max }));
    return { sourceId: source.id, sourceRegion: source.region, trusted: source.trusted, note: source.note, points };
  } catch (err) {
    return { sourceId: source.id, sourceRegion: source.region, trusted: false, note: `could not be read: ${awsErrorName(err)}: ${(err as Error).message}`, points: [] };
  }
}

/** Describe one candidate and read its datapoints from `fromMs` to now. */
export async function observeCandidate(candidate: ReplicaCandidate, fromMs: number, deps: Deps): Promise<CandidateObservation> {
  const replica = await describeReplica(candidate, deps);
  if (!replica?.isReplica) return { candidate, replica, lag: [] };
  const now = deps.now();
  const lag = await readReplicaLag(candidate.dbInstanceIdentifier, candidate.region, fromMs, now, deps);
  const slot = await readSlotLag(replica, fromMs, now, deps);
  return { candidate, replica, lag, ...(slot ? { slot } : {}) };
}

/**
 * For the switchover (issue 10 calls this once the writers are stopped): is `candidate` shown to have
 * every write made before `stoppedAt`? See caughtUp in lambdas/core/replica-lag.ts.
 */
export async function replicaCaughtUp(
  candidate: ReplicaCandidate,
  stoppedAt: number,
  deps: Deps,
): Promise<{ caughtUp: boolean; reason: string; replicatedThrough: number | null }> {
  const obs = await observeCandidate(candidate, stoppedAt - LOOKBACK_MS, deps);
  if (!obs.replica) return { caughtUp: false, reason: `replica ${candidate.dbInstanceIdentifier} not found in ${candidate.region}`, replicatedThrough: null };
  const result = caughtUp({ replica: obs.replica, lag: obs.lag, slot: obs.slot }, stoppedAt);
  return { caughtUp: result.caughtUp, reason: result.reason, replicatedThrough: result.bound.through };
}

/**
 * Every candidate, in config order. A candidate that cannot be read (its region unreachable) is passed
 * over with the error; if none can be read, the first error fails the step (transient errors are retried).
 */
async function observeAll(group: GroupConfig, fromMs: number, deps: Deps): Promise<CandidateObservation[]> {
  const candidates = replicaCandidates(group);
  const results = await Promise.all(
    candidates.map(async (candidate): Promise<{ observation?: CandidateObservation; candidate: ReplicaCandidate; thrown?: Error }> => {
      try {
        return { candidate, observation: await observeCandidate(candidate, fromMs, deps) };
      } catch (err) {
        return { candidate, thrown: err as Error };
      }
    }),
  );
  const failed = results.filter((r) => r.thrown);
  if (failed.length === results.length) throw failed[0].thrown;
  return results.map((r) => r.observation ?? { candidate: r.candidate, lag: [], error: r.thrown!.message });
}

export async function run(state: WorkflowState, deps: Deps & Pick<StepDeps, 'groups'>): Promise<AssessResult> {
  const { plan } = state;
  // The deployed group's candidates; from the state only the decisions and times.
  const group = deployedGroup(deps.groups(), plan);
  // A switchover loops through this step while it waits; keep the first start.
  const startedAt = state.assess?.startedAt ?? deps.now();
  const outage = outageStart(plan);
  const stopped = plan.mode === 'switchover' ? writesStoppedAt(state) : null;
  // Until the writers are stopped (issue 10 moves this wait after them), a switchover waits for what
  // was written before the wait began.
  const reference = stopped ?? { at: startedAt, what: 'writes made before the wait began; the writers were not stopped yet' };
  const observations = await observeAll(group, Math.min(outage.at, reference.at) - LOOKBACK_MS, deps);
  const candidates = observations.map((o) => assessCandidate(o, outage.at));
  const now = deps.now();
  const { decision, reason, chosen } =
    plan.mode === 'switchover'
      ? decideSwitchover(group, observations, candidates, { at: reference.at, what: stopped ? stopped.what : reference.what }, (now - startedAt) / 1000)
      : decideFailover(plan, candidates);
  const shown = chosen ? candidates.find((c) => c.id === chosen.id && c.region === chosen.region)! : candidates[0];
  const replica = observations.find((o) => o.candidate.dbInstanceIdentifier === shown.id && o.candidate.region === shown.region)?.replica;
  return {
    startedAt,
    endedAt: decision === 'wait' ? undefined : now,
    decision,
    reason,
    lagSeconds: shown.lagSeconds,
    replica,
    candidates,
    ...(chosen ? { chosen } : {}),
    outageStartedAt: outage.at,
    outageStartBasis: outage.basis,
  };
}

const deps = {
  now: Date.now,
  groups: bakedGroups,
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, ...CLIENT_CONFIG })),
};
export const handler = stepHandler('assess-replica', (state: WorkflowState) => run(state, deps));
