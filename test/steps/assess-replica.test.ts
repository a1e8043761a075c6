/**
 * Step 3, assess-replica: the promotion gate and the choice among candidate replicas. It reads each
 * candidate (DescribeDBInstances, ReplicaLag in its region, and for PostgreSQL its source's
 * OldestReplicationSlotLag) and judges it as it was before the outage began (lambdas/core/replica-lag.ts,
 * tested on its own in test/core). Here: the AWS calls made, and the decision sentence and record a user sees.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient, CloudWatchServiceException, GetMetricStatisticsCommand, type Datapoint } from '@aws-sdk/client-cloudwatch';
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient, RDSServiceException, type DBInstance } from '@aws-sdk/client-rds';
import { parseConfig, type GroupConfig } from '../../lambdas/core/config';
import { assessCandidate, decideFailover, outageStart, replicaCaughtUp, run } from '../../lambdas/steps/assess-replica';
import type { Mode, Plan, WorkflowState } from '../../lambdas/core/workflow-state';
import { PROMOTED as REPLICA_ENDPOINT, T0, deployed, failure, ordersGroup, ordersInput, planFor } from '../support/fixtures';

const SOURCE_ARN = 'arn:aws:rds:us-east-1:123456789012:db:orders-primary';
/** The probes' first failed round: 30 s before T0 (12:00:00Z). */
const OUTAGE = T0 - 30_000;
const minute = (m: number) => T0 + m * 60_000;
const EAST = 'orders-replica-east';
const EAST_ENDPOINT = 'orders-replica-east.c9akciq32.us-east-2.rds.amazonaws.com';

/** The example group with a second candidate in us-east-2. */
const twoCandidates = (): GroupConfig =>
  parseConfig({ groups: [{ ...ordersInput(), additionalReplicas: [{ dbInstanceIdentifier: EAST, region: 'us-east-2' }] }] }).groups[0];

/** A probe-triggered plan: the outage began at OUTAGE, the round that declared it 20 s later, started at T0. */
function plan(options: { mode?: Mode; force?: boolean; group?: GroupConfig } = {}): Plan {
  return planFor(options.group ?? ordersGroup(), {
    trigger: { type: 'probe', at: new Date(OUTAGE + 20_000).toISOString(), outageStartedAt: new Date(OUTAGE).toISOString(), failedRounds: 3 },
    mode: options.mode ?? 'failover',
    force: options.force ?? false,
    triggeredAt: OUTAGE + 20_000,
  });
}

const dbInstance = (overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: 'orders-replica',
  DBInstanceStatus: 'available',
  Engine: 'postgres',
  EngineVersion: '16.3',
  ReadReplicaSourceDBInstanceIdentifier: SOURCE_ARN,
  Endpoint: { Address: REPLICA_ENDPOINT, Port: 5432 },
  StatusInfos: [{ StatusType: 'read replication', Normal: true, Status: 'replicating' }],
  ...overrides,
});

/** One datapoint a minute from minute `from` (relative to 12:00), one sample each; CloudWatch does not sort them. */
const datapoints = (from: number, values: number[]): Datapoint[] =>
  values.map((v, i) => ({ Timestamp: new Date(minute(from + i)), Maximum: v, Minimum: v, Unit: 'Seconds' as const })).reverse();

const metric = (name: string, id: string) => ({ MetricName: name, Dimensions: [{ Name: 'DBInstanceIdentifier', Value: id }] });

const rds = mockClient(RDSClient);
const cloudwatch = mockClient(CloudWatchClient);

afterEach(() => {
  rds.reset();
  cloudwatch.reset();
});

