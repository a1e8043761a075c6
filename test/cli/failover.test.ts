/**
 * `failover` and `switchover` against Step Functions and the store: the confirmation rule, the execution
 * input, the live step lines, the outcome and the exit code.
 *
 * Where the CLI follows an execution, Step Functions is answered from a real run of the workflow: a
 * drill stands in for the deployed controller (drill-deployment.ts), StartExecution runs the synthesized
 * definition with the real step code against the simulated account, and DescribeExecution and
 * GetExecutionHistory answer with the events Step Functions would have recorded for that run
 * (recorded-execution.ts); the store holds the history item the run wrote. So the lines asserted here
 * are the steps' own sentences, taken from the run's events; the exact output of a run is the README's
 * capture (test/readme). Elsewhere Step Functions is mocked (useDeployment).
 */
import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { causeText } from '../../lambdas/core/history';
import type { Store } from '../../lambdas/core/store';
import type { CliDeps } from '../../lib/cli/deployment';
import { formatDuration } from '../../lib/cli/format';
import { TASK_STATES, type TaskStateName } from '../../lib/infra/workflow-states';
import { DrillDeployment } from './drill-deployment';
import type { RecordedExecution } from './recorded-execution';
import {
  CONFIG,
  INSTANCE,
  REPLICA,
  REPLICA_ENDPOINT,
  STATE_MACHINE,
  T0,
  USER,
  executionArn,
  runCli,
  useDeployment,
} from './support';

let store: Store;
let deps: Partial<CliDeps>;
const { sfn } = useDeployment((d) => ({ store, deps } = d));

const NAME = 'manual-orders-20260101T000000Z';
const ARN = executionArn(NAME);

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

});

