/**
 * Step 3, assess-replica: the promotion gate. `decide` is a pure function returning a decision and the
 * reason sentence that ends up in the history and the notification; `run` reads RDS and CloudWatch.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient, CloudWatchServiceException, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient, RDSServiceException, type DBInstance } from '@aws-sdk/client-rds';
import type { GroupConfig } from '../../lambdas/core/config';
import { decide, run } from '../../lambdas/steps/assess-replica';
import type { Mode, Plan, ReplicaView, WorkflowState } from '../../lambdas/core/workflow-state';
import { PROMOTED as REPLICA_ENDPOINT, T0, ordersGroup, planFor } from '../support/fixtures';

const SOURCE_ARN = 'arn:aws:rds:us-east-1:123456789012:db:orders-primary';

/** The example group, its replica's config overridden. */
const group = (replica: Record<string, unknown> = {}): GroupConfig => ordersGroup({ replica });

/** A probe triggered at T0 - 30 s, the plan started at T0. */
function plan(options: { mode?: Mode; force?: boolean; group?: GroupConfig } = {}): Plan {
  return planFor(options.group ?? group(), {
    trigger: { type: 'probe', at: new Date(T0 - 30_000).toISOString() },
    mode: options.mode ?? 'failover',
    force: options.force ?? false,
    triggeredAt: T0 - 30_000,
  });
}

const replica = (overrides: Partial<ReplicaView> = {}): ReplicaView => ({
  id: 'orders-replica',
  region: 'us-west-2',
  status: 'available',
  isReplica: true,
  sourceId: SOURCE_ARN,
  endpointAddress: REPLICA_ENDPOINT,
  ...overrides,
});

