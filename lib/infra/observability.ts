/**
 * What an operator looks at: a CloudWatch dashboard (is the controller watching, what does it see, what
 * did it do) and alarms on the notification topic for a workflow that failed, timed out or was
 * aborted, a probe function that errs, a group nobody is probing any more, a group the readiness
 * evaluation finds not ready (or an evaluation that did not run, or failed), and an event of a schedule
 * or alarm rule that was not delivered.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { shardGroups } from '../../lambdas/core/probe-shards';
import { METRIC, NAMESPACE } from '../../lambdas/runtime/metrics';
import type { Outcome } from '../../lambdas/core/workflow-state';
import type { FailoverConfig } from '../../lambdas/core/config';
import { controllerAlarmName } from './topic-access';

/** Every outcome, in the order the dashboard lists them. */
export const OUTCOMES = ['SUCCEEDED', 'DRY_RUN', 'SKIPPED', 'ABORTED', 'FENCE_FAILED', 'PROMOTION_FAILED', 'DNS_FAILED', 'FAILED'] as const satisfies readonly Outcome[];
// Does not compile while an Outcome is missing above.
const everyOutcomeListed: [Exclude<Outcome, (typeof OUTCOMES)[number]>] extends [never] ? true : false = true;
void everyOutcomeListed;

/** How long the heartbeat alarm waits: too few probe rounds for this many minutes means a shard (or all) is not watching. */
export const NO_PROBE_ROUNDS_MINUTES = 3;

/**
 * The heartbeat alarm's threshold: the group rounds a minute holds when every shard reports, minus the
 * smallest shard's, plus one. ProbeRounds (no dimension) below it for NO_PROBE_ROUNDS_MINUTES minutes
 * means at least one shard is not counting rounds (not running, failing, or its rounds void); with one
 * shard, it is "no round at all". A minute's rounds per group: 60 / intervalSeconds, rounded down.
 */
export function heartbeatThreshold(groups: FailoverConfig['groups']): number {
  const perMinute = (g: FailoverConfig['groups'][number]) => Math.floor(60 / g.detection.intervalSeconds);
  const shards = shardGroups(groups).map((shard) => shard.reduce((sum, g) => sum + perMinute(g), 0));
  if (shards.length === 0) return 1;
  const all = shards.reduce((a, b) => a + b, 0);
  return all - Math.min(...shards) + 1;
}

export interface ObservabilityProps {
  /** The validated config: the groups, their probes and thresholds. */
  readonly config: FailoverConfig;
  /** Where the alarms notify (the controller's notification topic). */
  readonly topic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The probe function.
   * @default - no probe function alarm and no probe function widget (no group has probes)
   */
  readonly probeFunction?: lambda.IFunction;
  /**
   * The probe function's log group, for the dashboard's failed-rounds widget.
   * @default - the probe function's own, when it is a Function
   */
  readonly probeLogGroup?: logs.ILogGroup;
  /**
   * The dead-letter queue of the rule targets and the scheduled functions.
   * @default - no undelivered-events alarm
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The scheduled readiness function: the readiness alarm reads its AWS/Lambda Invocations and Errors. */
  readonly readinessFunction: lambda.IFunction;
}

/** The alarms, by what they watch. */
export interface ControllerAlarms {
  /** AWS/States ExecutionsFailed: an execution ended in a Fail state (FENCE_FAILED, PROMOTION_FAILED, DNS_FAILED, FAILED, RecordNotStored, InvalidInput). */
  readonly workflowFailed: cloudwatch.Alarm;
  /** AWS/States ExecutionsTimedOut: an execution ran into the state machine's timeout. */
  readonly workflowTimedOut: cloudwatch.Alarm;
  /** AWS/States ExecutionsAborted: someone stopped an execution (StopExecution); its lock stays held until it expires. */
  readonly workflowAborted: cloudwatch.Alarm;
  /** The controller's own outcome ABORTED (no failover: the replica may not be promoted, or the outage was not confirmed); the execution itself succeeds. */
  readonly outcomeAborted: cloudwatch.Alarm;
  /** AWS/Lambda Errors of the probe function (it crashed or timed out). */
  readonly probeErrors?: cloudwatch.Alarm;
  /** One across the groups: fewer probe rounds than every shard counts, for NO_PROBE_ROUNDS_MINUTES minutes. */
  readonly noProbeRounds?: cloudwatch.Alarm;
  /** The readiness evaluation found a group not ready, did not run for two intervals, or failed. */
  readonly groupsNotReady: cloudwatch.Alarm;
  /** An event of a schedule or alarm rule was not delivered, or a scheduled invocation was dropped (the dead-letter queue has messages). */
  readonly undeliveredEvents?: cloudwatch.Alarm;
}

