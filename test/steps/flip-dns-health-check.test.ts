/**
 * flip-dns in `dns.mode: "health-check"`, against the simulated account: the failover records, the
 * health check and its alarm as the stack makes them, and the zone's name servers as the data plane.
 * What is asserted is what a client would see (what the name servers answer), what CloudWatch holds,
 * and which AWS calls were made: never a Route 53 API call.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { applyDns, checkDns, prepareDns } from '../../lambdas/steps/flip-dns';
import type { DnsResult, WorkflowState } from '../../lambdas/core/workflow-state';
import type { GroupConfig } from '../../lambdas/core/config';
import { DnsChangeFailed, TransientAwsError } from '../../lambdas/core/errors';
import { DNS_SWITCH_DIMENSION, DNS_SWITCH_METRIC, DNS_SWITCH_NAMESPACE } from '../../lambdas/core/dns-switch';
import { SimClock, SimulatedAccount } from '../../lib/drill/sim/account';
import { REPLICA, SOURCE_ARN, T0, ZONE, deployed, ordersGroup, planFor } from '../support/fixtures';

const REPLICA_ENDPOINT = 'orders-replica.c0abcdefghij.us-west-2.rds.amazonaws.com';
const OLD_DB = 'orders-primary.c0abcdefghij.us-east-1.rds.amazonaws.com';
const ALARM = 'FailoverController-orders-dns-failed-over';

const group: GroupConfig = ordersGroup({
  dns: {
    mode: 'health-check',
    records: [
      { name: 'db.orders.example.com', type: 'CNAME', values: [REPLICA_ENDPOINT], primaryValues: [OLD_DB] },
      { name: 'api.orders.example.com', type: 'A', values: ['198.51.100.20'], primaryValues: ['192.0.2.10'] },
    ],
  },
});

let account: SimulatedAccount;

/** What the stack makes (lib/infra/health-check-dns.ts), and a replica RDS has promoted. */
function seed(options: { alarmRegion?: string; replicaOf?: string } = {}): void {
  account = new SimulatedAccount({ clock: new SimClock(T0) });
  account.addDbInstance({ id: REPLICA, region: 'us-west-2', endpointAddress: REPLICA_ENDPOINT, ...(options.replicaOf ? { replicaOf: options.replicaOf } : {}) });
  account.addHostedZone({ id: ZONE, name: 'example.com' });
  account.cloudwatch.addMetricAlarm({
    name: ALARM, region: options.alarmRegion ?? 'us-west-2', namespace: DNS_SWITCH_NAMESPACE, metricName: DNS_SWITCH_METRIC,
    dimensions: [[DNS_SWITCH_DIMENSION, 'orders']], period: 60, evaluationPeriods: 1, threshold: 1, statistic: 'Maximum',
    comparison: 'GreaterThanOrEqualToThreshold', treatMissingData: 'ignore',
  });
  account.route53.addHealthCheck({ id: 'hc-orders', alarm: { name: ALARM, region: options.alarmRegion ?? 'us-west-2' }, insufficientDataHealthStatus: 'LastKnownStatus' });
  for (const r of group.dns.records) {
    account.putRecord(ZONE, { name: r.name, type: r.type, ttl: r.ttl, values: r.primaryValues!, setIdentifier: 'orders-primary', failover: 'PRIMARY', healthCheckId: 'hc-orders' });
    account.putRecord(ZONE, { name: r.name, type: r.type, ttl: r.ttl, values: r.values!, setIdentifier: 'orders-secondary', failover: 'SECONDARY' });
  }
}

function deps() {
  return {
    ...deployed(group),
    now: () => account.clock.now(),
    route53: () => account.client(Route53Client, 'us-east-1'),
    rds: (region: string) => account.client(RDSClient, region),
    cloudwatch: (region: string) => account.client(CloudWatchClient, region),
    dnsDataPlane: () => ({ query: async (_zone: string, name: string, type: string) => account.route53.resolve(name, type).map(({ server, answers }) => ({ server, answers })) }),
    controllerRegion: 'us-west-2',
  };
}

const state = (dns?: DnsResult): WorkflowState => ({ plan: planFor(group, { startedAt: T0, triggeredAt: T0 }), ...(dns ? { dns } : {}) });

