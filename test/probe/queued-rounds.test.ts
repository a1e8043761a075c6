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
import { SimProbeTriggers } from '../../lib/drill/sim/triggers';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { handleProbeEvent, HEARTBEAT_MERGE_ATTEMPTS, newHeartbeat, runRound, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import { Store } from '../../lambdas/core/store';
import { roundsQueueOf } from '../../lambdas/core/probe-shards';
import { newTestStore, startLocalDynamoDB } from '../support/store';

const REGION = 'us-west-2';
const MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:failover`;
const TOPIC = `arn:aws:sns:${REGION}:123456789012:failover`;
const QUEUE = `https://sqs.${REGION}.amazonaws.com/123456789012/probe-rounds`;
const DLQ = `https://sqs.${REGION}.amazonaws.com/123456789012/undelivered`;
/** The minute whose rounds the tests watch; the schedule fired 25 s into the minute before, and queued it. */
const T0 = Date.parse('2026-01-01T00:01:00.000Z');
const SCHEDULED = T0 - 60_000 + 25_000;

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
  account.sqs.addQueue(DLQ);
  // As the stack makes it for the example config (lib/infra/detection.ts): 134 s, 8 minutes, 2 receives.
  account.sqs.addQueue(QUEUE, { visibilityTimeoutMs: 134_000, retentionMs: 480_000, maxReceiveCount: 2, deadLetterUrl: DLQ });
  account.clock.advance(SCHEDULED - account.clock.now());
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

/**
 * Hand every message due by `until` to the function, one invocation each, at its delivery time, in
 * `environment` (or in turn to each of `environments`), and delete it as the event source does after a success.
 */
async function deliverUntil(until: number, groups: ProbeGroup[] = [group], environments: ProbeDeps[] = [deps]): Promise<void> {
  // Every message due by `until`, that instant included.
  await new SimProbeTriggers(account.sqs, QUEUE).runUntil(until + 1, {
    advanceTo: async (ms) => account.clock.advance(Math.max(0, ms - account.clock.now())),
    schedule: async () => undefined,
    message: (m, i) => handleProbeEvent({ Records: [{ messageId: m.messageId, body: m.body }] }, groups, environments[i % environments.length]),
  });
  account.clock.advance(Math.max(0, until - account.clock.now()));
}

/**
 * The round before the watched minute passes: the controller has seen the primary healthy, as it must
 * have before its failures count toward an automatic failover.
 */
async function seenHealthy(environment: ProbeDeps = deps): Promise<void> {
  const [report] = await runRound([group], T0 - 10_000, environment, environment.memory);
  expect(report).toMatchObject({ failed: false, counted: true });
}

describe('the scheduled invocation', () => {
  it('queues the next clock minute\'s rounds, each delayed until its time, and probes nothing itself', async () => {
    await primary.setMode('down');
    const out = await handleProbeEvent({ shard: 0 }, [group], deps);

    expect(out).toMatchObject({ shard: 0, queued: 6, ranItself: 0 });
    const bodies = account.sqs.sent.map((m) => JSON.parse(m.body));
    // The next clock minute: the schedule fired 25 s into this one (EventBridge is not precise to the second).
    expect(bodies.map((b) => b.roundAt - T0)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(bodies.every((b) => b.shard === 0 && b.of === 1)).toBe(true);
    // SQS delays by whole seconds: each message becomes visible at its round time or up to a second after, never before.
    for (const [i, m] of account.sqs.sent.entries()) {
      expect(m.visibleAt).toBeGreaterThanOrEqual(bodies[i].roundAt);
      expect(m.visibleAt - bodies[i].roundAt).toBeLessThan(1000);
    }
    // The next minute's invocation, 24.9 s earlier within its minute, queues the next six: none twice, none left out.
    account.clock.advance(T0 + 100 - account.clock.now());
    await handleProbeEvent({ shard: 0 }, [group], deps);
    expect(account.sqs.sent.slice(6).map((m) => JSON.parse(m.body).roundAt - T0)).toEqual([60_000, 70_000, 80_000, 90_000, 100_000, 110_000]);
    // Nothing was probed: the primary is down, and no failure is stored.
    expect(await store.getProbeState(group.name)).toBeUndefined();
  });

  it('queues a 60 s group\'s one round a minute so that it begins on time, wherever in its minute the schedule fires', async () => {
    const slow = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 60 } };
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [slow], deps); // 25 s into the minute before T0
    await deliverUntil(T0 + 45_000, [slow]);
    await handleProbeEvent({ shard: 0 }, [slow], deps); // 45 s into T0's minute
    await deliverUntil(T0 + 61_000, [slow]);
    expect(logs.filter((l) => l.message === 'probe round void')).toEqual([]);
    expect(await store.getProbeState('slow')).toMatchObject({ consecutiveFailures: 2, lastRoundAt: T0 + 60_000 });
  });

  it('queues each interval\'s rounds of a minute, in batches of at most 10', async () => {
    const fast = { ...group, name: 'fast', detection: { ...group.detection, intervalSeconds: 5 } };
    const slow = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 7 } };
    const out = await handleProbeEvent({ shard: 0 }, [fast, slow], deps);
    // Every epoch-aligned multiple of 5 s or 7 s in the next clock minute, each once.
    const expected: number[] = [];
    for (let t = T0; t < T0 + 60_000; t += 1000) if (t % 5000 === 0 || t % 7000 === 0) expected.push(t);
    expect(expected.length).toBeGreaterThan(10);
    const times = account.sqs.sent.map((m) => JSON.parse(m.body).roundAt);
    expect([...times].sort((a, b) => a - b)).toEqual(expected);
    expect(out).toMatchObject({ queued: expected.length, ranItself: 0 });
    const batches = account.apiCalls.filter((c) => c.service === 'sqs' && c.operation === 'SendMessageBatch');
    expect(batches.map((b) => (b.input as { Entries: unknown[] }).Entries.length)).toEqual([10, expected.length - 10]);
  });

  it('sends each shard\'s rounds to its own queue, five shards a queue', async () => {
    const second = `https://sqs.${REGION}.amazonaws.com/123456789012/probe-rounds-2`;
    account.sqs.addQueue(second);
    // 7 groups of 200 probes: 7 shards, the sixth and seventh on the second queue.
    const big = Array.from({ length: 7 }, (_, i) => ({ ...group, name: `g${i}`, probes: Array.from({ length: 200 }, () => group.probes[0]) }));
    const byShard = { ...deps, roundsQueue: { sqs: deps.roundsQueue!.sqs, url: (shard: number) => [QUEUE, second][roundsQueueOf(shard)] } };
    await handleProbeEvent({ shard: 4 }, big, byShard);
    await handleProbeEvent({ shard: 5 }, big, byShard);
    expect(account.sqs.sent.map((m) => [m.queueUrl, JSON.parse(m.body).shard])).toEqual([
      ...Array.from({ length: 6 }, () => [QUEUE, 4]),
      ...Array.from({ length: 6 }, () => [second, 5]),
    ]);
  });

  it('runs the minute itself when the queue refuses the rounds, so the watch goes on', async () => {
    account.startOutage({ service: 'sqs', region: REGION, failure: { kind: 'error', error: 'RequestThrottled' } });
    await seenHealthy();
    await primary.setMode('down');
    const out = await handleProbeEvent({ shard: 0 }, [group], deps);

    expect(out).toMatchObject({ queued: 0, ranItself: 6 });
    expect(account.sqs.sent).toHaveLength(0);
    // Six rounds of a down primary, threshold 3: declared down, and the workflow started once.
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(6);
    expect(account.clock.now()).toBeGreaterThanOrEqual(T0 + 50_000);
    expect(account.startedExecutions).toHaveLength(1);
    expect(logs.find((l) => l.message === 'probe rounds not queued: this invocation runs them')).toMatchObject({ level: 'ERROR', ranItself: 6 });
    expect(logs.filter((l) => l.message === 'probe round void')).toEqual([]);
    // And the dashboard's RoundsNotQueued says so (an EMF document, here through the log).
    expect(logs.filter((l) => '_aws' in l).map((l) => l.RoundsNotQueued)).toContain(6);
  });
});

