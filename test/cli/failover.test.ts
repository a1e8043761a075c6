/**
 * `failover` and `switchover` against Step Functions (mocked: StartExecution, DescribeExecution,
 * GetExecutionHistory) and the store on dynalite: the confirmation rule, the execution input, the live
 * step lines, the outcome and the exit code.
 */
import 'aws-sdk-client-mock-vitest/extend';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNServiceException,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../lambdas/core/store';
import type { CliDeps } from '../../lib/cli/deployment';
import {
  INSTANCE,
  REPLICA,
  REPLICA_ENDPOINT,
  STATE_MACHINE,
  T0,
  USER,
  executionArn,
  executionEvents,
  historyItem,
  runCli,
  useDeployment,
} from './support';

let store: Store;
let deps: Partial<CliDeps>;
const { cfn, sfn } = useDeployment((d) => ({ store, deps } = d));

const NAME = 'manual-orders-20260101T000000Z';
const ARN = executionArn(NAME);

/**
 * Step Functions running `list`: the first DescribeExecution sees it RUNNING with part of its history,
 * the second sees it ended with all of it.
 */
function execution(list: HistoryEvent[], end: { status: 'SUCCEEDED'; outcome: string } | { status: 'FAILED'; error: string; cause: string }) {
  let visible = 0;
  let polls = 0;
  sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
  sfn.on(DescribeExecutionCommand).callsFake(() => {
    polls += 1;
    if (polls === 1) {
      visible = Math.ceil(list.length / 2);
      return { status: 'RUNNING', startDate: new Date(T0) };
    }
    visible = list.length;
    const stopDate = list.at(-1)!.timestamp;
    return end.status === 'SUCCEEDED'
      ? { status: 'SUCCEEDED', startDate: new Date(T0), stopDate, output: JSON.stringify({ outcome: end.outcome }) }
      : { status: 'FAILED', startDate: new Date(T0), stopDate, error: end.error, cause: end.cause };
  });
  sfn.on(GetExecutionHistoryCommand).callsFake((input: { reverseOrder?: boolean }) => {
    const shown = list.slice(0, visible);
    return { events: input.reverseOrder ? [...shown].reverse() : shown };
  });
}

const startedInput = () => JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);

