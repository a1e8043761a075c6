/**
 * Simulated CloudWatch: the RDS metrics the controller reads, computed from the simulated databases.
 *
 * RDS sends one datapoint a minute; each is timestamped at the start of its minute and sampled at that
 * instant here. Datapoints reach CloudWatch late: AWS documents no figure for RDS, and the drill uses
 * 60 to 180 s after the minute ends (fixed per minute, so runs repeat), or what a scenario sets. A
 * query sees only what has arrived by then: the latest datapoint is never "now".
 */
import type * as cw from '@aws-sdk/client-cloudwatch';
import type { Handler, SimCore, SimServiceModule } from './core';
import type { SimRds } from './rds';

/** The part of RDS that CloudWatch reads. */
export type RdsMetricsSource = Pick<SimRds, 'reportedLag' | 'slotLagBytes'>;

const MINUTE = 60_000;

/** A delay between 60 and 180 s that changes from minute to minute but is the same on every run. */
export function defaultPublishDelaySeconds(minuteStartMs: number): number {
  return 60 + ((Math.floor(minuteStartMs / MINUTE) * 37) % 121);
}

export class SimCloudWatch implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    GetMetricStatistics: (i, r) => this.getMetricStatistics(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set();

  private publishDelay: (minuteStartMs: number) => number = defaultPublishDelaySeconds;
  /** `metric|dbInstanceId` pairs RDS sends nothing for (a scenario's missing metric). */
  private readonly missing = new Set<string>();

  constructor(private readonly core: SimCore, private readonly rds: RdsMetricsSource) {}

  /** How late each minute's datapoint arrives, in seconds after the minute ends. */
  setPublishDelay(seconds: number | ((minuteStartMs: number) => number)): void {
    this.publishDelay = typeof seconds === 'number' ? () => seconds : seconds;
  }

  /** No datapoint of `metric` for the instance ever arrives. */
  suppress(metric: 'ReplicaLag' | 'OldestReplicationSlotLag', dbInstanceId: string): void {
    this.missing.add(`${metric}|${dbInstanceId}`);
  }

  /**
   * AWS/RDS ReplicaLag (seconds) of a replica and OldestReplicationSlotLag (bytes) of a PostgreSQL
   * source: one sample per minute in [StartTime, EndTime) that has arrived by now, aggregated per
   * Period. Anything else, or an instance RDS reports nothing for, has no datapoints.
   */
  private getMetricStatistics(input: cw.GetMetricStatisticsInput, region: string): cw.GetMetricStatisticsOutput {
    const out: cw.GetMetricStatisticsOutput = { Label: input.MetricName, Datapoints: [] };
    const dbId = input.Dimensions?.find((d) => d.Name === 'DBInstanceIdentifier')?.Value;
    const metric = input.MetricName;
    if (input.Namespace !== 'AWS/RDS' || !dbId || this.missing.has(`${metric}|${dbId}`)) return out;
    const sample = metric === 'ReplicaLag' ? (t: number) => this.rds.reportedLag(dbId, region, t)
      : metric === 'OldestReplicationSlotLag' ? (t: number) => this.rds.slotLagBytes(dbId, region, t)
        : undefined;
    if (!sample) return out;
    const now = this.core.clock.now();
    const period = (input.Period ?? 60) * 1000;
    const end = Math.min(new Date(input.EndTime ?? 0).getTime(), now);
    const buckets = new Map<number, number[]>();
    for (let t = Math.ceil(new Date(input.StartTime ?? 0).getTime() / MINUTE) * MINUTE; t < end; t += MINUTE) {
      if (t + MINUTE + this.publishDelay(t) * 1000 > now) continue;
      const value = sample(t);
      if (value === undefined) continue;
      const bucket = Math.floor(t / period) * period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), value]);
    }
    const stats = new Set(input.Statistics ?? []);
    out.Datapoints = [...buckets].map(([at, v]) => ({
      Timestamp: new Date(at), Unit: metric === 'ReplicaLag' ? ('Seconds' as const) : ('Bytes' as const),
      ...(stats.has('Average') && { Average: v.reduce((a, b) => a + b, 0) / v.length }),
      ...(stats.has('Maximum') && { Maximum: Math.max(...v) }),
      ...(stats.has('Minimum') && { Minimum: Math.min(...v) }),
      ...(stats.has('Sum') && { Sum: v.reduce((a, b) => a + b, 0) }),
      ...(stats.has('SampleCount') && { SampleCount: v.length }),
    }));
    return out;
  }
}
