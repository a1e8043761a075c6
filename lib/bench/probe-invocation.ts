/**
 * A minute of the probe function as deployed, for one shard of N groups of one HTTP probe each: the
 * handler's own `handleProbeEvent`, first as the schedule invokes it (it queues the minute's rounds on
 * the simulated SQS queue), then once for each message as the event source mapping hands it over, with
 * the real Powertools logger and metrics writing to stdout, a real DynamoDB (dynalite) and real HTTPS
 * (or plain HTTP) probes against a local server in a child process, on a simulated clock for the
 * waits. It yields what the bill is made of: the invocations and their billed duration, the messages
 * sent, the store's read and write request units, the log bytes Lambda ships, and the distinct
 * CloudWatch metrics the EMF lines create.
 *
 * Lambda reuses an execution environment from one invocation to the next, and the function keeps the
 * groups' counters in memory (run-probes.ts, ProbeMemory): the steady state is a warm environment. So
 * one cold minute runs first (it reads every group's counters and writes the first rounds), then
 * WARM_MINUTES warm ones, whose average is the figure: the shard's heartbeat (PROBE_STATE_REFRESH_MS)
 * lands in every other one.
 *
 * The billed duration of an invocation is the largest of its waits on the simulated clock (a round's
 * spread), its work's wall time here, and its CPU time divided by the vCPU share of PROBE_MEMORY_MB (a
 * CPU-bound round takes that much longer on a fraction of a vCPU), plus REMOTE_ANSWER_MS for the
 * round's last probe: the local server answers at once, a real endpoint after a few round trips across
 * the network. The handshakes' CPU is in the CPU time: the local server speaks HTTPS like the endpoint.
 * DynamoDB (dynalite) runs in this process, and its CPU is counted too: the figure errs high. The
 * largest, not the sum: the probes started early in the spread do their work while the later ones wait
 * for their turn (the spread exists so that the work keeps up with it).
 */
