/**
 * The monthly bill of a deployment that probes N endpoints every 10 s (one endpoint per group, so N
 * groups), from measured quantities and published prices, beside Route 53 health checks and an ARC
 * cluster for the same endpoints. One failover a month is included.
 */
import type { ProbeMinute } from './probe-invocation';
import { BYTES_PER_GB, HOURS_PER_MONTH, PRICES } from './prices';

import { REMOTE_ANSWER_MS } from './probe-invocation';
import { PROBE_MEMORY_MB, shardGroups, SHARDS_PER_ROUNDS_QUEUE } from '../../lambdas/core/probe-shards';

/** The readiness function's memory: controllerFunction's default (lib/infra/controller-function.ts). */
export const READINESS_MEMORY_MB = 256;
/**
 * Lambda does not say how long an idle-free execution environment lives; each new one reads every
 * group's counters once (run-probes.ts, ProbeMemory). Counted as one new environment per shard every
 * 15 minutes, which errs on the high side.
 */
export const ENVIRONMENTS_PER_SHARD_HOUR = 4;
/** A failover step invocation billed as 2 s: a cold start and a few AWS calls (the handlers run in milliseconds). */
export const FAILOVER_STEP_BILLED_SECONDS = 2;
export const COST_TARGET_USD = 5;
export const COST_TARGET_ENDPOINTS = 100;
/** The second target of issue 15. */
export const COST_TARGET_1000_USD = 20;

/** How many probe invocations (shards) N groups of one probe need. */
export function shardsFor(groups: number): number {
  return shardGroups(Array.from({ length: groups }, () => ({ probes: [{}] }))).length;
}

export interface FailoverUsage {
  transitions: number;
  lambdaInvocations: number;
  /** Execution log (level ALL with data) plus the steps' own lines, bytes. */
  logBytes: number;
  stepMemoryMb: number;
}

export interface CostLine {
  item: string;
  usd: number;
  /** The arithmetic, written out. */
  arithmetic: string;
}

export interface CostCase {
  endpoints: number;
  /** What the endpoints speak (the measured minute's). */
  protocol: ProbeMinute['protocol'];
  groups: number;
  /** Shards, each with its schedule and its rounds; `invocation` is a minute measured for one shard. */
  shards: number;
  invocation: ProbeMinute;
  lines: CostLine[];
  totalUsd: number;
  route53HealthChecksUsd: number;
  route53Arithmetic: string;
  arcClusterUsd: number;
  arcArithmetic: string;
}

const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60; // rate(1 minute)

/**
 * Lambda's pollers of the rounds queue, when it is idle: "When traffic is low, Lambda scales back the
 * processing to five concurrent batches, and can optimize to as few as 2" (Lambda Developer Guide,
 * "Configuring scaling behavior for SQS event source mappings"), each a long poll of at most 20 s (SQS
 * Developer Guide, "Amazon SQS short and long polling"). Counted as 5 pollers each receiving every 20 s,
 * empty: 15 requests a minute for each rounds queue (one for SHARDS_PER_ROUNDS_QUEUE shards), which
 * errs high (a receive that returns a message is counted with the message).
 */
export const IDLE_POLLERS = 5;
export const LONG_POLL_SECONDS = 20;

const usd = (v: number) => (v === 0 ? '$0.00' : v >= 1 ? `$${v.toFixed(2)}` : v >= 0.01 ? `$${v.toFixed(3)}` : `$${v.toPrecision(2)}`);
const count = (v: number) => Math.round(v).toLocaleString('en-US');
const trim = (text: string) => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);
/** Unit prices as the pricing pages write them. */
const cents = (v: number) => v.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1');
const perMillion = (v: number) => `$${cents(v * 1e6)} per million`;
const perThousand = (v: number) => `$${cents(v * 1e3)} per 1,000`;
const rate = (v: number) => `$${v < 0.01 ? trim(v.toFixed(10)) : v.toFixed(2)}`;

/**
 * The scheduled readiness function (lambdas/readiness): one invocation every `intervalMinutes`, billed
 * like a failover step (FAILOVER_STEP_BILLED_SECONDS at 256 MB), and its metrics: GroupsNotReady, and
 * Ready per group only for a group that is not ready (none in a healthy month).
 */
export interface ReadinessUsage {
  intervalMinutes: number;
}

/**
 * The month of N groups, from one measured shard invocation (`invocation`, for `invocation.groups`
 * groups; every shard is that size or smaller) times `shards`.
 */
/** What the stack itself holds that is billed by the month: alarm metrics and dashboards (counted in its template). */
export interface StackFixtures {
  alarmMetrics: number;
  dashboards: number;
}

