/**
 * failoverctl's surface: --version, --help (top level and per command, each with an example), the
 * error line and exit code for bad usage, and how times and durations are shown.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { formatAgo, formatDuration, formatTime, executionConsoleUrl, table, styleFor, colourWanted } from '../../lib/cli/format';
import { describeError } from '../../lib/cli/main';
import { WorkflowTooLarge } from '../../lib/infra/step-functions-limits';
import { DescribeStacksCommand, FAILOVERCTL_COMMANDS, ROOT, runCli } from './support';

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());

const pkg = require('../../package.json') as { version: string };

describe('--version and --help', () => {
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `failoverctl ${pkg.version}\n`, stderr: '' });
    expect((await runCli(['-V'])).stdout).toBe(`failoverctl ${pkg.version}\n`);
  });

  it('--help names every command and documents the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['status', 'history', 'failover', 'switchover', 'pause', 'resume', 'rearm', 'drill']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toMatch(/^ {2}3 {4}AWS or deployment error/m);
  });

  it.each(FAILOVERCTL_COMMANDS.map((c) => c.name))('%s --help shows its usage and an example', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: failoverctl ${name}`));
    expect(r.stdout).toMatch(/^Examples?:\n {2}failoverctl /m);
    expect((await runCli(['help', name])).stdout).toBe(r.stdout);
  });

  it('no command prints the usage on stderr and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: failoverctl <command>');
  });
});

describe('usage errors: one line naming what is wrong, exit 2, nothing done', () => {
  it.each([
    [['frobnicate'], 'failoverctl: unknown command "frobnicate"; commands: status, check, history, failover, switchover, pause, resume, unlock, rearm, drill (failoverctl --help)'],
    [['status', '--bogus'], 'failoverctl: status: unknown option --bogus; see failoverctl status --help'],
    [['history', '--limit', 'ten'], 'failoverctl: history: --limit must be a whole number from 1 to 1000, got "ten"'],
    [['history', '--limit', '0'], 'failoverctl: history: --limit must be a whole number from 1 to 1000, got "0"'],
    [['failover', 'orders', '--reason'], 'failoverctl: failover: --reason needs a value; see failoverctl failover --help'],
    [['failover', 'orders', '--reason', '--yes'], 'failoverctl: failover: --reason needs a value, and the next argument is a flag (write --reason=-TEXT for a value that starts with -); see failoverctl failover --help'],
    [['failover', 'orders'], 'failoverctl: failover: --reason TEXT is required (it goes into the history and the notification)'],
    [['failover', '--reason', 'x'], 'failoverctl: failover: missing <group>; see failoverctl failover --help'],
    [['failover', 'orders', 'payments', '--reason', 'x'], 'failoverctl: failover: unexpected argument "payments"; see failoverctl failover --help'],
    [['failover', 'orders', '--reason', 'x', '--yes=no'], 'failoverctl: failover: --yes takes no value; see failoverctl failover --help'],
    [['switchover', 'orders', '--reason', 'x', '--force'], 'failoverctl: switchover: unknown option --force; see failoverctl switchover --help'],
    [['failover', 'orders', '--reason', 'x', '--local', '--no-wait'], 'failoverctl: failover: --no-wait cannot be used with --local: a local run happens in this process'],
    [['pause', 'orders'], 'failoverctl: pause: --reason TEXT is required (it goes into the history and the notification)'],
    [['--stack-name', 'x', 'status'], 'failoverctl: unknown option --stack-name; options other than --help, --version, --debug and --no-color go after the command'],
  ])('%j', async (argv, line) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\n`);
    expect(cfn).not.toHaveReceivedAnyCommand();
  });

  it('an unknown group lists the groups the config knows, before any AWS call', async () => {
    for (const argv of [['status', 'billing'], ['failover', 'billing', '--reason', 'x', '--yes'], ['pause', 'billing', '--reason', 'x'], ['rearm', 'billing']]) {
      const r = await runCli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('failoverctl: unknown group "billing"; known groups (in failover.config.json): orders\n');
    }
    expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('an invalid config lists every problem and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'failoverctl-'));
    writeFileSync(join(dir, 'failover.config.json'), JSON.stringify({ groups: [{ name: 'Orders!' }] }));
    const r = await runCli(['status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^failoverctl: .*failover\.config\.json is not a valid failover config \(\d+ problems\):\n {2}groups\[0\]\.name: must be lowercase/);
  });

  it("a config whose workflow would not fit Step Functions' limits is bad input too: exit 2, every problem listed", () => {
    const error = new WorkflowTooLarge(['group "orders": a workflow state would reach about 300,000 bytes, over ...']);

    expect(describeError(error)).toEqual({ message: error.message, exitCode: 2 });
    expect(error.message).toBe("the failover workflow would not fit Step Functions' limits (1 problem):\n  group \"orders\": a workflow state would reach about 300,000 bytes, over ...");
  });

  it('--config names a file that does not exist: exit 2, the path in the message', async () => {
    const r = await runCli(['status', '--config', 'nowhere.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(ROOT, 'nowhere.json')} is not a valid failover config (1 problem):\n  cannot be read`);
  });

  it('--state-machine-arn must be a state machine ARN', async () => {
    const r = await runCli(['status', '--state-machine-arn', 'FailoverController', '--table', 't']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('failoverctl: --state-machine-arn must be a state machine ARN such as arn:aws:states:us-west-2:123456789012:stateMachine:Name, got "FailoverController"\n');
  });
});

describe('drill', () => {
  it('--list names every scenario, one a line; an unknown scenario is a usage error naming the known ones', async () => {
    const list = await runCli(['drill', '--list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^primary-down {2,}The primary stops answering/);
    expect(list.stdout).toMatch(/^fence-stuck {2,}/m);
    const unknown = await runCli(['drill', '--scenario', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^failoverctl: drill: unknown scenario "nope"; known scenarios: primary-down, flapping, /);
  });

  it('--list --json: one object per scenario, with its kind', async () => {
    const r = await runCli(['drill', '--list', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as Array<{ name: string; summary: string; kind: string }>;
    expect(list[0]).toEqual({ name: 'primary-down', summary: expect.stringMatching(/^The primary stops answering/), kind: 'failover' });
    expect(list.find((s) => s.name === 'not-ready-ttl')?.kind).toBe('readiness');
  });
});

describe('format', () => {
  const t = Date.parse('2026-01-01T00:00:12.345Z');

  it('shows times in the operator zone with its offset', () => {
    expect(formatTime(t, 'Asia/Tokyo')).toBe('2026-01-01 09:00:12 +09:00');
    expect(formatTime(t, 'America/St_Johns')).toBe('2025-12-31 20:30:12 -03:30');
    expect(formatTime(t, 'UTC')).toBe('2026-01-01 00:00:12 +00:00');
    expect(formatTime(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe('2026-07-01 14:00:00 +02:00');
  });

  it('shows durations in human units', () => {
    expect(formatDuration(27.1)).toBe('27.1 s');
    expect(formatDuration(2)).toBe('2 s');
    expect(formatDuration(0.04)).toBe('0 s');
    expect(formatDuration(59.96)).toBe('1m 00s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(3725)).toBe('1h 02m 05s');
    expect(formatDuration(null)).toBe('-');
    expect(formatAgo(t - 12_000, t)).toBe('12 s ago');
    expect(formatAgo(t + 240_000, t)).toBe('in 4m 00s');
  });

  it('links an execution to its Step Functions console page, never a local run', () => {
    const arn = 'arn:aws:states:us-west-2:123456789012:execution:Machine:manual-orders-1';
    expect(executionConsoleUrl(arn)).toBe(`https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${arn}`);
    expect(executionConsoleUrl('local:local-orders-20260101T000000Z')).toBeNull();
  });

  it('aligns tables on visible width, colour or not', () => {
    const s = styleFor(true);
    const lines = table(['A', 'B'], [[s.red('xx'), 'y'], ['x', 'yy']]);
    expect(lines[1]).toBe(`${s.red('xx')}  y`);
    expect(lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''))).toEqual(['A   B', 'xx  y', 'x   yy']);
  });

  it('colours only a terminal, and never with NO_COLOR, TERM=dumb or --no-color', () => {
    expect(colourWanted(true, {})).toBe(true);
    expect(colourWanted(false, {})).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(true, { TERM: 'dumb' })).toBe(false);
    expect(colourWanted(true, {}, true)).toBe(false);
  });
});

describe('an AWS endpoint that accepts the connection and never answers', () => {
  it('the first Ctrl-C ends the command: one line, exit 130, while the call still waits', async () => {
    const { createServer } = await import('node:net');
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    const interrupt = new AbortController();
    try {
      const dynamodb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-west-2', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      const running = runCli(['history', '--table', 'failover-controller', '--region', 'us-west-2'], {
        deps: { clients: { dynamodb: () => dynamodb } as never },
        signal: interrupt.signal,
      });
      // Ctrl-C once the request has reached the server (it is waiting for an answer).
      while (sockets.length === 0) await new Promise((r) => setTimeout(r, 10));
      interrupt.abort();
      const r = await running;
      expect(r.code).toBe(130);
      expect(r.stderr).toBe('failoverctl: interrupted\n');
      dynamodb.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('an emulator that answers some calls with an error', () => {
  it('names the call that failed; the CloudFormation advice only when CloudFormation failed', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#UnknownOperationException', message: 'not implemented here' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    const saved = { url: process.env.AWS_ENDPOINT_URL, id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    try {
      const r = await runCli(['history', '--table', 'failover-controller', '--region', 'us-west-2'], { env: { AWS_ENDPOINT_URL: endpoint } });
      expect(r.code).toBe(3);
      expect(r.stderr.split('\n')[0]).toBe(`failoverctl: AWS error: DynamoDB Query failed: UnknownOperationException: not implemented here (AWS_ENDPOINT_URL is ${endpoint})`);
    } finally {
      for (const [k, v] of [['AWS_ENDPOINT_URL', saved.url], ['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      server.close();
    }
  });
});

describe('more usage errors (exit 2)', () => {
  it.each([
    [['status', '--region', 'us east'], 'failoverctl: status: --region must be an AWS region such as us-west-2, got "us east"'],
    [['help', 'stauts'], 'failoverctl: help: unknown command "stauts"; commands: status, check, history, failover, switchover, pause, resume, unlock, rearm, drill'],
  ])('%j', async (argv, line) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`${line}\n`);
  });

  it('failoverctl version prints the version, like --version', async () => {
    expect(await runCli(['version'])).toEqual(await runCli(['--version']));
  });
});
