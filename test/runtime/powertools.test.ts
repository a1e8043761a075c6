/**
 * The Lambda handlers' logging and metrics (lambdas/runtime/powertools.ts): every handler-level line is
 * one JSON object on stdout (or stderr) with the group and, in the workflow, the execution ARN; metrics are EMF
 * lines with exactly the controller's dimensions. Called through the real handlers, stdout captured.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { resolve } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../../lambdas/core/config';
import { groupDigests, groupsByName } from '../../lambdas/core/deployed-group';
import { executionContext, lambdaMetrics, logFor, SERVICE_NAME } from '../../lambdas/runtime/powertools';
import { handler as notifyHandler } from '../../lambdas/steps/notify';
import { handler as planHandler, run as plan, type PlanEvent } from '../../lambdas/steps/plan';

const EXECUTION = 'arn:aws:states:us-west-2:111122223333:execution:FailoverWorkflow:manual-orders-1';
const config = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
const planEvent = (group = 'orders'): PlanEvent => ({
  input: { group, reason: 'drill', trigger: { type: 'manual' } },
  groupDigests: groupDigests(config.groups),
  execution: { id: EXECUTION, name: 'manual-orders-1' },
});
const context = { functionName: 'failover-plan', awsRequestId: 'c0ffee00-0000-4000-8000-000000000001', invokedFunctionArn: 'arn:aws:lambda:us-west-2:111122223333:function:failover-plan', memoryLimitInMB: '256', functionVersion: '$LATEST' };

/**
 * Every line written to stdout and stderr while the test runs (Powertools writes WARN and ERROR to
 * stderr; Lambda ships both to CloudWatch Logs), parsed: each must be one JSON object.
 */
let written: string[];
const lines = () => written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
beforeEach(() => {
  // What the bundler injects into every step function's bundle (lib/infra/controller-function.ts, bake).
  vi.stubGlobal('FAILOVER_GROUPS', groupsByName(config.groups));
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

describe('handler logs', () => {
  it("a workflow step's line is JSON with the service, the group, the execution ARN, the step and its result", async () => {
    // Act
    const result = await planHandler(planEvent(), context as never);

    // Assert
    expect(result.executionArn).toBe(EXECUTION);
    const [line, ...more] = lines();
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'step done',
      service: SERVICE_NAME,
      group: 'orders',
      executionArn: EXECUTION,
      step: 'plan',
      function_request_id: context.awsRequestId,
      result: expect.objectContaining({ executionName: 'manual-orders-1', dryRun: false, mode: 'failover' }),
    });
    expect(typeof line.timestamp).toBe('string');
  });

  it("a step that throws logs its error's name at ERROR, and the error still reaches Step Functions", async () => {
    const error = await planHandler(planEvent('nope'), context as never).then(
      () => undefined,
      (err: unknown) => err as Error,
    );

    expect(error?.name).toBe('InvalidInput');
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'ERROR', message: 'step failed', group: 'nope', executionArn: EXECUTION, step: 'plan', error: { name: 'InvalidInput', message: error!.message } }),
    ]);
  });

  it("the step core's own log lines (through deps.log) carry the group and the execution ARN too", async () => {
    // Arrange: the notify step with a record the store could not take, so it logs the record.
    vi.stubEnv('TOPIC_ARN', 'arn:aws:sns:us-west-2:111122223333:failover');
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const state = { plan: await plan(planEvent(), { now: () => Date.parse('2026-01-01T00:00:00Z'), groups: () => groupsByName(config.groups) }), outcome: 'ABORTED' as const };

    // Act
    await notifyHandler({ state, recordLost: { Error: 'StoreUnavailable', Cause: 'table not found' } });

    // Assert
    const logged = lines();
    expect(logged.map((l) => [l.level, l.message])).toEqual([
      ['ERROR', 'history item not stored'],
      ['INFO', 'step done'],
    ]);
    for (const l of logged) expect(l).toMatchObject({ service: SERVICE_NAME, group: 'orders', executionArn: EXECUTION });
    expect(logged[0]).toMatchObject({ error: { Error: 'StoreUnavailable' }, record: { executionArn: EXECUTION, outcome: 'ABORTED' } });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    sns.restore();
  });
});

describe('logFor', () => {
  it("maps the entry's level and keeps its fields; an entry's own group wins over the event's", () => {
    const log = logFor({ state: { plan: { group: { name: 'orders' }, executionArn: EXECUTION } } }, new Logger({ serviceName: SERVICE_NAME }));

    log({ level: 'WARN', message: 'probe round', group: 'billing', round: 'round failed: 2 of 3 probes failed' });
    log({ message: 'no level given' });

    expect(lines()).toEqual([
      expect.objectContaining({ level: 'WARN', message: 'probe round', group: 'billing', executionArn: EXECUTION, round: 'round failed: 2 of 3 probes failed' }),
      expect.objectContaining({ level: 'INFO', message: 'no level given', group: 'orders', executionArn: EXECUTION }),
    ]);
  });

  it.each([
    ['a step state', { plan: { group: { name: 'orders' }, executionArn: EXECUTION } }, { group: 'orders', executionArn: EXECUTION }],
    ['an action event', { action: 'check', state: { plan: { group: { name: 'orders' }, executionArn: EXECUTION } } }, { group: 'orders', executionArn: EXECUTION }],
    ['a notify event', { state: { plan: { group: { name: 'orders' }, executionArn: EXECUTION } } }, { group: 'orders', executionArn: EXECUTION }],
    ["the Plan step's event", planEvent(), { group: 'orders', executionArn: EXECUTION }],
    ['a malformed input', { input: { group: 42 }, execution: { id: EXECUTION } }, { executionArn: EXECUTION }],
    ['no event (the probe function)', undefined, {}],
  ])('finds the group and the execution in %s', (_, event, expected) => {
    expect(executionContext(event)).toEqual(expected);
  });
});

describe('lambdaMetrics', () => {
  it('prints one EMF line per document to stdout, with only the given dimensions (no service dimension) and no warning', () => {
    const now = Date.now();

    lambdaMetrics().emit({ timestamp: now, dimensions: { Group: 'orders', Outcome: 'SUCCEEDED' }, values: [{ name: 'Executions', unit: 'Count', value: 1 }] });
    lambdaMetrics().emit({ timestamp: now, dimensions: { Outcome: 'SUCCEEDED' }, values: [{ name: 'Executions', unit: 'Count', value: 1 }] });

    const emf = (dimensions: string[]) => ({ Timestamp: now, CloudWatchMetrics: [{ Namespace: 'FailoverController', Dimensions: [dimensions], Metrics: [{ Name: 'Executions', Unit: 'Count' }] }] });
    expect(lines()).toEqual([
      { _aws: emf(['Group', 'Outcome']), Group: 'orders', Outcome: 'SUCCEEDED', Executions: 1 },
      { _aws: emf(['Outcome']), Outcome: 'SUCCEEDED', Executions: 1 },
    ]);
  });

  it("passes Powertools' warnings (here: a timestamp CloudWatch would drop) to the log as WARN lines", () => {
    const longAgo = Date.parse('2020-01-01T00:00:00Z');

    lambdaMetrics().emit({ timestamp: longAgo, dimensions: { Group: 'orders' }, values: [{ name: 'ProbeRounds', unit: 'Count', value: 1 }] });

    expect(lines()).toEqual([
      expect.objectContaining({ level: 'WARN', service: SERVICE_NAME, message: expect.stringMatching(/will be skipped by Amazon CloudWatch/) }),
      expect.objectContaining({ ProbeRounds: 1, Group: 'orders' }),
    ]);
  });
});
