/**
 * The probe function's rounds against real local endpoints, a real DynamoDB (dynalite) and the
 * simulated account's Step Functions and SNS: what it counts, what it starts, and what it never does
 * twice.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadConfigFile, type GroupConfig } from '../../lambdas/core/config';
import { LocalPrimary } from '../../lib/drill/endpoints';
import type { LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { SimulatedAccount } from '../../lib/drill/sim/account';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { shardGroups } from '../../lambdas/core/probe-shards';
import { executionNameFor, newHeartbeat, PROBE_STATE_REFRESH_MS, runInvocation, runRound, runShard, shardOf, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import { createServer, type AddressInfo } from 'node:net';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { Store } from '../../lambdas/core/store';
import { probesOutOfDescriptors } from '../support/emfile';
import { HOLD_KEY, HOLD_LIVE_MS, holdInForce } from '../../lambdas/core/mass-failure-hold';
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

/** One round of one group, as the invocation runs it (counters read from the store). */
async function roundOf(g: ProbeGroup, roundAt: number, d: ProbeDeps) {
  const [report] = await runRound([g], roundAt, d);
  return report;
}

/**
 * A round at `roundAt` that every group passes: the controller has seen their primaries healthy, as
 * it must have before their failures count toward an automatic failover.
 */
async function seenHealthy(groups: ProbeGroup[], roundAt: number, d: ProbeDeps = deps) {
  const reports = await runRound(groups, roundAt, d, d.memory);
  expect(reports.map((r) => [r.group, r.failed, r.counted])).toEqual(groups.map((g) => [g.name, false, true]));
}

