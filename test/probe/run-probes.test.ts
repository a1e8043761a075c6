/**
 * The probe function's rounds against real local endpoints, a real DynamoDB (dynalite) and the
 * simulated account's Step Functions and SNS: what it counts, what it starts, and what it never does
 * twice.
 */
import { resolve } from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfigFile, type GroupConfig } from '../../lambdas/core/config';
import { LocalPrimary } from '../../lib/drill/endpoints';
import type { LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { SimulatedAccount } from '../../lib/drill/sim/account';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { executionNameFor, runInvocation, runRound, type ProbeDeps } from '../../lambdas/probe/run-probes';
import type { Store } from '../../lambdas/core/store';
import { newTestStore, startLocalDynamoDB } from '../support/store';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:failover';
const TOPIC = 'arn:aws:sns:us-west-2:123456789012:failover';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

let dynamo: LocalDynamoDB;
let primary: LocalPrimary;
let group: GroupConfig;
beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  primary = await LocalPrimary.start();
  const config = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
  const example = config.groups[0];
  group = {
    ...example,
    probes: [
      { type: 'http', name: 'health', url: `http://127.0.0.1:${primary.httpPort}/health`, method: 'GET', expectStatus: [200], timeoutMs: 500 },
      { type: 'tcp', name: 'port', host: '127.0.0.1', port: primary.tcpPort, timeoutMs: 500 },
    ],
  };
});
afterAll(async () => {
  await primary.stop();
  await dynamo.close();
});

let store: Store;
let account: SimulatedAccount;
let logs: Array<Record<string, unknown>>;
let now: number;
let deps: ProbeDeps;
beforeEach(async () => {
  store = await newTestStore(dynamo);
  account = new SimulatedAccount({ latencies: { apiCallMs: 0 } });
  account.addTopic(TOPIC);
  logs = [];
  now = T0;
  deps = {
    now: () => now,
    sleepUntil: async (ms) => {
      now = Math.max(now, ms);
    },
    check: checkAll,
    store: () => store,
    sfn: () => account.client(SFNClient, 'us-west-2'),
    sns: () => account.client(SNSClient, 'us-west-2'),
    stateMachineArn: () => MACHINE,
    topicArn: () => TOPIC,
    log: (entry) => logs.push(entry),
  };
});
afterEach(async () => {
  await primary.setMode('up');
});

