/**
 * Detection and triggers: the probe function on a one-minute schedule (it probes every group at the
 * group's interval inside each invocation) and, for groups that name CloudWatch alarms, a rule that
 * starts the workflow when one of them goes to ALARM.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
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

/** The esbuild `define` that bakes the probe settings into the probe function's bundle. */
export function probeFunctionDefines(groups: ProbeGroup[]): Record<string, string> {
  return { FAILOVER_PROBE_GROUPS: JSON.stringify(JSON.stringify(groups)) };
}

export interface DetectionProps {
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
  readonly stateMachine: sfn.IStateMachine;
}

export class Detection extends Construct {
  /** The probe function; undefined when no group has probes. */
  public readonly probeFunction?: NodejsFunction;
  public readonly schedule?: events.Rule;
  /** One rule per group that names alarms. */
  public readonly alarmRules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: DetectionProps) {
    super(scope, id);
    const { config, table, topic, stateMachine } = props;

    const probed = probeGroupsOf(config);
    if (probed.length > 0) {
      const longestProbeMs = Math.max(...probed.flatMap((g) => g.probes.map((p) => p.timeoutMs)));
      this.probeFunction = controllerFunction(this, 'ProbeFunction', {
        source: 'probe/run-probes',
        description: 'failover-controller: probes the primaries and starts the workflow when one is down',
        // The invocation's window, its last round's probes, and a margin.
        timeout: Duration.seconds(Math.ceil((INVOCATION_WINDOW_MS + longestProbeMs + 10_000) / 1000)),
        environment: { TABLE_NAME: table.tableName, STATE_MACHINE_ARN: stateMachine.stateMachineArn, TOPIC_ARN: topic.topicArn },
        logRetention: logs.RetentionDays.ONE_MONTH,
        // The probe settings travel inside the bundle: no size limit, nothing in the environment.
        define: probeFunctionDefines(probed),
      });
      placeInProbeVpc(this.probeFunction, config);
      // The probe counters (read, conditional put) and the group state (read).
      grantItemAccess(table, this.probeFunction, 'GetItem', 'PutItem');
      stateMachine.grantStartExecution(this.probeFunction);
      grantPublish(topic, this.probeFunction);

      // EventBridge schedules go down to one minute; the function covers the minute itself. A missed
      // invocation is not retried: the next one is due within the minute anyway.
      this.schedule = new events.Rule(this, 'ProbeSchedule', {
        description: 'failover-controller: one probe invocation a minute',
        schedule: events.Schedule.rate(Duration.minutes(1)),
        targets: [new targets.LambdaFunction(this.probeFunction, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
      });
    }

    for (const group of config.groups.filter((g) => g.alarms.length > 0)) {
      // Only this account's alarms of that name, in this region: an event names its alarm by ARN in
      // `resources` and carries the `account` it comes from (CloudWatch User Guide, "Alarm events and
      // EventBridge": `"account": "123456789012"`, `"resources": ["arn:aws:cloudwatch:us-east-1:
      // 123456789012:alarm:ServerCpuTooHigh"]`). A same-named alarm of another account, whose events a bus
      // policy lets in, or of another region forwarded here, matches the name but not the ARN.
      const alarmArns = group.alarms.map((name) => `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${name}`);
      const rule = new events.Rule(this, `AlarmTrigger-${group.name}`, {
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
          retryAttempts: 3,
        }),
      );
      this.alarmRules.push(rule);
    }
  }
}