describe('runRound', () => {
  it('declares the primary down after failureThreshold failed rounds and starts one execution named after the outage', async () => {
    await seenHealthy([group], T0);
    await primary.setMode('down');

    const reports = [];
    for (const s of [10, 20, 30]) reports.push(await roundOf(group, T0 + s * 1000, deps));

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
    await seenHealthy([group], T0);
    await primary.setMode('down');
    for (const s of [10, 20, 30, 40, 50]) await roundOf(group, T0 + s * 1000, deps);
    expect(account.startedExecutions).toHaveLength(1);

    // As if the round that started it had not been able to write that it did.
    const state = (await store.getProbeState('orders'))!;
    expect(await store.putProbeState({ ...state, handledOutage: undefined, handledAs: undefined }, state.lastRoundAt)).toBe(true);
    const report = await roundOf(group, T0 + 60_000, deps);

    expect(report.action).toBe('already started probe-orders-20260101T000010Z');
    expect(account.startedExecutions).toHaveLength(1);
    expect(account.apiCalls.filter((c) => c.operation === 'StartExecution').map((c) => c.error ?? 'ok')).toEqual(['ok', 'ExecutionAlreadyExists']);
  });

  it('a healthy round resets the count, so the next outage gets its own execution name', async () => {
    await primary.setMode('down');
    for (const s of [10, 20]) await roundOf(group, T0 + s * 1000, deps);
    await primary.setMode('up');
    const healthy = await roundOf(group, T0 + 30_000, deps);
    await primary.setMode('down');
    for (const s of [40, 50, 60]) await roundOf(group, T0 + s * 1000, deps);

    expect(healthy.reason).toBe('recovered after 2 failed rounds');
    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 40_000)]);
  });

  it('a PAUSED group: the outage is reported once, and no execution starts', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', reason: 'patching', updatedAt: new Date(T0).toISOString() });
    await seenHealthy([group], T0);
    await primary.setMode('down');

    for (const s of [10, 20, 30, 40, 50]) await roundOf(group, T0 + s * 1000, deps);

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
    for (const s of [10, 20, 30, 40]) reports.push(await roundOf(group, T0 + s * 1000, deps));

    expect(reports[2].action).toMatch(/^could not report \(ThrottledException\); will try again next round/);
    expect(reports[3].action).toMatch(/^reported, not started/);
    expect(account.published).toHaveLength(1);
  });

  it('logs a failed round at WARN with each probe\'s outcome, and writes nothing for a healthy round it wrote recently', async () => {
    await roundOf(group, T0 + 10_000, deps); // first round ever: written
    logs.length = 0;
    await roundOf(group, T0 + 20_000, deps);
    expect(logs).toEqual([]);
    expect((await store.getProbeState('orders'))!.lastRoundAt).toBe(T0 + 10_000);

    await primary.setMode('down');
    await roundOf(group, T0 + 30_000, deps);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'probe round',
        group: 'orders',
        round: expect.stringMatching(/^round failed: 2 of 2 probes failed/),
        probes: [
          expect.objectContaining({ probe: 'health', ok: false, error: expect.any(String) }),
          expect.objectContaining({ probe: 'port', ok: false, error: 'connection refused' }),
        ],
      }),
    ]);
    expect((await store.getProbeState('orders'))!.lastRoundAt).toBe(T0 + 30_000);
  });

  it('writes a healthy group\'s counters once, and gives each group its last pass in its shard\'s heartbeat at least every PROBE_STATE_REFRESH_MS (what readiness and status read)', async () => {
    // As deployed: one environment kept warm from minute to minute, its counters and heartbeat in memory.
    // A group probed every 60 s shares the shard: it is not due in most rounds.
    const d: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    const slow: ProbeGroup = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 60 } };
    const shard = [group, { ...group, name: 'billing' }, slow];
    const beats: Array<NonNullable<Awaited<ReturnType<Store['getProbeHeartbeat']>>>> = [];
    for (let minute = 0; minute < 12; minute++) {
      now = T0 + minute * 60_000 + 300;
      await runShard(shard, d, undefined, { index: 2, of: 3 });
      const beat = (await store.getProbeHeartbeat(2))!;
      if (beats.at(-1)?.at !== beat.at) beats.push(beat);
    }
    // The counters: the first round ever, then nothing while every round passes.
    for (const name of ['orders', 'billing', 'slow']) expect((await store.getProbeState(name))!.lastRoundAt, name).toBeLessThanOrEqual(T0 + 60_000);
    // The heartbeat: about every other minute, never more than PROBE_STATE_REFRESH_MS plus a round apart,
    // and in every one each group's last pass is within its own interval of it.
    expect(beats.length).toBeGreaterThanOrEqual(6);
    expect(beats.length).toBeLessThan(12);
    for (let i = 1; i < beats.length; i++) expect(beats[i].at - beats[i - 1].at).toBeLessThanOrEqual(PROBE_STATE_REFRESH_MS + 10_000);
    // (The first, written after the first round at 10 s, is before slow's first round at 60 s.)
    expect(Object.keys(beats[0].passed).sort()).toEqual(['billing', 'orders']);
    for (const beat of beats.slice(1)) {
      expect(Object.keys(beat.passed).sort()).toEqual(['billing', 'orders', 'slow']);
      for (const g of shard) expect(beat.at - beat.passed[g.name], `${g.name} in the heartbeat at ${beat.at - T0} ms`).toBeLessThan(g.detection.intervalSeconds * 1000);
    }
  });

  it('a new environment keeps the times the shard\'s item gave the groups it has not seen pass yet', async () => {
    const slow: ProbeGroup = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 60 } };
    const first: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    for (const minute of [0, 1]) {
      now = T0 + minute * 60_000 + 300;
      await runShard([group, slow], first);
    }
    expect((await store.getProbeHeartbeat(0))!.passed).toEqual({ orders: T0 + 120_000, slow: T0 + 120_000 });

    // Another environment takes the next minute; its first round (130 s) is not one of slow's.
    now = T0 + 120_300;
    await runShard([group, slow], { ...deps, memory: new Map(), heartbeat: newHeartbeat() }, 12_000);

    expect((await store.getProbeHeartbeat(0))!.passed).toEqual({ orders: T0 + 130_000, slow: T0 + 120_000 });
  });

  it('a failure another environment wrote and nobody recovered (healthy rounds are not written) never joins a later one', async () => {
    // Lambda alternates two environments from minute to minute (the invocations overlap by 2 s), each
    // with the counters it last read or wrote in its memory.
    const envA = new Map();
    const envB = new Map();
    await runRound([group], T0 + 10_000, deps, envA); // both know the group, healthy
    await runRound([group], T0 + 20_000, deps, envB);
    await primary.setMode('down');
    await runRound([group], T0 + 60_000, deps, envB); // B's last round of its minute: a blip, written
    await primary.setMode('up');
    await runRound([group], T0 + 70_000, deps, envA); // A's minute: healthy, so nothing written
    expect(await store.getProbeState('orders')).toMatchObject({ consecutiveFailures: 1, lastRoundAt: T0 + 60_000 });
    await primary.setMode('down');
    const reports = [];
    for (const t of [80_000, 90_000, 100_000]) reports.push(await runRound([group], T0 + t, deps, envA));

    // Three consecutive failed rounds from 80 s, not 60 s + 80 s + 90 s: the execution is named after 80 s, started at 100 s.
    expect(reports.map(([r]) => r.reason)).toEqual([
      '1 of 3 failed rounds toward the threshold',
      '2 of 3 failed rounds toward the threshold',
      'primary down: 3 consecutive failed rounds since 2026-01-01T00:01:20.000Z (threshold 3)',
    ]);
    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 80_000)]);
  });

  it('leaves a group that failed the round out of the heartbeat; its own counters say so', async () => {
    const d: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    await primary.setMode('down');
    // billing's primary is another one, which still answers.
    const up = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    const other: ProbeGroup = { ...group, name: 'billing', probes: [{ type: 'tcp', name: 'port', host: '127.0.0.1', port: (up.address() as AddressInfo).port, timeoutMs: 500 }] };
    now = T0 + 300;
    try {
      await runShard([group, other], d, 12_000);
    } finally {
      up.close();
    }
    expect(await store.getProbeHeartbeat(0)).toMatchObject({ shard: 0, of: 1, at: T0 + 10_000, passed: { billing: T0 + 10_000 } });
    expect(await store.getProbeState('orders')).toMatchObject({ consecutiveFailures: 1, lastRoundAt: T0 + 10_000 });
  });
});

