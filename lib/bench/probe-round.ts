/**
 * One probe round at scale, as the deployed fleet runs it: N endpoints (one HTTP probe per group) are
 * split into shards of at most PROBES_PER_INVOCATION probes, one invocation each; the largest shard's
 * round is run for real by `runRound` (the probes spread over the interval, then judged and counted)
 * against local HTTP servers in a child process (127.0.0.1 only), so this process's CPU time is the
 * prober's alone. Healthy, or with every 10th endpoint accepting and never answering. Reported: the
 * round's wall time, CPU time, peak memory, and the invocations the N endpoints need; none of the
 * healthy endpoints may fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { NO_COUNTERS } from '../../lambdas/probe/detect';
import { shardGroups } from '../../lambdas/core/probe-shards';
import { runRound, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import type { ProbeConfig } from '../../lambdas/core/config';
import type { Store, ProbeState } from '../../lambdas/core/store';
import { round } from './stats';

export const PROBE_TIMEOUT_MS = 2000;
export const PROBE_ROUND_ENDPOINTS = [100, 500, 1000, 2000] as const;
const SERVERS = 5;
const INTERVAL_MS = 10_000;

export interface ProbeRoundCase {
  endpoints: number;
  /** 0 or 0.1 of the endpoints accept and never answer. */
  hangingShare: number;
  /** Probe invocations (shards) the endpoints need. */
  invocations: number;
  /** Probes in the measured shard (the largest). */
  shardProbes: number;
  hanging: number;
  wallMs: number;
  cpuMs: number;
  /** The CPU time as a share of what 128 MB gets over one 10 s interval (0.0723 vCPU x 10 s). */
  cpuShareAt128Mb: number;
  /** Peak RSS during the round minus the RSS before it, and the peak itself. */
  peakRssDeltaMb: number;
  peakRssMb: number;
  ok: number;
  timedOut: number;
  otherFailures: number;
  /** Healthy endpoints whose probe failed: must be 0. */
  healthyFailed: number;
  pass: boolean;
}

/**
 * The endpoint servers, as plain JavaScript for `node -e`: /ok/N answers 200 "ok", /hang/N is accepted
 * and never answered. They listen on 127.0.0.1 only and exit when the parent closes their stdin.
 */
const SERVER_SCRIPT = `
const http = require('node:http');
const sockets = new Set();
const servers = [];
let ready = 0;
const count = Number(process.argv[1]);
for (let i = 0; i < count; i++) {
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/ok/')) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    // /hang/N: keep the request open until the client gives up.
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1', 1024, () => {
    if (++ready === count) process.stdout.write(JSON.stringify(servers.map((s) => s.address().port)) + '\\n');
  });
  servers.push(server);
}
process.stdin.resume();
process.stdin.on('close', () => { for (const s of sockets) s.destroy(); process.exit(0); });
`;

/** One round of the largest shard for each case. */
export async function measureProbeRounds(cases: Array<{ endpoints: number; hangingShare: number }>): Promise<ProbeRoundCase[]> {
  const { child, ports } = await startServers(SERVERS);
  try {
    // Warm-up: load the http client paths and JIT them; not counted.
    await checkAll(Array.from({ length: 20 }, (_, i) => httpProbe(`http://127.0.0.1:${ports[i % ports.length]}/ok/w${i}`)));
    const results: ProbeRoundCase[] = [];
    for (const c of cases) results.push(await measureCase(c.endpoints, c.hangingShare, ports));
    return results;
  } finally {
    await stopServers(child);
  }
}

function httpProbe(url: string, i = 0): ProbeConfig {
  // Half of them read the body too, as a health check with bodyContains does.
  return { type: 'http', url, method: 'GET', expectStatus: [200], ...(i % 2 === 0 ? { bodyContains: 'ok' } : {}), timeoutMs: PROBE_TIMEOUT_MS };
}

