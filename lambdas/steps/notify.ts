/**
 * Step 7a: tell a person what happened. Publishes the execution's record to the SNS topic, as text for
 * people and as JSON for machines. A failed notification never undoes or fails the failover: it is
 * reported back and ends up in the history item. With `recordLost`, the history could not be stored,
 * so the notification carries the complete record instead.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { PublishCommand, SNSClient, type MessageAttributeValue } from '@aws-sdk/client-sns';
import { once, type StepDeps } from '../runtime/deps';
import { bakedGroups } from '../runtime/baked-groups';
import { deployedGroupNamed } from '../core/deployed-group';
import { requireEnv } from '../runtime/env';
import { awsErrorName, isTransient, TransientAwsError } from '../core/errors';
import { buildHistoryItem, type HistoryItem } from '../core/history';
import { stepHandler } from '../runtime/powertools';
import type { NotificationResult, WorkflowState } from '../core/workflow-state';

export type NotifyEvent = { state: WorkflowState; recordLost?: { Error: string; Cause?: string } };

type Deps = Pick<StepDeps, 'now' | 'sns' | 'topicArn' | 'log' | 'groups'>;

export function formatSubject(item: HistoryItem): string {
  const rto = item.rtoSeconds !== null ? ` in ${item.rtoSeconds} s` : '';
  const dry = item.dryRun ? ' [dry run]' : '';
  // SNS subjects: ASCII, at most 100 characters.
  return `failover ${item.group}: ${item.outcome}${rto}${dry}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

/**
 * Only a promotion can lose data. The estimate is an upper bound; the line says it and its basis
 * (lambdas/core/data-loss.ts).
 */
export function dataLossLine(item: HistoryItem): string {
  const promoted = item.promotion?.confirmed === true && !item.dryRun;
  const reason = item.dataLoss?.reason;
  if (!promoted) return `Data loss: none (nothing was promoted)`;
  if (item.dataLossSeconds === null) return `Data loss: unknown${reason ? ` (${reason.replace(/^unknown: /, '')})` : ''}`;
  return `Data loss: up to ${item.dataLossSeconds} s${reason ? ` (estimate: ${reason.replace(/^at most \d+ s of writes, those /, 'writes ')})` : ''}`;
}

/** One line per candidate replica, when the group has several (or any was not the one promoted). */
function replicaLines(item: HistoryItem): string[] {
  const replicas = item.replicas ?? [];
  if (replicas.length < 2) return [];
  return ['', 'Replicas:', ...replicas.map((r) => `  ${r.chosen ? '*' : '-'} ${r.id} (${r.region}${r.engine ? `, ${r.engine}` : ''}): ${r.reason}`)];
}

/**
 * The execution in the Step Functions console, in the execution's own region (read from its ARN):
 * `arn:aws:states:us-east-1:123456789012:execution:Machine:name` →
 * `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:...`.
 * Undefined for an ARN that is not a Step Functions execution in the commercial partition (whose
 * console lives elsewhere).
 */
export function executionConsoleUrl(executionArn: string): string | undefined {
  const [arn, partition, service, region, , resource] = executionArn.split(':');
  if (arn !== 'arn' || partition !== 'aws' || service !== 'states' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region ?? '') || resource !== 'execution') {
    return undefined;
  }
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** What a machine reads: the history item, and the execution's console link. */
export function notificationRecord(item: HistoryItem): HistoryItem & { consoleUrl: string | null } {
  return { ...item, consoleUrl: executionConsoleUrl(item.executionArn) ?? null };
}

