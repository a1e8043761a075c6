/**
 * One probe round at scale: `checkAll` over many HTTP probes against local servers (127.0.0.1 only), a
 * tenth of which never answer, so the round lasts at least the probe timeout. The servers run in a
 * child process, as the endpoints would run elsewhere, so the round's own event loop is measured alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { checkAll } from '../../lambdas/probe/check-endpoint';
import type { ProbeConfig } from '../../lambdas/core/config';
import { median, round } from './stats';

export const PROBE_TIMEOUT_MS = 2000;
export const PROBE_ROUND_TARGET_MS = 3000;
const SERVERS = 5;

export interface ProbeRoundResult {
  endpoints: number;
  hanging: number;
  servers: number;
  timeoutMs: number;
  samplesMs: number[];
  valueMs: number;
  /** Of the last round: probes that passed, timed out, failed otherwise. */
  ok: number;
  timedOut: number;
  otherFailures: number;
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

/** `rounds` rounds of `endpoints` probes (10 % hanging), after one small warm-up round. */
export async function measureProbeRound(endpoints: number, rounds: number): Promise<ProbeRoundResult> {
  const { child, ports } = await startServers(SERVERS);
  try {
    const hangEvery = 10;
    const probes: ProbeConfig[] = Array.from({ length: endpoints }, (_, i) => {
      const port = ports[i % ports.length];
      const path = i % hangEvery === hangEvery - 1 ? `/hang/${i}` : `/ok/${i}`;
      return {
        type: 'http',
        url: `http://127.0.0.1:${port}${path}`,
        method: 'GET',
        expectStatus: [200],
        // Half of them read the body too, as a health check with bodyContains does.
        ...(i % 2 === 0 ? { bodyContains: 'ok' } : {}),
        timeoutMs: PROBE_TIMEOUT_MS,
      } satisfies ProbeConfig;
    });
    const hanging = probes.filter((p) => p.type === 'http' && p.url.includes('/hang/')).length;
    // Warm-up: load the http client paths and JIT them; not counted.
    await checkAll(probes.filter((p) => p.type === 'http' && p.url.includes('/ok/')).slice(0, 10));

    const samplesMs: number[] = [];
    let last: Awaited<ReturnType<typeof checkAll>> = [];
    for (let r = 0; r < rounds; r++) {
      const started = performance.now();
      last = await checkAll(probes);
      samplesMs.push(round(performance.now() - started, 1));
    }
    const timedOut = last.filter((p) => !p.ok && p.error?.startsWith('timeout')).length;
    const ok = last.filter((p) => p.ok).length;
    const valueMs = round(median(samplesMs), 1);
    return {
      endpoints,
      hanging,
      servers: ports.length,
      timeoutMs: PROBE_TIMEOUT_MS,
      samplesMs,
      valueMs,
      ok,
      timedOut,
      otherFailures: last.length - ok - timedOut,
      // The figure counts only if every probe came out as its endpoint behaved.
      pass: valueMs <= PROBE_ROUND_TARGET_MS && ok === endpoints - hanging && timedOut === hanging,
    };
  } finally {
    await stopServers(child);
  }
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
