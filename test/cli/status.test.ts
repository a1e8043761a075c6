/**
 * `status` and `history` against the store on dynalite, the stack found through a mocked
 * CloudFormation, lock holders checked through a mocked Step Functions.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationServiceException } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/core/store';
import { HOLD_KEY, HOLD_LIVE_MS } from '../../lambdas/core/mass-failure-hold';
import type { CliDeps } from '../../lib/cli/deployment';
import {
  DescribeStacksCommand,
  INSTANCE,
  REPLICA,
  REPLICA_ENDPOINT,
  STACK,
  T0,
  USER,
  executionArn,
  historyItem,
  runCli,
  useDeployment,
} from './support';

let store: Store;
let deps: Partial<CliDeps>;
const { cfn, sfn } = useDeployment((d) => ({ store, deps } = d));

const NOW = T0 + 600_000; // 09:10:00 +09:00

/** A failover that ended at 09:04:05.6 +09:00 and left the group FAILED_OVER, as record-outcome leaves it. */
async function seedFailedOver(): Promise<void> {
  const item = historyItem(T0);
  await store.putHistory(item);
  await store.putGroupState({
    group: 'orders',
    status: 'FAILED_OVER',
    primary: { kind: 'rds', id: REPLICA, endpointAddress: REPLICA_ENDPOINT },
    reason: `failed over by ${item.executionName}: ${item.reason}`,
    lastFailover: { executionArn: item.executionArn, at: item.endedAt, outcome: 'SUCCEEDED', rtoSeconds: 245.5 },
    updatedAt: item.endedAt,
  });
}

const READINESS_PROBLEM = {
  check: 'state',
  resource: 'orders',
  reason: `the group is FAILED_OVER (it runs on ${REPLICA}): the config still describes the old primary. Fail back, then rearm it with failoverctl rearm orders.`,
};

/** What the scheduled readiness function stores after finding the group FAILED_OVER (lambdas/readiness/scheduled.ts). */
async function seedReadiness() {
  await store.putReadiness({ group: 'orders', ready: false, checkedAt: '2026-01-01T00:05:00.000Z', since: '2026-01-01T00:05:00.000Z', problems: [READINESS_PROBLEM] }, null);
}

