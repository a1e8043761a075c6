/**
 * The data-loss estimate (lambdas/core/data-loss.ts) and what the history item says about it and about
 * each candidate replica: an upper bound from (writes stopped, as the workflow knows it) − (what the
 * promoted replica is known to have), reported only when something was promoted.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { estimateDataLoss, writesStoppedAt } from '../../lambdas/core/data-loss';
import { buildHistoryItem } from '../../lambdas/core/history';
import type { CandidateAssessment, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, OLD_PRIMARY, PROMOTED, REPLICA, at, ordersInput, probePlanFor, succeededState } from '../support/fixtures';

const EAST = 'orders-replica-east';
const group = parseConfig({ groups: [{ ...ordersInput(), additionalReplicas: [{ dbInstanceIdentifier: EAST, region: 'us-east-2' }] }] }).groups[0];
const dnsChanges = [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: { ttl: 300, values: [OLD_PRIMARY] }, after: [PROMOTED] }];

/** The chosen replica had everything up to at(-62) (ReplicaLag 2 s in the minute from at(-60)); the other 40 s behind. */
const candidates: CandidateAssessment[] = [
  {
    id: REPLICA,
    region: 'us-west-2',
    engine: 'postgres',
    verdict: 'pass',
    reason: 'ReplicaLag 2 s in the minute from 11:59:00Z, 0 s before the outage began at 12:00:00Z, within maxLagSeconds 30 s',
    lagSeconds: 2,
    replicatedThrough: at(-62),
    basis: 'ReplicaLag 2 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:58Z',
  },
  {
    id: EAST,
    region: 'us-east-2',
    engine: 'postgres',
    verdict: 'force',
    reason: 'replica lag 40 s of orders-replica-east in the minute from 11:59:00Z exceeds maxLagSeconds 30 s',
    lagSeconds: 40,
    replicatedThrough: at(-100),
    basis: 'ReplicaLag 40 s in the minute from 11:59:00Z: orders-replica-east had replayed every commit up to 11:58:20Z',
  },
];

/** A failover of the two-candidate group: orders-replica chosen, fence confirmed at(8), promoted at(30). */
function failedOver(): WorkflowState {
  const state = succeededState(probePlanFor(group), { lagSeconds: 2, dnsChanges });
  return { ...state, assess: { ...state.assess!, candidates, chosen: { id: REPLICA, region: 'us-west-2' } } };
}

describe('estimateDataLoss', () => {
  it('fence confirmed at 12:00:08, replica known to have everything up to 11:58:58: at most 70 s', () => {
    expect(estimateDataLoss(failedOver(), group)).toEqual({
      estimatedSeconds: 70,
      reason:
        'at most 70 s of writes, those committed between 11:58:58Z and 12:00:08Z: ReplicaLag 2 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:58Z; ' +
        `the primary ${INSTANCE} was confirmed stopped (recorded before the old database was fenced: other clients of it are not counted) (the source may have stopped earlier: the workflow only knows when that was confirmed)`,
      replicatedThrough: at(-62),
      writesStoppedAt: at(8),
    });
  });

  it('the promotion refined the bound with datapoints that arrived meanwhile: the later one counts', () => {
    const state = failedOver();
    state.promote = { ...state.promote!, replicatedThrough: at(-5), replicationBasis: 'ReplicaLag 65 s in the minute from 12:01:00Z: orders-replica had replayed every commit up to 11:59:55Z' };

    expect(estimateDataLoss(state, group)).toMatchObject({ estimatedSeconds: 13, replicatedThrough: at(-5) });
  });

  it('a refinement never lowers the bound', () => {
    const state = failedOver();
    state.promote = { ...state.promote!, replicatedThrough: at(-600), replicationBasis: 'older' };

    expect(estimateDataLoss(state, group).replicatedThrough).toBe(at(-62));
  });

  it('the old database fenced after the primary stopped: its fence counts, since its other clients wrote until then', () => {
    const state = { ...failedOver(), databaseFence: { id: 'orders-primary-db', region: 'us-east-1', status: 'available', phase: 'confirmed', confirmed: true, confirmedAt: at(30), method: 'sg+reboot', dryRun: false, reason: '', polls: 3, startedAt: at(9) } } as WorkflowState;

    expect(writesStoppedAt(state)).toEqual({ at: at(30), what: 'the old database orders-primary-db was confirmed fenced (deny-all security group, rebooted)', confirmed: true });
    expect(estimateDataLoss(state, group).estimatedSeconds).toBe(92);
  });

  it('an old database found failed stops writes when it was seen so; an attested one bounds nothing before the promotion', () => {
    const failed = { ...failedOver(), databaseFence: { id: 'orders-primary-db', region: 'us-east-1', status: 'failed', phase: 'confirmed', confirmed: true, confirmedAt: at(9), method: 'none', dryRun: false, reason: '', polls: 0, startedAt: at(9) } } as WorkflowState;
    expect(writesStoppedAt(failed)).toMatchObject({ at: at(9), what: 'the old database orders-primary-db was found failed, which takes no writes' });

    const attested = { ...failed, databaseFence: { ...failed.databaseFence!, method: 'attested', confirmed: true } } as WorkflowState;
    expect(writesStoppedAt(attested)).toMatchObject({ at: attested.promote!.startedAt, confirmed: false, what: expect.stringContaining('not confirmed fenced (an operator attested it)') });
  });

  it('isolated, not stopped: counts up to the promotion and says what it does not count', () => {
    const state = failedOver();
    state.fence = { ...state.fence!, method: 'isolate', state: 'stopping' };

    expect(estimateDataLoss(state, group)).toMatchObject({
      estimatedSeconds: 71,
      reason: expect.stringMatching(
        new RegExp(`; replication ended \\(PromoteReadReplica\\); the primary ${INSTANCE} was isolated, not stopped, and keeps the connections it had, so writes it accepted after then are not counted$`),
      ),
    });
  });

  it('forced with no datapoint: unknown, and why', () => {
    const state = failedOver();
    state.assess!.candidates = [{ ...candidates[0], verdict: 'force', replicatedThrough: null, basis: 'no ReplicaLag datapoint bounds what orders-replica had replicated' }];

    expect(estimateDataLoss(state, group)).toMatchObject({ estimatedSeconds: null, reason: 'unknown: no ReplicaLag datapoint bounds what orders-replica had replicated' });
  });

  it('nothing promoted: no data loss, whatever the lag was', () => {
    const state = failedOver();
    const aborted: WorkflowState = { plan: state.plan, lock: state.lock, assess: { ...state.assess!, decision: 'abort', chosen: undefined }, outcome: 'ABORTED' };
    const fenceFailed: WorkflowState = { ...state, promote: undefined, dns: undefined, outcome: 'FENCE_FAILED' };
    const promotionFailed: WorkflowState = { ...state, promote: { ...state.promote!, confirmed: false }, dns: undefined, outcome: 'PROMOTION_FAILED' };

    for (const s of [aborted, fenceFailed, promotionFailed]) {
      expect(estimateDataLoss(s, group)).toEqual({ estimatedSeconds: null, reason: 'none: nothing was promoted', replicatedThrough: null, writesStoppedAt: null });
    }
  });
});

