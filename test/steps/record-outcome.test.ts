/**
 * Step 7b, record-outcome, and the Store's history, against a real DynamoDB implementation (dynalite,
 * in process): the history item as stored and read back, the group state after a failover, and the
 * lock released only by its holder.
 */
import { createServer, type AddressInfo } from 'node:net';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { parseConfig } from '../../lambdas/core/config';
import type { LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { run } from '../../lambdas/steps/record-outcome';
import { buildHistoryItem, type HistoryItem } from '../../lambdas/core/history';
import { Store } from '../../lambdas/core/store';
import type { Plan, WorkflowState } from '../../lambdas/core/workflow-state';
import { INSTANCE, OLD_PRIMARY, PROBE_EXECUTION, PROMOTED, T0, at, deployed, executionArn as ARN, planFor, probePlanFor, succeededState } from '../support/fixtures';
import { useTestStore } from '../support/store';

const EXECUTION = PROBE_EXECUTION;
const OTHER = ARN('orders-manual-0');

const config = parseConfig({
  groups: [
    ['orders', INSTANCE],
    ['billing', 'i-0b1b2c3d4e5f60719'],
  ].map(([name, instanceId]) => ({
    name,
    primary: { instanceId, region: 'us-east-1' },
    replica: { dbInstanceIdentifier: `${name}-replica`, region: 'us-west-2', source: `${name}-primary-db`, sourceVpcId: 'vpc-0db0000000000000a' },
    dns: {
      hostedZoneId: 'Z0EXAMPLE1234567890AB',
      zoneName: 'example.com',
      records: [
        { name: `db.${name}.example.com`, type: 'CNAME', target: 'replicaEndpoint' },
        { name: `api.${name}.example.com`, type: 'A', ttl: 60, values: ['198.51.100.20'] },
      ],
    },
  })),
});
const group = config.groups[0];

/** The probe's plan (fixtures: triggered at(-10), started at T0). */
const plan = (overrides: Partial<Plan> = {}): Plan => probePlanFor(group, overrides);

/** A failover that went through: lock, assess (lag 2.4 s), fence, promote, DNS (two records), notified. */
function succeeded(p: Plan = plan()): WorkflowState {
  return {
    ...succeededState(p, {
      lagSeconds: 2.4,
      dnsChanges: [
        { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: { ttl: 300, values: [OLD_PRIMARY] }, after: [PROMOTED] },
        { name: 'api.orders.example.com', type: 'A', ttl: 60, before: null, after: ['198.51.100.20'] },
      ],
    }),
    notification: { notified: true, messageId: 'm-1', at: at(39) },
  };
}

let dynamo: LocalDynamoDB;
let store: Store;
const logs: Array<Record<string, unknown>> = [];

// dynalite, a fresh table per test.
useTestStore((s, d) => {
  store = s;
  dynamo = d;
});
beforeEach(() => {
  logs.length = 0;
});

const deps = (nowMs = at(40), s: () => Store = () => store) => ({ ...deployed(...config.groups), now: () => nowMs, store: s, log: (e: Record<string, unknown>) => void logs.push(e) });

/** Every item in the table, as DynamoDB holds it. */
async function scan() {
  const out = await dynamo.client().send(new ScanCommand({ TableName: store.tableName, ConsistentRead: true }));
  return out.Items ?? [];
}

describe('Store history', () => {
  const item = (groupName: string, startedAt: number, executionName: string, outcome: HistoryItem['outcome'] = 'SUCCEEDED'): HistoryItem => {
    const g = config.groups.find((c) => c.name === groupName)!;
    return { ...buildHistoryItem({ plan: planFor(g, { executionArn: ARN(executionName), executionName, startedAt }), outcome }, g, startedAt + 60_000) };
  };

  it('writes one item per execution: a second put for the same execution overwrites it', async () => {
    // Arrange
    const first = item('orders', T0, 'orders-probe-1', 'FAILED');

    // Act: a retried record step writes again, with what it knows now.
    await store.putHistory(first);
    await store.putHistory({ ...first, outcome: 'DNS_FAILED', summary: 'DnsChangeFailed: later' });

    // Assert
    const items = await scan();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      pk: { S: 'GROUP#orders' },
      sk: { S: 'EXEC#2026-03-01T12:00:00.000Z#orders-probe-1' },
      gsi1pk: { S: 'HISTORY' },
      outcome: { S: 'DNS_FAILED' },
    });
    expect(await store.listHistory({ group: 'orders' })).toEqual([{ ...first, outcome: 'DNS_FAILED', summary: 'DnsChangeFailed: later' }]);
  });

  it('lists one group newest first, with a limit', async () => {
    // Arrange: written out of order, with another group's in between.
    await store.putHistory(item('orders', at(0), 'orders-a'));
    await store.putHistory(item('orders', at(7200), 'orders-c'));
    await store.putHistory(item('billing', at(3600), 'billing-a'));
    await store.putHistory(item('orders', at(3600), 'orders-b'));

    // Act
    const all = await store.listHistory({ group: 'orders' });
    const latestTwo = await store.listHistory({ group: 'orders', limit: 2 });

    // Assert
    expect(all.map((h) => h.executionName)).toEqual(['orders-c', 'orders-b', 'orders-a']);
    expect(latestTwo.map((h) => h.executionName)).toEqual(['orders-c', 'orders-b']);
  });

  it('lists every group newest first, with a limit', async () => {
    await store.putHistory(item('orders', at(0), 'orders-a'));
    await store.putHistory(item('billing', at(1800), 'billing-a'));
    await store.putHistory(item('orders', at(3600), 'orders-b'));
    await store.putHistory(item('billing', at(5400), 'billing-b'));

    const all = await store.listHistory();
    const latestThree = await store.listHistory({ limit: 3 });

    expect(all.map((h) => `${h.group} ${h.executionName}`)).toEqual(['billing billing-b', 'orders orders-b', 'billing billing-a', 'orders orders-a']);
    expect(latestThree.map((h) => h.executionName)).toEqual(['billing-b', 'orders-b', 'billing-a']);
    // The table's keys are not part of the item handed out.
    expect(all[0]).not.toHaveProperty('pk');
    expect(all[0]).not.toHaveProperty('gsi1sk');
  });

  it('lists nothing for a group without history', async () => {
    await store.putHistory(item('orders', at(0), 'orders-a'));

    expect(await store.listHistory({ group: 'billing' })).toEqual([]);
  });
});