describe('the confirmation rule', () => {
  it('without a terminal, --yes is required: a clear error, exit 2, nothing started', async () => {
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable'], { deps, tty: { stdin: false, stdout: false } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').at(-2)).toBe('failoverctl: refusing to start a failover of orders without confirmation: stdin is not a terminal, so pass --yes');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('on a terminal, the plan and a prompt; answered "n": nothing started, exit 4', async () => {
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable'], { deps, answer: 'n' });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      [
        'A failover of orders',
        `  1. assess   check replica ${REPLICA}: available, a read replica, if its lag before the outage is at most 30 s`,
        `  2. fence    force-stop EC2 ${INSTANCE} in us-east-1, wait until stopped (up to 2m 00s)`,
        '  3. fence-db put the old database orders-primary-db (us-east-1) behind only a deny-all security group, then reboot it to close every connection (up to 15m 00s)',
        '  4. verify   re-read every fence from AWS; stop again any instance found running',
        `  5. promote  RDS read replica ${REPLICA} in us-west-2, wait until standalone (up to 30m 00s)`,
        "  6. dns      re-check every fence, then UPSERT in example.com: CNAME db.orders.example.com -> the replica's endpoint (TTL 30); A api.orders.example.com -> 198.51.100.20 (TTL 30)",
        '  reason:     primary unreachable',
        `  execution:  ${NAME}`,
        `  on:         ${STATE_MACHINE}`,
      ].join('\n'),
    );
    expect(r.stderr).toContain('Start the failover of orders? [y/N] failoverctl: not confirmed: no failover of orders was started\n');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('--attest-fenced puts the attestation in the input, says so in the plan and asks with it', async () => {
    const reason = 'us-east-1 dark since 09:02; i-0a1b2c3d4e5f60718 terminated from the console';
    const declined = await runCli(['failover', 'orders', '--reason', 'region down', '--attest-fenced', reason], { deps, answer: 'n' });
    sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
    const started = await runCli(['failover', 'orders', '--reason', 'region down', '--attest-fenced', reason, '--yes', '--no-wait'], { deps });

    expect(declined.code).toBe(4);
    expect(declined.stderr).toContain(`  ATTESTED:   you (${USER}) state that the writers are fenced by other means: ${reason}\n`);
    expect(declined.stderr).toContain('the workflow proceeds past any fence it cannot complete; if the statement is wrong, two databases accept writes\n');
    expect(declined.stderr).toContain('Start the failover of orders, attesting that its writers are fenced by other means? [y/N]');
    expect(started.code).toBe(0);
    expect(startedInput()).toMatchObject({ trigger: { type: 'manual', by: USER }, attestation: { by: USER, reason } });
  });

  it('rejects an empty --attest-fenced, and switchover has no such option', async () => {
    const empty = await runCli(['failover', 'orders', '--reason', 'x', '--attest-fenced', ' ', '--yes'], { deps });
    const switchover = await runCli(['switchover', 'orders', '--reason', 'x', '--attest-fenced', 'y', '--yes'], { deps });

    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('failover: --attest-fenced TEXT must say how the writers are fenced');
    expect(switchover.code).toBe(2);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('anything but y or yes is a no, including an empty line', async () => {
    for (const answer of ['', 'no', 'yess', 'Y E S']) {
      const r = await runCli(['failover', 'orders', '--reason', 'x'], { deps, answer });
      expect(r.code).toBe(4);
    }
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answered "y": started and followed', async () => {
    execution(executionEvents('succeeded'), { status: 'SUCCEEDED', outcome: 'SUCCEEDED' });
    await store.putHistory(historyItem(T0, { executionName: NAME, executionArn: ARN }));
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable'], { deps, answer: 'Yes' });
    expect(r.code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });
});

describe('failover --yes', () => {
  it('starts the execution with a manual trigger and follows it step by step; SUCCEEDED exits 0', async () => {
    execution(executionEvents('succeeded'), { status: 'SUCCEEDED', outcome: 'SUCCEEDED' });
    await store.putHistory(historyItem(T0, { executionName: NAME, executionArn: ARN }));
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable', '--yes'], { deps });
    expect(r.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, name: NAME });
    expect(startedInput()).toEqual({
      group: 'orders',
      reason: 'primary unreachable',
      trigger: { type: 'manual', by: USER, at: '2026-01-01T00:00:00.000Z' },
      mode: 'failover',
    });
    expect(r.stdout).toBe(
      [
        `Started ${ARN}`,
        `  https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN}`,
        '     +0.1 s  plan            -  failover of orders, manual trigger by alice@ops-1',
        '     +0.3 s  lock        0.1 s  took the lock of orders until 2026-01-01T01:05:00.000Z',
        `     +0.5 s  assess      0.2 s  replica ${REPLICA} is available, lag 2 s within 30 s`,
        `     +0.8 s  fence       0.1 s  StopInstances accepted: ${INSTANCE} is stopping`,
        `     +5.9 s  fence       5.2 s  ${INSTANCE} is stopping, waiting for stopped`,
        `    +16.1 s  fence      15.3 s  ${INSTANCE} confirmed stopped`,
        `    +16.3 s  promote     0.1 s  PromoteReadReplica accepted for ${REPLICA}`,
        `    +3m 20s  promote    3m 03s  ${REPLICA} promoted: available, no longer a replica`,
        '    +3m 20s  dns         0.1 s  read 2 record(s)',
        '    +3m 20s  dns         0.3 s  UPSERT of 2 record(s) submitted as C0123',
        '    +4m 06s  dns        45.8 s  2 record(s) INSYNC',
        '    +4m 06s  outcome         -  SUCCEEDED',
        '    +4m 06s  notify          -  notification sent',
        '    +4m 06s  record          -  history item stored (SUCCEEDED), lock released',
        '',
        `SUCCEEDED: failed over orders: ${INSTANCE} fenced (stopped), ${REPLICA} promoted, 2 DNS record(s) INSYNC`,
        '  RTO 4m 06s   data loss up to 2 s (replica lag)   notification sent',
        `  https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN}`,
        '',
      ].join('\n'),
    );
  });

  it('a failed execution exits 1 with its outcome and error, from the history item and DescribeExecution', async () => {
    const cause = `FenceNotConfirmed: ${INSTANCE} is still stopping after 120 s`;
    execution(executionEvents('fence-failed'), { status: 'FAILED', error: 'FenceFailed', cause });
    await store.putHistory(
      historyItem(T0, {
        executionName: NAME,
        executionArn: ARN,
        outcome: 'FENCE_FAILED',
        summary: cause,
        promotion: null,
        dnsChanges: [],
        rtoSeconds: null,
        error: { name: 'FenceNotConfirmed', cause: `${INSTANCE} is still stopping after 120 s` },
      }),
    );
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable', '--yes'], { deps });
    expect(r.code).toBe(1);
    // The folded poll (same sentence twice) is one line; the failure and the outcome follow.
    expect(r.stdout).toContain(
      [
        `     +5.9 s  fence       5.2 s  ${INSTANCE} is stopping, waiting for stopped`,
        `    +2m 01s  fence           -  CheckFence failed: FenceNotConfirmed: ${INSTANCE} is still stopping after 120 s`,
        '    +2m 01s  outcome         -  FENCE_FAILED',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toContain(`\nFENCE_FAILED: ${cause}\n  RTO -   no data loss: nothing was promoted   notification sent\n  execution FAILED: FenceFailed\n`);
  });

  it('a step that failed and then succeeded on retry still gets its line', async () => {
    const list = executionEvents('succeeded');
    // AcquireLock's Lambda dies once (Lambda.Unknown is retried), then succeeds.
    const exitAt = list.findIndex((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'AcquireLock');
    list.splice(
      exitAt,
      0,
      { id: 0, timestamp: list[exitAt].timestamp, type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: 'Lambda.Unknown', cause: 'The function died' } },
      { id: 0, timestamp: list[exitAt].timestamp, type: 'LambdaFunctionSucceeded' },
    );
    list.forEach((e, i) => (e.id = i + 1));
    execution(list, { status: 'SUCCEEDED', outcome: 'SUCCEEDED' });
    await store.putHistory(historyItem(T0, { executionName: NAME, executionArn: ARN }));
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps });
    expect(r.stdout).toContain('     +0.3 s  lock            -  AcquireLock failed: Lambda.Unknown: The function died\n     +0.3 s  lock        0.1 s  took the lock of orders');
  });

  it('an execution that fails with InvalidInput (a group the deployed config lacks): its error, no history lookup, exit 1', async () => {
    const cause = 'group: unknown group "orders"; known groups: payments';
    execution(executionEvents('succeeded').slice(0, 2), { status: 'FAILED', error: 'InvalidInput', cause });
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`\nFAILED: InvalidInput: ${cause}\n  execution FAILED: InvalidInput\n`);
    expect(r.stdout).not.toContain('no history item found');
  });

  it('--json: no live lines, one result object', async () => {
    execution(executionEvents('succeeded'), { status: 'SUCCEEDED', outcome: 'SUCCEEDED' });
    const item = historyItem(T0, { executionName: NAME, executionArn: ARN });
    await store.putHistory(item);
    const r = await runCli(['failover', 'orders', '--reason', 'primary unreachable', '--yes', '--json'], { deps });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      group: 'orders',
      executionArn: ARN,
      executionName: NAME,
      consoleUrl: `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN}`,
      local: false,
      status: 'SUCCEEDED',
      outcome: 'SUCCEEDED',
      error: null,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:04:06.100Z',
      history: item,
    });
  });

  it('ABORTED is not a success: exit 1', async () => {
    execution(executionEvents('succeeded').slice(0, 8), { status: 'SUCCEEDED', outcome: 'ABORTED' });
    await store.putHistory(historyItem(T0, { executionName: NAME, executionArn: ARN, outcome: 'ABORTED', summary: 'not promoting: replica lag 42 s exceeds maxLagSeconds 30 s', fence: null, promotion: null }));
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('\nABORTED: not promoting: replica lag 42 s exceeds maxLagSeconds 30 s\n');
  });

  it('--force and --no-wait: force in the input; started, linked, not followed, exit 0', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
    const r = await runCli(['failover', 'orders', '--reason', 'lag is stuck, we accept the loss', '--force', '--yes', '--no-wait'], { deps });
    expect(r.code).toBe(0);
    expect(startedInput()).toMatchObject({ force: true, mode: 'failover' });
    expect(r.stdout).toBe(
      [
        `Started ${ARN} at 2026-01-01 09:00:00 +09:00; not following it (--no-wait).`,
        `  https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN}`,
        '  follow it with: failoverctl status orders',
        '',
      ].join('\n'),
    );
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
    expect(r.stderr).toContain('whatever its lag before the outage (--force: the data-loss estimate is recorded, or "unknown" when nothing bounds it)');
  });

  it('--dry-run needs no confirmation and exits 0 on DRY_RUN', async () => {
    execution(executionEvents('succeeded'), { status: 'SUCCEEDED', outcome: 'DRY_RUN' });
    await store.putHistory(
      historyItem(T0, {
        executionName: NAME,
        executionArn: ARN,
        dryRun: true,
        outcome: 'DRY_RUN',
        summary: 'dry run: a failover of orders would proceed; nothing was changed',
        rtoSeconds: null,
        plannedActions: [`force-stop EC2 instance ${INSTANCE} in us-east-1`, `promote RDS read replica ${REPLICA} in us-west-2`],
      }),
    );
    const r = await runCli(['failover', 'orders', '--reason', 'game day', '--dry-run'], { deps, tty: { stdin: false } });
    expect(r.code).toBe(0);
    expect(startedInput()).toMatchObject({ dryRun: true });
    expect(r.stderr).toContain('Dry run of a failover of orders: every step is checked, nothing is changed');
    expect(r.stdout).toContain(`DRY_RUN: dry run: a failover of orders would proceed; nothing was changed\n  RTO -   data loss up to 2 s (replica lag)   notification sent\n  a real run would:\n    force-stop EC2 instance ${INSTANCE} in us-east-1\n`);
  });

  it('warns before confirming when the group is FAILED_OVER or another execution holds the lock', async () => {
    await store.putGroupState({ group: 'orders', status: 'FAILED_OVER', primary: { kind: 'rds', id: REPLICA, endpointAddress: REPLICA_ENDPOINT }, updatedAt: '2026-01-01T00:00:00.000Z', lastFailover: { executionArn: ARN, at: '2025-12-31T23:00:00.000Z', outcome: 'SUCCEEDED', rtoSeconds: 200 } });
    await store.acquireLock('orders', executionArn('probe-orders-1'), T0 - 1000, 3900);
    const r = await runCli(['failover', 'orders', '--reason', 'x'], { deps, answer: 'n' });
    expect(r.stderr).toContain(`warning: another execution holds the lock of orders (${executionArn('probe-orders-1')}, until 2026-01-01 10:04:59 +09:00): this failover will be SKIPPED`);
    expect(r.stderr).toContain(`warning: orders already FAILED_OVER to ${REPLICA} at 2026-01-01 08:00:00 +09:00: its replica is no longer a replica, so this run will most likely be ABORTED`);
  });

  it('Ctrl-C while following: stops following, says the execution goes on, exit 130', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const interrupt = new AbortController();
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps: { ...deps, sleep: async () => interrupt.abort() }, signal: interrupt.signal });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Stopped following. The execution goes on: failoverctl status orders, or https://us-west-2.console.aws.amazon.com/`);
  });

  it('explicit --state-machine-arn and --table: no CloudFormation; on a terminal, colour and a live status line', async () => {
    execution(executionEvents('succeeded'), { status: 'SUCCEEDED', outcome: 'SUCCEEDED' });
    await store.putHistory(historyItem(T0, { executionName: NAME, executionArn: ARN }));
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes', '--state-machine-arn', STATE_MACHINE, '--table', store.tableName], { deps, tty: { stdin: true, stdout: true } });
    expect(r.code).toBe(0);
    expect(cfn).not.toHaveReceivedAnyCommand();
    expect(r.stdout).toContain('\r\u001b[K\u001b[2m       +0 s  PromoteReplica…\u001b[22m\r\u001b[K    +16.3 s  promote');
    expect(r.stdout).toContain('\u001b[1m\u001b[32mSUCCEEDED\u001b[39m\u001b[22m: failed over orders');
  });

  it('losing track of a started execution says it goes on and where to look, exit 3', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
    sfn.on(DescribeExecutionCommand).rejects(new SFNServiceException({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`failoverctl: lost track of ${ARN} (ThrottlingException: Rate exceeded); the execution goes on: failoverctl status orders or https://us-west-2.console.aws.amazon.com/`);
  });

  it('Step Functions refusing the start is an AWS error, exit 3', async () => {
    sfn.on(StartExecutionCommand).rejects(new SFNServiceException({ name: 'StateMachineDoesNotExist', message: `State Machine Does Not Exist: '${STATE_MACHINE}'`, $fault: 'client', $metadata: { httpStatusCode: 400 } }));
    const r = await runCli(['failover', 'orders', '--reason', 'x', '--yes'], { deps });
    expect(r.code).toBe(3);
    expect(r.stderr.split('\n').at(-3)).toBe(`failoverctl: AWS error: StateMachineDoesNotExist: State Machine Does Not Exist: '${STATE_MACHINE}'`);
  });
});