describe('metrics', () => {
  it('one document without dimensions per invocation: ProbeRounds only, while every round passes', async () => {
    now = T0 + 3_000;
    await runInvocation([group, { ...group, name: 'billing' }], deps, 60_000);

    const emf = logs.filter((l) => '_aws' in l);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toEqual({
      ProbeRounds: 12,
      _aws: { Timestamp: T0 + 3_000, CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [[]], Metrics: [{ Name: 'ProbeRounds', Unit: 'Count' }] }] },
    });
  });

  it('a group that failed rounds gets its own document (RoundFailed, ConsecutiveFailures), and FailedRounds appears', async () => {
    now = T0 + 3_000;
    await primary.setMode('down');
    const documents: Array<{ dimensions: Record<string, string>; values: Array<{ name: string; value: number }> }> = [];
    await runInvocation([group], { ...deps, metrics: { emit: (d) => void documents.push(d) } }, 30_000);

    expect(logs.filter((l) => '_aws' in l)).toEqual([]);
    expect(documents.map((d) => [d.dimensions, Object.fromEntries(d.values.map((v) => [v.name, v.value]))])).toEqual([
      [{}, { ProbeRounds: 3, FailedRounds: 3 }],
      [{ Group: 'orders' }, { RoundFailed: 3, ConsecutiveFailures: 3 }],
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
    now = T0 - 10_000;
    await seenHealthy([group], T0 - 10_000);
    now = T0;
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
    // Only the invocation that counts a round reports it: ProbeRounds sums to one per round.
    const reported = logs.filter((l) => '_aws' in l && 'ProbeRounds' in l);
    expect(reported.reduce((sum, l) => sum + (l.ProbeRounds as number), 0)).toBe(5);
    // And FailedRounds likewise: a failed round the other invocation counted is not failed twice.
    expect(reported.reduce((sum, l) => sum + ((l.FailedRounds as number | undefined) ?? 0), 0)).toBe(5);
  });

  it('groups without probes are not probed', async () => {
    const reports = await runInvocation([{ ...group, probes: [] }], deps, 60_000);
    expect(reports).toEqual([]);
    expect(await store.getProbeState('orders')).toBeUndefined();
  });
});

