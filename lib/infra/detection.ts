/**
 * Detection and triggers: the probe function and what invokes it and, for groups that name CloudWatch
 * alarms, a rule that starts the workflow when one of them goes to ALARM.
 *
 * The probe function is invoked two ways, with the same code and the same baked groups. Each shard of
 * the probed groups has a one-minute schedule (`{ "shard": i }`): that invocation probes nothing; it
 * sends each round of the next clock minute to the rounds queue as a message
 * `{ "shard": i, "of": n, "roundAt": <epoch ms> }` delayed to its round's time. The queue's event source
 * invokes the function once per message, and that invocation runs that one round. When the rounds
 * cannot be sent, the scheduled invocation runs them itself, so its timeout still covers the minute.
 */
import { Aws, Duration, Fn, NestedStack, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { PROBE_MEMORY_MB, shardGroups, SHARDS_PER_ROUNDS_QUEUE } from '../../lambdas/core/probe-shards';
import { FALLBACK_WINDOW_MS, type ProbeGroup } from '../../lambdas/probe/run-probes';
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
 * How many times the rounds queue hands out a message before SQS moves it to the dead-letter queue. A
 * round is due at one instant, so every delivery after the first finds it past and is deleted by the
 * handler as stale: the second is there only so that a delivery the function never saw (SQS records a
 * message as received even when the consumer did not get it, and so advises against 1: SQS Developer
 * Guide, "Avoiding inconsistent message processing"), or one Lambda gave back after throttling it, is
 * not reported as lost. AWS advises at least 5 for Lambda ("Understanding SQS retries", Lambda Operator
 * Guide) to give a message more chances to be processed; a late round has no use for them. A message
 * the function fails twice goes to the dead-letter queue, whose alarm says so (observability.ts).
 */
export const ROUND_QUEUE_MAX_RECEIVES = 2;

/**
 * The invocations the rounds queue's event source may run at once, for each shard (its maximum
 * concurrency is this many times the shards): a shard has one message per round time, and a round's
 * invocation lasts about one round, so at most its tail overlaps the next round's.
 */
export const ROUND_INVOCATIONS_PER_SHARD = 2;

/**
 * How long the rounds queue keeps a message: its delay (a scheduled invocation queues the rounds of the
 * next clock minute, at most two minutes ahead: FALLBACK_WINDOW_MS), then ROUND_QUEUE_MAX_RECEIVES
 * visibility timeouts, then a minute for Lambda's next poll, rounded up to whole minutes (8 minutes
 * for a 134 s timeout). A message that expires is deleted without a trace (SQS removes it after the
 * retention period), so it must outlive its last receive for SQS to move it to the dead-letter queue
 * (at the receive after the last one allowed).
 */
export function roundsQueueRetention(visibilityTimeout: Duration): Duration {
  const seconds = Math.ceil(FALLBACK_WINDOW_MS / 1000) + ROUND_QUEUE_MAX_RECEIVES * visibilityTimeout.toSeconds() + 60;
  return Duration.minutes(Math.ceil(seconds / 60));
}

/**
 * The probe function's timeout, which is also the rounds queue's visibility timeout: what a scheduled
 * invocation that could not queue its rounds needs (its window, its last round's probes, and a margin
 * that also covers the round's spread, MAX_SPREAD_MS: at most 1.5 s). A queued round's invocation needs a
 * few seconds of it.
 */
export function probeFunctionTimeout(probed: ProbeGroup[]): Duration {
  const longestProbeMs = Math.max(...probed.flatMap((g) => g.probes.map((p) => p.timeoutMs)));
  return Duration.seconds(Math.ceil((FALLBACK_WINDOW_MS + longestProbeMs + 10_000) / 1000));
}

export interface DetectionProps {
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
  /**
   * Where the rules' targets put an event they could not deliver, the probe function one it dropped, and
   * the rounds queue a round message the function failed ROUND_QUEUE_MAX_RECEIVES times.
   */
  readonly deadLetterQueue: sqs.IQueue;
}

export class Detection extends Construct {
  /** The probe function; undefined when no group has probes. */
  public readonly probeFunction?: NodejsFunction;
  /** One schedule per shard of the probed groups (run-probes.ts, shardGroups), each invoking the function with `{ "shard": i }`. */
  public readonly schedules: events.Rule[] = [];
  /** One rule per group that names alarms. */
  public readonly alarmRules: events.Rule[] = [];
  /**
   * The probe rounds the scheduled invocations queue, each delayed to its round's time and run by an
   * invocation of its own; undefined when no group has probes.
   */
  public readonly roundsQueue?: sqs.Queue;
  /** Every rounds queue, one for each SHARDS_PER_ROUNDS_QUEUE shards (the first is `roundsQueue`). */
  public readonly roundsQueues: sqs.Queue[] = [];

  constructor(scope: Construct, id: string, props: DetectionProps) {
    super(scope, id);
    const { config, table, topic, stateMachine, deadLetterQueue } = props;

    const probed = probeGroupsOf(config);
    if (probed.length > 0) {
      const timeout = probeFunctionTimeout(probed);
      const shards = shardGroups(probed).length;

      // The rounds queue. A standard queue: each message carries its own delay (message timers, up to
      // 15 minutes; FIFO queues have none: SQS Developer Guide, "Amazon SQS message timers").
      // - Visibility timeout: the function's timeout, the least Lambda accepts (Lambda Developer Guide,
      //   "Creating and configuring an Amazon SQS event source mapping": it checks, when the mapping is
      //   created or updated, that the function's timeout is not more than the queue's visibility
      //   timeout). The same page advises six times the function's timeout, so that Lambda can keep
      //   retrying an invocation it throttled before the message goes back to the queue (it retries until
      //   the visibility timeout: "Handling errors for an SQS event source in Lambda"). A round run that
      //   late is past (the handler deletes it as stale): a longer timeout would only hold a failing
      //   message back from the dead-letter queue, and need a longer retention for it to get there.
      // - Dead-letter queue: the stack's, after ROUND_QUEUE_MAX_RECEIVES receives. It is a standard queue
      //   of this account and region, as a standard queue's must be (SQS Developer Guide, "Using
      //   dead-letter queues in Amazon SQS"); its redrive allow policy is the default, any queue of the
      //   account and region (CreateQueue, RedriveAllowPolicy); and it keeps messages 14 days, longer than
      //   this queue, as it must: a moved message keeps its enqueue time ("Setting-up dead-letter queue
      //   retention"). Both are encrypted by SQS, so the move needs no key.
      // - Retention: roundsQueueRetention, minutes rather than the default 4 days: a round message
      //   older than its round is of no use.
      // - SQS-managed encryption and TLS only, as the dead-letter queue.
      // - One queue for every SHARDS_PER_ROUNDS_QUEUE shards (roundsQueueOf): each queue's event source
      //   polls with about five batches at once while traffic is low, and every shard's rounds are due
      //   at the same instants; more shards on one queue would wait for a poller, and a round begun more
      //   than 3 s late is void.
      const queues = Math.ceil(shards / SHARDS_PER_ROUNDS_QUEUE);
      for (let q = 0; q < queues; q++) {
        this.roundsQueues.push(
          new sqs.Queue(this, q === 0 ? 'ProbeRounds' : `ProbeRounds${q + 1}`, {
            encryption: sqs.QueueEncryption.SQS_MANAGED,
            enforceSSL: true,
            visibilityTimeout: timeout,
            retentionPeriod: roundsQueueRetention(timeout),
            deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: ROUND_QUEUE_MAX_RECEIVES },
          }),
        );
      }
      this.roundsQueue = this.roundsQueues[0];

      this.probeFunction = controllerFunction(this, 'ProbeFunction', {
        source: 'probe/run-probes',
        description: 'failover-controller: probes the primaries and starts the workflow when one is down',
        timeout,
        environment: {
          TABLE_NAME: table.tableName,
          STATE_MACHINE_ARN: stateMachine.stateMachineArn,
          TOPIC_ARN: topic.topicArn,
          // The queues in order: shard i's is number roundsQueueOf(i).
          ROUNDS_QUEUE_URLS: queues === 1 ? this.roundsQueue.queueUrl : Fn.join(',', this.roundsQueues.map((q) => q.queueUrl)),
        },
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
      // Sending the rounds (SendMessageBatch is authorized as sqs:SendMessage); the event source grants
      // itself the receive and delete.
      for (const queue of this.roundsQueues) queue.grantSendMessages(this.probeFunction);

      // One round per invocation (batch size 1, no batching window), so that one shard's slow round never
      // holds another's. A message is deleted when the invocation returns, and goes back to the queue when
      // it fails (no partial batch responses: one message per batch).
      // Maximum concurrency, ROUND_INVOCATIONS_PER_SHARD a shard, for two reasons (Lambda Developer
      // Guide, "Configuring scaling behavior for SQS event source mappings"): without it, Lambda may
      // poll with as few as 2 concurrent batches when traffic is low, as it is here (one message per
      // shard per round), and with more than 2 shards, rounds due at the same instant would then wait for
      // each other; the setting turns that optimization off (5 at least, the page says; beyond 5 shards
      // the rounds wait for Lambda to add pollers, which it does while messages wait). And it keeps the event source within the
      // function's reserved concurrency, which it does not count by itself (the same page: maximum
      // concurrency not above reserved concurrency, or Lambda may throttle).
      this.roundsQueues.forEach((queue, q) => {
        const shardsOfQueue = Math.min(SHARDS_PER_ROUNDS_QUEUE, shards - q * SHARDS_PER_ROUNDS_QUEUE);
        this.probeFunction!.addEventSource(
          new SqsEventSource(queue, { batchSize: 1, maxConcurrency: Math.max(2, ROUND_INVOCATIONS_PER_SHARD * shardsOfQueue) }),
        );
      });

      // EventBridge schedules go down to one minute; the scheduled invocation covers the rest of the
      // minute, through the rounds queue or by itself. A missed invocation is not retried: the next one
      // is due within the minute anyway. That holds twice: for EventBridge's delivery to Lambda (the
      // target's retry policy) and for Lambda's own queue of asynchronous invocations, which by default
      // retries a failed invocation twice and keeps an event up to six hours
      // (AWS::Lambda::EventInvokeConfig; Lambda Developer Guide, "How Lambda handles errors and retries
      // with asynchronous invocation": throttled events are retried until they are too old). 60 s is the
      // shortest age Lambda accepts. What either drops goes to the dead-letter queue,
      // whose alarm says so (observability.ts): EventBridge's undelivered events, and Lambda's record of
      // a discarded invocation (on-failure destination, "Capturing records of Lambda asynchronous
      // invocations").
      // Scale out, not up: each shard of at most PROBES_PER_INVOCATION probes has its own schedule and
      // invocations, with the same code and the same baked groups (the function computes the same shards).
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
      // outage, for each shard (config.ts, probeFunction.reservedConcurrency: two scheduled invocations of
      // a shard overlap when they run their whole minutes, and a queued round may run beside them). It is
      // never below the event source's maximum concurrency (2 a shard, at least 2).
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
