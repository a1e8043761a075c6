/**
 * When a region is down (issue 16), as `failoverctl drill` runs it: the Route 53 API failing every call,
 * and the primary region dark. Assertions are on what the account holds afterwards (the call log, what
 * the name servers answer, which database the clients write to) and on the history item, never on what
 * the controller says it did. Then the simulator's own behaviours these scenarios rest on.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig, type FailoverConfig } from '../../lambdas/core/config';
import { runScenario } from '../../lib/drill/report';
import { Drill } from '../../lib/drill/drill';
import { inHealthCheckMode } from '../../lib/drill/scenarios/region';
import { synthFor } from '../../lib/runner/synth';
import { SimClock, SimulatedAccount } from '../../lib/drill/sim/account';

let config: FailoverConfig;
beforeAll(() => {
  config = loadConfigFile(resolve(__dirname, '..', '..', 'failover.config.json'));
});

const REPLICA_ENDPOINT = 'orders-replica.c0abcdefghij.us-west-2.rds.amazonaws.com';
const OLD_DB_ENDPOINT = 'orders-primary-db.c0abcdefghij.us-east-1.rds.amazonaws.com';

describe('region scenarios', () => {
  it('route53-api-down: health-check DNS fails over with the Route 53 API down; clients resolve to and write to the promoted replica', async () => {
    const r = await runScenario(config, 'route53-api-down');

    expect(r.executions.map((e) => e.outcome)).toEqual(['SUCCEEDED']);
    expect(r.replica).toMatchObject({ id: 'orders-replica', promoted: true });
    // Every Route 53 API call failed, and none was needed.
    expect(r.history[0].steps.map((s) => s.step)).toContain('dns');
    expect(r.apiCalls.filter((c) => c.service === 'route53' && !c.error)).toEqual([]);
    expect(r.resolution.map(({ name, answers }) => ({ name, answers }))).toEqual([
      { name: 'db.orders.example.com', answers: [REPLICA_ENDPOINT] },
      { name: 'api.orders.example.com', answers: ['198.51.100.20'] },
    ]);
    expect(r.resolution.every((x) => x.servers.every((s) => s.answers.join() === x.answers.join()))).toBe(true);
    expect(r.clientWrites.acceptedByNew).toBeGreaterThan(0);
    expect(r.clientWrites.acceptedByOldAfterPromotionStarted).toBe(0);
    // The switch is the metric, written after the promotion, in the controller's region.
    const promote = r.apiCalls.find((c) => c.operation === 'PromoteReadReplica')!;
    const metric = r.apiCalls.find((c) => c.operation === 'PutMetricData')!;
    expect(metric.at).toBeGreaterThan(promote.at);
    expect(r.history[0]).toMatchObject({ outcome: 'SUCCEEDED', notification: { notified: true } });
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('route53-api-down-records: records mode ends DNS_FAILED after the promotion, named and notified; names still resolve to the old database', async () => {
    const r = await runScenario(config, 'route53-api-down-records');

    expect(r.executions.map((e) => e.outcome)).toEqual(['DNS_FAILED']);
    expect(r.replica.promoted).toBe(true);
    expect(r.apiCalls.filter((c) => c.service === 'route53').every((c) => c.error === 'ServiceUnavailable')).toBe(true);
    expect(r.resolution.find((x) => x.name === 'db.orders.example.com')?.answers).toEqual([OLD_DB_ENDPOINT]);
    expect(r.history[0].summary).toMatch(/Route 53 .*ServiceUnavailable/);
    expect(r.notifications).toHaveLength(1);
    expect(r.notifications[0].subject).toMatch(/DNS_FAILED/);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });

  it('primary-region-dark: attested fence and health-check DNS: SUCCEEDED with no successful call to the primary region nor to Route 53', async () => {
    const r = await runScenario(config, 'primary-region-dark');

    expect(r.executions.map((e) => e.outcome)).toEqual(['SUCCEEDED']);
    expect(r.replica.promoted).toBe(true);
    // Calls to the dark region were tried (and timed out), none succeeded.
    expect(r.history[0].steps.find((s) => s.step === 'fence')?.result).toMatch(/could not be reached/);
    expect(JSON.stringify(r.history[0])).toContain('ops-oncall@example.com');
    expect(r.resolution.map((x) => x.answers)).toEqual([[REPLICA_ENDPOINT], ['198.51.100.20']]);
    expect(r.clientWrites.acceptedByNew).toBeGreaterThan(0);
    expect(r.passed, r.failures.join('; ')).toBe(true);
  });
});

describe('the stack of a health-check group', () => {
  // The drill's own synth of the config (cached by its shape): what flip-dns may do.
  const statements = (action: string) => Object.values(synthFor(inHealthCheckMode(config)).template.Resources as Record<string, any>)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
    .filter((st) => [st.Action].flat().includes(action));

  it('lets flip-dns write only the switch\'s namespace, and never change the group\'s records through the Route 53 API', () => {
    expect(statements('cloudwatch:PutMetricData').map((st) => st.Condition)).toEqual([{ StringEquals: { 'cloudwatch:namespace': 'FailoverController' } }]);
    expect(statements('route53:ChangeResourceRecordSets')).toEqual([]);
  });

  it('gives flip-dns no Route 53 API action at all when no group is in records mode', () => {
    const flipDns = Object.entries(synthFor(inHealthCheckMode(config)).template.Resources as Record<string, any>)
      .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && /flipdns/i.test(id))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    expect(flipDns.length).toBeGreaterThan(0);
    expect(flipDns.flatMap((st) => [st.Action].flat()).filter((a: string) => a.startsWith('route53:'))).toEqual([]);
  });
});

describe('readiness in health-check mode', () => {
  it('finds the stack\'s failover pair ready, and a SECONDARY changed by hand not ready', async () => {
    const drill = await Drill.create(inHealthCheckMode(config));
    try {
      const dnsProblems = async () => (await drill.evaluateReadiness()).report.groups[0].problems.filter((p) => p.check === 'dns');
      expect(await dnsProblems()).toEqual([]);
      const secondary = drill.account.records('Z0EXAMPLE1234567890AB').find((r) => r.name === 'db.orders.example.com' && r.failover === 'SECONDARY')!;
      drill.account.putRecord('Z0EXAMPLE1234567890AB', { ...secondary, values: ['somewhere-else.example.net'] });
      expect(await dnsProblems()).toEqual([expect.objectContaining({
        resource: 'CNAME db.orders.example.com',
        reason: expect.stringMatching(/SECONDARY answers somewhere-else\.example\.net, not the configured values orders-replica\./),
      })]);
    } finally {
      await drill.close();
    }
  });
});

describe('the simulated account when a region is down', () => {
  const T = Date.parse('2026-01-01T00:00:00.000Z');
  const alarm = {
    name: 'switch', region: 'us-west-2', namespace: 'FailoverController', metricName: 'DnsFailedOver', dimensions: [['Group', 'g']] as Array<[string, string]>,
    period: 60, evaluationPeriods: 1, threshold: 1, statistic: 'Maximum' as const, comparison: 'GreaterThanOrEqualToThreshold' as const, treatMissingData: 'ignore' as const,
  };
  const put = async (account: SimulatedAccount, value: number) => {
    const { CloudWatchClient, PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    await account.client(CloudWatchClient, 'us-west-2').send(new PutMetricDataCommand({ Namespace: 'FailoverController', MetricData: [{ MetricName: 'DnsFailedOver', Dimensions: [{ Name: 'Group', Value: 'g' }], Value: value }] }));
  };
  function failoverPair(insufficientDataHealthStatus: 'Healthy' | 'Unhealthy' | 'LastKnownStatus' = 'LastKnownStatus', secondaryCheck?: string) {
    const account = new SimulatedAccount({ clock: new SimClock(T) });
    account.addHostedZone({ id: 'Z1', name: 'example.com' });
    account.cloudwatch.addMetricAlarm(alarm);
    account.route53.addHealthCheck({ id: 'hc', alarm: { name: 'switch', region: 'us-west-2' }, insufficientDataHealthStatus });
    account.putRecord('Z1', { name: 'db.example.com', type: 'A', ttl: 30, values: ['192.0.2.1'], setIdentifier: 'p', failover: 'PRIMARY', healthCheckId: 'hc' });
    account.putRecord('Z1', { name: 'db.example.com', type: 'A', ttl: 30, values: ['198.51.100.1'], setIdentifier: 's', failover: 'SECONDARY', ...(secondaryCheck && { healthCheckId: secondaryCheck }) });
    return account;
  }
  const answers = (account: SimulatedAccount) => account.route53.resolve('db.example.com', 'A').map((s) => s.answers[0]);

  it('a new alarm has INSUFFICIENT_DATA; LastKnownStatus keeps a new health check healthy: the PRIMARY answers', () => {
    const account = failoverPair();
    account.clock.advance(10 * 60_000);
    expect(account.cloudwatch.alarmHistory('switch', 'us-west-2').map((e) => e.state)).toEqual(['INSUFFICIENT_DATA']);
    expect(answers(account)).toEqual(['192.0.2.1', '192.0.2.1', '192.0.2.1', '192.0.2.1']);
  });

  it('Unhealthy for INSUFFICIENT_DATA would fail DNS over with no failover at all', () => {
    const account = failoverPair('Unhealthy');
    account.clock.advance(3 * 60_000);
    expect(new Set(answers(account))).toEqual(new Set(['198.51.100.1']));
  });

  it('the metric reaches the name servers one link at a time: the next minute\'s evaluation, the health check, then server by server', async () => {
    const account = failoverPair();
    account.clock.advance(5_000);
    await put(account, 1);
    const written = account.clock.now();
    account.clock.advance(55_000 - 100); // the evaluation at the minute
    expect(account.cloudwatch.alarmHistory('switch', 'us-west-2').map((e) => e.state)).toEqual(['INSUFFICIENT_DATA', 'ALARM']);
    expect(new Set(answers(account))).toEqual(new Set(['192.0.2.1']));
    account.clock.advance(60_000 + 15_000); // the health check followed; the first server has it
    expect(answers(account)).toEqual(['198.51.100.1', '192.0.2.1', '192.0.2.1', '192.0.2.1']);
    account.clock.advance(45_000);
    expect(new Set(answers(account))).toEqual(new Set(['198.51.100.1']));
    expect(account.clock.now() - written).toBeGreaterThanOrEqual(170_000);
    // Missing data (ignore) keeps ALARM, so DNS stays on the SECONDARY.
    account.clock.advance(30 * 60_000);
    expect(new Set(answers(account))).toEqual(new Set(['198.51.100.1']));
  });

  it('a SECONDARY whose own health check is unhealthy leaves the PRIMARY answering, whatever its health (Route 53\'s documented rule)', async () => {
    const account = failoverPair('LastKnownStatus', 'hc');
    await put(account, 1);
    account.clock.advance(5 * 60_000);
    expect(new Set(answers(account))).toEqual(new Set(['192.0.2.1']));
  });

  it('an outage fails every call of the service in the region as configured: an AWS error, or a network timeout', async () => {
    const { Route53Client, GetHostedZoneCommand } = await import('@aws-sdk/client-route-53');
    const { EC2Client, DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const account = failoverPair();
    account.startOutage({ service: 'route53', region: '*', failure: { kind: 'error', error: 'ServiceUnavailable' } });
    const r53 = await account.client(Route53Client, 'us-east-1').send(new GetHostedZoneCommand({ Id: 'Z1' })).catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(r53).toMatchObject({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    account.startRegionOutage('us-east-1');
    const before = account.clock.now();
    const ec2 = await account.client(EC2Client, 'us-east-1').send(new DescribeInstancesCommand({})).catch((e: Error) => e);
    expect(ec2).toMatchObject({ name: 'TimeoutError' });
    expect(account.clock.now() - before).toBeGreaterThanOrEqual(account.latencies.unreachableTimeoutSeconds * 1000);
    // The name servers answer all the same: the data plane is not the API.
    expect(answers(account)).toHaveLength(4);
    // Route 53's API is served from us-east-1: with the region dark it stays unreachable.
    account.endOutage('route53', '*');
    await expect(account.client(Route53Client, 'us-east-1').send(new GetHostedZoneCommand({ Id: 'Z1' }))).rejects.toMatchObject({ name: 'TimeoutError' });
    account.endOutage('route53', 'us-east-1');
    await expect(account.client(Route53Client, 'us-east-1').send(new GetHostedZoneCommand({ Id: 'Z1' }))).resolves.toBeDefined();
  });
});

describe('dns.mode in the config', () => {
  const raw = (dns: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    groups: [{
      name: 'orders', primary: { instanceId: 'i-0a1b2c3d4e5f60718', region: 'us-east-1' },
      replica: { dbInstanceIdentifier: 'orders-replica', region: 'us-west-2', source: 'arn:aws:rds:us-east-1:123456789012:db:orders-primary', sourceVpcId: 'vpc-0db0000000000000a' },
      dns: { hostedZoneId: 'Z0EXAMPLE1234567890AB', zoneName: 'example.com', ...dns }, ...extra,
    }],
  });
  const problems = (input: unknown) => {
    try { parseConfig(input); return []; } catch (e) { return String((e as Error).message).split('\n').filter((l) => l.includes('groups[')); }
  };

  it('defaults to records and accepts a health-check group with primaryValues and values', () => {
    expect(parseConfig(raw({ records: [{ name: 'db.example.com', type: 'CNAME', target: 'replicaEndpoint' }] })).groups[0].dns.mode).toBe('records');
    const hc = parseConfig(raw({ mode: 'health-check', records: [{ name: 'db.example.com', type: 'CNAME', values: ['r.example.net'], primaryValues: ['p.example.net'] }] }));
    expect(hc.groups[0].dns).toMatchObject({ mode: 'health-check', records: [{ values: ['r.example.net'], primaryValues: ['p.example.net'] }] });
  });

  it('names each field and value a health-check group cannot have, all at once', () => {
    expect(problems(raw({ mode: 'health-check', records: [
      { name: 'db.example.com', type: 'CNAME', target: 'replicaEndpoint' },
      { name: 'api.example.com', type: 'A', values: ['198.51.100.1'], primaryValues: ['not-an-ip'] },
    ] }, { additionalReplicas: [{ dbInstanceIdentifier: 'orders-replica-2', region: 'us-east-2' }] }))).toEqual([
      expect.stringMatching(/^ *groups\[0\]\.additionalReplicas: must be empty with dns\.mode "health-check".*got \[\{"dbInstanceIdentifier":"orders-replica-2"/),
      expect.stringMatching(/^ *groups\[0\]\.dns\.records\[0\]\.target: cannot be "replicaEndpoint" with dns\.mode "health-check"/),
      expect.stringMatching(/^ *groups\[0\]\.dns\.records\[0\]\.primaryValues: is required with dns\.mode "health-check"/),
      expect.stringMatching(/^ *groups\[0\]\.dns\.records\[1\]\.primaryValues\[0\]: must be an IPv4 address, got "not-an-ip"$/),
    ]);
  });

  it('refuses an unknown mode, and primaryValues in records mode', () => {
    expect(problems(raw({ mode: 'alias', records: [{ name: 'db.example.com', type: 'CNAME', target: 'replicaEndpoint' }] }))).toEqual([
      expect.stringMatching(/groups\[0\]\.dns\.mode: must be "records" or "health-check"/),
    ]);
    expect(problems(raw({ records: [{ name: 'db.example.com', type: 'CNAME', target: 'replicaEndpoint', primaryValues: ['p.example.net'] }] }))).toEqual([
      expect.stringMatching(/groups\[0\]\.dns\.records\[0\]\.primaryValues: is only used with dns\.mode "health-check"/),
    ]);
  });
});
