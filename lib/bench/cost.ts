/**
 * The monthly bill of a deployment that probes N endpoints every 10 s (one endpoint per group, so N
 * groups), from measured quantities and published prices, beside Route 53 health checks and an ARC
 * cluster for the same endpoints. One failover a month is included.
 */
import type { ProbeInvocation } from './probe-invocation';
import { BYTES_PER_GB, HOURS_PER_MONTH, PRICES } from './prices';

/** The probe function's memory: `memorySize` in controllerFunction (lib/infra/controller-function.ts), which every function shares. */
export const PROBE_MEMORY_MB = 256;
/** A failover step invocation billed as 2 s: a cold start and a few AWS calls (the handlers run in milliseconds). */
export const FAILOVER_STEP_BILLED_SECONDS = 2;
export const COST_TARGET_USD = 5;
export const COST_TARGET_ENDPOINTS = 100;

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
  groups: number;
  invocation: ProbeInvocation;
  lines: CostLine[];
  totalUsd: number;
  route53HealthChecksUsd: number;
  route53Arithmetic: string;
  arcClusterUsd: number;
  arcArithmetic: string;
}

const INVOCATIONS_PER_MONTH = HOURS_PER_MONTH * 60; // rate(1 minute)

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
 * like a failover step (FAILOVER_STEP_BILLED_SECONDS at 256 MB), and its metrics: Ready per group plus
 * GroupsNotReady.
 */
export interface ReadinessUsage {
  intervalMinutes: number;
}

export function monthlyCost(invocation: ProbeInvocation, failover: FailoverUsage, alarms: number, readiness: ReadinessUsage = { intervalMinutes: 15 }): CostCase {
  const n = INVOCATIONS_PER_MONTH;
  const gb = PROBE_MEMORY_MB / 1024;
  const seconds = invocation.billedDurationMs / 1000;
  const probeLogGb = (invocation.logBytes * n) / BYTES_PER_GB;
  const failoverLogGb = failover.logBytes / BYTES_PER_GB;
  const stepGb = failover.stepMemoryMb / 1024;
  const P = PRICES;
  const readinessRuns = (HOURS_PER_MONTH * 60) / readiness.intervalMinutes;

  const lines: CostLine[] = [
    {
      item: 'probe Lambda requests',
      usd: n * P.lambdaRequest.usd,
      arithmetic: `${count(n)} invocations (${HOURS_PER_MONTH} h x 60) x ${perMillion(P.lambdaRequest.usd)}`,
    },
    {
      item: 'probe Lambda duration',
      usd: n * seconds * gb * P.lambdaArmGbSecond.usd,
      arithmetic: `${count(n)} x ${seconds.toFixed(3)} s (measured) x ${gb} GB x ${rate(P.lambdaArmGbSecond.usd)}/GB-s`,
    },
    {
      item: 'DynamoDB reads (probe state GetItem)',
      usd: n * invocation.readRequestUnits * P.dynamodbReadRequestUnit.usd,
      arithmetic: `${count(n)} x ${invocation.readRequestUnits} RRU (${invocation.getItems} strongly consistent GetItem, measured) x ${perMillion(P.dynamodbReadRequestUnit.usd)}`,
    },
    {
      item: 'DynamoDB writes (probe state PutItem)',
      usd: n * invocation.writeRequestUnits * P.dynamodbWriteRequestUnit.usd,
      arithmetic: `${count(n)} x ${invocation.writeRequestUnits} WRU (${invocation.putItems} PutItem, measured) x ${perMillion(P.dynamodbWriteRequestUnit.usd)}`,
    },
    {
      item: 'CloudWatch Logs ingestion',
      usd: (probeLogGb + failoverLogGb) * P.logsIngestion.usd,
      arithmetic: `(${count(n)} x ${count(invocation.logBytes)} B (measured) + ${count(failover.logBytes)} B failover) / 10^9 = ${(probeLogGb + failoverLogGb).toFixed(3)} GB x ${rate(P.logsIngestion.usd)}/GB`,
    },
    {
      item: 'CloudWatch Logs storage',
      usd: probeLogGb * P.logsStorage.usd,
      arithmetic: `one month kept (ONE_MONTH retention): at most ${probeLogGb.toFixed(3)} GB uncompressed x ${rate(P.logsStorage.usd)}/GB-month`,
    },
    {
      item: 'CloudWatch custom metrics (EMF)',
      usd: invocation.metrics * P.cloudwatchCustomMetric.usd,
      arithmetic: `${invocation.metrics} metrics (measured from the EMF lines) x ${rate(P.cloudwatchCustomMetric.usd)}/metric-month`,
    },
    {
      item: 'CloudWatch alarms',
      usd: alarms * P.cloudwatchAlarm.usd,
      arithmetic: `${alarms} alarms (the stack's, plus the probe errors alarm and one "no probe round" alarm per group) x ${rate(P.cloudwatchAlarm.usd)}`,
    },
    {
      item: 'EventBridge schedule',
      usd: n * P.eventbridgeScheduledRule.usd,
      arithmetic: `${count(n)} scheduled invocations x $0 (scheduled rules are not charged)`,
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
      usd: readinessRuns * (P.lambdaRequest.usd + FAILOVER_STEP_BILLED_SECONDS * gb * P.lambdaArmGbSecond.usd),
      arithmetic: `${count(readinessRuns)} runs (every ${readiness.intervalMinutes} min) x (${perMillion(P.lambdaRequest.usd)} + ${FAILOVER_STEP_BILLED_SECONDS} s x ${gb} GB x ${rate(P.lambdaArmGbSecond.usd)})`,
    },
    {
      item: 'readiness metrics (EMF)',
      usd: (invocation.groups + 1) * P.cloudwatchCustomMetric.usd,
      arithmetic: `${invocation.groups + 1} metrics (Ready per group, GroupsNotReady) x ${rate(P.cloudwatchCustomMetric.usd)}/metric-month`,
    },
  ].map((l) => ({ ...l, arithmetic: `${l.arithmetic} = ${usd(l.usd)}` }));

  const endpoints = invocation.groups * invocation.probesPerGroup;
  const perCheck = P.route53HealthCheck.usd + P.route53FastInterval.usd;
  return {
    endpoints,
    groups: invocation.groups,
    invocation,
    lines,
    totalUsd: lines.reduce((sum, l) => sum + l.usd, 0),
    route53HealthChecksUsd: endpoints * perCheck,
    route53Arithmetic: `${endpoints} x ($${P.route53HealthCheck.usd.toFixed(2)} + $${P.route53FastInterval.usd.toFixed(2)} for the 10 s interval) = ${usd(endpoints * perCheck)}`,
    arcClusterUsd: HOURS_PER_MONTH * P.arcClusterHour.usd,
    arcArithmetic: `${HOURS_PER_MONTH} h x $${P.arcClusterHour.usd.toFixed(2)} = ${usd(HOURS_PER_MONTH * P.arcClusterHour.usd)}`,
  };
}