describe('a primary its probes have never seen healthy is not failed over automatically', () => {
  /** The group's probes pointed at a port where nothing listens: a wrong port, as an operator might deploy it. */
  const misconfigured = (): ProbeGroup => ({
    ...group,
    probes: [
      { type: 'http', name: 'health', url: 'http://127.0.0.1:1/health', method: 'GET', expectStatus: [200], timeoutMs: 500 },
      { type: 'tcp', name: 'port', host: '127.0.0.1', port: 1, timeoutMs: 500 },
    ],
  });

  it('probes that never passed: down after the threshold, reported once, nothing started; the first pass arms the next outage', async () => {
    await primary.setMode('down');
    const reports = [];
    for (const s of [10, 20, 30, 40, 50]) reports.push(await roundOf(group, T0 + s * 1000, deps));

    expect(account.startedExecutions).toEqual([]);
    expect(reports[2].reason).toBe('primary down: 3 consecutive failed rounds since 2026-01-01T00:00:10.000Z (threshold 3); its probes have never passed');
    expect(reports[2].action).toMatch(/^reported, not started: its probes have never passed: this controller has never seen the primary healthy/);
    expect(account.published).toHaveLength(1);
    expect(account.published[0].subject).toBe('failover orders: primary down, not failing over');
    expect(account.published[0].message).toMatch(/^orders: primary down since 2026-01-01T00:00:10.000Z \(3 failed rounds\), but no automatic failover: its probes have never passed/);
    expect(account.published[0].message).toContain('fail over by hand: failoverctl failover orders');
    expect(await store.getProbeState('orders')).toMatchObject({ lastSuccessAt: null, consecutiveFailures: 5, handledOutage: T0 + 10_000 });

    await primary.setMode('up');
    expect((await roundOf(group, T0 + 60_000, deps)).reason).toBe('recovered after 5 failed rounds');
    await primary.setMode('down');
    for (const s of [70, 80, 90]) await roundOf(group, T0 + s * 1000, deps);
    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 70_000)]);
  });

  it('probes changed to ones that never passed (a wrong port deployed): a healthy primary is reported, not fenced', async () => {
    await seenHealthy([group], T0);
    const reports = [];
    for (const s of [10, 20, 30]) reports.push(await roundOf(misconfigured(), T0 + s * 1000, deps));

    expect(primary.mode).toBe('up');
    expect(account.startedExecutions).toEqual([]);
    expect(reports[2].action).toMatch(/^reported, not started: its probes have not passed since they were changed \(last passed 2026-01-01T00:00:00.000Z, with other settings\)/);
    expect(account.published.map((p) => p.subject)).toEqual(['failover orders: primary down, not failing over']);
  });

  it('the first pass of changed probes is stored, so another execution environment fails over on them', async () => {
    const envA: ProbeDeps = { ...deps, memory: new Map() };
    const envB: ProbeDeps = { ...deps, memory: new Map() };
    await seenHealthy([group], T0, envA);
    // A third probe added; it passes in A, whose memory knew the group healthy (nothing else to write).
    const changed: ProbeGroup = { ...group, probes: [...group.probes, { type: 'tcp', name: 'port-again', host: '127.0.0.1', port: primary.tcpPort, timeoutMs: 500 }] };
    await seenHealthy([changed], T0 + 10_000, envA);

    await primary.setMode('down');
    for (const s of [20, 30, 40]) await runRound([changed], T0 + s * 1000, envB, envB.memory);

    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 20_000)]);
  });

  it('counters stored before the probe settings were kept fail over as before (an upgrade stops no failover)', async () => {
    expect(await store.putProbeState({ group: 'orders', consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: T0, lastRoundAt: T0 }, null)).toBe(true);
    await primary.setMode('down');
    for (const s of [10, 20, 30]) await roundOf(group, T0 + s * 1000, deps);

    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 10_000)]);
  });

  it('a void round is not a pass: probes that were only ever void arm nothing', async () => {
    const refused = (await probesOutOfDescriptors(primary.tcpPort)).filter((r) => r.voidReason !== undefined);
    const d: ProbeDeps = { ...deps, memory: new Map(), check: async (probes) => (now === T0 + 10_000 ? probes.map((p, i) => ({ ...refused[i], probe: p.name! })) : checkAll(probes)) };
    await primary.setMode('down');
    const reports = [];
    for (const s of [10, 20, 30, 40]) reports.push((await runRound([group], T0 + s * 1000, d, d.memory))[0]);

    expect(reports[0].void).toBe(true);
    expect(reports[3].action).toMatch(/^reported, not started: its probes have never passed/);
    expect(account.startedExecutions).toEqual([]);
  });
});

