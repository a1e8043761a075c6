/**
 * Break-glass start-up: from the command's start (a fresh `node bin/failoverctl.js failover <group>
 * --local --yes` process) to its first AWS call, and to the workflow's first AWS call, with a prepared
 * workflow and without one (the run synthesizes). Seen from outside the process, as an operator would:
 * AWS is a local HTTP endpoint (AWS_ENDPOINT_URL) that records when each request arrives, answers the
 * group's state and lock reads with "no item" and every other call with DynamoDB's
 * ResourceNotFoundException, so the run stops at its first write. The workflow's first call is the first
 * request after the process printed "Running local:...".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FailoverConfig } from '../../lambdas/core/config';
import { PreparedWorkflows } from '../runner/prepared-workflow';
import { synthFor } from '../runner/synth';
import { median, round } from './stats';

const ROOT = resolve(__dirname, '..', '..');

export interface BreakGlassSample {
  /** Command start to its first AWS request (the group's state and lock, read before the plan). */
  firstCallMs: number;
  /** Command start to the workflow's first AWS request. */
  workflowFirstCallMs: number;
}

export interface BreakGlassStart {
  prepared: { samples: BreakGlassSample[]; medianFirstCallMs: number; medianWorkflowFirstCallMs: number };
  synthesized: { samples: BreakGlassSample[]; medianFirstCallMs: number; medianWorkflowFirstCallMs: number } | null;
}

export async function measureBreakGlassStart(config: FailoverConfig, configPath: string, samples: { prepared: number; synthesized: number }): Promise<BreakGlassStart> {
  const group = config.groups[0].name;
  const prepared = mkdtempSync(join(tmpdir(), 'failover-bench-prepared-'));
  try {
    new PreparedWorkflows(prepared).save(config, synthFor(config), 'cdk synth');
    const withPrepared: BreakGlassSample[] = [];
    for (let i = 0; i < samples.prepared; i++) withPrepared.push(await oneStart(configPath, group, prepared));
    const withoutPrepared: BreakGlassSample[] = [];
    for (let i = 0; i < samples.synthesized; i++) {
      const empty = mkdtempSync(join(tmpdir(), 'failover-bench-empty-'));
      try {
        withoutPrepared.push(await oneStart(configPath, group, empty));
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    }
    const summary = (s: BreakGlassSample[]) => ({
      samples: s,
      medianFirstCallMs: round(median(s.map((x) => x.firstCallMs))!, 0),
      medianWorkflowFirstCallMs: round(median(s.map((x) => x.workflowFirstCallMs))!, 0),
    });
    return { prepared: summary(withPrepared), synthesized: withoutPrepared.length > 0 ? summary(withoutPrepared) : null };
  } finally {
    rmSync(prepared, { recursive: true, force: true });
  }
}

/** One break-glass command, timed from outside. */
async function oneStart(configPath: string, group: string, cacheDir: string): Promise<BreakGlassSample> {
  const requests: number[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(performance.now());
    req.resume();
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      res.writeHead(target.endsWith('.GetItem') ? 200 : 400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(target.endsWith('.GetItem') ? '{}' : JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'bench: the run ends here' }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  try {
    const started = performance.now();
    let runningAt: number | undefined;
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'failoverctl.js'), 'failover', group, '--local', '--yes', '--reason', 'bench: break-glass start-up', '--config', configPath,
        '--table', 'bench-table', '--topic-arn', 'arn:aws:sns:us-west-2:123456789012:bench-topic', '--region', 'us-west-2'],
      {
        cwd: tmpdir(),
        env: { ...process.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'AKIDBENCH', AWS_SECRET_ACCESS_KEY: 'bench', NO_COLOR: '1', FAILOVER_CACHE_DIR: cacheDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (runningAt === undefined && stdout.includes('Running local:')) runningAt = performance.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((done) => child.on('close', () => done()));
    const workflowCall = runningAt === undefined ? undefined : requests.find((t) => t >= runningAt!);
    if (requests.length === 0 || workflowCall === undefined) {
      throw new Error(`break-glass start-up: the run made no workflow call (${requests.length} request(s)); its output:\n${stdout}${stderr}`);
    }
    return { firstCallMs: round(requests[0] - started, 0), workflowFirstCallMs: round(workflowCall - started, 0) };
  } finally {
    server.close();
  }
}
