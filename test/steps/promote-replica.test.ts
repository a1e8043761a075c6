/**
 * Step 5, promote-replica: PromoteReadReplica, then poll DescribeDBInstances until the instance is
 * available and no longer a replica. A retry after success, or during a promotion, must not fail.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  PromoteReadReplicaCommand,
  RDSClient,
  RDSServiceException,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { parseConfig } from '../../lambdas/core/config';
import { checkPromotion, run, startPromotion } from '../../lambdas/steps/promote-replica';
import type { PromoteResult, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, PROMOTED as ENDPOINT, REPLICA, T0, deployed, ordersGroup, ordersInput, planFor, failure } from '../support/fixtures';

const SOURCE_ARN = 'arn:aws:rds:us-east-1:123456789012:db:orders-primary';

const group = ordersGroup();

/** Plan started 30 s and triggered 60 s before T0; the primary was fenced. */
function state(options: { dryRun?: boolean; promote?: PromoteResult } = {}): WorkflowState {
  const plan = planFor(group, { dryRun: options.dryRun ?? false, startedAt: T0 - 30_000, triggeredAt: T0 - 60_000 });
  return {
    plan,
    fence: { instanceId: INSTANCE, method: 'force-stop', dryRun: plan.dryRun, polls: 2, startedAt: T0 - 20_000, endedAt: T0 - 5_000, confirmed: true, state: 'stopped', reason: 'stopped' },
    ...(options.promote ? { promote: options.promote } : {}),
  };
}

const db = (status: string, isReplica: boolean): { DBInstances: DBInstance[] } => ({
  DBInstances: [
    {
      DBInstanceIdentifier: REPLICA,
      DBInstanceStatus: status,
      ReadReplicaSourceDBInstanceIdentifier: isReplica ? SOURCE_ARN : undefined,
      Endpoint: { Address: ENDPOINT, Port: 5432 },
    },
  ],
});

const invalidState = () =>
  new InvalidDBInstanceStateFault({
    $metadata: { httpStatusCode: 400 },
    message: `DB Instance ${REPLICA} is not a read replica.`,
  });