describe('assess-replica run', () => {
  /** The step with `group` deployed (the example group unless given). */
  function setup(state: WorkflowState, clock = { ms: T0 }, group = ordersGroup()) {
    const calls: string[] = [];
    const deps = {
      ...deployed(group),
      now: () => clock.ms,
      rds: (region: string) => (calls.push(`rds ${region}`), new RDSClient({ region })),
      cloudwatch: (region: string) => (calls.push(`cloudwatch ${region}`), new CloudWatchClient({ region })),
    };
    return { deps, calls, act: () => run(state, deps) };
  }

  it('PostgreSQL, source died: judges the lag from before the outage, not the growth after it, and reads the source slot lag', async () => {
    // Arrange: 1 s until the minute from 11:58; then what RDS reports once nothing arrives.
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', 'orders-replica')).resolves({ Datapoints: datapoints(-6, [1, 1, 1, 1, 1, 31]) });
    cloudwatch.on(GetMetricStatisticsCommand, metric('OldestReplicationSlotLag', 'orders-primary')).resolves({ Datapoints: datapoints(-6, [0, 0, 0, 0, 0]) });
    const { act, calls } = setup({ plan: plan() });

    // Act
    const result = await act();

    // Assert
    expect(result).toMatchObject({
      decision: 'proceed',
      reason: 'replica orders-replica is available: ReplicaLag 1 s in the minute from 11:58:00Z, 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s',
      lagSeconds: 1,
      chosen: { id: 'orders-replica', region: 'us-west-2' },
      outageStartedAt: OUTAGE,
      outageStartBasis: 'trigger.outageStartedAt (probe)',
      replica: { id: 'orders-replica', engine: 'postgres', engineVersion: '16.3', replication: { status: 'replicating', normal: true } },
    });
    // The bound: the datapoint from after the outage says more (11:59:00 − 31 s = 11:58:29) than the slot lag 0 of 11:58:00.
    expect(result.candidates).toEqual([
      {
        id: 'orders-replica',
        region: 'us-west-2',
        engine: 'postgres',
        verdict: 'pass',
        reason: result.reason.replace('replica orders-replica is available: ', ''),
        lagSeconds: 1,
        replicatedThrough: minute(-1) - 31_000,
        basis: 'ReplicaLag 31 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:29Z',
        source: { id: 'orders-primary', region: 'us-east-1', slotLagTrusted: true },
      },
    ]);
    expect(cloudwatch).toHaveReceivedCommandWith(GetMetricStatisticsCommand, {
      Namespace: 'AWS/RDS',
      ...metric('ReplicaLag', 'orders-replica'),
      // 15 minutes before the outage (on the minute) up to now.
      StartTime: new Date('2026-03-01T11:44:00.000Z'),
      EndTime: new Date('2026-03-01T12:00:00.000Z'),
      Period: 60,
      Statistics: ['Maximum', 'Minimum'],
    });
    expect(calls).toEqual(['rds us-west-2', 'cloudwatch us-west-2', 'cloudwatch us-east-1']);
  });

  it('MySQL replication not running (-1): aborts naming it, reads nothing from the source', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ Engine: 'mysql', EngineVersion: '8.0.39' })] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-4, [0, -1, -1, -1]) });
    const { act, calls } = setup({ plan: plan() });

    const result = await act();

    expect(result).toMatchObject({
      decision: 'abort',
      reason: 'not promoting: replication was not running on orders-replica: ReplicaLag -1 (Seconds_Behind_Master NULL) in the minute from 11:58:00Z, before the outage began at 11:59:30Z',
      lagSeconds: -1,
    });
    expect(result.chosen).toBeUndefined();
    expect(calls).toEqual(['rds us-west-2', 'cloudwatch us-west-2']);
  });

  it('replication stopped (StatusInfos): aborts naming the status, even with a good lag', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [dbInstance({ Engine: 'mariadb', StatusInfos: [{ StatusType: 'read replication', Normal: false, Status: 'stopped', Message: 'Replication stopped by user' }] })],
    });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-3, [0, 0]) });

    const result = await setup({ plan: plan() }).act();

    expect(result).toMatchObject({ decision: 'abort', reason: 'not promoting: the read replication status of orders-replica is stopped (Replication stopped by user)' });
  });

  it('replication error now, healthy before the outage: proceeds and says so', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [dbInstance({ Engine: 'mysql', StatusInfos: [{ StatusType: 'read replication', Normal: false, Status: 'error', Message: 'Error connecting to source' }] })],
    });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-3, [0, 0, -1]) });

    const result = await setup({ plan: plan() }).act();

    expect(result).toMatchObject({
      decision: 'proceed',
      reason:
        'replica orders-replica is available: ReplicaLag 0 s in the minute from 11:58:00Z, 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s; ' +
        'the read replication status of orders-replica is error (Error connecting to source) now, which the outage may have caused: the datapoints before it show it healthy',
    });
  });

  it('no ReplicaLag datapoint: aborts naming the missing metric; forced, proceeds with the loss unknown', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });

    const aborted = await setup({ plan: plan() }).act();
    const forced = await setup({ plan: plan({ force: true }) }).act();

    expect(aborted).toMatchObject({
      decision: 'abort',
      reason: 'not promoting: no ReplicaLag datapoint for orders-replica in the 15 minutes before the outage began at 11:59:30Z, so its lag then is unknown',
      lagSeconds: null,
    });
    expect(forced).toMatchObject({
      decision: 'proceed',
      reason: 'proceeding with force: no ReplicaLag datapoint for orders-replica in the 15 minutes before the outage began at 11:59:30Z, so its lag then is unknown; the data loss is unknown',
      chosen: { id: 'orders-replica', region: 'us-west-2' },
      candidates: [{ verdict: 'force', replicatedThrough: null, basis: 'no ReplicaLag datapoint and no OldestReplicationSlotLag of 0 bounds what orders-replica had replicated' }],
    });
  });

  it('the source region is down: the slot lag cannot be read, and the gate goes on without it', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', 'orders-replica')).resolves({ Datapoints: datapoints(-3, [2, 2]) });
    cloudwatch
      .on(GetMetricStatisticsCommand, metric('OldestReplicationSlotLag', 'orders-primary'))
      .rejects(Object.assign(new Error('connect ETIMEDOUT 52.94.0.1:443'), { name: 'TimeoutError' }));

    const result = await setup({ plan: plan() }).act();

    expect(result).toMatchObject({ decision: 'proceed', candidates: [{ verdict: 'pass', source: { slotLagTrusted: false } }] });
  });

  it('two candidates, one 40 s behind and one 1 s behind: promotes the 1 s one and says why it passed over the other', async () => {
    // Arrange
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-replica' }).resolves({ DBInstances: [dbInstance({ Engine: 'mysql' })] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: EAST }).resolves({
      DBInstances: [dbInstance({ DBInstanceIdentifier: EAST, Engine: 'mysql', Endpoint: { Address: EAST_ENDPOINT, Port: 3306 } })],
    });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', 'orders-replica')).resolves({ Datapoints: datapoints(-3, [40, 40]) });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', EAST)).resolves({ Datapoints: datapoints(-3, [1, 1]) });
    const { act, calls } = setup({ plan: plan({ group: twoCandidates() }) }, undefined, twoCandidates());

    // Act
    const result = await act();

    // Assert
    expect(result).toMatchObject({
      decision: 'proceed',
      reason:
        'promoting orders-replica-east (us-east-2), of 2 candidates the one that passes the gate: replica orders-replica-east is available: ' +
        'ReplicaLag 1 s in the minute from 11:58:00Z, 30 s before the outage began at 11:59:30Z, within maxLagSeconds 30 s; ' +
        'passed over: orders-replica (us-west-2): replica lag 40 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s',
      chosen: { id: EAST, region: 'us-east-2' },
      lagSeconds: 1,
      replica: { id: EAST, region: 'us-east-2', endpointAddress: EAST_ENDPOINT },
    });
    expect(result.candidates!.map((c) => [c.id, c.verdict])).toEqual([
      ['orders-replica', 'force'],
      [EAST, 'pass'],
    ]);
    expect(calls.sort()).toEqual(['cloudwatch us-east-2', 'cloudwatch us-west-2', 'rds us-east-2', 'rds us-west-2']);
  });

  it('two candidates that both pass: the one that replicated further; a tie goes to config order', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-replica' }).resolves({ DBInstances: [dbInstance({ Engine: 'mysql' })] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: EAST }).resolves({ DBInstances: [dbInstance({ DBInstanceIdentifier: EAST, Engine: 'mysql' })] });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', 'orders-replica')).resolves({ Datapoints: datapoints(-3, [5, 5]) });
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', EAST)).resolves({ Datapoints: datapoints(-3, [2, 2]) });

    const better = await setup({ plan: plan({ group: twoCandidates() }) }, undefined, twoCandidates()).act();
    cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', EAST)).resolves({ Datapoints: datapoints(-3, [5, 5]) });
    const tie = await setup({ plan: plan({ group: twoCandidates() }) }, undefined, twoCandidates()).act();

    expect(better.chosen).toEqual({ id: EAST, region: 'us-east-2' });
    expect(better.reason).toMatch(/^promoting orders-replica-east \(us-east-2\), of 2 candidates the one that loses the least: .*; passed over: orders-replica \(us-west-2\): replicated up to 11:57:55Z, not later than orders-replica-east$/);
    expect(tie.chosen).toEqual({ id: 'orders-replica', region: 'us-west-2' });
  });

  it("one candidate's region is unreachable: it is passed over with the error, the other is promoted", async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-replica' }).rejects(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }));
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: EAST }).resolves({ DBInstances: [dbInstance({ DBInstanceIdentifier: EAST, Engine: 'mysql' })] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-3, [1, 1]) });

    const result = await setup({ plan: plan({ group: twoCandidates() }) }, undefined, twoCandidates()).act();

    expect(result).toMatchObject({ decision: 'proceed', chosen: { id: EAST, region: 'us-east-2' } });
    expect(result.candidates![0]).toMatchObject({
      verdict: 'fail',
      reason: 'orders-replica could not be assessed: RDS DescribeDBInstances orders-replica failed: TimeoutError: connect ETIMEDOUT',
    });
  });

  it('aborts, without throwing, when RDS answers DBInstanceNotFoundFault', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(new DBInstanceNotFoundFault({ $metadata: { httpStatusCode: 404 }, message: 'DBInstance orders-replica not found.' }));

    const result = await setup({ plan: plan() }).act();

    expect(result).toMatchObject({ decision: 'abort', reason: 'not promoting: replica orders-replica not found in us-west-2', lagSeconds: null, replica: undefined });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('reads no lag for an instance that is no longer a replica', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ ReadReplicaSourceDBInstanceIdentifier: undefined })] });

    const result = await setup({ plan: plan() }).act();

    expect(result).toMatchObject({ decision: 'abort', reason: 'not promoting: orders-replica is not a read replica (already standalone?)' });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('assesses the deployed candidates only: a config in the event (as older plans carried it, or forged) is read for its name', async () => {
    // Arrange: the event's group names another replica, in another region.
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-3, [1, 1]) });
    const forged = { ...plan(), group: { ...ordersGroup(), replica: { ...ordersGroup().replica, dbInstanceIdentifier: 'attacker-db', region: 'eu-west-1' } } } as unknown as Plan;
    const { act, calls } = setup({ plan: forged });

    // Act
    const result = await act();

    // Assert
    expect(result.candidates!.map((c) => `${c.id} ${c.region}`)).toEqual(['orders-replica us-west-2']);
    expect(rds).not.toHaveReceivedCommandWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'attacker-db' });
    expect(calls.every((c) => !c.includes('eu-west-1'))).toBe(true);
  });

  it('force never promotes a replica that is not available, or one of another source', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ DBInstanceStatus: 'storage-full' })] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-3, [1, 1]) });
    const other = ordersGroup({ replica: { source: 'inventory-primary' } });

    const notAvailable = await setup({ plan: plan({ force: true }) }).act();
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    const wrongSource = await setup({ plan: plan({ force: true, group: other }) }, undefined, other).act();

    expect(notAvailable).toMatchObject({ decision: 'abort', reason: 'not promoting: replica orders-replica is storage-full, not available' });
    expect(wrongSource).toMatchObject({ decision: 'abort', reason: `not promoting: orders-replica replicates from ${SOURCE_ARN}, not the configured source inventory-primary` });
  });

  it('throws TransientAwsError when RDS throttles (the state machine retries)', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(new RDSServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }));

    const error = await failure(setup({ plan: plan() }).act());

    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('RDS DescribeDBInstances orders-replica failed: Throttling: Rate exceeded');
  });

  it('throws TransientAwsError when CloudWatch answers a 5xx for ReplicaLag', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
    cloudwatch.on(GetMetricStatisticsCommand).rejects(new CloudWatchServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal failure' }));

    const error = await failure(setup({ plan: plan() }).act());

    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('CloudWatch GetMetricStatistics ReplicaLag orders-replica failed: InternalFailure: internal failure');
  });

  it('throws PermissionDenied when the role may not describe the replica', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(
      new RDSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'User is not authorized to perform: rds:DescribeDBInstances' }),
    );

    const error = await failure(setup({ plan: plan() }).act());

    expect(error.name).toBe('PermissionDenied');
  });

  describe('switchover', () => {
    it('waits while the PostgreSQL lag only grows, proceeds once the source slot lag is 0 in a minute after the writers stopped', async () => {
      // Arrange: the writers were confirmed stopped at 12:00:00 (a fence in the state).
      const stopped: WorkflowState = {
        plan: plan({ mode: 'switchover' }),
        fence: { instanceId: 'i-0a1b2c3d4e5f60718', confirmed: true, state: 'stopped', method: 'stop', dryRun: false, polls: 1, startedAt: T0 - 5_000, endedAt: T0, reason: 'stopped' },
      };
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance()] });
      cloudwatch.on(GetMetricStatisticsCommand, metric('ReplicaLag', 'orders-replica')).resolves({ Datapoints: datapoints(-2, [1, 1, 61]) });
      cloudwatch.on(GetMetricStatisticsCommand, metric('OldestReplicationSlotLag', 'orders-primary')).resolves({ Datapoints: datapoints(-2, [0, 0]) });
      const waiting = await setup(stopped, { ms: T0 + 60_000 }).act();
      cloudwatch.on(GetMetricStatisticsCommand, metric('OldestReplicationSlotLag', 'orders-primary')).resolves({ Datapoints: datapoints(-2, [0, 0, 0]) });

      // Act
      const done = await setup({ ...stopped, assess: waiting }, { ms: T0 + 120_000 }).act();

      // Assert
      expect(waiting).toMatchObject({
        decision: 'wait',
        startedAt: T0 + 60_000,
        endedAt: undefined,
        reason: expect.stringMatching(/^waiting for the replica to catch up before switching over: orders-replica is not yet shown to have every write made before 12:00:00Z: it is known to have replicated up to 11:59:00Z \(its ReplicaLag grows/),
      });
      expect(done).toMatchObject({
        decision: 'proceed',
        startedAt: T0 + 60_000,
        endedAt: T0 + 120_000,
        chosen: { id: 'orders-replica', region: 'us-west-2' },
        reason:
          "switching over to orders-replica: orders-replica has every write made before 12:00:00Z: the source orders-primary's OldestReplicationSlotLag was 0 bytes in the minute from 12:00:00Z: orders-replica had received every write up to then (the primary i-0a1b2c3d4e5f60718 was confirmed stopped (recorded before the old database was fenced: other clients of it are not counted))",
      });
    });

    it('aborts once lagTimeoutSeconds have passed since the first pass', async () => {
      rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ Engine: 'mysql' })] });
      cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-2, [3, 3, 3]) });
      const state: WorkflowState = { plan: plan({ mode: 'switchover' }), assess: { startedAt: T0, decision: 'wait', reason: 'waiting', lagSeconds: 3 } };

      const result = await setup(state, { ms: T0 + 600_000 }).act();

      expect(result).toMatchObject({ decision: 'abort', startedAt: T0, endedAt: T0 + 600_000 });
      expect(result.reason).toMatch(/^not switching over: not caught up after 600 s: orders-replica is not yet shown to have every write made before 12:00:00Z/);
    });
  });
});

