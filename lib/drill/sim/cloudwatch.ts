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
    DescribeAlarms: (i, r) => this.describeAlarms(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set();

  private publishDelay: (minuteStartMs: number) => number = defaultPublishDelaySeconds;
  /** `metric|dbInstanceId` pairs RDS sends nothing for (a scenario's missing metric). */
  private readonly missing = new Set<string>();

  constructor(private readonly core: SimCore, private readonly rds: RdsMetricsSource) {}

  /** Alarms that exist, by region: a metric alarm or a composite one, and its state. */
  private readonly alarms: Array<{ name: string; region: string; type: 'MetricAlarm' | 'CompositeAlarm'; state: string }> = [];

  /** An alarm as its owner made it (the config's alarms live in the controller's region). */
  addAlarm(a: { name: string; region: string; type?: 'MetricAlarm' | 'CompositeAlarm'; state?: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' }): void {
    this.alarms.push({ name: a.name, region: a.region, type: a.type ?? 'MetricAlarm', state: a.state ?? 'OK' });
  }

  /** The alarm is deleted (or renamed away from `name`). */
  removeAlarm(name: string, region: string): void {
    const i = this.alarms.findIndex((a) => a.name === name && a.region === region);
    if (i >= 0) this.alarms.splice(i, 1);
  }

  /** How late each minute's datapoint arrives, in seconds after the minute ends. */
  setPublishDelay(seconds: number | ((minuteStartMs: number) => number)): void {
    this.publishDelay = typeof seconds === 'number' ? () => seconds : seconds;
  }

  /** No datapoint of `metric` for the instance ever arrives. */
  suppress(metric: 'ReplicaLag' | 'OldestReplicationSlotLag', dbInstanceId: string): void {
    this.missing.add(`${metric}|${dbInstanceId}`);
  }

  /**
   * Alarms are regional. Without AlarmTypes only metric alarms are returned, "even if composite alarms
   * exist in the account"; AlarmNames takes at most 100 names and cannot be combined with
   * AlarmNamePrefix (CloudWatch API reference, DescribeAlarms).
   */
  private describeAlarms(input: cw.DescribeAlarmsInput, region: string): cw.DescribeAlarmsOutput {
    if ((input.AlarmNames?.length ?? 0) > 100) {
      throw this.core.awsError('cloudwatch', 'ValidationError', `1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100`);
    }
    if (input.AlarmNames?.length && input.AlarmNamePrefix) {
      throw this.core.awsError('cloudwatch', 'InvalidParameterCombination', 'AlarmNames and AlarmNamePrefix cannot be specified together');
    }
    const types = new Set(input.AlarmTypes?.length ? input.AlarmTypes : ['MetricAlarm']);
    const found = this.alarms.filter((a) => a.region === region && types.has(a.type)
      && (!input.AlarmNames?.length || input.AlarmNames.includes(a.name))
      && (!input.AlarmNamePrefix || a.name.startsWith(input.AlarmNamePrefix)));
    const view = (a: (typeof found)[number]) => ({
      AlarmName: a.name, AlarmArn: `arn:aws:cloudwatch:${region}:${this.core.accountId}:alarm:${a.name}`, StateValue: a.state as cw.StateValue,
    });
    return {
      MetricAlarms: found.filter((a) => a.type === 'MetricAlarm').map(view),
      CompositeAlarms: found.filter((a) => a.type === 'CompositeAlarm').map(view),
    };
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
