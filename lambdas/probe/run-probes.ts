/**
 * The probe Lambda. EventBridge invokes it once a minute (its finest schedule); inside one invocation
 * it probes every group at the group's `intervalSeconds`, at round times aligned to the clock, so an
 * overlapping invocation runs the very same rounds and the conditional write of the counters lets only
 * one of them count. When a group is declared down it starts the failover workflow under a name derived
 * from the group and the outage's start: seeing the same outage again cannot start a second execution.
 */
import { CLIENT_CONFIG } from '../runtime/client-config';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { GroupConfig } from '../core/config';
import { once } from '../runtime/deps';
import { requireEnv } from '../runtime/env';
import { awsErrorName } from '../core/errors';
import { METRIC, metricsOf, type MetricsSink } from '../runtime/metrics';
import { lambdaMetrics, logFor, type LambdaContext, logger } from '../runtime/powertools';
import { Store, type ProbeState } from '../core/store';
import { automaticTriggerBlocked } from '../core/trigger-gate';
import { checkAll, type ProbeResult } from './check-endpoint';
import { advanceCounters, judgeRound, NO_COUNTERS } from './detect';

/** What detection needs of a group's config. */
export type ProbeGroup = Pick<GroupConfig, 'name' | 'probes' | 'detection'>;

/** How long one invocation probes: its minute plus a little overlap with the next, so no round is missed. */
export const INVOCATION_WINDOW_MS = 62_000;

export interface ProbeDeps {
  now(): number;
  /** Resolve at the given epoch ms (at once if it has passed). */
  sleepUntil(ms: number): Promise<void>;
  check(probes: ProbeGroup['probes']): Promise<ProbeResult[]>;
  store(): Store;
  sfn(): SFNClient;
  sns(): SNSClient;
  stateMachineArn(): string;
  topicArn(): string;
  log(entry: Record<string, unknown>): void;
  /** CloudWatch metrics (EMF). Without one, the EMF documents go through `log`. */
  metrics?: MetricsSink;
}

export interface RoundReport {
  group: string;
  roundAt: number;
  failed: boolean;
  counted: boolean;
  reason: string;
  /** What was done about a declared outage: the execution started (or already started), or why none. */
  action?: string;
}