describe('void rounds: the prober\'s own failures count neither way', () => {
  it('EMFILE from the kernel makes the round void: no failed round counted, a WARN line and VoidRounds', async () => {
    const results = await probesOutOfDescriptors(primary.tcpPort);
    expect(results.some((r) => r.error?.includes('EMFILE'))).toBe(true);
    // The same group, probed with what that process saw.
    const crowded: ProbeGroup = { ...group, probes: results.map((r) => ({ type: 'tcp' as const, name: r.probe, host: '127.0.0.1', port: primary.tcpPort, timeoutMs: 2000 })) };
    const documents: Array<{ values: Array<{ name: string; value: number }> }> = [];
    now = T0 + 3_000;

    const reports = await runInvocation([crowded], { ...deps, check: async () => results, metrics: { emit: (d) => void documents.push(d) } }, 30_000);

    expect(reports.map((r) => [r.void, r.failed])).toEqual([[true, false], [true, false], [true, false]]);
    expect(await store.getProbeState('orders')).toBeUndefined();
    expect(account.startedExecutions).toEqual([]);
    const voidLines = logs.filter((l) => l.message === 'probe round void');
    expect(voidLines).toHaveLength(3);
    expect(voidLines[0]).toMatchObject({ level: 'WARN', group: 'orders', reason: expect.stringContaining('ran out of file descriptors (EMFILE)') });
    expect(Object.fromEntries(documents[0].values.map((v) => [v.name, v.value]))).toEqual({ ProbeRounds: 0, VoidRounds: 3 });
  });

  it('a void round between failed rounds neither counts nor breaks the run: down after three failures', async () => {
    await seenHealthy([group], T0);
    await primary.setMode('down');
    // The probe function runs out of file descriptors in the round at 20 s only (what checkAll made of EMFILE).
    const refused = (await probesOutOfDescriptors(primary.tcpPort)).filter((r) => r.voidReason !== undefined);
    const d: ProbeDeps = {
      ...deps,
      memory: new Map(),
      check: async (probes) => (now === T0 + 20_000 ? probes.map((p, i) => ({ ...refused[i], probe: p.name! })) : checkAll(probes)),
    };
    const reports = [];
    for (const t of [10_000, 20_000, 30_000, 40_000]) reports.push((await runRound([group], T0 + t, d, d.memory))[0]);

    expect(reports.map((r) => [r.void ?? false, r.reason.replace(/: .*/, '')])).toEqual([
      [false, '1 of 3 failed rounds toward the threshold'],
      [true, 'round void'],
      [false, '2 of 3 failed rounds toward the threshold'],
      [false, 'primary down'],
    ]);
    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 10_000)]);
  });

  it('a round the function began late (a starved event loop) is void, even when every probe failed', async () => {
    await primary.setMode('down');
    // The timer fires 3 s after the round time, as it does when the event loop is starved.
    const starved = { ...deps, sleepUntil: async (ms: number) => void (now = Math.max(now, ms + 3_000)) };

    const reports = await runRound([group], T0 + 10_000, starved);

    expect(reports).toEqual([expect.objectContaining({ void: true, failed: false, counted: false, reason: expect.stringMatching(/^round void: it began 3000 ms late/) })]);
    expect(await store.getProbeState('orders')).toBeUndefined();
  });
});

