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
    PutMetricData: (i, r) => this.putMetricData(i, r),
  };
  readonly mutating: ReadonlySet<string> = new Set(['PutMetricData']);

  /** Custom datapoints as PutMetricData stored them, with when each can count in alarm evaluation. */
  private readonly datapoints: Array<{ region: string; key: string; value: number; timestamp: number; arrivesAt: number }> = [];
  /** Metric alarms on custom metrics, evaluated on the clock (see evaluate). */
  private readonly metricAlarms: MetricAlarm[] = [];
  private evaluatedUntil = -Infinity;

  private publishDelay: (minuteStartMs: number) => number = defaultPublishDelaySeconds;
  /** `metric|dbInstanceId` pairs RDS sends nothing for (a scenario's missing metric). */
  private readonly missing = new Set<string>();

  constructor(private readonly core: SimCore, private readonly rds: RdsMetricsSource) {
    core.addTicker((until) => this.evaluate(until));
  }

  /**
   * A metric alarm on a custom metric, as a stack makes it: INSUFFICIENT_DATA until its first evaluation
   * with data ("The alarm has just started": CloudWatch User Guide, "Alarm evaluation").
   */
  addMetricAlarm(a: MetricAlarmDefinition): void {
    if (![10, 20, 30].includes(a.period) && a.period % 60 !== 0) throw new Error(`SimulatedAccount: alarm period ${a.period} is not 10, 20, 30 or a multiple of 60`);
    this.core.settle();
    this.alarms.push({ name: a.name, region: a.region, type: 'MetricAlarm', state: 'INSUFFICIENT_DATA' });
    this.metricAlarms.push({ ...a, history: [{ at: this.core.clock.now(), state: 'INSUFFICIENT_DATA' }] });
  }

  /** The alarm's state changes, oldest first (what the health check's "alarm data stream" carries). */
  alarmHistory(name: string, region: string): Array<{ at: number; state: AlarmState }> {
    this.core.settle();
    return [...(this.metricAlarms.find((a) => a.name === name && a.region === region)?.history ?? [])];
  }

  /**
   * PutMetricData: custom namespaces only ("AWS/" is reserved: CloudWatch API reference, PutMetricData,
   * Namespace), at most 1,000 metrics a request. A datapoint counts for alarms once it has arrived
   * (cloudwatchIngestSeconds), never at once.
   */
  private putMetricData(input: cw.PutMetricDataInput, region: string): object {
    const namespace = input.Namespace ?? '';
    if (!namespace || namespace.startsWith('AWS/')) {
      throw this.core.awsError('cloudwatch', 'InvalidParameterValue', `The value ${namespace} for parameter Namespace is invalid.`);
    }
    if ((input.MetricData?.length ?? 0) > 1000) {
      throw this.core.awsError('cloudwatch', 'InvalidParameterValue', 'The collection MetricData must not have a size greater than 1000.');
    }
    const now = this.core.clock.now();
    for (const d of input.MetricData ?? []) {
      if (d.Value === undefined) continue;
      this.datapoints.push({
        region, key: metricKey(namespace, d.MetricName ?? '', d.Dimensions ?? []), value: d.Value,
        timestamp: d.Timestamp ? new Date(d.Timestamp).getTime() : now, arrivesAt: now + this.core.latencies.cloudwatchIngestSeconds * 1000,
      });
    }
    return {};
  }

  /**
   * Each alarm is evaluated every 10 s for 10 and 30 s periods ("If the alarm period is 10 seconds or
   * 30 seconds, the alarm is evaluated every 10 seconds": CloudWatch User Guide, "Using Amazon
   * CloudWatch alarms"); nothing faster is documented for longer periods, so here once a period, on
   * the datapoints that have arrived for its evaluation range (the default sliding window: Period x
   * EvaluationPeriods back from the evaluation, "Alarm evaluation windows"). With evaluationPeriods 1
   * the latest period's statistic decides. No datapoint in the range: TreatMissingData says what
   * happens; `ignore` keeps the current state ("The current alarm state is maintained": "Configuring
   * how CloudWatch alarms treat missing data"), `missing` goes to INSUFFICIENT_DATA.
   */
  private evaluate(until: number): void {
    for (const alarm of this.metricAlarms) {
      const step = alarm.period < 60 ? 10_000 : alarm.period * 1000;
      const from = Math.max(this.evaluatedUntil, alarm.history[0].at);
      for (let at = Math.floor(from / step) * step + step; at <= until; at += step) {
        const window = alarm.period * 1000 * alarm.evaluationPeriods;
        const key = metricKey(alarm.namespace, alarm.metricName, alarm.dimensions.map(([Name, Value]) => ({ Name, Value })));
        const values = this.datapoints
          .filter((d) => d.region === alarm.region && d.key === key && d.arrivesAt <= at && d.timestamp >= at - window && d.timestamp < at)
          .map((d) => d.value);
        const current = alarm.history.at(-1)!.state;
        let next: AlarmState = current;
        if (values.length > 0) {
          const stat = alarm.statistic === 'Maximum' ? Math.max(...values) : alarm.statistic === 'Minimum' ? Math.min(...values)
            : alarm.statistic === 'Sum' ? values.reduce((x, y) => x + y, 0) : alarm.statistic === 'SampleCount' ? values.length
              : values.reduce((x, y) => x + y, 0) / values.length;
          next = breaches(alarm.comparison, stat, alarm.threshold) ? 'ALARM' : 'OK';
        } else if (alarm.treatMissingData === 'breaching') next = 'ALARM';
        else if (alarm.treatMissingData === 'notBreaching') next = 'OK';
        else if (alarm.treatMissingData === 'missing') next = 'INSUFFICIENT_DATA';
        if (next !== current) {
          alarm.history.push({ at, state: next });
          const listed = this.alarms.find((a) => a.name === alarm.name && a.region === alarm.region);
          if (listed) listed.state = next;
        }
      }
    }
    this.evaluatedUntil = Math.max(this.evaluatedUntil, until);
  }

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

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** What a stack's AWS::CloudWatch::Alarm on a custom metric says. */
export interface MetricAlarmDefinition {
  name: string; region: string; namespace: string; metricName: string;
  /** [name, value] pairs. */
  dimensions: Array<[string, string]>;
  period: number; evaluationPeriods: number; threshold: number;
  statistic: 'Average' | 'Maximum' | 'Minimum' | 'Sum' | 'SampleCount';
  comparison: 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
  treatMissingData: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
}

interface MetricAlarm extends MetricAlarmDefinition { history: Array<{ at: number; state: AlarmState }> }

function metricKey(namespace: string, metric: string, dimensions: Array<{ Name?: string; Value?: string }>): string {
  const dims = dimensions.map((d) => `${d.Name}=${d.Value}`).sort().join(',');
  return `${namespace}|${metric}|${dims}`;
}

function breaches(comparison: MetricAlarmDefinition['comparison'], value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'GreaterThanThreshold': return value > threshold;
    case 'LessThanThreshold': return value < threshold;
    case 'LessThanOrEqualToThreshold': return value <= threshold;
  }
}
