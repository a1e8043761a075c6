/**
 * The CDK entry point as `cdk synth` runs it: a child process with the context in CDK_CONTEXT_JSON (how
 * the CLI hands `-c config=PATH` to the app). An invalid config stops it with every problem listed, and so
 * does a valid one whose workflow would exceed Step Functions' limits.
 * The valid path is `npm run synth`, part of `npm test`; it is not repeated here (a full synth takes seconds).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
// The local tsx, as `npx tsx` would resolve it, without npx's own start-up and warnings.
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runApp(context: Record<string, unknown>): Promise<Run> {
  return new Promise((done) => {
    execFile(
      TSX,
      ['bin/app.ts'],
      { cwd: ROOT, env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context) }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'failover-app-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const example = () => JSON.parse(readFileSync(join(ROOT, 'failover.config.json'), 'utf8'));

describe('bin/app.ts', () => {
  it('exits 1 on an invalid config, printing every problem on its own line', async () => {
    const config = example();
    config.groups[0].dns.records[1].ttl = 900;
    config.groups[0].primary.instanceId = 'i-nothex';
    // A second group under the same name, with its own resources (groups may not share them), its ttl
    // fixed but its instance id as bad as the first's.
    config.groups.push(structuredClone(config.groups[0]));
    config.groups[1].dns.records[1].ttl = 30;
    config.groups[1].primary.instanceId = 'i-alsonothex';
    config.groups[1].replica = { ...config.groups[1].replica, dbInstanceIdentifier: 'billing-replica', source: 'billing-primary-db' };
    config.groups[1].dns.records = config.groups[1].dns.records.map((r: { name: string }) => ({ ...r, name: r.name.replace('orders', 'billing') }));
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify(config));

    const run = await runApp({ config: path });

    expect(run.code, run.stderr).toBe(1);
    const lines = run.stderr.split('\n').map((l) => l.trim());
    expect(lines).toContain(`${path} is not a valid failover config (4 problems):`);
    const problems = [
      'groups[0].dns.records[1].ttl: must be between 5 and 300 seconds, got 900',
      'groups[0].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-nothex"',
      'groups[1].primary.instanceId: must be an EC2 instance id such as i-0123456789abcdef0, got "i-alsonothex"',
      'groups[1].name: duplicates groups[0].name, got "orders"',
    ];
    for (const problem of problems) expect(lines).toContain(problem);
    expect(run.stderr, 'a stack trace instead of the problem list').not.toMatch(/\bat .+\(.+:\d+:\d+\)/);
  });

  it("exits 1 on a valid config whose workflow would exceed Step Functions' limits, printing every problem", async () => {
    // One group with 20 unnamed probes of 6,000-character URLs: every field valid; each URL is in the
    // confirmation's results and reason, so a workflow state would exceed 256 KiB.
    const config = example();
    const base = config.groups[0];
    config.groups = [
      {
        ...structuredClone(base),
        probes: Array.from({ length: 20 }, (_, p) => ({ type: 'http', url: `https://api.orders.example.com/health/${p}?check=${'x'.repeat(5950)}` })),
        alarms: [],
      },
    ];
    const path = join(dir, 'too-large.json');
    writeFileSync(path, JSON.stringify(config));

    const run = await runApp({ config: path, 'aws:cdk:bundling-stacks': [] });

    expect(run.code, run.stderr).toBe(1);
    const lines = run.stderr.split('\n').map((l) => l.trim());
    expect(lines).toContain("the failover workflow would not fit Step Functions' limits (1 problem):");
    expect(lines.some((l) => l.startsWith(`group "${base.name}": a workflow state would reach about `) && l.includes("over Step Functions' 256 KiB (262,144 bytes) payload limit"))).toBe(true);
    expect(run.stderr, 'a stack trace instead of the problem list').not.toMatch(/\bat .+\(.+:\d+:\d+\)/);
  });
});
