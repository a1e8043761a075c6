/**
 * catch-up: a switchover checks the replica before stopping anything, and after the fences waits for a
 * datapoint taken after the old database stopped accepting writes that shows nothing outstanding.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { decidePrecheck, precheck, waitForCatchUp } from '../../lambdas/steps/catch-up';
import type { DatabaseFenceResult, WorkflowState } from '../../lambdas/core/workflow-state';
import { REPLICA, SOURCE_ARN, SOURCE_DB, T0, ordersGroup, planFor } from '../support/fixtures';

const REBOOTED = T0 - 90_000;
const fence = (engine: string): DatabaseFenceResult => ({
  id: SOURCE_DB,
  region: 'us-east-1',
  engine,
  status: 'available',
  phase: 'confirmed',
  method: 'sg+reboot',
  confirmed: true,
  rebootRequestedAt: REBOOTED,
  confirmedAt: T0 - 30_000,
  originalSecurityGroupIds: ['sg-0app0000000000000'],
  dryRun: false,
  polls: 3,
  startedAt: T0 - 120_000,
  reason: 'fenced',
});
const state = (engine = 'postgres', assess?: WorkflowState['assess']): WorkflowState => ({
  plan: planFor(ordersGroup(), { mode: 'switchover', trigger: { type: 'manual' } }),
  databaseFence: fence(engine),
  ...(assess ? { assess } : {}),
});
const point = (at: number, value: number) => ({ Timestamp: new Date(at), Maximum: value });

describe('catch-up', () => {
  const cw = mockClient(CloudWatchClient);
  const rds = mockClient(RDSClient);
  const clock = { ms: T0 };
  const deps = { now: () => clock.ms, cloudwatch: (region: string) => new CloudWatchClient({ region }), rds: (region: string) => new RDSClient({ region }) };

  afterEach(() => {
    cw.reset();
    rds.reset();
    clock.ms = T0;
  });

  describe('precheck', () => {
    const replica = { id: REPLICA, region: 'us-west-2', status: 'available', isReplica: true, sourceId: SOURCE_ARN };

    it.each([
      ['proceeds for an available replica of the configured source', replica, 'proceed', `switching over: replica ${REPLICA} is available; stopping the writers first, then waiting for it to catch up`],
      ['aborts when the replica is missing', undefined, 'abort', `not switching over: replica ${REPLICA} not found in us-west-2`],
      ['aborts for another source', { ...replica, sourceId: 'arn:aws:rds:us-east-1:123456789012:db:other' }, 'abort', `not switching over: ${REPLICA} replicates from arn:aws:rds:us-east-1:123456789012:db:other, not the configured source ${SOURCE_ARN}`],
      ['aborts for a replica that is not available', { ...replica, status: 'backing-up' }, 'abort', `not switching over: replica ${REPLICA} is backing-up, not available`],
    ])('%s', (_, view, decision, reason) => {
      expect(decidePrecheck({ group: ordersGroup() }, view)).toEqual({ decision, reason });
    });

    it('describes the replica and changes nothing', async () => {
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'available', ReadReplicaSourceDBInstanceIdentifier: SOURCE_ARN }] });

      const result = await precheck(state(), deps);

      expect(rds).toHaveReceivedCommandOnce(DescribeDBInstancesCommand);
      expect(result).toMatchObject({ decision: 'proceed', lagSeconds: null, startedAt: T0, endedAt: T0 });
    });
  });

  describe('waitForCatchUp', () => {
    it('postgres: reads OldestReplicationSlotLag of the source, counting only datapoints after the reboot', async () => {
      // A 0 from before the reboot proves nothing; the one after it does.
      cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [point(REBOOTED - 60_000, 0), point(REBOOTED + 30_000, 0)] });

      const result = await waitForCatchUp(state('postgres'), deps);

      expect(cw).toHaveReceivedCommandWith(GetMetricStatisticsCommand, {
        Namespace: 'AWS/RDS',
        MetricName: 'OldestReplicationSlotLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: SOURCE_DB }],
        Statistics: ['Maximum'],
        Period: 60,
      });
      expect(result).toMatchObject({ decision: 'proceed', lagSeconds: 0, endedAt: T0 });
      expect(result.reason).toBe(
        `switching over: the writers are fenced and the replica has caught up (OldestReplicationSlotLag of ${SOURCE_DB} 0 bytes at ${new Date(REBOOTED + 30_000).toISOString()})`,
      );
    });

    it('waits while the only datapoints are from before the fence', async () => {
      cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [point(REBOOTED - 60_000, 0)] });

      const result = await waitForCatchUp(state('postgres'), deps);

      expect(result).toMatchObject({ decision: 'wait', reason: `waiting for the replica to catch up after the writers were fenced: no OldestReplicationSlotLag datapoint of ${SOURCE_DB} since the fence yet` });
    });

    it('mysql: reads ReplicaLag of the replica; -1 is replication not running, and aborts after lagTimeoutSeconds saying what stays fenced', async () => {
      cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [point(REBOOTED + 30_000, -1)] });

      const waiting = await waitForCatchUp(state('mysql'), deps);
      clock.ms = T0 + 300_000;
      const aborted = await waitForCatchUp(state('mysql', waiting), deps);

      expect(cw).toHaveReceivedCommandWith(GetMetricStatisticsCommand, { MetricName: 'ReplicaLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: REPLICA }] });
      expect(waiting).toMatchObject({ decision: 'wait', lagSeconds: -1 });
      expect(aborted.decision).toBe('abort');
      expect(aborted.startedAt).toBe(T0);
      expect(aborted.reason).toMatch(/^not switching over: the replica did not catch up within 300 s after the writers were fenced \(ReplicaLag of orders-replica -1 s at .* \(replication not running\)\); nothing was promoted\. The writers stay fenced: start them and restore orders-primary's security groups \(sg-0app0000000000000\) by hand$/);
    });
  });
});