describe('failover --yes', () => {
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

// --- following an execution of the real workflow ---------------------------------------------------

/** A step line: `  <+elapsed, 9>  <label, 8> <duration, 8>  <text>` (lib/cli/follow.ts stepLine). */
interface StepLine {
  label: string;
  duration: string;
  text: string;
}

function stepLines(stdout: string): StepLine[] {
  return stdout
    .split('\n')
    .filter((l) => /^ {2}[ +\dms.]{9} {2}\S/.test(l) && l.slice(2, 11).includes('+'))
    .map((l) => ({ label: l.slice(13, 21).trim(), duration: l.slice(22, 30).trim(), text: l.slice(32) }));
}

/** What each Task state said when it exited, in order, as the steps worded it (`reason` of its result). */
function stepSentences(run: RecordedExecution): Array<{ label: string; text: string }> {
  return run.events.flatMap((e) => {
    const name = e.type === 'TaskStateExited' ? e.stateExitedEventDetails?.name : undefined;
    const meta = name ? TASK_STATES[name as TaskStateName] : undefined;
    const result = meta ? JSON.parse(e.stateExitedEventDetails!.output!)?.[meta.field] : undefined;
    // MeasureDataLoss keeps the promotion's result; its line is the data-loss bound (checked against the history item below).
    return meta && meta.label !== 'loss' && typeof result?.reason === 'string' ? [{ label: meta.label, text: result.reason as string }] : [];
  });
}

/** Consecutive repeats of the same label and text folded into one, as the CLI prints polls. */
function folded(lines: Array<{ label: string; text: string }>): Array<{ label: string; text: string }> {
  const last = new Map<string, string>();
  return lines.filter((l) => {
    const seen = last.get(l.label) === l.text;
    last.set(l.label, l.text);
    return !seen;
  });
}

const consoleUrl = (arn: string) => `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${arn}`;

describe('following an execution of the real workflow', () => {
  let deployment: DrillDeployment | undefined;
  afterEach(async () => {
    await deployment?.close();
    deployment = undefined;
  });

  async function deployed(shape?: (d: DrillDeployment) => void, configText?: string): Promise<DrillDeployment> {
    deployment = await DrillDeployment.create({ configText });
    shape?.(deployment);
    return deployment;
  }
  const historyOf = async (d: DrillDeployment) => (await d.drill.store.listHistory({ group: 'orders' }))[0];

  it('answered "y" on a terminal: started and followed to the end, exit 0', async () => {
    const d = await deployed();
    const r = await d.run(['failover', 'orders', '--reason', 'primary unreachable'], { answer: 'Yes' });
    expect(r.code).toBe(0);
    expect(d.sfn.executions).toHaveLength(1);
  });

  it('starts the execution with a manual trigger and follows it step by step, each step in its own words; SUCCEEDED exits 0', async () => {
    const d = await deployed();
    const r = await d.run(['failover', 'orders', '--reason', 'primary unreachable', '--yes']);
    expect(r.stderr).not.toContain('failoverctl:');
    expect(r.code).toBe(0);
    const [run] = d.sfn.executions;
    expect(run.name).toBe(NAME);
    expect(run.input).toEqual({ group: 'orders', reason: 'primary unreachable', trigger: { type: 'manual', by: USER, at: '2026-01-01T00:00:00.000Z' }, mode: 'failover' });

    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([`Started ${run.executionArn}`, `  ${consoleUrl(run.executionArn)}`]);
    const steps = stepLines(r.stdout);
    // Every sentence a step said, in order, polls that said nothing new folded; then the outcome, the
    // notification and the record.
    const loss = steps.find((l) => l.label === 'loss');
    expect(steps.slice(0, -3).filter((l) => l !== loss).map(({ label, text }) => ({ label, text }))).toEqual(folded(stepSentences(run)));
    // The loss line is the bound the history item's data-loss estimate rests on.
    const stored = await historyOf(d);
    expect(loss?.text.startsWith(`the replica had every write up to ${stored!.dataLoss!.replicatedThrough} (`), loss?.text).toBe(true);
    expect(steps.slice(-3)).toEqual([
      { label: 'outcome', duration: '-', text: 'SUCCEEDED' },
      { label: 'notify', duration: '-', text: 'notification sent' },
      { label: 'record', duration: '-', text: 'history item stored (SUCCEEDED), lock released' },
    ]);
    // The fence comes before the promotion, the promotion before the DNS change.
    const first = (label: string) => steps.findIndex((s) => s.label === label);
    expect(first('fence')).toBeLessThan(first('fence-db'));
    expect(first('fence-db')).toBeLessThan(first('promote'));
    expect(first('promote')).toBeLessThan(first('dns'));

    const item = await historyOf(d);
    expect(item.executionArn).toBe(run.executionArn);
    expect(r.stdout).toContain(
      `\nSUCCEEDED: ${item.summary}\n  RTO ${formatDuration(item.rtoSeconds)}   data loss up to ${formatDuration(item.dataLossSeconds)} (estimate, an upper bound)   notification sent\n  ${consoleUrl(run.executionArn)}\n`,
    );
  });

  it('a fence never confirmed: the failure, the outcome, exit 1 with the error from DescribeExecution; the polls folded', async () => {
    const d = await deployed((x) => x.drill.account.setBehavior(INSTANCE, { stopNeverCompletes: true }));
    const r = await d.run(['failover', 'orders', '--reason', 'primary unreachable', '--yes']);
    expect(r.code).toBe(1);
    const [run] = d.sfn.executions;
    const failed = run.events.find((e) => e.type === 'LambdaFunctionFailed')!.lambdaFunctionFailedEventDetails!;
    expect(failed.error).toBe('FenceNotConfirmed');

    const steps = stepLines(r.stdout);
    const at = steps.findIndex((s) => s.text.startsWith('CheckFence failed: '));
    expect(steps.slice(at, at + 2)).toEqual([
      { label: 'fence', duration: '-', text: `CheckFence failed: FenceNotConfirmed: ${causeText(failed.cause)}` },
      { label: 'outcome', duration: '-', text: 'FENCE_FAILED' },
    ]);
    // CheckFence ran every poll for two minutes; each sentence it repeated is printed once.
    const checks = run.events.filter((e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'CheckFence').length;
    expect(checks).toBeGreaterThan(10);
    expect(steps.filter((s) => s.label === 'fence').length).toBeLessThan(5);

    const item = await historyOf(d);
    expect(item.outcome).toBe('FENCE_FAILED');
    expect(r.stdout).toContain(`\nFENCE_FAILED: ${item.summary}\n  RTO -   no data loss: nothing was promoted   notification sent\n  execution FAILED: FenceFailed\n`);
  });

  it('a step that failed and then succeeded on retry still gets its line', async () => {
    // AcquireLock's function dies once (Lambda.Unknown is retried), then takes the lock.
    const d = await deployed((x) => x.drill.injectTaskFaults([{ state: 'AcquireLock', when: 'before' }]));
    const r = await d.run(['failover', 'orders', '--reason', 'x', '--yes']);
    expect(r.code).toBe(0);
    const [run] = d.sfn.executions;
    expect(run.events.filter((e) => e.type === 'LambdaFunctionScheduled' && e.lambdaFunctionScheduledEventDetails?.resource?.includes('acquirelock'))).toHaveLength(2);
    const steps = stepLines(r.stdout);
    const at = steps.findIndex((s) => s.label === 'lock');
    expect(steps[at]).toEqual({ label: 'lock', duration: '-', text: 'AcquireLock failed: Lambda.Unknown: the function of AcquireLock died before starting (drill fault)' });
    expect(steps[at + 1]).toMatchObject({ label: 'lock', text: stepSentences(run).find((s) => s.label === 'lock')!.text });
  });

  it('an execution that fails with InvalidInput (a group the deployed config lacks): its error, no history lookup, exit 1', async () => {
    // The operator's config has a group "billing" that was never deployed.
    const raw = JSON.parse(readFileSync(CONFIG, 'utf8'));
    const orders = raw.groups[0];
    raw.groups.push({
      ...orders,
      name: 'billing',
      primary: { instanceId: 'i-0b0b0b0b0b0b0b0b0', region: 'us-east-1' },
      replica: { ...orders.replica, dbInstanceIdentifier: 'billing-replica', source: 'arn:aws:rds:us-east-1:123456789012:db:billing-primary-db' },
      dns: { ...orders.dns, records: [{ name: 'db.billing.example.com', type: 'CNAME', ttl: 30, target: 'replicaEndpoint' }] },
      alarms: [],
    });
    const d = await deployed(undefined, JSON.stringify(raw));
    const r = await d.run(['failover', 'billing', '--reason', 'x', '--yes']);
    expect(r.code).toBe(1);
    const [run] = d.sfn.executions;
    expect(run.error).toBe('InvalidInput');
    expect(r.stdout).toContain(`\nFAILED: InvalidInput: ${causeText(run.cause)}\n  execution FAILED: InvalidInput\n`);
    expect(causeText(run.cause)).toContain('billing');
    expect(r.stdout).not.toContain('no history item found');
  });

  it('--json: no live lines, one result object with the history item', async () => {
    const d = await deployed();
    const r = await d.run(['failover', 'orders', '--reason', 'primary unreachable', '--yes', '--json']);
    expect(r.code).toBe(0);
    const [run] = d.sfn.executions;
    expect(JSON.parse(r.stdout)).toEqual({
      group: 'orders',
      executionArn: run.executionArn,
      executionName: NAME,
      consoleUrl: consoleUrl(run.executionArn),
      local: false,
      status: 'SUCCEEDED',
      outcome: 'SUCCEEDED',
      error: null,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: new Date(run.stoppedAt).toISOString(),
      history: await historyOf(d),
    });
  });

  it('ABORTED is not a success: exit 1', async () => {
    const d = await deployed((x) => x.drill.account.setReplicationDelay(REPLICA, 120));
    const r = await d.run(['failover', 'orders', '--reason', 'x', '--yes']);
    expect(r.code).toBe(1);
    const item = await historyOf(d);
    expect(item.outcome).toBe('ABORTED');
    expect(r.stdout).toContain(`\nABORTED: ${item.summary}\n`);
  });

  it('--dry-run needs no confirmation and exits 0 on DRY_RUN, listing what a real run would do', async () => {
    const d = await deployed();
    const r = await d.run(['failover', 'orders', '--reason', 'game day', '--dry-run'], { tty: { stdin: false } });
    expect(r.code).toBe(0);
    expect(d.sfn.executions[0].input).toMatchObject({ dryRun: true });
    expect(r.stderr).toContain('Dry run of a failover of orders: every step is checked, nothing is changed');
    const item = await historyOf(d);
    expect(item.plannedActions.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(`\nDRY_RUN: ${item.summary}\n`);
    expect(r.stdout).toContain(`  a real run would:\n${item.plannedActions.map((a) => `    ${a}\n`).join('')}`);
    expect(d.drill.account.instance(INSTANCE)?.state).toBe('running');
  });

  it('explicit --state-machine-arn and --table: no CloudFormation; on a terminal, colour and a live status line', async () => {
    const d = await deployed();
    const r = await d.run(['failover', 'orders', '--reason', 'x', '--yes', '--state-machine-arn', d.drill.stateMachineArn, '--table', d.drill.tableName], {
      tty: { stdin: true, stdout: true },
    });
    expect(r.code).toBe(0);
    expect(d.cfn).not.toHaveReceivedAnyCommand();
    // Between two polls, the state the execution is in, dimmed, rewritten in place.
    expect(r.stdout).toMatch(/\r\u001b\[K\u001b\[2m +\+[\dms. ]+ {2}CheckPromotion…\u001b\[22m\r\u001b\[K/);
    expect(r.stdout).toContain(`\u001b[1m\u001b[32mSUCCEEDED\u001b[39m\u001b[22m: ${(await historyOf(d)).summary}`);
  });
});
