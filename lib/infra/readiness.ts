/**
 * Readiness: a function on a schedule (`readiness.intervalMinutes`, 15 by default) that evaluates
 * every group (lambdas/readiness/evaluate.ts). Its alarm, on the GroupsNotReady metric it emits while a
 * group is not ready and on the function's own invocations and errors, is with the others in
 * observability.ts.
 *
 * The function only reads, with one exception: it asks the fence-primary function to answer a
 * StopInstances DryRun with the fence's own role, so the check covers the permission a failover will
 * use without this function holding StopInstances itself.
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { sourceDatabase, type FailoverConfig } from '../../lambdas/core/config';
import { replicaCandidates } from '../../lambdas/core/candidates';
import { controllerFunction } from './controller-function';
import { dbResource, MAX_NAMED_RESOURCES, namedOrRegional, wildcardFindingId } from './workflow';
import { grantItemAccess } from './store-table';
import { grantPublish } from './topic-access';
import { grantOnVantages, vantageEnvironment } from './vantage';

export interface ReadinessProps {
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
  /** The fence-primary step's function, which answers the StopInstances DryRun with its own role. */
  readonly fenceFunction: lambda.IFunction;
  /** Where the schedule puts an event it could not deliver, and the function a run it dropped. */
  readonly deadLetterQueue: sqs.IQueue;
}

/** What the readiness function's bundle carries: every deployed group (an inject file, see controllerFunction's `bake`). */
export function readinessFunctionBake(config: FailoverConfig): { FAILOVER_READINESS_GROUPS: FailoverConfig['groups'] } {
  return { FAILOVER_READINESS_GROUPS: config.groups };
}

export class Readiness extends Construct {
  public readonly function: NodejsFunction;
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: ReadinessProps) {
    super(scope, id);
    const { config, table, topic, fenceFunction } = props;
    const interval = config.readiness.intervalMinutes;

    this.function = controllerFunction(this, 'ReadinessFunction', {
      source: 'readiness/scheduled',
      description: 'failover-controller: checks that a failover of each group would work (readiness)',
      // Every group's reads, a few groups at a time, some in the failed region's endpoints' timeouts.
      timeout: Duration.minutes(5),
      // VANTAGES: the vantage functions it looks up (as the confirmation function's environment names them).
      environment: { TABLE_NAME: table.tableName, TOPIC_ARN: topic.topicArn, FENCE_FUNCTION_NAME: fenceFunction.functionName, ...vantageEnvironment(config) },
      logRetention: logs.RetentionDays.ONE_MONTH,
      bake: readinessFunctionBake(config),
    });
    grantOnVantages(this.function, config, 'lambda:GetFunction');
    // It reads the probe state the probe function writes, so it needs no VPC placement to reach the endpoints.
    this.grant(config, table, topic, fenceFunction);

    // A missed evaluation is not retried: the next one is due in `interval` minutes, and the alarm sees
    // the gap. Neither EventBridge's delivery nor Lambda's asynchronous queue retries it (see
    // detection.ts); an event older than an interval is dropped (Lambda keeps one at most six hours), and
    // what is dropped goes to the dead-letter queue.
    const maxAge = Duration.minutes(Math.min(interval, 60));
    this.schedule = new events.Rule(this, 'ReadinessSchedule', {
      description: `failover-controller: evaluate every group's readiness every ${interval} minutes`,
      schedule: events.Schedule.rate(Duration.minutes(interval)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: maxAge, deadLetterQueue: props.deadLetterQueue })],
    });
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: maxAge, onFailure: new destinations.SqsDestination(props.deadLetterQueue) });
  }

  /** Reads only, on the configured resources where the API allows it; the DryRun through the fence function. */
  private grant(config: FailoverConfig, table: dynamodb.ITable, topic: sns.ITopic, fenceFunction: lambda.IFunction): void {
    const fn = this.function;
    const { PARTITION: partition } = Aws;
    const groups = config.groups;
    const databases = namedOrRegional(
      groups.flatMap((g) => {
        const s = sourceDatabase(g.replica);
        return [dbResource(s.region, s.id, s.arn), ...replicaCandidates(g).map((r) => dbResource(r.region, r.dbInstanceIdentifier))];
      }),
    );
    const zones = namedOrRegional(
      [...new Set(groups.map((g) => g.dns.hostedZoneId))].map((z) => ({ arn: `arn:${partition}:route53:::hostedzone/${z}`, regional: `arn:${partition}:route53:::hostedzone/*` })),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: databases.resources }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'], resources: zones.resources }));
    // Read-only: a config too large for IAM to name its resources (namedOrRegional) reads them by region.
    for (const scope of [databases, zones].filter((x) => x.widened)) {
      Validations.of(fn.role!).acknowledge(
        ...scope.resources.map((r) => ({
          id: wildcardFindingId(r),
          reason: `Read-only, on this account's resources of that type in a configured region: more configured resources than IAM can name in one role (${MAX_NAMED_RESOURCES} per statement).`,
        })),
      );
    }
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:DescribeInstances',
          'ec2:DescribeSecurityGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'cloudwatch:GetMetricStatistics',
          'cloudwatch:DescribeAlarms',
        ],
        resources: ['*'],
      }),
    );
    // The probe state, group state and lock (read); its own READINESS item (conditional put).
    grantItemAccess(table, fn, 'GetItem', 'PutItem');
    grantPublish(topic, fn);
    fenceFunction.grantInvoke(fn);
    Validations.of(fn.role!).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'Read-only calls with no resource-level permissions: ec2:DescribeInstances, ec2:DescribeSecurityGroups, autoscaling:DescribeAutoScalingInstances, cloudwatch:GetMetricStatistics; cloudwatch:DescribeAlarms must be on "*" to return composite alarms.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* (as SNS documents it), granted on the topic\'s own key only.',
      },
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fenceFunction.node.defaultChild as never)}.Arn>:*]`,
        reason: "lambda:InvokeFunction on the fence function and its versions (CDK's grantInvoke): it answers a StopInstances DryRun with the fence's own role.",
      },
    );
  }
}