describe('mass failure: many groups failing in the same round hold the automatic failovers', () => {
  const fleet = () => ['orders', 'billing', 'ledger', 'search'].map((name) => ({ ...group, name }));

  it('every group down in the same rounds: no execution, one notification across invocations', async () => {
    await seenHealthy(fleet(), T0);
    await primary.setMode('down');
    now = T0 + 3_000;
    const first = await runShard(fleet(), deps, 60_000);
    now = T0 + 63_000;
    await runShard(fleet(), deps, 60_000);

    expect(account.startedExecutions).toEqual([]);
    expect(account.published).toHaveLength(1);
    expect(account.published[0].subject).toBe('failover-controller: automatic failovers held, the controller may be cut off');
    expect(account.published[0].message).toMatch(/^automatic failovers held: 4 of 4 groups failed the same round/);
    expect(first.held).toBeGreaterThan(0);
    expect(logs.filter((l) => l.message === 'probe round' && l.action !== undefined).every((l) => String(l.action).startsWith('held'))).toBe(true);
  });

  it('a hold that lasts says so once a minute, so that the workflow can tell it from one nobody is left to end', async () => {
    await seenHealthy(fleet(), T0);
    await primary.setMode('down');
    now = T0 + 3_000;
    await runShard(fleet(), deps, 60_000);
    const opened = (await store.getProbeState(HOLD_KEY))!;
    expect(opened).toMatchObject({ outageStartedAt: T0 + 10_000, lastRoundAt: T0 + 10_000 });
    now = T0 + 63_000;
    await runShard(fleet(), deps, 60_000);

    const lasting = (await store.getProbeState(HOLD_KEY))!;
    expect(lasting).toMatchObject({ outageStartedAt: T0 + 10_000, lastRoundAt: T0 + 70_000, openedBy: 0 });
    expect(holdInForce(lasting, T0 + 120_000)).toMatch(/^automatic failovers held since 2026-01-01T00:00:10.000Z: 4 of 4 groups failed the same round/);
    expect(holdInForce(lasting, T0 + 70_000 + HOLD_LIVE_MS + 1)).toBeUndefined();
    expect(account.published).toHaveLength(1);
  });

  it('once fewer groups fail, the hold ends and a group still down fails over', async () => {
    // orders' probes also ask a server of its own, which stops when the others come back.
    const own = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    const orders: ProbeGroup = { ...group, name: 'orders', detection: { ...group.detection, quorum: 'any' }, probes: [...group.probes, { type: 'tcp', name: 'own', host: '127.0.0.1', port: (own.address() as AddressInfo).port, timeoutMs: 500 }] };
    const groups = [orders, ...fleet().slice(1)];
    await seenHealthy(groups, T0);
    await primary.setMode('down');
    now = T0 + 3_000;
    await runShard(groups, deps, 40_000);
    expect(account.startedExecutions).toEqual([]);
    await primary.setMode('up');
    await new Promise((resolve) => own.close(resolve));

    now = T0 + 43_000;
    await runShard(groups, deps, 60_000);

    expect(account.startedExecutions.map((e) => e.name)).toEqual([executionNameFor('orders', T0 + 10_000)]);
    expect((await store.getProbeState(HOLD_KEY))!.outageStartedAt).toBeNull();
    expect(account.published).toHaveLength(1);
  });

  it('a healthy shard does not end the hold another shard opened: the item stays open, the topic is told once', async () => {
    await seenHealthy(fleet(), T0);
    await primary.setMode('down');
    // billing's shard reaches its primary; the cut-off shard's four groups fail together.
    const healthy = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve));
    const billing: ProbeGroup = { ...group, name: 'billing', probes: [{ type: 'tcp', name: 'port', host: '127.0.0.1', port: (healthy.address() as AddressInfo).port, timeoutMs: 500 }] };
    try {
      for (const t of [10_000, 20_000, 30_000]) {
        await runRound(fleet(), T0 + t, deps, new Map(), { index: 0, of: 2 });
        await runRound([billing], T0 + t, deps, new Map(), { index: 1, of: 2 });
        expect((await store.getProbeState(HOLD_KEY))!, `after the round at ${t / 1000} s`).toMatchObject({ outageStartedAt: T0 + 10_000, openedBy: 0 });
      }
    } finally {
      healthy.close();
    }
    expect(logs.filter((l) => l.message === 'probe hold ended')).toEqual([]);
    expect(account.published).toHaveLength(1);
    expect(account.startedExecutions).toEqual([]);
  });

  it('a hold whose opening shard is gone (the groups dealt into fewer shards) is ended by the shards there are', async () => {
    await primary.setMode('down');
    await runRound(fleet(), T0 + 10_000, deps, new Map(), { index: 1, of: 2 });
    expect((await store.getProbeState(HOLD_KEY))!).toMatchObject({ outageStartedAt: T0 + 10_000, openedBy: 1, openedOf: 2 });
    await primary.setMode('up');

    await runRound(fleet(), T0 + 20_000, deps, new Map(), { index: 0, of: 1 });

    expect((await store.getProbeState(HOLD_KEY))!.outageStartedAt).toBeNull();
  });

  it('a store that fails while the hold is recorded costs the round nothing: the groups are counted, the hold still holds', async () => {
    await seenHealthy(fleet(), T0);
    await primary.setMode('down');
    // DynamoDB throttles the reads of the hold item (the client's answer, as the SDK gives it).
    const client = dynamo.client();
    client.middlewareStack.add(
      (next) => async (args) => {
        const pk = (args.input as { Key?: { pk?: string | { S?: string } } }).Key?.pk;
        if ((typeof pk === 'string' ? pk : pk?.S) === `GROUP#${HOLD_KEY}`) {
          throw new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'The level of configured provisioned throughput for the table was exceeded.' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttleHoldItem' },
    );
    const throttled = new Store(client, store.tableName);
    const failing: ProbeDeps = { ...deps, store: () => throttled };

    const reports = await runRound(fleet(), T0 + 10_000, failing);

    expect(reports.map((r) => [r.group, r.counted, r.failed])).toEqual(fleet().map((g) => [g.name, true, true]));
    expect(account.startedExecutions).toEqual([]);
    expect(logs.filter((l) => l.message === 'probe hold not recorded')).toEqual([expect.objectContaining({ level: 'ERROR', hold: true, error: expect.stringMatching(/^TransientAwsError: DynamoDB GetItem failed: ProvisionedThroughputExceededException/) })]);
  });

  it('two groups of two failing is one outage each, not a mass failure: both fail over', async () => {
    await seenHealthy(fleet().slice(0, 2), T0);
    await primary.setMode('down');
    now = T0 + 3_000;
    await runShard(fleet().slice(0, 2), deps, 60_000);
    expect(account.startedExecutions).toHaveLength(2);
  });
});

