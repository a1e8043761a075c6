/**
 * The probe function as its two triggers invoke it: the schedule's `{ "shard": i }` queues the minute's
 * rounds on the (simulated) SQS queue, and each message, handed over as the event source mapping would,
 * runs one round against real local endpoints and a real DynamoDB (dynalite). What is asserted is what
 * an operator would see: the messages in the queue, the group's stored counters, the executions started.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadConfigFile } from '../../lambdas/core/config';
import { LocalPrimary } from '../../lib/drill/endpoints';
import type { LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { SimulatedAccount } from '../../lib/drill/sim/account';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { handleProbeEvent, newHeartbeat, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import type { Store } from '../../lambdas/core/store';
import { newTestStore, startLocalDynamoDB } from '../support/store';

const REGION = 'us-west-2';
const MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:failover`;
const TOPIC = `arn:aws:sns:${REGION}:123456789012:failover`;
const QUEUE = `https://sqs.${REGION}.amazonaws.com/123456789012/probe-rounds`;
/** The schedule fires 300 ms after the minute. */
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

let dynamo: LocalDynamoDB;
let primary: LocalPrimary;
let group: ProbeGroup;
beforeAll(async () => {
  dynamo = await startLocalDynamoDB();
  primary = await LocalPrimary.start();
  const example = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json')).groups[0];
  group = {
    name: example.name,
    detection: example.detection,
    probes: [{ type: 'http', name: 'health', url: `http://127.0.0.1:${primary.httpPort}/health`, method: 'GET', expectStatus: [200], timeoutMs: 500 }],
  };
});
afterAll(async () => {
  await primary.stop();
  await dynamo.close();
});

let store: Store;
let account: SimulatedAccount;
let logs: Array<Record<string, unknown>>;
let deps: ProbeDeps;
beforeEach(async () => {
  store = await newTestStore(dynamo);
  account = new SimulatedAccount({ latencies: { apiCallMs: 0 } });
  account.addTopic(TOPIC);
  account.sqs.addQueue(QUEUE);
  account.clock.advance(T0 + 300 - account.clock.now());
  logs = [];
  deps = {
    now: () => account.clock.now(),
    sleepUntil: async (ms) => account.clock.advance(Math.max(0, ms - account.clock.now())),
    check: checkAll,
    store: () => store,
    sfn: () => account.client(SFNClient, REGION),
    sns: () => account.client(SNSClient, REGION),
    stateMachineArn: () => MACHINE,
    topicArn: () => TOPIC,
    log: (entry) => logs.push(entry),
    memory: new Map(),
    heartbeat: newHeartbeat(),
    roundsQueue: { sqs: () => account.client(SQSClient, REGION), url: () => QUEUE },
  };
});
afterEach(async () => {
  await primary.setMode('up');
});

/** Hand every message due by `until` to the function, one invocation each, at its delivery time. */
async function deliverUntil(until: number, groups: ProbeGroup[] = [group]): Promise<void> {
  for (const m of account.sqs.deliver(QUEUE, until)) {
    account.clock.advance(Math.max(0, m.deliverAt - account.clock.now()));
    await handleProbeEvent({ Records: [{ messageId: m.messageId, body: m.body }] }, groups, deps);
  }
  account.clock.advance(Math.max(0, until - account.clock.now()));
}

