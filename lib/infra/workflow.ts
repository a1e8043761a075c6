/**
 * The failover workflow: a Step Functions Standard state machine and one Lambda per step.
 *
 *   Plan → AcquireLock → AssessReplica → FencePrimary ⟲ CheckFence → FenceDatabase ⟲ CheckDatabaseFence
 *        → VerifyFencesBeforePromotion ⟲ → PromoteReplica ⟲ CheckPromotion → ReadDnsRecords
 *        → VerifyFencesBeforeDns ⟲ → ApplyDnsChange ⟲ CheckDnsSync → MeasureDataLoss → Notify → Record
 *
 * A switchover stops the writers before it waits for the replica: AcquireLock → SwitchoverPrecheck →
 * FencePrimary (graceful) ⟲ → FenceDatabase ⟲ → CheckCatchUp ⟲ → VerifyFencesBeforePromotion → ...
 *
 * Polling happens in Wait states. Every failure after the lock is taken is caught, given its outcome
 * (FENCE_FAILED, PROMOTION_FAILED, DNS_FAILED, FAILED), notified and recorded, and then fails the
 * execution with a named error. Transient errors are retried with backoff and full jitter.
 */
import { Annotations, Aws, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RETRYABLE_ERRORS } from '../../lambdas/core/errors';
import type { StepName } from '../../lambdas/steps';
import { executionTimeoutSeconds, STEP_TIMEOUT_SECONDS } from '../../lambdas/core/budgets';
import { sourceDatabase, type FailoverConfig } from '../../lambdas/core/config';
import { groupDigests, groupsByName } from '../../lambdas/core/deployed-group';
import { controllerFunction } from './controller-function';
import { TASK_STATES, type TaskStateCode, type TaskStateName } from './workflow-states';
import { grantItemAccess } from './store-table';
import { grantPublish } from './topic-access';
import { ISOLATION_GROUP_TAG } from './isolation';
import { stepFunctionsLimitProblems, WorkflowTooLarge } from './step-functions-limits';
import { replicaCandidates } from '../../lambdas/core/candidates';
import { grantOnVantages, vantageEnvironment } from './vantage';
import { DNS_SWITCH_NAMESPACE } from '../../lambdas/core/dns-switch';

export type { StepName } from '../../lambdas/steps';

/**
 * Why the state machine's role holds actions on "*": CDK grants them for the execution logs (CloudWatch
 * Logs vended-log delivery) and X-Ray tracing, and none of them supports resource-level permissions. Every
 * action of the role's "*" statements is named (a construct test compares the two).
 */
export const STATE_MACHINE_STAR_REASON =
  'Execution logging and tracing, which accept only "*": logs:CreateLogDelivery, logs:GetLogDelivery, logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, logs:PutResourcePolicy, logs:DescribeResourcePolicies, logs:DescribeLogGroups (CloudWatch Logs delivery of the execution logs to their log group); xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets (X-Ray tracing).';

/** Outcome → the error a failed execution ends with. Outcomes not listed end the execution successfully. */
export const FAILURE_ERRORS = {
  FENCE_FAILED: 'FenceFailed',
  PROMOTION_FAILED: 'PromotionFailed',
  DNS_FAILED: 'DnsFailed',
  FAILED: 'FailoverFailed',
} as const;

export interface FailoverWorkflowProps {
  /** The validated config; its groups are baked into every step function, their digests into the definition. */
  readonly config: FailoverConfig;
  readonly table: dynamodb.ITable;
  readonly topic: sns.ITopic;
}

