/**
 * The scheduled readiness function: every `readiness.intervalMinutes` it evaluates every group
 * (evaluate.ts); writes `Ready` (0) for each group that is not ready and `GroupsNotReady` (how many)
 * for the deployment, only while at least one is not: CloudWatch bills a custom metric for the hours
 * it is sent in, so a healthy estate sends none (the readiness alarm tells a run that did not happen
 * or failed from the function's own AWS/Lambda metrics, observability.ts); stores the result for
 * `failoverctl status`, and notifies the topic when a group changes between ready and not ready: once
 * per change, not on every run. A group found not ready on the very first run is a change too (from
 * unknown); one found ready is not.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { GroupConfig } from '../core/config';
import { Store, type ReadinessItem } from '../core/store';
import { vantagesFromEnv } from '../core/vantage';
import { once, perRegion, type StepDeps } from '../runtime/deps';
import { requireEnv } from '../runtime/env';
import { METRIC, metricsOf } from '../runtime/metrics';
import { lambdaMetrics, logFor, logger, type LambdaContext } from '../runtime/powertools';
import { evaluateReadiness, type DryRunAnswer, type GroupReadiness, type ReadinessDeps, type ReadinessReport } from './evaluate';

export type ScheduledDeps = ReadinessDeps & Pick<StepDeps, 'sns' | 'topicArn' | 'log' | 'metrics'>;

export interface ScheduledResult {
  report: ReadinessReport;
  /** The groups whose change was notified. */
  notified: string[];
}

export async function runScheduled(groups: GroupConfig[], deps: ScheduledDeps): Promise<ScheduledResult> {
  const report = await evaluateReadiness(groups, deps);
  const sink = metricsOf(deps);
  const timestamp = deps.now();
  const notReady = report.groups.filter((x) => !x.ready);
  for (const g of notReady) {
    sink.emit({ timestamp, dimensions: { Group: g.group }, values: [{ name: METRIC.ready, unit: 'Count', value: 0 }] });
  }
  if (notReady.length > 0) sink.emit({ timestamp, dimensions: {}, values: [{ name: METRIC.groupsNotReady, unit: 'Count', value: notReady.length }] });

  const notified: string[] = [];
  for (const g of report.groups) {
    if (await storeAndDetectChange(g, report.checkedAt, deps)) {
      await notifyChange(g, deps);
      notified.push(g.group);
    }
    deps.log({ level: g.ready ? 'INFO' : 'WARN', message: 'readiness', group: g.group, ready: g.ready, problems: g.problems });
  }
  return { report, notified };
}

/** Store the result; true when it changed ready/not ready (and this run is the one that stored it). */
async function storeAndDetectChange(g: GroupReadiness, checkedAt: string, deps: ScheduledDeps): Promise<boolean> {
  const store = deps.store();
  const previous = await store.getReadiness(g.group);
  const changed = previous ? previous.ready !== g.ready : !g.ready;
  const item: ReadinessItem = {
    group: g.group,
    ready: g.ready,
    checkedAt,
    problems: g.problems.map(({ check, resource, reason }) => ({ check, resource, reason })),
    since: previous && !changed ? previous.since : checkedAt,
  };
  const stored = await store.putReadiness(item, previous?.checkedAt ?? null);
  return stored && changed;
}

async function notifyChange(g: GroupReadiness, deps: ScheduledDeps): Promise<void> {
  const subject = g.ready ? `failover-controller: ${g.group} is ready for a failover again` : `failover-controller: ${g.group} is NOT READY for a failover`;
  const lines = g.ready
    ? [`Group ${g.group} passed every readiness check: a failover would work as configured.`]
    : [
        `Group ${g.group} is not ready: a failover now would not work as configured. ${g.problems.length} problem(s):`,
        ...g.problems.map((p) => `- [${p.check}] ${p.resource}: ${p.reason}`),
        '',
        `Check again with: failoverctl check ${g.group}`,
      ];
  await deps.sns().send(new PublishCommand({ TopicArn: deps.topicArn(), Subject: subject.slice(0, 100), Message: lines.join('\n') }));
}

// The deployed groups, baked into the bundle at synth (see lib/infra/readiness.ts).
declare const FAILOVER_READINESS_GROUPS: GroupConfig[];

/**
 * The fence function answers the DryRun with its own role, so the check covers the permission a
 * failover will use (this function holds no StopInstances permission). It is asked by group name only:
 * which instances, in which region, it takes from its own deployed config.
 */
const lambdaClient = /* @__PURE__ */ once(() => new LambdaClient({ ...CLIENT_CONFIG, requestHandler: { ...CLIENT_CONFIG.requestHandler, requestTimeout: 15_000 } }));
async function askFence(group: GroupConfig): Promise<DryRunAnswer> {
  const out = await lambdaClient().send(
    new InvokeCommand({ FunctionName: requireEnv('FENCE_FUNCTION_NAME'), Payload: JSON.stringify({ dryRun: { group: group.name } }) }),
  );
  const text = new TextDecoder().decode(out.Payload);
  if (out.FunctionError) {
    const error = JSON.parse(text || '{}') as { errorType?: string; errorMessage?: string };
    throw Object.assign(new Error(`the fence function failed: ${error.errorMessage ?? text}`), { name: error.errorType ?? 'FenceFunctionError' });
  }
  return JSON.parse(text) as DryRunAnswer;
}

const deps: ScheduledDeps = {
  now: Date.now,
  ec2: perRegion((region) => new EC2Client({ region, ...CLIENT_CONFIG })),
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_CONFIG })),
  autoscaling: perRegion((region) => new AutoScalingClient({ region, ...CLIENT_CONFIG })),
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, ...CLIENT_CONFIG })),
  route53: once(() => new Route53Client({ region: 'us-east-1', ...CLIENT_CONFIG })),
  sns: once(() => new SNSClient(CLIENT_CONFIG)),
  store: once(() => new Store(new DynamoDBClient(CLIENT_CONFIG), requireEnv('TABLE_NAME'))),
  topicArn: () => requireEnv('TOPIC_ARN'),
  controllerRegion: process.env.AWS_REGION ?? 'us-east-1',
  fenceDryRun: askFence,
  vantages: { targets: vantagesFromEnv(), lambda: perRegion((region) => new LambdaClient({ region, ...CLIENT_CONFIG })) },
  log: logFor(undefined),
  metrics: /* @__PURE__ */ lambdaMetrics(),
};

export const handler = async (_event: unknown, context?: LambdaContext) => {
  if (context) logger.addContext(context);
  const groups = FAILOVER_READINESS_GROUPS;
  const { report, notified } = await runScheduled(groups, deps);
  return { checkedAt: report.checkedAt, ready: report.groups.filter((g) => g.ready).map((g) => g.group), notReady: report.groups.filter((g) => !g.ready).map((g) => g.group), notified };
};
