/**
 * The failover controller for every group of a validated config: detection (probes and alarm
 * triggers), the workflow, its store and its notification topic.
 */
import { CfnOutput } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { FailoverConfig } from './config';
import { Detection } from './detection';
import { FailoverStore } from './store';
import { FailoverWorkflow } from './workflow';

export interface FailoverControllerProps {
  /** A config that passed `parseConfig`. */
  readonly config: FailoverConfig;
}

export class FailoverController extends Construct {
  public readonly store: FailoverStore;
  public readonly topic: sns.Topic;
  public readonly workflow: FailoverWorkflow;
  public readonly detection: Detection;

  constructor(scope: Construct, id: string, props: FailoverControllerProps) {
    super(scope, id);
    const { config } = props;
    this.store = new FailoverStore(this, 'Store');
    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: 'failover-controller',
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    for (const email of config.notifications.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    this.workflow = new FailoverWorkflow(this, 'Workflow', { config, table: this.store.table, topic: this.topic });
    this.detection = new Detection(this, 'Detection', {
      config,
      table: this.store.table,
      topic: this.topic,
      stateMachine: this.workflow.stateMachine,
    });

    // What failoverctl reads to find the deployment.
    new CfnOutput(this, 'StateMachineArn', { key: 'StateMachineArn', value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { key: 'TableName', value: this.store.table.tableName });
    new CfnOutput(this, 'TopicArn', { key: 'TopicArn', value: this.topic.topicArn });
  }
}