export class FailoverWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The Lambda function of each step. */
  public readonly functions: Record<StepName, NodejsFunction>;

  constructor(scope: Construct, id: string, props: FailoverWorkflowProps) {
    super(scope, id);
    const { config, table, topic } = props;
    const groups = config.groups;

    // Every step takes what it acts on from the groups baked into its own bundle, never from its event.
    const bake = stepFunctionBake(config);
    const fn = (step: StepName, env: Record<string, string> = {}) =>
      controllerFunction(this, `Step-${step}`, {
        source: `steps/${step}`,
        description: `failover-controller workflow step: ${step}`,
        timeout: Duration.seconds(STEP_TIMEOUT_SECONDS),
        environment: env,
        logRetention: logs.RetentionDays.THREE_MONTHS,
        bake,
      });

    const functions: Record<StepName, NodejsFunction> = {
      plan: fn('plan'),
      'acquire-lock': fn('acquire-lock', { TABLE_NAME: table.tableName }),
      // Probes the primary's endpoints, so it sits where the probe function does (in the VPC, if any).
      'confirm-outage': placeInProbeVpc(fn('confirm-outage', vantageEnvironment(config)), config),
      'assess-replica': fn('assess-replica'),
      'fence-primary': fn('fence-primary'),
      'fence-database': fn('fence-database'),
      'verify-fences': fn('verify-fences'),
      'catch-up': fn('catch-up'),
      'promote-replica': fn('promote-replica'),
      'flip-dns': fn('flip-dns'),
      notify: fn('notify', { TOPIC_ARN: topic.topicArn }),
      'record-outcome': fn('record-outcome', { TABLE_NAME: table.tableName }),
    };
    this.functions = functions;
    this.grant(config, functions, table, topic);
    grantOnVantages(functions['confirm-outage'], config, 'lambda:InvokeFunction');

    // --- states ---
    // Each Task state runs the step and action TASK_STATES names. A step with actions gets
    // { action, state }; the others get the payload given, or (none given) the whole state.
    const invoke = (name: TaskStateName, payload: sfn.TaskInput | undefined, props: Partial<tasks.LambdaInvokeProps> = {}) => {
      const code: TaskStateCode = TASK_STATES[name];
      return new tasks.LambdaInvoke(this, name, {
        lambdaFunction: functions[code.step],
        payload: code.action ? sfn.TaskInput.fromObject({ action: code.action, state: sfn.JsonPath.entirePayload }) : payload,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        ...props,
      }).addRetry({
        errors: [...RETRYABLE_ERRORS],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(20),
        jitterStrategy: sfn.JitterType.FULL,
      });
    };
    const wholeState = undefined;
    const poll = (name: string) => new sfn.Wait(this, name, { time: sfn.WaitTime.duration(Duration.seconds(config.workflow.pollIntervalSeconds)) });
    const outcome = (name: string, value: string) =>
      new sfn.Pass(this, name, { result: sfn.Result.fromString(value), resultPath: '$.outcome' });
    const isTrue = (field: string) => sfn.Condition.booleanEquals(field, true);

    // The end: notify, record, then succeed or fail according to the outcome.
    const done = new sfn.Succeed(this, 'Done');
    const finish = new sfn.Choice(this, 'FinishByOutcome');
    for (const [value, error] of Object.entries(FAILURE_ERRORS)) {
      finish.when(
        sfn.Condition.stringEquals('$.outcome', value),
        new sfn.Fail(this, error, { error, causePath: '$.error.Cause' }),
      );
    }
    finish.otherwise(done);

    const notifyLost = invoke('NotifyRecordLost', sfn.TaskInput.fromObject({ state: sfn.JsonPath.entirePayload, recordLost: sfn.JsonPath.objectAt('$.recordError') }), {
      resultPath: '$.recordLostNotification',
    });
    notifyLost.next(new sfn.Fail(this, 'RecordNotStored', { error: 'RecordNotStored', causePath: '$.recordError.Cause' }));
    const record = invoke('Record', wholeState, { resultPath: '$.record' });
    record.addCatch(notifyLost, { errors: ['States.ALL'], resultPath: '$.recordError' });
    record.next(finish);
    const notify = invoke('Notify', sfn.TaskInput.fromObject({ state: sfn.JsonPath.entirePayload }), { resultPath: '$.notification' });
    notify.addCatch(record, { errors: ['States.ALL'], resultPath: '$.notificationError' });
    notify.next(record);

    const failed = outcome('OutcomeFailed', 'FAILED').next(notify);
    const fenceFailed = outcome('OutcomeFenceFailed', 'FENCE_FAILED').next(notify);
    const promotionFailed = outcome('OutcomePromotionFailed', 'PROMOTION_FAILED').next(notify);
    const dnsFailed = outcome('OutcomeDnsFailed', 'DNS_FAILED').next(notify);
    const catchInto = (task: sfn.TaskStateBase, target: sfn.IChainable) =>
      task.addCatch(target, { errors: ['States.ALL'], resultPath: '$.error' });
    /** `start`, then `check` every poll interval until `$.<field>.confirmed`; a failure of either goes to `onFail`. */
    const startThenPoll = (names: { start: TaskStateName; check: TaskStateName; wait: string; done: string }, field: string, onFail: sfn.IChainable, next: sfn.IChainable) => {
      const start = catchInto(invoke(names.start, wholeState, { resultPath: `$.${field}` }), onFail);
      const check = catchInto(invoke(names.check, wholeState, { resultPath: `$.${field}` }), onFail);
      const wait = poll(names.wait);
      const done = new sfn.Choice(this, names.done).when(isTrue(`$.${field}.confirmed`), next).otherwise(wait);
      wait.next(check);
      check.next(done);
      start.next(done);
      return start;
    };

    // DNS: read the old values, apply one batch, poll until INSYNC.
    const succeededOutcome = outcome('OutcomeSucceeded', 'SUCCEEDED').next(notify);
    const succeeded = new sfn.Choice(this, 'DryRun?')
      .when(isTrue('$.plan.dryRun'), outcome('OutcomeDryRun', 'DRY_RUN').next(notify))
      .otherwise(succeededOutcome);
    const readDns = catchInto(invoke('ReadDnsRecords', wholeState, { resultPath: '$.dns' }), dnsFailed);
    const applyDns = catchInto(invoke('ApplyDnsChange', wholeState, { resultPath: '$.dns' }), dnsFailed);
    const checkDns = catchInto(invoke('CheckDnsSync', wholeState, { resultPath: '$.dns' }), dnsFailed);
    const dnsWait = poll('WaitForDnsSync');
    // Then the data-loss bound once more, with the datapoints that arrived meanwhile; a failure to
    // measure never fails a failover that happened (the bound from the promotion stands).
    const measure = invoke('MeasureDataLoss', wholeState, { resultPath: '$.promote' });
    measure.addCatch(succeededOutcome, { errors: ['States.ALL'], resultPath: '$.measureError' });
    measure.next(succeededOutcome);
    const dnsSynced = new sfn.Choice(this, 'DnsInSync?').when(isTrue('$.dns.confirmed'), measure).otherwise(dnsWait);
    dnsWait.next(checkDns);
    checkDns.next(dnsSynced);
    applyDns.next(dnsWait);

    // DNS again: every fence is re-checked immediately before the change.
    const verifyBeforeDns = catchInto(invoke('VerifyFencesBeforeDns', wholeState, { resultPath: '$.verify' }), fenceFailed);
    const verifyDnsWait = poll('WaitForFencesBeforeDns');
    verifyDnsWait.next(verifyBeforeDns);
    verifyBeforeDns.next(new sfn.Choice(this, 'StillFenced?').when(isTrue('$.verify.confirmed'), applyDns).otherwise(verifyDnsWait));
    readDns.next(new sfn.Choice(this, 'ApplyDns?').when(isTrue('$.plan.dryRun'), succeeded).otherwise(verifyBeforeDns));

    // Promote: only ever reached once every fence is confirmed, and confirmed again just before.
    const promote = startThenPoll({ start: 'PromoteReplica', check: 'CheckPromotion', wait: 'WaitForPromotion', done: 'Promoted?' }, 'promote', promotionFailed, readDns);

    // The gate: every writer re-read from AWS; an instance running again is stopped again and waited for.
    const verify = catchInto(invoke('VerifyFencesBeforePromotion', wholeState, { resultPath: '$.verify' }), fenceFailed);
    const verifyWait = poll('WaitForFencesToHold');
    verifyWait.next(verify);
    verify.next(new sfn.Choice(this, 'Fenced?').when(isTrue('$.verify.confirmed'), promote).otherwise(verifyWait));

    const aborted = outcome('OutcomeAborted', 'ABORTED').next(notify);

    // Switchover: after the writers are fenced, wait until the replica has everything they wrote.
    const catchUp = catchInto(invoke('CheckCatchUp', wholeState, { resultPath: '$.assess' }), failed);
    const catchUpWait = poll('WaitForCatchUp');
    catchUpWait.next(catchUp);
    catchUp.next(
      new sfn.Choice(this, 'CaughtUp?')
        .when(sfn.Condition.stringEquals('$.assess.decision', 'proceed'), verify)
        .when(sfn.Condition.stringEquals('$.assess.decision', 'wait'), catchUpWait)
        .otherwise(aborted),
    );

    // Fence the old database (the replica's source): deny-all security group, then a reboot.
    const afterFences = new sfn.Choice(this, 'CatchUp?').when(sfn.Condition.stringEquals('$.plan.mode', 'switchover'), catchUp).otherwise(verify);
    const fenceDb = startThenPoll(
      { start: 'FenceDatabase', check: 'CheckDatabaseFence', wait: 'WaitForDatabaseFence', done: 'DatabaseFenced?' }, 'databaseFence', fenceFailed, afterFences,
    );

    // Fence every EC2 writer: stop them, poll until each is confirmed stopped.
    const fence = startThenPoll({ start: 'FencePrimary', check: 'CheckFence', wait: 'WaitForFence', done: 'InstancesFenced?' }, 'fence', fenceFailed, fenceDb);

    // Switchover: the replica checked before anything is stopped; the lag is waited for after the fences.
    const precheck = catchInto(invoke('SwitchoverPrecheck', wholeState, { resultPath: '$.assess' }), failed);
    precheck.next(new sfn.Choice(this, 'SwitchoverReady?').when(sfn.Condition.stringEquals('$.assess.decision', 'proceed'), fence).otherwise(aborted));

    // Assess: the replica and the RPO gate.
    const assess = catchInto(invoke('AssessReplica', wholeState, { resultPath: '$.assess' }), failed);
    const lagWait = poll('WaitForReplicaLag');
    lagWait.next(assess);
    assess.next(
      new sfn.Choice(this, 'Proceed?')
        .when(sfn.Condition.stringEquals('$.assess.decision', 'proceed'), fence)
        .when(sfn.Condition.stringEquals('$.assess.decision', 'wait'), lagWait)
        .otherwise(aborted),
    );

    // Confirm: automatic triggers get a second opinion before anything is fenced.
    const confirm = catchInto(invoke('ConfirmOutage', wholeState, { resultPath: '$.confirm' }), failed);
    confirm.next(new sfn.Choice(this, 'OutageConfirmed?').when(isTrue('$.confirm.confirmed'), assess).otherwise(aborted));
    const needsConfirmation = new sfn.Choice(this, 'ConfirmOutage?')
      .when(sfn.Condition.stringEquals('$.plan.trigger.type', 'manual'), assess)
      .otherwise(confirm);

    // Lock: one failover per group; a held lock (or a group that may not fail over automatically now)
    // ends this execution as SKIPPED. Recorded; notified too when the skip leaves the trigger's outage
    // unhandled (the group PAUSED, FAILED_OVER or cooling down: `$.lock.notify`), not when another
    // execution holding the lock is handling it.
    const lock = catchInto(invoke('AcquireLock', wholeState, { resultPath: '$.lock' }), failed);
    lock.next(
      new sfn.Choice(this, 'LockAcquired?')
        .when(isTrue('$.lock.acquired'), new sfn.Choice(this, 'Switchover?').when(sfn.Condition.stringEquals('$.plan.mode', 'switchover'), precheck).otherwise(needsConfirmation))
        .otherwise(
          new sfn.Choice(this, 'SkipLeavesOutageUnhandled?')
            .when(sfn.Condition.and(sfn.Condition.isPresent('$.lock.notify'), isTrue('$.lock.notify')), outcome('OutcomeSkippedUnhandled', 'SKIPPED').next(notify))
            .otherwise(outcome('OutcomeSkipped', 'SKIPPED').next(record)),
        ),
    );

    // Plan: validate the input against the deployed config. InvalidInput is not caught: nothing was taken.
    // The definition names each group's config by digest only (lambdas/core/deployed-group.ts): it does
    // not grow with the configs, and the Plan tells a definition from another deployment than its own.
    const digests = groupDigests(groups);
    const plan = invoke(
      'Plan',
      sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        groupDigests: digests,
        execution: { id: sfn.JsonPath.stringAt('$$.Execution.Id'), name: sfn.JsonPath.stringAt('$$.Execution.Name') },
      }),
      { resultSelector: { 'plan.$': '$' } },
    );
    plan.next(lock);

    // Every execution ends before its lock can expire: the lock's TTL is this plus five minutes.
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(plan),
      timeout: Duration.seconds(executionTimeoutSeconds(groups)),
      tracingEnabled: true,
      // Every state's events (names, times, errors) for 90 days, without their data: an incident review
      // reads the timeline here and what was decided in the history item (the record, kept in the table),
      // and can read an execution's inputs and outputs in Step Functions' own execution history, which
      // a Standard workflow keeps for 90 days after the execution ends ("Execution history data removed
      // after 90 days", Step Functions Developer Guide, "Execution guarantees") to those allowed
      // states:GetExecutionHistory. With execution data the log group would hold a copy of the embedded
      // config and of every DNS value, readable by anyone with logs:GetLogEvents on it.
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    // The definition grows with the number of groups, a state with its group: a workflow over Step
    // Functions' limits fails the synth, with every problem listed, rather than the first failover.
    const rendered = Stack.of(this).resolve((this.stateMachine.node.defaultChild as sfn.CfnStateMachine).definitionString);
    const problems = stepFunctionsLimitProblems({ definition: rendered, groups, groupDigests: digests });
    if (problems.length > 0) throw new WorkflowTooLarge(problems);

    this.acknowledgeFindings(config);
  }

  /** cdk-nag findings that are the least privilege possible, each with why. */
  private acknowledgeFindings(config: FailoverConfig): void {
    const stack = Stack.of(this);
    // Read-only calls with no resource-level permissions, each on the one role that makes it.
    const anyResource = 'AwsSolutions::AwsSolutions-IAM5[Resource::*]';
    Validations.of(this.functions['fence-primary'].role!).acknowledge({
      id: anyResource,
      reason: 'ec2:DescribeInstances (read-only) supports no resource-level permissions; StopInstances is scoped to the configured instances.',
    });
    for (const region of new Set(config.groups.filter((g) => g.fence.onUnconfirmed === 'isolate').map((g) => g.primary.region))) {
      Validations.of(this.functions['fence-primary'].role!).acknowledge(
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:<AWS::AccountId>:network-interface/*]`,
          reason: `ec2:ModifyNetworkInterfaceAttribute on the primary's interfaces, whose ids are not known before a failover; limited by the ec2:Vpc condition to the primary's own VPC.`,
        },
        {
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${region}:<AWS::AccountId>:security-group/*]`,
          reason: `ec2:ModifyNetworkInterfaceAttribute may name only the group's isolation security group: limited by the ec2:Vpc condition and the ${ISOLATION_GROUP_TAG} tag the isolation stack puts on that group.`,
        },
      );
    }
    for (const step of ['assess-replica', 'promote-replica'] as const) {
      Validations.of(this.functions[step].role!).acknowledge({
        id: anyResource,
        reason: 'cloudwatch:GetMetricStatistics (read-only: ReplicaLag, OldestReplicationSlotLag) supports no resource-level permissions.',
      });
    }
    Validations.of(this.functions['fence-primary'].role!).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'autoscaling:DescribeAutoScalingInstances (read-only) supports no resource-level permissions; it tells whether a fenced instance belongs to an Auto Scaling group.',
    });
    for (const region of new Set(config.groups.map((g) => g.primary.region))) {
      Validations.of(this.functions['fence-primary'].role!).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:${region}:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*]`,
        reason: `SuspendProcesses on the Auto Scaling group of a fenced instance, whose name is only known during the failover; limited to this account and the primary's region ${region}. It keeps the group from replacing or restarting the fenced writer.`,
      });
    }
    Validations.of(this.functions['fence-database'].role!).acknowledge({
      id: anyResource,
      reason: "ec2:DescribeSecurityGroups (read-only) supports no resource-level permissions; it finds the deny-all group that fences the old database.",
    });
    Validations.of(this.functions['verify-fences'].role!).acknowledge({
      id: anyResource,
      reason: 'ec2:DescribeInstances (read-only) supports no resource-level permissions; StopInstances is scoped to the configured writer instances.',
    });
    Validations.of(this.functions['catch-up'].role!).acknowledge({
      id: anyResource,
      reason: 'cloudwatch:GetMetricStatistics (read-only, ReplicaLag and OldestReplicationSlotLag) supports no resource-level permissions.',
    });
    Validations.of(this.stateMachine.role).acknowledge(
      {
        id: anyResource,
        reason: STATE_MACHINE_STAR_REASON,
      },
      ...Object.values(this.functions).map((fn) => ({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on one of the workflow\'s own step functions and that function\'s versions and aliases (CDK\'s LambdaInvoke grant); nothing else.',
      })),
    );
    Validations.of(this.functions['flip-dns'].role!).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
      reason: 'route53:GetChange (read-only) on the change this execution submitted: its id exists only once the change is made.',
    });
  }

  /**
   * Each step may do exactly what it needs, on the configured resources only; a statement that would
   * name more than MAX_NAMED_RESOURCES of them names their regions instead (namedOrRegional), and the
   * synth warns.
   */
  private grant(config: FailoverConfig, fns: Record<StepName, NodejsFunction>, table: dynamodb.ITable, topic: sns.ITopic): void {
    const { PARTITION: partition, ACCOUNT_ID: account } = Aws;
    const groups = config.groups;
    // Every candidate replica of every group (replicaCandidates: `replica` and `additionalReplicas`).
    const replicaList = groups.flatMap((g) => replicaCandidates(g).map((r) => dbResource(r.region, r.dbInstanceIdentifier)));
    // The old databases (the replicas' sources), as configured: an ARN as given, an identifier in the replica's region.
    const sourceList = groups.map((g) => {
      const s = sourceDatabase(g.replica);
      return dbResource(s.region, s.id, s.arn);
    });
    // Each list by name, or (a config too large for IAM to hold the names) by region: see namedOrRegional.
    const widened = new Map<NodejsFunction, Set<string>>();
    const scoped = (fn: NodejsFunction, items: ScopedResource[]): string[] => {
      const { resources, widened: wide } = namedOrRegional(items);
      if (wide) for (const r of resources) widened.set(fn, (widened.get(fn) ?? new Set()).add(r));
      return resources;
    };
    const zones = [...new Set(groups.map((g) => g.dns.hostedZoneId))];

    // The lock and the group state (read, conditional put); the history item, the group state and the lock's release.
    grantItemAccess(table, fns['acquire-lock'], 'GetItem', 'PutItem');
    grantItemAccess(table, fns['record-outcome'], 'PutItem', 'DeleteItem');
    grantPublish(topic, fns.notify);

    // Read-only calls that support no resource-level permissions.
    // ReplicaLag of the replicas and OldestReplicationSlotLag of their sources; the promotion refines the
    // data-loss bound with the datapoints that arrived while it ran.
    for (const step of ['assess-replica', 'promote-replica'] as const) {
      fns[step].addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricStatistics'], resources: ['*'] }));
    }
    fns['fence-primary'].addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));

    // flip-dns reads the promoted replica's endpoint address from RDS, never from its event.
    for (const step of ['assess-replica', 'promote-replica', 'flip-dns'] as const) {
      fns[step].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: scoped(fns[step], replicaList) }));
    }
    // Every EC2 writer: the primaries and their additional instances. verify-fences stops one found running again.
    const writers = groups.flatMap((g) =>
      [g.primary.instanceId, ...g.primary.additionalInstanceIds].map((id) => ({
        arn: `arn:${partition}:ec2:${g.primary.region}:${account}:instance/${id}`,
        regional: `arn:${partition}:ec2:${g.primary.region}:${account}:instance/*`,
      })),
    );
    for (const step of ['fence-primary', 'verify-fences'] as const) {
      fns[step].addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:StopInstances'], resources: scoped(fns[step], writers) }));
    }
    fns['verify-fences'].addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    // Auto Scaling: which group an instance is in (read-only, no resource-level permissions), and
    // suspending that group's replacing processes. The group's name is only known at failover time:
    // groups in the primaries' regions of this account.
    fns['fence-primary'].addToRolePolicy(new iam.PolicyStatement({ actions: ['autoscaling:DescribeAutoScalingInstances'], resources: ['*'] }));
    fns['fence-primary'].addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['autoscaling:SuspendProcesses'],
        resources: [...new Set(groups.map((g) => g.primary.region))].map((r) => `arn:${partition}:autoscaling:${r}:${account}:autoScalingGroup:*:autoScalingGroupName/*`),
      }),
    );
    // The database fence: read the replica (its source) and the source; change only the source's
    // security groups and reboot it. The deny-all group is found by name (read-only, no resource-level permissions).
    fns['fence-database'].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: scoped(fns['fence-database'], [...replicaList, ...sourceList]) }));
    fns['fence-database'].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:ModifyDBInstance', 'rds:RebootDBInstance'], resources: scoped(fns['fence-database'], sourceList) }));
    fns['fence-database'].addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeSecurityGroups'], resources: ['*'] }));
    fns['verify-fences'].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: scoped(fns['verify-fences'], sourceList) }));
    // The switchover's catch-up: the replica, and the lag metrics (read-only, no resource-level permissions).
    fns['catch-up'].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: scoped(fns['catch-up'], replicaList) }));
    fns['catch-up'].addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricStatistics'], resources: ['*'] }));
    // Network fencing: replace the security groups of interfaces inside the primary's own VPC, and only
    // with that group's isolation group. ModifyNetworkInterfaceAttribute is authorized on the interface
    // and on each security group it names, so each gets a statement: the interface by the ec2:Vpc
    // condition (its id is known only during the failover), the group also by the tag the isolation
    // stack puts on it (isolation.ts) through aws:ResourceTag (EC2 User Guide, "Control access to EC2
    // resources using resource tags"; the Service Authorization Reference lists the security-group
    // resource, with its tag and ec2:Vpc condition keys, for this action).
    // Two statements per isolated group; more groups than IAM can hold that way (MAX_NAMED_RESOURCES / 2)
    // get two per region: interfaces of the region, and only security groups that carry the isolation
    // tag at all (any group's isolation group, not only the group's own: the fence names its own).
    const isolated = groups.filter((x) => x.fence.onUnconfirmed === 'isolate');
    const perGroup = 2 * isolated.length <= MAX_NAMED_RESOURCES;
    const isolationScopes = perGroup
      ? isolated.map((g) => ({ region: g.primary.region, vpc: { 'ec2:Vpc': `arn:${partition}:ec2:${g.primary.region}:${account}:vpc/${g.primary.vpcId}` }, tag: g.name as string | undefined }))
      : [...new Set(isolated.map((g) => g.primary.region))].map((region) => ({ region, vpc: undefined, tag: undefined }));
    for (const { region, vpc, tag } of isolationScopes) {
      const arn = (type: string) => `arn:${partition}:ec2:${region}:${account}:${type}`;
      fns['fence-primary'].addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ec2:ModifyNetworkInterfaceAttribute'],
          resources: [arn('network-interface/*')],
          ...(vpc ? { conditions: { StringEquals: vpc } } : {}),
        }),
      );
      fns['fence-primary'].addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ec2:ModifyNetworkInterfaceAttribute'],
          resources: [arn('security-group/*')],
          conditions: tag
            ? { StringEquals: { ...vpc, [`aws:ResourceTag/${ISOLATION_GROUP_TAG}`]: tag } }
            : { Null: { [`aws:ResourceTag/${ISOLATION_GROUP_TAG}`]: 'false' } },
        }),
      );
    }
    if (groups.some((x) => x.fence.onUnconfirmed === 'isolate')) {
      fns['fence-primary'].addToRolePolicy(
        new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups'], resources: ['*'] }),
      );
    }
    fns['promote-replica'].addToRolePolicy(new iam.PolicyStatement({ actions: ['rds:PromoteReadReplica'], resources: scoped(fns['promote-replica'], replicaList) }));

    const dns = fns['flip-dns'];
    const zoneArn = (z: string) => ({ arn: `arn:${partition}:route53:::hostedzone/${z}`, regional: `arn:${partition}:route53:::hostedzone/*` });
    // dns.mode "health-check": the switch is one metric, written in the controller's region.
    // PutMetricData has no resource-level permissions; the cloudwatch:namespace condition key limits it.
    if (groups.some((g) => g.dns.mode === 'health-check')) {
      dns.addToRolePolicy(new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringEquals: { 'cloudwatch:namespace': DNS_SWITCH_NAMESPACE } },
      }));
      Validations.of(dns.role!).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: `cloudwatch:PutMetricData supports no resource-level permissions; the cloudwatch:namespace condition limits it to ${DNS_SWITCH_NAMESPACE}, the health-check DNS switch.`,
      });
    }
    // Only UPSERTs of the configured names and types, one statement per zone; records of health-check
    // groups are never changed through the API. More names than IAM can hold (MAX_NAMED_RESOURCES):
    // one statement for the zones, UPSERTs of the configured types only.
    const apiGroups = groups.filter((g) => g.dns.mode === 'records');
    const apiZones = zones.filter((z) => apiGroups.some((g) => g.dns.hostedZoneId === z));
    const names = apiGroups.flatMap((g) => g.dns.records.map((r) => r.name));
    const recordTypes = (records: Array<{ type: string }>) => [...new Set(records.map((r) => r.type))];
    if (apiGroups.length > 0) {
      // Read before the change, then follow it to INSYNC: records mode only (health-check mode reads
      // the name servers, no Route 53 API).
      dns.addToRolePolicy(new iam.PolicyStatement({ actions: ['route53:ListResourceRecordSets'], resources: scoped(dns, apiZones.map(zoneArn)) }));
      dns.addToRolePolicy(new iam.PolicyStatement({ actions: ['route53:GetChange'], resources: [`arn:${partition}:route53:::change/*`] }));
    }
    const namesFit = new Set(names).size + apiZones.length <= MAX_NAMED_RESOURCES;
    if (apiGroups.length > 0 && namesFit) {
      for (const zone of apiZones) {
        const records = apiGroups.flatMap((g) => (g.dns.hostedZoneId === zone ? g.dns.records : []));
        dns.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['route53:ChangeResourceRecordSets'],
            resources: [`arn:${partition}:route53:::hostedzone/${zone}`],
            conditions: {
              'ForAllValues:StringEquals': {
                'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...new Set(records.map((r) => r.name))],
                'route53:ChangeResourceRecordSetsRecordTypes': recordTypes(records),
                'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
              },
            },
          }),
        );
      }
    } else if (apiGroups.length > 0) {
      widened.set(dns, (widened.get(dns) ?? new Set()).add('route53:ChangeResourceRecordSetsNormalizedRecordNames'));
      dns.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['route53:ChangeResourceRecordSets'],
          resources: scoped(dns, apiZones.map(zoneArn)),
          conditions: {
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsRecordTypes': recordTypes(apiGroups.flatMap((g) => g.dns.records)),
              'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
            },
          },
        }),
      );
    }
    if (!perGroup) widened.set(fns['fence-primary'], (widened.get(fns['fence-primary']) ?? new Set()).add('ec2:Vpc and the group\'s own isolation tag'));

    // Say what a large config widened, at synth, and acknowledge the wildcards it made (cdk-nag IAM5).
    for (const [fn, what] of widened) {
      const wildcards = [...what].filter((w) => w.endsWith('*'));
      const shown = [...what].map((w) => w.replace(Aws.PARTITION, '<partition>').replace(Aws.ACCOUNT_ID, '<account>'));
      Annotations.of(fn).addWarningV2(
        'failover-controller:widened-permissions',
        `${groups.length} groups name more resources than IAM holds in one role (more than ${MAX_NAMED_RESOURCES} in a statement): ` +
          `this function's role names instead ${shown.join(', ')}`,
      );
      if (wildcards.length > 0) {
        Validations.of(fn.role!).acknowledge(
          ...wildcards.map((w) => ({
            id: wildcardFindingId(w),
            reason: `More configured resources than IAM can name in one role (${MAX_NAMED_RESOURCES} per statement): the action applies to this account's resources of that type in a configured region; the step itself acts only on the resources of the group it was given, from its baked config.`,
          })),
        );
      }
    }
  }
}

