/**
 * Step 5: promote the read replica to a standalone instance. `start` calls PromoteReadReplica (a replica
 * already promoted, or already promoting, counts as done or in progress); `check` polls until it is
 * available and no longer a replica, and fails with PromotionFailed on a failed status or the timeout.
 * The state machine only reaches this step after the fence confirmed the primary stopped. It promotes
 * the replica the assess step chose (chosenReplica); the other candidates are left untouched. Once the
 * promotion is confirmed, `check` refines the chosen replica's replicated-through bound with the
 * datapoints that arrived meanwhile (the notification, sent next, carries the estimate).
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PromoteReadReplicaCommand, RDSClient } from '@aws-sdk/client-rds';
import { perRegion, type StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { sourceDatabase, type GroupConfig } from '../core/config';
import { deployedGroup } from '../core/deployed-group';
import { awsErrorName, PromotionFailed, stepErrorFrom } from '../core/errors';
import { stepHandler } from '../runtime/powertools';
import type { PromoteResult, ReplicaView, WorkflowState } from '../core/workflow-state';
import { chosenReplica } from '../core/candidates';
import { LOOKBACK_MS, replicationBound } from '../core/replica-lag';
import { describeReplica, readReplicaLag, readSourceSlotLag } from './assess-replica';

export type PromoteEvent = { action: keyof typeof ACTIONS; state: WorkflowState };

type Deps = Pick<StepDeps, 'now' | 'rds' | 'groups'> & Partial<Pick<StepDeps, 'cloudwatch'>>;

// Statuses a promotion does not come back from by itself.
const FAILED_STATUSES = new Set([
  'failed',
  'incompatible-parameters',
  'incompatible-restore',
  'incompatible-network',
  'inaccessible-encryption-credentials',
  'storage-full',
  'deleting',
]);

const promoted = (r: ReplicaView) => r.status === 'available' && !r.isReplica;

export async function startPromotion(state: WorkflowState, deps: Deps): Promise<PromoteResult> {
  const { plan } = state;
  // The chosen replica only if it is one of the deployed group's candidates (InvalidInput otherwise).
  const group = deployedGroup(deps.groups(), plan);
  const candidate = chosenReplica(group, state);
  const id = candidate.dbInstanceIdentifier;
  const startedAt = deps.now();
  const base = { dbInstanceIdentifier: id, dryRun: plan.dryRun, polls: 0, alreadyPromoted: false };
  if (plan.dryRun) {
    // RDS has no dry run: the assess step already checked that the replica can be promoted.
    const replica = await describeReplica(candidate, deps);
    return {
      ...base,
      startedAt,
      endedAt: deps.now(),
      confirmed: true,
      status: replica?.status ?? 'gone',
      endpointAddress: replica?.endpointAddress,
      reason: `dry run: would call PromoteReadReplica on ${id}`,
    };
  }
  try {
    await deps.rds(candidate.region).send(new PromoteReadReplicaCommand({ DBInstanceIdentifier: id }));
    return { ...base, startedAt, confirmed: false, status: 'modifying', reason: `PromoteReadReplica accepted for ${id}` };
  } catch (err) {
    if (awsErrorName(err) !== 'InvalidDBInstanceStateFault' && awsErrorName(err) !== 'InvalidDBInstanceState') {
      throw stepErrorFrom(err, `RDS PromoteReadReplica ${id}`, PromotionFailed);
    }
    // Refused because of its state: promoted already (a retry after success), or promoting now.
    const replica = await describeReplica(candidate, deps);
    if (replica && promoted(replica)) {
      return {
        ...base,
        startedAt,
        endedAt: deps.now(),
        confirmed: true,
        alreadyPromoted: true,
        status: replica.status,
        endpointAddress: replica.endpointAddress,
        reason: `${id} is already promoted: counts as done`,
      };
    }
    if (replica && ['modifying', 'rebooting', 'backing-up'].includes(replica.status)) {
      return { ...base, startedAt, confirmed: false, status: replica.status, reason: `${id} is already ${replica.status}: promotion in progress` };
    }
    throw stepErrorFrom(err, `RDS PromoteReadReplica ${id}`, PromotionFailed);
  }
}

export async function checkPromotion(state: WorkflowState, deps: Deps): Promise<PromoteResult> {
  const { plan } = state;
  const group = deployedGroup(deps.groups(), plan);
  const candidate = chosenReplica(group, state);
  const id = candidate.dbInstanceIdentifier;
  const previous = { ...state.promote!, dbInstanceIdentifier: id };
  const replica = await describeReplica(candidate, deps);
  const now = deps.now();
  const polls = previous.polls + 1;
  if (!replica) throw new PromotionFailed(`${id} disappeared while being promoted`);
  if (promoted(replica)) {
    const refined = await refineBound(group, state, deps);
    return { ...previous, polls, confirmed: true, status: replica.status, endpointAddress: replica.endpointAddress, endedAt: now, reason: `${id} promoted: available, no longer a replica`, ...refined };
  }
  if (FAILED_STATUSES.has(replica.status)) {
    throw new PromotionFailed(`${id} went to status ${replica.status} while being promoted`);
  }
  const waited = (now - previous.startedAt) / 1000;
  if (waited >= group.promotion.timeoutSeconds) {
    throw new PromotionFailed(`${id} still ${replica.status}${replica.isReplica ? ' (a replica)' : ''} ${Math.round(waited)} s after PromoteReadReplica (timeout ${group.promotion.timeoutSeconds} s)`);
  }
  return { ...previous, polls, confirmed: false, status: replica.status, reason: `${id} is ${replica.status}, waiting for available` };
}

/**
 * Once DNS is in sync, minutes later: refine the bound again with the datapoints that have arrived
 * since the promotion was confirmed (RDS's arrive one to three minutes late), so the record and the
 * notification carry the tightest bound the workflow can prove. Never lowers it: a later read sees
 * every datapoint the earlier one did; a CloudWatch error keeps what there was.
 */