async function measureCase(endpoints: number, hangingShare: number, ports: number[]): Promise<ProbeRoundCase> {
  const hangEvery = hangingShare > 0 ? Math.round(1 / hangingShare) : 0;
  const groupOf = (i: number, hangs: boolean): ProbeGroup => ({
    name: `svc-${i}`,
    probes: [httpProbe(`http://127.0.0.1:${ports[i % ports.length]}/${hangs ? 'hang' : 'ok'}/${i}`, i)],
    detection: { intervalSeconds: INTERVAL_MS / 1000, failureThreshold: 3, quorum: 'majority', cooldownMinutes: 30 },
  });
  const shards = shardGroups(Array.from({ length: endpoints }, (_, i) => groupOf(i, false)));
  // The largest shard, every 10th of its endpoints hanging (shards are dealt out in turn, so a pattern
  // over all the endpoints could land in one shard and miss another).
  const shard = shards
    .reduce((a, b) => (b.length > a.length ? b : a))
    .map((g, k) => (hangEvery > 0 && k % hangEvery === hangEvery - 1 ? groupOf(Number(g.name.slice(4)), true) : g));
  const hangingNames = new Set(shard.filter((g) => g.probes.some((p) => p.type === 'http' && p.url.includes('/hang/'))).map((g) => g.name));

  // A clock whose "now" is a round time, running at real speed from here.
  const roundAt = Math.ceil(Date.now() / INTERVAL_MS) * INTERVAL_MS;
  const t0 = performance.now();
  const now = () => roundAt + (performance.now() - t0);
  // The counters as a warm environment holds them: healthy, written 10 s ago (no store read).
  const memory = new Map<string, ProbeState>(shard.map((g) => [g.name, { group: g.name, ...NO_COUNTERS, lastSuccessAt: roundAt - INTERVAL_MS, lastRoundAt: roundAt - INTERVAL_MS }]));
  const outcomes: Array<{ group: string; ok: boolean; error?: string }> = [];
  const deps: ProbeDeps = {
    now,
    sleepUntil: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - now()))),
    check: checkAll,
    // The store's answers: this measures the prober, not DynamoDB.
    store: () => ({ getProbeState: async () => undefined, putProbeState: async () => true, getGroupState: async () => undefined }) as unknown as Store,
    sfn: () => {
      throw new Error('a probe round at scale started an execution');
    },
    sns: () => {
      throw new Error('a probe round at scale published a notification');
    },
    stateMachineArn: () => 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
    topicArn: () => 'arn:aws:sns:us-east-1:123456789012:bench',
    // A failed round's line lists each probe's outcome.
    log: (entry) => {
      if (entry.message === 'probe round' && Array.isArray(entry.probes)) {
        for (const p of entry.probes as Array<{ ok: boolean; error?: string }>) outcomes.push({ group: String(entry.group), ok: p.ok, error: p.error });
      }
    },
    metrics: { emit: () => undefined },
    memory,
  };

  let peakRss = process.memoryUsage().rss;
  const baseRss = peakRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  const reports = await runRound(shard, roundAt, deps);
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  const failed = reports.filter((r) => r.failed || r.void);
  const timedOut = outcomes.filter((o) => !o.ok && o.error?.startsWith('timeout')).length;
  const healthyFailed = failed.filter((r) => !hangingNames.has(r.group)).length;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    endpoints,
    hangingShare,
    invocations: shards.length,
    shardProbes: shard.length,
    hanging: hangingNames.size,
    wallMs: round(wallMs, 1),
    cpuMs: round(cpuMs, 1),
    cpuShareAt128Mb: round(cpuMs / (INTERVAL_MS * (128 / 1769)), 3),
    peakRssDeltaMb: round((peakRss - baseRss) / 1e6, 1),
    peakRssMb: round(peakRss / 1e6, 1),
    ok: reports.filter((r) => !r.failed && !r.void).length,
    timedOut,
    otherFailures: failed.length - timedOut,
    healthyFailed,
    // Every healthy endpoint passed, every hanging one failed, and the round ended within its interval.
    pass: healthyFailed === 0 && failed.length === hangingNames.size && wallMs < INTERVAL_MS,
  };
}

async function startServers(count: number): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolvePorts, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the probe-round servers did not start within 10 s')), 10_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the probe-round servers exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolvePorts(JSON.parse(line) as number[]);
      }
    });
  }).catch(async (err) => {
    await stopServers(child);
    throw err;
  });
  return { child, ports };
}

function stopServers(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.stdin?.end();
  });
}
