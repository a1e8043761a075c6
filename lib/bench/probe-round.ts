/**
 * One probe round at scale, as the deployed fleet runs it: N endpoints (one HTTP probe per group) are
 * split into shards of at most PROBES_PER_INVOCATION probes, one invocation each; the largest shard's
 * round is run for real by `runRound` (the probes spread over the interval, then judged and counted)
 * against local HTTPS (or plain HTTP) servers in a child process (127.0.0.1 only), so this process's CPU
 * time is the prober's alone. Healthy, or with every 10th endpoint accepting and never answering.
 * Reported: the round's wall time, CPU time, peak memory, and the invocations the N endpoints need; none
 * of the healthy endpoints may fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import { NO_COUNTERS, probesKey } from '../../lambdas/probe/detect';
import { PROBE_VCPU_SHARE, shardGroups } from '../../lambdas/core/probe-shards';
import { runRound, type ProbeDeps, type ProbeGroup } from '../../lambdas/probe/run-probes';
import type { ProbeConfig } from '../../lambdas/core/config';
import type { Store, ProbeState } from '../../lambdas/core/store';
import { round } from './stats';
import { assertTrustsBenchRoot, LOCALHOST_CHAIN_FILE, LOCALHOST_KEY_FILE } from './tls';

/** What the local endpoints speak: https as most deployed probes (lib/bench/tls.ts), http for comparison. */
export type ProbeProtocol = 'https' | 'http';

export const PROBE_TIMEOUT_MS = 2000;
export const PROBE_ROUND_ENDPOINTS = [100, 500, 1000, 2000] as const;
const SERVERS = 5;
const INTERVAL_MS = 10_000;

export interface ProbeRoundCase {
  endpoints: number;
  protocol: ProbeProtocol;
  /** 0 or 0.1 of the endpoints accept and never answer. */
  hangingShare: number;
  /** Probe invocations (shards) the endpoints need. */
  invocations: number;
  /** Probes in the measured shard (the largest). */
  shardProbes: number;
  hanging: number;
  wallMs: number;
  cpuMs: number;
  /** The CPU time as a share of what the probe function's memory (PROBE_MEMORY_MB) gets over one 10 s interval. */
  cpuShareOfMemory: number;
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
 * and never answered. They speak HTTPS with the bench's certificate, or plain HTTP, listen on 127.0.0.1
 * only, and exit when the parent closes their stdin.
 */
const SERVER_SCRIPT = `
const https = require('node:https');
const http = require('node:http');
const fs = require('node:fs');
const [count, protocol, keyFile, chainFile] = [Number(process.argv[1]), process.argv[2], process.argv[3], process.argv[4]];
const tls = { key: fs.readFileSync(keyFile), cert: fs.readFileSync(chainFile) };
const sockets = new Set();
const servers = [];
let ready = 0;
for (let i = 0; i < count; i++) {
  const answer = (req, res) => {
    if (req.url.startsWith('/ok/')) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    // /hang/N: keep the request open until the client gives up.
  };
  const server = protocol === 'https' ? https.createServer(tls, answer) : http.createServer(answer);
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
export async function measureProbeRounds(cases: Array<{ endpoints: number; hangingShare: number; protocol: ProbeProtocol }>): Promise<ProbeRoundCase[]> {
  const results: ProbeRoundCase[] = [];
  for (const protocol of ['https', 'http'] as const) {
    const mine = cases.filter((c) => c.protocol === protocol);
    if (mine.length === 0) continue;
    const servers = await startEndpointServers(SERVERS, protocol);
    try {
      const origins = servers.ports.map((port) => `${protocol}://127.0.0.1:${port}`);
      // Warm-up: load the client's paths and JIT them; not counted.
      await checkAll(Array.from({ length: 20 }, (_, i) => httpProbe(`${origins[i % origins.length]}/ok/w${i}`)));
      for (const c of mine) results.push(await measureCase(c.endpoints, c.hangingShare, protocol, origins));
    } finally {
      await servers.stop();
    }
  }
  // In the order asked for.
  return cases.map((c) => results.find((r) => r.endpoints === c.endpoints && r.hangingShare === c.hangingShare && r.protocol === c.protocol)!);
}

function httpProbe(url: string, i = 0): ProbeConfig {
  // Half of them read the body too, as a health check with bodyContains does.
  return { type: 'http', url, method: 'GET', expectStatus: [200], ...(i % 2 === 0 ? { bodyContains: 'ok' } : {}), timeoutMs: PROBE_TIMEOUT_MS };
}

async function measureCase(endpoints: number, hangingShare: number, protocol: ProbeProtocol, origins: string[]): Promise<ProbeRoundCase> {
  const hangEvery = hangingShare > 0 ? Math.round(1 / hangingShare) : 0;
  const groupOf = (i: number, hangs: boolean): ProbeGroup => ({
    name: `svc-${i}`,
    probes: [httpProbe(`${origins[i % origins.length]}/${hangs ? 'hang' : 'ok'}/${i}`, i)],
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
  const memory = new Map<string, ProbeState>(shard.map((g) => [g.name, { group: g.name, ...NO_COUNTERS, lastSuccessAt: roundAt - INTERVAL_MS, lastRoundAt: roundAt - INTERVAL_MS, passedWith: probesKey(g) }]));
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
    protocol,
    hangingShare,
    invocations: shards.length,
    shardProbes: shard.length,
    hanging: hangingNames.size,
    wallMs: round(wallMs, 1),
    cpuMs: round(cpuMs, 1),
    cpuShareOfMemory: round(cpuMs / (INTERVAL_MS * PROBE_VCPU_SHARE), 3),
    peakRssDeltaMb: round((peakRss - baseRss) / 1e6, 1),
    peakRssMb: round(peakRss / 1e6, 1),
    ok: reports.filter((r) => !r.failed && !r.void).length,
    timedOut,
    otherFailures: failed.length - timedOut,
    healthyFailed,
    // Every healthy endpoint passed, every hanging one failed, and the round ended within its interval,
    // here and at the deployed memory's share of a vCPU (this machine has whole ones).
    pass: healthyFailed === 0 && failed.length === hangingNames.size && wallMs < INTERVAL_MS && cpuMs < INTERVAL_MS * PROBE_VCPU_SHARE,
  };
}

/**
 * `count` endpoint servers in a child process, so that their work (the server's half of each TLS
 * handshake above all) is not counted as the prober's. An HTTPS prober must trust their certificate.
 */
export async function startEndpointServers(count: number, protocol: ProbeProtocol): Promise<{ ports: number[]; stop(): Promise<void> }> {
  if (protocol === 'https') assertTrustsBenchRoot();
  const { child, ports } = await startServers(count, protocol);
  return { ports, stop: () => stopServers(child) };
}

async function startServers(count: number, protocol: ProbeProtocol): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, ['-e', SERVER_SCRIPT, String(count), protocol, LOCALHOST_KEY_FILE, LOCALHOST_CHAIN_FILE], { stdio: ['pipe', 'pipe', 'inherit'] });
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