export async function measureDataLoss(state: WorkflowState, deps: Deps): Promise<PromoteResult> {
  const group = deployedGroup(deps.groups(), state.plan);
  const previous = state.promote!;
  const refined = await refineBound(group, state, deps);
  const better = refined.replicatedThrough != null && (previous.replicatedThrough == null || refined.replicatedThrough > previous.replicatedThrough);
  return better ? { ...previous, ...refined } : previous;
}

/**
 * The chosen replica's replicated-through bound from every datapoint there is now of the minutes before
 * the promotion began (those after the outage arrive one to three minutes late, so the assess step had
 * not seen them). Never
 * lower than the assess step's bound (the history takes the higher); a CloudWatch error keeps that one.
 */
async function refineBound(group: GroupConfig, state: WorkflowState, deps: Deps): Promise<Pick<PromoteResult, 'replicatedThrough' | 'replicationBasis'>> {
  // The metrics of the deployed candidate and source; from the assessment only what it judged.
  const chosen = chosenReplica(group, state);
  const assessed = state.assess?.candidates?.find((c) => c.id === chosen.dbInstanceIdentifier && c.region === chosen.region);
  if (!deps.cloudwatch || !assessed || state.plan.dryRun) return {};
  const source = sourceDatabase(group.replica);
  const from = (state.assess?.outageStartedAt ?? state.plan.triggeredAt) - LOOKBACK_MS;
  const now = deps.now();
  try {
    const lag = await readReplicaLag(chosen.dbInstanceIdentifier, chosen.region, from, now, { cloudwatch: deps.cloudwatch });
    const slot = assessed.source?.slotLagTrusted
      ? await readSourceSlotLag({ id: source.id, region: source.region, trusted: true, note: 'covered' }, from, now, { cloudwatch: deps.cloudwatch })
      : undefined;
    // Replication ends when the promotion starts, and what RDS reports from then on is not documented
    // (a MySQL replica whose threads were stopped may read 0; a PostgreSQL instance out of recovery has no
    // replay to measure): only minutes that began before it count, so the bound stays a lower bound.
    const until = state.promote?.startedAt ?? now;
    const bound = replicationBound({ replica: { id: chosen.dbInstanceIdentifier, engine: assessed.engine ?? undefined }, lag, slot }, until);
    return { replicatedThrough: bound.through, replicationBasis: bound.basis };
  } catch {
    return {};
  }
}

const deps: Deps = {
  now: Date.now,
  groups: bakedGroups,
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, ...CLIENT_CONFIG })),
};
/** The step's actions, by the name the state machine passes (see lib/infra/workflow-states.ts). */
export const ACTIONS = { start: startPromotion, check: checkPromotion, measure: measureDataLoss } as const;
export const run = (event: PromoteEvent, deps: Deps) => ACTIONS[event.action](event.state, deps);
export const handler = stepHandler('promote-replica', (event: PromoteEvent) => run(event, deps));
