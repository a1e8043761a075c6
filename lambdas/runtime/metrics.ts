/**
 * The controller's CloudWatch metrics: their names, and one way of writing them, the Embedded Metric
 * Format (one JSON log line per metric document, no PutMetricData calls), serialized by Powertools
 * Metrics. The cores take a `MetricsSink`; the Lambda handlers hand them one that prints to stdout,
 * and anything that passes no sink (the drill, the CLI's local run, the benchmark, the tests) gets the
 * very same EMF documents through its own `log`.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const NAMESPACE = 'FailoverController';

/** Every metric the controller emits, by name. The dashboard and the alarms use these. */
export const METRIC = {
  /**
   * Group rounds counted by one probe invocation, no dimension (one document per invocation). The
   * heartbeat alarm watches it: too few means a shard (or everything) is not watching.
   */
  probeRounds: 'ProbeRounds',
  /** Group rounds that failed in one invocation, no dimension; sent only when there were any. */
  failedRounds: 'FailedRounds',
  /** Group rounds that were void (the prober's fault, not the primary's), no dimension; sent only when there were any. */
  voidRounds: 'VoidRounds',
  /**
   * Rounds a scheduled invocation could not queue and ran itself (paid for by the wait), no dimension;
   * sent only when there were any (lambdas/probe/run-probes.ts, dispatchMinute).
   */
  roundsNotQueued: 'RoundsNotQueued',
  /** Failed rounds of the group in one invocation; dimension Group; sent only for a group that failed one. */
  roundFailed: 'RoundFailed',
  /** Failed rounds in a row at the end of an invocation; dimension Group; sent only for a group that failed a round. The group is down at `failureThreshold`. */
  consecutiveFailures: 'ConsecutiveFailures',
  /** 1 per recorded execution; dimensions Group and Outcome, and Outcome alone (across groups). */
  executions: 'Executions',
  /** Trigger to DNS INSYNC of a real failover; dimension Group. */
  rtoSeconds: 'RtoSeconds',
  /** The replica lag when a real failover promoted it: how much data it may have lost; dimension Group. */
  dataLossSeconds: 'DataLossSeconds',
  /** 0, sent only while the scheduled readiness evaluation finds the group not ready; dimension Group. */
  ready: 'Ready',
  /** How many groups the readiness evaluation found not ready, sent only while at least one is; no dimension. The readiness alarm watches it. */
  groupsNotReady: 'GroupsNotReady',
} as const;

export type MetricUnitName = 'Count' | 'Milliseconds' | 'Seconds';

/**
 * One EMF document: some values measured at one time, under one set of dimensions (`{ Group: 'orders',
 * Probe: 'api health' }`). The same values under another set (per outcome across groups, say) are
 * another document: Powertools warns about a dimension key repeated across the sets of one document.
 */
export interface MetricDocument {
  /** When the measured thing happened (epoch ms). */
  timestamp: number;
  dimensions: Record<string, string>;
  values: Array<{ name: string; unit: MetricUnitName; value: number }>;
}

export interface MetricsSink {
  emit(document: MetricDocument): void;
}

/** A warning sink for Powertools (empty dimension values, timestamps CloudWatch would drop). */
interface Warnings {
  warn(...content: unknown[]): void;
}
const SILENT: Warnings = { warn: () => undefined };

/**
 * Metrics written as EMF by Powertools Metrics. Without `write`, Powertools prints each document to
 * stdout, where Lambda ships it to CloudWatch Logs and CloudWatch extracts the metrics; with `write`,
 * each document goes there instead (as an object: the drill's and the tests' `log`).
 *
 * Powertools adds a `service` dimension to every set by default; it is cleared, so the metrics keep the
 * dimensions the dashboard and the alarms name.
 */
export function emfMetrics(options: { write?: (document: Record<string, unknown>) => void; warnings?: Warnings } = {}): MetricsSink {
  const { write, warnings = SILENT } = options;
  const metrics = new Metrics({
    namespace: NAMESPACE,
    logger: { debug: () => undefined, info: () => undefined, error: (...c: unknown[]) => warnings.warn(...c), warn: (...c: unknown[]) => warnings.warn(...c) },
  });
  metrics.clearDefaultDimensions();
  return {
    emit({ timestamp, dimensions, values }) {
      if (values.length === 0) return;
      // Powertools takes integer epoch ms only (a fractional one becomes 0).
      metrics.setTimestamp(Math.round(timestamp));
      metrics.addDimensions(dimensions);
      for (const v of values) metrics.addMetric(v.name, MetricUnit[v.unit], v.value);
      if (!write) {
        metrics.publishStoredMetrics();
        return;
      }
      try {
        write(metrics.serializeMetrics() as unknown as Record<string, unknown>);
      } finally {
        metrics.clearMetrics();
        metrics.clearDimensions();
        metrics.clearMetadata();
      }
    },
  };
}

const throughLog = new WeakMap<(entry: Record<string, unknown>) => void, MetricsSink>();

/**
 * The deps' own sink, else EMF documents through the deps' `log` (one sink per log function). The
 * clock of the drill and of the tests is not the real one, so Powertools' timestamp warnings are not
 * passed on there.
 */
export function metricsOf(deps: { metrics?: MetricsSink; log(entry: Record<string, unknown>): void }): MetricsSink {
  if (deps.metrics) return deps.metrics;
  let sink = throughLog.get(deps.log);
  if (!sink) throughLog.set(deps.log, (sink = emfMetrics({ write: deps.log })));
  return sink;
}
