/**
 * Detection and triggers: the probe function on a one-minute schedule (it probes every group at the
 * group's interval inside each invocation) and, for groups that name CloudWatch alarms, a rule that
 * starts the workflow when one of them goes to ALARM.
 */
import { Aws, Duration, NestedStack, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { shardGroups } from '../../lambdas/core/probe-shards';
import { INVOCATION_WINDOW_MS, type ProbeGroup } from '../../lambdas/probe/run-probes';
import type { FailoverConfig } from '../../lambdas/core/config';
import { controllerFunction } from './controller-function';
import { grantItemAccess } from './store-table';
import { grantPublish } from './topic-access';
import { placeInProbeVpc } from './workflow';

/** The groups the probe function watches, with the fields detection needs. */
export function probeGroupsOf(config: FailoverConfig): ProbeGroup[] {
  return config.groups.filter((g) => g.probes.length > 0).map(({ name, probes, detection }) => ({ name, probes, detection }));
}

/** What the probe function's bundle carries: the probed groups' settings (an inject file, see controllerFunction's `bake`). */
export function probeFunctionBake(groups: ProbeGroup[]): { FAILOVER_PROBE_GROUPS: ProbeGroup[] } {
  return { FAILOVER_PROBE_GROUPS: groups };
}

/**
 * The probe function's memory. Its vCPU share is memory / 1,769 MB (Lambda Developer Guide, "Configure
 * Lambda function memory": "at 1,769 MB, a function has the equivalent of one vCPU"): 128 MB is 0.072
 * vCPU, enough for a shard of PROBES_PER_INVOCATION probes spread over the interval (measured by
 * `npm run bench`, probeRound: CPU time and peak memory per shard, docs/cost.md). An always-on
 * function at 128 MB is half the price of one at 256 MB.
 */
export const PROBE_MEMORY_MB = 128;

export interface DetectionProps {
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
  /** Where the rules' targets put an event they could not deliver, and the probe function one it dropped. */
  readonly deadLetterQueue: sqs.IQueue;
}

export class Detection extends Construct {
  /** The probe function; undefined when no group has probes. */
  public readonly probeFunction?: NodejsFunction;
  /** One schedule per shard of the probed groups (run-probes.ts, shardGroups), each invoking the function with `{ "shard": i }`. */
  public readonly schedules: events.Rule[] = [];
  /** One rule per group that names alarms. */
  public readonly alarmRules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: DetectionProps) {
    super(scope, id);
    const { config, table, topic, stateMachine, deadLetterQueue } = props;

    const probed = probeGroupsOf(config);
    if (probed.length > 0) {
      const longestProbeMs = Math.max(...probed.flatMap((g) => g.probes.map((p) => p.timeoutMs)));
      this.probeFunction = controllerFunction(this, 'ProbeFunction', {
        source: 'probe/run-probes',
        description: 'failover-controller: probes the primaries and starts the workflow when one is down',
        // The invocation's window, its last round's probes, and a margin (which also covers the round's
        // spread, MAX_SPREAD_MS: at most 3 s).
        timeout: Duration.seconds(Math.ceil((INVOCATION_WINDOW_MS + longestProbeMs + 10_000) / 1000)),
        environment: { TABLE_NAME: table.tableName, STATE_MACHINE_ARN: stateMachine.stateMachineArn, TOPIC_ARN: topic.topicArn },
        logRetention: logs.RetentionDays.ONE_MONTH,
        // The probe settings travel inside the bundle: no size limit, nothing in the environment.
        bake: probeFunctionBake(probed),
      });
      (this.probeFunction.node.defaultChild as lambda.CfnFunction).memorySize = PROBE_MEMORY_MB;
      placeInProbeVpc(this.probeFunction, config);
      // The probe counters (read, conditional put) and the group state (read).
      grantItemAccess(table, this.probeFunction, 'GetItem', 'PutItem');
      stateMachine.grantStartExecution(this.probeFunction);
      grantPublish(topic, this.probeFunction);

      // EventBridge schedules go down to one minute; the function covers the minute itself. A missed
      // invocation is not retried: the next one is due within the minute anyway. That holds twice: for
      // EventBridge's delivery to Lambda (the target's retry policy) and for Lambda's own queue of
      // asynchronous invocations, which by default retries a failed invocation twice and keeps an event
      // up to six hours (AWS::Lambda::EventInvokeConfig; Lambda Developer Guide, "How Lambda handles
      // errors and retries with asynchronous invocation": throttled events are retried until they are too
      // old). 60 s is the shortest age Lambda accepts. What either drops goes to the dead-letter queue,
      // whose alarm says so (observability.ts): EventBridge's undelivered events, and Lambda's record of
      // a discarded invocation (on-failure destination, "Capturing records of Lambda asynchronous
      // invocations").
      // Scale out, not up: each shard of at most PROBES_PER_INVOCATION probes has its own schedule and
      // invocations, with the same code and the same baked groups (the function computes the same shards).
      const shards = shardGroups(probed).length;
      for (let shard = 0; shard < shards; shard++) {
        this.schedules.push(
          new events.Rule(this, shard === 0 ? 'ProbeSchedule' : `ProbeSchedule${shard}`, {
            description: `failover-controller: one probe invocation a minute, shard ${shard + 1} of ${shards}`,
            schedule: events.Schedule.rate(Duration.minutes(1)),
            targets: [
              new targets.LambdaFunction(this.probeFunction, {
                event: events.RuleTargetInput.fromObject({ shard }),
                retryAttempts: 0,
                maxEventAge: Duration.minutes(1),
                deadLetterQueue,
              }),
            ],
          }),
        );
      }
      this.probeFunction.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1), onFailure: new destinations.SqsDestination(deadLetterQueue) });
      // Concurrency of its own, so that the account's other functions cannot starve detection during an
      // outage (config.ts, probeFunction.reservedConcurrency: two invocations of a shard overlap at most),
      // for each shard.
      const reserved = config.probeFunction.reservedConcurrency;
      if (reserved !== 'none') (this.probeFunction.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = reserved * shards;
    }

    // The alarm rules: one per group that names alarms. A config of many groups puts them in nested
    // stacks of ALARM_RULES_PER_NESTED_STACK (CloudFormation: 500 resources per stack, "Understand
    // CloudFormation quotas"); a small one keeps them here. Each is named `<alarmRulePrefix>-<group>`
    // (EventBridge: a rule name has at most 64 characters), so that one statement of the dead-letter
    // queue's policy lets all of them send to it: an SQS policy holds at most 20 statements and 8,192
    // bytes (SQS Developer Guide, "Amazon SQS policy quotas"), one per rule would stop at 17 groups.
    // EventBridge allows 300 rules per event bus by default (adjustable; 100 in af-south-1 and
    // eu-south-1: EventBridge User Guide, "Amazon EventBridge quotas"): the README says so.
    const alarmed = config.groups.filter((g) => g.alarms.length > 0);
    const prefix = alarmRulePrefix(this);
    const shardOf = (index: number): Construct => {
      if (alarmed.length <= ALARM_RULES_IN_MAIN_STACK) return this;
      const id = `AlarmTriggers${Math.floor(index / ALARM_RULES_PER_NESTED_STACK) + 1}`;
      return this.node.tryFindChild(id) as Construct ?? new NestedStack(this, id, { description: 'failover-controller: alarm rules that start failovers' });
    };
    if (alarmed.length > 0) allowAlarmRulesToDeadLetter(deadLetterQueue, prefix);
    alarmed.forEach((group, index) => {
      const scope = shardOf(index);
      // The queue as the rule's stack sees it, imported: CDK would otherwise add one policy statement per rule.
      const queue = importedQueue(scope, deadLetterQueue);
      // Only this account's alarms of that name, in this region: an event names its alarm by ARN in
      // `resources` and carries the `account` it comes from (CloudWatch User Guide, "Alarm events and
      // EventBridge": `"account": "123456789012"`, `"resources": ["arn:aws:cloudwatch:us-east-1:
      // 123456789012:alarm:ServerCpuTooHigh"]`). A same-named alarm of another account, whose events a bus
      // policy lets in, or of another region forwarded here, matches the name but not the ARN.
      const alarmArns = group.alarms.map((name) => `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${name}`);
      const rule = new events.Rule(scope, `AlarmTrigger-${group.name}`, {
        ruleName: `${prefix}-${group.name}`,
        description: `failover-controller: start a failover of ${group.name} when one of its alarms goes to ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          account: [Aws.ACCOUNT_ID],
          region: [Aws.REGION],
          resources: alarmArns,
          detail: { alarmName: group.alarms, state: { value: ['ALARM'] } },
        },
      });
      rule.addTarget(
        new targets.SfnStateMachine(stateMachine, {
          input: events.RuleTargetInput.fromObject({
            group: group.name,
            reason: `CloudWatch alarm ${events.EventField.fromPath('$.detail.alarmName')} is in ALARM`,
            trigger: {
              type: 'alarm',
              alarmName: events.EventField.fromPath('$.detail.alarmName'),
              at: events.EventField.fromPath('$.time'),
              stateReason: events.EventField.fromPath('$.detail.state.reason'),
            },
          }),
          // A failed StartExecution is retried, but an alarm that could not start a failover within five
          // minutes goes to the dead-letter queue (and its alarm to on-call) rather than starting one late,
          // on a state of the alarm that may have passed. EventBridge's default keeps trying for 24 hours
          // (EventBridge User Guide, "Event retry policy and using dead-letter queues").
          retryAttempts: 3,
          maxEventAge: Duration.minutes(5),
          deadLetterQueue: queue,
        }),
      );
      this.alarmRules.push(rule);
    });
  }
}

/** Up to this many alarm rules stay in the controller's own stack (about 100 resources besides them). */
export const ALARM_RULES_IN_MAIN_STACK = 100;
/** Alarm rules per nested stack beyond that: each rule is one resource, well under 500. */
export const ALARM_RULES_PER_NESTED_STACK = 250;

/**
 * `fc-<10 hex digits of the stack name's SHA-256>`: the prefix of every alarm rule's name, short enough
 * that a 40-character group name fits EventBridge's 64 characters, and distinct per stack name.
 */
export function alarmRulePrefix(scope: Construct): string {
  return `fc-${createHash('sha256').update(Stack.of(scope).stackName).digest('hex').slice(0, 10)}`;
}

/** One dead-letter queue statement for every alarm rule of this stack (their names share the prefix). */
function allowAlarmRulesToDeadLetter(queue: sqs.IQueue, prefix: string): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AlarmRulesSendUndeliveredEvents',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${prefix}-*` },
      },
    }),
  );
}

/** The dead-letter queue imported once into `scope` (in a nested stack, its ARN becomes one parameter). */
function importedQueue(scope: Construct, queue: sqs.IQueue): sqs.IQueue {
  return (scope.node.tryFindChild('DeadLetterQueue') as sqs.IQueue | undefined) ?? sqs.Queue.fromQueueArn(scope, 'DeadLetterQueue', queue.queueArn);
}
