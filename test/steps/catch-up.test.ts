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
import { REPLICA, SOURCE_ARN, SOURCE_DB, T0, deployed, ordersGroup, planFor } from '../support/fixtures';

const REBOOTED = T0 - 90_000;
/** When the database fence was confirmed: after this, the old database accepted nothing. */
const FENCED = T0 - 30_000;
const fence = (engine: string): DatabaseFenceResult => ({
  id: SOURCE_DB,
  region: 'us-east-1',
  engine,
  status: 'available',
  phase: 'confirmed',
  method: 'sg+reboot',
  confirmed: true,
  rebootRequestedAt: REBOOTED,
  confirmedAt: FENCED,
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
const point = (at: number, value: number) => ({ Timestamp: new Date(at), Maximum: value, Minimum: value });

describe('catch-up', () => {
  const cw = mockClient(CloudWatchClient);
  const rds = mockClient(RDSClient);
  const clock = { ms: T0 };
  const deps = { ...deployed(ordersGroup()), now: () => clock.ms, cloudwatch: (region: string) => new CloudWatchClient({ region }), rds: (region: string) => new RDSClient({ region }) };

  afterEach(() => {
    cw.reset();
    rds.reset();
    clock.ms = T0;
  });

  const described = (engine: string, over: Record<string, unknown> = {}) => ({
    DBInstances: [{ DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'available', Engine: engine, ReadReplicaSourceDBInstanceIdentifier: SOURCE_ARN, ...over }],
  });

  describe('precheck', () => {
    const candidate = { dbInstanceIdentifier: REPLICA, region: 'us-west-2' };
    const replica = { id: REPLICA, region: 'us-west-2', status: 'available', isReplica: true, sourceId: SOURCE_ARN };

    it.each([
      ['proceeds for an available replica of the configured source', replica, 'proceed', `switching over to ${REPLICA}: it is available; stopping the writers first, then waiting for it to catch up`],
      ['aborts when the replica is missing', undefined, 'abort', `not switching over: replica ${REPLICA} not found in us-west-2`],
      ['aborts for another source', { ...replica, sourceId: 'arn:aws:rds:us-east-1:123456789012:db:other' }, 'abort', `not switching over: ${REPLICA} replicates from arn:aws:rds:us-east-1:123456789012:db:other, not the configured source ${SOURCE_ARN}`],
      ['aborts for a replica that is not available', { ...replica, status: 'backing-up' }, 'abort', `not switching over: replica ${REPLICA} is backing-up, not available`],
    ])('%s', (_, view, decision, reason) => {
      expect(decidePrecheck(ordersGroup(), candidate, view)).toEqual({ decision, reason });
    });

    it('describes the replica, chooses it, and changes nothing', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(described('postgres'));

      const result = await precheck(state(), deps);

      expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA });
      expect(result).toMatchObject({ decision: 'proceed', chosen: { id: REPLICA, region: 'us-west-2' }, lagSeconds: null, startedAt: T0, endedAt: T0 });
    });

    it('aborts, nothing stopped, when no candidate can be switched to', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(described('postgres', { DBInstanceStatus: 'storage-full' }));

      const result = await precheck(state(), deps);

      expect(result).toMatchObject({ decision: 'abort', reason: `not switching over: replica ${REPLICA} is storage-full, not available` });
    });
  });

  describe('waitForCatchUp (through the lag gate, assess-replica.replicaCaughtUp)', () => {
    it('postgres: proceeds once the source shows no WAL outstanding after the database fence was confirmed', async () => {
      // The replica's ReplicaLag grows once the writes stop; the source's slot lag is 0 after the fence.
      rds.on(DescribeDBInstancesCommand).resolves(described('postgres'));
      cw.on(GetMetricStatisticsCommand, { MetricName: 'ReplicaLag' }).resolves({ Datapoints: [] });
      cw.on(GetMetricStatisticsCommand, { MetricName: 'OldestReplicationSlotLag' }).resolves({ Datapoints: [point(FENCED + 60_000, 0), point(FENCED - 120_000, 0)] });
      clock.ms = FENCED + 240_000;

      const result = await waitForCatchUp(state('postgres'), deps);

      expect(cw).toHaveReceivedCommandWith(GetMetricStatisticsCommand, { MetricName: 'OldestReplicationSlotLag', Dimensions: [{ Name: 'DBInstanceIdentifier', Value: SOURCE_DB }] });
      expect(result).toMatchObject({ decision: 'proceed', lagSeconds: 0, chosen: { id: REPLICA, region: 'us-west-2' }, endedAt: FENCED + 240_000 });
      expect(result.reason).toMatch(/^switching over to orders-replica: the writers are fenced and it has every write \(orders-replica has every write made before /);
    });

    it('waits while nothing after the fence shows it caught up, then aborts after lagTimeoutSeconds saying what stays fenced', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(described('postgres'));
      cw.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
      clock.ms = FENCED + 60_000;

      const waiting = await waitForCatchUp(state('postgres'), deps);
      clock.ms = FENCED + 60_000 + 600_000;
      const aborted = await waitForCatchUp(state('postgres', waiting), deps);

      expect(waiting).toMatchObject({ decision: 'wait', startedAt: FENCED + 60_000 });
      expect(waiting.reason).toMatch(/^waiting for orders-replica to catch up after the writers were fenced: orders-replica is not yet shown to have every write/);
      expect(aborted.decision).toBe('abort');
      expect(aborted.startedAt).toBe(FENCED + 60_000);
      expect(aborted.reason).toMatch(/^not switching over: orders-replica did not catch up within 600 s after the writers were fenced \(.*\); nothing was promoted\. The writers stay fenced: start them and restore orders-primary's security groups \(sg-0app0000000000000\) by hand$/);
    });
  });
});
