/**
 * Switchover, which must lose nothing: the writers are stopped and the old database fenced FIRST, and
 * only then does the workflow wait for the replica to have everything, then promote. (Waiting for lag 0
 * while writers still run, then stopping them, loses whatever was written in between.)
 *
 * `precheck` runs before anything is stopped: the first candidate replica (config order) that exists,
 * is available and replicates from the configured source is chosen; none: the switchover is ABORTED
 * with nothing changed. `wait` runs after the fences and asks the lag gate (assess-replica.ts,
 * `replicaCaughtUp`, issue 11) whether the chosen replica is shown to have every write made before the
 * old database stopped accepting them: the moment its fence was confirmed, after the reboot that closed
 * the last connections (per engine: PostgreSQL's replay time and the source's slot lag, MySQL's
 * Seconds_Behind_Master; see lambdas/core/replica-lag.ts).
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { perRegion, type StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { stepHandler } from '../runtime/powertools';
import type { AssessResult, ReplicaView, WorkflowState } from '../core/workflow-state';
import { chosenReplica, replicaCandidates } from '../core/candidates';
import { sourceDatabase, type GroupConfig } from '../core/config';
import { deployedGroup } from '../core/deployed-group';
import { describeReplica, replicaCaughtUp } from './assess-replica';

export type CatchUpEvent = { action: 'precheck' | 'wait'; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'rds' | 'cloudwatch' | 'groups'>;

/** May a switchover start stopping the writers with this replica? A pure function of its description. */
export function decidePrecheck(group: Pick<GroupConfig, 'replica'>, candidate: { dbInstanceIdentifier: string; region: string }, replica: ReplicaView | undefined): Pick<AssessResult, 'decision' | 'reason'> {
  const { dbInstanceIdentifier: id, region } = candidate;
  if (!replica) return { decision: 'abort', reason: `not switching over: replica ${id} not found in ${region}` };
  if (!replica.isReplica) return { decision: 'abort', reason: `not switching over: ${id} is not a read replica (already standalone?)` };
  const expected = sourceDatabase(group.replica);
  const actual = sourceDatabase({ source: replica.sourceId ?? '', region });
  if (actual.id !== expected.id || actual.region !== expected.region) {
    return { decision: 'abort', reason: `not switching over: ${id} replicates from ${replica.sourceId}, not the configured source ${group.replica.source}` };
  }
  if (replica.status !== 'available') return { decision: 'abort', reason: `not switching over: replica ${id} is ${replica.status}, not available` };
  return { decision: 'proceed', reason: `switching over to ${id}: it is available; stopping the writers first, then waiting for it to catch up` };
}

export async function precheck(state: WorkflowState, deps: Deps): Promise<AssessResult> {
  const startedAt = deps.now();
  const refusals: string[] = [];
  const group = deployedGroup(deps.groups(), state.plan);
  for (const candidate of replicaCandidates(group)) {
    const replica = await describeReplica(candidate, deps);
    const { decision, reason } = decidePrecheck(group, candidate, replica);
    if (decision === 'proceed') {
      return { startedAt, endedAt: deps.now(), decision, reason, lagSeconds: null, replica, chosen: { id: candidate.dbInstanceIdentifier, region: candidate.region } };
    }
    refusals.push(reason.replace(/^not switching over: /, ''));
  }
  return { startedAt, endedAt: deps.now(), decision: 'abort', reason: `not switching over: ${refusals.join('; ')}`, lagSeconds: null };
}

export async function waitForCatchUp(state: WorkflowState, deps: Deps): Promise<AssessResult> {
  const group = deployedGroup(deps.groups(), state.plan);
  const now = deps.now();
  // Looping here keeps the first start; the precheck's result (decision proceed) is replaced.
  const startedAt = state.assess?.decision === 'wait' ? state.assess.startedAt : now;
  const db = state.databaseFence;
  // The moment the old database was confirmed behind the deny-all group after its reboot: no write
  // can have been accepted after it. (The primary's stop is earlier, and other clients still wrote.)
  const stoppedAt = db?.confirmedAt ?? db?.endedAt ?? state.fence?.endedAt ?? now;
  const candidate = chosenReplica(group, state);
  const chosen = { id: candidate.dbInstanceIdentifier, region: candidate.region };
  const caught = await replicaCaughtUp(candidate, stoppedAt, deps);
  const keep = { replica: state.assess?.replica, chosen };
  if (caught.caughtUp) {
    return { startedAt, endedAt: now, decision: 'proceed', reason: `switching over to ${chosen.id}: the writers are fenced and it has every write (${caught.reason})`, lagSeconds: 0, ...keep };
  }
  const limit = group.switchover.lagTimeoutSeconds;
  if ((now - startedAt) / 1000 < limit) {
    return { startedAt, decision: 'wait', reason: `waiting for ${chosen.id} to catch up after the writers were fenced: ${caught.reason}`, lagSeconds: null, ...keep };
  }
  return {
    startedAt,
    endedAt: now,
    decision: 'abort',
    reason:
      `not switching over: ${chosen.id} did not catch up within ${limit} s after the writers were fenced (${caught.reason}); nothing was promoted. ` +
      `The writers stay fenced: start them and restore ${db?.id ?? 'the old database'}'s security groups (${db?.originalSecurityGroupIds?.join(', ') ?? 'see the record'}) by hand`,
    lagSeconds: null,
    ...keep,
  };
}

const deps: Deps = {
  now: Date.now,
  groups: bakedGroups,
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, ...CLIENT_CONFIG })),
};
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { precheck, wait: waitForCatchUp } as const;
export const run = (event: CatchUpEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('catch-up', (event: CatchUpEvent) => run(event, deps));