import { performance } from 'node:perf_hooks';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { checkAll, probeLabel } from '../../lambdas/probe/check-endpoint';
import { handleProbeEvent, newHeartbeat, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import { emfMetrics } from '../../lambdas/runtime/metrics';
import { logFor, SERVICE_NAME } from '../../lambdas/runtime/powertools';
import { Store } from '../../lambdas/core/store';
import { startLocalDynamoDB } from '../drill/local-dynamodb';
import { SimulatedAccount } from '../drill/sim/account';
import { SimProbeTriggers } from '../drill/sim/triggers';
import { PROBE_MEMORY_MB, PROBE_VCPU_SHARE } from '../../lambdas/core/probe-shards';
import type { SynthesizedController } from '../runner/synth';
import { startEndpointServers, type ProbeProtocol } from './probe-round';

/**
 * Lambda's text log format (the stack sets no JSON format) puts `<ISO time>\t<request id>\tINFO\t` before
 * a line the runtime's console writes: 24 + 1 + 36 + 1 + 4 + 1 bytes. Powertools writes through a
 * Console of its own, which may not get it; counted anyway, so the figure errs on the high side.
 */
export const LAMBDA_LINE_PREFIX_BYTES = 67;
const REQUEST_ID = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';
/** The lines Lambda itself writes per invocation. */
export const LAMBDA_PLATFORM_LINES = [
  `START RequestId: ${REQUEST_ID} Version: $LATEST`,
  `END RequestId: ${REQUEST_ID}`,
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 1012.34 ms\tBilled Duration: 1013 ms\tMemory Size: ${PROBE_MEMORY_MB} MB\tMax Memory Used: 98 MB\t`,
];

/** EventBridge delivers a scheduled event a little after the minute; the rounds start at the next round time. */
export const INVOCATION_STARTS_AFTER_MINUTE_MS = 300;
export const WARM_MINUTES = 4;
/** Rounds run with their spread in real time after the warm minutes, for the CPU a deployed round takes (their median). */
export const REAL_TIME_ROUNDS = 3;
/** A real endpoint's answer to the round's last probe: a TLS handshake and a request, about three round trips of 30 ms, on the network. An assumption, not measured. */
export const REMOTE_ANSWER_MS = 100;

export interface ProbeMinute {
  groups: number;
  /** What the endpoints speak. */
  protocol: ProbeProtocol;
  probesPerGroup: number;
  /** Rounds per group in one minute. */
  rounds: number;
  /** Invocations a minute: the schedule's, and one per queued round. */
  invocations: number;
  /** SendMessageBatch calls and messages a minute (the queued rounds). */
  sendCalls: number;
  messages: number;
  /** Billed ms a minute, all its invocations together (see the module's comment). */
  billedMs: number;
  /** Of which: waits on the simulated clock, and the work's CPU time here (each round's at least `roundCpuMs`). */
  waitMs: number;
  cpuMs: number;
  /** The CPU time of a round invocation whose spread was waited out in real time (the median of REAL_TIME_ROUNDS). */
  roundCpuMs: number;
  /** Per warm minute (the average of WARM_MINUTES). */
  getItems: number;
  putItems: number;
  readRequestUnits: number;
  writeRequestUnits: number;
  logLines: number;
  /** Log bytes ingested per warm minute: each line with Lambda's prefix and newline, plus START/END/REPORT per invocation. */
  logBytes: number;
  /** Distinct metrics (namespace, metric name, dimension values) the EMF lines define. */
  metrics: number;
  /** The cold minute's store requests (once per execution environment). */
  cold: { getItems: number; putItems: number };
  /** One line of each kind the minute wrote, as Powertools wrote it. */
  sampleLines: string[];
}

/**
 * Run one cold and WARM_MINUTES warm minutes of one shard of `groupCount` groups of one HTTP probe each
 * (`GET https://svc-NNN.example.com/health`, served locally over `protocol`), every endpoint healthy.
 */
export async function measureProbeMinute(groupCount: number, table: SynthesizedController['table'], protocol: ProbeProtocol): Promise<ProbeMinute> {
  const server = await startEndpointServers(1, protocol);
  const dynamo = await startLocalDynamoDB();
  try {
    const tableName = 'failover-controller-bench';
    await dynamo.createTable(tableName, table);
    const client = dynamo.client();
    const usage = { getItems: 0, putItems: 0, readRequestUnits: 0, writeRequestUnits: 0 };
    // Ask DynamoDB what each request consumed; the Store's own requests are otherwise unchanged.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName;
        const input = args.input as Record<string, unknown>;
        if (command === 'GetItemCommand' || command === 'PutItemCommand') input.ReturnConsumedCapacity = 'TOTAL';
        const out = await next(args);
        const units = (out.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits ?? 0;
        if (command === 'GetItemCommand') {
          usage.getItems += 1;
          usage.readRequestUnits += units;
        } else if (command === 'PutItemCommand') {
          usage.putItems += 1;
          usage.writeRequestUnits += units;
        }
        return out;
      },
      { step: 'initialize', name: 'benchConsumedCapacity' },
    );
    const store = new Store(client, tableName);

    const groups: ProbeGroup[] = Array.from({ length: groupCount }, (_, i) => {
      const name = `svc-${String(i + 1).padStart(4, '0')}`;
      const deployed = { type: 'http' as const, url: `https://${name}.example.com/health`, method: 'GET' as const, expectStatus: [200], timeoutMs: 2000 };
      return {
        name,
        // Served locally, labelled as the deployed probe would be, so the log lines have the deployed size.
        probes: [{ ...deployed, name: probeLabel(deployed), url: `${protocol}://127.0.0.1:${server.ports[0]}/ok/${name}` }],
        detection: { intervalSeconds: 10, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 },
      };
    });

    // The queue and its clock: SQS simulated, with no API latency (the bench counts its calls).
    const account = new SimulatedAccount({ latencies: { apiCallMs: 0 } });
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-ProbeRounds';
    account.sqs.addQueue(queueUrl);
    const minuteZero = Date.parse('2026-01-01T00:05:00.000Z');
    account.clock.advance(minuteZero - 60_000 + INVOCATION_STARTS_AFTER_MINUTE_MS - account.clock.now());
    const logger = new Logger({ serviceName: SERVICE_NAME });
    const deps: ProbeDeps = {
      now: () => account.clock.now(),
      sleepUntil: async (ms) => account.clock.advance(Math.max(0, ms - account.clock.now())),
      // A healthy local endpoint answers; how soon depends on this machine's load, so the probes' own 2 s
      // timeout must not decide it (the clock of the rounds is simulated anyway).
      check: (probes) => checkAll(probes.map((p) => ({ ...p, timeoutMs: 30_000 }))),
      store: () => store,
      sfn: () => {
        throw new Error('a healthy round started an execution');
      },
      sns: () => {
        throw new Error('a healthy round published a notification');
      },
      stateMachineArn: () => 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
      topicArn: () => 'arn:aws:sns:us-east-1:123456789012:bench',
      log: logFor(undefined, logger),
      metrics: emfMetrics(),
      memory: new Map(),
      heartbeat: newHeartbeat(),
      roundsQueue: { sqs: () => account.client(SQSClient, 'us-east-1'), url: () => queueUrl },
    };

    /** One invocation: its lines, and what it took (billed below, once the rounds' CPU is known). */
    const invoke = async (event: unknown, on: ProbeDeps = deps) => {
      const simulatedStart = account.clock.now();
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      const captured = await captureStdout(() => handleProbeEvent(event, groups, on));
      const wallMs = performance.now() - wallBefore;
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const waitMs = account.clock.now() - simulatedStart;
      const probed = 'Records' in (event as object);
      const out = captured.result as { rounds?: Array<{ failed?: number; void?: number; dropped?: boolean }>; ranItself?: number };
      if (out.ranItself) throw new Error(`the scheduled invocation ran ${out.ranItself} round(s) itself: the queue refused them`);
      for (const r of out.rounds ?? []) if (r.dropped || r.failed || r.void) throw new Error(`a healthy round was dropped, failed or void: ${JSON.stringify(r)}`);
      return { lines: captured.lines, wallMs, waitMs, cpuMs, probed, rounds: (out.rounds ?? []).length };
    };

    // The schedule fires INVOCATION_STARTS_AFTER_MINUTE_MS into each minute and queues the next one's
    // rounds; the messages are handed over as they come due. A measured minute holds what happens in it:
    // one scheduled invocation and the minute's rounds (queued by the one before).
    const triggers = new SimProbeTriggers(account.sqs, queueUrl, minuteZero - 60_000 + INVOCATION_STARTS_AFTER_MINUTE_MS);
    let minute = 0;
    const runMinute = async () => {
      const sendsBefore = account.apiCalls.filter((c) => c.operation === 'SendMessageBatch').length;
      const messagesBefore = account.sqs.sent.length;
      const invocations: Array<Awaited<ReturnType<typeof invoke>>> = [];
      await triggers.runUntil(minuteZero + (minute + 1) * 60_000, {
        advanceTo: async (ms) => account.clock.advance(Math.max(0, ms - account.clock.now())),
        schedule: async () => invocations.push(await invoke({ shard: 0 })),
        message: async (m) => invocations.push(await invoke({ Records: [{ messageId: m.messageId, body: m.body }] })),
      });
      minute += 1;
      return {
        invocations,
        sendCalls: account.apiCalls.filter((c) => c.operation === 'SendMessageBatch').length - sendsBefore,
        messages: account.sqs.sent.length - messagesBefore,
      };
    };

    // The first (cold) minute begins with the schedule's invocation of the minute before, which queues it.
    minute = -1;
    await runMinute();
    const cold = await runMinute();
    const coldUsage = { getItems: usage.getItems, putItems: usage.putItems };
    const before = { ...usage };
    const warm: Array<Awaited<ReturnType<typeof runMinute>>> = [];
    for (let k = 0; k < WARM_MINUTES; k++) warm.push(await runMinute());
    const perMinute = (key: keyof typeof usage) => (usage[key] - before[key]) / WARM_MINUTES;
    const warmUsage = { getItems: perMinute('getItems'), putItems: perMinute('putItems'), readRequestUnits: perMinute('readRequestUnits'), writeRequestUnits: perMinute('writeRequestUnits') };

    // On the simulated clock a round's spread takes no time, so its probes run back to back here: less
    // CPU than a deployed round, whose probes start one group every SPREAD_PER_GROUP_MS, each handshake
    // on its own (on 2026-12-05, 200 HTTPS probes took 290 to 345 ms back to back, 480 to 570 spread).
    // So REAL_TIME_ROUNDS more rounds run with their spread waited out in real time, and a round's CPU
    // is the larger of theirs and its own.
    const realTime: ProbeDeps = {
      ...deps,
      sleepUntil: async (ms) => {
        const wait = ms - account.clock.now();
        if (wait <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
        account.clock.advance(wait);
      },
    };
    const realRoundCpu: number[] = [];
    for (let k = 0; k < REAL_TIME_ROUNDS; k++) {
      const roundAt = Math.ceil((account.clock.now() + 1) / 10_000) * 10_000;
      account.clock.advance(roundAt - account.clock.now());
      const timed = await invoke({ Records: [{ messageId: `real-time-${k}`, body: JSON.stringify({ shard: 0, of: 1, roundAt }) }] }, realTime);
      if (timed.rounds !== 1) throw new Error(`the real-time round at ${new Date(roundAt).toISOString()} ran ${timed.rounds} round(s)`);
      realRoundCpu.push(timed.cpuMs);
    }
    // The median: one round slowed by something else on this machine does not move it.
    const roundCpuMs = [...realRoundCpu].sort((a, b) => a - b)[Math.floor(realRoundCpu.length / 2)];
    const billedOf = (i: Awaited<ReturnType<typeof invoke>>) =>
      Math.ceil(Math.max(i.waitMs, i.wallMs, (i.probed ? Math.max(i.cpuMs, roundCpuMs) : i.cpuMs) / PROBE_VCPU_SHARE) + (i.probed ? REMOTE_ANSWER_MS : 0));
    const cpuOf = (i: Awaited<ReturnType<typeof invoke>>) => (i.probed ? Math.max(i.cpuMs, roundCpuMs) : i.cpuMs);

    const avg = (f: (m: (typeof warm)[number]) => number) => warm.reduce((sum, m) => sum + f(m), 0) / WARM_MINUTES;
    const sumOf = (m: (typeof warm)[number], f: (i: (typeof m.invocations)[number]) => number) => m.invocations.reduce((sum, i) => sum + f(i), 0);

    const warmLines = warm.flatMap((m) => m.invocations.flatMap((i) => i.lines));
    const metrics = new Set<string>();
    for (const line of warmLines) {
      const entry = JSON.parse(line) as { _aws?: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;
      for (const directive of entry._aws?.CloudWatchMetrics ?? []) {
        for (const dims of directive.Dimensions) {
          for (const m of directive.Metrics) metrics.add(JSON.stringify([directive.Namespace, m.Name, dims.map((d) => [d, entry[d]])]));
        }
      }
    }
    const lineBytes = (text: string) => LAMBDA_LINE_PREFIX_BYTES + Buffer.byteLength(text) + 1;
    const platformBytes = LAMBDA_PLATFORM_LINES.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    const invocations = avg((m) => m.invocations.length);
    const kinds = new Map<string, string>();
    for (const line of [...cold.invocations.flatMap((i) => i.lines), ...warmLines]) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      kinds.set(String(entry.message ?? (entry._aws ? 'EMF' : '?')), line);
    }
    return {
      groups: groupCount,
      protocol,
      probesPerGroup: 1,
      rounds: avg((m) => sumOf(m, (i) => i.rounds)),
      invocations,
      sendCalls: avg((m) => m.sendCalls),
      messages: avg((m) => m.messages),
      billedMs: Math.ceil(avg((m) => sumOf(m, billedOf))),
      waitMs: Math.round(avg((m) => sumOf(m, (i) => i.waitMs))),
      cpuMs: Math.round(avg((m) => sumOf(m, cpuOf))),
      roundCpuMs: Math.round(roundCpuMs * 10) / 10,
      ...warmUsage,
      logLines: warmLines.length / WARM_MINUTES + invocations * LAMBDA_PLATFORM_LINES.length,
      logBytes: warmLines.reduce((sum, l) => sum + lineBytes(l), 0) / WARM_MINUTES + invocations * platformBytes,
      metrics: metrics.size,
      cold: coldUsage,
      sampleLines: [...kinds.values()],
    };
  } finally {
    await dynamo.close();
    await server.stop();
  }
}

/** Run `work` with process.stdout's writes captured as lines (Powertools' Logger and Metrics write there). */
async function captureStdout<T>(work: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stdout.write;
  let pending = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    const result = await work();
    if (pending) lines.push(pending);
    return { result, lines: lines.filter((l) => l.trim().startsWith('{')) };
  } finally {
    process.stdout.write = write;
  }
}
