/**
 * The HealthCheckDns construct (dns.mode "health-check"): targeted properties of its template for a
 * config with one group in each mode. The health-check group gets its alarm, its health check and a
 * failover pair per record; the records group gets none of that. The construct alone, in a bare stack,
 * synthesizes in a fraction of the whole controller's time; what flip-dns may do with the records of each
 * mode is checked on the whole stack the drill synthesizes (test/drill/region.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lambdas/core/config';
import { HealthCheckDns } from '../../lib/infra/health-check-dns';

const REGION = 'us-west-2';
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function mixedRaw(): Json {
  const raw = JSON.parse(readFileSync(resolvePath(__dirname, '..', '..', 'failover.config.json'), 'utf8')) as Json;
  raw.groups.push({
    name: 'billing',
    primary: { instanceId: 'i-0fedcba9876543210', region: 'eu-west-1' },
    replica: { dbInstanceIdentifier: 'billing-replica', region: 'eu-central-1', source: 'billing-primary-db', sourceVpcId: 'vpc-0db0000000000000a' },
    dns: {
      mode: 'health-check',
      hostedZoneId: 'Z09876543210ZYXWVUTSR',
      zoneName: 'example.net',
      records: [
        { name: 'db.billing.example.net', type: 'CNAME', ttl: 20, values: ['billing-replica.c1.eu-central-1.rds.amazonaws.com'], primaryValues: ['billing-primary-db.c1.eu-west-1.rds.amazonaws.com'] },
        { name: 'billing.example.net', type: 'A', values: ['198.51.100.7'], primaryValues: ['192.0.2.7'] },
      ],
    },
  });
  return raw;
}

/** The template of the one nested stack HealthCheckDns makes for a few groups (it makes nothing in the stack itself). */
function synth(raw: Json): Template {
  const stack = new Stack(new App(), 'HealthCheckDnsTest', { env: { account: '111122223333', region: REGION } });
  const construct = new HealthCheckDns(stack, 'HealthCheckDns', { config: parseConfig(raw) });
  const nested = construct.node.children.filter((c): c is NestedStack => NestedStack.isNestedStack(c));
  expect(nested).toHaveLength(1);
  return Template.fromStack(nested[0]);
}

// The records-mode group beside the health-check one shows what it does not get.
let mixed: Template;
beforeAll(() => {
  mixed = synth(mixedRaw());
});

const ofType = (t: Template, type: string) => Object.entries(t.findResources(type)) as Array<[string, Json]>;

describe('HealthCheckDns', () => {
  it('alarms on the group\'s DnsFailedOver metric: standard resolution (what health checks support), latched by missing data', () => {
    const alarms = ofType(mixed, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'DnsFailedOver');
    expect(alarms.map(([, a]) => a.Properties)).toEqual([expect.objectContaining({
      AlarmName: 'FailoverController-billing-dns-failed-over',
      Namespace: 'FailoverController',
      Dimensions: [{ Name: 'Group', Value: 'billing' }],
      Period: 60, Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'ignore',
    })]);
  });

  it('makes one health check per group that follows the alarm in the controller\'s region, keeping its last status without data', () => {
    const checks = ofType(mixed, 'AWS::Route53::HealthCheck');
    const [alarmId] = ofType(mixed, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.MetricName === 'DnsFailedOver')!;
    expect(checks).toHaveLength(1);
    expect(checks[0][1].Properties.HealthCheckConfig).toEqual({
      Type: 'CLOUDWATCH_METRIC',
      AlarmIdentifier: { Name: { Ref: alarmId }, Region: REGION },
      InsufficientDataHealthStatus: 'LastKnownStatus',
    });
  });

  it('makes a PRIMARY (tied to the health check) and a SECONDARY (always answering) record per configured record, and none for the records group', () => {
    const [checkId] = ofType(mixed, 'AWS::Route53::HealthCheck')[0];
    const records = ofType(mixed, 'AWS::Route53::RecordSet').map(([, r]) => r.Properties);
    expect(records).toEqual([
      { HostedZoneId: 'Z09876543210ZYXWVUTSR', Name: 'db.billing.example.net.', Type: 'CNAME', TTL: '20', SetIdentifier: 'billing-primary', Failover: 'PRIMARY',
        HealthCheckId: { 'Fn::GetAtt': [checkId, 'HealthCheckId'] }, ResourceRecords: ['billing-primary-db.c1.eu-west-1.rds.amazonaws.com'] },
      { HostedZoneId: 'Z09876543210ZYXWVUTSR', Name: 'db.billing.example.net.', Type: 'CNAME', TTL: '20', SetIdentifier: 'billing-secondary', Failover: 'SECONDARY',
        ResourceRecords: ['billing-replica.c1.eu-central-1.rds.amazonaws.com'] },
      { HostedZoneId: 'Z09876543210ZYXWVUTSR', Name: 'billing.example.net.', Type: 'A', TTL: '30', SetIdentifier: 'billing-primary', Failover: 'PRIMARY',
        HealthCheckId: { 'Fn::GetAtt': [checkId, 'HealthCheckId'] }, ResourceRecords: ['192.0.2.7'] },
      { HostedZoneId: 'Z09876543210ZYXWVUTSR', Name: 'billing.example.net.', Type: 'A', TTL: '30', SetIdentifier: 'billing-secondary', Failover: 'SECONDARY',
        ResourceRecords: ['198.51.100.7'] },
    ]);
  });


});