describe('runRound', () => {
  it('declares the primary down after failureThreshold failed rounds and starts one execution named after the outage', async () => {
    await primary.setMode('down');

    const reports = [];
    for (const s of [10, 20, 30]) reports.push(await runRound(group, T0 + s * 1000, deps));

    expect(reports.map((r) => r.reason)).toEqual([
      '1 of 3 failed rounds toward the threshold',
      '2 of 3 failed rounds toward the threshold',
      'primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3)',
    ]);
    expect(account.startedExecutions).toHaveLength(1);
    const [execution] = account.startedExecutions;
    expect(execution.name).toBe('probe-orders-20260101T000010Z');
    expect(execution.stateMachineArn).toBe(MACHINE);
    expect(execution.input).toMatchObject({
      group: 'orders',
      trigger: { type: 'probe', at: '2026-01-01T00:00:30.000Z', outageStartedAt: '2026-01-01T00:00:10.000Z', failedRounds: 3 },
    });
    expect((execution.input as { reason: string }).reason).toMatch(/^probes: primary down, 3 consecutive failed rounds \(threshold 3\); round failed: 2 of 2 probes failed/);
    expect(await store.getProbeState('orders')).toMatchObject({
      consecutiveFailures: 3,
      outageStartedAt: T0 + 10_000,
      lastRoundAt: T0 + 30_000,
      handledOutage: T0 + 10_000,
      handledAs: 'started probe-orders-20260101T000010Z',
    });
  });

  it('seeing the same outage again starts nothing more; a lost record of it meets ExecutionAlreadyExists', async () => {
    await primary.setMode('down');
    for (const s of [10, 20, 30, 40, 50]) await runRound(group, T0 + s * 1000, deps);
    expect(account.startedExecutions).toHaveLength(1);

    // As if the round that started it had not been able to write that it did.
    const state = (await store.getProbeState('orders'))!;
    expect(await store.putProbeState({ ...state, handledOutage: undefined, handledAs: undefined }, state.lastRoundAt)).toBe(true);
    const report = await runRound(group, T0 + 60_000, deps);

    expect(report.action).toBe('already started probe-orders-20260101T000010Z');
    expect(account.startedExecutions).toHaveLength(1);
    expect(account.apiCalls.filter((c) => c.operation === 'StartExecution').map((c) => c.error ?? 'ok')).toEqual(['ok', 'ExecutionAlreadyExists']);
  });

  it('a healthy round resets the count, so the next outage gets its own execution name', async () => {
    await primary.setMode('down');
    for (const s of [10, 20]) await runRound(group, T0 + s * 1000, deps);
    await primary.setMode('up');
    const healthy = await runRound(group, T0 + 30_000, deps);
    await primary.setMode('down');
    for (const s of [40, 50, 60]) await runRound(group, T0 + s * 1000, deps);

    expect(healthy.reason).toBe('recovered after 2 failed rounds');
    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 40_000)]);
  });

  it('a PAUSED group: the outage is reported once, and no execution starts', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', reason: 'patching', updatedAt: new Date(T0).toISOString() });
    await primary.setMode('down');

    for (const s of [10, 20, 30, 40, 50]) await runRound(group, T0 + s * 1000, deps);

    expect(account.startedExecutions).toEqual([]);
    expect(account.published).toHaveLength(1);
    expect(account.published[0].subject).toBe('failover orders: primary down, not failing over');
    expect(account.published[0].message).toMatch(/^orders: primary down since 2026-01-01T00:00:10.000Z \(3 failed rounds\), but no automatic failover: orders is PAUSED \(patching\); automatic triggers are ignored\./);
  });

  it('a report that SNS refuses is tried again on the next round', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', updatedAt: new Date(T0).toISOString() });
    account.inject({ service: 'sns', operation: 'Publish', error: 'Throttled', times: 1 });
    await primary.setMode('down');

    const reports = [];
    for (const s of [10, 20, 30, 40]) reports.push(await runRound(group, T0 + s * 1000, deps));

    expect(reports[2].action).toMatch(/^could not report \(ThrottledException\); will try again next round/);
    expect(reports[3].action).toMatch(/^reported, not started/);
    expect(account.published).toHaveLength(1);
  });

  it('publishes each probe and each round as Embedded Metric Format log lines', async () => {
    await runRound(group, T0 + 10_000, deps);

    const emf = logs.filter((l) => '_aws' in l);
    expect(emf).toEqual([
      expect.objectContaining({ Group: 'orders', Probe: 'health', ProbeSuccess: 1, ProbeLatency: expect.any(Number) }),
      expect.objectContaining({ Group: 'orders', Probe: 'port', ProbeSuccess: 1 }),
      expect.objectContaining({ Group: 'orders', ProbeRounds: 1, RoundFailed: 0, ConsecutiveFailures: 0 }),
    ]);
    expect(emf[0]._aws).toEqual({
      Timestamp: T0 + 10_000,
      CloudWatchMetrics: [
        { Namespace: 'FailoverController', Dimensions: [['Group', 'Probe']], Metrics: [{ Name: 'ProbeSuccess', Unit: 'Count' }, { Name: 'ProbeLatency', Unit: 'Milliseconds' }] },
      ],
    });
    expect(emf[2]._aws).toEqual({
      Timestamp: T0 + 10_000,
      CloudWatchMetrics: [
        {
          Namespace: 'FailoverController',
          Dimensions: [['Group']],
          Metrics: [
            { Name: 'ProbeRounds', Unit: 'Count' },
            { Name: 'RoundFailed', Unit: 'Count' },
            { Name: 'ConsecutiveFailures', Unit: 'Count' },
          ],
        },
      ],
    });
    // Nothing but the metrics and their dimensions in a metric line (no `service` dimension, no stray keys).
    expect(Object.keys(emf[0]).sort()).toEqual(['Group', 'Probe', 'ProbeLatency', 'ProbeSuccess', '_aws']);
  });

  it('counts the failed rounds in a row in ConsecutiveFailures, back to 0 on recovery', async () => {
    await primary.setMode('down');
    for (const s of [10, 20, 30]) await runRound(group, T0 + s * 1000, deps);
    await primary.setMode('up');
    await runRound(group, T0 + 40_000, deps);

    const rounds = logs.filter((l) => '_aws' in l && 'ProbeRounds' in l);
    expect(rounds.map((l) => [l.RoundFailed, l.ConsecutiveFailures])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [0, 0],
    ]);
    expect(logs.filter((l) => l.Probe === 'health').map((l) => l.ProbeSuccess)).toEqual([0, 0, 0, 1]);
  });

  it('with a metrics sink of its own, the documents go there and not to the log', async () => {
    const documents: unknown[] = [];

    await runRound(group, T0 + 10_000, { ...deps, metrics: { emit: (d) => void documents.push(d) } });

    expect(logs.filter((l) => '_aws' in l)).toEqual([]);
    expect(documents).toEqual([
      { timestamp: T0 + 10_000, dimensions: { Group: 'orders', Probe: 'health' }, values: [{ name: 'ProbeSuccess', unit: 'Count', value: 1 }, { name: 'ProbeLatency', unit: 'Milliseconds', value: expect.any(Number) }] },
      { timestamp: T0 + 10_000, dimensions: { Group: 'orders', Probe: 'port' }, values: [{ name: 'ProbeSuccess', unit: 'Count', value: 1 }, { name: 'ProbeLatency', unit: 'Milliseconds', value: expect.any(Number) }] },
      {
        timestamp: T0 + 10_000,
        dimensions: { Group: 'orders' },
        values: [
          { name: 'ProbeRounds', unit: 'Count', value: 1 },
          { name: 'RoundFailed', unit: 'Count', value: 0 },
          { name: 'ConsecutiveFailures', unit: 'Count', value: 0 },
        ],
      },
    ]);
  });
});