describe('the history item: data loss and replicas', () => {
  it('records the estimate, its basis, and what happened to every candidate', () => {
    // Act
    const item = buildHistoryItem(failedOver(), group, at(40));

    // Assert
    expect(item.dataLossSeconds).toBe(70);
    expect(item.dataLoss).toMatchObject({ estimatedSeconds: 70, replicatedThrough: '2026-03-01T11:58:58.000Z', writesStoppedAt: '2026-03-01T12:00:08.000Z' });
    expect(item.promotion).toMatchObject({ dbInstanceIdentifier: REPLICA, region: 'us-west-2', confirmed: true });
    expect(item.replicas).toEqual([
      {
        id: REPLICA,
        region: 'us-west-2',
        engine: 'postgres',
        chosen: true,
        promoted: true,
        lagSeconds: 2,
        replicatedThrough: '2026-03-01T11:58:58.000Z',
        reason: `chosen, of 2 candidates the one that loses the least among those the gate lets through: ${candidates[0].reason}`,
      },
      {
        id: EAST,
        region: 'us-east-2',
        engine: 'postgres',
        chosen: false,
        promoted: false,
        lagSeconds: 40,
        replicatedThrough: '2026-03-01T11:58:20.000Z',
        reason: `passed over: ${candidates[1].reason}; left untouched: it still replicates from the old database, so it no longer protects anything`,
      },
    ]);
  });

  it('ABORTED: no data loss, every candidate not promoted with the gate sentence', () => {
    const state = failedOver();
    const aborted: WorkflowState = { plan: state.plan, lock: state.lock, assess: { ...state.assess!, decision: 'abort', chosen: undefined }, outcome: 'ABORTED' };

    const item = buildHistoryItem(aborted, group, at(40));

    expect(item.dataLossSeconds).toBeNull();
    expect(item.replicas!.map((r) => [r.chosen, r.promoted, r.reason])).toEqual([
      [false, false, `not promoted: ${candidates[0].reason}`],
      [false, false, `not promoted: ${candidates[1].reason}`],
    ]);
  });

  it('the chosen replica in another region: the promotion record and the planned actions name it', () => {
    const state = failedOver();
    state.plan = { ...state.plan, dryRun: true };
    state.outcome = 'DRY_RUN';
    state.assess!.chosen = { id: EAST, region: 'us-east-2' };

    const item = buildHistoryItem(state, group, at(40));

    expect(item.promotion).toMatchObject({ region: 'us-east-2' });
    expect(item.plannedActions).toContain(`promote RDS read replica ${EAST} in us-east-2`);
    expect(item.dataLoss).toMatchObject({ estimatedSeconds: null, reason: 'none: a dry run promotes nothing' });
  });
});