export function monthlyCost(invocation: ProbeMinute, failover: FailoverUsage, stack: StackFixtures, readiness: ReadinessUsage = { intervalMinutes: 15 }, shards = 1, endpoints = invocation.groups * invocation.probesPerGroup): CostCase {
  const alarms = stack.alarmMetrics;
  const n = MINUTES_PER_MONTH * shards; // shard-minutes
  const invocations = n * invocation.invocations;
  const gb = PROBE_MEMORY_MB / 1024;
  const seconds = invocation.billedMs / 1000;
  const probeLogGb = (invocation.logBytes * n) / BYTES_PER_GB;
  const queues = Math.ceil(shards / SHARDS_PER_ROUNDS_QUEUE);
  const idlePolls = MINUTES_PER_MONTH * IDLE_POLLERS * (60 / LONG_POLL_SECONDS) * queues;
  // Each message is received once and deleted once by the mapping (one message a batch).
  const sqsRequests = n * (invocation.sendCalls + 2 * invocation.messages) + idlePolls;
  const failoverLogGb = failover.logBytes / BYTES_PER_GB;
  const stepGb = failover.stepMemoryMb / 1024;
  const readinessGb = READINESS_MEMORY_MB / 1024;
  const P = PRICES;
  const readinessRuns = (HOURS_PER_MONTH * 60) / readiness.intervalMinutes;
  const coldReads = HOURS_PER_MONTH * ENVIRONMENTS_PER_SHARD_HOUR * shards * invocation.cold.getItems;
  const groups = endpoints; // one probe per group
  const shardNote = shards === 1 ? '' : ` (${shards} shards)`;

  const lines: CostLine[] = [
    {
      item: 'probe Lambda requests',
      usd: invocations * P.lambdaRequest.usd,
      arithmetic: `${count(invocations)} invocations (${HOURS_PER_MONTH} h x 60${shards > 1 ? ` x ${shards} shards` : ''} x ${trim(invocation.invocations.toFixed(2))} a minute: the schedule's and one per round) x ${perMillion(P.lambdaRequest.usd)}`,
    },
    {
      item: 'probe Lambda duration',
      usd: n * seconds * gb * P.lambdaArmGbSecond.usd,
      arithmetic: `${count(n)} shard-minutes x ${seconds.toFixed(3)} s a minute (measured: per invocation the larger of the spread's waits (${(invocation.waitMs / 1000).toFixed(3)} s a minute) and the work at ${PROBE_MEMORY_MB} MB's vCPU share (from ${invocation.cpuMs} ms of CPU a minute here, a round's ${invocation.roundCpuMs} ms as measured with its spread in real time), and ${REMOTE_ANSWER_MS} ms for each round's last answer) x ${gb} GB x ${rate(P.lambdaArmGbSecond.usd)}/GB-s`,
    },
    {
      item: 'SQS requests (the rounds queue)',
      usd: sqsRequests * P.sqsRequest.usd,
      arithmetic: `(${count(n)} shard-minutes x (${trim(invocation.sendCalls.toFixed(2))} SendMessageBatch + 2 x ${trim(invocation.messages.toFixed(2))} messages received and deleted) (measured) + ${count(idlePolls)} empty long polls (${IDLE_POLLERS} pollers every ${LONG_POLL_SECONDS} s${queues > 1 ? `, ${queues} queues` : ''})) x ${perMillion(P.sqsRequest.usd)}`,
    },
    {
      item: 'DynamoDB reads (probe state, hold)',
      usd: (n * invocation.readRequestUnits + coldReads) * P.dynamodbReadRequestUnit.usd,
      arithmetic: `(${count(n)} x ${trim(invocation.readRequestUnits.toFixed(2))} RRU (measured, warm) + ${count(coldReads)} RRU for new environments (${ENVIRONMENTS_PER_SHARD_HOUR} a shard-hour x ${invocation.cold.getItems} GetItem)) x ${perMillion(P.dynamodbReadRequestUnit.usd)}`,
    },
    {
      item: 'DynamoDB writes (probe state only when it changes; the shard\'s heartbeat every 110 s)',
      usd: n * invocation.writeRequestUnits * P.dynamodbWriteRequestUnit.usd,
      arithmetic: `${count(n)} x ${trim(invocation.writeRequestUnits.toFixed(2))} WRU (measured, average of warm invocations) x ${perMillion(P.dynamodbWriteRequestUnit.usd)}`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      usd: (probeLogGb + failoverLogGb) * P.logsIngestion.usd,
      arithmetic: `(${count(n)} x ${count(invocation.logBytes)} B (measured, Powertools output) + ${count(failover.logBytes)} B failover) / 10^9 = ${(probeLogGb + failoverLogGb).toFixed(4)} GB x ${rate(P.logsIngestion.usd)}/GB`,
    },
    {
      item: 'CloudWatch Logs storage',
      usd: probeLogGb * P.logsStorage.usd,
      arithmetic: `one month kept (ONE_MONTH retention): at most ${probeLogGb.toFixed(4)} GB uncompressed x ${rate(P.logsStorage.usd)}/GB-month`,
    },
    {
      item: 'CloudWatch custom metrics (EMF)',
      usd: invocation.metrics * P.cloudwatchCustomMetric.usd,
      arithmetic: `${invocation.metrics} metric(s) while healthy (measured from the EMF lines; per-group ones only in hours with a failure) x ${rate(P.cloudwatchCustomMetric.usd)}/metric-month`,
    },
    {
      item: 'CloudWatch alarms',
      usd: alarms * P.cloudwatchAlarm.usd,
      arithmetic: `${alarms} alarm metrics (the stack's alarms, groups-not-ready's 3 metrics among them, the probe errors alarm and ONE heartbeat alarm across groups) x ${rate(P.cloudwatchAlarm.usd)}`,
    },
    {
      item: 'CloudWatch dashboard',
      usd: stack.dashboards * P.cloudwatchDashboard.usd,
      arithmetic: `${stack.dashboards} dashboard${stack.dashboards === 1 ? '' : 's'} (observability.dashboard) x $${P.cloudwatchDashboard.usd.toFixed(2)}`,
    },
    {
      item: 'KMS key (the topic\'s)',
      usd: P.kmsKey.usd,
      arithmetic: `1 customer managed key x $${P.kmsKey.usd.toFixed(2)} (its first year: each yearly rotation adds $1.00 a month)`,
    },
    {
      item: 'EventBridge schedule',
      usd: n * P.eventbridgeScheduledRule.usd,
      arithmetic: `${count(n)} scheduled invocations${shardNote} x $0 (scheduled rules are not charged)`,
    },
    {
      item: 'Step Functions (1 failover)',
      usd: failover.transitions * P.stepFunctionsTransition.usd,
      arithmetic: `${failover.transitions} state transitions (measured) x ${perThousand(P.stepFunctionsTransition.usd)}`,
    },
    {
      item: 'failover Lambdas (1 failover)',
      usd: failover.lambdaInvocations * (P.lambdaRequest.usd + FAILOVER_STEP_BILLED_SECONDS * stepGb * P.lambdaArmGbSecond.usd),
      arithmetic: `${failover.lambdaInvocations} invocations x (${perMillion(P.lambdaRequest.usd)} + ${FAILOVER_STEP_BILLED_SECONDS} s x ${stepGb} GB x ${rate(P.lambdaArmGbSecond.usd)})`,
    },
    {
      item: 'readiness Lambda',
      usd: readinessRuns * (P.lambdaRequest.usd + FAILOVER_STEP_BILLED_SECONDS * readinessGb * P.lambdaArmGbSecond.usd),
      arithmetic: `${count(readinessRuns)} runs (every ${readiness.intervalMinutes} min) x (${perMillion(P.lambdaRequest.usd)} + ${FAILOVER_STEP_BILLED_SECONDS} s x ${readinessGb} GB x ${rate(P.lambdaArmGbSecond.usd)})`,
    },
    {
      item: 'readiness metrics (EMF)',
      usd: 0,
      arithmetic: `none while every group is ready (GroupsNotReady, and Ready per group, only in the hours a group is not ready; lambdas/readiness) x ${rate(P.cloudwatchCustomMetric.usd)}/metric-month`,
    },
  ].map((l) => ({ ...l, arithmetic: `${l.arithmetic} = ${usd(l.usd)}` }));

  const perCheck = P.route53HealthCheck.usd + P.route53FastInterval.usd;
  return {
    endpoints,
    protocol: invocation.protocol,
    groups,
    shards,
    invocation,
    lines,
    totalUsd: lines.reduce((sum, l) => sum + l.usd, 0),
    route53HealthChecksUsd: endpoints * perCheck,
    route53Arithmetic: `${endpoints} x ($${P.route53HealthCheck.usd.toFixed(2)} + $${P.route53FastInterval.usd.toFixed(2)} for the 10 s interval) = ${usd(endpoints * perCheck)}`,
    arcClusterUsd: HOURS_PER_MONTH * P.arcClusterHour.usd,
    arcArithmetic: `${HOURS_PER_MONTH} h x $${P.arcClusterHour.usd.toFixed(2)} = ${usd(HOURS_PER_MONTH * P.arcClusterHour.usd)}`,
  };
}