describe('record-outcome', () => {
  it('writes the history item of a failover, marks the group FAILED_OVER and releases its lock', async () => {
    // Arrange: this execution holds the lock.
    await store.acquireLock('orders', EXECUTION, T0, 3900);

    // Act
    const result = await run(succeeded(), deps());

    // Assert: what the step reports
    expect(result).toEqual({ recorded: true, outcome: 'SUCCEEDED', lockReleased: true });

    // ... the item as read back from the store
    const [history, ...more] = await store.listHistory({ group: 'orders' });
    expect(more).toEqual([]);
    expect(history).toMatchObject({
      group: 'orders',
      executionArn: EXECUTION,
      executionName: 'orders-probe-1',
      outcome: 'SUCCEEDED',
      summary: `failed over orders: ${INSTANCE} fenced (stopped), orders-replica promoted, 2 DNS record(s) INSYNC`,
      triggeredAt: '2026-03-01T11:59:50.000Z',
      startedAt: '2026-03-01T12:00:00.000Z',
      endedAt: '2026-03-01T12:00:40.000Z',
      dataLossSeconds: 2.4,
      // Trigger at T0 - 10 s to INSYNC at T0 + 37.5 s.
      rtoSeconds: 47.5,
      error: null,
      fence: { instanceId: INSTANCE, region: 'us-east-1', finalState: 'stopped', confirmed: true, method: 'force-stop' },
      promotion: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', endpointAddress: PROMOTED, confirmed: true, alreadyPromoted: false },
      notification: { notified: true, error: null },
      plannedActions: [],
    });
    expect(history.steps).toEqual([
      { step: 'lock', startedAt: '2026-03-01T12:00:00.000Z', endedAt: '2026-03-01T12:00:00.200Z', durationSeconds: 0.2, result: 'took the lock of orders until 2026-03-01T13:05:00.000Z' },
      { step: 'assess', startedAt: '2026-03-01T12:00:01.000Z', endedAt: '2026-03-01T12:00:01.500Z', durationSeconds: 0.5, result: 'replica orders-replica is available, lag 2.4 s within 30 s' },
      { step: 'fence', startedAt: '2026-03-01T12:00:02.000Z', endedAt: '2026-03-01T12:00:08.000Z', durationSeconds: 6, result: `${INSTANCE} confirmed stopped` },
      { step: 'promote', startedAt: '2026-03-01T12:00:09.000Z', endedAt: '2026-03-01T12:00:30.000Z', durationSeconds: 21, result: 'orders-replica promoted: available, no longer a replica' },
      { step: 'dns', startedAt: '2026-03-01T12:00:31.000Z', endedAt: '2026-03-01T12:00:37.500Z', durationSeconds: 6.5, result: '2 record(s) INSYNC' },
    ]);
    expect(history.dnsChanges).toEqual([
      { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: [OLD_PRIMARY], after: [PROMOTED], applied: true },
      { name: 'api.orders.example.com', type: 'A', ttl: 60, before: null, after: ['198.51.100.20'], applied: true },
    ]);

    // ... the group's state and the lock
    expect(await store.getGroupState('orders')).toEqual({
      group: 'orders',
      status: 'FAILED_OVER',
      primary: { kind: 'rds', id: 'orders-replica', endpointAddress: PROMOTED },
      reason: 'failed over by orders-probe-1: 3 consecutive failed probe rounds',
      lastFailover: { executionArn: EXECUTION, at: '2026-03-01T12:00:40.000Z', outcome: 'SUCCEEDED', rtoSeconds: 47.5 },
      updatedAt: '2026-03-01T12:00:40.000Z',
    });
    expect(await store.getLock('orders')).toBeUndefined();

    // ... and the log line (the metrics' EMF lines aside)
    expect(logs.filter((l) => !('_aws' in l))).toEqual([
      expect.objectContaining({ level: 'INFO', message: 'history item', record: expect.objectContaining({ executionArn: EXECUTION }) }),
    ]);
  });

  it('marks the chosen candidate, not the first configured replica, as the new primary', async () => {
    // Arrange: the deployed group has a second candidate, which the assess step chose.
    const two = parseConfig({ groups: [{ ...config.groups[0], additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' }] }] }).groups[0];
    const s = succeeded(probePlanFor(two));
    const chosen: WorkflowState = {
      ...s,
      assess: { ...s.assess!, chosen: { id: 'orders-replica-east', region: 'us-east-2' } },
      promote: { ...s.promote!, dbInstanceIdentifier: 'orders-replica-east', endpointAddress: 'east.example.com' },
    };

    // Act
    await run(chosen, { ...deps(), ...deployed(two) });

    // Assert
    expect(await store.getGroupState('orders')).toMatchObject({ status: 'FAILED_OVER', primary: { kind: 'rds', id: 'orders-replica-east', endpointAddress: 'east.example.com' } });
  });

  it("names only a deployed candidate as the new primary: a forged promotion result's identifier is not recorded", async () => {
    const s = succeeded();
    const forged: WorkflowState = { ...s, promote: { ...s.promote!, dbInstanceIdentifier: 'attacker-db' } };

    await run(forged, deps());

    expect(await store.getGroupState('orders')).toMatchObject({ status: 'FAILED_OVER', primary: { kind: 'rds', id: 'orders-replica' } });
  });

  it('refuses a state whose chosen replica is no candidate of the deployed group (InvalidInput): nothing is written', async () => {
    const s = succeeded();
    const forged: WorkflowState = { ...s, assess: { ...s.assess!, chosen: { id: 'attacker-db', region: 'us-west-2' } } };

    await expect(run(forged, deps())).rejects.toMatchObject({ name: 'InvalidInput' });

    expect(await store.getGroupState('orders')).toBeUndefined();
    expect(await store.listHistory({ group: 'orders' })).toEqual([]);
  });

  it('marks the group FAILED_OVER when the replica was promoted, even if DNS then failed', async () => {
    const s = succeeded();
    const state: WorkflowState = {
      ...s,
      dns: { ...s.dns!, confirmed: false, status: 'PENDING', endedAt: undefined },
      outcome: 'DNS_FAILED',
      error: { Error: 'DnsChangeFailed', Cause: JSON.stringify({ errorMessage: 'change /change/C2682N5HXP0BZ4 still PENDING 300 s after it was submitted (timeout 300 s)' }) },
    };

    await run(state, deps());

    expect(await store.getGroupState('orders')).toMatchObject({ status: 'FAILED_OVER', lastFailover: { outcome: 'DNS_FAILED', rtoSeconds: null } });
    const [history] = await store.listHistory({ group: 'orders' });
    expect(history).toMatchObject({
      outcome: 'DNS_FAILED',
      rtoSeconds: null,
      error: { name: 'DnsChangeFailed', cause: 'change /change/C2682N5HXP0BZ4 still PENDING 300 s after it was submitted (timeout 300 s)' },
    });
  });

  it('does not mark the group when nothing was promoted', async () => {
    const { plan: p, lock, assess } = succeeded();
    await store.acquireLock('orders', EXECUTION, T0, 3900);

    const result = await run({ plan: p, lock, assess: { ...assess!, decision: 'abort', reason: 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s', lagSeconds: 42 }, outcome: 'ABORTED' }, deps());

    expect(result).toEqual({ recorded: true, outcome: 'ABORTED', lockReleased: true });
    expect(await store.getGroupState('orders')).toBeUndefined();
    expect((await store.listHistory({ group: 'orders' }))[0]).toMatchObject({ outcome: 'ABORTED', summary: 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s' });
  });

  it('a dry run neither marks the group nor touches the lock', async () => {
    // Arrange: a real execution holds the lock while the dry run looks.
    await store.acquireLock('orders', OTHER, T0, 3900);
    const dry = succeeded(plan({ dryRun: true }));
    const state: WorkflowState = { ...dry, lock: { ...dry.lock!, acquired: true, holder: undefined }, outcome: 'DRY_RUN' };

    // Act
    const result = await run(state, deps());

    // Assert
    expect(result).toEqual({ recorded: true, outcome: 'DRY_RUN', lockReleased: false });
    expect(await store.getGroupState('orders')).toBeUndefined();
    expect(await store.getLock('orders')).toMatchObject({ holder: OTHER });
    const [history] = await store.listHistory({ group: 'orders' });
    expect(history).toMatchObject({ outcome: 'DRY_RUN', dryRun: true, rtoSeconds: null });
    expect(history.dnsChanges.map((c) => c.applied)).toEqual([false, false]);
    expect(history.plannedActions).toContain(`force-stop EC2 instance ${INSTANCE} in us-east-1`);
  });

  it('a SKIPPED run does not release the lock of the execution that holds it', async () => {
    // Arrange
    await store.acquireLock('orders', OTHER, T0, 3900);
    const skipped: WorkflowState = {
      plan: plan(),
      lock: { startedAt: at(0), endedAt: at(0.1), acquired: false, holder: OTHER, expiresAt: at(3900), reason: `skipping: another execution holds the lock of orders (${OTHER}) until 2026-03-01T13:05:00.000Z` },
      outcome: 'SKIPPED',
    };

    // Act
    const result = await run(skipped, deps());

    // Assert
    expect(result).toEqual({ recorded: true, outcome: 'SKIPPED', lockReleased: false });
    expect(await store.getLock('orders')).toEqual({ group: 'orders', holder: OTHER, acquiredAt: T0, expiresAt: at(3900) });
    expect((await store.listHistory({ group: 'orders' }))[0]).toMatchObject({ outcome: 'SKIPPED', summary: skipped.lock!.reason, notification: null });
  });

  it('reports lockReleased false when the lock was taken over meanwhile', async () => {
    // Arrange: this execution's lock expired and another took it.
    await store.acquireLock('orders', OTHER, at(4000), 3900);

    // Act
    const result = await run(succeeded(), deps(at(4100)));

    // Assert
    expect(result.lockReleased).toBe(false);
    expect(await store.getLock('orders')).toMatchObject({ holder: OTHER });
  });

  it('records a failed notification from the state machine error', async () => {
    const s = succeeded();
    delete s.notification;

    await run({ ...s, notificationError: { Error: 'TransientAwsError', Cause: JSON.stringify({ errorMessage: 'SNS Publish failed: ThrottledException: Rate exceeded' }) } }, deps());

    const [history] = await store.listHistory({ group: 'orders' });
    expect(history.notification).toEqual({ notified: false, error: 'TransientAwsError: SNS Publish failed: ThrottledException: Rate exceeded' });
  });

  it('run twice for one execution (a retry) leaves one history item', async () => {
    await store.acquireLock('orders', EXECUTION, T0, 3900);

    await run(succeeded(), deps(at(40)));
    const again = await run(succeeded(), deps(at(45)));

    expect(again).toEqual({ recorded: true, outcome: 'SUCCEEDED', lockReleased: false });
    const history = await store.listHistory({ group: 'orders' });
    expect(history).toHaveLength(1);
    expect(history[0].endedAt).toBe('2026-03-01T12:00:45.000Z');
  });

  it('throws TransientAwsError, retried by the state machine, when DynamoDB is unreachable', async () => {
    // Arrange: a client pointed at a port nobody listens on.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const unreachable = new Store(
      new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 }),
      store.tableName,
    );

    // Act
    const error = await run(succeeded(), deps(at(40), () => unreachable)).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    // Assert
    expect(error?.name).toBe('TransientAwsError');
    // The first write that fails names itself (the group state is written before the history item).
    expect(error?.message).toMatch(/^DynamoDB PutItem \((group state|history)\) failed: .*ECONNREFUSED/);
    // The record is not lost: it was logged before the write was tried.
    expect(logs[0]).toMatchObject({ message: 'history item', record: { executionArn: EXECUTION, outcome: 'SUCCEEDED' } });
    // Not recorded, so not counted: the retry that records it counts it once.
    expect(logs.filter((l) => '_aws' in l)).toEqual([]);
  });

  it('throws StoreUnavailable when the table does not exist', async () => {
    const missing = new Store(dynamo.client(), 'no-such-table');

    const error = await run(succeeded(), deps(at(40), () => missing)).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(error?.name).toBe('StoreUnavailable');
    expect(error?.message).toMatch(/^DynamoDB PutItem \((group state|history)\) failed: ResourceNotFoundException: /);
  });
});

describe('record-outcome metrics', () => {
  /** The EMF documents the step wrote through its log. */
  const emf = () => logs.filter((l) => '_aws' in l);
  /** One execution by its outcome: per group, and across groups (what the ABORTED alarm watches). */
  const executions = (outcome: string, group = 'orders') => [
    {
      _aws: {
        Timestamp: at(40),
        CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [['Group', 'Outcome']], Metrics: [{ Name: 'Executions', Unit: 'Count' }] }],
      },
      Group: group,
      Outcome: outcome,
      Executions: 1,
    },
    {
      _aws: {
        Timestamp: at(40),
        CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [['Outcome']], Metrics: [{ Name: 'Executions', Unit: 'Count' }] }],
      },
      Outcome: outcome,
      Executions: 1,
    },
  ];

  it('a SUCCEEDED failover: one execution by its outcome (per group and across groups), its RTO and its data-loss estimate', async () => {
    // Arrange
    await store.acquireLock('orders', EXECUTION, T0, 3900);

    // Act
    await run(succeeded(), deps());

    // Assert
    expect(emf()).toEqual([
      ...executions('SUCCEEDED'),
      {
        _aws: {
          Timestamp: at(40),
          CloudWatchMetrics: [
            {
              Namespace: 'FailoverController',
              Dimensions: [['Group']],
              Metrics: [
                { Name: 'RtoSeconds', Unit: 'Seconds' },
                { Name: 'DataLossSeconds', Unit: 'Seconds' },
              ],
            },
          ],
        },
        Group: 'orders',
        // Trigger at T0 - 10 s to INSYNC at T0 + 37.5 s; the replica lag when it was assessed.
        RtoSeconds: 47.5,
        DataLossSeconds: 2.4,
      },
    ]);
  });

  it('a retried record step (its first attempt wrote the record) does not count the execution again', async () => {
    await store.acquireLock('orders', EXECUTION, T0, 3900);

    await run(succeeded(), deps());
    const afterFirst = emf().length;
    await run(succeeded(), deps());

    expect(afterFirst).toBe(3);
    expect(emf()).toHaveLength(3);
    expect(await store.listHistory({ group: 'orders' })).toHaveLength(1);
  });

  it('an ABORTED execution counts as an execution, with no RTO and no data loss', async () => {
    const { plan: p, lock, assess } = succeeded();

    await run({ plan: p, lock, assess: { ...assess!, decision: 'abort', reason: 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s', lagSeconds: 42 }, outcome: 'ABORTED' }, deps());

    expect(emf()).toEqual(executions('ABORTED'));
  });

  it('a dry run is no failover: no RTO and no data loss', async () => {
    const dry = succeeded(plan({ dryRun: true }));

    await run({ ...dry, outcome: 'DRY_RUN' }, deps());

    expect(emf()).toEqual(executions('DRY_RUN'));
  });

  it('promoted but DNS failed: the data-loss estimate, and no RTO (DNS never flipped)', async () => {
    const s = succeeded();

    await run({ ...s, dns: { ...s.dns!, confirmed: false, status: 'PENDING', endedAt: undefined }, outcome: 'DNS_FAILED' }, deps());

    expect(emf()).toEqual([
      ...executions('DNS_FAILED'),
      expect.objectContaining({ _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Metrics: [{ Name: 'DataLossSeconds', Unit: 'Seconds' }] })] }), DataLossSeconds: 2.4 }),
    ]);
    expect(emf()[2]).not.toHaveProperty('RtoSeconds');
  });

  it('with a metrics sink of its own, the documents go there and not to the log', async () => {
    const documents: unknown[] = [];

    await run(succeeded(), { ...deps(), metrics: { emit: (d) => void documents.push(d) } });

    expect(emf()).toEqual([]);
    expect(documents).toEqual([
      { timestamp: at(40), dimensions: { Group: 'orders', Outcome: 'SUCCEEDED' }, values: [{ name: 'Executions', unit: 'Count', value: 1 }] },
      { timestamp: at(40), dimensions: { Outcome: 'SUCCEEDED' }, values: [{ name: 'Executions', unit: 'Count', value: 1 }] },
      {
        timestamp: at(40),
        dimensions: { Group: 'orders' },
        values: [
          { name: 'RtoSeconds', unit: 'Seconds', value: 47.5 },
          { name: 'DataLossSeconds', unit: 'Seconds', value: 2.4 },
        ],
      },
    ]);
  });
});