/** What every name server answers for the record now. */
const answered = (name: string, type: string) => [...new Set(account.route53.resolve(name, type).map((s) => s.answers.join(',')))];

/** Poll `check` every 5 s of simulated time until it confirms or throws; returns the last result. */
async function pollUntilConfirmed(applied: DnsResult, limit = 100): Promise<DnsResult> {
  let dns = applied;
  for (let i = 0; i < limit && !dns.confirmed; i++) {
    account.clock.advance(5_000);
    dns = await checkDns(state(dns), deps());
  }
  return dns;
}

beforeEach(() => seed());
afterEach(() => account.settle());

describe('flip-dns, dns.mode "health-check"', () => {
  it('switches every record to its SECONDARY through the metric and confirms on the name servers, with no Route 53 API call', async () => {
    account.startOutage({ service: 'route53', region: '*', failure: { kind: 'error', error: 'ServiceUnavailable' } });
    const prepared = await prepareDns(state(), deps());
    expect(prepared.changes.map((c) => [c.name, c.before?.values, c.after])).toEqual([
      ['db.orders.example.com', [OLD_DB], [REPLICA_ENDPOINT]],
      ['api.orders.example.com', ['192.0.2.10'], ['198.51.100.20']],
    ]);
    const applied = await applyDns(state(prepared), deps());
    // Not at once: the alarm, the health check and the name servers each take their time.
    expect(answered('db.orders.example.com', 'CNAME')).toEqual([OLD_DB]);
    const confirmed = await pollUntilConfirmed(applied);

    expect(confirmed.confirmed).toBe(true);
    expect(answered('db.orders.example.com', 'CNAME')).toEqual([REPLICA_ENDPOINT]);
    expect(answered('api.orders.example.com', 'A')).toEqual(['198.51.100.20']);
    expect(account.cloudwatch.alarmHistory(ALARM, 'us-west-2').map((e) => e.state)).toEqual(['INSUFFICIENT_DATA', 'ALARM']);
    expect(account.apiCalls.filter((c) => c.service === 'route53')).toEqual([]);
    // Alarm (next minute) + the health check (60 s) + the last name server (60 s): more than two minutes.
    expect((confirmed.endedAt! - applied.submittedAt!) / 1000).toBeGreaterThan(120);
  });

  it('does not write the metric while the replica still replicates: DNS never points at a database that is not promoted', async () => {
    seed({ replicaOf: SOURCE_ARN });
    const prepared = await prepareDns(state(), deps());
    await expect(applyDns(state(prepared), deps())).rejects.toThrow(/still a read replica/);
    expect(account.apiCalls.filter((c) => c.operation === 'PutMetricData')).toEqual([]);
    account.clock.advance(10 * 60_000);
    expect(answered('db.orders.example.com', 'CNAME')).toEqual([OLD_DB]);
  });

  it('a throttled PutMetricData is a transient error (the state machine retries it), and nothing switched', async () => {
    account.inject({ service: 'cloudwatch', operation: 'PutMetricData', error: 'Throttling' });
    const prepared = await prepareDns(state(), deps());
    await expect(applyDns(state(prepared), deps())).rejects.toThrow(TransientAwsError);
    account.clock.advance(10 * 60_000);
    expect(answered('db.orders.example.com', 'CNAME')).toEqual([OLD_DB]);
  });

  it('fails with DNS_FAILED, naming what the name servers answer, when they never switch in syncTimeoutSeconds', async () => {
    // The alarm is not where the metric is written: it never leaves INSUFFICIENT_DATA, the health check stays healthy.
    seed({ alarmRegion: 'eu-west-1' });
    const applied = await applyDns(state(await prepareDns(state(), deps())), deps());
    const error = await pollUntilConfirmed(applied).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DnsChangeFailed);
    expect((error as Error).message).toMatch(/still do not answer the SECONDARY .* answers CNAME db\.orders\.example\.com with orders-primary/);
    expect(answered('db.orders.example.com', 'CNAME')).toEqual([OLD_DB]);
  });

  it('a dry run asks the name servers and writes nothing', async () => {
    const dry: WorkflowState = { plan: planFor(group, { dryRun: true }) };
    const result = await prepareDns(dry, deps());
    expect(result.confirmed).toBe(true);
    expect(result.reason).toMatch(/dry run: would write DnsFailedOver=1/);
    expect(account.apiCalls).toEqual([]);
  });
});