/**
 * Put a function in the configured probe VPC (subnets and security groups from the config), so it can
 * reach private endpoints. Without `probeVpc` it runs outside any VPC.
 */
export function placeInProbeVpc(fn: NodejsFunction, config: FailoverConfig): NodejsFunction {
  const vpc = config.probeVpc;
  if (!vpc) return fn;
  (fn.node.defaultChild as lambda.CfnFunction).vpcConfig = { subnetIds: vpc.subnetIds, securityGroupIds: vpc.securityGroupIds };
  // Lambda creates and manages the function's network interfaces with the function's role (Lambda
  // Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC", required IAM
  // permissions): ec2:CreateNetworkInterface; ec2:DescribeNetworkInterfaces, which "only works if it's
  // allowed on all resources"; ec2:DeleteNetworkInterface, where "if you don't specify a resource ID ...
  // your function may not be able to access the VPC. Either specify a unique resource ID, or include all
  // resource IDs"; ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses. The AWS-managed
  // AWSLambdaVPCAccessExecutionRole (v3) adds ec2:DescribeSubnets, and grants it all on "*" with logs.
  // Here: creation only in the configured subnets with the configured security groups (the subnet and
  // security-group resources of CreateNetworkInterface), the interface actions on interfaces of this
  // account and region, the two Describes on "*" (no resource-level permissions).
  const { PARTITION: partition, REGION: region, ACCOUNT_ID: account } = Aws;
  const ec2 = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
  const interfaces = ec2('network-interface/*');
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterface'],
      resources: [interfaces, ...vpc.subnetIds.map((id) => ec2(`subnet/${id}`)), ...vpc.securityGroupIds.map((id) => ec2(`security-group/${id}`))],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], resources: [interfaces] }),
  );
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], resources: ['*'] }));
  Validations.of(fn.role!).acknowledge(
    {
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
      reason:
        'Lambda attaches the function to the probe VPC with its role: ec2:CreateNetworkInterface (only in the configured subnets and security groups), ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses on interfaces Lambda creates, whose ids are not known before; this account and region only.',
    },
    {
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (read-only), which Lambda needs to attach the function to the probe VPC, support no resource-level permissions.',
    },
  );
  return fn;
}