describe('shards', () => {
  const groupOf = (name: string, probes: number): ProbeGroup => ({
    name,
    probes: Array.from({ length: probes }, (_, i) => ({ type: 'tcp' as const, name: `p${i}`, host: '10.0.0.1', port: 5432, timeoutMs: 2000 })),
    detection: group.detection,
  });

  it('no shard holds more probes than the budget, every probed group is in exactly one, none split', () => {
    const groups = Array.from({ length: 1000 }, (_, i) => groupOf(`g${i}`, 1 + (i % 3)));
    const shards = shardGroups([...groups, groupOf('none', 0)], 200);
    const load = shards.map((s) => s.reduce((n, g) => n + g.probes.length, 0));
    expect(Math.max(...load)).toBeLessThanOrEqual(200);
    expect(shards.length).toBeLessThanOrEqual(11); // 2,000 probes: 10 at best, one more when groups do not pack
    expect(shards.flat().map((g) => g.name).sort()).toEqual(groups.map((g) => g.name).sort());
  });

  it('the shard comes from the schedule\'s input, checked', () => {
    expect(shardOf({ shard: 2 }, 3)).toBe(2);
    expect(shardOf({}, 1)).toBe(0);
    expect(() => shardOf({ shard: 3 }, 3)).toThrow('shard: must be a whole number from 0 to 2, got 3');
  });
});
