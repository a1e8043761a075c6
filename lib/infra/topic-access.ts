/**
 * Who may publish to the notification topic, and how.
 *
 * - The controller's CloudWatch alarms publish as the `cloudwatch.amazonaws.com` service principal. The
 *   topic has an explicit policy (the TLS-only Deny), which replaces SNS's default one, so the alarms need
 *   an Allow in it; and since the topic is encrypted with our key, the key's policy must let CloudWatch use
 *   it. Both are limited to this account (`aws:SourceAccount`) and to this stack's alarms
 *   (`aws:SourceArn`): every alarm the stack makes is named `<stackName>-...` (controllerAlarmName).
 *   CloudWatch's error without the topic statement: "Resource: arn:aws:cloudwatch:<region>:<account>:
 *   alarm:<name> is not authorized to perform: SNS:Publish on resource: <topic>" (AWS re:Post knowledge
 *   center, "Why didn't I receive an SNS notification for my CloudWatch alarm trigger?").
 *   SNS Developer Guide, "Managing Amazon SNS encryption keys" → "Enable compatibility between event
 *   sources from AWS services and encrypted topics": the service principal (CloudWatch:
 *   `cloudwatch.amazonaws.com`) needs `kms:GenerateDataKey*` and `kms:Decrypt` in the key policy; "Add the
 *   aws:SourceAccount and aws:SourceArn condition keys to the KMS resource policy to further protect the
 *   KMS key from confused deputy attacks" (not supported only for EventBridge-to-encrypted topics, which
 *   this stack does not use).
 * - The controller's functions publish with their own roles: `sns:Publish` on the topic, and the key's
 *   `kms:GenerateDataKey*` and `kms:Decrypt` (SNS Developer Guide, same page, "Allow a user to send
 *   messages to a topic with SSE") only when SNS makes the call for them: `kms:ViaService` is
 *   `sns.<region>.amazonaws.com` (AWS KMS Developer Guide, "kms:ViaService": SNS is among the services that
 *   support the key, with that name in every partition).
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** The name of one of the stack's alarms: `<stackName>-<name>`. The topic's policy relies on the prefix. */
export function controllerAlarmName(scope: Construct, name: string): string {
  return `${Stack.of(scope).stackName}-${name}`;
}

/** Every alarm this stack makes, as `aws:SourceArn` sees it: `arn:<partition>:cloudwatch:<region>:<account>:alarm:<stackName>-*`. */
export function controllerAlarmArnPattern(scope: Construct): string {
  return `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${controllerAlarmName(scope, '*')}`;
}

/** The conditions that limit the CloudWatch service principal to this account's alarms of this stack. */
function fromControllerAlarms(scope: Construct): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': controllerAlarmArnPattern(scope) },
  };
}

/** Let this stack's CloudWatch alarms publish to the topic, through its key. */
export function allowControllerAlarmsToPublish(topic: sns.Topic, key: kms.Key): void {
  const cloudwatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'ControllerAlarmsPublish',
      principals: [cloudwatch],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromControllerAlarms(topic),
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'ControllerAlarmsPublishToTheTopic',
      principals: [cloudwatch],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromControllerAlarms(key),
    }),
  );
}

/**
 * `sns:Publish` on the topic and, for an encrypted topic, the key actions a publisher needs, usable only
 * through SNS in the topic's region. (CDK's `grantPublish` grants the same actions without the condition.)
 */
export function grantPublish(topic: sns.ITopic, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [topic.topicArn] });
  if (!topic.masterKey) return;
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: [topic.masterKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${Stack.of(topic).region}.amazonaws.com` } },
    }),
  );
}