export function formatMessage(item: HistoryItem, recordLost?: string): string {
  const consoleUrl = executionConsoleUrl(item.executionArn);
  const lines = [
    `Group:     ${item.group}`,
    `Outcome:   ${item.outcome}${item.dryRun ? ' (dry run)' : ''}`,
    `Summary:   ${item.summary}`,
    `Trigger:   ${item.trigger.type}: ${item.reason}`,
    `Mode:      ${item.mode}${item.force ? ' (forced)' : ''}`,
    ...(item.attestation ? [`Attested:  by ${item.attestation.by} at ${item.attestation.at} that the writers are fenced by other means: ${item.attestation.reason}`] : []),
    `RTO:       ${item.rtoSeconds !== null ? `${item.rtoSeconds} s` : 'n/a'}`,
    dataLossLine(item),
    `Execution: ${item.executionArn}`,
    ...(consoleUrl ? [`Console:   ${consoleUrl}`] : []),
    '',
    'Steps:',
    ...item.steps.map((s) => `  ${s.step.padEnd(8)} ${s.durationSeconds !== null ? `${s.durationSeconds} s`.padStart(8) : '  (open)'}  ${s.result}`),
  ];
  lines.push(...replicaLines(item));
  const writers = item.fence?.writers ?? [];
  if (writers.length > 0) {
    lines.push(
      '',
      'Writers:',
      ...writers.map((w) => `  ${w.kind} ${w.id} (${w.region}): ${w.state}, ${w.fenced ? `fenced (${w.method})` : `NOT fenced (${w.method}${w.method === 'isolate' ? ': new connections blocked only' : ''})`}`),
    );
  }
  if (item.dnsChanges.length > 0) {
    lines.push('', 'DNS:', ...item.dnsChanges.map((c) => `  ${c.type} ${c.name} TTL ${c.ttl}: ${c.before?.join(',') ?? '(none)'} -> ${c.after.join(',')}`));
  }
  if (item.error) lines.push('', `Error: ${item.error.name}: ${item.error.cause}`);
  if (item.plannedActions.length > 0) lines.push('', 'A real run would:', ...item.plannedActions.map((a) => `  - ${a}`));
  if (recordLost) lines.push('', `THE HISTORY ITEM COULD NOT BE STORED (${recordLost}); this message is the record.`);
  lines.push('', '--- record (JSON) ---', JSON.stringify(notificationRecord(item)));
  return lines.join('\n');
}

/** For subscription filter policies: the group, the outcome and, after a failover, its RTO. */
export function messageAttributes(item: HistoryItem): Record<string, MessageAttributeValue> {
  return {
    group: { DataType: 'String', StringValue: item.group },
    outcome: { DataType: 'String', StringValue: item.outcome },
    ...(item.rtoSeconds !== null ? { rtoSeconds: { DataType: 'Number', StringValue: String(item.rtoSeconds) } } : {}),
  };
}

export async function run(event: NotifyEvent, deps: Deps): Promise<NotificationResult> {
  // The deployed group's ids and regions in the message. Not held to the config the execution was
  // planned with: a notification acts on nothing of the group, and must still go out for an execution
  // that a deployment stopped (ConfigMismatch).
  const group = deployedGroupNamed(deps.groups(), event.state.plan.group?.name);
  const item = buildHistoryItem(event.state, group, deps.now());
  if (event.recordLost) {
    // The log is the other place the record survives when the store is down.
    deps.log({ level: 'ERROR', message: 'history item not stored', error: event.recordLost, record: item });
  }
  const lost = event.recordLost ? `${event.recordLost.Error}` : undefined;
  try {
    const out = await deps.sns().send(
      new PublishCommand({
        TopicArn: deps.topicArn(),
        Subject: formatSubject(item),
        Message: formatMessage(item, lost),
        MessageAttributes: messageAttributes(item),
      }),
    );
    return { notified: true, messageId: out.MessageId, at: deps.now() };
  } catch (err) {
    if (isTransient(err)) throw new TransientAwsError(`SNS Publish failed: ${awsErrorName(err)}: ${(err as Error).message}`);
    return { notified: false, error: `${awsErrorName(err)}: ${(err as Error).message}`, at: deps.now() };
  }
}

const deps: Omit<Deps, 'log'> = { now: Date.now, groups: bakedGroups, sns: once(() => new SNSClient(CLIENT_CONFIG)), topicArn: () => requireEnv('TOPIC_ARN') };
export const handler = stepHandler('notify', (event: NotifyEvent, log) => run(event, { ...deps, log }));