describe('switchover', () => {
  it('starts mode switchover under its own name and describes the lag wait and the graceful stop', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArn('manual-switchover-orders-20260101T000000Z'), startDate: new Date(T0) });
    const r = await runCli(['switchover', 'orders', '--reason', 'region migration', '--yes', '--no-wait'], { deps });
    expect(r.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: 'manual-switchover-orders-20260101T000000Z' });
    expect(startedInput()).toEqual({ group: 'orders', reason: 'region migration', trigger: { type: 'manual', by: USER, at: '2026-01-01T00:00:00.000Z' }, mode: 'switchover' });
    // The writers stop first; only then does it wait for the replica to have every write.
    expect(r.stderr).toContain(
      [
        `  1. assess   check replica ${REPLICA}: available, a read replica of arn:aws:rds:us-east-1:123456789012:db:orders-primary-db, else abort`,
        `  2. fence    stop EC2 ${INSTANCE} in us-east-1 gracefully, wait until stopped (up to 10m 00s)`,
        '  3. fence-db put the old database orders-primary-db (us-east-1) behind only a deny-all security group, then reboot it to close every connection (up to 15m 00s)',
        '  4. catch-up wait until the replica has every write (up to 10m 00s), else abort with the writers still fenced',
        '  5. verify   re-read every fence from AWS; stop again any instance found running',
        '',
      ].join('\n'),
    );
  });

  it('asks for confirmation like failover', async () => {
    const r = await runCli(['switchover', 'orders', '--reason', 'x'], { deps, tty: { stdin: false } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to start a switchover of orders without confirmation: stdin is not a terminal, so pass --yes');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