describe('the scheduled invocation', () => {
  it('queues the minute\'s rounds, each delayed until its time, and probes nothing itself', async () => {
    await primary.setMode('down');
    const out = await handleProbeEvent({ shard: 0 }, [group], deps);

    expect(out).toMatchObject({ shard: 0, queued: 6, ranItself: 0 });
    const bodies = account.sqs.sent.map((m) => JSON.parse(m.body));
    expect(bodies.map((b) => b.roundAt - T0)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    expect(bodies.every((b) => b.shard === 0 && b.of === 1)).toBe(true);
    // SQS delays by whole seconds: each message becomes visible at its round time or up to a second after, never before.
    for (const [i, m] of account.sqs.sent.entries()) {
      expect(m.visibleAt).toBeGreaterThanOrEqual(bodies[i].roundAt);
      expect(m.visibleAt - bodies[i].roundAt).toBeLessThan(1000);
    }
    // Nothing was probed: the primary is down, and no failure is stored.
    expect(await store.getProbeState(group.name)).toBeUndefined();
  });

  it('queues each interval\'s rounds of a minute, in batches of at most 10', async () => {
    const fast = { ...group, name: 'fast', detection: { ...group.detection, intervalSeconds: 5 } };
    const slow = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 7 } };
    const out = await handleProbeEvent({ shard: 0 }, [fast, slow], deps);
    // 12 rounds of 5 s and 9 of 7 s in the minute from :00.3, 4 of them shared (:35 … every 35 s): 17 round times.
    const times = account.sqs.sent.map((m) => JSON.parse(m.body).roundAt - T0);
    expect(new Set(times).size).toBe(times.length);
    expect(times.every((t) => t > 300 && t < 60_300 && (t % 5000 === 0 || t % 7000 === 0))).toBe(true);
    expect(out).toMatchObject({ queued: times.length, ranItself: 0 });
    const batches = account.apiCalls.filter((c) => c.service === 'sqs' && c.operation === 'SendMessageBatch');
    expect(batches.length).toBe(Math.ceil(times.length / 10));
  });

  it('runs the minute itself when the queue refuses the rounds, so the watch goes on', async () => {
    account.startOutage({ service: 'sqs', region: REGION, failure: { kind: 'error', error: 'RequestThrottled' } });
    await primary.setMode('down');
    const out = await handleProbeEvent({ shard: 0 }, [group], deps);

    expect(out).toMatchObject({ queued: 0, ranItself: 6 });
    expect(account.sqs.sent).toHaveLength(6 - 6);
    // Six rounds of a down primary, threshold 3: declared down, and the workflow started once.
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(6);
    expect(account.startedExecutions).toHaveLength(1);
    expect(logs.find((l) => l.message === 'probe rounds not queued: this invocation runs them')).toMatchObject({ level: 'ERROR', ranItself: 6 });
  });
});

describe('a queued round', () => {
  it('runs when its message is delivered: three of them declare the primary down and start the workflow', async () => {
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await primary.setMode('down');
    await deliverUntil(T0 + 25_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    expect(account.startedExecutions).toHaveLength(0);
    await deliverUntil(T0 + 35_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(3);
    expect(account.startedExecutions).toHaveLength(1);
    expect((account.startedExecutions[0].input as { trigger: unknown }).trigger).toMatchObject({ type: 'probe', failedRounds: 3 });
  });

  it('counts a round delivered twice once', async () => {
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await primary.setMode('down');
    account.sqs.duplicateNext(2);
    await deliverUntil(T0 + 25_000);
    // Four deliveries of two rounds: two failures, not four.
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
  });

  it('is dropped when it comes after its interval has passed, and one of another split of the groups is too', async () => {
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await primary.setMode('down');
    account.sqs.deliveryLatencyMs = 10_500; // a poller that lagged a whole interval
    await deliverUntil(T0 + 25_000);
    expect(await store.getProbeState(group.name)).toBeUndefined();
    expect(logs.filter((l) => l.message === 'probe round dropped')).toHaveLength(1);

    account.sqs.deliveryLatencyMs = 200;
    await handleProbeEvent({ Records: [{ body: JSON.stringify({ shard: 1, of: 2, roundAt: T0 + 30_000 }) }] }, [group], deps);
    expect(await store.getProbeState(group.name)).toBeUndefined();
    expect(logs.at(-1)).toMatchObject({ message: 'probe round dropped', reason: expect.stringContaining('1 shard(s) now') });
  });

  it('drops a round queued for a time ahead of now: the schedule never queues one that comes early', async () => {
    await primary.setMode('down');
    await handleProbeEvent({ Records: [{ body: JSON.stringify({ shard: 0, of: 1, roundAt: T0 + 3_600_000 }) }] }, [group], deps);
    expect(await store.getProbeState(group.name)).toBeUndefined();
    expect(logs.at(-1)).toMatchObject({ message: 'probe round dropped', reason: expect.stringContaining('before its time') });
    // Nor did it wait for that time.
    expect(account.clock.now()).toBeLessThan(T0 + 1000);
  });

  it('drops a message that is not a round, naming the field, and does not throw (a redelivery would fail the same way)', async () => {
    const out = await handleProbeEvent({ Records: [{ messageId: 'm-1', body: JSON.stringify({ shard: 0, of: 1, roundAt: 'soon' }) }, { messageId: 'm-2', body: 'not json' }] }, [group], deps);
    expect(out).toEqual({ rounds: [] });
    expect(logs.map((l) => l.reason)).toEqual(['probe round message: roundAt must be a whole number, got "soon"', 'probe round message: not JSON: "not json"']);
    expect(await store.getProbeState(group.name)).toBeUndefined();
  });

  it('starts its probes on delivery: a message handed over late is not a late (void) round', async () => {
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await primary.setMode('down');
    account.sqs.deliveryLatencyMs = 2_500; // more than the 1 s a starved event loop is allowed, less than the interval
    await deliverUntil(T0 + 25_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    expect(logs.some((l) => l.message === 'probe round void')).toBe(false);
  });
});