/**
 * What every step function's bundle carries: the validated groups by name, as FAILOVER_GROUPS
 * (lambdas/runtime/baked-groups.ts).
 */
export function stepFunctionBake(config: FailoverConfig): { FAILOVER_GROUPS: Record<string, FailoverConfig['groups'][number]> } {
  return { FAILOVER_GROUPS: groupsByName(config.groups) };
}

/**
 * The most resources one statement names one by one. IAM holds at most 10,240 characters of inline
 * policy per role, 6,144 per managed policy and 10 managed policies per role (20 with a quota increase)
 * (IAM User Guide, "IAM and AWS STS quotas"; whitespace not counted): about 60 characters an ARN, a role
 * whose statements name a few thousand ARNs cannot exist. Up to this many, a statement names the
 * configured resources; beyond, it names every resource of that type in the configured regions of the
 * account (`rds:...:db:*`, `ec2:...:instance/*`), and the synth says so (see `namedOrRegional`).
 */
export const MAX_NAMED_RESOURCES = 40;

/** A configured resource: its ARN, and the ARN pattern of every resource of its type in its region and account. */
export interface ScopedResource {
  readonly arn: string;
  readonly regional: string;
}

/**
 * The configured resources' ARNs when there are at most MAX_NAMED_RESOURCES of them, else their
 * regional patterns (each once). `widened` is true in the second case.
 */
export function namedOrRegional(items: readonly ScopedResource[]): { resources: string[]; widened: boolean } {
  const named = [...new Set(items.map((i) => i.arn))];
  if (named.length <= MAX_NAMED_RESOURCES) return { resources: named, widened: false };
  return { resources: [...new Set(items.map((i) => i.regional))], widened: true };
}

/** An RDS DB instance of this account by identifier and region, or as a configured ARN. */
export function dbResource(region: string, id: string, arn?: string): ScopedResource {
  const { PARTITION: partition, ACCOUNT_ID: account } = Aws;
  if (arn) return { arn, regional: arn.replace(/:db:[^:]+$/, ':db:*') };
  return { arn: `arn:${partition}:rds:${region}:${account}:db:${id}`, regional: `arn:${partition}:rds:${region}:${account}:db:*` };
}

/** The cdk-nag finding id of a wildcard resource (tokens as cdk-nag prints them). */
export function wildcardFindingId(resource: string): string {
  const shown = resource.replace(Aws.PARTITION, '<AWS::Partition>').replace(Aws.ACCOUNT_ID, '<AWS::AccountId>').replace(Aws.REGION, '<AWS::Region>');
  return `AwsSolutions::AwsSolutions-IAM5[Resource::${shown}]`;
}