describe('decide', () => {
  const withSource = (source: string) => group({ source });
  const cases: Array<[string, Parameters<typeof plan>[0], ReplicaView | undefined, number | null, number, 'proceed' | 'abort' | 'wait', string]> = [
    ['replica not found', {}, undefined, null, 0, 'abort', 'not promoting: replica orders-replica not found in us-west-2'],
    [
      'not a replica',
      {},
      replica({ isReplica: false, sourceId: undefined }),
      null,
      0,
      'abort',
      'not promoting: orders-replica is not a read replica (already standalone?)',
    ],
    [
      'replicates from another source than configured',
      { group: withSource('orders-primary') },
      replica({ sourceId: 'arn:aws:rds:us-east-1:123456789012:db:inventory-primary' }),
      1,
      0,
      'abort',
      'not promoting: orders-replica replicates from arn:aws:rds:us-east-1:123456789012:db:inventory-primary, not the configured source orders-primary',
    ],
    [
      'configured source given as an identifier matches the ARN RDS reports',
      { group: withSource('orders-primary') },
      replica(),
      1,
      0,
      'proceed',
      'replica orders-replica is available, lag 1 s within 30 s',
    ],
    [
      'configured source given as an ARN matches',
      { group: withSource(SOURCE_ARN) },
      replica(),
      1,
      0,
      'proceed',
      'replica orders-replica is available, lag 1 s within 30 s',
    ],
    [
      'not available',
      {},
      replica({ status: 'backing-up' }),
      1,
      0,
      'abort',
      'not promoting: replica orders-replica is backing-up, not available',
    ],
    ['lag within maxLagSeconds', {}, replica(), 2.5, 0, 'proceed', 'replica orders-replica is available, lag 2.5 s within 30 s'],
    ['lag exactly maxLagSeconds', {}, replica(), 30, 0, 'proceed', 'replica orders-replica is available, lag 30 s within 30 s'],
    ['lag above maxLagSeconds', {}, replica(), 42, 0, 'abort', 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s'],
    [
      'lag above maxLagSeconds, forced',
      { force: true },
      replica(),
      42,
      0,
      'proceed',
      'proceeding with force: replica lag 42 s exceeds maxLagSeconds 30 s; up to 42 s of writes may be lost',
    ],
    [
      'lag unknown',
      {},
      replica(),
      null,
      0,
      'abort',
      'not promoting: no ReplicaLag datapoint for orders-replica in the last 5 minutes, so the data loss is unknown',
    ],
    [
      'lag unknown, forced',
      { force: true },
      replica(),
      null,
      0,
      'proceed',
      'proceeding with force: replica lag unknown (no ReplicaLag datapoint)',
    ],
    [
      'forced does not promote a replica that is not available',
      { force: true },
      replica({ status: 'storage-full' }),
      0,
      0,
      'abort',
      'not promoting: replica orders-replica is storage-full, not available',
    ],
    ['switchover, lag 0', { mode: 'switchover' }, replica(), 0, 0, 'proceed', 'switching over: replica lag is 0 s'],
    [
      'switchover, lag 2 s, within lagTimeoutSeconds',
      { mode: 'switchover' },
      replica(),
      2,
      120,
      'wait',
      'waiting for replica lag to reach 0 before switching over: lag 2 s',
    ],
    [
      'switchover, lag unknown, within lagTimeoutSeconds',
      { mode: 'switchover' },
      replica(),
      null,
      10,
      'wait',
      'waiting for replica lag to reach 0 before switching over: lag unknown',
    ],
    [
      'switchover, lag 2 s after lagTimeoutSeconds',
      { mode: 'switchover' },
      replica(),
      2,
      300,
      'abort',
      'not switching over: replica lag still 2 s after 300 s',
    ],
    [
      'switchover, forced, still waits for lag 0',
      { mode: 'switchover', force: true },
      replica(),
      0.4,
      300,
      'abort',
      'not switching over: replica lag still 0.4 s after 300 s',
    ],
  ];

  it.each(cases)('%s', (_, planOptions, view, lag, waited, decision, reason) => {
    // Act
    const result = decide(plan(planOptions), view, lag, waited);

    // Assert
    expect(result).toEqual({ decision, reason });
  });

  it('uses the group maxLagSeconds from the config', () => {
    const strict = plan({ group: group({ maxLagSeconds: 5 }) });

    expect(decide(strict, replica(), 6, 0)).toEqual({ decision: 'abort', reason: 'not promoting: replica lag 6 s exceeds maxLagSeconds 5 s' });
  });
});

describe('assess-replica run', () => {
  const rds = mockClient(RDSClient);
  const cloudwatch = mockClient(CloudWatchClient);

  afterEach(() => {
    rds.reset();
    cloudwatch.reset();
  });

  function setup(state: WorkflowState, clock = { ms: T0 }) {
    const regions: string[] = [];
    const deps = {
      now: () => clock.ms,
      rds: (region: string) => (regions.push(`rds ${region}`), new RDSClient({ region })),
      cloudwatch: (region: string) => (regions.push(`cloudwatch ${region}`), new CloudWatchClient({ region })),
    };
    return { deps, regions, act: () => run(state, deps) };
  }

  const dbInstance: DBInstance = {
    DBInstanceIdentifier: 'orders-replica',
    DBInstanceStatus: 'available',
    ReadReplicaSourceDBInstanceIdentifier: SOURCE_ARN,
    Endpoint: { Address: REPLICA_ENDPOINT, Port: 5432 },
  };

  async function failure(p: Promise<unknown>): Promise<Error> {
    return p.then(
      () => {
        throw new Error('expected the step to fail');
      },
      (err: unknown) => err as Error,
    );
  }

  it('proceeds with the latest ReplicaLag datapoint, read from the replica region', async () => {
    // Arrange
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({
      Label: 'ReplicaLag',
      // CloudWatch does not sort datapoints.
      Datapoints: [
        { Timestamp: new Date(T0 - 60_000), Maximum: 2.04, Unit: 'Seconds' },
        { Timestamp: new Date(T0 - 180_000), Maximum: 55, Unit: 'Seconds' },
        { Timestamp: new Date(T0 - 120_000), Maximum: 4, Unit: 'Seconds' },
      ],
    });
    const { act, regions } = setup({ plan: plan() });

    // Act
    const result = await act();

    // Assert
    expect(result).toEqual({
      startedAt: T0,
      endedAt: T0,
      decision: 'proceed',
      reason: 'replica orders-replica is available, lag 2 s within 30 s',
      lagSeconds: 2,
      replica: replica(),
    });
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-replica' });
    expect(cloudwatch).toHaveReceivedCommandExactlyOnceWith(GetMetricStatisticsCommand, {
      Namespace: 'AWS/RDS',
      MetricName: 'ReplicaLag',
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'orders-replica' }],
      StartTime: new Date('2026-03-01T11:55:00.000Z'),
      EndTime: new Date('2026-03-01T12:00:00.000Z'),
      Period: 60,
      Statistics: ['Maximum'],
    });
    expect(regions).toEqual(['rds us-west-2', 'cloudwatch us-west-2']);
  });

  it('aborts on lag above maxLagSeconds and records the lag as the data-loss estimate', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [{ Timestamp: new Date(T0 - 60_000), Maximum: 42 }] });
    const { act } = setup({ plan: plan() });

    const result = await act();

    expect(result).toMatchObject({ decision: 'abort', reason: 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s', lagSeconds: 42 });
  });

  it('aborts, without throwing, when RDS answers DBInstanceNotFoundFault', async () => {
    // Arrange
    rds.on(DescribeDBInstancesCommand).rejects(
      new DBInstanceNotFoundFault({ $metadata: { httpStatusCode: 404 }, message: 'DBInstance orders-replica not found.' }),
    );
    const { act } = setup({ plan: plan() });

    // Act
    const result = await act();

    // Assert
    expect(result).toEqual({
      startedAt: T0,
      endedAt: T0,
      decision: 'abort',
      reason: 'not promoting: replica orders-replica not found in us-west-2',
      lagSeconds: null,
      replica: undefined,
    });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('reads no lag for an instance that is no longer a replica', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ ...dbInstance, ReadReplicaSourceDBInstanceIdentifier: undefined }] });
    const { act } = setup({ plan: plan() });

    const result = await act();

    expect(result).toMatchObject({ decision: 'abort', reason: 'not promoting: orders-replica is not a read replica (already standalone?)', lagSeconds: null });
    expect(cloudwatch).not.toHaveReceivedAnyCommand();
  });

  it('aborts when CloudWatch has no datapoint in the last 5 minutes', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [] });
    const { act } = setup({ plan: plan() });

    const result = await act();

    expect(result).toMatchObject({
      decision: 'abort',
      reason: 'not promoting: no ReplicaLag datapoint for orders-replica in the last 5 minutes, so the data loss is unknown',
      lagSeconds: null,
    });
  });

  it('throws TransientAwsError when RDS throttles', async () => {
    // Arrange
    rds.on(DescribeDBInstancesCommand).rejects(
      new RDSServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
    );
    const { act } = setup({ plan: plan() });

    // Act
    const error = await failure(act());

    // Assert
    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('RDS DescribeDBInstances orders-replica failed: Throttling: Rate exceeded');
  });

  it('throws TransientAwsError when CloudWatch answers a 5xx', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch.on(GetMetricStatisticsCommand).rejects(
      new CloudWatchServiceException({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal failure' }),
    );
    const { act } = setup({ plan: plan() });

    const error = await failure(act());

    expect(error.name).toBe('TransientAwsError');
    expect(error.message).toBe('CloudWatch GetMetricStatistics ReplicaLag orders-replica failed: InternalFailure: internal failure');
  });

  it('throws PermissionDenied when the role may not describe the replica', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(
      new RDSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'User is not authorized to perform: rds:DescribeDBInstances',
      }),
    );
    const { act } = setup({ plan: plan() });

    const error = await failure(act());

    expect(error.name).toBe('PermissionDenied');
    expect(error.message).toContain('rds:DescribeDBInstances');
  });

  it('in a switchover, keeps the first start while it waits, then proceeds once the lag is 0', async () => {
    // Arrange: a first pass that waited, 60 s ago.
    const clock = { ms: T0 + 60_000 };
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch
      .on(GetMetricStatisticsCommand)
      .resolvesOnce({ Datapoints: [{ Timestamp: new Date(T0), Maximum: 1 }] })
      .resolves({ Datapoints: [{ Timestamp: new Date(T0 + 60_000), Maximum: 0 }] });
    const first: WorkflowState = { plan: plan({ mode: 'switchover' }) };
    const waiting = await setup(first, { ms: T0 }).act();

    // Act
    const result = await setup({ ...first, assess: waiting }, clock).act();

    // Assert
    expect(waiting).toMatchObject({ decision: 'wait', startedAt: T0, endedAt: undefined, lagSeconds: 1 });
    expect(result).toMatchObject({
      decision: 'proceed',
      reason: 'switching over: replica lag is 0 s',
      startedAt: T0,
      endedAt: T0 + 60_000,
      lagSeconds: 0,
    });
  });

  it('in a switchover, aborts once lagTimeoutSeconds have passed since the first pass', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance] });
    cloudwatch.on(GetMetricStatisticsCommand).resolves({ Datapoints: [{ Timestamp: new Date(T0 + 240_000), Maximum: 3 }] });
    const state: WorkflowState = {
      plan: plan({ mode: 'switchover' }),
      assess: { startedAt: T0, decision: 'wait', reason: 'waiting', lagSeconds: 3 },
    };

    const result = await setup(state, { ms: T0 + 300_000 }).act();

    expect(result).toMatchObject({
      decision: 'abort',
      reason: 'not switching over: replica lag still 3 s after 300 s',
      startedAt: T0,
      endedAt: T0 + 300_000,
    });
  });
});