describe('a queued round', () => {
  it('runs when its message is delivered: three of them declare the primary down and start the workflow', async () => {
    await seenHealthy();
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await deliverUntil(T0 + 15_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    expect(account.startedExecutions).toHaveLength(0);
    await deliverUntil(T0 + 25_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(3);
    expect(account.startedExecutions).toHaveLength(1);
    expect((account.startedExecutions[0].input as { trigger: unknown }).trigger).toMatchObject({ type: 'probe', failedRounds: 3 });
  });

  it('counts a round delivered twice, to two execution environments, once', async () => {
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    const other: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    account.sqs.duplicateNext(2);
    await deliverUntil(T0 + 15_000, [group], [deps, other]);
    expect(logs.filter((l) => l.message === 'probe invocation').map((l) => l.round)).toEqual([T0, T0, T0 + 10_000, T0 + 10_000].map((t) => new Date(t).toISOString()));
    // Four deliveries of two rounds: two failures, not four.
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
  });

  it('is void when it begins later than the tolerance, and the run of failures goes on in another environment', async () => {
    await seenHealthy();
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await deliverUntil(T0 + 15_000); // :00 and :10 fail
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    // The :20 round is handed over 4 s late: probed then, it would be 6 s before the :30 round.
    account.sqs.deliveryLatencyMs = 4_000;
    await deliverUntil(T0 + 25_000);
    expect(logs.filter((l) => l.message === 'probe round void').map((l) => l.reason)).toEqual([expect.stringContaining('delivered 4000 ms after its time (tolerance 3000 ms)')]);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    expect(account.startedExecutions).toHaveLength(0);
    // The :30 round goes to an environment that never saw the :20 one: the stored bridge keeps the run.
    account.sqs.deliveryLatencyMs = 200;
    await deliverUntil(T0 + 35_000, [group], [{ ...deps, memory: new Map(), heartbeat: newHeartbeat() }]);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(3);
    expect(account.startedExecutions).toHaveLength(1);
  });

  it('bridges only the round next to a run: a healthy round nobody wrote lies between, so failures around it are not joined', async () => {
    const envA = deps;
    const envB: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    await handleProbeEvent({ shard: 0 }, [group], deps);
    // :00 up (B), :10 down (A), :20 up (B: healthy, its memory says no failure, so nothing is written),
    // :30 handed to A 4 s late (void), :40 and :50 down (A).
    const plan: Array<[number, 'up' | 'down', ProbeDeps, number]> = [
      [0, 'up', envB, 200], [10_000, 'down', envA, 200], [20_000, 'up', envB, 200], [30_000, 'down', envA, 4_000], [40_000, 'down', envA, 200], [50_000, 'down', envA, 200],
    ];
    for (const [at, mode, environment, latency] of plan) {
      await primary.setMode(mode);
      account.sqs.deliveryLatencyMs = latency;
      await deliverUntil(T0 + at + latency, [group], [environment]);
    }
    expect(logs.filter((l) => l.message === 'probe round void')).toHaveLength(1);
    // Two consecutive failures (:40, :50), not three: the :20 round passed.
    expect(await store.getProbeState(group.name)).toMatchObject({ consecutiveFailures: 2, outageStartedAt: T0 + 40_000 });
    expect(account.startedExecutions).toHaveLength(0);
  });

  it('a bridge another environment stored is counted by one whose memory is older', async () => {
    const envA = deps;
    const envC: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    await seenHealthy(envC);
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    // :00 and :10 fail in C; :20 reaches A 4 s late (void: A stores the bridge); :30 fails in C.
    const plan: Array<[number, ProbeDeps, number]> = [[0, envC, 200], [10_000, envC, 200], [20_000, envA, 4_000], [30_000, envC, 200]];
    for (const [at, environment, latency] of plan) {
      account.sqs.deliveryLatencyMs = latency;
      await deliverUntil(T0 + at + latency, [group], [environment]);
    }
    expect(await store.getProbeState(group.name)).toMatchObject({ consecutiveFailures: 3, outageStartedAt: T0 });
    expect(account.startedExecutions).toHaveLength(1);
  });

  it('is probed when it begins within the tolerance (SQS delays by whole seconds, and a poller takes a moment)', async () => {
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    account.sqs.deliveryLatencyMs = 2_500;
    await deliverUntil(T0 + 15_000);
    expect((await store.getProbeState(group.name))?.consecutiveFailures).toBe(2);
    expect(logs.some((l) => l.message === 'probe round void')).toBe(false);
  });

  it('lost with its invocation (it died), comes back after the visibility timeout, past its time: void; the run of failures restarts, so detection is later, never earlier', async () => {
    await seenHealthy();
    await primary.setMode('down');
    await handleProbeEvent({ shard: 0 }, [group], deps);
    await deliverUntil(T0 + 15_000); // :00 and :10 fail
    // The :20 round's invocation dies before it returns (a crash, a timeout): the message is not deleted.
    const [lost] = account.sqs.deliver(QUEUE, T0 + 21_000);
    expect(JSON.parse(lost.body).roundAt).toBe(T0 + 20_000);
    await deliverUntil(T0 + 160_000); // :30 … :50 fail, and the :20 one is handed over again at 2:34.5
    expect(logs.filter((l) => l.message === 'probe round void')).toMatchObject([{ roundAt: new Date(T0 + 20_000).toISOString() }]);
    // Nothing recorded the :20 round when it was due: a round nobody wrote may have passed (healthy rounds
    // are not written), so :30 starts a new run, and the third failure of it, :50, starts the workflow.
    const state = await store.getProbeState(group.name);
    expect(state).toMatchObject({ consecutiveFailures: 3, outageStartedAt: T0 + 30_000 });
    expect(account.startedExecutions.map((e) => e.at)).toEqual([expect.any(Number)]);
    expect(account.startedExecutions[0].at).toBeGreaterThan(T0 + 50_000);
  });

  it('goes to the dead-letter queue after two receives without a delete', async () => {
    await handleProbeEvent({ shard: 0 }, [group], deps);
    const first = account.sqs.deliver(QUEUE, T0 + 1_000);
    expect(first).toHaveLength(1);
    expect(account.sqs.deliver(QUEUE, T0 + 135_000).filter((m) => m.messageId === first[0].messageId)).toHaveLength(1);
    account.sqs.deliver(QUEUE, T0 + 270_000);
    expect(account.sqs.messages(DLQ).map((m) => JSON.parse(m.body).roundAt)).toContain(T0);
  });

  it('queued under another split of the groups into shards, probes the groups that split gave that shard', async () => {
    const billing = { ...group, name: 'billing' };
    await primary.setMode('down');
    account.clock.advance(T0 + 200 - account.clock.now());
    // Two groups are one shard now; the message was queued when they were two shards.
    await handleProbeEvent({ Records: [{ body: JSON.stringify({ shard: 1, of: 2, roundAt: T0 }) }] }, [group, billing], deps);
    expect(await store.getProbeState(group.name)).toBeUndefined();
    expect((await store.getProbeState('billing'))?.consecutiveFailures).toBe(1);
    await handleProbeEvent({ Records: [{ body: JSON.stringify({ shard: 1, of: 2, roundAt: T0 }) }] }, [group], deps);
    expect(logs.at(-1)).toMatchObject({ message: 'probe round dropped', reason: 'no group of shard 2 of 2 is due at that time' });
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
});

/** Shard 0's heartbeat, by its sort key as the document client hands the item to the client's middleware (not yet marshalled). */
function isShardItem(sk: unknown): boolean {
  return sk === 'SHARD#0';
}

describe('the shard\'s heartbeat', () => {
  it('merges what each environment saw: a group one environment rarely probes keeps the time another wrote', async () => {
    const slow = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 60 } };
    const envA = deps;
    const envB: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    // Three minutes: A runs every :00 round (both groups are due), B every other round (the 10 s group).
    // Each writes the shard's item every 110 s of its own: A at 0 s and 120 s, B at 10 s and 130 s.
    for (const minute of [0, 1, 2]) {
      account.clock.advance(Math.max(0, SCHEDULED + minute * 60_000 - account.clock.now()));
      await handleProbeEvent({ shard: 0 }, [group, slow], deps);
      for (const m of account.sqs.deliver(QUEUE, T0 + (minute + 1) * 60_000)) {
        account.clock.advance(Math.max(0, m.deliverAt - account.clock.now()));
        await handleProbeEvent({ Records: [{ body: m.body }] }, [group, slow], JSON.parse(m.body).roundAt % 60_000 === 0 ? envA : envB);
        account.sqs.deleteMessage(QUEUE, m.messageId);
      }
    }
    // B's write at 130 s keeps the 60 s group's pass that A wrote at 120 s.
    expect((await store.getProbeHeartbeat(0))?.passed).toEqual({ slow: T0 + 120_000, orders: T0 + 130_000 });
  });

  it('merges again when another environment wrote between its read and its write, rather than overwrite it', async () => {
    const slow = { ...group, name: 'slow', detection: { ...group.detection, intervalSeconds: 60 } };
    const envB: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat() };
    const round = (roundAt: number) => ({ Records: [{ messageId: `m-${roundAt}`, body: JSON.stringify({ shard: 0, of: 1, roundAt }) }] });
    // Environment A's DynamoDB client: its first heartbeat write waits until B, which read the item
    // after A did, has written its own (the two invocations overlap, as concurrent rounds of a shard can).
    const client = dynamo.client();
    let interleaved = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const item = (args.input as { Item?: { sk?: unknown } }).Item;
        if (!interleaved && context.commandName === 'PutItemCommand' && isShardItem(item?.sk)) {
          interleaved = true;
          account.clock.advance(T0 + 10_000 - account.clock.now());
          await handleProbeEvent(round(T0 + 10_000), [group, slow], envB);
        }
        return next(args);
      },
      { step: 'initialize', name: 'interleaveHeartbeatWrites' },
    );
    const envA: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat(), store: () => new Store(client, store.tableName) };
    account.clock.advance(T0 - account.clock.now());

    // A runs the :00 round (both groups due), B the :10 one (the 10 s group only) in the middle of A's write.
    await handleProbeEvent(round(T0), [group, slow], envA);

    expect(interleaved).toBe(true);
    // B's later pass of the 10 s group, and A's pass of the 60 s group: neither lost.
    expect(await store.getProbeHeartbeat(0)).toMatchObject({ passed: { orders: T0 + 10_000, slow: T0 }, version: 2 });
    expect(logs.filter((l) => l.message === 'probe heartbeat not merged')).toEqual([]);
  });

  it('leaves the write to its next round after HEARTBEAT_MERGE_ATTEMPTS writes by others, and says so', async () => {
    const client = dynamo.client();
    // Another environment writes the item before each of A's writes.
    let others = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const item = (args.input as { Item?: { sk?: unknown } }).Item;
        if (context.commandName === 'PutItemCommand' && isShardItem(item?.sk)) {
          const stored = await store.getProbeHeartbeat(0);
          await store.putProbeHeartbeat({ shard: 0, of: 1, at: T0, passed: { other: T0 + ++others } }, stored);
        }
        return next(args);
      },
      { step: 'initialize', name: 'othersWriteFirst' },
    );
    const envA: ProbeDeps = { ...deps, memory: new Map(), heartbeat: newHeartbeat(), store: () => new Store(client, store.tableName) };
    account.clock.advance(T0 - account.clock.now());

    await handleProbeEvent({ Records: [{ messageId: 'm-1', body: JSON.stringify({ shard: 0, of: 1, roundAt: T0 }) }] }, [group], envA);

    expect(others).toBe(HEARTBEAT_MERGE_ATTEMPTS);
    expect(await store.getProbeHeartbeat(0)).toMatchObject({ passed: { other: T0 + HEARTBEAT_MERGE_ATTEMPTS }, version: HEARTBEAT_MERGE_ATTEMPTS });
    expect(logs.filter((l) => l.message === 'probe heartbeat not merged')).toHaveLength(1);
  });
});