describe('HealthCheckDns for many groups', () => {
  // 120 groups of one record each: 4 resources a group, 480 in all, more than one stack should carry
  // beside the controller's own resources (CloudFormation: 500 a stack).
  function manyRaw(n: number): Json {
    const raw = mixedRaw();
    const billing = raw.groups.pop();
    for (let i = 0; i < n; i++) {
      const name = `svc-${String(i).padStart(3, '0')}`;
      raw.groups.push({
        ...billing,
        name,
        primary: { ...billing.primary, instanceId: `i-${String(i).padStart(17, '0')}` },
        replica: { ...billing.replica, dbInstanceIdentifier: `${name}-replica`, source: `${name}-db` },
        dns: { ...billing.dns, records: [{ name: `${name}.example.net`, type: 'A', values: ['198.51.100.7'], primaryValues: ['192.0.2.7'] }] },
      });
    }
    return raw;
  }

  it('puts them in nested stacks of at most 400 resources, none in the controller\'s stack, every group whole and in one place', () => {
    // A config past one stack's worth keeps its first groups where a smaller one had them (HealthCheckDns1).
    const app = new App();
    const stack = new Stack(app, 'HealthCheckDnsMany', { env: { account: '111122223333', region: REGION } });
    new HealthCheckDns(stack, 'HealthCheckDns', { config: parseConfig(manyRaw(120)) });
    const assembly = app.synth();
    const main = assembly.getStackByName('HealthCheckDnsMany').template as Json;
    const mainTypes = Object.values(main.Resources).map((r: Json) => r.Type);
    expect(mainTypes.filter((t) => t !== 'AWS::CloudFormation::Stack')).toEqual([]);
    const nestedFiles = readdirSync(assembly.directory).filter((f) => f.startsWith('HealthCheckDnsMany') && f.endsWith('.nested.template.json'));
    expect(nestedFiles).toHaveLength(mainTypes.length);
    expect(mainTypes.length).toBe(2);
    const checksByGroup = new Map<string, number>();
    for (const file of nestedFiles) {
      const resources = Object.values((JSON.parse(readFileSync(join(assembly.directory, file), 'utf8')) as Json).Resources) as Json[];
      expect(resources.length).toBeLessThanOrEqual(400);
      const checks = resources.filter((r) => r.Type === 'AWS::Route53::HealthCheck');
      const records = resources.filter((r) => r.Type === 'AWS::Route53::RecordSet');
      for (const c of checks) {
        const group = /svc-\d+/.exec(c.Properties.HealthCheckTags[0].Value)![0];
        checksByGroup.set(group, (checksByGroup.get(group) ?? 0) + 1);
        // The group's records are in the same stack as its health check, tied to it by Ref.
        const own = records.filter((r) => r.Properties.Name === `${group}.example.net.`);
        expect(own.map((r) => r.Properties.Failover).sort()).toEqual(['PRIMARY', 'SECONDARY']);
      }
    }
    expect(checksByGroup.size).toBe(120);
    expect([...checksByGroup.values()].every((n) => n === 1)).toBe(true);
  });

  it('growing from 3 groups to 120 leaves the first groups\' records in the stack and under the ids they had (no record is created twice)', () => {
    const placed = (n: number) => {
      const stack = new Stack(new App(), 'HealthCheckDnsGrow', { env: { account: '111122223333', region: REGION } });
      const construct = new HealthCheckDns(stack, 'HealthCheckDns', { config: parseConfig(manyRaw(n)) });
      const where = new Map<string, string>();
      for (const nested of construct.node.children.filter((c): c is NestedStack => NestedStack.isNestedStack(c))) {
        for (const [id, r] of Object.entries(Template.fromStack(nested).findResources('AWS::Route53::RecordSet') as Record<string, Json>)) {
          where.set(`${r.Properties.Name} ${r.Properties.SetIdentifier}`, `${nested.node.id}/${id}`);
        }
      }
      return where;
    };
    const small = placed(3);
    const large = placed(120);
    expect(small.size).toBe(6);
    for (const [record, at] of small) expect(large.get(record), record).toBe(at);
  });
});
