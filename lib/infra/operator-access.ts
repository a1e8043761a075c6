/**
 * What a person needs to run `failoverctl` against this deployment, as two customer-managed policies, and
 * the operator role the table lets write items (store-table.ts). docs/security.md says who should hold
 * which.
 *
 * - read-only: `status`, `history`, `check` (and following an execution): find the stack's outputs, read
 *   the store, describe the state machine's executions, and `check`'s reads of the configured resources.
 * - operate: read-only plus `failover` and `switchover` (states:StartExecution, which runs a forced manual
 *   failover: the privileged act), `rearm` (reads the deployed definition) and `pause`, `resume`, `rearm`,
 *   `unlock` (item writes: only as the operator role, which the table's policy exempts).
 *
 * Not granted by either: what a break-glass `failover --local` needs (every step's permissions, the
 * topic's key, the lock), and ec2:StopInstances, which `check` asks for with DryRun: under these policies
 * `check` reports the fence's DryRun as refused, which is true of these credentials.
 */
import { Aws, CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { replicaCandidates } from '../../lambdas/core/candidates';
import { sourceDatabase, type FailoverConfig } from '../../lambdas/core/config';
import { dbResource, MAX_NAMED_RESOURCES, namedOrRegional, wildcardFindingId } from './workflow';

export interface OperatorAccessProps {
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly stateMachine: sfn.StateMachine;
}

export class OperatorAccess extends Construct {
  /** What `failoverctl status`, `history` and `check` need. */
  public readonly readOnlyPolicy: iam.ManagedPolicy;
  /** Read-only plus starting executions and writing the group state and lock. */
  public readonly operatePolicy: iam.ManagedPolicy;
  /** The role operators assume for the commands that write the store; the table's policy lets it write items. */
  public readonly operatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const { config, table, stateMachine } = props;
    const { PARTITION: partition, REGION: region, ACCOUNT_ID: account } = Aws;
    const stackName = Stack.of(this).stackName;
    const executions = `arn:${partition}:states:${region}:${account}:execution:${stateMachine.stateMachineName}:*`;

    // By name, or (more than IAM holds in a managed policy of 6,144 characters) by region: namedOrRegional.
    const checked = namedOrRegional([
      ...config.groups.flatMap((g) => {
        const s = sourceDatabase(g.replica);
        return [dbResource(s.region, s.id, s.arn), ...replicaCandidates(g).map((r) => dbResource(r.region, r.dbInstanceIdentifier))];
      }),
      ...[...new Set(config.groups.map((g) => g.dns.hostedZoneId))].map((z) => ({ arn: `arn:${partition}:route53:::hostedzone/${z}`, regional: `arn:${partition}:route53:::hostedzone/*` })),
    ]);

    const readOnly = [
      new iam.PolicyStatement({
        sid: 'FindTheDeployment',
        actions: ['cloudformation:DescribeStacks'],
        resources: [`arn:${partition}:cloudformation:${region}:${account}:stack/${stackName}/*`],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheStore',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [table.tableArn, `${table.tableArn}/index/*`],
      }),
      new iam.PolicyStatement({
        sid: 'FollowExecutions',
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [executions],
      }),
      new iam.PolicyStatement({
        sid: 'CheckTheConfiguredResources',
        actions: ['rds:DescribeDBInstances', 'route53:GetHostedZone', 'route53:ListResourceRecordSets'],
        resources: checked.resources,
      }),
      new iam.PolicyStatement({
        sid: 'CheckReadsWithoutResourceLevelPermissions',
        actions: ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroups', 'autoscaling:DescribeAutoScalingInstances', 'cloudwatch:GetMetricStatistics', 'cloudwatch:DescribeAlarms'],
        resources: ['*'],
      }),
    ];
    const operate = [
      new iam.PolicyStatement({
        sid: 'StartFailoversAndSwitchovers',
        actions: ['states:StartExecution'],
        resources: [stateMachine.stateMachineArn],
      }),
      new iam.PolicyStatement({
        sid: 'RearmReadsTheDeployedDefinition',
        actions: ['states:DescribeStateMachine'],
        resources: [stateMachine.stateMachineArn],
      }),
      new iam.PolicyStatement({
        sid: 'PauseResumeRearmUnlock',
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [table.tableArn],
      }),
    ];

    this.readOnlyPolicy = new iam.ManagedPolicy(this, 'ReadOnlyPolicy', {
      description: `failover-controller ${stackName}: failoverctl status, history and check (reads only)`,
      statements: readOnly,
    });
    this.operatePolicy = new iam.ManagedPolicy(this, 'OperatePolicy', {
      description: `failover-controller ${stackName}: failoverctl read-only commands plus failover, switchover, pause, resume, rearm, unlock`,
      statements: [...readOnly.map((s) => s.copy()), ...operate],
    });
    // Anyone in the account whose own policy allows sts:AssumeRole on it; the account decides who that is.
    this.operatorRole = new iam.Role(this, 'OperatorRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: `failover-controller ${stackName}: operators of failoverctl; the only principal besides the controller's functions that may write the store's items`,
    });
    // Attached from the policy's side: the table names this role, and the policy names the table.
    this.operatePolicy.attachToRole(this.operatorRole);

    for (const policy of [this.readOnlyPolicy, this.operatePolicy]) {
      if (checked.widened) {
        Validations.of(policy).acknowledge(
          ...checked.resources.map((r) => ({
            id: wildcardFindingId(r),
            reason: `Read-only (failoverctl check): this account's resources of that type in a configured region, since a managed policy holds 6,144 characters and the configured resources are more than ${MAX_NAMED_RESOURCES}.`,
          })),
        );
      }
      Validations.of(policy).acknowledge(
        {
          id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
          reason:
            'failoverctl check reads with calls that support no resource-level permissions: ec2:DescribeInstances, ec2:DescribeSecurityGroups, autoscaling:DescribeAutoScalingInstances, cloudwatch:GetMetricStatistics; cloudwatch:DescribeAlarms must be on "*" to return composite alarms. All read-only.',
        },
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${stackName}/*]`,
          reason: 'cloudformation:DescribeStacks on this stack, whose ARN ends in an id CloudFormation assigns: failoverctl reads the stack outputs to find the deployment.',
        },
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(table.node.defaultChild as never)}.Arn>/index/*]`,
          reason: "dynamodb:Query on the table's own history index (failoverctl history across groups); read-only.",
        },
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${Stack.of(this).getLogicalId(stateMachine.node.defaultChild as never)}.Name>:*]`,
          reason: "states:DescribeExecution and states:GetExecutionHistory on this state machine's executions, whose names are only known when they start; read-only.",
        },
      );
    }

    new CfnOutput(this, 'ReadOnlyPolicyArn', { key: 'ReadOnlyPolicyArn', value: this.readOnlyPolicy.managedPolicyArn, description: 'failoverctl status, history, check' });
    new CfnOutput(this, 'OperatePolicyArn', { key: 'OperatePolicyArn', value: this.operatePolicy.managedPolicyArn, description: 'failoverctl read-only commands plus failover, switchover, pause, resume, rearm, unlock' });
    new CfnOutput(this, 'OperatorRoleArn', { key: 'OperatorRoleArn', value: this.operatorRole.roleArn, description: 'the role to assume for pause, resume, rearm and unlock (the store accepts its writes)' });
  }
}