/** The execution name for an outage: the same outage always gives the same name. */
export function executionNameFor(group: string, outageStartedAt: number): string {
  return `probe-${group}-${new Date(outageStartedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** Probe every group until the window closes; the groups run concurrently and never wait for each other. */
export async function runInvocation(groups: ProbeGroup[], deps: ProbeDeps, windowMs = INVOCATION_WINDOW_MS): Promise<RoundReport[]> {
  const start = deps.now();
  const reports = await Promise.all(groups.filter((g) => g.probes.length > 0).map((g) => probeGroup(g, start, start + windowMs, deps)));
  return reports.flat();
}

async function probeGroup(group: ProbeGroup, start: number, end: number, deps: ProbeDeps): Promise<RoundReport[]> {
  const interval = group.detection.intervalSeconds * 1000;
  const longest = Math.max(...group.probes.map((p) => p.timeoutMs));
  const reports: RoundReport[] = [];
  // Aligned to multiples of the interval, so every invocation agrees on the round times.
  for (let roundAt = Math.ceil(start / interval) * interval; roundAt + longest <= end; roundAt += interval) {
    await deps.sleepUntil(roundAt);
    try {
      reports.push(await runRound(group, roundAt, deps));
    } catch (err) {
      // One bad round (the store throttled, say) must not end the invocation's watch.
      deps.log({ level: 'ERROR', message: 'probe round failed', group: group.name, roundAt, error: `${awsErrorName(err)}: ${(err as Error).message}` });
    }
  }
  return reports;
}

export async function runRound(group: ProbeGroup, roundAt: number, deps: ProbeDeps): Promise<RoundReport> {
  const results = await deps.check(group.probes);
  const verdict = judgeRound(results, group.detection.quorum);

  const store = deps.store();
  const previous = (await store.getProbeState(group.name)) ?? { group: group.name, ...NO_COUNTERS };
  const detection = advanceCounters(previous, verdict, roundAt, group.detection.failureThreshold);
  const report: RoundReport = { group: group.name, roundAt, failed: verdict.failed, counted: false, reason: detection.reason };
  if (detection.counters.lastRoundAt === previous.lastRoundAt) return report; // stale: counted elsewhere

  const next: ProbeState = {
    group: group.name,
    ...detection.counters,
    lastRound: { failed: verdict.failed, reason: verdict.reason },
    handledOutage: detection.counters.outageStartedAt !== null ? previous.handledOutage : undefined,
    handledAs: detection.counters.outageStartedAt !== null ? previous.handledAs : undefined,
  };
  if (detection.declaredDown && detection.counters.outageStartedAt !== null && previous.handledOutage !== detection.counters.outageStartedAt) {
    const action = await actOnOutage(group, roundAt, detection.counters.outageStartedAt, detection.counters.consecutiveFailures, verdict.reason, deps);
    report.action = action.description;
    if (action.handled) {
      next.handledOutage = detection.counters.outageStartedAt;
      next.handledAs = action.description;
    }
  }
  report.counted = await store.putProbeState(next, previous.lastRoundAt);
  // Only the invocation whose write counted the round reports it, so an overlapping invocation
  // running the same round does not count it twice in ProbeRounds and RoundFailed.
  if (report.counted) emitMetrics(group.name, roundAt, results, verdict.failed, detection.counters.consecutiveFailures, deps);
  deps.log({ level: verdict.failed ? 'WARN' : 'INFO', message: 'probe round', group: group.name, roundAt: new Date(roundAt).toISOString(), counted: report.counted, reason: detection.reason, round: verdict.reason, ...(report.action ? { action: report.action } : {}) });
  return report;
}

/**
 * The primary is down: start the workflow, unless the group may not fail over automatically now, in
 * which case the outage is reported once instead.
 */
async function actOnOutage(
  group: ProbeGroup,
  roundAt: number,
  outageStartedAt: number,
  failedRounds: number,
  roundReason: string,
  deps: ProbeDeps,
): Promise<{ handled: boolean; description: string }> {
  const blocked = automaticTriggerBlocked(group, 'probe', await deps.store().getGroupState(group.name), roundAt);
  if (blocked) {
    const message = `${group.name}: primary down since ${new Date(outageStartedAt).toISOString()} (${failedRounds} failed rounds), but no automatic failover: ${blocked.replace(/^skipping: /, '')}.\nLast round: ${roundReason}`;
    try {
      await deps.sns().send(new PublishCommand({ TopicArn: deps.topicArn(), Subject: `failover ${group.name}: primary down, not failing over`.slice(0, 100), Message: message }));
      return { handled: true, description: `reported, not started: ${blocked}` };
    } catch (err) {
      return { handled: false, description: `could not report (${awsErrorName(err)}); will try again next round: ${blocked}` };
    }
  }
  const name = executionNameFor(group.name, outageStartedAt);
  const input = {
    group: group.name,
    reason: `probes: primary down, ${failedRounds} consecutive failed rounds (threshold ${group.detection.failureThreshold}); ${roundReason}`.slice(0, 1024),
    trigger: { type: 'probe', at: new Date(roundAt).toISOString(), outageStartedAt: new Date(outageStartedAt).toISOString(), failedRounds },
  };
  try {
    await deps.sfn().send(new StartExecutionCommand({ stateMachineArn: deps.stateMachineArn(), name, input: JSON.stringify(input) }));
    return { handled: true, description: `started ${name}` };
  } catch (err) {
    if (awsErrorName(err) === 'ExecutionAlreadyExists') return { handled: true, description: `already started ${name}` };
    return { handled: false, description: `StartExecution ${name} failed (${awsErrorName(err)}); will try again next round` };
  }
}

/**
 * Probe results as CloudWatch metrics (EMF: log lines, no API calls), at the round's time: one document
 * per probe (dimensions Group, Probe) and one for the round (dimension Group).
 */
function emitMetrics(group: string, roundAt: number, results: ProbeResult[], failed: boolean, consecutiveFailures: number, deps: ProbeDeps): void {
  const metrics = metricsOf(deps);
  for (const r of results) {
    metrics.emit({
      timestamp: roundAt,
      dimensions: { Group: group, Probe: r.probe },
      values: [
        { name: METRIC.probeSuccess, unit: 'Count', value: r.ok ? 1 : 0 },
        { name: METRIC.probeLatency, unit: 'Milliseconds', value: r.latencyMs },
      ],
    });
  }
  metrics.emit({
    timestamp: roundAt,
    dimensions: { Group: group },
    values: [
      { name: METRIC.probeRounds, unit: 'Count', value: 1 },
      { name: METRIC.roundFailed, unit: 'Count', value: failed ? 1 : 0 },
      { name: METRIC.consecutiveFailures, unit: 'Count', value: consecutiveFailures },
    ],
  });
}

// The groups' probe settings are bundled into the function at synth (esbuild `define`), so they have
// no size limit and no environment variable carries them.
declare const FAILOVER_PROBE_GROUPS: ProbeGroup[];

const deps: ProbeDeps = {
  now: Date.now,
  sleepUntil: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now()))),
  check: checkAll,
  store: once(() => new Store(new DynamoDBClient(CLIENT_CONFIG), requireEnv('TABLE_NAME'))),
  sfn: once(() => new SFNClient(CLIENT_CONFIG)),
  sns: once(() => new SNSClient(CLIENT_CONFIG)),
  stateMachineArn: () => requireEnv('STATE_MACHINE_ARN'),
  topicArn: () => requireEnv('TOPIC_ARN'),
  // Each line names its own group; the invocation covers them all.
  log: logFor(undefined),
  metrics: lambdaMetrics(),
};

export const handler = async (_event: unknown, context?: LambdaContext) => {
  if (context) logger.addContext(context);
  const groups = FAILOVER_PROBE_GROUPS;
  const rounds = await runInvocation(groups, deps);
  const summary = { rounds: rounds.length, failed: rounds.filter((r) => r.failed).length, actions: rounds.flatMap((r) => (r.action ? [r.action] : [])) };
  deps.log({ level: 'INFO', message: 'probe invocation', groups: groups.map((g) => g.name), ...summary });
  return summary;
};
