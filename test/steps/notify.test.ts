/**
 * Step 7a, notify: publish the execution's record to the SNS topic. A failed notification never fails the
 * failover (it is reported back), except a throttle, which the state machine retries.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AuthorizationErrorException,
  InternalErrorException,
  NotFoundException,
  PublishCommand,
  SNSClient,
  ThrottledException,
  type PublishCommandInput,
} from '@aws-sdk/client-sns';
import { executionConsoleUrl, run } from '../../lambdas/steps/notify';
import { buildHistoryItem } from '../../lambdas/core/history';
import type { WorkflowState } from '../../lambdas/core/workflow-state';
import { parseConfig } from '../../lambdas/core/config';
import { INSTANCE, OLD_PRIMARY, PROBE_EXECUTION, PROMOTED, at, deployed, ordersGroup, ordersInput, probePlanFor, succeededState } from '../support/fixtures';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:failover-events';
const EXECUTION = PROBE_EXECUTION;

const group = ordersGroup();

/** The probe's plan (fixtures: triggered at(-10), started at T0). */
const plan = (dryRun = false) => probePlanFor(group, { dryRun });

/** A failover that went through, with every step's timing: lag 2 s, one CNAME flipped. */
function succeeded(): WorkflowState {
  return succeededState(plan(), {
    lagSeconds: 2,
    dnsChanges: [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: { ttl: 300, values: [OLD_PRIMARY] }, after: [PROMOTED] }],
  });
}

