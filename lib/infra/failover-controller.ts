/**
 * The failover controller for every group of a validated config: detection (probes and alarm
 * triggers), the workflow, its store, its notification topic, and its dashboard and alarms.
 */
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { FailoverConfig } from '../../lambdas/core/config';
import { Detection } from './detection';
import { Observability } from './observability';
import { OperatorAccess } from './operator-access';
import { Readiness } from './readiness';
import { FailoverStore } from './store-table';
import { allowControllerAlarmsToPublish } from './topic-access';
import { FailoverWorkflow } from './workflow';
import { HealthCheckDns } from './health-check-dns';

export interface FailoverControllerProps {
  /** A config that passed `parseConfig`. */
  readonly config: FailoverConfig;
}

export class FailoverController extends Construct {
  public readonly store: FailoverStore;
  public readonly topic: sns.Topic;
  public readonly workflow: FailoverWorkflow;
  public readonly detection: Detection;
  /** The key the topic is encrypted with. */
  public readonly topicKey: kms.Key;
  public readonly observability: Observability;
  /** The scheduled readiness evaluation and its alarm. */
  public readonly readiness: Readiness;
  /** Undelivered events of the rule targets, dropped asynchronous invocations and failed probe rounds; its alarm is in observability. */
  public readonly deadLetterQueue: sqs.Queue;
  /** failoverctl's read-only and operate policies, and the operator role. */
  public readonly operatorAccess: OperatorAccess;
  /** The failover records, health checks and alarms of the groups with `dns.mode: "health-check"`; none without. */
  public readonly healthCheckDns?: HealthCheckDns;

  constructor(scope: Construct, id: string, props: FailoverControllerProps) {
    super(scope, id);
    const { config } = props;
    this.store = new FailoverStore(this, 'Store');
    // A key of our own, not the AWS-managed alias/aws/sns: CloudWatch alarms can publish to an
    // encrypted topic only if the key's policy lets CloudWatch use it, and the AWS-managed key's
    // policy cannot be changed. The publishing functions get their use of it with grantPublish
    // (topic-access.ts), which also says why each statement is there.
    this.topicKey = new kms.Key(this, 'NotificationsKey', {
      description: 'failover-controller: encrypts the notification topic',
      enableKeyRotation: true,
    });
    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: 'failover-controller',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    allowControllerAlarmsToPublish(this.topic, this.topicKey);
    for (const email of config.notifications.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    // Events the schedules and alarm rules could not deliver, invocations Lambda dropped, and probe rounds
    // the probe function failed (detection.ts, the rounds queue's redrive): SQS-managed encryption (no key
    // to grant EventBridge or the functions), TLS only, kept the 14 days SQS allows.
    this.deadLetterQueue = new sqs.Queue(this, 'UndeliveredEvents', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: "This queue is itself the dead-letter queue of the EventBridge rule targets, of the scheduled functions' asynchronous invocations and of the probe rounds queue; nothing consumes it, so it needs no dead-letter queue of its own.",
    });
    this.workflow = new FailoverWorkflow(this, 'Workflow', { config, table: this.store.table, topic: this.topic });
    if (config.groups.some((g) => g.dns.mode === 'health-check')) this.healthCheckDns = new HealthCheckDns(this, 'HealthCheckDns', { config });
    this.detection = new Detection(this, 'Detection', {
      config,
      table: this.store.table,
      topic: this.topic,
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: this.deadLetterQueue,
    });
    this.readiness = new Readiness(this, 'Readiness', {
      config,
      table: this.store.table,
      topic: this.topic,
      fenceFunction: this.workflow.functions['fence-primary'],
      deadLetterQueue: this.deadLetterQueue,
    });
    // grantPublish on the encrypted topic grants kms:Decrypt and kms:GenerateDataKey* on its key, the
    // pair SNS documents for publishers (it makes the data key the message is encrypted with).
    for (const publisher of [this.workflow.functions.notify, this.detection.probeFunction]) {
      if (!publisher?.role) continue;
      Validations.of(publisher.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: 'Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* (as SNS documents it), granted on the topic\'s own key only.',
      });
    }
    this.observability = new Observability(this, 'Observability', {
      config,
      topic: this.topic,
      stateMachine: this.workflow.stateMachine,
      probeFunction: this.detection.probeFunction,
      deadLetterQueue: this.deadLetterQueue,
      readinessFunction: this.readiness.function,
    });

    this.operatorAccess = new OperatorAccess(this, 'Operators', { config, table: this.store.table, stateMachine: this.workflow.stateMachine });
    // Only the functions granted a write (grantItemAccess) and the operator role may write the store's items.
    this.store.denyItemWritesExcept([this.operatorAccess.operatorRole]);

    // What failoverctl reads to find the deployment.
    new CfnOutput(this, 'StateMachineArn', { key: 'StateMachineArn', value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { key: 'TableName', value: this.store.table.tableName });
    new CfnOutput(this, 'TopicArn', { key: 'TopicArn', value: this.topic.topicArn });
    if (this.observability.dashboard) new CfnOutput(this, 'DashboardName', { key: 'DashboardName', value: this.observability.dashboard.dashboardName });
  }
}
