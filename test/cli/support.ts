/**
 * Driving failoverctl in-process: `runCli(argv, ...)` calls `main` with captured streams, a fixed clock,
 * a fixed user and TZ, an optional stdin answer and TTY flags, and the test's clients. Plus fixtures:
 * the stack's outputs, history items as the workflow writes them.
 */
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach } from 'vitest';
import type { Store } from '../../lambdas/core/store';
import { useTestStore } from '../support/store';
import type { HistoryItem } from '../../lambdas/core/history';
import type { CliDeps } from '../../lib/cli/deployment';
import { COMMANDS, main } from '../../lib/cli/main';
import { drillCommand } from '../../lib/drill/drill-command';

export const ROOT = resolve(__dirname, '..', '..');
export const CONFIG = resolve(ROOT, 'failover.config.json');
export const STACK = 'FailoverController';
export const STATE_MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:FailoverControllerStateMachine';
export const TOPIC = 'arn:aws:sns:us-west-2:123456789012:FailoverController-Notifications';
export const INSTANCE = 'i-0a1b2c3d4e5f60718';
export const REPLICA = 'orders-replica';
export const REPLICA_ENDPOINT = 'orders-replica.c0abcdefghij.us-west-2.rds.amazonaws.com';
/** 09:00:00 in Tokyo, where the tests' operator sits (TZ=Asia/Tokyo). */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');
export const USER = 'alice@ops-1';

export const executionArn = (name: string) => `arn:aws:states:us-west-2:123456789012:execution:FailoverControllerStateMachine:${name}`;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Both streams as a terminal shows them, in the order they were written, the typed answer after its prompt. */
  output: string;
}

export interface RunOptions {
  deps?: Partial<CliDeps>;
  /** What the operator types at a prompt (stdin is a terminal when given, unless `tty` says otherwise). */
  answer?: string;
  tty?: { stdin?: boolean; stdout?: boolean };
  env?: Record<string, string | undefined>;
  cwd?: string;
  now?: number;
  /** Ctrl-C, as bin/failoverctl.ts passes it. */
  signal?: AbortSignal;
}

/** What bin/failoverctl.ts runs: the operator's commands and the drill. */
export const FAILOVERCTL_COMMANDS = [...COMMANDS, drillCommand];

export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let output = '';
  const stdin = new PassThrough();
  if (options.answer !== undefined) stdin.end(`${options.answer}\n`);
  else stdin.end();
  const code = await main(argv, {
    stdout: {
      write: (s: string) => {
        stdout += s;
        output += s;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        output += s;
        // The operator's answer appears after the question, as the terminal echoes it.
        if (options.answer !== undefined && s.endsWith('[y/N] ')) output += `${options.answer}\n`;
      },
    },
    stdin,
    isTTY: options.tty ?? { stdin: options.answer !== undefined, stdout: false },
    env: { TZ: 'Asia/Tokyo', ...options.env },
    cwd: options.cwd ?? ROOT,
    signal: options.signal,
    deps: {
      now: () => options.now ?? T0,
      sleep: async () => {},
      user: () => USER,
      followIntervalMs: 0,
      ...options.deps,
    },
  }, FAILOVERCTL_COMMANDS);
  return { code, stdout, stderr, output };
}

/** DescribeStacks as CloudFormation answers it for the deployed controller. */
export function stackOutputs(tableName: string, stackName = STACK): DescribeStacksCommandOutput {
  return {
    $metadata: {},
    Stacks: [
      {
        StackName: stackName,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(T0 - 86_400_000),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          { OutputKey: 'TableName', OutputValue: tableName },
          { OutputKey: 'TopicArn', OutputValue: TOPIC },
        ],
      },
    ],
  };
}

export { DescribeStacksCommand };

export interface Deployment {
  /** A fresh table on dynalite, per test. */
  store: Store;
  /** The CLI's deps: its DynamoDB client talks to dynalite. */
  deps: Partial<CliDeps>;
}

/**
 * The deployed controller the CLI finds, for the tests of one file: dynalite (started once), a fresh
 * store per test that CloudFormation (mocked) names as the stack's table, and Step Functions mocked.
 * Registers the hooks; `onEach` gets each test's store and deps. Returns the mocks, reset after each test.
 */
export function useDeployment(onEach: (deployment: Deployment) => void) {
  const cfn = mockClient(CloudFormationClient);
  const sfn = mockClient(SFNClient);
  useTestStore((store, dynamo) => {
    cfn.on(DescribeStacksCommand, { StackName: STACK }).resolves(stackOutputs(store.tableName));
    // The CLI makes its own DynamoDB client; here it talks to dynalite.
    onEach({ store, deps: { clients: { dynamodb: () => dynamo.client() } as Partial<CliDeps['clients']> as CliDeps['clients'] } });
  });
  afterEach(() => {
    cfn.reset();
    sfn.reset();
  });
  return { cfn, sfn };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A history item as record-outcome writes it for a successful failover that started at `startedAt`
 * (epoch ms): fenced, promoted, two DNS records flipped, RTO 245.5 s, data loss 2 s.
 */
export function historyItem(startedAt: number, overrides: Partial<HistoryItem> = {}): HistoryItem {
  const name = overrides.executionName ?? `manual-orders-${iso(startedAt).replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`;
  const at = (s: number) => iso(startedAt + s * 1000);
  return {
    group: 'orders',
    executionArn: executionArn(name),
    executionName: name,
    trigger: { type: 'manual', by: USER, at: at(0) },
    reason: 'primary unreachable, INC-4711',
    mode: 'failover',
    dryRun: false,
    force: false,
    outcome: 'SUCCEEDED',
    summary: `failed over orders: ${INSTANCE} fenced (stopped), ${REPLICA} promoted, 2 DNS record(s) INSYNC`,
    triggeredAt: at(0),
    startedAt: at(0),
    endedAt: at(245.6),
    steps: [
      { step: 'lock', startedAt: at(0), endedAt: at(0), durationSeconds: 0, result: 'took the lock of orders until 2026-01-01T01:05:00.000Z' },
      { step: 'assess', startedAt: at(0), endedAt: at(0.2), durationSeconds: 0.2, result: `replica ${REPLICA} is available, lag 2 s within 30 s` },
      { step: 'fence', startedAt: at(0.2), endedAt: at(15.6), durationSeconds: 15.4, result: `${INSTANCE} confirmed stopped` },
      { step: 'promote', startedAt: at(15.6), endedAt: at(199.3), durationSeconds: 183.7, result: `${REPLICA} promoted: available, no longer a replica` },
      { step: 'dns', startedAt: at(199.3), endedAt: at(245.5), durationSeconds: 46.2, result: '2 record(s) INSYNC' },
    ],
    fence: { instanceId: INSTANCE, region: 'us-east-1', finalState: 'stopped', confirmed: true, method: 'force-stop' },
    promotion: { dbInstanceIdentifier: REPLICA, region: 'us-west-2', endpointAddress: REPLICA_ENDPOINT, confirmed: true, alreadyPromoted: false },
    dnsChanges: [
      { name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: ['orders-primary-db.c0abcdefghij.us-east-1.rds.amazonaws.com'], after: [REPLICA_ENDPOINT], applied: true },
      { name: 'api.orders.example.com', type: 'A', ttl: 30, before: ['192.0.2.10'], after: ['198.51.100.20'], applied: true },
    ],
    dataLossSeconds: 2,
    rtoSeconds: 245.5,
    error: null,
    plannedActions: [],
    notification: { notified: true, error: null },
    ...overrides,
  };
}
