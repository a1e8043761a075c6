/** Simulated CloudWatch: the AWS/RDS ReplicaLag metric, read from the simulated RDS instances. */
import type * as cw from '@aws-sdk/client-cloudwatch';
import type { Handler, SimCore, SimServiceModule } from './core';
import type { SimRds } from './rds';

/** The part of RDS that CloudWatch reads: the lag set on a replica and when it was promoted. */
export type ReplicaLagSource = Pick<SimRds, 'replicaLag'>;

export class SimCloudWatch implements SimServiceModule {
  readonly handlers: Record<string, Handler> = {
    GetMetricStatistics: (i, r) => this.getMetricStatistics(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set();

  constructor(private readonly core: SimCore, private readonly rds: ReplicaLagSource) {}

  /**
   * AWS/RDS ReplicaLag: one sample per whole minute in [StartTime, EndTime) up to now, aggregated per
   * Period. A DB with no lag set (not a replica), or minutes after its promotion, has no data.
   */
  private getMetricStatistics(input: cw.GetMetricStatisticsInput, region: string): cw.GetMetricStatisticsOutput {
    const out: cw.GetMetricStatisticsOutput = { Label: input.MetricName, Datapoints: [] };
    const dbId = input.Dimensions?.find((d) => d.Name === 'DBInstanceIdentifier')?.Value;
    const db = this.rds.replicaLag(dbId, region);
    if (input.Namespace !== 'AWS/RDS' || input.MetricName !== 'ReplicaLag' || !db) return out;
    const period = (input.Period ?? 60) * 1000;
    const end = Math.min(new Date(input.EndTime ?? 0).getTime(), this.core.clock.now() + 1);
    const buckets = new Map<number, number[]>();
    for (let t = Math.ceil(new Date(input.StartTime ?? 0).getTime() / 60_000) * 60_000; t < end; t += 60_000) {
      if (db.promotedAt !== undefined && t >= db.promotedAt) break;
      const value = typeof db.lag === 'function' ? db.lag(t) : db.lag;
      const bucket = Math.floor(t / period) * period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), value]);
    }
    const stats = new Set(input.Statistics ?? []);
    out.Datapoints = [...buckets].map(([at, v]) => ({
      Timestamp: new Date(at), Unit: 'Seconds' as const,
      ...(stats.has('Average') && { Average: v.reduce((a, b) => a + b, 0) / v.length }),
      ...(stats.has('Maximum') && { Maximum: Math.max(...v) }),
      ...(stats.has('Minimum') && { Minimum: Math.min(...v) }),
      ...(stats.has('Sum') && { Sum: v.reduce((a, b) => a + b, 0) }),
      ...(stats.has('SampleCount') && { SampleCount: v.length }),
    }));
    return out;
  }
}