describe('notify', () => {
  const sns = mockClient(SNSClient);
  const clock = { ms: at(40) };
  const logs: Array<Record<string, unknown>> = [];
  const deps = {
    ...deployed(group),
    now: () => clock.ms,
    sns: () => new SNSClient({ region: 'us-east-1' }),
    topicArn: () => TOPIC,
    log: (entry: Record<string, unknown>) => void logs.push(entry),
  };

  afterEach(() => {
    sns.reset();
    logs.length = 0;
  });

  /** The PublishCommand input the step sent. */
  const published = (): PublishCommandInput => sns.commandCalls(PublishCommand)[0].args[0].input;
  const record = (message: string) => JSON.parse(message.split('--- record (JSON) ---\n')[1]) as Record<string, unknown>;

  it('publishes the outcome, RTO, data loss, every step, the console link and the JSON record to the topic', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'b1c2d3e4-0000-4000-8000-000000000001' });

    // Act
    const result = await run({ state: succeeded() }, deps);

    // Assert
    expect(result).toEqual({ notified: true, messageId: 'b1c2d3e4-0000-4000-8000-000000000001', at: at(40) });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, {
      TopicArn: TOPIC,
      // RTO: trigger (T0 - 10 s) to DNS INSYNC (T0 + 37.5 s).
      Subject: 'failover orders: SUCCEEDED in 47.5 s',
      MessageAttributes: {
        group: { DataType: 'String', StringValue: 'orders' },
        outcome: { DataType: 'String', StringValue: 'SUCCEEDED' },
        rtoSeconds: { DataType: 'Number', StringValue: '47.5' },
      },
    });
    // What the person on call reads, above the JSON.
    const [text, json] = published().Message!.split('\n--- record (JSON) ---\n');
    expect(text).toBe(
      [
        'Group:     orders',
        'Outcome:   SUCCEEDED',
        `Summary:   failed over orders: ${INSTANCE} fenced (stopped), orders-replica promoted, 1 DNS record(s) INSYNC`,
        'Trigger:   probe: 3 consecutive failed probe rounds',
        'Mode:      failover',
        'RTO:       47.5 s',
        'Data loss: up to 2 s (estimate: the replica lag when assessed, recorded by an earlier version that did not bound the loss)',
        `Execution: ${EXECUTION}`,
        `Console:   https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION}`,
        '',
        'Steps:',
        '  lock        0.2 s  took the lock of orders until 2026-03-01T13:05:00.000Z',
        '  assess      0.5 s  replica orders-replica is available, lag 2 s within 30 s',
        `  fence         6 s  ${INSTANCE} confirmed stopped`,
        '  promote      21 s  orders-replica promoted: available, no longer a replica',
        '  dns         6.5 s  1 record(s) INSYNC',
        '',
        'DNS:',
        `  CNAME db.orders.example.com TTL 30: ${OLD_PRIMARY} -> ${PROMOTED}`,
        '',
      ].join('\n'),
    );
    // The same data for machines: the history item as the record step stores it, and the console link.
    expect(JSON.parse(json)).toEqual({
      ...buildHistoryItem(succeeded(), group, at(40)),
      consoleUrl: `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION}`,
    });
    expect(record(published().Message!)).toMatchObject({
      group: 'orders',
      executionArn: EXECUTION,
      outcome: 'SUCCEEDED',
      rtoSeconds: 47.5,
      dataLossSeconds: 2,
      error: null,
      fence: { instanceId: INSTANCE, region: 'us-east-1', finalState: 'stopped', confirmed: true, method: 'force-stop' },
      dnsChanges: [{ name: 'db.orders.example.com', type: 'CNAME', ttl: 30, before: [OLD_PRIMARY], after: [PROMOTED], applied: true }],
    });
  });

  it('lists every writer and names the attestation: who, when, why, and which writers it passed', async () => {
    // Arrange: a manual failover whose region was dark; the operator attested.
    sns.on(PublishCommand).resolves({ MessageId: 'm-9' });
    const base = succeeded();
    const attestation = { by: 'alice@ops-1', reason: 'us-east-1 is dark; the instance was terminated from the console', at: '2026-03-01T11:59:30.000Z' };
    const state: WorkflowState = {
      ...base,
      plan: { ...base.plan, trigger: { type: 'manual', by: 'alice@ops-1' }, attestation },
      fence: {
        ...base.fence!,
        state: 'unreachable',
        instances: [{ id: INSTANCE, state: 'unreachable', fenced: false, method: 'attested', seen: false, stops: 0, reason: 'EC2 in us-east-1 could not be reached' }],
        attested: [INSTANCE],
      },
      databaseFence: {
        id: 'orders-primary', region: 'us-east-1', status: 'unreachable', phase: 'confirmed', method: 'attested', confirmed: true,
        dryRun: false, polls: 0, startedAt: at(8), endedAt: at(8.5), reason: 'RDS in us-east-1 could not be reached; passed on the attestation',
      },
    };

    // Act
    await run({ state }, deps);

    // Assert
    const message = published().Message!;
    expect(message).toContain(`Attested:  by alice@ops-1 at 2026-03-01T11:59:30.000Z that the writers are fenced by other means: ${attestation.reason}\n`);
    expect(message).toContain(
      ['Writers:', `  ec2 ${INSTANCE} (us-east-1): unreachable, NOT fenced (attested)`, '  rds orders-primary (us-east-1): unreachable, NOT fenced (attested)'].join('\n'),
    );
    expect(message).toContain(`Summary:   failed over orders: ${INSTANCE} attested, not confirmed (unreachable), old database orders-primary attested, not confirmed, orders-replica promoted, 1 DNS record(s) INSYNC; NOT confirmed by the controller, passed on the attestation of alice@ops-1 (${attestation.reason}): ${INSTANCE}, orders-primary\n`);
    expect(record(message)).toMatchObject({
      attestation,
      fence: { writers: [{ kind: 'ec2', id: INSTANCE, fenced: false, method: 'attested' }, { kind: 'rds', id: 'orders-primary', fenced: false, method: 'attested' }] },
    });
  });

  it('names the error of a failed execution in the subject and the message', async () => {
    // Arrange: the fence was not confirmed; Step Functions hands the error over as Error/Cause.
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const { plan: p, lock, assess, fence } = succeeded();
    const cause = `${INSTANCE} still stopping 121 s after StopInstances (timeout 120 s); not promoting`;
    const state: WorkflowState = {
      plan: p,
      lock,
      assess,
      fence: { ...fence!, confirmed: false, state: 'stopping', endedAt: undefined, reason: `${INSTANCE} is stopping, waiting for stopped` },
      outcome: 'FENCE_FAILED',
      error: { Error: 'FenceNotConfirmed', Cause: JSON.stringify({ errorType: 'FenceNotConfirmed', errorMessage: cause, trace: [] }) },
    };

    // Act
    await run({ state }, deps);

    // Assert
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Subject: 'failover orders: FENCE_FAILED' });
    // No RTO, so no rtoSeconds attribute.
    expect(published().MessageAttributes).toEqual({
      group: { DataType: 'String', StringValue: 'orders' },
      outcome: { DataType: 'String', StringValue: 'FENCE_FAILED' },
    });
    const message = published().Message!;
    expect(message).toContain(`\nError: FenceNotConfirmed: ${cause}\n`);
    expect(message).toContain('\nRTO:       n/a\n');
    expect(message).toMatch(new RegExp(`\\n  fence +\\(open\\)  ${INSTANCE} is stopping, waiting for stopped\\n`));
    expect(record(message)).toMatchObject({ outcome: 'FENCE_FAILED', rtoSeconds: null, error: { name: 'FenceNotConfirmed', cause } });
  });

  it('does not call the replica lag data loss when nothing was promoted', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const { plan: p, lock, assess } = succeeded();
    const state: WorkflowState = {
      plan: p,
      lock,
      assess: { ...assess!, decision: 'abort', lagSeconds: 120, reason: 'not promoting: replica lag 120 s exceeds maxLagSeconds 30 s' },
      outcome: 'ABORTED',
    };

    await run({ state }, deps);

    expect(published().Message).toContain('\nData loss: none (nothing was promoted)\n');
    expect(record(published().Message!)).toMatchObject({ dataLossSeconds: null, dataLoss: { estimatedSeconds: null, reason: 'none: nothing was promoted' } });
  });

  it('says the estimate, its basis, and what happened to each candidate replica', async () => {
    // Arrange: two candidates; orders-replica chosen and promoted, known to have everything up to at(-62).
    sns.on(PublishCommand).resolves({ MessageId: 'm-4' });
    const two = parseConfig({ groups: [{ ...ordersInput(), additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-east', region: 'us-east-2' }] }] }).groups[0];
    const base = succeededState(probePlanFor(two), { lagSeconds: 2, dnsChanges: [] });
    const state: WorkflowState = {
      ...base,
      assess: {
        ...base.assess!,
        chosen: { id: 'orders-replica', region: 'us-west-2' },
        candidates: [
          { id: 'orders-replica', region: 'us-west-2', engine: 'postgres', verdict: 'pass', reason: 'ReplicaLag 2 s in the minute from 11:59:00Z', lagSeconds: 2, replicatedThrough: at(-62), basis: 'ReplicaLag 2 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:58Z' },
          { id: 'orders-replica-east', region: 'us-east-2', engine: 'postgres', verdict: 'force', reason: 'replica lag 40 s of orders-replica-east exceeds maxLagSeconds 30 s', lagSeconds: 40, replicatedThrough: at(-100), basis: 'b' },
        ],
      },
    };

    // Act
    await run({ state }, { ...deps, ...deployed(two) });

    // Assert
    const message = published().Message!;
    expect(message).toContain(
      '\nData loss: up to 70 s (estimate: writes committed between 11:58:58Z and 12:00:08Z: ReplicaLag 2 s in the minute from 11:59:00Z: orders-replica had replayed every commit up to 11:58:58Z; ' +
        `the primary ${INSTANCE} was confirmed stopped (recorded before the old database was fenced: other clients of it are not counted) (the source may have stopped earlier: the workflow only knows when that was confirmed))\n`,
    );
    expect(message).toContain(
      '\nReplicas:\n' +
        '  * orders-replica (us-west-2, postgres): chosen, of 2 candidates the one that loses the least among those the gate lets through: ReplicaLag 2 s in the minute from 11:59:00Z\n' +
        '  - orders-replica-east (us-east-2, postgres): passed over: replica lag 40 s of orders-replica-east exceeds maxLagSeconds 30 s; left untouched: it still replicates from the old database, so it no longer protects anything\n',
    );
    expect(record(message)).toMatchObject({ dataLossSeconds: 70, replicas: [{ id: 'orders-replica', chosen: true, promoted: true }, { id: 'orders-replica-east', chosen: false, promoted: false }] });
  });

  it('says what a real run would do in a dry run', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const s = succeeded();
    const state: WorkflowState = { ...s, plan: plan(true), outcome: 'DRY_RUN' };

    await run({ state }, deps);

    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Subject: 'failover orders: DRY_RUN [dry run]' });
    expect(published().Message).toContain(
      [
        'A real run would:',
        `  - force-stop EC2 instance ${INSTANCE} in us-east-1`,
        '  - fence the old database orders-primary in us-east-1: only the deny-all security group, then reboot it',
        '  - re-check every fence from AWS',
        '  - promote RDS read replica orders-replica in us-west-2',
        '  - re-check every fence again before the DNS change',
        `  - UPSERT CNAME db.orders.example.com (TTL 30) from ${OLD_PRIMARY} to ${PROMOTED}`,
      ].join('\n'),
    );
  });

  it.each([
    [
      'AuthorizationErrorException',
      () => new AuthorizationErrorException({ $metadata: { httpStatusCode: 403 }, message: 'User: arn:aws:sts::123456789012:assumed-role/notify is not authorized to perform: SNS:Publish' }),
      'AuthorizationErrorException: User: arn:aws:sts::123456789012:assumed-role/notify is not authorized to perform: SNS:Publish',
    ],
    ['NotFoundException', () => new NotFoundException({ $metadata: { httpStatusCode: 404 }, message: 'Topic does not exist' }), 'NotFoundException: Topic does not exist'],
  ])('reports %s as not notified, without throwing', async (_, fault, error) => {
    // Arrange
    sns.on(PublishCommand).rejects(fault());

    // Act
    const result = await run({ state: succeeded() }, deps);

    // Assert
    expect(result).toEqual({ notified: false, error, at: at(40) });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it.each([
    ['ThrottledException', () => new ThrottledException({ $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' })],
    ['InternalErrorException', () => new InternalErrorException({ $metadata: { httpStatusCode: 500 }, message: 'internal error' })],
  ])('throws TransientAwsError on %s, so the state machine retries', async (name, fault) => {
    sns.on(PublishCommand).rejects(fault());

    const error = await run({ state: succeeded() }, deps).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(error?.name).toBe('TransientAwsError');
    expect(error?.message).toContain(`SNS Publish failed: ${name}:`);
  });

  it('with recordLost, logs the record through deps.log and says so in the message', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-4' });
    const recordLost = { Error: 'StoreUnavailable', Cause: '{"errorMessage":"DynamoDB PutItem (history) failed: ResourceNotFoundException: table not found"}' };

    // Act
    const result = await run({ state: succeeded(), recordLost }, deps);

    // Assert
    expect(result.notified).toBe(true);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      level: 'ERROR',
      message: 'history item not stored',
      error: recordLost,
      record: { group: 'orders', executionArn: EXECUTION, outcome: 'SUCCEEDED', rtoSeconds: 47.5 },
    });
    expect(published().Message).toContain('THE HISTORY ITEM COULD NOT BE STORED (StoreUnavailable); this message is the record.');
    expect(record(published().Message!)).toMatchObject({ executionArn: EXECUTION, outcome: 'SUCCEEDED' });
  });

  it('logs nothing when the record was stored', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-5' });

    await run({ state: succeeded() }, deps);

    expect(logs).toEqual([]);
    expect(published().Message).not.toContain('COULD NOT BE STORED');
  });
});

describe('executionConsoleUrl', () => {
  it.each([
    [EXECUTION, `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${EXECUTION}`],
    // The execution's region, wherever the notification is sent from.
    [
      'arn:aws:states:ap-southeast-2:123456789012:execution:FailoverWorkflow:probe-orders-20260101T000010Z',
      'https://ap-southeast-2.console.aws.amazon.com/states/home?region=ap-southeast-2#/v2/executions/details/arn:aws:states:ap-southeast-2:123456789012:execution:FailoverWorkflow:probe-orders-20260101T000010Z',
    ],
  ])('links %s to its page in the Step Functions console', (arn, url) => {
    expect(executionConsoleUrl(arn)).toBe(url);
  });

  it.each([
    ['another partition, whose console lives elsewhere', 'arn:aws-cn:states:cn-north-1:123456789012:execution:M:e'],
    ['not an execution', 'arn:aws:states:us-east-1:123456789012:stateMachine:M'],
    ['not an ARN', 'drill-1'],
  ])('gives no link for %s', (_, arn) => {
    expect(executionConsoleUrl(arn)).toBeUndefined();
  });
});