describe('outageStart: when the outage began, as the trigger says', () => {
  it('the probes give outageStartedAt; a manual or alarm trigger its at; else the execution start', () => {
    expect(outageStart(plan())).toEqual({ at: OUTAGE, basis: 'trigger.outageStartedAt (probe)' });
    expect(outageStart({ trigger: { type: 'manual', at: '2026-03-01T11:50:00Z' }, triggeredAt: minute(-10) })).toEqual({ at: minute(-10), basis: 'trigger.at (manual)' });
    expect(outageStart({ trigger: { type: 'manual' }, triggeredAt: T0 })).toEqual({ at: T0, basis: 'the execution start (the trigger gave no time)' });
    // Not a time, or after the trigger: not believed.
    expect(outageStart({ trigger: { type: 'probe', at: 'x', outageStartedAt: 'soon' }, triggeredAt: T0 }).at).toBe(T0);
  });
});

describe('decideFailover and assessCandidate (pure)', () => {
  it('one candidate: the sentence is about that replica alone', () => {
    const candidate = assessCandidate(
      {
        candidate: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', maxLagSeconds: 30 },
        replica: { id: 'orders-replica', region: 'us-west-2', status: 'available', isReplica: true, engine: 'postgres' },
        lag: [{ at: minute(-2), max: 42, min: 42 }],
      },
      OUTAGE,
    );

    expect(decideFailover({ force: false }, [candidate])).toEqual({
      decision: 'abort',
      reason: 'not promoting: replica lag 42 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s',
    });
    expect(decideFailover({ force: true }, [candidate])).toEqual({
      decision: 'proceed',
      reason: 'proceeding with force: replica lag 42 s of orders-replica in the minute from 11:58:00Z exceeds maxLagSeconds 30 s',
      chosen: { id: 'orders-replica', region: 'us-west-2' },
    });
  });
});

describe('replicaCaughtUp (for the switchover once the writers are stopped)', () => {
  it('MySQL: Seconds_Behind_Master 0 in a minute from after the stop', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance({ Engine: 'mysql' })] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: datapoints(-2, [4, 0]) });
    const deps = { now: () => T0, rds: (region: string) => new RDSClient({ region }), cloudwatch: (region: string) => new CloudWatchClient({ region }) };

    const result = await replicaCaughtUp({ dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', maxLagSeconds: 30 }, minute(-1), deps);

    expect(result).toMatchObject({ caughtUp: true, replicatedThrough: minute(-1) });
    expect(result.reason).toMatch(/^orders-replica has every write made before 11:59:00Z: ReplicaLag 0 s in the minute from 11:59:00Z/);
  });
});
