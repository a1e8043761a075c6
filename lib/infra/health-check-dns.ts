/**
 * `dns.mode: "health-check"`: DNS that the controller switches through data planes only.
 *
 * Per group: an alarm on the group's DnsFailedOver metric in the controller's region, and a Route 53
 * health check (CLOUDWATCH_METRIC) that follows it. Per configured record: a PRIMARY failover record
 * (`primaryValues`, tied to the health check) and a SECONDARY one (`values`, without a health check, so
 * Route 53 "always responds to DNS queries with the applicable value from the secondary" once the
 * primary is unhealthy: Route 53 API reference, ResourceRecordSet, Failover). A failover writes the
 * metric (flip-dns); no Route 53 API call is on the recovery path.
 *
 * How fast each link reacts (the README, "When a region is down", has the sum and the trade-off):
 * - the alarm: period 60 s, standard resolution, because Route 53 health checks support
 *   "standard-resolution metrics. High-resolution metrics aren't supported" (Route 53 API reference,
 *   HealthCheckConfig, Type CLOUDWATCH_METRIC); only 10 and 30 s periods are documented as evaluated
 *   every 10 s (CloudWatch User Guide, "Using Amazon CloudWatch alarms"), so count on up to a minute,
 *   on datapoints that reach the alarm "a few seconds" after they are written (AWS on re:Post);
 * - the health check follows "the data stream for a CloudWatch alarm" (Route 53 Developer Guide,
 *   "Values that you specify when you create or update health checks"): no delay is documented;
 * - the name servers: record changes reach all of them "generally within 60 seconds" (GetChange);
 * - clients: the TTL in force when they resolved.
 *
 * Missing data never moves DNS: the alarm treats missing data as `ignore` ("the current alarm state is
 * maintained"), so one datapoint of 1 latches ALARM, and a new alarm without data stays
 * INSUFFICIENT_DATA; the health check maps INSUFFICIENT_DATA to `LastKnownStatus` ("for new health checks
 * that have no last known status, the default status for the health check is healthy": Route 53 API
 * reference, InsufficientDataHealthStatus). `Healthy` would send clients back to the fenced primary if
 * the alarm lost its data after a failover; `Unhealthy` would fail DNS over, with no fence and no
 * promotion, whenever CloudWatch has no data (a new stack, an impaired region).
 *
 * Cost: $0.50 a month per health check of an AWS endpoint, which a CloudWatch-alarm health check is
 * priced as (Route 53 pricing), and $0.10 a month per standard-resolution alarm (CloudWatch pricing): one
 * of each per group, whatever its number of records. The metric is written only during a failover.
 */
import { Duration, NestedStack, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import type { FailoverConfig, GroupConfig } from '../../lambdas/core/config';
import {
  DNS_SWITCH_DIMENSION, DNS_SWITCH_METRIC, DNS_SWITCH_NAMESPACE, dnsSwitchAlarmName, failoverSetIdentifier,
} from '../../lambdas/core/dns-switch';

export interface HealthCheckDnsProps {
  /** A config that passed `parseConfig`; only its groups with `dns.mode: "health-check"` get anything. */
  readonly config: FailoverConfig;
}

export class HealthCheckDns extends Construct {
  /** The alarm each health-check group's health check follows, by group name. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  /** The health check of each health-check group, by group name. */
  public readonly healthChecks: Record<string, route53.CfnHealthCheck> = {};
  /** Every failover record the construct made. */
  public readonly records: route53.CfnRecordSet[] = [];

  constructor(scope: Construct, id: string, props: HealthCheckDnsProps) {
    super(scope, id);
    const { config } = props;
    const groups = config.groups.filter((g) => g.dns.mode === 'health-check');
    // Each group makes an alarm, a health check and two records per configured record. CloudFormation
    // takes 500 resources per stack ("Understand CloudFormation quotas"): they live in nested stacks of
    // at most RESOURCES_PER_NESTED_STACK, a group never split across two, filled in config order. Always
    // nested, however few: a group whose records moved from one stack to another would have its new
    // records created before the old ones are deleted, and Route 53 refuses a second record of the same
    // name, type and set identifier; so growing past one stack's worth must not move the first groups.
    const resourcesOf = (g: GroupConfig) => 2 + 2 * g.dns.records.length;
    let current: Construct = this;
    let filled = 0;
    let stacks = 0;
    const scopeFor = (g: GroupConfig): Construct => {
      if (stacks === 0 || filled + resourcesOf(g) > RESOURCES_PER_NESTED_STACK) {
        stacks += 1;
        filled = 0;
        current = new NestedStack(this, `HealthCheckDns${stacks}`, { description: 'failover-controller: health-check DNS (alarms, health checks, failover records)' });
      }
      filled += resourcesOf(g);
      return current;
    };
    for (const group of groups) {
      const at = scopeFor(group);
      const alarm = new cloudwatch.Alarm(at, `${group.name}-Alarm`, {
        alarmName: dnsSwitchAlarmName(config.stackName, group.name),
        alarmDescription: `ALARM once failover-controller has failed ${group.name} over: its health check turns unhealthy and its records answer their SECONDARY. Set back by writing ${DNS_SWITCH_METRIC}=0.`,
        metric: new cloudwatch.Metric({
          namespace: DNS_SWITCH_NAMESPACE,
          metricName: DNS_SWITCH_METRIC,
          dimensionsMap: { [DNS_SWITCH_DIMENSION]: group.name },
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
      const healthCheck = new route53.CfnHealthCheck(at, `${group.name}-HealthCheck`, {
        healthCheckConfig: {
          type: 'CLOUDWATCH_METRIC',
          alarmIdentifier: { name: alarm.alarmName, region: Stack.of(this).region },
          insufficientDataHealthStatus: 'LastKnownStatus',
        },
        healthCheckTags: [{ key: 'Name', value: `${config.stackName} ${group.name} primary serves` }],
      });
      this.alarms[group.name] = alarm;
      this.healthChecks[group.name] = healthCheck;
      group.dns.records.forEach((record, i) => {
        const common = { hostedZoneId: group.dns.hostedZoneId, name: `${record.name}.`, type: record.type, ttl: String(record.ttl) };
        this.records.push(
          new route53.CfnRecordSet(at, `${group.name}-Record${i}-Primary`, {
            ...common,
            setIdentifier: failoverSetIdentifier(group.name, 'PRIMARY'),
            failover: 'PRIMARY',
            healthCheckId: healthCheck.attrHealthCheckId,
            resourceRecords: record.primaryValues ?? [],
          }),
          new route53.CfnRecordSet(at, `${group.name}-Record${i}-Secondary`, {
            ...common,
            setIdentifier: failoverSetIdentifier(group.name, 'SECONDARY'),
            failover: 'SECONDARY',
            resourceRecords: record.values ?? [],
          }),
        );
      });
    }
  }
}

/** A nested stack of health-check DNS holds at most this many resources (CloudFormation: 500). */
export const RESOURCES_PER_NESTED_STACK = 400;
