/**
 * One probe-function invocation as deployed (a 62 s window, rounds every 10 s), for N groups of one HTTP
 * probe each: the real `runInvocation` with a real DynamoDB (dynalite) and real HTTP probes against a
 * local server, on a simulated clock so the minute takes no wall time. It yields what the bill is made
 * of: the invocation's duration, the store's read and write request units, the log lines and the
 * distinct CloudWatch metrics its EMF lines create.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { probeLabel } from '../../lambdas/probe/check-endpoint';
import { runInvocation, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import { Store } from '../../lambdas/core/store';
import { startLocalDynamoDB } from '../drill/local-dynamodb';
import { SimClock } from '../drill/sim/account';
import type { SynthesizedController } from '../runner/synth';

/**
 * Lambda's text log format (the stack sets no JSON format) puts `<ISO time>\t<request id>\tINFO\t` before
 * each console.log line: 24 + 1 + 36 + 1 + 4 + 1 bytes.
 */
export const LAMBDA_LINE_PREFIX_BYTES = 67;
const REQUEST_ID = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';
/** The lines Lambda itself writes per invocation. */
export const LAMBDA_PLATFORM_LINES = [
  `START RequestId: ${REQUEST_ID} Version: $LATEST`,
  `END RequestId: ${REQUEST_ID}`,
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 60012.34 ms\tBilled Duration: 60013 ms\tMemory Size: 256 MB\tMax Memory Used: 98 MB\t`,
];

export interface ProbeInvocation {
  groups: number;
  probesPerGroup: number;
  rounds: number;
  /** Simulated ms from the invocation's start to its last round's start. */
  lastRoundAfterMs: number;
  /** Wall ms of the last round (all groups at once): what the invocation runs past its last round time. */
  lastRoundWallMs: number;
  /** What Lambda bills: last round's start plus the last round, rounded up to the ms. */
  billedDurationMs: number;
  getItems: number;
  putItems: number;
  readRequestUnits: number;
  writeRequestUnits: number;
  logLines: number;
  /** Log bytes ingested for the invocation: each line with Lambda's prefix and newline, plus START/END/REPORT. */
  logBytes: number;
  /** Distinct metrics (namespace, metric name, dimension values) the EMF lines define. */
  metrics: number;
}

/**
 * Run one invocation for `groupCount` groups of one HTTP probe each (`GET https://svc-NNN.example.com/health`,
 * served locally), starting on a minute boundary, which is also a round time: the longest invocation,
 * and the one whose last round the next invocation runs again.
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
      const name = `svc-${String(i + 1).padStart(3, '0')}`;
      const deployed = { type: 'http' as const, url: `https://${name}.example.com/health`, method: 'GET' as const, expectStatus: [200], timeoutMs: 2000 };
      return {
        name,
        // Served locally, labelled as the deployed probe would be, so the log lines have the deployed size.
        probes: [{ ...deployed, name: probeLabel(deployed), url: `http://127.0.0.1:${server.port}/health/${name}` }],
        detection: { intervalSeconds: 10, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 },
      };
    });

    const clock = new SimClock();
    const start = clock.now();
    const lines: string[] = [];
    // Every group sleeps until the same round times: release them together, as real time would.
    const barrier = new RoundBarrier(groups.length, (ms) => clock.advance(Math.max(0, ms - clock.now())));
    const deps: ProbeDeps = {
      now: () => clock.now(),
      sleepUntil: (ms) => barrier.wait(ms),
      check: checkAll,
      store: () => store,
      sfn: () => {
        throw new Error('a healthy round started an execution');
      },
      sns: () => {
        throw new Error('a healthy round published a notification');
      },
      stateMachineArn: () => 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
      topicArn: () => 'arn:aws:sns:us-east-1:123456789012:bench',
      log: (entry) => lines.push(JSON.stringify(entry)),
    };
    const reports = await runInvocation(groups, deps);
    const ended = performance.now();
    const failed = reports.filter((r) => r.failed || !r.counted);
    if (failed.length > 0) throw new Error(`${failed.length} round(s) failed or were not counted: ${failed[0].reason}`);

    const lastRoundAfterMs = barrier.lastReleaseAt - start;
    const lastRoundWallMs = ended - barrier.lastReleaseWall;
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
    return {
      groups: groupCount,
      probesPerGroup: 1,
      rounds: reports.length / groupCount,
      lastRoundAfterMs,
      lastRoundWallMs: Math.round(lastRoundWallMs * 10) / 10,
      billedDurationMs: Math.ceil(lastRoundAfterMs + lastRoundWallMs),
      ...usage,
      logLines: lines.length + LAMBDA_PLATFORM_LINES.length,
      logBytes: lines.reduce((sum, l) => sum + lineBytes(l), 0) + LAMBDA_PLATFORM_LINES.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0),
      metrics: metrics.size,
    };
  } finally {
    await dynamo.close();
    await server.close();
  }
}

/** Releases the sleepers of a round time once all `parties` wait for it, moving the clock there first. */
class RoundBarrier {
  private waiting = new Map<number, Array<() => void>>();
  lastReleaseAt = 0;
  lastReleaseWall = performance.now();

  constructor(
    private readonly parties: number,
    private readonly moveClockTo: (ms: number) => void,
  ) {}

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(ms) ?? [];
      queue.push(resolve);
      this.waiting.set(ms, queue);
      if (queue.length === this.parties) {
        this.waiting.delete(ms);
        this.moveClockTo(ms);
        this.lastReleaseAt = ms;
        this.lastReleaseWall = performance.now();
        for (const release of queue) release();
      }
    });
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