describe('status', () => {
  it('a group with nothing stored is ARMED, with the config topology; the stack is found by the config stackName', async () => {
    const r = await runCli(['status'], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        `stack ${STACK}, config failover.config.json, at 2026-01-01 09:10:00 +09:00`,
        '',
        'orders  ARMED',
        `  primary       ec2 ${INSTANCE} (us-east-1)`,
        `  replica       rds ${REPLICA} (us-west-2)`,
        '  probes        no probe round recorded',
        '  lock          free',
        '  readiness     not evaluated yet (the readiness function runs on a schedule; failoverctl check runs it now)',
        '  last failover none recorded',
        '',
      ].join('\n'),
    );
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: STACK });
  });

  it('FAILED_OVER: the promoted replica is the primary, no replica, the readiness function\'s last result, the last failover with RTO and data loss', async () => {
    await seedFailedOver();
    await seedReadiness();
    const r = await runCli(['status', 'orders'], { deps, now: NOW });
    expect(r.code).toBe(0);
    const name = historyItem(T0).executionName;
    expect(r.stdout).toContain(
      [
        'orders  FAILED_OVER',
        `  why           failed over by ${name}: primary unreachable, INC-4711, since 2026-01-01 09:04:05 +09:00 (5m 54s ago)`,
        `  primary       rds ${REPLICA} (us-west-2) ${REPLICA_ENDPOINT}, promoted by the last failover`,
        '  replica       none: the replica was promoted; describe the new topology in the config, deploy, then rearm',
        '  probes        no probe round recorded',
        '  lock          free',
        '  readiness     NOT READY since 2026-01-01 09:05:00 +09:00 (5m 00s ago), checked 2026-01-01 09:05:00 +09:00 (5m 00s ago): 1 problem',
        `                state orders: the group is FAILED_OVER (it runs on ${REPLICA}): the config still describes the old primary. Fail back, then rearm it with failoverctl rearm orders.`,
        `  last failover 2026-01-01 09:04:05 +09:00  SUCCEEDED  failover  RTO 4m 06s  data loss 2 s  ${name}`,
        `                https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${executionArn(name)}`,
      ].join('\n'),
    );
  });

  it('--json: the documented shape', async () => {
    await seedFailedOver();
    await seedReadiness();
    await store.putProbeState(
      {
        group: 'orders',
        consecutiveFailures: 4,
        outageStartedAt: T0 - 30_000,
        lastSuccessAt: T0 - 40_000,
        lastRoundAt: NOW - 10_000,
        lastRound: { failed: true, reason: 'round failed: 3 of 3 probes failed' },
      },
      null,
    );
    const r = await runCli(['status', '--json'], { deps, now: NOW });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toEqual({
      at: '2026-01-01T00:10:00.000Z',
      deployment: { stackName: STACK, region: null, tableName: store.tableName, config: expect.stringMatching(/failover\.config\.json$/) },
      hold: null,
      groups: [
        {
          group: 'orders',
          status: 'FAILED_OVER',
          state: 'FAILED_OVER',
          stateReason: expect.stringMatching(/^failed over by manual-orders-/),
          stateUpdatedAt: '2026-01-01T00:04:05.600Z',
          primary: { kind: 'rds', id: REPLICA, region: 'us-west-2', endpoint: REPLICA_ENDPOINT, source: 'failover' },
          replica: null,
          probe: {
            healthy: false,
            consecutiveFailures: 4,
            failureThreshold: 3,
            failingSince: '2025-12-31T23:59:30.000Z',
            lastRoundAt: '2026-01-01T00:09:50.000Z',
            lastRoundReason: 'round failed: 3 of 3 probes failed',
            lastSuccessAt: '2025-12-31T23:59:20.000Z',
            stale: false,
          },
          lock: null,
          readiness: {
            ready: false,
            checkedAt: '2026-01-01T00:05:00.000Z',
            since: '2026-01-01T00:05:00.000Z',
            problems: [READINESS_PROBLEM],
          },
          lastFailover: {
            executionArn: historyItem(T0).executionArn,
            executionName: historyItem(T0).executionName,
            at: '2026-01-01T00:04:05.600Z',
            outcome: 'SUCCEEDED',
            mode: 'failover',
            rtoSeconds: 245.5,
            dataLossSeconds: 2,
            consoleUrl: expect.stringMatching(/^https:\/\/us-west-2\.console\.aws\.amazon\.com\/states\/home\?region=us-west-2#\/v2\/executions\/details\/arn:aws:states:/),
          },
        },
      ],
    });
  });

  it('IN_PROGRESS while a running execution holds the lock', async () => {
    const holder = executionArn('probe-orders-20260101T000500Z');
    await store.acquireLock('orders', holder, NOW - 60_000, 3900);
    sfn.on(DescribeExecutionCommand, { executionArn: holder }).resolves({ status: 'RUNNING' } as never);
    const r = await runCli(['status', 'orders'], { deps, now: NOW });
    expect(r.stdout).toContain('orders  IN_PROGRESS\n');
    expect(r.stdout).toContain(`  lock          held by ${holder} (RUNNING) since 2026-01-01 09:09:00 +09:00 (1m 00s ago), expires 2026-01-01 10:14:00 +09:00`);
    const json = JSON.parse((await runCli(['status', 'orders', '--json'], { deps, now: NOW })).stdout);
    expect(json.groups[0]).toMatchObject({ status: 'IN_PROGRESS', state: 'ARMED', lock: { holder, live: true, holderStatus: 'RUNNING' } });
  });

  it('a lock left by an execution that ended is STALE, not IN_PROGRESS, and says what it blocks', async () => {
    const holder = executionArn('manual-orders-20260101T000500Z');
    await store.acquireLock('orders', holder, NOW - 60_000, 3900);
    sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED', stopDate: new Date(NOW - 30_000) } as never);
    const r = await runCli(['status', 'orders'], { deps, now: NOW });
    expect(r.stdout).toContain('orders  ARMED\n');
    expect(r.stdout).toContain(`  lock          STALE: held by ${holder}, which ended ABORTED; manual failovers are SKIPPED until it expires 2026-01-01 10:14:00 +09:00`);
  });

  it('PAUSED with who and why; failing probes with their count, threshold and start', async () => {
    await store.putGroupState({ group: 'orders', status: 'PAUSED', reason: `paused by ${USER}: db upgrade`, updatedAt: new Date(NOW - 120_000).toISOString() });
    await store.putProbeState(
      { group: 'orders', consecutiveFailures: 2, outageStartedAt: NOW - 20_000, lastSuccessAt: NOW - 30_000, lastRoundAt: NOW - 10_000, lastRound: { failed: true, reason: 'round failed: 2 of 3 probes failed' } },
      null,
    );
    const r = await runCli(['status'], { deps, now: NOW });
    expect(r.stdout).toContain('orders  PAUSED\n');
    expect(r.stdout).toContain(`  why           paused by ${USER}: db upgrade, since 2026-01-01 09:08:00 +09:00 (2m 00s ago)`);
    expect(r.stdout).toContain(
      '  probes        FAILING: 2 failed round(s) in a row (threshold 3) since 2026-01-01 09:09:40 +09:00 (20 s ago); last round 2026-01-01 09:09:50 +09:00 (10 s ago): round failed: 2 of 3 probes failed',
    );
  });

  it('a mass-failure hold in force heads the output, and says what it holds; one nobody refreshed for HOLD_LIVE_MS does not', async () => {
    const reason = 'automatic failovers held: 3 of 3 groups failed the same round (at least 3 and 50 % hold them): the controller itself may be cut off from the primaries';
    // As the probe function leaves it: opened 3 minutes ago, seen lasting a minute ago.
    await store.putProbeState({ group: HOLD_KEY, consecutiveFailures: 1, outageStartedAt: NOW - 180_000, lastSuccessAt: null, lastRoundAt: NOW - 60_000, lastRound: { failed: true, reason }, openedBy: 0, openedOf: 1 }, null);

    const text = await runCli(['status'], { deps, now: NOW });
    const json = JSON.parse((await runCli(['status', '--json'], { deps, now: NOW })).stdout);
    const later = JSON.parse((await runCli(['status', '--json'], { deps, now: NOW - 60_000 + HOLD_LIVE_MS + 1 })).stdout);

    expect(text.stdout.split('\n').slice(1, 4)).toEqual([
      '',
      'HELD: automatic failovers held since 2026-01-01T00:07:00.000Z: 3 of 3 groups failed the same round (at least 3 and 50 % hold them): the controller itself may be cut off from the primaries.',
      'No automatic failover of a group with probes starts, from its probes or its alarms; manual failovers still run (failoverctl failover <group>). Last seen lasting 2026-01-01 09:09:00 +09:00.',
    ]);
    expect(json.hold).toEqual({ reason: expect.stringMatching(/^automatic failovers held since 2026-01-01T00:07:00.000Z: 3 of 3 groups/), since: '2026-01-01T00:07:00.000Z', lastSeenAt: '2026-01-01T00:09:00.000Z' });
    expect(later.hold).toBeNull();
  });

  it('says when the probes have not counted a round for minutes', async () => {
    await store.putProbeState({ group: 'orders', consecutiveFailures: 0, outageStartedAt: null, lastSuccessAt: NOW - 600_000, lastRoundAt: NOW - 600_000, lastRound: { failed: false, reason: 'ok' } }, null);
    const r = await runCli(['status'], { deps, now: NOW });
    expect(r.stdout).toContain('  probes        healthy, last round 2026-01-01 09:00:00 +09:00 (10m 00s ago)\n');
    expect(r.stdout).toContain('no probe round for over 2 minutes: is the probe function running?');
  });

  it('colours the status on a terminal, and not with NO_COLOR', async () => {
    const tty = await runCli(['status'], { deps, now: NOW, tty: { stdout: true } });
    expect(tty.stdout).toContain('\u001b[32mARMED\u001b[39m');
    const noColor = await runCli(['status'], { deps, now: NOW, tty: { stdout: true }, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain('\u001b[');
  });

  it('explicit --table skips CloudFormation', async () => {
    const r = await runCli(['status', '--table', store.tableName, '--region', 'us-west-2'], { deps, now: NOW });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^table ${store.tableName} in us-west-2, config`));
    expect(cfn).not.toHaveReceivedAnyCommand();
  });

  it('stack not found: one line naming the stack and how to pass another; exit 3', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Nope' }).rejects(
      new CloudFormationServiceException({ name: 'ValidationError', message: 'Stack with id Nope does not exist', $fault: 'client', $metadata: { httpStatusCode: 400 } }),
    );
    const r = await runCli(['status', '--stack-name', 'Nope', '--region', 'eu-west-1'], { deps });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'failoverctl: stack Nope not found in eu-west-1: pass --stack-name NAME (and --region REGION if it is elsewhere); the default is stackName in failover.config.json\n',
    );
  });

  it('a stack without the outputs is not a controller stack', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'Other' }).resolves({ Stacks: [{ StackName: 'Other', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }] } as never);
    const r = await runCli(['status', '--stack-name', 'Other'], { deps });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')[0]).toBe('failoverctl: stack Other has no output TableName: is it a failover-controller stack? Pass --stack-name NAME, or --table');
  });

  it('no credentials: says how to provide them; exit 3, no stack trace', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    cfn.on(DescribeStacksCommand).rejects(missing);
    const r = await runCli(['status'], { deps });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'failoverctl: no AWS credentials: set AWS_PROFILE (run aws sso login for an SSO profile) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the README\'s "Deploy" section goes from zero to a deployed controller)\n(run with --debug for details)\n',
    );
    const profile = await runCli(['status'], { deps, env: { AWS_PROFILE: 'prod-ops' } });
    expect(profile.stderr.split('\n')[0]).toBe(
      'failoverctl: no AWS credentials from profile prod-ops: check that it exists in ~/.aws/config; for an SSO profile run aws sso login --profile prod-ops',
    );
    const debug = await runCli(['status', '--debug'], { deps });
    expect(debug.stderr).toContain('CredentialsProviderError: Could not load credentials from any providers\n    at ');
  });

  it('access denied and a missing table are AWS errors with one line each', async () => {
    const denied = Object.assign(new Error('User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudformation:DescribeStacks'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    cfn.on(DescribeStacksCommand).rejects(denied);
    const r = await runCli(['status'], { deps });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n')[0]).toBe(`failoverctl: access denied: ${denied.message}`);

    const missingTable = await runCli(['status', '--table', 'no-such-table', '--region', 'us-west-2'], { deps });
    expect(missingTable.code).toBe(3);
    expect(missingTable.stderr.split('\n')[0]).toBe(
      "failoverctl: the DynamoDB table was not found (Requested resource not found): check --table and --region, or the stack's TableName output",
    );
  });
});

describe('history', () => {
  async function seedHistory(): Promise<void> {
    await store.putHistory(historyItem(T0));
    await store.putHistory(
      historyItem(T0 + 3_600_000, {
        executionName: 'probe-orders-20260101T010000Z',
        executionArn: executionArn('probe-orders-20260101T010000Z'),
        trigger: { type: 'probe', at: '2026-01-01T01:00:00.000Z' },
        outcome: 'SKIPPED',
        summary: 'skipping: orders already failed over to orders-replica; automatic triggers are ignored until it is re-armed',
        steps: [],
        fence: null,
        promotion: null,
        dnsChanges: [],
        dataLossSeconds: null,
        rtoSeconds: null,
        notification: null,
      }),
    );
    await store.putHistory(
      historyItem(T0 + 7_200_000, {
        executionName: 'local-orders-20260101T020000Z',
        executionArn: 'local:local-orders-20260101T020000Z',
        trigger: { type: 'manual', by: USER, local: true, at: '2026-01-01T02:00:00.000Z' },
        mode: 'switchover',
        outcome: 'ABORTED',
        summary: 'not switching over: replica lag still 4 s after 300 s',
        fence: null,
        promotion: null,
        dnsChanges: [],
        dataLossSeconds: 4,
        rtoSeconds: null,
      }),
    );
  }

  it('newest first: when, group, trigger, mode, outcome, RTO, data loss, summary and console link', async () => {
    await seedHistory();
    const r = await runCli(['history'], { deps });
    expect(r.code).toBe(0);
    const first = historyItem(T0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^WHEN {24}GROUP {3}TRIGGER +MODE +OUTCOME +RTO +DATA LOSS +EXECUTION$/);
    expect(lines[1]).toMatch(/^2026-01-01 11:00:00 \+09:00 {2}orders {2}manual by alice@ops-1 \(local\) {2}switchover {2}ABORTED +- +- +local-orders-20260101T020000Z$/);
    expect(lines[2]).toBe('    not switching over: replica lag still 4 s after 300 s');
    expect(lines[3]).toBe('    local:local-orders-20260101T020000Z');
    expect(lines[4]).toMatch(/^2026-01-01 10:00:00 \+09:00 {2}orders {2}probe +failover +SKIPPED +- +- +probe-orders-20260101T010000Z$/);
    expect(lines[7]).toMatch(new RegExp(`^2026-01-01 09:00:00 \\+09:00  orders  manual by alice@ops-1 +failover +SUCCEEDED +4m 06s +2 s +${first.executionName}$`));
    expect(lines[8]).toBe(`    ${first.summary}`);
    expect(lines[9]).toBe(`    https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${first.executionArn}`);
    expect(lines).toHaveLength(11);
  });

  it('--limit and a group; --json is the stored item plus consoleUrl', async () => {
    await seedHistory();
    const r = await runCli(['history', 'orders', '--limit', '2', '--json'], { deps });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { items: Array<Record<string, unknown>> };
    expect(json.items.map((i) => i.executionName)).toEqual(['local-orders-20260101T020000Z', 'probe-orders-20260101T010000Z']);
    expect(json.items[0]).toMatchObject({ consoleUrl: null, trigger: { type: 'manual', by: USER, local: true }, outcome: 'ABORTED' });
    expect(json.items[1].consoleUrl).toBe(`https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${executionArn('probe-orders-20260101T010000Z')}`);
    const { consoleUrl: _c, ...stored } = json.items[1];
    expect(stored).toEqual((await store.listHistory({ group: 'orders', limit: 3 }))[1]);
  });

  it('times follow TZ', async () => {
    await store.putHistory(historyItem(T0));
    const r = await runCli(['history'], { deps, env: { TZ: 'America/New_York' } });
    expect(r.stdout.split('\n')[1]).toMatch(/^2025-12-31 19:00:00 -05:00 /);
  });

  it('no history yet; a group outside the config is looked up with a warning', async () => {
    const r = await runCli(['history', 'billing'], { deps });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`No history for billing in stack ${STACK}.\n`);
    expect(r.stderr).toMatch(/^warning: billing is not a group of .*failover\.config\.json \(known: orders\); showing its history anyway\n$/);
  });
});