describe('promote-replica', () => {
  const rds = mockClient(RDSClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const clock = { ms: T0 };
  const regions: string[] = [];
  const deps = { ...deployed(group), now: () => clock.ms, rds: (region: string) => (regions.push(region), new RDSClient({ region })) };

  afterEach(() => {
    rds.reset();
    cloudwatch.reset();
    clock.ms = T0;
    regions.length = 0;
  });

  describe('startPromotion', () => {
    it('sends PromoteReadReplica to the replica region', async () => {
      // Arrange
      rds.on(PromoteReadReplicaCommand).resolves({ DBInstance: { DBInstanceIdentifier: REPLICA, DBInstanceStatus: 'modifying' } });

      // Act
      const result = await startPromotion(state(), deps);

      // Assert
      expect(rds).toHaveReceivedCommandExactlyOnceWith(PromoteReadReplicaCommand, { DBInstanceIdentifier: REPLICA });
      expect(regions).toEqual(['us-west-2']);
      expect(result).toEqual({
        dbInstanceIdentifier: REPLICA,
        dryRun: false,
        polls: 0,
        alreadyPromoted: false,
        startedAt: T0,
        confirmed: false,
        status: 'modifying',
        reason: `PromoteReadReplica accepted for ${REPLICA}`,
      });
    });

    it('counts an already-promoted instance (InvalidDBInstanceStateFault) as done, without promoting again', async () => {
      // Arrange: a retry after the first promotion went through.
      rds.on(PromoteReadReplicaCommand).rejects(invalidState());
      rds.on(DescribeDBInstancesCommand).resolves(db('available', false));

      // Act
      const result = await startPromotion(state(), deps);

      // Assert
      expect(rds).toHaveReceivedCommandTimes(PromoteReadReplicaCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA });
      expect(result).toEqual({
        dbInstanceIdentifier: REPLICA,
        dryRun: false,
        polls: 0,
        alreadyPromoted: true,
        startedAt: T0,
        endedAt: T0,
        confirmed: true,
        status: 'available',
        endpointAddress: ENDPOINT,
        reason: `${REPLICA} is already promoted: counts as done`,
      });
    });

    it('counts an instance already modifying as a promotion in progress', async () => {
      rds.on(PromoteReadReplicaCommand).rejects(invalidState());
      rds.on(DescribeDBInstancesCommand).resolves(db('modifying', true));

      const result = await startPromotion(state(), deps);

      expect(result).toMatchObject({
        confirmed: false,
        alreadyPromoted: false,
        status: 'modifying',
        reason: `${REPLICA} is already modifying: promotion in progress`,
      });
      expect(result.endedAt).toBeUndefined();
    });

    it('fails with PromotionFailed when the state refusal is not a promotion', async () => {
      rds.on(PromoteReadReplicaCommand).rejects(invalidState());
      rds.on(DescribeDBInstancesCommand).resolves(db('storage-full', true));

      const error = await failure(startPromotion(state(), deps));

      expect(error.name).toBe('PromotionFailed');
      expect(error.message).toBe(`RDS PromoteReadReplica ${REPLICA} failed: InvalidDBInstanceStateFault: DB Instance ${REPLICA} is not a read replica.`);
    });

    it('fails with PromotionFailed when the replica does not exist', async () => {
      rds.on(PromoteReadReplicaCommand).rejects(new DBInstanceNotFoundFault({ $metadata: { httpStatusCode: 404 }, message: `DBInstance ${REPLICA} not found.` }));

      const error = await failure(startPromotion(state(), deps));

      expect(error.name).toBe('PromotionFailed');
      expect(error.message).toBe(`RDS PromoteReadReplica ${REPLICA} failed: DBInstanceNotFoundFault: DBInstance ${REPLICA} not found.`);
    });

    it('throws TransientAwsError when RDS throttles', async () => {
      rds.on(PromoteReadReplicaCommand).rejects(
        new RDSServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
      );

      const error = await failure(startPromotion(state(), deps));

      expect(error.name).toBe('TransientAwsError');
    });

    it('in a dry run, sends no PromoteReadReplica', async () => {
      // Arrange
      rds.on(DescribeDBInstancesCommand).resolves(db('available', true));

      // Act
      const result = await startPromotion(state({ dryRun: true }), deps);

      // Assert
      expect(rds).not.toHaveReceivedCommand(PromoteReadReplicaCommand);
      expect(result).toMatchObject({
        dryRun: true,
        confirmed: true,
        status: 'available',
        endpointAddress: ENDPOINT,
        reason: `dry run: would call PromoteReadReplica on ${REPLICA}`,
      });
    });
  });

  describe('checkPromotion', () => {
    const accepted: PromoteResult = {
      dbInstanceIdentifier: REPLICA,
      dryRun: false,
      polls: 0,
      alreadyPromoted: false,
      startedAt: T0,
      confirmed: false,
      status: 'modifying',
      reason: `PromoteReadReplica accepted for ${REPLICA}`,
    };

    it('polls modifying, rebooting, then available and no longer a replica: confirmed with the endpoint', async () => {
      // Arrange
      rds
        .on(DescribeDBInstancesCommand)
        .resolvesOnce(db('modifying', true))
        .resolvesOnce(db('rebooting', false))
        .resolves(db('available', false));

      // Act
      const seen: PromoteResult[] = [];
      let promote = accepted;
      for (const at of [30, 60, 90]) {
        clock.ms = T0 + at * 1000;
        promote = await checkPromotion(state({ promote }), deps);
        seen.push(promote);
      }

      // Assert
      expect(rds).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 3);
      expect(seen.map((p) => [p.polls, p.status, p.confirmed, p.reason])).toEqual([
        [1, 'modifying', false, `${REPLICA} is modifying, waiting for available`],
        [2, 'rebooting', false, `${REPLICA} is rebooting, waiting for available`],
        [3, 'available', true, `${REPLICA} promoted: available, no longer a replica`],
      ]);
      expect(promote).toMatchObject({ endpointAddress: ENDPOINT, startedAt: T0, endedAt: T0 + 90_000 });
    });

    it('is not confirmed while available but still a replica', async () => {
      rds.on(DescribeDBInstancesCommand).resolves(db('available', true));

      const result = await checkPromotion(state({ promote: accepted }), deps);

      expect(result).toMatchObject({ confirmed: false, status: 'available' });
    });

    it("fails with PromotionFailed on status 'failed'", async () => {
      rds.on(DescribeDBInstancesCommand).resolves(db('failed', true));

      const error = await failure(checkPromotion(state({ promote: accepted }), deps));

      expect(error.name).toBe('PromotionFailed');
      expect(error.message).toBe(`${REPLICA} went to status failed while being promoted`);
    });

    it('fails with PromotionFailed when the instance disappears', async () => {
      rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ $metadata: { httpStatusCode: 404 }, message: 'not found' }));

      const error = await failure(checkPromotion(state({ promote: accepted }), deps));

      expect(error.name).toBe('PromotionFailed');
      expect(error.message).toBe(`${REPLICA} disappeared while being promoted`);
    });

    it('fails with PromotionFailed once promotion.timeoutSeconds have passed', async () => {
      // Arrange
      rds.on(DescribeDBInstancesCommand).resolves(db('modifying', true));
      clock.ms = T0 + 1_800_000;

      // Act
      const error = await failure(checkPromotion(state({ promote: { ...accepted, polls: 359 } }), deps));

      // Assert
      expect(error.name).toBe('PromotionFailed');
      expect(error.message).toBe(`${REPLICA} still modifying (a replica) 1800 s after PromoteReadReplica (timeout 1800 s)`);
    });

    it('throws TransientAwsError when DescribeDBInstances answers a 5xx', async () => {
      rds.on(DescribeDBInstancesCommand).rejects(
        new RDSServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal failure' }),
      );

      const error = await failure(checkPromotion(state({ promote: accepted }), deps));

      expect(error.name).toBe('TransientAwsError');
    });
  });

  describe('several candidates: the one the assess step chose', () => {
    const EAST = 'orders-replica-east';
    const two = parseConfig({ groups: [{ ...ordersInput(), additionalReplicas: [{ dbInstanceIdentifier: EAST, region: 'us-east-2' }] }] }).groups[0];
    // The group with both candidates is the deployed one here.
    const twoDeps = { ...deps, ...deployed(two) };
    const chose = (promote?: PromoteResult): WorkflowState => ({
      ...state({ promote }),
      plan: planFor(two, { startedAt: T0 - 30_000, triggeredAt: T0 - 60_000 }),
      assess: {
        startedAt: T0 - 25_000,
        endedAt: T0 - 24_000,
        decision: 'proceed',
        reason: 'promoting orders-replica-east',
        lagSeconds: 1,
        chosen: { id: EAST, region: 'us-east-2' },
        outageStartedAt: T0 - 90_000,
        candidates: [
          { id: REPLICA, region: 'us-west-2', engine: 'postgres', verdict: 'force', reason: 'lag 40 s', lagSeconds: 40, replicatedThrough: T0 - 140_000, basis: 'b' },
          {
            id: EAST,
            region: 'us-east-2',
            engine: 'postgres',
            verdict: 'pass',
            reason: 'lag 1 s',
            lagSeconds: 1,
            replicatedThrough: T0 - 181_000,
            basis: 'ReplicaLag 1 s in the minute from 11:57:00Z',
            source: { id: 'orders-primary', region: 'us-east-1', slotLagTrusted: true },
          },
        ],
      },
    });

    it('promotes the chosen replica in its own region and leaves the others untouched', async () => {
      rds.on(PromoteReadReplicaCommand).resolves({});

      const result = await startPromotion(chose(), twoDeps);

      expect(rds).toHaveReceivedCommandExactlyOnceWith(PromoteReadReplicaCommand, { DBInstanceIdentifier: EAST });
      expect(regions).toEqual(['us-east-2']);
      expect(result).toMatchObject({ dbInstanceIdentifier: EAST, reason: `PromoteReadReplica accepted for ${EAST}` });
    });

    it('once confirmed, refines the bound with the datapoints that arrived during the promotion, of the minutes before it began', async () => {
      // Arrange: the minute from 11:59 (after the outage) shows the growth: 11:59:00 − 80 s = 11:57:40.
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: EAST, DBInstanceStatus: 'available', Endpoint: { Address: 'east.example', Port: 5432 } }] });
      cloudwatch.on(GetMetricStatisticsCommand, { MetricName: 'ReplicaLag' }).resolves({
        Datapoints: [
          { Timestamp: new Date(T0 - 180_000), Maximum: 1, Minimum: 1 },
          { Timestamp: new Date(T0 - 60_000), Maximum: 80, Minimum: 80 },
          // From the minute the promotion began (T0): replication had ended, so it does not count.
          { Timestamp: new Date(T0), Maximum: 0, Minimum: 0 },
        ],
      });
      cloudwatch.on(GetMetricStatisticsCommand, { MetricName: 'OldestReplicationSlotLag' }).resolves({ Datapoints: [] });
      const promote: PromoteResult = { dbInstanceIdentifier: EAST, dryRun: false, polls: 2, alreadyPromoted: false, startedAt: T0, confirmed: false, status: 'rebooting', reason: 'r' };

      // Act
      const result = await checkPromotion(chose(promote), { ...twoDeps, cloudwatch: (region: string) => (regions.push(`cloudwatch ${region}`), new CloudWatchClient({ region })) });

      // Assert
      expect(result).toMatchObject({
        confirmed: true,
        replicatedThrough: T0 - 140_000,
        replicationBasis: 'ReplicaLag 80 s in the minute from 11:59:00Z: orders-replica-east had replayed every commit up to 11:57:40Z',
      });
      expect(cloudwatch).toHaveReceivedCommandWith(GetMetricStatisticsCommand, {
        MetricName: 'ReplicaLag',
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: EAST }],
        // 15 minutes before the outage (11:58:30), on the minute.
        StartTime: new Date('2026-03-01T11:43:00.000Z'),
      });
      expect(regions).toEqual(['us-east-2', 'cloudwatch us-east-2', 'cloudwatch us-east-1']);
    });

    it('MySQL too: the minutes from the promotion on say nothing (its stopped threads may read 0)', async () => {
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: EAST, DBInstanceStatus: 'available' }] });
      cloudwatch.on(GetMetricStatisticsCommand, { MetricName: 'ReplicaLag' }).resolves({
        Datapoints: [
          { Timestamp: new Date(T0 - 60_000), Maximum: 2, Minimum: 2 },
          { Timestamp: new Date(T0), Maximum: 0, Minimum: 0 },
        ],
      });
      const mysql = chose({ dbInstanceIdentifier: EAST, dryRun: false, polls: 2, alreadyPromoted: false, startedAt: T0, confirmed: false, status: 'rebooting', reason: 'r' });
      mysql.assess!.candidates![1] = { ...mysql.assess!.candidates![1], engine: 'mysql', source: undefined };

      const result = await checkPromotion(mysql, { ...twoDeps, cloudwatch: (region: string) => new CloudWatchClient({ region }) });

      expect(result.replicatedThrough).toBe(T0 - 62_000);
    });

    it('measure, after DNS: a datapoint that arrived since the promotion was confirmed raises the bound; an older read never lowers it', async () => {
      // Arrange: confirmed with the bound of the minute from 11:58; the minute from 11:59 arrived since.
      const confirmed: PromoteResult = {
        dbInstanceIdentifier: EAST, dryRun: false, polls: 3, alreadyPromoted: false, startedAt: T0, endedAt: T0 + 180_000, confirmed: true, status: 'available', reason: 'r',
        replicatedThrough: T0 - 121_000, replicationBasis: 'ReplicaLag 1 s in the minute from 11:58:00Z',
      };
      cloudwatch.on(GetMetricStatisticsCommand, { MetricName: 'ReplicaLag' }).resolves({
        Datapoints: [{ Timestamp: new Date(T0 - 120_000), Maximum: 1, Minimum: 1 }, { Timestamp: new Date(T0 - 60_000), Maximum: 2, Minimum: 2 }],
      });
      cloudwatch.on(GetMetricStatisticsCommand, { MetricName: 'OldestReplicationSlotLag' }).resolves({ Datapoints: [] });
      const withCloudWatch = { ...twoDeps, cloudwatch: (region: string) => new CloudWatchClient({ region }) };

      // Act
      const raised = await run({ action: 'measure', state: chose(confirmed) }, withCloudWatch);

      // Assert: 11:59:00 − 2 s; the rest of the promotion's result is kept.
      expect(raised).toMatchObject({ confirmed: true, endedAt: T0 + 180_000, replicatedThrough: T0 - 62_000, replicationBasis: expect.stringContaining('in the minute from 11:59:00Z') });

      // A read that sees less (the newer minute not there) keeps what there was.
      cloudwatch.reset();
      cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
      expect(await run({ action: 'measure', state: chose(raised) }, withCloudWatch)).toEqual(raised);
    });

    it('a CloudWatch error does not fail a confirmed promotion: the assess bound stays', async () => {
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceIdentifier: EAST, DBInstanceStatus: 'available' }] });
      cloudwatch.on(GetMetricStatisticsCommand).rejects(new Error('throttled'));

      const promote: PromoteResult = { dbInstanceIdentifier: EAST, dryRun: false, polls: 2, alreadyPromoted: false, startedAt: T0, confirmed: false, status: 'rebooting', reason: 'r' };
      const result = await checkPromotion(chose(promote), { ...twoDeps, cloudwatch: (region: string) => new CloudWatchClient({ region }) });

      expect(result.confirmed).toBe(true);
      expect(result.replicatedThrough).toBeUndefined();
    });
  });

  describe('a forged choice promotes nothing that is not a candidate', () => {
    const chosen = (id: string, region: string): WorkflowState => ({
      ...state(),
      assess: { startedAt: T0 - 25_000, endedAt: T0 - 24_000, decision: 'proceed', reason: 'forged', lagSeconds: 0, chosen: { id, region } },
    });

    it.each([
      ['a replica the group does not name', 'attacker-db', 'us-west-2'],
      ["the group's replica, in another region", REPLICA, 'eu-west-1'],
    ])('%s: InvalidInput, and PromoteReadReplica is never sent', async (_, id, region) => {
      rds.on(PromoteReadReplicaCommand).resolves({});

      const error = await failure(startPromotion(chosen(id, region), deps));

      expect(error).toMatchObject({
        name: 'InvalidInput',
        message: `assess.chosen: "${id}" in "${region}" is not a candidate replica of orders (${REPLICA} in us-west-2); not acting on it`,
      });
      expect(rds).not.toHaveReceivedAnyCommand();
    });

    it("checkPromotion polls the deployed candidate, whatever the promotion result's identifier says", async () => {
      rds.on(DescribeDBInstancesCommand).resolves(db('available', false));
      const forged: PromoteResult = { dbInstanceIdentifier: 'attacker-db', dryRun: false, polls: 0, alreadyPromoted: false, startedAt: T0, confirmed: false, status: 'modifying', reason: 'r' };

      const result = await checkPromotion(state({ promote: forged }), deps);

      expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: REPLICA });
      expect(rds).not.toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'attacker-db' });
      expect(result).toMatchObject({ dbInstanceIdentifier: REPLICA, confirmed: true });
    });
  });

  it('run dispatches on the action', async () => {
    rds.on(PromoteReadReplicaCommand).resolves({});
    rds.on(DescribeDBInstancesCommand).resolves(db('available', false));

    const started = await run({ action: 'start', state: state() }, deps);
    const checked = await run({ action: 'check', state: state({ promote: started }) }, deps);

    expect(rds).toHaveReceivedCommandOnce(PromoteReadReplicaCommand);
    expect(checked).toMatchObject({ confirmed: true, polls: 1, endpointAddress: ENDPOINT });
  });
});