export class Observability extends Construct {
  /** The dashboard, unless the config turns it off (`observability.dashboard`). */
  public readonly dashboard?: cloudwatch.Dashboard;
  public readonly alarms: ControllerAlarms;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config, topic, stateMachine, probeFunction, deadLetterQueue, readinessFunction } = props;
    const probeLogGroup = props.probeLogGroup ?? (probeFunction instanceof lambda.Function ? probeFunction.logGroup : undefined);
    const stackName = Stack.of(this).stackName;
    const probed = config.groups.filter((g) => g.probes.length > 0);
    const metric = (metricName: string, dimensionsMap: Record<string, string>, statistic: string, period: Duration, label?: string) =>
      new cloudwatch.Metric({ namespace: NAMESPACE, metricName, dimensionsMap, statistic, period, label });
    const minute = Duration.minutes(1);

    // --- alarms ---------------------------------------------------------------------------------------
    const toTopic = new actions.SnsAction(topic);
    const alarm = (id: string, name: string, description: string, props: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>) => {
      // The prefix is what lets the alarm publish to the topic (topic-access.ts).
      const a = new cloudwatch.Alarm(this, id, { alarmName: controllerAlarmName(this, name), alarmDescription: description, ...props });
      a.addAlarmAction(toTopic);
      return a;
    };
    const anyInAMinute = { threshold: 1, evaluationPeriods: 1, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING };
    const sumPerMinute = { period: minute, statistic: cloudwatch.Stats.SUM };

    // Step Functions' own "aborted" is an execution stopped from outside (StopExecution): it never
    // reached the Record step, so it has no history item and its lock is held until it expires.
    // The controller's outcome ABORTED is a decision (the replica may not be promoted, or the outage
    // was not confirmed): that execution succeeds, so only the Executions metric can tell.
    // These stay CloudWatch alarms on AWS/States, not one (free) EventBridge rule on "Step Functions
    // Execution Status Change": Step Functions sends that event with "Delivery type: Best effort"
    // (EventBridge Events Reference, "AWS Step Functions events"), and "best effort delivery means that the
    // service attempts to send all events to EventBridge, but in some rare cases an event might not be
    // delivered" ("Delivery level for AWS service events"). A failed failover must not go untold.
    const workflowFailed = alarm('WorkflowFailedAlarm', 'workflow-failed', 'A failover execution failed (FENCE_FAILED, PROMOTION_FAILED, DNS_FAILED, FAILED, RecordNotStored or InvalidInput): see the notification and the execution in the Step Functions console.', {
      metric: stateMachine.metricFailed(sumPerMinute),
      ...anyInAMinute,
    });
    const workflowTimedOut = alarm('WorkflowTimedOutAlarm', 'workflow-timed-out', 'A failover execution ran into the state machine timeout: it was neither recorded nor notified, and its lock is held until it expires.', {
      metric: stateMachine.metricTimedOut(sumPerMinute),
      ...anyInAMinute,
    });
    const workflowAborted = alarm('WorkflowAbortedAlarm', 'workflow-aborted', 'A failover execution was stopped from outside (Step Functions StopExecution): it was neither recorded nor notified, and its lock is held until it expires.', {
      metric: stateMachine.metricAborted(sumPerMinute),
      ...anyInAMinute,
    });
    // Not redundant with the notification the Notify step sends for every ABORTED outcome: a Notify that
    // fails (an SNS error returned as notified: false, or retries exhausted and caught) goes on to Record
    // and the execution still succeeds (workflow.ts), so neither the notification nor workflow-failed
    // tells on-call; this alarm, published by CloudWatch with its own permissions, still does.
    const outcomeAborted = alarm('OutcomeAbortedAlarm', 'outcome-aborted', 'The controller decided not to fail over (outcome ABORTED: the replica may not be promoted, or the outage was not confirmed). The execution itself succeeded; the notification says why.', {
      metric: metric(METRIC.executions, { Outcome: 'ABORTED' }, cloudwatch.Stats.SUM, minute),
      ...anyInAMinute,
    });
    const probeErrors = probeFunction
      ? alarm('ProbeErrorsAlarm', 'probe-errors', 'The probe function failed (an error, a crash or a timeout): while it does, outages may go undetected.', {
          metric: probeFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          ...anyInAMinute,
        })
      : undefined;
    // The watcher of the watcher, ONE alarm across the groups (not one per group: a thousand groups
    // would be a thousand alarms). Every probe invocation emits ProbeRounds (no dimension), the rounds it
    // counted; a shard that stopped, fails or only has void rounds takes its share away, and missing data
    // (nothing at all) is breaching.
    const noProbeRounds =
      probed.length > 0
        ? alarm('NoProbeRoundsAlarm', 'no-probe-rounds', `Fewer probe rounds than every shard of the probe function counts (${heartbeatThreshold(probed)} a minute) for ${NO_PROBE_ROUNDS_MINUTES} minutes: some groups are not watched, so an outage would go undetected. See the probe function's log (message "probe invocation", "probe round void").`, {
            metric: metric(METRIC.probeRounds, {}, cloudwatch.Stats.SUM, minute),
            threshold: heartbeatThreshold(probed),
            evaluationPeriods: NO_PROBE_ROUNDS_MINUTES,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          })
        : undefined;
    // Tell on-call when the watching resumes, too.
    noProbeRounds?.addOkAction(toTopic);
    // The readiness alarm: a group not ready, an evaluation that did not run for two intervals, or one
    // that failed. GroupsNotReady is sent only while a group is not ready (a custom metric is billed for
    // the hours it is sent in), so "did not run" and "failed" come from the function's own AWS/Lambda
    // metrics, which cost nothing to send; the alarm is billed per metric it evaluates: three.
    // - Invocations (Sum): "Invocations aren't recorded if the invocation request is throttled"; Errors
    //   (Sum): "exceptions that your code throws and exceptions that the Lambda runtime throws ... such as
    //   timeouts" (Lambda Developer Guide, "Types of metrics for Lambda functions").
    // - One period of two intervals holds at least one scheduled run. The expression is 1 or more when no
    //   invocation was recorded in it, any invocation failed, or a group was not ready; 0 only when the
    //   function ran, without an error, and found every group ready. So the OK action means exactly that.
    // - Missing values: FILL "fills the missing values of a time series", and in arithmetic "missing
    //   values in a time series are treated as 0" (CloudWatch User Guide, "Using metric math" / "Metric
    //   math syntax and functions"). Should the expression still have no value for a period (nothing at
    //   all was recorded: no run), missing data is breaching. Either way a period without a run alarms.
    // Cheaper by one metric would be leaving failures to the undelivered-events alarm (a failed run goes
    // to the dead-letter queue, as its on-failure destination): but after two failed runs this alarm
    // would then turn OK, and say so, while a group may still be not ready.
    // CloudWatch caps a period at a day.
    const interval = config.readiness.intervalMinutes;
    const readinessPeriod = Duration.minutes(Math.min(2 * interval, 1440));
    const groupsNotReady = alarm('GroupsNotReadyAlarm', 'groups-not-ready', "A group is not ready for a failover (the readiness evaluation found a problem: see its notification, or run failoverctl check), or the evaluation did not run for two intervals, or it failed (see the readiness function's log).", {
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(invocations, 0) < 1, 1, 0) + FILL(errors, 0) + FILL(notReady, 0)`,
        usingMetrics: {
          invocations: readinessFunction.metricInvocations({ statistic: cloudwatch.Stats.SUM }),
          errors: readinessFunction.metricErrors({ statistic: cloudwatch.Stats.SUM }),
          notReady: metric(METRIC.groupsNotReady, {}, cloudwatch.Stats.MAXIMUM, readinessPeriod),
        },
        period: readinessPeriod,
        label: 'no run, failed runs or groups not ready',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    groupsNotReady.addOkAction(toTopic);
    // Anything in the dead-letter queue is an event that did not start what it should have: a probe
    // round, a readiness run, or a failover an alarm asked for. SQS reports a queue's metrics only while
    // the queue is active, up to six hours after the last call on it (SQS Developer Guide, "Available
    // CloudWatch metrics for Amazon SQS"; "Monitoring Amazon SQS with CloudWatch"): a message nobody
    // reads stops being reported after six hours, so missing data keeps the alarm's state (ignore)
    // instead of turning it OK. It returns to OK once the queue is emptied (a call that makes it active
    // again, with 0 messages). Five-minute periods of the maximum.
    const undeliveredEvents = deadLetterQueue
      ? alarm('UndeliveredEventsAlarm', 'undelivered-events', 'An event was not delivered: a probe or readiness invocation was dropped or failed, or an alarm trigger could not start its failover. Read the messages in the dead-letter queue, act on any failover they hold, then purge it.', {
          metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        })
      : undefined;
    undeliveredEvents?.addOkAction(toTopic);
    this.alarms = { workflowFailed, workflowTimedOut, workflowAborted, outcomeAborted, probeErrors, noProbeRounds, groupsNotReady, undeliveredEvents };
    if (!config.observability.dashboard) return;

    // --- dashboard ------------------------------------------------------------------------------------
    // Per-group series come from SEARCH expressions, not one metric per group: the dashboard stays the
    // same size for 1 group or 1,000, and shows the groups that emitted (per-group probe metrics exist
    // only while a group fails).
    const search = (metricName: string, statistic: string, period: Duration, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${NAMESPACE},Group} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
        label,
        period,
      });
    const thresholds = [...new Set(probed.map((g) => g.detection.failureThreshold))].map((value) => ({
      value,
      label: `down at ${value}${probed.length <= 10 ? ` (${probed.filter((g) => g.detection.failureThreshold === value).map((g) => g.name).join(', ')})` : ''}`,
    }));
    // Failovers are rare: those widgets look further back than the dashboard's default hours.
    const history = '-P90D';

    const widgets: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.TextWidget({
          markdown: `# failover-controller: ${stackName}\nProbes (is the primary up, is the controller watching), then what the workflow did. Alarms go to the notification topic.`,
          width: 24,
          height: 2,
        }),
      ],
      [
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: [workflowFailed, workflowTimedOut, workflowAborted, outcomeAborted, ...(probeErrors ? [probeErrors] : []), ...(noProbeRounds ? [noProbeRounds] : []), groupsNotReady, ...(undeliveredEvents ? [undeliveredEvents] : [])],
          width: 24,
          height: 3,
        }),
      ],
    ];
    if (probed.length > 0) {
      widgets.push(
        [
          new cloudwatch.GraphWidget({
            title: 'Probe rounds per minute, all groups (counted, failed, void; not queued)',
            left: [
              metric(METRIC.probeRounds, {}, cloudwatch.Stats.SUM, minute, 'counted'),
              metric(METRIC.failedRounds, {}, cloudwatch.Stats.SUM, minute, 'failed'),
              metric(METRIC.voidRounds, {}, cloudwatch.Stats.SUM, minute, 'void (the prober\'s fault)'),
              metric(METRIC.roundsNotQueued, {}, cloudwatch.Stats.SUM, minute, 'not queued: run by the schedule\'s invocation (shard rounds)'),
            ],
            leftAnnotations: [{ value: heartbeatThreshold(probed), label: 'fewer: a shard is not watching' }],
            leftYAxis: { min: 0 },
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Failing groups: consecutive failed rounds',
            left: [search(METRIC.consecutiveFailures, 'Maximum', minute, '')],
            leftAnnotations: thresholds,
            leftYAxis: { min: 0 },
            width: 8,
          }),
          ...(probeFunction
            ? [
                new cloudwatch.GraphWidget({
                  title: 'Probe function',
                  left: [probeFunction.metricInvocations({ period: minute, statistic: cloudwatch.Stats.SUM }), probeFunction.metricErrors({ period: minute, statistic: cloudwatch.Stats.SUM })],
                  leftYAxis: { min: 0 },
                  width: 8,
                }),
              ]
            : []),
        ],
        ...(probeLogGroup
          ? [
              [
                // What an operator needs to see a failing probe: each failed or void round's line lists
                // every probe of the group with its outcome, latency and error.
                new cloudwatch.LogQueryWidget({
                  title: 'Failed and void probe rounds (each probe\'s outcome)',
                  logGroupNames: [probeLogGroup.logGroupName],
                  queryLines: [
                    'fields @timestamp, group, coalesce(round, reason) as what, action',
                    'filter message in ["probe round", "probe round void", "probe hold"] and level != "INFO"',
                    'sort @timestamp desc',
                    'limit 50',
                  ],
                  width: 24,
                  height: 6,
                }),
              ],
            ]
          : []),
      );
    }
    widgets.push(
      [
        new cloudwatch.SingleValueWidget({
          title: 'Executions by outcome (last 30 days)',
          metrics: OUTCOMES.map((o) => metric(METRIC.executions, { Outcome: o }, cloudwatch.Stats.SUM, Duration.days(1), o)),
          setPeriodToTimeRange: true,
          start: '-P30D',
          width: 24,
          height: 3,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Workflow: failed, timed out and aborted executions',
          left: [
            stateMachine.metricStarted({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM, label: 'started' }),
            stateMachine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM, label: 'failed' }),
            stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM, label: 'timed out' }),
            stateMachine.metricAborted({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM, label: 'aborted (stopped)' }),
          ],
          leftYAxis: { min: 0 },
          width: 8,
        }),
        new cloudwatch.SingleValueWidget({
          title: 'Last failover (last 90 days): RTO and data-loss estimate (s)',
          metrics: [search(METRIC.rtoSeconds, 'Maximum', Duration.hours(1), 'RTO'), search(METRIC.dataLossSeconds, 'Maximum', Duration.hours(1), 'data loss')],
          start: history,
          width: 8,
          height: 6,
        }),
        new cloudwatch.GraphWidget({
          title: 'Failovers (last 90 days): RTO and data-loss estimate (s)',
          left: [search(METRIC.rtoSeconds, 'Maximum', Duration.hours(1), 'RTO'), search(METRIC.dataLossSeconds, 'Maximum', Duration.hours(1), 'data loss')],
          leftYAxis: { min: 0 },
          start: history,
          width: 8,
        }),
      ],
    );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { widgets });
  }
}
