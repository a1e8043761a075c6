/**
 * Probe-function invocations as deployed, for N groups of one HTTP probe each: the real
 * `runProbeInvocation` (the handler's own code) with the real Powertools logger and metrics writing to
 * stdout, a real DynamoDB (dynalite) and real HTTP probes against a local server, on a simulated clock
 * so a minute takes no wall time. It yields what the bill is made of: the invocation's billed duration,
 * the store's read and write request units, the log bytes Lambda ships, and the distinct CloudWatch
 * metrics the EMF lines create.
 *
 * Lambda reuses an execution environment from one invocation to the next, and the function keeps the
 * groups' counters in memory (run-probes.ts, ProbeMemory): the steady state is a warm environment. So
 * one cold invocation runs first (it reads every group's counters and writes the first rounds), then
 * WARM_INVOCATIONS warm ones, whose average is the figure: the shard's heartbeat
 * (PROBE_STATE_REFRESH_MS) lands in every other one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { checkAll, probeLabel } from '../../lambdas/probe/check-endpoint';
import { newHeartbeat, runProbeInvocation, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import { emfMetrics } from '../../lambdas/runtime/metrics';
import { logFor, SERVICE_NAME } from '../../lambdas/runtime/powertools';
import { Store } from '../../lambdas/core/store';
import { startLocalDynamoDB } from '../drill/local-dynamodb';
import type { SynthesizedController } from '../runner/synth';

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
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 64012.34 ms\tBilled Duration: 64013 ms\tMemory Size: 128 MB\tMax Memory Used: 98 MB\t`,
];

/** EventBridge delivers a scheduled event a little after the minute; the rounds start at the next round time. */
export const INVOCATION_STARTS_AFTER_MINUTE_MS = 300;
export const WARM_INVOCATIONS = 4;

export interface ProbeInvocation {
  groups: number;
  probesPerGroup: number;
  /** Rounds per group in one invocation. */
  rounds: number;
  /** Simulated ms from the invocation's start to its end (last round's time, spread and probes). */
  billedDurationMs: number;
  /** Per warm invocation (the average of WARM_INVOCATIONS). */
  getItems: number;
  putItems: number;
  readRequestUnits: number;
  writeRequestUnits: number;
  logLines: number;
  /** Log bytes ingested per warm invocation: each line with Lambda's prefix and newline, plus START/END/REPORT. */
  logBytes: number;
  /** Distinct metrics (namespace, metric name, dimension values) the EMF lines define. */
  metrics: number;
  /** The cold invocation's store requests (once per execution environment). */
  cold: { getItems: number; putItems: number };
  /** One line of each kind the invocation wrote, as Powertools wrote it. */
  sampleLines: string[];
}

/**
 * Run one cold and WARM_INVOCATIONS warm invocations of one shard of `groupCount` groups of one HTTP
 * probe each (`GET https://svc-NNN.example.com/health`, served locally), every endpoint healthy.
 */
export async function measureProbeInvocation(groupCount: number, table: SynthesizedController['table']): Promise<ProbeInvocation> {
  const server = await startHealthServer();
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
        probes: [{ ...deployed, name: probeLabel(deployed), url: `http://127.0.0.1:${server.port}/health/${name}` }],
        detection: { intervalSeconds: 10, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 },
      };
    });

    // The deployed logger and metrics, writing to a captured stdout.
    const lines: string[] = [];
    const logger = new Logger({ serviceName: SERVICE_NAME });
    // A simulated clock that may be set back: the next invocation starts a minute after this one began,
    // while this one may still be in its last round (they overlap, as deployed).
    let t = Date.parse('2026-01-01T00:00:00.000Z') + INVOCATION_STARTS_AFTER_MINUTE_MS;
    const clock = { now: () => t };
    const memory = new Map();
    const deps: ProbeDeps = {
      now: () => clock.now(),
      sleepUntil: async (ms) => void (t = Math.max(t, ms)),
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
      memory,
      heartbeat: newHeartbeat(),
    };

    const invoke = async () => {
      const start = clock.now();
      const captured = await captureStdout(() => runProbeInvocation(groups, { index: 0, of: 1 }, deps));
      const summary = captured.result;
      if (summary.failed > 0 || summary.void > 0) throw new Error(`${summary.failed} failed and ${summary.void} void round(s) in a healthy invocation`);
      const durationMs = clock.now() - start;
      t = start + 60_000;
      return { summary, durationMs, lines: captured.lines };
    };

    const cold = await invoke();
    const coldUsage = { getItems: usage.getItems, putItems: usage.putItems };
    const before = { ...usage };
    const warm = [];
    for (let k = 0; k < WARM_INVOCATIONS; k++) warm.push(await invoke());
    const per = (key: keyof typeof usage) => (usage[key] - before[key]) / WARM_INVOCATIONS;

    const warmLines = warm.flatMap((w) => w.lines);
    lines.push(...warmLines);
    const metrics = new Set<string>();
    for (const line of lines) {
      const entry = JSON.parse(line) as { _aws?: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> } } & Record<string, unknown>;
      for (const directive of entry._aws?.CloudWatchMetrics ?? []) {
        for (const dims of directive.Dimensions) {
          for (const m of directive.Metrics) metrics.add(JSON.stringify([directive.Namespace, m.Name, dims.map((d) => [d, entry[d]])]));
        }
      }
    }
    const lineBytes = (text: string) => LAMBDA_LINE_PREFIX_BYTES + Buffer.byteLength(text) + 1;
    const platformBytes = LAMBDA_PLATFORM_LINES.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    const kinds = new Map<string, string>();
    for (const line of [...cold.lines, ...warmLines]) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      kinds.set(String(entry.message ?? (entry._aws ? 'EMF' : '?')), line);
    }
    return {
      groups: groupCount,
      probesPerGroup: 1,
      rounds: warm[0].summary.rounds / groupCount,
      billedDurationMs: Math.ceil(Math.max(...warm.map((w) => w.durationMs))),
      getItems: per('getItems'),
      putItems: per('putItems'),
      readRequestUnits: per('readRequestUnits'),
      writeRequestUnits: per('writeRequestUnits'),
      logLines: warmLines.length / WARM_INVOCATIONS + LAMBDA_PLATFORM_LINES.length,
      logBytes: warmLines.reduce((sum, l) => sum + lineBytes(l), 0) / WARM_INVOCATIONS + platformBytes,
      metrics: metrics.size,
      cold: coldUsage,
      sampleLines: [...kinds.values()],
    };
  } finally {
    await dynamo.close();
    await server.close();
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

async function startHealthServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', 1024, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