describe('runInvocation', () => {
  it('probes at the group interval on aligned round times through its window', async () => {
    now = T0 + 3_000;
    const reports = await runInvocation([group], deps, 60_000);

    expect(reports.map((r) => (r.roundAt - T0) / 1000)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(reports.every((r) => r.counted && !r.failed)).toBe(true);
  });

  it('two overlapping invocations run the same rounds, and each round is counted once', async () => {
    await primary.setMode('down');

    const [a, b] = await Promise.all([runInvocation([group], deps, 45_000), runInvocation([group], deps, 45_000)]);

    const rounds = [...a, ...b];
    const roundTimes = [...new Set(rounds.map((r) => r.roundAt))].sort();
    expect(roundTimes.map((t) => (t - T0) / 1000)).toEqual([0, 10, 20, 30, 40]);
    for (const t of roundTimes) {
      expect(rounds.filter((r) => r.roundAt === t && r.counted), `round ${t}`).toHaveLength(1);
    }
    expect((await store.getProbeState('orders'))!.consecutiveFailures).toBe(5);
    expect(account.startedExecutions).toHaveLength(1);
    // Only the invocation that counts a round reports it: ProbeRounds is one per round, not per invocation.
    const reported = logs.filter((l) => '_aws' in l && 'ProbeRounds' in l);
    expect(reported.map((l) => ((l._aws as { Timestamp: number }).Timestamp - T0) / 1000).sort((a, b) => a - b)).toEqual([0, 10, 20, 30, 40]);
  });

  it('groups without probes are not probed', async () => {
    const reports = await runInvocation([{ ...group, probes: [] }], deps, 60_000);
    expect(reports).toEqual([]);
    expect(await store.getProbeState('orders')).toBeUndefined();
  });
});
